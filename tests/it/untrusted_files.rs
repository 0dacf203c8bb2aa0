//! Files that are not what they should be (issue 18): in place of each file wait-online reads,
//! a FIFO (an open would block until a writer comes), a device (`/dev/zero`: a read never
//! ends) and a regular file above the cap for its kind (`src/bounded_read.rs`). Each refusal
//! must be one line naming the file, the run must end by its `--timeout` (a liveness bound
//! several times the worst case), and memory must stay bounded. Upstream 252 runs next to ours
//! where it reads the same file (networkd's state files), and glibc's resolver reads the same
//! resolv.conf (`getent hosts`).
//!
//! Paths the tool reads are fixed, so every case runs in the private mount namespace of a
//! [`NetworkdEnv`] (never the host's): files are made under its private /run, and FIFOs or
//! `/dev/zero` are bind-mounted over /etc/resolv.conf, a sysfs attribute or a /proc/sys value
//! there.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::common::{
    self, DnsServer, Netns, NetworkdEnv, RunResult, UPSTREAM_WAIT_ONLINE, run_wait_online,
    wait_online_bin,
};

/// Hard limit of a run that must end by itself (a blocked read is killed here).
const LIMIT: Duration = Duration::from_secs(60);
/// Liveness bound of a run with `--timeout=1`: the timeout, plus start-up on a loaded machine.
const BY_TIMEOUT_1S: Duration = Duration::from_secs(10);
/// Liveness bound of a run that fails at once (no wait at all).
const AT_ONCE: Duration = Duration::from_secs(10);
/// Liveness bound of a run that reads and parses 16 MiB of Netplan YAML before refusing the
/// 17th MiB: 8.7 s was seen with a debug build on a loaded 2-core machine.
const AFTER_16_MIB: Duration = Duration::from_secs(40);
const MIB: usize = 1 << 20;

/// What is put in place of a file.
#[derive(Clone, Copy, Debug)]
enum Bad {
    Fifo,
    Zero,
    Oversized,
}

impl Bad {
    const ALL: [Bad; 3] = [Bad::Fifo, Bad::Zero, Bad::Oversized];

    /// How our refusal describes it, after the file's name.
    fn refusal(self, cap: &str) -> String {
        match self {
            Bad::Fifo => "is a FIFO, not a regular file; not reading it".to_string(),
            Bad::Zero => "is a character device, not a regular file; not reading it".to_string(),
            Bad::Oversized => {
                format!("larger than {cap}, the most read of such a file; not reading it")
            }
        }
    }
}

fn assert_no_panic(r: &RunResult) {
    assert!(
        !r.stderr.contains("panicked") && r.signal.is_none(),
        "{}",
        r.describe()
    );
}

fn assert_exit_within(r: &RunResult, code: i32, bound: Duration, what: &str) {
    assert_no_panic(r);
    assert_eq!(r.code, Some(code), "{what}: {}", r.describe());
    assert!(r.elapsed < bound, "{what}: {}", r.describe());
}

/// Runs `sh -c SCRIPT` in the holder (mounts, FIFOs); panics unless it succeeds.
fn holder_sh(env: &NetworkdEnv, script: &str) {
    let r = env.output("sh", &["-c", script]);
    assert_eq!(r.code, Some(0), "{script}: {}", r.describe());
}

/// `bin ARGS` in the holder under `/usr/bin/time`, which adds `maxrss_kib=N` to stderr.
fn measured(env: &NetworkdEnv, bin: &str, args: &[&str]) -> Command {
    let mut all = vec!["-f", "maxrss_kib=%M", bin];
    all.extend_from_slice(args);
    env.run("/usr/bin/time", &all)
}

/// The peak resident set size `/usr/bin/time` reported, in KiB.
fn peak_rss_kib(r: &RunResult) -> u64 {
    r.stderr
        .lines()
        .filter_map(|line| line.strip_prefix("maxrss_kib="))
        .next_back()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no maxrss line: {}", r.describe()))
}

/// Every line of our stderr is short: no quoted input beyond an excerpt.
fn assert_short_lines(r: &RunResult) {
    for line in r.stderr.lines() {
        assert!(
            line.len() < 600,
            "a {} byte line: {}",
            line.len(),
            r.describe()
        );
    }
}

/// A veth `wo0` (peer `wo0p`), up with 10.77.0.2/24: routable in the kernel.
fn routable_wo0(env: &NetworkdEnv) -> u32 {
    env.netns().add_veth("wo0", None, "wo0p");
    env.netns().link_up("wo0p");
    env.netns().link_up("wo0");
    env.netns().add_addr("wo0", "10.77.0.2/24");
    env.netns().ifindex("wo0")
}

// ---------------------------------------------------------------------------------------
// systemd-networkd's state file
// ---------------------------------------------------------------------------------------

/// What networkd 252 writes for a configured, routable link (abridged).
const GOOD_STATE: &str = "# This is private data. Do not parse.\nADMIN_STATE=configured\n\
     OPER_STATE=routable\nREQUIRED_FOR_ONLINE=yes\nREQUIRED_OPER_STATE_FOR_ONLINE=degraded\n\
     REQUIRED_FAMILY_FOR_ONLINE=any\n";

/// Puts `bad` at `/run/systemd/netif/links/IFINDEX` (no networkd runs: the files are ours).
fn bad_state_file(env: &NetworkdEnv, ifindex: u32, bad: Bad) -> String {
    let inner = format!("/run/systemd/netif/links/{ifindex}");
    let outer = env.holder_path(&inner);
    std::fs::create_dir_all(outer.parent().unwrap()).unwrap();
    let _ = std::fs::remove_file(&outer);
    match bad {
        Bad::Fifo => holder_sh(env, &format!("mkfifo {inner}")),
        Bad::Zero => std::os::unix::fs::symlink("/dev/zero", &outer).unwrap(),
        // networkd's own file, padded with comments beyond the cap (2 MiB).
        Bad::Oversized => {
            let padding = "# padding\n".repeat(2 * MIB / 10);
            std::fs::write(&outer, format!("{GOOD_STATE}{padding}")).unwrap();
        }
    }
    inner
}

/// Ours refuses the file at once (and says so), keeps "not yet processed" and exits 1 at its
/// --timeout. Upstream 252, on the same file: the FIFO blocks it past its --timeout until
/// killed, `/dev/zero` is read to systemd's 64 MiB limit before it is ignored, and the 2 MiB
/// file is read and believed (systemd's limit is 64 MiB; networkd writes a few hundred bytes:
/// a deliberate difference).
#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn state_file_fifo_device_and_oversized() {
    let _root = common::require_root();
    let env = NetworkdEnv::new();
    let ifindex = routable_wo0(&env);
    let args = ["-i", "wo0", "--timeout=1"];
    for bad in Bad::ALL {
        let path = bad_state_file(&env, ifindex, bad);
        let ours = run_wait_online(measured(&env, wait_online_bin(), &args), LIMIT);
        assert_exit_within(&ours, 1, BY_TIMEOUT_1S, &format!("ours, {bad:?}"));
        let refusal = format!(
            "{path}: {}; keeping the link's last state",
            bad.refusal("1 MiB")
        );
        assert!(
            ours.stderr.contains(&refusal),
            "{bad:?}: {}",
            ours.describe()
        );
        assert!(
            ours.stderr
                .contains("wo0: not yet processed by systemd-networkd"),
            "{bad:?}: {}",
            ours.describe()
        );
        let ours_kib = peak_rss_kib(&ours);
        assert!(
            ours_kib < 32 * 1024,
            "{bad:?}: ours peaked at {ours_kib} KiB"
        );

        // Upstream: the FIFO gets a shorter hard limit; it is still blocked then.
        let limit = match bad {
            Bad::Fifo => Duration::from_secs(5),
            _ => LIMIT,
        };
        let upstream = run_wait_online(measured(&env, UPSTREAM_WAIT_ONLINE, &args), limit);
        eprintln!(
            "{bad:?}: ours exit {:?} in {:?}, peak {ours_kib} KiB; upstream 252 exit {:?} (killed: {}) in {:?}{}",
            ours.code,
            ours.elapsed,
            upstream.code,
            upstream.timed_out,
            upstream.elapsed,
            match upstream.timed_out {
                true => String::new(),
                false => format!(", peak {} KiB", peak_rss_kib(&upstream)),
            }
        );
        match bad {
            Bad::Fifo => assert!(upstream.timed_out, "{}", upstream.describe()),
            Bad::Zero => {
                assert_eq!(upstream.code, Some(1), "{}", upstream.describe());
                assert!(
                    peak_rss_kib(&upstream) > 64 * 1024,
                    "{}",
                    upstream.describe()
                );
            }
            Bad::Oversized => assert_eq!(upstream.code, Some(0), "{}", upstream.describe()),
        }
    }
}

// ---------------------------------------------------------------------------------------
// /etc/resolv.conf
// ---------------------------------------------------------------------------------------

/// wo0 routable towards a peer 10.77.0.1 that runs dnsmasq answering host1.test.wohx; the bus
/// has no systemd-resolved, so `--dns` reads /etc/resolv.conf.
fn resolv_conf_env() -> (NetworkdEnv, Netns, DnsServer) {
    let env = NetworkdEnv::new();
    let peer = env.netns().add_peer();
    env.netns().add_addr("wo0", "10.77.0.2/24");
    env.netns().link_up("wo0");
    let server = DnsServer::start(&peer, "10.77.0.1", &[("host1.test.wohx", "10.77.0.10")]);
    (env, peer, server)
}

fn dns_run(env: &NetworkdEnv, timeout: &str) -> RunResult {
    let timeout = format!("--timeout={timeout}");
    run_wait_online(
        measured(
            env,
            wait_online_bin(),
            &["--manager=none", "-i", "wo0:routable", "--dns", &timeout],
        ),
        LIMIT,
    )
}

/// The address glibc's resolver finds for host1 with this resolv.conf (`getent hosts`).
fn glibc_resolves(env: &NetworkdEnv) -> Option<String> {
    let r = env.output("getent", &["hosts", "host1.test.wohx"]);
    (r.code == Some(0)).then(|| r.stdout.split_whitespace().next().unwrap_or("").to_string())
}

/// A resolv.conf with a Latin-1 comment, a byte-order mark and an invalid byte in one value:
/// glibc still uses its server, and so does ours (it lost every server before). Oversized (a
/// 2 MiB file of comments with the server at its end): glibc uses it, ours refuses it (cap
/// 1 MiB, a deliberate difference) and says so. A FIFO and `/dev/zero` bind-mounted over it:
/// refused at once, the wait ends by --timeout.
#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn resolv_conf_non_utf8_fifo_device_and_oversized() {
    let _root = common::require_root();
    let (env, _peer, _server) = resolv_conf_env();
    let file = env.holder_path("/etc/resolv.conf");

    std::fs::write(
        &file,
        b"# r\xe9seau de l'\xe9cole\n\xef\xbb\xbfsearch test.wohx\nnameserver 10.77.0.\xff\n\
          nameserver 10.77.0.1\noptions edns0\n",
    )
    .unwrap();
    assert_eq!(glibc_resolves(&env).as_deref(), Some("10.77.0.10"));
    let r = dns_run(&env, "5");
    assert_exit_within(&r, 0, AT_ONCE, "non-UTF-8 resolv.conf");
    assert!(
        r.stderr
            .contains("using the name servers of /etc/resolv.conf"),
        "{}",
        r.describe()
    );

    let mut big = "# padding\n".repeat(2 * MIB / 10).into_bytes();
    big.extend_from_slice(b"nameserver 10.77.0.1\n");
    std::fs::write(&file, big).unwrap();
    assert_eq!(glibc_resolves(&env).as_deref(), Some("10.77.0.10"));

    for bad in [Bad::Oversized, Bad::Fifo, Bad::Zero] {
        match bad {
            Bad::Oversized => {}
            Bad::Fifo => holder_sh(
                &env,
                "mkfifo /run/wot-fifo && mount --bind /run/wot-fifo /etc/resolv.conf",
            ),
            Bad::Zero => holder_sh(
                &env,
                "umount /etc/resolv.conf && mount --bind /dev/zero /etc/resolv.conf",
            ),
        }
        let r = dns_run(&env, "1");
        assert_exit_within(&r, 1, BY_TIMEOUT_1S, &format!("{bad:?}"));
        let refusal = format!(
            "/etc/resolv.conf: {}: it names no DNS server",
            bad.refusal("1 MiB")
        );
        assert!(r.stderr.contains(&refusal), "{bad:?}: {}", r.describe());
        assert_eq!(
            r.stderr.matches(&refusal).count(),
            1,
            "said once: {}",
            r.describe()
        );
        assert!(
            r.stderr.contains("wo0: no DNS configuration known"),
            "{bad:?}: {}",
            r.describe()
        );
        let kib = peak_rss_kib(&r);
        assert!(kib < 32 * 1024, "{bad:?}: peak {kib} KiB");
        eprintln!(
            "resolv.conf {bad:?}: exit 1 in {:?}, peak {kib} KiB",
            r.elapsed
        );
    }
    holder_sh(&env, "umount /etc/resolv.conf");
}

// ---------------------------------------------------------------------------------------
// Netplan's YAML files
// ---------------------------------------------------------------------------------------

/// Runs `--online-definition=ubuntu` over what is in the holder's /run/netplan.
fn ubuntu_run(env: &NetworkdEnv) -> RunResult {
    run_wait_online(
        measured(
            env,
            wait_online_bin(),
            &["--online-definition=ubuntu", "--timeout=5"],
        ),
        LIMIT,
    )
}

/// A fresh, empty /run/netplan in the holder.
fn empty_netplan(env: &NetworkdEnv) -> std::path::PathBuf {
    let dir = env.holder_path("/run/netplan");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Asserts that the run failed at once with exactly `line` (one line), in bounded memory.
fn assert_netplan_refused(r: &RunResult, line: &str, bound: Duration, what: &str) {
    assert_exit_within(r, 1, bound, what);
    let ours: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| !l.starts_with("maxrss_kib=") && !l.starts_with("Command exited with"))
        .collect();
    assert_eq!(ours, [line], "{what}: {}", r.describe());
    assert_short_lines(r);
}

/// A FIFO, `/dev/zero` and a 2 MiB file as /run/netplan/01-bad.yaml; then 17 files of 1 MiB
/// each (16 MiB together is the cap). Each is an error naming the file, at once: the
/// configuration cannot be known, and nothing is waited for.
#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn netplan_fifo_device_oversized_and_too_much_together() {
    let _root = common::require_root();
    let env = NetworkdEnv::new();
    for bad in Bad::ALL {
        let dir = empty_netplan(&env);
        let file = dir.join("01-bad.yaml");
        match bad {
            Bad::Fifo => holder_sh(&env, "mkfifo /run/netplan/01-bad.yaml"),
            Bad::Zero => std::os::unix::fs::symlink("/dev/zero", &file).unwrap(),
            Bad::Oversized => std::fs::write(&file, "# padding\n".repeat(2 * MIB / 10)).unwrap(),
        }
        let r = ubuntu_run(&env);
        let line = format!("/run/netplan/01-bad.yaml: {}", bad.refusal("1 MiB"));
        assert_netplan_refused(&r, &line, AT_ONCE, &format!("{bad:?}"));
    }

    let dir = empty_netplan(&env);
    // Exactly 1 MiB each: every file is within its own cap.
    let comment = format!("#{}\n", "x".repeat(MIB - 2));
    for i in 0..17 {
        std::fs::write(dir.join(format!("{i:02}.yaml")), &comment).unwrap();
    }
    let r = ubuntu_run(&env);
    assert_netplan_refused(
        &r,
        "/run/netplan/16.yaml: the Netplan files read up to this one are larger than 16 MiB together; not reading it",
        AFTER_16_MIB,
        "17 MiB of files",
    );
    let kib = peak_rss_kib(&r);
    eprintln!("Netplan, 17 files of 1 MiB: peak {kib} KiB");
}

/// The alias bombs: a 1,000,000-byte string aliased 64 times (64 MB if expanded), and
/// "billion laughs" (10^9 nodes if expanded). Each is an error at the alias that goes over
/// (file:line:column), in bounded memory; and a 900 kB value is quoted as an excerpt.
#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn netplan_alias_bombs_and_long_values() {
    let _root = common::require_root();
    let env = NetworkdEnv::new();

    let dir = empty_netplan(&env);
    let bomb = format!(
        "a: &s {}\nb: [{}]\n",
        "x".repeat(1_000_000),
        vec!["*s"; 64].join(", ")
    );
    std::fs::write(dir.join("01-bomb.yaml"), bomb).unwrap();
    let r = ubuntu_run(&env);
    // 16 MiB over after 1 + 1 (the anchor's copy) + 15 aliases of 10^6 bytes: the 15th.
    let column = 5 + 4 * 14;
    assert_netplan_refused(
        &r,
        &format!(
            "/run/netplan/01-bomb.yaml:2:{column}: document too large: more than 16 MiB of text (alias expansion?)"
        ),
        AFTER_16_MIB,
        "string alias bomb",
    );
    let string_kib = peak_rss_kib(&r);

    let dir = empty_netplan(&env);
    let mut laughs = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let p = i - 1;
        let refs = vec![format!("*a{p}"); 10].join(", ");
        laughs.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    std::fs::write(dir.join("02-laughs.yaml"), laughs).unwrap();
    let r = ubuntu_run(&env);
    assert_exit_within(&r, 1, AT_ONCE, "billion laughs");
    assert!(
        r.stderr.contains("/run/netplan/02-laughs.yaml:")
            && r.stderr
                .contains("document too large: too many nodes (alias expansion?)"),
        "{}",
        r.describe()
    );
    let nodes_kib = peak_rss_kib(&r);
    eprintln!(
        "alias bombs: 64 x 1 MB string: peak {string_kib} KiB; billion laughs: peak {nodes_kib} KiB"
    );
    // Bounded: the budget (16 MiB of text, 10^6 nodes) with the file and the tree's copies.
    assert!(
        string_kib < 128 * 1024,
        "string bomb peaked at {string_kib} KiB"
    );
    assert!(
        nodes_kib < 256 * 1024,
        "billion laughs peaked at {nodes_kib} KiB"
    );

    let dir = empty_netplan(&env);
    std::fs::write(
        dir.join("03-long.yaml"),
        format!(
            "network:\n  version: 2\n  ethernets:\n    wo0:\n      dhcp4: \"{}\"\n",
            "y".repeat(900_000)
        ),
    )
    .unwrap();
    let r = ubuntu_run(&env);
    assert_netplan_refused(
        &r,
        &format!(
            "/run/netplan/03-long.yaml:5:14: network.ethernets.wo0.dhcp4: invalid boolean value '{}…(900000 bytes)'",
            "y".repeat(200)
        ),
        AT_ONCE,
        "a 900 kB value",
    );
}

// ---------------------------------------------------------------------------------------
// /sys/class/net/IF/address (Netplan's `match: macaddress:`)
// ---------------------------------------------------------------------------------------

/// Netplan matches wo0 by its MAC, which is read from /sys/class/net/wo0/address. Control:
/// the real attribute, and the printed line names wo0. With a FIFO or `/dev/zero` bind-mounted
/// over the attribute: the MAC is unknown, as for an interface that vanished while being read
/// (Netplan's own reading), so nothing matches; at once, never blocked.
#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn sysfs_address_fifo_and_device() {
    let _root = common::require_root();
    let env = NetworkdEnv::new();
    routable_wo0(&env);
    let mac = std::fs::read_to_string(env.holder_path("/sys/class/net/wo0/address"))
        .unwrap()
        .trim()
        .to_string();
    let dir = empty_netplan(&env);
    std::fs::write(
        dir.join("10-lan.yaml"),
        format!(
            "network:\n  version: 2\n  ethernets:\n    lan:\n      match:\n        macaddress: \"{mac}\"\n      dhcp4: true\n"
        ),
    )
    .unwrap();
    let print = || {
        run_wait_online(
            env.run(
                wait_online_bin(),
                &["--online-definition=ubuntu", "--print-netplan-lines"],
            ),
            LIMIT,
        )
    };
    let r = print();
    assert_exit_within(&r, 0, AT_ONCE, "the real attribute");
    assert!(r.stdout.contains("-i wo0"), "{}", r.describe());

    for (bad, setup) in [
        (
            Bad::Fifo,
            "mkfifo /run/wot-fifo && mount --bind /run/wot-fifo /sys/class/net/wo0/address",
        ),
        (
            Bad::Zero,
            "umount /sys/class/net/wo0/address && mount --bind /dev/zero /sys/class/net/wo0/address",
        ),
    ] {
        holder_sh(&env, setup);
        let r = print();
        assert_exit_within(&r, 0, AT_ONCE, &format!("{bad:?}"));
        assert!(!r.stdout.contains("wo0"), "{bad:?}: {}", r.describe());
    }
    holder_sh(&env, "umount /sys/class/net/wo0/address");
}

// ---------------------------------------------------------------------------------------
// /proc/sys (the pitfalls of --explain)
// ---------------------------------------------------------------------------------------

/// `--explain` reads rp_filter: wo1 has a global address and rp_filter=1 while the default
/// route is on wo0, the strict-reverse-path pitfall. Control: reported. With a FIFO and
/// `/dev/zero` bind-mounted over wo1's and `all`'s rp_filter: unknown, so not reported, and
/// the run still ends at once.
#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn proc_sys_fifo_and_device() {
    let _root = common::require_root();
    let env = NetworkdEnv::new();
    routable_wo0(&env);
    env.netns()
        .ip(&["route", "add", "default", "via", "10.77.0.1"]);
    env.netns().add_veth("wo1", None, "wo1p");
    env.netns().link_up("wo1p");
    env.netns().link_up("wo1");
    env.netns().add_addr("wo1", "10.78.0.2/24");
    holder_sh(
        &env,
        "sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.wo1.rp_filter=1",
    );
    let explain = || {
        run_wait_online(
            env.run(
                wait_online_bin(),
                &["--manager=none", "-i", "wo0", "--explain", "--timeout=5"],
            ),
            LIMIT,
        )
    };
    let pitfall = "wo1: rp_filter=1 (strict)";
    let says = |r: &RunResult| r.stderr.contains(pitfall) || r.stdout.contains(pitfall);
    let r = explain();
    assert_exit_within(&r, 0, AT_ONCE, "real values");
    assert!(says(&r), "{}", r.describe());

    let wo1 = "/proc/sys/net/ipv4/conf/wo1/rp_filter";
    let all = "/proc/sys/net/ipv4/conf/all/rp_filter";
    for (bad, source) in [(Bad::Fifo, "/run/wot-fifo"), (Bad::Zero, "/dev/zero")] {
        let setup = format!(
            "{{ [ -p /run/wot-fifo ] || mkfifo /run/wot-fifo; }} && mount --bind {source} {wo1} && mount --bind {source} {all}"
        );
        holder_sh(&env, &setup);
        let r = explain();
        assert_exit_within(&r, 0, AT_ONCE, &format!("{bad:?}"));
        assert!(!says(&r), "{bad:?}: {}", r.describe());
        holder_sh(&env, &format!("umount {wo1} && umount {all}"));
    }
    assert!(Path::new("/proc/sys/net/ipv4/conf/all/rp_filter").exists());
}
