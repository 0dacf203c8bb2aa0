//! `--require-time-sync` end to end: the binary runs in private mount and network namespaces
//! (`unshare --mount --net`, as root) whose /run is a tmpfs, with this test's directory
//! bind-mounted on /run/systemd, so the test plays systemd-timesyncd there (creates
//! `timesync/` and the marker `synchronized`) and the host's /run is never touched.
//!
//! The kernel's NTP status cannot be made private (there is no time namespace for it) and the
//! host's clock is never set or adjusted: the tests read it (as the binary does) and, where the
//! host's clock is already marked synchronised, check that this alone lets the wait end,
//! instead of the paths that need it unsynchronised. The clock-set event (a timerfd with
//! `TFD_TIMER_CANCEL_ON_SET`) cannot be triggered without setting the clock; the source's unit
//! tests cover it through the kernel-status seam.
//!
//! The server timesyncd tries is read from a stand-in that owns `org.freedesktop.timesync1` on
//! the private bus of a [`NetworkdEnv`] (no real timesyncd runs: it could set the host's
//! clock), with signals forged by nobody that must change nothing.

use std::process::Command;
use std::time::Duration;

use futures::StreamExt;
use zbus::{Array, Structure, Variant};

use crate::common::forge::{Forged, RunIn, emit_as_nobody, wait_for_connections};
use crate::common::{self, NetworkdEnv, RunResult, TempDir, run_wait_online, run_wait_online_bg};

/// Hard limit of one run (each asks for a shorter `--timeout`).
const LIMIT: Duration = Duration::from_secs(20);

/// `wait-online ARGS` with the private /run described in the module documentation; the
/// directory mounted on /run/systemd is `dir/systemd`.
fn command(dir: &TempDir, args: &[&str]) -> Command {
    let systemd = dir.0.join("systemd");
    std::fs::create_dir_all(&systemd).expect("create the private /run/systemd");
    let script = r#"set -e
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/systemd
mount --bind "$1" /run/systemd
shift
exec "$@""#;
    let mut command = Command::new("unshare");
    command
        .args([
            "--mount",
            "--net",
            "--propagation",
            "private",
            "sh",
            "-c",
            script,
            "sh",
        ])
        .arg(&systemd)
        .arg(common::wait_online_bin())
        // Loopback in a new network namespace: present, in any state; only the clock waits.
        .args(["--manager=none", "-i", "lo:off", "--require-time-sync"])
        .args(args);
    command
}

fn run(dir: &TempDir, args: &[&str]) -> RunResult {
    run_wait_online(command(dir, args), LIMIT)
}

/// Whether the host's kernel marks the clock synchronised (read only).
fn host_clock_synchronised() -> bool {
    wait_online::sys::ntp_synchronised().expect("adjtimex with modes 0")
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn without_an_ntp_client_the_reason_says_so() {
    let _root = common::require_root();
    let dir = TempDir::new();
    let r = run(&dir, &["--timeout=1"]);
    if host_clock_synchronised() {
        eprintln!("the host's clock is marked synchronised: checking that this is enough");
        assert_eq!(r.code, Some(0), "{}", r.describe());
        return;
    }
    assert_eq!(r.code, Some(1), "{}", r.describe());
    assert!(
        r.stderr.contains(
            "system clock not synchronised: no NTP client seen (no /run/systemd/timesync, \
             and the kernel's clock is not marked synchronised)"
        ),
        "{}",
        r.describe()
    );
    // With systemd-timesyncd's directory, timesyncd is named instead.
    std::fs::create_dir(dir.0.join("systemd/timesync")).unwrap();
    let r = run(&dir, &["--timeout=1", "--json"]);
    assert_eq!(r.code, Some(1), "{}", r.describe());
    let unsynchronised =
        "system clock not synchronised: systemd-timesyncd has not synchronised it yet";
    assert!(r.stderr.contains(unsynchronised), "{}", r.describe());
    let json: serde_json::Value = serde_json::from_str(&r.stdout).expect("JSON on stdout");
    assert_eq!(
        json["conditions"],
        serde_json::json!([{"kind": "time-sync", "met": false, "reason": unsynchronised}]),
        "{}",
        r.stdout
    );
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn the_marker_of_timesyncd_ends_the_wait_when_it_appears() {
    let _root = common::require_root();
    let dir = TempDir::new();
    let waiting = run_wait_online_bg(command(&dir, &["--timeout=10", "--json"]), LIMIT);
    // timesyncd starts, then synchronises: its directory, then its marker, appear mid-wait.
    std::thread::sleep(Duration::from_millis(300));
    let timesync = dir.0.join("systemd/timesync");
    std::fs::create_dir(&timesync).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // Not before the marker: still waiting when it is written (a timing bound would race the
    // thread that starts the wait).
    let waited_for_the_marker = !waiting.is_finished();
    std::fs::write(timesync.join("synchronized"), "").unwrap();
    let r = waiting.join().unwrap();
    assert_eq!(r.code, Some(0), "{}", r.describe());
    assert!(r.elapsed < Duration::from_secs(5), "{}", r.describe());
    let json: serde_json::Value = serde_json::from_str(&r.stdout).expect("JSON on stdout");
    assert_eq!(json["verdict"], "online", "{}", r.stdout);
    let reason = match host_clock_synchronised() {
        true => "system clock synchronised (the kernel's NTP status)",
        false => "system clock synchronised (systemd-timesyncd's marker)",
    };
    assert_eq!(
        json["conditions"],
        serde_json::json!([{"kind": "time-sync", "met": true, "reason": reason}]),
        "{}",
        r.stdout
    );
    if !host_clock_synchronised() {
        assert!(waited_for_the_marker, "{}", r.describe());
    }
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn without_the_option_the_clock_is_not_looked_at() {
    let _root = common::require_root();
    let r = run_wait_online(
        {
            let mut c = Command::new("unshare");
            c.args(["--mount", "--net", "--propagation", "private"])
                .arg(common::wait_online_bin())
                .args(["--manager=none", "-i", "lo:off", "--timeout=1", "--json"]);
            c
        },
        LIMIT,
    );
    assert_eq!(r.code, Some(0), "{}", r.describe());
    let json: serde_json::Value = serde_json::from_str(&r.stdout).expect("JSON on stdout");
    assert!(json.get("conditions").is_none(), "{}", r.stdout);
}

// ---- the server systemd-timesyncd tries, from its owner on the bus ----

const TIMESYNCD: &str = "org.freedesktop.timesync1";

/// A stand-in for systemd-timesyncd on `env`'s private bus (root may own any name there):
/// owns its name and answers `Properties.Get` for `ServerName` and `ServerAddress`. It lives
/// until the bus goes away with the environment.
fn serve_timesyncd(env: &NetworkdEnv, server_name: &'static str, address: [u8; 4]) {
    let socket = env.holder_path("/run/dbus/system_bus_socket");
    let (ready, up) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let bus = format!("unix:path={}", socket.display());
            let connection = zbus::connection::Builder::address(bus.as_str())
                .build()
                .await
                .expect("connect to the private bus");
            let mut calls = zbus::MessageStream::from(&connection);
            connection
                .request_name(TIMESYNCD)
                .await
                .expect("own timesync1");
            ready.send(()).expect("tell the test");
            while let Some(Ok(call)) = calls.next().await {
                let header = call.header();
                if call.message_type() != zbus::message::Type::MethodCall
                    || header.member().map(|m| m.as_str()) != Some("Get")
                {
                    continue;
                }
                let Ok((_, property)) = call.body().deserialize::<(String, String)>() else {
                    continue;
                };
                let value = match property.as_str() {
                    "ServerName" => Variant::from(server_name),
                    "ServerAddress" => Variant::from(Structure::from((
                        libc::AF_INET,
                        Array::from(address.to_vec()),
                    ))),
                    _ => continue,
                };
                let _ = connection.reply(&header, &value).await;
            }
        });
    });
    up.recv_timeout(Duration::from_secs(10))
        .expect("the stand-in for systemd-timesyncd did not come up");
}

/// `wait-online` in `env`'s holder with the clock required, debug logs on stderr.
fn clock_waiter(env: &NetworkdEnv, timeout: &str) -> std::thread::JoinHandle<RunResult> {
    let mut cmd = env.run(
        "env",
        &["SYSTEMD_LOG_LEVEL=debug", common::wait_online_bin()],
    );
    cmd.args([
        "--manager=none",
        "-i",
        "lo:off",
        "--require-time-sync",
        timeout,
    ]);
    run_wait_online_bg(cmd, LIMIT)
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn the_reason_names_the_server_timesyncd_tries_and_forged_signals_change_nothing() {
    let _root = common::require_root();
    if host_clock_synchronised() {
        eprintln!("the host's clock is marked synchronised: no reason to read; skipped");
        return;
    }
    let env = NetworkdEnv::new();
    std::fs::create_dir_all(env.holder_path("/run/systemd/timesync")).unwrap();
    serve_timesyncd(&env, "ntp.test", [192, 0, 2, 123]);
    let trying = "system clock not synchronised: systemd-timesyncd has not synchronised it yet \
                  (trying ntp.test at 192.0.2.123)";
    let r = clock_waiter(&env, "--timeout=2").join().unwrap();
    env.assert_code(&r, 1);
    // The last line: the reason at the timeout (debug lines come before it).
    assert_eq!(r.stderr.lines().last(), Some(trying), "{}", r.describe());

    // Any local user may send a signal: a forged "timesyncd is gone" and a forged property
    // change, unicast to wait-online, from nobody. Neither is believed: the reason still
    // names the server its owner gave.
    let waiter = clock_waiter(&env, "--timeout=4");
    let run: RunIn<'_> = &|cmd, args| env.run(cmd, args);
    let names = wait_for_connections(run, "wait-online", 1, Duration::from_secs(5));
    let signals = [
        Forged::name_owner_changed(TIMESYNCD, "", ":1.9999"),
        Forged::properties_changed(
            "/org/freedesktop/timesync1",
            "org.freedesktop.timesync1.Manager",
            &[("ServerName", "s", "evil.test")],
        ),
    ];
    emit_as_nobody(run, "", &signals, &names, 20, Duration::from_secs(10));
    let forged = waiter.join().unwrap();
    env.assert_code(&forged, 1);
    assert_eq!(
        forged.stderr.lines().last(),
        Some(trying),
        "{}",
        forged.describe()
    );
    assert!(
        forged.stderr.contains("not from the current owner"),
        "the forged signals never arrived: {}",
        forged.describe()
    );
}
