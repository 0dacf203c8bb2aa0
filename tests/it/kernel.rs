//! Kernel-only mode (`--manager=none`) against the real kernel: links, addresses, bridges,
//! renames and the no-false-online guarantees, each in its own network namespace.

use std::os::fd::AsFd;
use std::thread::sleep;
use std::time::{Duration, Instant};

use rustix::process::Signal;
use rustix::thread::{LinkNameSpaceType, move_into_link_name_space};

use crate::common::{self, Netns, kernel_supports, kill, run_wait_online, wait_online_bin};

/// Time the waiter gets to start and finish its initial dump before the test changes things.
const SETTLE: Duration = Duration::from_millis(400);

/// A namespace with a veth pair `v0`/`v1`, both up (so both have carrier).
fn veth_pair() -> Netns {
    let ns = Netns::new();
    ns.add_veth("v0", None, "v1");
    ns.link_up("v0");
    ns.link_up("v1");
    ns
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn already_routable_exits_zero_at_once() {
    let _root = common::require_root();
    let ns = veth_pair();
    ns.add_addr("v0", "192.0.2.1/24");
    let r = ns.wait_online(&["-i", "v0:routable", "--timeout=5"]);
    assert_eq!(r.code, Some(0), "{}", r.describe());
    assert!(r.elapsed < Duration::from_secs(2), "{}", r.describe());
    assert!(r.stderr.is_empty(), "{}", r.describe());
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn a_slow_wait_leaves_one_line_saying_what_held_it_up() {
    let _root = common::require_root();
    // v0 without carrier (its peer is down) for 1.3 s, then the peer comes up and v0 gets
    // its address; a fast wait prints nothing (already_routable_exits_zero_at_once).
    let ns = Netns::new();
    ns.add_veth("v0", None, "v1");
    ns.link_up("v0");
    let waiter = ns.wait_online_bg(&["-i", "v0:routable", "--timeout=10"]);
    sleep(Duration::from_millis(1300));
    ns.link_up("v1");
    ns.add_addr("v0", "192.0.2.1/24");
    let r = waiter.join().unwrap();
    assert_eq!(r.code, Some(0), "{}", r.describe());
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", r.describe());
    assert!(
        lines[0].starts_with("online after 1.")
            && lines[0].contains("; held up by v0 (no carrier until 1."),
        "{}",
        r.describe()
    );
    let quiet = ns.wait_online(&["-i", "v0:routable", "--timeout=5", "-q"]);
    assert!(quiet.stderr.is_empty(), "{}", quiet.describe());
}

/// v0 routable, v1 without carrier (its peer v1p is down).
pub(crate) fn one_plugged_one_unplugged() -> Netns {
    let ns = Netns::new();
    ns.add_veth("v0", None, "v0p");
    ns.add_veth("v1", None, "v1p");
    for up in ["v0", "v0p", "v1"] {
        ns.link_up(up);
    }
    ns.add_addr("v0", "192.0.2.1/24");
    ns
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn carrier_timeout_stops_waiting_for_an_unplugged_link() {
    let _root = common::require_root();
    let ns = one_plugged_one_unplugged();
    let r = ns.wait_online(&[
        "-i",
        "v0:routable",
        "-i",
        "v1",
        "--carrier-timeout=1s",
        "--timeout=10",
        "--json",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.describe());
    assert!(
        r.elapsed >= Duration::from_secs(1) && r.elapsed < Duration::from_secs(5),
        "{}",
        r.describe()
    );
    assert!(
        r.stderr
            .contains("v1: no carrier for 1.0s, not waited for (--carrier-timeout)"),
        "{}",
        r.describe()
    );
    let report: serde_json::Value = serde_json::from_str(&r.stdout).expect("--json");
    assert_eq!(
        report["interfaces"][1]["outcome"], "no-carrier",
        "{report:#}"
    );
    // Without it: upstream's semantics, the timeout.
    let r = ns.wait_online(&["-i", "v0:routable", "-i", "v1", "--timeout=2"]);
    assert_eq!(r.code, Some(1), "{}", r.describe());
}

/// `WAIT_ONLINE_CARRIER_TIMEOUT` is what a drop-in's `Environment=` line sets under command
/// lines it does not own (Netplan's override): the same as `--carrier-timeout`, compared with the
/// same run without it; a bad value is an error naming the variable, not a silent default.
#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn carrier_timeout_from_the_environment() {
    let _root = common::require_root();
    let ns = one_plugged_one_unplugged();
    let run = |value: &str, timeout: &str| {
        let args = ["--manager=none", "-i", "v0:routable", "-i", "v1", timeout];
        let mut command = ns.exec(wait_online_bin(), &args);
        command.env("WAIT_ONLINE_CARRIER_TIMEOUT", value);
        run_wait_online(command, Duration::from_secs(20))
    };
    let r = run("1s", "--timeout=10");
    assert_eq!(r.code, Some(0), "{}", r.describe());
    assert!(r.elapsed < Duration::from_secs(5), "{}", r.describe());
    assert!(
        r.stderr
            .contains("v1: no carrier for 1.0s, not waited for (--carrier-timeout)"),
        "{}",
        r.describe()
    );
    let r = run("", "--timeout=2");
    assert_eq!(r.code, Some(1), "empty is unset: {}", r.describe());
    let r = run("soon", "--timeout=10");
    assert_eq!(r.code, Some(1), "{}", r.describe());
    assert!(r.elapsed < Duration::from_secs(2), "{}", r.describe());
    assert!(
        r.stderr.contains("WAIT_ONLINE_CARRIER_TIMEOUT='soon': "),
        "{}",
        r.describe()
    );
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn carrier_timeout_gives_up_at_once_when_nothing_is_left() {
    let _root = common::require_root();
    let ns = one_plugged_one_unplugged();
    let r = ns.wait_online(&["-i", "v1", "--carrier-timeout=1s", "--timeout=30", "--json"]);
    assert_eq!(r.code, Some(1), "{}", r.describe());
    assert!(r.elapsed < Duration::from_secs(5), "{}", r.describe());
    assert!(
        r.stderr
            .contains("Gave up waiting for network connectivity")
            && r.stderr.contains("v1: no carrier for 1."),
        "{}",
        r.describe()
    );
    let report: serde_json::Value = serde_json::from_str(&r.stdout).expect("--json");
    assert_eq!(report["verdict"], "no-carrier", "{report:#}");
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn carrier_regained_before_the_timeout_counts_again() {
    let _root = common::require_root();
    let ns = one_plugged_one_unplugged();
    let waiter = ns.wait_online_bg(&["-i", "v1:routable", "--carrier-timeout=2s", "--timeout=20"]);
    sleep(Duration::from_millis(700));
    ns.link_up("v1p");
    sleep(Duration::from_millis(2500));
    // Carrier came back before the timeout: still waited for (no address yet), not given up.
    assert!(!waiter.is_finished(), "gave up on a link that has carrier");
    let added = Instant::now();
    ns.add_addr("v1", "198.51.100.1/24");
    let r = waiter.join().unwrap();
    assert_eq!(r.code, Some(0), "{}", r.describe());
    assert!(r.finished >= added, "{}", r.describe());
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn address_added_while_waiting_ends_the_wait_after_it() {
    let _root = common::require_root();
    let ns = veth_pair();
    let waiter = ns.wait_online_bg(&["-i", "v0:routable", "--timeout=10"]);
    sleep(SETTLE);
    let added = Instant::now();
    ns.add_addr("v0", "192.0.2.1/24");
    let r = waiter.join().unwrap();
    assert_eq!(r.code, Some(0), "{}", r.describe());
    assert!(
        r.finished >= added,
        "exited before the address existed: {}",
        r.describe()
    );
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn timeout_names_each_blocking_interface_and_condition() {
    let _root = common::require_root();
    let ns = veth_pair();
    let r = ns.wait_online(&["-i", "v0:routable", "-i", "eth7", "--timeout=1"]);
    assert_eq!(r.code, Some(1), "{}", r.describe());
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(
        lines,
        [
            "Timeout occurred while waiting for network connectivity.",
            "v0: operational state is carrier, needs routable (no global IPv4/IPv6 address)",
            "eth7: not present",
        ],
        "{}",
        r.describe()
    );
    let quiet = ns.wait_online(&["-q", "-i", "v0:routable", "--timeout=200ms"]);
    assert_eq!(quiet.code, Some(1));
    assert!(
        quiet.stderr.starts_with("Timeout occurred"),
        "errors survive -q: {}",
        quiet.describe()
    );
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn missing_range_is_satisfied_by_an_absent_interface() {
    let _root = common::require_root();
    let ns = Netns::new();
    let r = ns.wait_online(&["-i", "nosuch0:missing", "--timeout=5"]);
    assert_eq!(r.code, Some(0), "{}", r.describe());
    let r = ns.wait_online(&["-i", "nosuch0::off", "--timeout=5"]);
    assert_eq!(r.code, Some(0), "{}", r.describe());
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn loopback_can_be_named() {
    let _root = common::require_root();
    let ns = Netns::new();
    let r = ns.wait_online(&["-i", "lo:carrier", "--timeout=5"]);
    assert_eq!(r.code, Some(0), "{}", r.describe());
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn all_links_mode_down_links_never_block_and_up_links_must_be_degraded() {
    let _root = common::require_root();
    let ns = veth_pair();
    ns.add_veth("d0", None, "d1"); // stays down: never blocks
    ns.add_addr("v0", "192.0.2.1/24");
    let r = ns.wait_online(&["--timeout=1"]);
    assert_eq!(
        r.code,
        Some(1),
        "v1 is up without an address: {}",
        r.describe()
    );
    assert!(
        r.stderr
            .contains("v1: operational state is carrier, needs degraded"),
        "{}",
        r.describe()
    );
    let r = ns.wait_online(&["--timeout=5", "--ignore=v1"]);
    assert_eq!(r.code, Some(0), "{}", r.describe());
    let r = ns.wait_online(&["--timeout=5", "--any"]);
    assert_eq!(r.code, Some(0), "{}", r.describe());
    ns.add_addr("v1", "198.51.100.1/24");
    let r = ns.wait_online(&["--timeout=5"]);
    assert_eq!(r.code, Some(0), "{}", r.describe());
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn all_links_mode_needs_one_online_link() {
    let _root = common::require_root();
    let ns = Netns::new(); // only lo
    let r = ns.wait_online(&["--timeout=300ms"]);
    assert_eq!(r.code, Some(1), "{}", r.describe());
    assert!(
        r.stderr.contains("no link is considered"),
        "{}",
        r.describe()
    );
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn bridge_with_a_port_lacking_carrier_is_degraded_carrier_until_the_port_has_carrier() {
    let _root = common::require_root();
    let ns = Netns::new();
    ns.add_veth("p0", None, "p0peer");
    ns.add_veth("p1", None, "p1peer");
    ns.add_bridge("br0", &["p0", "p1"]);
    for dev in ["br0", "p0", "p0peer", "p1"] {
        ns.link_up(dev);
    }
    let r = ns.wait_online(&[
        "-i",
        "br0:degraded-carrier:degraded-carrier",
        "-i",
        "p0:enslaved",
        "--timeout=5",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.describe());
    let waiter = ns.wait_online_bg(&["-i", "br0:carrier", "--timeout=10"]);
    sleep(SETTLE);
    let fixed = Instant::now();
    ns.link_up("p1peer");
    let r = waiter.join().unwrap();
    assert_eq!(r.code, Some(0), "{}", r.describe());
    assert!(r.finished >= fixed, "{}", r.describe());
}

#[test]
#[ignore = "needs the bonding driver (CONFIG_BONDING), which the test kernel lacks"]
fn bond_losing_and_regaining_a_port() {
    let _root = common::require_root();
    assert!(
        kernel_supports("bond"),
        "this kernel has no bonding driver (CONFIG_BONDING)"
    );
    let ns = Netns::new();
    ns.add_veth("e0", None, "e0peer");
    ns.add_veth("e1", None, "e1peer");
    ns.add_bond("bond0", "active-backup", &["e0", "e1"]);
    for dev in ["bond0", "e0", "e0peer", "e1", "e1peer"] {
        ns.link_up(dev);
    }
    ns.add_addr("bond0", "192.0.2.1/24");
    assert_eq!(
        ns.wait_online(&["-i", "bond0:routable", "--timeout=5"])
            .code,
        Some(0)
    );
    ns.link_down("e1peer");
    let r = ns.wait_online(&["-i", "bond0:carrier:carrier", "--timeout=500ms"]);
    assert_eq!(r.code, Some(1), "a port without carrier: {}", r.describe());
    let r = ns.wait_online(&["-i", "bond0:degraded-carrier:degraded", "--timeout=500ms"]);
    assert_eq!(
        r.code,
        Some(1),
        "the bond keeps its global address, so it is routable: {}",
        r.describe()
    );
    ns.link_up("e1peer");
    assert_eq!(
        ns.wait_online(&["-i", "bond0:routable", "-i", "e1:enslaved", "--timeout=5"])
            .code,
        Some(0)
    );
}

#[test]
#[ignore = "needs the 802.1Q VLAN driver (CONFIG_VLAN_8021Q), which the test kernel lacks"]
fn vlan_on_veth() {
    let _root = common::require_root();
    assert!(
        kernel_supports("vlan"),
        "this kernel has no 802.1Q VLAN driver (CONFIG_VLAN_8021Q)"
    );
    let ns = veth_pair();
    ns.add_vlan("v0", "v0.100", 100);
    ns.link_up("v0.100");
    ns.add_addr("v0.100", "192.0.2.1/24");
    let r = ns.wait_online(&["-i", "v0.100:routable", "--timeout=5"]);
    assert_eq!(r.code, Some(0), "{}", r.describe());
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn rename_and_altname_lookup() {
    let _root = common::require_root();
    let ns = Netns::new();
    ns.add_veth("v0", None, "v1");
    ns.add_addr("v0", "192.0.2.1/24");
    let waiter = ns.wait_online_bg(&["-i", "uplink0:routable", "--timeout=10"]);
    sleep(SETTLE);
    ns.set_name("v0", "uplink0");
    sleep(Duration::from_millis(100));
    let up = Instant::now();
    ns.link_up("v1");
    ns.link_up("uplink0");
    let r = waiter.join().unwrap();
    assert_eq!(r.code, Some(0), "{}", r.describe());
    assert!(r.finished >= up, "{}", r.describe());

    ns.ip(&[
        "link",
        "property",
        "add",
        "dev",
        "uplink0",
        "altname",
        "wan-primary",
    ]);
    let r = ns.wait_online(&["-i", "wan-primary:routable", "--timeout=5"]);
    assert_eq!(r.code, Some(0), "{}", r.describe());
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn deleted_and_recreated_link_is_followed_by_name() {
    let _root = common::require_root();
    let ns = veth_pair();
    let waiter = ns.wait_online_bg(&["-i", "v0:routable", "--timeout=10"]);
    sleep(SETTLE);
    ns.del_link("v0");
    ns.add_veth("v0", None, "v1");
    ns.link_up("v1");
    ns.link_up("v0");
    let added = Instant::now();
    ns.add_addr("v0", "192.0.2.1/24");
    let r = waiter.join().unwrap();
    assert_eq!(r.code, Some(0), "{}", r.describe());
    assert!(r.finished >= added, "{}", r.describe());
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn address_flips_without_carrier_never_end_the_wait() {
    let _root = common::require_root();
    let ns = Netns::new();
    ns.add_veth("v0", None, "v1");
    ns.link_up("v0"); // v1 stays down: v0 has no carrier
    let waiter = ns.wait_online_bg(&["-i", "v0:routable", "--timeout=3"]);
    sleep(SETTLE);
    let mut batch = String::new();
    for _ in 0..50 {
        batch.push_str("address add 192.0.2.1/24 dev v0\naddress del 192.0.2.1/24 dev v0\n");
    }
    ns.ip_batch(&batch);
    ns.link_up("v1"); // carrier now, but the address is gone
    let r = waiter.join().unwrap();
    assert_eq!(r.code, Some(1), "false online: {}", r.describe());
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn ipv6_address_that_stays_tentative_never_counts() {
    let _root = common::require_root();
    let ns = veth_pair();
    // The peer owns the address already: DAD on v0 fails and the address stays tentative.
    ns.ip(&[
        "-6",
        "address",
        "add",
        "2001:db8::1/64",
        "dev",
        "v1",
        "nodad",
    ]);
    let waiter = ns.wait_online_bg(&["-6", "-i", "v0:routable", "--timeout=3"]);
    sleep(SETTLE);
    ns.ip(&["-6", "address", "add", "2001:db8::1/64", "dev", "v0"]);
    let r = waiter.join().unwrap();
    assert_eq!(
        r.code,
        Some(1),
        "tentative address counted: {}",
        r.describe()
    );
    assert!(
        ns.ip(&["-6", "address", "show", "dev", "v0"])
            .contains("dadfailed")
    );
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn sigterm_and_sigint_exit_zero_like_upstream() {
    let _root = common::require_root();
    let ns = Netns::new();
    for signal in [Signal::TERM, Signal::INT] {
        let mut cmd = std::process::Command::new(wait_online_bin());
        cmd.args(["--manager=none", "-i", "v9:routable", "--timeout=30"]);
        let path = ns.path();
        // SAFETY: the hook runs in the forked child before exec, and only makes syscalls.
        unsafe {
            use std::os::unix::process::CommandExt;
            cmd.pre_exec(move || {
                let fd = std::fs::File::open(&path)?;
                move_into_link_name_space(fd.as_fd(), Some(LinkNameSpaceType::Network))?;
                Ok(())
            });
        }
        let started = Instant::now();
        let child = cmd
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        sleep(SETTLE);
        let _ = kill(child.id() as i32, signal);
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "signal {signal:?}");
        assert!(
            out.stderr.is_empty() && out.stdout.is_empty(),
            "no stray output"
        );
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn notifies_the_service_manager_like_upstream() {
    let _root = common::require_root();
    let ns = veth_pair();
    let path = std::env::temp_dir().join(format!("{}-notify", ns.name()));
    let socket = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let messages = |count: usize| -> Vec<String> {
        (0..count)
            .map(|_| {
                let mut buffer = [0u8; 512];
                let n = socket.recv(&mut buffer).expect("notification");
                String::from_utf8_lossy(&buffer[..n]).into_owned()
            })
            .collect()
    };
    let mut cmd = ns.exec(
        wait_online_bin(),
        &["--manager=none", "-i", "v0:routable", "--timeout=300ms"],
    );
    cmd.env("NOTIFY_SOCKET", &path);
    let r = run_wait_online(cmd, Duration::from_secs(20));
    assert_eq!(r.code, Some(1), "{}", r.describe());
    assert_eq!(
        messages(2),
        [
            "READY=1\nSTATUS=Waiting for v0 (carrier, needs routable)",
            "STATUS=Failed to wait for network connectivity..."
        ]
    );
    ns.add_addr("v0", "192.0.2.1/24");
    let mut cmd = ns.exec(
        wait_online_bin(),
        &["--manager=none", "-i", "v0:routable", "--timeout=5"],
    );
    cmd.env("NOTIFY_SOCKET", &path);
    let r = run_wait_online(cmd, Duration::from_secs(20));
    assert_eq!(r.code, Some(0), "{}", r.describe());
    assert_eq!(
        messages(1),
        ["STATUS=All interfaces configured..."],
        "no READY=1 when online at once"
    );
    std::fs::remove_file(&path).ok();
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn watchdog_pings_when_the_service_manager_asks() {
    let _root = common::require_root();
    let ns = Netns::new();
    let path = std::env::temp_dir().join(format!("{}-watchdog", ns.name()));
    let socket = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut cmd = ns.exec(
        wait_online_bin(),
        &["--manager=none", "-i", "v0", "--timeout=450ms"],
    );
    cmd.env("NOTIFY_SOCKET", &path)
        .env("WATCHDOG_USEC", "200000");
    let r = run_wait_online(cmd, Duration::from_secs(20));
    assert_eq!(r.code, Some(1), "{}", r.describe());
    let mut messages = Vec::new();
    loop {
        let mut buffer = [0u8; 512];
        let n = socket.recv(&mut buffer).expect("notification");
        let message = String::from_utf8_lossy(&buffer[..n]).into_owned();
        let last = message.starts_with("STATUS=Failed");
        messages.push(message);
        if last {
            break;
        }
    }
    let pings = messages.iter().filter(|m| *m == "WATCHDOG=1").count();
    assert!(
        (3..=5).contains(&pings),
        "every 100 ms for 450 ms: {messages:?}"
    );
    std::fs::remove_file(&path).ok();
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn no_bus_connection_without_dns_options() {
    let _root = common::require_root();
    let ns = Netns::new();
    let path = std::env::temp_dir().join(format!("{}-bus", ns.name()));
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    listener.set_nonblocking(true).unwrap();
    let address = format!("unix:path={}", path.display());
    let run = |extra: &[&str]| {
        let mut args = vec!["--manager=none", "-i", "lo:carrier", "--timeout=2"];
        args.extend_from_slice(extra);
        let mut cmd = ns.exec(wait_online_bin(), &args);
        cmd.env("DBUS_SYSTEM_BUS_ADDRESS", &address);
        run_wait_online(cmd, Duration::from_secs(20))
    };
    let r = run(&[]);
    assert_eq!(r.code, Some(0), "{}", r.describe());
    assert!(
        listener.accept().is_err(),
        "connected to the bus without --dns"
    );
    // With --dns it does try the bus (here a socket that never answers D-Bus: it falls back
    // to /etc/resolv.conf after the connection fails or stalls, within the timeout).
    let _ = run(&["--dns", "--timeout=300ms"]);
    assert!(
        listener.accept().is_ok(),
        "--dns did not try the system bus"
    );
    std::fs::remove_file(&path).ok();
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn json_report_at_exit_parses_with_stable_fields() {
    let _root = common::require_root();
    let ns = veth_pair();
    ns.add_addr("v0", "192.0.2.1/24");
    let r = ns.wait_online(&[
        "-i",
        "v0:routable",
        "-i",
        "v1",
        "-i",
        "eth9:missing",
        "--json",
        "--timeout=300ms",
    ]);
    assert_eq!(r.code, Some(1), "{}", r.describe());
    let doc: serde_json::Value =
        serde_json::from_str(&r.stdout).expect("one JSON document on stdout");
    assert_eq!(doc["verdict"], "timeout");
    assert_eq!(doc["definition"], "upstream");
    assert_eq!(doc["manager"], "none");
    assert!(doc["elapsed_ms"].as_u64().unwrap() >= 300);
    let interfaces = doc["interfaces"].as_array().unwrap();
    let v0 = &interfaces[0];
    assert_eq!(
        (v0["name"].as_str(), v0["outcome"].as_str()),
        (Some("v0"), Some("online"))
    );
    assert_eq!(v0["operational_state"], "routable");
    assert_eq!(v0["ipv4_address_state"], "routable");
    assert_eq!(v0["required"], "routable:routable");
    assert_eq!(v0["ifindex"].as_u64(), Some(u64::from(ns.ifindex("v0"))));
    let v1 = &interfaces[1];
    assert_eq!(
        (v1["outcome"].as_str(), v1["blocking"].as_bool()),
        (Some("out-of-range"), Some(true))
    );
    assert_eq!(
        v1["reason"],
        "operational state is carrier, needs degraded (no IPv4/IPv6 address)"
    );
    assert_eq!(interfaces[2]["outcome"], "absent-allowed");
    assert_eq!(
        doc["reasons"][0],
        "v1: operational state is carrier, needs degraded (no IPv4/IPv6 address)"
    );

    let r = ns.wait_online(&["-i", "v0:routable", "--json", "--timeout=5"]);
    assert_eq!(r.code, Some(0), "{}", r.describe());
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(doc["verdict"], "online");
    assert_eq!(doc["reasons"].as_array().map(Vec::len), Some(0));
}
