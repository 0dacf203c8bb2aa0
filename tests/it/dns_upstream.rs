//! `--dns` against upstream 262 (Debian testing), the first upstream with it: its
//! systemd-networkd-wait-online, networkd and resolved run chrooted in the cached forky root
//! (`common::Upstream`), ours next to them on the same scenario at the same moment, and both
//! must reach the same verdict. Upstream's `--dns` subscribes to resolved's varlink monitor;
//! ours reads resolved over D-Bus; both judge accessibility with a route lookup.
//!
//! The two deliberate differences (README "Deliberate differences from upstream") are asserted
//! as differences, each saying why.
//!
//! ```text
//! NetworkdEnv (chroot forky: bus, resolved 262, networkd 262)   peer netns
//!   wo0 10.77.0.2/24  <------------- veth ------------->  wo0p 10.77.0.1/24, dnsmasq :53
//! ```

use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::common::{self, DnsServer, Netns, NetworkdEnv, RunResult, Upstream};
use crate::dns::{DNS_IP, network, setup_on};
use crate::networkd::{Both, same_verdict, start_both_env};

const UPSTREAM: Upstream = Upstream::V262;
const SETTLE: Duration = Duration::from_millis(500);
/// Upstream logs why it still waits only at debug level; ours says it at the timeout anyway.
const DEBUG: &[(&str, &str)] = &[("SYSTEMD_LOG_LEVEL", "debug")];

/// wo0 managed with `dns` (a static address, `Domains=test.wohx`), resolved 262 running.
fn setup(dns: &str) -> (NetworkdEnv, Netns, DnsServer) {
    setup_on(UPSTREAM, dns, true)
}

fn start(env: &NetworkdEnv, args: &[&str]) -> Both {
    start_both_env(env, DEBUG, args)
}

fn compare(env: &NetworkdEnv, args: &[&str], expected: i32) -> (RunResult, RunResult) {
    same_verdict(env, start(env, args), expected)
}

/// Panics with both runs unless `r`'s stderr contains `text`.
fn assert_says(r: &RunResult, text: &str, who: &str) {
    assert!(
        r.stderr.contains(text),
        "{who} does not say {text:?}:\n{}",
        r.describe()
    );
}

/// resolved restarted with the global server 198.51.100.53, to which no route leads.
fn with_unrouted_global_server(env: &mut NetworkdEnv) {
    env.set_resolved_conf(&common::RESOLVED_CONF.replace("\nDNS=\n", "\nDNS=198.51.100.53\n"));
    env.restart_resolved();
    env.wait_for_link_dns("wo0", DNS_IP, Duration::from_secs(10));
}

/// `-i wo0 --dns`: both time out, saying `why` (upstream's, ours); then both wait again and
/// end once a route to `prefix` appears.
fn inaccessible_until_routed(env: &NetworkdEnv, why: (&str, &str), prefix: &str) {
    let (upstream, ours) = compare(env, &["-i", "wo0", "--dns", "--timeout=2"], 1);
    assert_says(&upstream, why.0, "upstream 262");
    assert_says(&ours, why.1, "ours");
    let both = start(env, &["-i", "wo0", "--dns", "--timeout=15"]);
    sleep(SETTLE);
    let routed = Instant::now();
    env.netns()
        .ip(&["route", "add", prefix, "via", "10.77.0.1"]);
    let (upstream, ours) = same_verdict(env, both, 0);
    assert!(upstream.finished >= routed && ours.finished >= routed);
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn link_with_a_reachable_server() {
    let _root = common::require_root();
    let (env, _peer, _server) = setup("DNS=10.77.0.1\n");
    env.wait_for_link_dns("wo0", DNS_IP, Duration::from_secs(10));
    compare(&env, &["-i", "wo0", "--dns", "--timeout=10"], 0);
    compare(&env, &["--dns", "--timeout=10"], 0);
    // Netplan's second line
    compare(
        &env,
        &[
            "--any",
            "--dns",
            "-o",
            "routable",
            "-i",
            "wo0",
            "--timeout=10",
        ],
        0,
    );
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn no_server_anywhere_then_one_from_networkctl_reload() {
    let _root = common::require_root();
    // Without servers wo0 is no DNS default route: the (empty) global configuration decides.
    let (env, _peer, _server) = setup("");
    let (_, ours) = compare(&env, &["-i", "wo0", "--dns", "--timeout=2"], 1);
    assert_says(
        &ours,
        "wo0: no DNS server is configured on any link nor globally",
        "ours",
    );
    let both = start(&env, &["-i", "wo0", "--dns", "--timeout=15"]);
    sleep(SETTLE);
    env.write_network("10-wo0.network", &network("DNS=10.77.0.1\n"));
    let reloaded = Instant::now();
    env.networkctl(&["reload"]);
    let (upstream, ours) = same_verdict(&env, both, 0);
    assert!(upstream.finished >= reloaded && ours.finished >= reloaded);
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn link_server_without_a_route_then_a_route_appears() {
    let _root = common::require_root();
    // No gateway: wo0's own server 192.0.2.99 is reached by no route, and wo0 is a DNS
    // default route (a search domain), so its own server must be accessible.
    let (env, _peer, _server) = setup("DNS=192.0.2.99\n");
    env.wait_for_link_dns("wo0", "192.0.2.99", Duration::from_secs(10));
    inaccessible_until_routed(
        &env,
        (
            "wo0: No link-specific DNS server is accessible",
            "wo0: its DNS server 192.0.2.99 is not accessible (no route)",
        ),
        "192.0.2.0/24",
    );
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn global_server_decides_for_a_route_only_link() {
    let _root = common::require_root();
    // `~test.wohx` only: wo0 is no DNS default route, so a global server must be accessible;
    // the global one, 198.51.100.53, has no route yet.
    let (mut env, _peer, _server) = setup("DNS=10.77.0.1\nDomains=~test.wohx\n");
    with_unrouted_global_server(&mut env);
    inaccessible_until_routed(
        &env,
        (
            "wo0: No DNS server is accessible",
            "wo0: DNS server 198.51.100.53 is not accessible (no route)",
        ),
        "198.51.100.0/24",
    );
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn default_route_link_needs_its_own_server_not_the_global_one() {
    let _root = common::require_root();
    // wo0 is a DNS default route with an accessible server of its own; the global server has
    // no route: the link's server decides, and it is accessible.
    let (mut env, _peer, _server) = setup("DNS=10.77.0.1\n");
    with_unrouted_global_server(&mut env);
    compare(&env, &["-i", "wo0", "--dns", "--timeout=10"], 0);
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn any_dns_one_link_with_an_accessible_server_is_enough() {
    let _root = common::require_root();
    let mut env = NetworkdEnv::for_upstream_with_resolved(UPSTREAM);
    let peer = env.netns().add_peer();
    env.netns().add_veth("wo1", Some(&peer), "wo1p");
    peer.link_up("wo1p");
    let _server = DnsServer::start(&peer, DNS_IP, &[("host1.test.wohx", "10.77.0.10")]);
    env.write_network("10-wo0.network", &network("DNS=10.77.0.1\n"));
    // wo1: a DNS default route whose only server has no route
    env.write_network(
        "11-wo1.network",
        &common::network(
            "wo1",
            "Address=10.77.1.2/24\nDomains=test.wohx\nDNS=192.0.2.99\n",
        ),
    );
    env.start_resolved();
    env.start_networkd();
    for dev in ["wo0", "wo1"] {
        env.wait_for_setup_state(dev, "configured", Duration::from_secs(10));
    }
    env.wait_for_link_dns("wo0", DNS_IP, Duration::from_secs(10));
    env.wait_for_link_dns("wo1", "192.0.2.99", Duration::from_secs(10));
    compare(&env, &["--any", "--dns", "--timeout=10"], 0);
    compare(
        &env,
        &["-i", "wo0", "-i", "wo1", "--any", "--dns", "--timeout=10"],
        0,
    );
    // Without `-i` a configured link whose DNS is lacking counts as offline, and an offline
    // link does not block (systemd#29506): wo0 online is enough here too.
    compare(&env, &["--dns", "--timeout=10"], 0);
    compare(&env, &["-i", "wo0", "-i", "wo1", "--dns", "--timeout=2"], 1);
    compare(&env, &["-i", "wo1", "--dns", "--timeout=2"], 1);
}

/// Deliberate difference: no resolved at all. Upstream 262 cannot connect to resolved's
/// monitor and exits 1 at once ("Could not create manager"); ours takes the name servers of
/// /etc/resolv.conf, because a machine without resolved still has DNS and `--dns` asks whether
/// a name server can be reached, not whether resolved runs.
#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn without_resolved_upstream_fails_at_once_ours_uses_resolv_conf() {
    let _root = common::require_root();
    let (env, _peer, _server) = setup_on(UPSTREAM, "DNS=10.77.0.1\n", false);
    env.set_resolv_conf("nameserver 10.77.0.1\n");
    let both = start(&env, &["-i", "wo0", "--dns", "--timeout=10"]);
    let (upstream, ours) = both.join();
    assert_eq!(
        upstream.code,
        Some(1),
        "upstream 262:\n{}",
        upstream.describe()
    );
    assert!(
        upstream.elapsed < Duration::from_secs(3),
        "upstream 262 did not fail at once:\n{}",
        upstream.describe()
    );
    assert_says(&upstream, "Could not create manager", "upstream 262");
    env.assert_code(&ours, 0);
    assert_says(&ours, "using the name servers of /etc/resolv.conf", "ours");
}

/// Deliberate difference: resolved restarted mid-wait. Upstream 262 reconnects once, at once,
/// while resolved is still exiting; that attempt is refused, it never retries and keeps the
/// facts from before the restart until its timeout. Ours reconnects when resolved is back and
/// ends as soon as the condition holds: a resolved restart (package upgrade) during boot must
/// not turn into a boot delay.
#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn resolved_restarted_mid_wait_ours_reconnects_upstream_keeps_stale_facts() {
    let _root = common::require_root();
    // wo0 without DNS: both wait (no global server either)
    let (mut env, _peer, _server) = setup("");
    let both = start(&env, &["-i", "wo0", "--dns", "--timeout=8"]);
    sleep(SETTLE);
    env.restart_resolved();
    sleep(SETTLE);
    env.write_network("10-wo0.network", &network("DNS=10.77.0.1\n"));
    let reloaded = Instant::now();
    env.networkctl(&["reload"]);
    let (upstream, ours) = both.join();
    env.assert_code(&ours, 0);
    assert!(ours.finished >= reloaded, "{}", ours.describe());
    assert!(
        ours.elapsed < Duration::from_secs(6),
        "ours did not end soon after the reload: {}",
        ours.describe()
    );
    assert_eq!(
        upstream.code,
        Some(1),
        "upstream 262 was expected to keep its stale facts until the timeout:\n{}\n{}",
        upstream.describe(),
        env.logs_tail(30)
    );
    assert_says(
        &upstream,
        "Timeout occurred while waiting for network connectivity",
        "upstream 262",
    );
}
