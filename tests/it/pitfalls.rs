//! The host-wide pitfalls of `--explain` and `--json` against the real kernel, each beside a
//! control case where it must not be reported: IPv4 forwarding off under a bridge with a
//! port, two default routes with one metric, an IPv6 address whose DAD failed (or that
//! stays tentative). All sysctls are set inside the test's own namespaces.

use std::time::Duration;

use crate::common::{Netns, RunResult, wait_until};

/// `wo0` (10.9.0.2/24, up, default route via its peer 10.9.0.1 in `gw`) in `ns`.
fn host_with_uplink() -> (Netns, Netns) {
    let ns = Netns::new();
    let gw = Netns::new();
    add_uplink(&ns, &gw, "wo0", "10.9.0");
    ns.ip(&["route", "add", "default", "via", "10.9.0.1", "dev", "wo0"]);
    (ns, gw)
}

/// `dev` (`NET`.2/24, up, with carrier) in `ns`, its peer `<dev>p` (`NET`.1/24) in `gw`.
fn add_uplink(ns: &Netns, gw: &Netns, dev: &str, net: &str) {
    let peer = format!("{dev}p");
    ns.add_veth(dev, Some(gw), &peer);
    gw.add_addr(&peer, &format!("{net}.1/24"));
    gw.link_up(&peer);
    ns.add_addr(dev, &format!("{net}.2/24"));
    ns.link_up(dev);
    wait_for_carrier(ns, dev);
}

pub(crate) fn wait_for_carrier(ns: &Netns, dev: &str) {
    assert!(
        wait_until(Duration::from_secs(5), Duration::from_millis(20), || {
            ns.ip(&["link", "show", dev]).contains("LOWER_UP")
        }),
        "{dev} has no carrier"
    );
}

pub(crate) fn sysctl(ns: &Netns, setting: &str) {
    let r = ns.output("sysctl", &["-qw", setting]);
    assert!(r.success(), "sysctl -w {setting}: {}", r.describe());
}

/// The `warning:` lines of `--explain`'s summary at exit.
fn summary_warnings(r: &RunResult) -> Vec<String> {
    let summary = r
        .stderr
        .split("; summary:")
        .nth(1)
        .unwrap_or_else(|| panic!("no summary: {}", r.describe()));
    summary
        .lines()
        .filter_map(|l| l.strip_prefix("warning: "))
        .map(str::to_string)
        .collect()
}

/// `--json`'s `pitfalls` array.
pub(crate) fn pitfall_objects(r: &RunResult) -> Vec<serde_json::Value> {
    let mut doc: serde_json::Value =
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("--json: {e}: {}", r.describe()));
    match doc["pitfalls"].take() {
        serde_json::Value::Array(list) => list,
        _ => panic!("no pitfalls list: {}", r.stdout),
    }
}

/// `--json`'s pitfalls as (kind, interface, detail).
fn json_pitfalls(r: &RunResult) -> Vec<(String, String, String)> {
    pitfall_objects(r)
        .iter()
        .map(|p| {
            let field = |name: &str| {
                p[name]
                    .as_str()
                    .unwrap_or_else(|| panic!("{name} in {p}"))
                    .to_string()
            };
            (field("kind"), field("interface"), field("detail"))
        })
        .collect()
}

/// Runs `wait-online ARGS --explain --json` in `ns`, which must end with `code`.
fn explain_and_json(ns: &Netns, args: &[&str], code: i32) -> RunResult {
    let mut all = args.to_vec();
    all.extend(["--explain", "--json"]);
    let r = ns.wait_online(&all);
    assert_eq!(r.code, Some(code), "{}", r.describe());
    r
}

/// The summary warning that starts with `start`, which `--json` must list as `kind` about
/// `interface` with the same words; returns the warning.
fn reported(r: &RunResult, start: &str, kind: &str, interface: &str) -> String {
    let warning = summary_warnings(r)
        .into_iter()
        .find(|w| w.starts_with(start))
        .unwrap_or_else(|| panic!("no warning {start:?}: {}", r.describe()));
    let listed = json_pitfalls(r);
    assert!(
        listed
            .iter()
            .any(|(k, i, detail)| k == kind && i == interface && *detail == warning),
        "{kind} on {interface} not listed as {warning:?}: {listed:?}"
    );
    warning
}

/// Neither `--explain` (no warning containing `words`) nor `--json` reports `kind`.
fn not_reported(r: &RunResult, words: &str, kind: &str) {
    assert!(
        !r.stderr.contains(words),
        "{kind} reported: {}",
        r.describe()
    );
    assert!(
        json_pitfalls(r).iter().all(|(k, ..)| k != kind),
        "{kind} listed: {}",
        r.stdout
    );
}

/// `br0` (172.30.0.1/24) with the veth port `vb0` (its peer `vb0p` in `guest`).
fn add_bridge_with_port(ns: &Netns, guest: &Netns) {
    ns.add_veth("vb0", Some(guest), "vb0p");
    ns.add_bridge("br0", &["vb0"]);
    ns.add_addr("br0", "172.30.0.1/24");
    guest.link_up("vb0p");
    ns.link_up("vb0");
    ns.link_up("br0");
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn ipv4_forwarding_off_under_a_bridge_with_a_port_is_reported_and_on_is_not() {
    let _root = crate::common::require_root();
    let (ns, _gw) = host_with_uplink();
    let guest = Netns::new();
    add_bridge_with_port(&ns, &guest);
    sysctl(&ns, "net.ipv4.ip_forward=0");
    let r = explain_and_json(&ns, &["-i", "wo0:routable", "--timeout=5"], 0);
    let warning = reported(&r, "br0: IPv4 forwarding is off", "forwarding-off", "br0");
    assert!(
        warning.contains("net.ipv4.conf.br0.forwarding=0")
            && warning.contains("ports (vb0)")
            && warning.contains("goes through wo0")
            && warning.contains("net.ipv4.ip_forward=1"),
        "{warning}"
    );

    // Control: forwarding on (what Docker and libvirt set).
    sysctl(&ns, "net.ipv4.ip_forward=1");
    let r = explain_and_json(&ns, &["-i", "wo0:routable", "--timeout=5"], 0);
    not_reported(&r, "forwarding is off", "forwarding-off");
}

/// `wo1` (10.8.0.2/24, up, its peer 10.8.0.1 in `gw`) beside `host_with_uplink`'s `wo0`;
/// the default routes via both gateways get metrics `first` and `second`, the second one
/// added with `how` (`append` or `prepend`: `ip route add` refuses an IPv4 route with the
/// same key).
fn two_default_routes(first: &str, second: &str, how: &str) -> (Netns, Netns) {
    let (ns, gw) = host_with_uplink();
    ns.ip(&["route", "del", "default"]);
    add_uplink(&ns, &gw, "wo1", "10.8.0");
    let via = |gateway: &str, dev: &str, metric: &str, how: &str| {
        ns.ip(&[
            "route", how, "default", "via", gateway, "dev", dev, "metric", metric,
        ]);
    };
    via("10.9.0.1", "wo0", first, "add");
    via("10.8.0.1", "wo1", second, how);
    (ns, gw)
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn two_default_routes_with_one_metric_are_reported_with_the_kernels_choice() {
    let _root = crate::common::require_root();
    // Which one the kernel uses depends on the order: appended, wo0 stays first; prepended,
    // wo1 comes first. Each time the warning names what `ip route get` says.
    let mut chosen = Vec::new();
    for how in ["append", "prepend"] {
        let (ns, _gw) = two_default_routes("100", "100", how);
        // A destination that only a default route covers.
        let get = ns.ip(&["route", "get", "203.0.113.1"]);
        let in_use = if get.contains("dev wo0") {
            "wo0"
        } else {
            "wo1"
        };
        assert!(get.contains(&format!("dev {in_use}")), "{get}");
        let r = explain_and_json(
            &ns,
            &["-i", "wo0:routable", "-i", "wo1:routable", "--timeout=5"],
            0,
        );
        let warning = reported(
            &r,
            "2 IPv4 default routes with metric 100",
            "tied-default-routes",
            in_use,
        );
        assert!(
            warning.contains("wo0 (via 10.9.0.1), wo1 (via 10.8.0.1)")
                && warning.contains(&format!("the kernel uses {in_use} now")),
            "{how}: {warning}\n{get}"
        );
        chosen.push(in_use);
    }
    assert_eq!(chosen, ["wo0", "wo1"], "the order of adding decides");

    // Control: distinct metrics.
    let (ns, _gw) = two_default_routes("100", "200", "append");
    let r = explain_and_json(
        &ns,
        &["-i", "wo0:routable", "-i", "wo1:routable", "--timeout=5"],
        0,
    );
    not_reported(&r, "default routes with metric", "tied-default-routes");
}

/// `a` and `b` on one link (`wo0` in `a`, `wo0p` in `b`, both up), `wo0p` owning
/// 2001:db8:7::1/64 and `wo0` doing DAD with `dad_transmits` probes one second apart.
fn shared_link(dad_transmits: &str) -> (Netns, Netns) {
    let a = Netns::new();
    let b = Netns::new();
    a.add_veth("wo0", Some(&b), "wo0p");
    b.ip(&["addr", "add", "2001:db8:7::1/64", "dev", "wo0p", "nodad"]);
    b.link_up("wo0p");
    sysctl(&a, "net.ipv6.conf.wo0.accept_dad=1");
    sysctl(
        &a,
        &format!("net.ipv6.conf.wo0.dad_transmits={dad_transmits}"),
    );
    sysctl(&a, "net.ipv6.neigh.wo0.retrans_time_ms=1000");
    a.link_up("wo0");
    wait_for_carrier(&a, "wo0");
    (a, b)
}

fn address_line(ns: &Netns, cidr: &str) -> String {
    ns.ip(&["-6", "addr", "show", "dev", "wo0"])
        .lines()
        .find(|l| l.contains(cidr))
        .unwrap_or_default()
        .to_string()
}

/// Adds `cidr` to `wo0` and waits until its `ip addr` line says that DAD did `what`.
fn add_and_wait(ns: &Netns, cidr: &str, what: &str, done: impl Fn(&str) -> bool) {
    ns.ip(&["addr", "add", cidr, "dev", "wo0"]);
    assert!(
        wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
            done(&address_line(ns, cidr))
        }),
        "DAD did not {what}: {}",
        ns.ip(&["-6", "addr"])
    );
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn an_ipv6_address_whose_dad_failed_is_reported_and_a_unique_one_is_not() {
    let _root = crate::common::require_root();
    let (a, _b) = shared_link("1");
    add_and_wait(&a, "2001:db8:7::1/64", "fail", |line| {
        line.contains("dadfailed")
    });
    let r = explain_and_json(&a, &["-i", "wo0:carrier", "--timeout=5"], 0);
    reported(
        &r,
        "wo0: duplicate address detection failed for 2001:db8:7::1/64",
        "dad-failed",
        "wo0",
    );

    // Control: a unique address, once DAD has passed.
    let (a, _b) = shared_link("1");
    add_and_wait(&a, "2001:db8:7::2/64", "pass", |line| {
        !line.is_empty() && !line.contains("tentative")
    });
    let r = explain_and_json(&a, &["-i", "wo0:routable", "--timeout=5"], 0);
    not_reported(&r, "duplicate address detection", "dad-failed");
    not_reported(&r, "tentative", "still-tentative");
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn an_address_still_tentative_after_the_limit_is_reported_at_exit() {
    let _root = crate::common::require_root();
    // Twenty probes a second apart: DAD takes twenty seconds.
    let (a, _b) = shared_link("20");
    a.ip(&["addr", "add", "2001:db8:7::3/64", "dev", "wo0"]);
    assert!(address_line(&a, "2001:db8:7::3/64").contains("tentative"));
    // Never online (wo0 has no global address that is ready), so the summary comes at the
    // timeout, past the five seconds.
    let r = explain_and_json(&a, &["-i", "wo0:routable", "--timeout=7"], 1);
    reported(
        &r,
        "wo0: 2001:db8:7::3/64 is still tentative after more than 5s",
        "still-tentative",
        "wo0",
    );
}
