//! `--explain`, `--require-default-route` and `--require-gateway` against the real kernel:
//! routes and neighbour entries made in a namespace, the gateway a veth peer in another one.

use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::common::{self, Netns, run_wait_online_bg, wait_online_bin, wait_until};

/// Time the waiter gets to start and finish its initial dumps before the test changes things.
const SETTLE: Duration = Duration::from_millis(400);

/// `wo0` (10.9.0.2/24, up) in `ns`, its peer `wo0p` (10.9.0.1/24) in `gw`: the gateway.
fn host_and_gateway() -> (Netns, Netns) {
    let ns = Netns::new();
    let gw = Netns::new();
    ns.add_veth("wo0", Some(&gw), "wo0p");
    ns.ip(&["link", "set", "lo", "up"]);
    gw.add_addr("wo0p", "10.9.0.1/24");
    gw.link_up("wo0p");
    ns.ip(&["addr", "add", "10.9.0.2/24", "dev", "wo0", "nodad"]);
    ns.link_up("wo0");
    assert!(
        wait_until(Duration::from_secs(5), Duration::from_millis(20), || {
            ns.ip(&["link", "show", "wo0"]).contains("LOWER_UP")
        }),
        "wo0 has no carrier"
    );
    (ns, gw)
}

/// Makes the kernel resolve `address` (one UDP datagram to the discard port, from inside
/// the namespace): the test's own traffic, never the tool's.
fn talk_to(ns: &Netns, address: &str) {
    let script = format!("echo x > /dev/udp/{address}/9");
    let _ = ns.output("bash", &["-c", &script]);
}

fn neighbour_state(ns: &Netns, address: &str) -> String {
    ns.ip(&["neigh", "show", address])
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn explain_shows_each_awaited_interface_and_a_summary_at_exit() {
    let _root = common::require_root();
    let (ns, _gw) = host_and_gateway();
    ns.add_veth("wo1", None, "wo1p");
    let waiter = ns.wait_online_bg(&[
        "-i",
        "wo0:routable",
        "-i",
        "wo1:routable",
        "--timeout=10",
        "--explain",
    ]);
    sleep(SETTLE);
    ns.link_up("wo1p");
    ns.link_up("wo1");
    ns.ip(&["addr", "add", "10.8.0.2/24", "dev", "wo1", "nodad"]);
    let r = waiter.join().unwrap();
    assert_eq!(r.code, Some(0), "{}", r.describe());
    assert!(
        r.stdout.is_empty(),
        "the view goes to stderr: {}",
        r.describe()
    );
    let err = &r.stderr;
    // Not a terminal: blocks are appended, the first showing wo1 down and what it needs.
    let first = err
        .split("wait-online: waiting")
        .nth(1)
        .expect("a first block");
    assert!(
        first.contains("INTERFACE") && first.contains("OPERSTATE"),
        "{err}"
    );
    let wo1 = first
        .lines()
        .find(|l| l.trim_start().starts_with("wo1"))
        .unwrap();
    assert!(
        wo1.contains("off") && wo1.contains("waiting") && wo1.contains("needs routable"),
        "{wo1}\n{err}"
    );
    let wo0 = first
        .lines()
        .find(|l| l.trim_start().starts_with("wo0"))
        .unwrap();
    assert!(
        wo0.contains("routable") && wo0.contains("online since"),
        "{wo0}"
    );
    // The summary repeats the final view under how the wait ended.
    let summary = err
        .split("wait-online: online after")
        .nth(1)
        .expect("a summary");
    assert!(
        summary
            .lines()
            .filter(|l| l.contains("online since"))
            .count()
            == 2,
        "{err}"
    );
    // Only changes are appended: far fewer blocks than the events a link going up makes
    // would give if every event printed one.
    let blocks = err.matches("wait-online: waiting").count();
    assert!((2..=8).contains(&blocks), "{blocks} blocks:\n{err}");
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn explain_redraws_in_place_on_a_terminal() {
    let _root = common::require_root();
    assert!(
        std::process::Command::new("script")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success()),
        "script(1) is missing: install bsdutils (tests/run.sh does)"
    );
    let (ns, _gw) = host_and_gateway();
    ns.add_veth("wo1", None, "wo1p");
    // script(1) gives the tool a pseudo-terminal as stderr.
    let command = format!(
        "{} --manager=none -i wo1:routable --timeout=10 --explain",
        wait_online_bin()
    );
    let waiter = run_wait_online_bg(
        ns.exec("script", &["-qfec", &command, "/dev/null"]),
        Duration::from_secs(20),
    );
    sleep(SETTLE);
    ns.link_up("wo1p");
    ns.link_up("wo1");
    ns.ip(&["addr", "add", "10.8.0.2/24", "dev", "wo1", "nodad"]);
    let r = waiter.join().unwrap();
    assert_eq!(r.code, Some(0), "{}", r.describe());
    let out = &r.stdout;
    // Each redraw moves the cursor up over the previous block and clears it.
    assert!(out.contains("\x1b[") && out.contains("F\x1b[J"), "{out:?}");
    assert!(out.contains("wait-online: online after"), "{out:?}");
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn default_route_requirement_waits_for_a_route_through_an_online_interface() {
    let _root = common::require_root();
    let (ns, _gw) = host_and_gateway();
    // A default route through a link that is not online does not count.
    ns.add_veth("wo2", None, "wo2p");
    ns.link_up("wo2");
    ns.link_up("wo2p");
    ns.ip(&["route", "add", "default", "dev", "wo2"]);
    ns.link_down("wo2p");
    let waiter = ns.wait_online_bg(&[
        "-i",
        "wo0:routable",
        "--require-default-route=4",
        "--timeout=10",
    ]);
    sleep(SETTLE);
    assert!(
        !waiter.is_finished(),
        "exited without a usable default route"
    );
    let added = Instant::now();
    ns.ip(&["route", "add", "default", "via", "10.9.0.1", "metric", "50"]);
    let r = waiter.join().unwrap();
    assert_eq!(r.code, Some(0), "{}", r.describe());
    assert!(r.finished >= added, "{}", r.describe());

    // Without one: a timeout that says which route is missing.
    ns.ip(&["route", "del", "default", "via", "10.9.0.1"]);
    let r = ns.wait_online(&[
        "-i",
        "wo0:routable",
        "--require-default-route=4",
        "--timeout=500ms",
    ]);
    assert_eq!(r.code, Some(1), "{}", r.describe());
    assert!(
        r.stderr
            .contains("the IPv4 default route goes through wo2, which is not online"),
        "{}",
        r.describe()
    );
    let r = ns.wait_online(&[
        "-i",
        "wo0:routable",
        "--require-default-route=6",
        "--timeout=500ms",
    ]);
    assert_eq!(r.code, Some(1), "{}", r.describe());
    assert!(
        r.stderr
            .contains("no IPv6 default route in the main routing table"),
        "{}",
        r.describe()
    );
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn gateway_requirement_waits_for_the_neighbour_entry_and_sends_nothing() {
    let _root = common::require_root();
    let (ns, _gw) = host_and_gateway();
    ns.ip(&["route", "add", "default", "via", "10.9.0.1"]);
    let waiter = ns.wait_online_bg(&["-i", "wo0:routable", "--require-gateway", "--timeout=10"]);
    sleep(Duration::from_millis(800));
    // The tool itself never made the kernel resolve the gateway.
    assert!(!waiter.is_finished(), "online before the gateway answered");
    assert!(
        !neighbour_state(&ns, "10.9.0.1").contains("lladdr"),
        "the gateway was resolved although nothing talked to it: {}",
        neighbour_state(&ns, "10.9.0.1")
    );
    let talked = Instant::now();
    talk_to(&ns, "10.9.0.1");
    let r = waiter.join().unwrap();
    assert_eq!(r.code, Some(0), "{}", r.describe());
    assert!(r.finished >= talked, "{}", r.describe());
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn gateway_that_never_answers_is_named_with_its_neighbour_state() {
    let _root = common::require_root();
    let (ns, _gw) = host_and_gateway();
    ns.ip(&["route", "add", "default", "via", "10.9.0.99"]);
    talk_to(&ns, "10.9.0.99");
    // ARP gives up after about 3 s: FAILED.
    assert!(
        wait_until(Duration::from_secs(10), Duration::from_millis(100), || {
            neighbour_state(&ns, "10.9.0.99").contains("FAILED")
        }),
        "{}",
        neighbour_state(&ns, "10.9.0.99")
    );
    let r = ns.wait_online(&[
        "-i",
        "wo0:routable",
        "--require-gateway",
        "--timeout=500ms",
        "--explain",
    ]);
    assert_eq!(r.code, Some(1), "{}", r.describe());
    assert!(
        r.stderr.contains(
            "the IPv4 default gateway 10.9.0.99 on wo0 has not answered (neighbour entry FAILED"
        ),
        "{}",
        r.describe()
    );
    // Without the requirement, --explain still warns about it (a pitfall).
    let r = ns.wait_online(&["-i", "wo0:routable", "--timeout=2", "--explain"]);
    assert_eq!(r.code, Some(0), "{}", r.describe());
    assert!(
        r.stderr.contains(
            "warning: the IPv4 default gateway 10.9.0.99 on wo0 does not answer (neighbour entry FAILED)"
        ),
        "{}",
        r.describe()
    );
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn explain_reports_the_field_pitfalls_found_in_the_kernel() {
    let _root = common::require_root();
    let (ns, _gw) = host_and_gateway();
    // Link-local only, accepted as degraded.
    ns.add_veth("wo3", None, "wo3p");
    ns.link_up("wo3p");
    ns.link_up("wo3");
    ns.ip(&[
        "addr",
        "add",
        "169.254.7.7/16",
        "dev",
        "wo3",
        "scope",
        "link",
        "nodad",
    ]);
    ns.ip(&["-6", "addr", "flush", "dev", "wo3"]);
    let r = ns.wait_online(&["-i", "wo3:degraded", "-4", "--timeout=2", "--explain"]);
    assert_eq!(r.code, Some(0), "{}", r.describe());
    assert!(
        r.stderr
            .contains("warning: wo3: counts as online, but its only addresses are link-local"),
        "{}",
        r.describe()
    );
    // A global address and no default route.
    let r = ns.wait_online(&["-i", "wo0:routable", "--timeout=2", "--explain"]);
    assert!(
        r.stderr
            .contains("warning: wo0 has a global IPv4 address but there is no IPv4 default route"),
        "{}",
        r.describe()
    );
    // Multi-homed: the default route on wo1, wo0 awaited, strict rp_filter on wo0.
    ns.add_veth("wo1", None, "wo1p");
    ns.link_up("wo1p");
    ns.link_up("wo1");
    ns.ip(&["addr", "add", "10.8.0.2/24", "dev", "wo1", "nodad"]);
    ns.ip(&["route", "add", "default", "via", "10.8.0.1"]);
    let sysctl = |value: &str| {
        let path = "/proc/sys/net/ipv4/conf/wo0/rp_filter";
        let r = ns.output("bash", &["-c", &format!("echo {value} > {path}")]);
        assert!(r.success(), "{}", r.describe());
    };
    sysctl("1");
    let r = ns.wait_online(&["-i", "wo0:routable", "--timeout=2", "--explain"]);
    assert_eq!(r.code, Some(0), "{}", r.describe());
    for expected in [
        "warning: the IPv4 default route goes through wo1, not through wo0",
        "warning: wo0: rp_filter=1 (strict) while the IPv4 default route goes through wo1",
    ] {
        assert!(r.stderr.contains(expected), "{expected}\n{}", r.describe());
    }
    sysctl("2");
    let r = ns.wait_online(&["-i", "wo0:routable", "--timeout=2", "--explain"]);
    assert!(
        !r.stderr.contains("rp_filter"),
        "loose mode is fine: {}",
        r.describe()
    );
    // Without --explain, none of this is printed: online is quiet.
    let r = ns.wait_online(&["-i", "wo0:routable", "--timeout=2"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (Some(0), ""),
        "{}",
        r.describe()
    );
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn probe_gateway_makes_a_quiet_gateway_answer() {
    let _root = common::require_root();
    let (ns, _gw) = host_and_gateway();
    ns.ip(&["route", "add", "default", "via", "10.9.0.1"]);
    assert!(!neighbour_state(&ns, "10.9.0.1").contains("lladdr"));
    let r = ns.wait_online(&["-i", "wo0:routable", "--probe-gateway", "--timeout=5"]);
    assert_eq!(r.code, Some(0), "{}", r.describe());
    assert!(r.elapsed < Duration::from_secs(3), "{}", r.describe());
    let state = neighbour_state(&ns, "10.9.0.1");
    assert!(
        state.contains("lladdr"),
        "the probe made the kernel resolve it: {state}"
    );
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn probe_gateway_that_never_answers_ends_in_a_timeout_naming_it() {
    let _root = common::require_root();
    let (ns, _gw) = host_and_gateway();
    ns.ip(&["route", "add", "default", "via", "10.9.0.99"]);
    let r = ns.wait_online(&["-i", "wo0:routable", "--probe-gateway", "--timeout=4500ms"]);
    assert_eq!(r.code, Some(1), "{}", r.describe());
    assert!(
        r.stderr.contains(
            "the IPv4 default gateway 10.9.0.99 on wo0 has not answered (neighbour entry"
        ),
        "{}",
        r.describe()
    );
    // The entry exists only because the tool probed (nothing else talked to 10.9.0.99).
    let state = neighbour_state(&ns, "10.9.0.99");
    assert!(
        state.contains("FAILED") || state.contains("INCOMPLETE"),
        "{state}"
    );
}
