//! Boot parameters (issue 21 item 3): `--timeout`, `--carrier-timeout` and `--dns-grace` from
//! the credentials `wait-online.*` in `$CREDENTIALS_DIRECTORY` and from `wait_online.*=` on the
//! kernel command line, below the command line and the environment variables. The kernel
//! command line comes from `$SYSTEMD_PROC_CMDLINE` (systemd's own override) or from a fake
//! `/proc/cmdline` bind-mounted in a private mount namespace (the real path, read as in a boot);
//! the waits run in network namespaces with one link that never gets carrier, so that the
//! timeout that ends them is the one under test.

use std::process::Command;
use std::time::Duration;

use crate::common::{self, Netns, RunResult, TempDir, run_wait_online, wait_online_bin};
use crate::kernel::one_plugged_one_unplugged;

const LIMIT: Duration = Duration::from_secs(60);

/// wait-online in `ns` with `args`, no boot parameter of the host's reaching it, and `env`.
fn command(ns: &Netns, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = ns.exec(wait_online_bin(), args);
    // the host's kernel command line is empty of wait_online.*: a test that wants one says so
    command
        .env_remove("CREDENTIALS_DIRECTORY")
        .env_remove("SYSTEMD_IN_INITRD")
        .env("SYSTEMD_PROC_CMDLINE", "");
    for (key, value) in env {
        command.env(key, value);
    }
    command
}

fn run(ns: &Netns, args: &[&str], env: &[(&str, &str)]) -> RunResult {
    run_wait_online(command(ns, args, env), LIMIT)
}

fn credentials(values: &[(&str, &str)]) -> TempDir {
    let dir = TempDir::new();
    for (name, value) in values {
        std::fs::write(dir.0.join(name), value).expect("write credential");
    }
    dir
}

fn assert_ended_after(r: &RunResult, code: i32, at_least: Duration, at_most: Duration) {
    assert_eq!(r.code, Some(code), "{}", r.describe());
    assert!(
        r.elapsed >= at_least && r.elapsed < at_most,
        "ended after {:?}, expected {at_least:?} to {at_most:?}:\n{}",
        r.elapsed,
        r.describe()
    );
}

/// A credential sets the timeout (Netplan's and the units' lines give no --timeout) and tells
/// the service manager to push its start timeout past it; an explicit --timeout wins and
/// leaves upstream's notifications as they were.
#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn a_credential_sets_the_timeout_and_an_explicit_one_wins() {
    let _root = common::require_root();
    let ns = one_plugged_one_unplugged();
    let dir = credentials(&[("wait-online.timeout", "2s\n")]);
    let directory = dir.0.to_str().expect("utf-8");
    let socket_path = std::env::temp_dir().join(format!("{}-notify", ns.name()));
    let socket = std::os::unix::net::UnixDatagram::bind(&socket_path).expect("bind");
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let first_message = || {
        let mut buffer = [0u8; 512];
        let n = socket.recv(&mut buffer).expect("notification");
        String::from_utf8_lossy(&buffer[..n]).into_owned()
    };
    let notify = socket_path.to_str().expect("utf-8");
    let env = [
        ("CREDENTIALS_DIRECTORY", directory),
        ("NOTIFY_SOCKET", notify),
    ];
    let r = run(&ns, &["--manager=none", "-i", "v1"], &env);
    assert_ended_after(&r, 1, Duration::from_millis(1900), Duration::from_secs(15));
    assert!(
        r.stderr.contains(&format!(
            "timeout 2s from the credential wait-online.timeout ({directory}/wait-online.timeout)"
        )),
        "{}",
        r.describe()
    );
    assert_eq!(first_message(), "EXTEND_TIMEOUT_USEC=32000000");
    while !first_message().starts_with("STATUS=Failed") {}
    let r = run(
        &ns,
        &["--manager=none", "-i", "v1", "--timeout=500ms"],
        &env,
    );
    assert_ended_after(&r, 1, Duration::from_millis(450), Duration::from_secs(10));
    assert!(
        !r.stderr.contains("from the credential"),
        "{}",
        r.describe()
    );
    assert!(
        first_message().starts_with("READY=1\n"),
        "no EXTEND_TIMEOUT_USEC="
    );
    std::fs::remove_file(&socket_path).ok();
}

/// `$SYSTEMD_PROC_CMDLINE`: quotes, `-` for `_`, the last occurrence winning, `rd.` keys only
/// in the initrd; the credential ranks above the kernel command line, the environment above
/// both.
#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn kernel_parameters_as_systemd_reads_them() {
    let _root = common::require_root();
    let ns = one_plugged_one_unplugged();
    let cmdline = "BOOT_IMAGE=/vmlinuz ro wait-online.carrier-timeout=1s \
                   wait_online.timeout=\"1min 30s\" rd.wait_online.timeout=1 quiet";
    let both = ["--manager=none", "-i", "v0:routable", "-i", "v1"];
    let r = run(
        &ns,
        &both,
        &[
            ("SYSTEMD_PROC_CMDLINE", cmdline),
            ("SYSTEMD_IN_INITRD", "0"),
        ],
    );
    assert_ended_after(&r, 0, Duration::from_millis(900), Duration::from_secs(10));
    for line in [
        "carrier timeout 1s from the kernel command line (wait-online.carrier-timeout=, \
         $SYSTEMD_PROC_CMDLINE)",
        "timeout 1min 30s from the kernel command line (wait_online.timeout=, $SYSTEMD_PROC_CMDLINE)",
        "v1: no carrier for 1.0s, not waited for (--carrier-timeout)",
    ] {
        assert!(r.stderr.contains(line), "{line}:\n{}", r.describe());
    }
    // in the initrd, rd.wait_online.timeout= counts too, and comes last
    let unplugged = ["--manager=none", "-i", "v1"];
    let r = run(
        &ns,
        &unplugged,
        &[
            ("SYSTEMD_PROC_CMDLINE", cmdline),
            ("SYSTEMD_IN_INITRD", "1"),
        ],
    );
    assert_ended_after(&r, 1, Duration::from_millis(900), Duration::from_secs(10));
    assert!(
        r.stderr.contains(
            "timeout 1s from the kernel command line (rd.wait_online.timeout=, $SYSTEMD_PROC_CMDLINE)"
        ),
        "{}",
        r.describe()
    );
    // the credential above the kernel command line, the environment above the credential
    let dir = credentials(&[
        ("wait-online.timeout", "1500ms"),
        ("wait-online.carrier-timeout", "3s"),
    ]);
    let directory = dir.0.to_str().expect("utf-8");
    let r = run(
        &ns,
        &both,
        &[
            ("SYSTEMD_PROC_CMDLINE", cmdline),
            ("CREDENTIALS_DIRECTORY", directory),
            ("WAIT_ONLINE_CARRIER_TIMEOUT", "500ms"),
        ],
    );
    assert_ended_after(&r, 0, Duration::from_millis(450), Duration::from_secs(10));
    assert!(
        r.stderr
            .contains("carrier timeout 500ms from the environment ($WAIT_ONLINE_CARRIER_TIMEOUT)")
            && r.stderr
                .contains("timeout 1s 500ms from the credential wait-online.timeout"),
        "{}",
        r.describe()
    );
}

/// The real path, `/proc/cmdline`, replaced by a file bind-mounted over it in a private mount
/// namespace (no `$SYSTEMD_PROC_CMDLINE`): read as at boot.
#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn a_fake_proc_cmdline_is_read_at_its_real_path() {
    let _root = common::require_root();
    assert!(
        !std::path::Path::new("/run/systemd/container").exists(),
        "in a container the kernel command line is PID 1's arguments, not /proc/cmdline"
    );
    let ns = one_plugged_one_unplugged();
    let dir = TempDir::new();
    let fake = dir.0.join("cmdline");
    std::fs::write(
        &fake,
        "root=/dev/vda1 ro wait_online.timeout=1 console=ttyS0\n",
    )
    .expect("write");
    let inner = command(&ns, &["--manager=none", "-i", "v1"], &[]);
    let mut outer = Command::new("unshare");
    outer
        .args(["--mount", "--propagation", "private", "sh", "-ec"])
        .arg("mount --bind \"$1\" /proc/cmdline; shift; exec \"$@\"")
        .arg("sh")
        .arg(&fake)
        .arg(inner.get_program())
        .args(inner.get_args())
        .env_remove("SYSTEMD_PROC_CMDLINE")
        .env_remove("CREDENTIALS_DIRECTORY")
        .env_remove("SYSTEMD_IN_INITRD");
    let r = run_wait_online(outer, LIMIT);
    assert_ended_after(&r, 1, Duration::from_millis(900), Duration::from_secs(10));
    assert!(
        r.stderr
            .contains("timeout 1s from the kernel command line (wait_online.timeout=)"),
        "{}",
        r.describe()
    );
}

/// A bad value is one line naming where it came from, at once (exit 1, no wait); a FIFO as a
/// credential does not block; a value overridden is not judged.
#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn a_bad_boot_parameter_is_one_line_naming_its_source() {
    let _root = common::require_root();
    let ns = one_plugged_one_unplugged();
    let args = ["--manager=none", "-i", "v1"];
    let one_line = |r: &RunResult, start: &str| {
        assert_ended_after(r, 1, Duration::ZERO, Duration::from_secs(5));
        let lines: Vec<&str> = r.stderr.lines().collect();
        assert!(
            lines.len() == 1 && lines[0].starts_with(start),
            "{start}:\n{}",
            r.describe()
        );
    };
    let r = run(
        &ns,
        &args,
        &[("SYSTEMD_PROC_CMDLINE", "wait_online.timeout=soon")],
    );
    one_line(
        &r,
        "wait-online: wait_online.timeout='soon' on the kernel command line ($SYSTEMD_PROC_CMDLINE): \
         invalid time span 'soon'",
    );
    let dir = credentials(&[("wait-online.timeout", "5 parsecs\n")]);
    let directory = dir.0.to_str().expect("utf-8");
    let r = run(&ns, &args, &[("CREDENTIALS_DIRECTORY", directory)]);
    one_line(
        &r,
        &format!(
            "wait-online: credential wait-online.timeout='5 parsecs' ({directory}/wait-online.timeout): "
        ),
    );
    // overridden by the command line: not judged
    let r = run(
        &ns,
        &["--manager=none", "-i", "v1", "--timeout=200ms"],
        &[("CREDENTIALS_DIRECTORY", directory)],
    );
    assert_ended_after(&r, 1, Duration::from_millis(150), Duration::from_secs(10));
    let fifo = TempDir::new();
    let status = Command::new("mkfifo")
        .arg(fifo.0.join("wait-online.carrier-timeout"))
        .status()
        .expect("mkfifo");
    assert!(status.success());
    let directory = fifo.0.to_str().expect("utf-8");
    let r = run(&ns, &args, &[("CREDENTIALS_DIRECTORY", directory)]);
    one_line(
        &r,
        &format!(
            "wait-online: credential wait-online.carrier-timeout: {directory}/wait-online.carrier-timeout: \
             is a FIFO, not a regular file; not reading it; fix or remove it"
        ),
    );
}
