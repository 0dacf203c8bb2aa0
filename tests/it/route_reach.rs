//! `--require-route` and `--reach` against the real kernel, in namespaces the tests create:
//!
//! ```text
//!   ns                                       peer
//!   wo0 10.77.0.2/24  <------ veth ------>  wo0p 10.77.0.1/24 (dnsmasq, listeners)
//!   wo1 (no carrier: its peer stays down)
//! ```
//!
//! Routes are added and removed while the binary waits, and its decision is compared with
//! the kernel's own answer (`ip route get`). The listener that appears late is a std
//! `TcpListener` bound on a thread that entered the peer namespace: nothing to install. The
//! peer does not forward (a new namespace's default), so what it is asked to route is dropped
//! without an answer: a black hole.

use std::net::TcpListener;
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::common::{
    self, DnsServer, Netns, RunResult, TempDir, run_wait_online, run_wait_online_bg,
};

/// Hard limit of one run (each asks for a shorter `--timeout`).
const LIMIT: Duration = Duration::from_secs(30);

/// `ns` with `wo0` (10.77.0.2/24, up, carrier) and its peer (10.77.0.1/24).
fn uplink() -> (Netns, Netns) {
    let ns = Netns::new();
    let peer = ns.add_peer();
    ns.add_addr("wo0", "10.77.0.2/24");
    ns.link_up("wo0");
    assert!(
        common::wait_until(Duration::from_secs(5), Duration::from_millis(20), || {
            ns.ip(&["link", "show", "wo0"]).contains("LOWER_UP")
        }),
        "wo0 has no carrier"
    );
    (ns, peer)
}

/// A TCP listener on `address` in `peer` (a socket keeps the namespace it was made in): the
/// kernel completes the handshakes from its backlog until it is dropped.
fn listen(peer: &Netns, address: &'static str) -> TcpListener {
    peer.spawn_thread(move || TcpListener::bind(address))
        .join()
        .unwrap()
        .unwrap_or_else(|e| panic!("bind {address}: {e}"))
}

/// `wo1` (10.78.0.2/24): up, without carrier (its peer end stays down), so not online.
fn add_wo1_without_carrier(ns: &Netns) {
    ns.add_veth("wo1", None, "wo1p");
    ns.add_addr("wo1", "10.78.0.2/24");
    ns.link_up("wo1");
}

/// The interface of the kernel's route to `address` (`ip route get`), `None` when the kernel
/// has none (or rejects it).
fn kernel_route_dev(ns: &Netns, address: &str) -> Option<String> {
    let out = ns.try_ip(&["route", "get", address]).ok()?;
    let mut words = out.split_whitespace();
    words.find(|w| *w == "dev")?;
    words.next().map(str::to_string)
}

/// `--json`'s conditions as (kind, met, reason).
fn conditions(r: &RunResult) -> Vec<(String, bool, String)> {
    let doc: serde_json::Value =
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("--json: {e}: {}", r.describe()));
    doc["conditions"]
        .as_array()
        .unwrap_or_else(|| panic!("no conditions: {}", r.stdout))
        .iter()
        .map(|c| {
            (
                c["kind"].as_str().unwrap().to_string(),
                c["met"].as_bool().unwrap(),
                c["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn routes_appearing_and_disappearing_are_followed_as_the_kernel_routes() {
    let _root = common::require_root();
    let (ns, _peer) = uplink();
    add_wo1_without_carrier(&ns);
    assert_eq!(kernel_route_dev(&ns, "192.0.2.1"), None);
    let waiter = ns.wait_online_bg(&[
        "-i",
        "wo0",
        "--require-route=192.0.2.1",
        "--require-route=198.51.100.0/24",
        "--timeout=15",
        "--json",
    ]);
    sleep(Duration::from_millis(500));
    // The kernel's choice for 192.0.2.1 goes through wo1 (lower metric; IPv4 keeps a route
    // through a link without carrier): not online, so the wait goes on.
    ns.ip(&["route", "add", "192.0.2.0/24", "dev", "wo1", "metric", "10"]);
    ns.ip(&[
        "route",
        "add",
        "192.0.2.0/24",
        "via",
        "10.77.0.1",
        "dev",
        "wo0",
        "metric",
        "100",
    ]);
    ns.ip(&[
        "route",
        "add",
        "198.51.100.0/24",
        "via",
        "10.77.0.1",
        "dev",
        "wo0",
    ]);
    assert_eq!(kernel_route_dev(&ns, "192.0.2.1").as_deref(), Some("wo1"));
    sleep(Duration::from_millis(500));
    assert!(
        !waiter.is_finished(),
        "it ended while the route went through wo1"
    );
    // The route through wo1 disappears: the kernel's choice is now through wo0.
    let removed = Instant::now();
    ns.ip(&["route", "del", "192.0.2.0/24", "dev", "wo1", "metric", "10"]);
    assert_eq!(kernel_route_dev(&ns, "192.0.2.1").as_deref(), Some("wo0"));
    let r = waiter.join().unwrap();
    assert_eq!(r.code, Some(0), "{}", r.describe());
    assert!(r.finished >= removed, "{}", r.describe());
    assert!(
        r.finished - removed < Duration::from_secs(2),
        "not event-driven: {}",
        r.describe()
    );
    assert_eq!(
        conditions(&r),
        [
            (
                "route".to_string(),
                true,
                "route to 192.0.2.1: via 10.77.0.1 dev wo0 (table main)".to_string()
            ),
            (
                "route".to_string(),
                true,
                "route to 198.51.100.0/24: via 10.77.0.1 dev wo0 (table main)".to_string()
            ),
        ]
    );
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn missing_rejecting_and_elsewhere_routes_are_named_as_the_kernel_sees_them() {
    let _root = common::require_root();
    let (ns, _peer) = uplink();
    add_wo1_without_carrier(&ns);
    ns.ip(&["route", "add", "unreachable", "203.0.113.0/24"]);
    ns.ip(&["route", "add", "192.0.2.0/24", "dev", "wo1"]);
    assert!(ns.try_ip(&["route", "get", "203.0.113.7"]).is_err());
    assert!(ns.try_ip(&["route", "get", "198.51.100.1"]).is_err());
    assert_eq!(kernel_route_dev(&ns, "192.0.2.1").as_deref(), Some("wo1"));
    assert_eq!(kernel_route_dev(&ns, "10.77.0.1").as_deref(), Some("wo0"));
    ns.ip(&["-6", "route", "add", "2001:db8:1::/48", "dev", "wo0"]);
    assert_eq!(
        kernel_route_dev(&ns, "2001:db8:1::1").as_deref(),
        Some("wo0")
    );
    let r = ns.wait_online(&[
        "-i",
        "wo0",
        "--require-route=203.0.113.7",
        "--require-route=198.51.100.1",
        "--require-route=192.0.2.1",
        "--require-route=10.77.0.1",
        "--require-route=2001:db8:1::/64",
        "--timeout=1",
        "--json",
    ]);
    assert_eq!(r.code, Some(1), "{}", r.describe());
    let lines = [
        "no route to 203.0.113.7: the kernel's route for it is unreachable (table main)",
        "no route to 198.51.100.1: no route in the kernel's tables covers it",
        "the route to 192.0.2.1 goes through wo1 (table main), which is not online",
    ];
    for line in lines {
        assert!(r.stderr.contains(line), "{line}\n{}", r.describe());
    }
    let met: Vec<bool> = conditions(&r).iter().map(|(_, met, _)| *met).collect();
    assert_eq!(met, [false, false, false, true, true]);
}

/// A resolv.conf of the test's, bind-mounted over /etc/resolv.conf in the private mount
/// namespace `ip netns exec` gives each command (the host's file is never touched).
/// It names the peer's dnsmasq; the waiter waits for `wo0` and `args`.
fn wait_online_with_peer_dns(ns: &Netns, dir: &TempDir, args: &[&str]) -> Command {
    let file = dir.0.join("resolv.conf");
    std::fs::write(&file, "nameserver 10.77.0.1\n").unwrap();
    let script = r#"set -e
mount --bind "$1" /etc/resolv.conf
shift
exec "$@""#;
    let mut command = ns.exec("sh", &["-c", script, "sh"]);
    command
        .arg(&file)
        .arg(common::wait_online_bin())
        .args(["--manager=none", "-i", "wo0"])
        .args(args);
    command
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn a_listener_that_appears_late_ends_the_wait() {
    let _root = common::require_root();
    let (ns, peer) = uplink();
    let _dns = DnsServer::start(&peer, "10.77.0.1", &[("late.test", "10.77.0.1")]);
    let dir = TempDir::new();
    let waiter = run_wait_online_bg(
        wait_online_with_peer_dns(
            &ns,
            &dir,
            &[
                "--reach=late.test:8080",
                "--reach=10.77.0.1:8080",
                "--timeout=20",
                "--json",
            ],
        ),
        LIMIT,
    );
    sleep(Duration::from_secs(1));
    // Refused until now (nothing listens): the listener appears in the peer.
    let listener = listen(&peer, "10.77.0.1:8080");
    let listening = Instant::now();
    let r = waiter.join().unwrap();
    drop(listener);
    assert_eq!(r.code, Some(0), "{}", r.describe());
    assert!(r.finished >= listening, "{}", r.describe());
    // The next retry comes within the backoff reached after 1 s of refusals (≤ 1 s).
    assert!(
        r.finished - listening < Duration::from_secs(3),
        "{}",
        r.describe()
    );
    let reasons: Vec<String> = conditions(&r).into_iter().map(|(_, _, why)| why).collect();
    assert_eq!(
        reasons,
        [
            "late.test:8080 reached (TCP connection to 10.77.0.1:8080)",
            "10.77.0.1:8080 reached (TCP connection to 10.77.0.1:8080)",
        ]
    );
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn refused_black_holed_and_unresolved_targets_are_named_with_bounded_attempts() {
    let _root = common::require_root();
    let (ns, peer) = uplink();
    let _dns = DnsServer::start(&peer, "10.77.0.1", &[("known.test", "10.77.0.1")]);
    // The peer does not forward: what goes to 203.0.113.0/24 through it is dropped.
    ns.ip(&[
        "route",
        "add",
        "203.0.113.0/24",
        "via",
        "10.77.0.1",
        "dev",
        "wo0",
    ]);
    let dir = TempDir::new();
    let r = run_wait_online(
        wait_online_with_peer_dns(
            &ns,
            &dir,
            &[
                "--reach=10.77.0.1:9",
                "--reach=203.0.113.5:80",
                "--reach=missing.test:80",
                "--reach=[2001:db8::1]:80",
                "--timeout=5",
                "--json",
            ],
        ),
        LIMIT,
    );
    assert_eq!(r.code, Some(1), "{}", r.describe());
    assert!(
        r.elapsed < Duration::from_secs(8),
        "deadline: {}",
        r.describe()
    );
    let reasons: Vec<String> = conditions(&r).into_iter().map(|(_, _, why)| why).collect();
    let attempts = |reason: &str| -> u32 {
        let (_, tail) = reason.rsplit_once('(').unwrap();
        tail.split(' ').next().unwrap().parse().unwrap()
    };
    assert!(
        reasons[0].starts_with("10.77.0.1:9 not reached: connection to 10.77.0.1:9 refused ("),
        "{reasons:?}"
    );
    // Backoff 0.25 s doubling: 5 attempts start within 5 s (at 0, 0.25, 0.75, 1.75, 3.75 s).
    assert!((3..=6).contains(&attempts(&reasons[0])), "{reasons:?}");
    // Each attempt at the black hole is cut at 3 s: one ends within the 5 s.
    assert_eq!(
        reasons[1],
        "203.0.113.5:80 not reached: connection to 203.0.113.5:80 timed out (1 attempt)"
    );
    assert!(
        reasons[2].starts_with("missing.test:80 not reached: name not resolved: "),
        "{reasons:?}"
    );
    assert!(
        reasons[3].starts_with("[2001:db8::1]:80 not reached: no route to [2001:db8::1]:80 ("),
        "{reasons:?}"
    );
    for reason in &reasons {
        assert!(
            r.stderr.contains(reason.as_str()),
            "{reason}\n{}",
            r.describe()
        );
    }
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn no_attempt_starts_before_the_interfaces_are_online() {
    let _root = common::require_root();
    let (ns, _peer) = uplink();
    ns.link_down("wo0");
    let r = ns.wait_online(&["-i", "wo0", "--reach=10.77.0.1:9", "--timeout=1", "--json"]);
    assert_eq!(r.code, Some(1), "{}", r.describe());
    let reasons: Vec<String> = conditions(&r).into_iter().map(|(_, _, why)| why).collect();
    assert_eq!(
        reasons,
        ["10.77.0.1:9 not tried yet: connections start once the interfaces are online"]
    );
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn a_route_that_appears_cuts_the_backoff_short() {
    let _root = common::require_root();
    let (ns, peer) = uplink();
    // The target lives behind the peer; this side has no route to it yet.
    peer.ip(&["addr", "add", "198.51.100.1/32", "dev", "lo"]);
    let listener = listen(&peer, "198.51.100.1:8080");
    let waiter = ns.wait_online_bg(&["-i", "wo0", "--reach=198.51.100.1:8080", "--timeout=15"]);
    // Failing at once (no route), the attempts back off: 0, 0.25, 0.75, 1.75, 3.75, 7.75 s.
    sleep(Duration::from_millis(4_200));
    let added = Instant::now();
    ns.ip(&[
        "route",
        "add",
        "198.51.100.0/24",
        "via",
        "10.77.0.1",
        "dev",
        "wo0",
    ]);
    let r = waiter.join().unwrap();
    drop(listener);
    assert_eq!(r.code, Some(0), "{}", r.describe());
    // The route event starts the next attempt at once, not at the 7.75 s the backoff says.
    assert!(
        r.finished - added < Duration::from_millis(1_500),
        "{:?} after the route: {}",
        r.finished - added,
        r.describe()
    );
}
