//! Self-tests of the DNS test infrastructure (tests/it/common/resolved.rs) with the real daemons:
//! systemd-networkd, systemd-resolved (unpacked by `tests/setup-deps.sh`) and dnsmasq.
//!
//! Topology of every test:
//! ```text
//! NetworkdEnv (holder: bus, resolved, networkd)            peer netns
//!   wo0 10.77.0.2/24  <----------- veth ----------->  wo0p 10.77.0.1/24, dnsmasq :53
//!   .network: DNS=10.77.0.1, Domains=~test.wohx            host1.test.wohx -> 10.77.0.10
//! ```

use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::common::{
    self, DnsServer, Netns, NetworkdEnv, SD_RESOLVED_FROM_NETWORK, SD_RESOLVED_NO_CACHE,
    parse_resolve_hostname,
};

const DNS_IP: &str = "10.77.0.1";
const HOST1: &str = "host1.test.wohx";
const HOST1_IP: &str = "10.77.0.10";
const WO0_NETWORK: &str = "[Match]\nName=wo0\n\n[Link]\nRequiredForOnline=yes\n\n[Network]\n\
     LinkLocalAddressing=no\nIPv6AcceptRA=no\nAddress=10.77.0.2/24\nDNS=10.77.0.1\n\
     Domains=~test.wohx\n";
/// D-Bus call timeout for lookups that are expected to succeed.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(10);

/// env (prepared for resolved) + peer with dnsmasq; wo0 .network written; nothing started in
/// the holder yet.
fn dns_topology() -> (NetworkdEnv, Netns, DnsServer) {
    let env = NetworkdEnv::with_resolved();
    let peer = env.netns().add_peer();
    let dns = DnsServer::start(
        &peer,
        DNS_IP,
        &[(HOST1, HOST1_IP), ("gw.test.wohx", DNS_IP)],
    );
    env.write_network("10-wo0.network", WO0_NETWORK);
    (env, peer, dns)
}

/// [`dns_topology`] + resolved and networkd running, wo0 configured and known to resolved.
fn dns_running() -> (NetworkdEnv, Netns, DnsServer) {
    let (mut env, peer, dns) = dns_topology();
    env.start_resolved();
    env.start_networkd();
    env.wait_for_setup_state("wo0", "configured", Duration::from_secs(10));
    let t = env.wait_for_link_dns("wo0", DNS_IP, Duration::from_secs(10));
    eprintln!("timing: link DNS visible in resolved {t:?} after wo0 was configured");
    (env, peer, dns)
}

fn host1_ip() -> IpAddr {
    HOST1_IP.parse().unwrap()
}

fn assert_resolves_host1(env: &NetworkdEnv, flags: u64) {
    match env.resolve_hostname(HOST1, flags, LOOKUP_TIMEOUT) {
        Ok(r) => {
            assert_eq!(r.ips(), [host1_ip()], "{r:?}");
            assert_eq!(r.name, HOST1);
            assert_ne!(r.flags & SD_RESOLVED_FROM_NETWORK, 0, "{r:?}");
        }
        Err(e) => panic!(
            "ResolveHostname {HOST1} failed: {}\n{}",
            e.describe(),
            env.logs_tail(40)
        ),
    }
}

#[test]
fn parse_resolve_hostname_reply() {
    let r = parse_resolve_hostname(
        "a(iiay)st 2 2 2 4 10 77 0 10 2 10 16 253 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 \
         \"host1.test.wohx\" 8388609\n",
    )
    .unwrap();
    assert_eq!(
        r.ips(),
        [
            "10.77.0.10".parse::<IpAddr>().unwrap(),
            "fd00::1".parse().unwrap()
        ]
    );
    assert_eq!(r.addrs[0].0, 2);
    assert_eq!(r.name, "host1.test.wohx");
    assert_eq!(r.flags, SD_RESOLVED_FROM_NETWORK | 1);
    assert!(parse_resolve_hostname("a(iiay)st 1 2 2 4 10 77").is_none());
}

/// (a) networkd pushes the link's DNS= / Domains= to the real resolved, which resolves through
/// dnsmasq in the peer netns (D-Bus API, resolvectl and the 127.0.0.53 stub).
#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn resolved_resolves_through_link_dns_from_networkd() {
    let _root = common::require_root();
    let (env, peer, dns) = dns_running();

    let out = env.resolvectl(&["dns"]);
    assert!(
        out.lines()
            .any(|l| l.contains("(wo0):") && l.contains(DNS_IP)),
        "{out}"
    );
    let out = env.resolvectl(&["domain", "wo0"]);
    assert!(out.contains("~test.wohx"), "{out}");
    // no global/fallback servers: nothing can leave the namespaces
    let out = env.resolvectl(&["dns"]);
    assert!(
        out.starts_with("Global:") && out.lines().next().unwrap().trim() == "Global:",
        "{out}"
    );

    // the exact call from the brief, raw
    let r = env.output(
        "busctl",
        &[
            "call",
            "org.freedesktop.resolve1",
            "/org/freedesktop/resolve1",
            "org.freedesktop.resolve1.Manager",
            "ResolveHostname",
            "isit",
            "0",
            HOST1,
            "2",
            "0",
        ],
    );
    assert!(r.success(), "{}\n{}", r.describe(), env.logs_tail(40));
    let idx = env.netns().ifindex("wo0");
    assert_eq!(
        r.stdout.trim(),
        format!("a(iiay)st 1 {idx} 2 4 10 77 0 10 \"{HOST1}\" 8388609"),
        "{}",
        r.describe()
    );
    let parsed = parse_resolve_hostname(&r.stdout).unwrap();
    assert_eq!(parsed.addrs, [(idx as i32, host1_ip())]);

    // the query really went to dnsmasq (TTL 0: every lookup reaches it)
    let before = dns.queries().len();
    assert_resolves_host1(&env, 0);
    assert_resolves_host1(&env, SD_RESOLVED_NO_CACHE);
    let q = dns.queries();
    assert!(q.len() >= before + 2, "{q:?}");
    assert!(q.iter().any(|l| l == &format!("A {HOST1}")), "{q:?}");

    // NXDOMAIN from the authoritative zone
    let e = env
        .resolve_hostname("nope.test.wohx", 0, LOOKUP_TIMEOUT)
        .unwrap_err();
    assert!(
        e.stderr.contains("'nope.test.wohx' not found"),
        "{}",
        e.describe()
    );

    // the stub listener via the private /etc/resolv.conf (glibc -> 127.0.0.53 -> resolved)
    let r = env.output("getent", &["hosts", "gw.test.wohx"]);
    assert!(r.success(), "{}\n{}", r.describe(), env.logs_tail(40));
    assert!(r.stdout.starts_with(DNS_IP), "{}", r.describe());

    // teardown: every process and namespace is gone
    let name = env.netns().name().to_owned();
    let peer_name = peer.name().to_owned();
    let mut pids = env.netns().pids();
    pids.push(env.holder_pid());
    pids.extend(dns.pid());
    pids.extend(env.resolved_pid());
    assert!(pids.len() >= 6, "{pids:?}");
    drop(dns);
    drop(peer);
    drop(env);
    common::assert_gone(&name, &pids);
    common::assert_gone(&peer_name, &[]);
}

/// (b) once dnsmasq stops (port closed: ICMP port unreachable) lookups fail at once; while it
/// hangs (SIGSTOP) they do not complete within a client timeout; both recover when it is back.
#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn lookups_fail_while_dns_server_is_down() {
    let _root = common::require_root();
    let (env, _peer, mut dns) = dns_running();
    assert_resolves_host1(&env, 0);

    dns.stop();
    assert!(!dns.listening());
    let t0 = Instant::now();
    let e = env
        .resolve_hostname(HOST1, 0, Duration::from_secs(30))
        .unwrap_err();
    let refused = t0.elapsed();
    eprintln!(
        "timing: lookup with the server stopped failed after {refused:?}: {}",
        e.stderr.trim()
    );
    assert!(!e.timed_out, "{}", e.describe());
    assert!(refused < Duration::from_secs(25), "{}", e.describe());

    dns.start_again();
    let t0 = Instant::now();
    let ok = common::wait_until(Duration::from_secs(20), Duration::from_millis(50), || {
        env.resolve_hostname(HOST1, 0, Duration::from_secs(5))
            .is_ok()
    });
    assert!(ok, "no answer after dnsmasq restart\n{}", env.logs_tail(40));
    eprintln!(
        "timing: lookups work again {:?} after dnsmasq restart",
        t0.elapsed()
    );
    assert_resolves_host1(&env, 0);

    // a silent server (socket bound, no answers): resolved keeps trying; its first failure
    // comes only after its 120 s query timeout, so clients must bound the call themselves
    dns.pause();
    let t0 = Instant::now();
    let e = env
        .resolve_hostname(HOST1, 0, Duration::from_secs(3))
        .unwrap_err();
    let silent = t0.elapsed();
    eprintln!(
        "timing: lookup with the server paused: client gave up after {silent:?}: {}",
        e.stderr.trim()
    );
    assert!(!e.timed_out, "{}", e.describe());
    assert!(e.stderr.contains("timed out"), "{}", e.describe());
    assert!(silent < Duration::from_secs(8), "{}", e.describe());
    dns.resume();
    let ok = common::wait_until(Duration::from_secs(20), Duration::from_millis(50), || {
        env.resolve_hostname(HOST1, 0, Duration::from_secs(5))
            .is_ok()
    });
    assert!(ok, "no answer after dnsmasq resume\n{}", env.logs_tail(40));
}

/// (c) restarting resolved alone: it gets the link DNS back from networkd's state files.
#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn resolved_restart_relearns_link_dns() {
    let _root = common::require_root();
    let (mut env, _peer, _dns) = dns_running();
    assert_resolves_host1(&env, 0);

    let old = env.resolved_pid();
    let t0 = Instant::now();
    env.restart_resolved();
    let restart = t0.elapsed();
    assert_ne!(old, env.resolved_pid());
    let t = env.wait_for_link_dns("wo0", DNS_IP, Duration::from_secs(10));
    eprintln!(
        "timing: resolved restart took {restart:?}; link DNS back {t:?} after resolve1 reappeared"
    );
    assert_resolves_host1(&env, 0);
}

/// resolved started AFTER networkd configured the link also sees the link DNS.
#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn resolved_started_after_networkd_sees_link_dns() {
    let _root = common::require_root();
    let (mut env, _peer, _dns) = dns_topology();
    env.start_networkd();
    env.wait_for_setup_state("wo0", "configured", Duration::from_secs(10));
    env.start_resolved();
    let t = env.wait_for_link_dns("wo0", DNS_IP, Duration::from_secs(10));
    eprintln!("timing: resolved started after networkd: link DNS {t:?} after resolve1 appeared");
    assert_resolves_host1(&env, 0);
}

/// Without resolved: the private /etc/resolv.conf is what glibc in the holder uses, resolve1
/// calls fail fast, and the host's /etc/resolv.conf is untouched.
#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn resolv_conf_fallback_without_resolved() {
    let _root = common::require_root();
    let host_before = std::fs::read("/etc/resolv.conf").ok();
    let (mut env, _peer, dns) = dns_topology();
    env.start_networkd();
    env.wait_for_setup_state("wo0", "configured", Duration::from_secs(10));
    env.set_resolv_conf(&format!(
        "nameserver {DNS_IP}\noptions timeout:1 attempts:1\n"
    ));
    let r = env.output("getent", &["ahostsv4", HOST1]);
    assert!(r.success(), "{}\n{}", r.describe(), dns.log());
    assert!(r.stdout.starts_with(HOST1_IP), "{}", r.describe());

    let t0 = Instant::now();
    let e = env
        .resolve_hostname(HOST1, 0, Duration::from_secs(10))
        .unwrap_err();
    assert!(t0.elapsed() < Duration::from_secs(5), "{}", e.describe());
    eprintln!("resolve1 absent: {}", e.stderr.trim());

    env.set_resolv_conf("nameserver 10.77.0.99\noptions timeout:1 attempts:1\n");
    let r = env.output("getent", &["ahostsv4", HOST1]);
    assert!(!r.success(), "{}", r.describe());
    drop(env);
    assert_eq!(std::fs::read("/etc/resolv.conf").ok(), host_before);
}
