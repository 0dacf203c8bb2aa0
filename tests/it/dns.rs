//! `--dns` and `--dns-probe` end to end with the real daemons: systemd-networkd feeding
//! per-link DNS (through its state files) to the real systemd-resolved on a private bus, and
//! dnsmasq answering in a peer namespace.
//!
//! ```text
//! NetworkdEnv (holder: bus, resolved, networkd)           peer netns
//!   wo0 10.77.0.2/24  <---------- veth ---------->  wo0p 10.77.0.1/24, dnsmasq :53
//! ```

use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::common::{
    self, DnsServer, Netns, NetworkdEnv, RunResult, Upstream, run_wait_online, run_wait_online_bg,
    wait_online_bin,
};

pub(crate) const DNS_IP: &str = "10.77.0.1";
const HOST1: &str = "host1.test.wohx";
const SETTLE: Duration = Duration::from_millis(500);

/// `.network` for wo0 with a static address and `dns` lines (`Domains=test.wohx` is a search
/// domain, so wo0 stays a DNS default route and needs its own accessible server).
pub(crate) fn network(dns: &str) -> String {
    common::network(
        "wo0",
        &format!("Address=10.77.0.2/24\nDomains=test.wohx\n{dns}"),
    )
}

/// networkd (and, when `with_resolved`, resolved) managing wo0 with `dns`; dnsmasq serving
/// host1.test.wohx in the peer.
fn setup(dns: &str, with_resolved: bool) -> (NetworkdEnv, Netns, DnsServer) {
    setup_on(Upstream::V252, dns, with_resolved)
}

/// [`setup`] with `upstream`'s networkd and resolved.
pub(crate) fn setup_on(
    upstream: Upstream,
    dns: &str,
    with_resolved: bool,
) -> (NetworkdEnv, Netns, DnsServer) {
    let mut env = NetworkdEnv::for_upstream_with_resolved(upstream);
    let peer = env.netns().add_peer();
    let server = DnsServer::start(&peer, DNS_IP, &[(HOST1, "10.77.0.10")]);
    env.write_network("10-wo0.network", &network(dns));
    if with_resolved {
        env.start_resolved();
    }
    env.start_networkd();
    env.wait_for_setup_state("wo0", "configured", Duration::from_secs(10));
    (env, peer, server)
}

fn wait_online(env: &NetworkdEnv, args: &[&str]) -> RunResult {
    let mut cmd = env.run("env", &["SYSTEMD_LOG_LEVEL=debug", wait_online_bin()]);
    cmd.args(args);
    run_wait_online(cmd, Duration::from_secs(30))
}

fn wait_online_bg(env: &NetworkdEnv, args: &[&str]) -> std::thread::JoinHandle<RunResult> {
    let mut cmd = env.run("env", &["SYSTEMD_LOG_LEVEL=debug", wait_online_bin()]);
    cmd.args(args);
    run_wait_online_bg(cmd, Duration::from_secs(30))
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn dns_configured_exits_zero_also_with_netplans_second_line() {
    let _root = common::require_root();
    let (env, _peer, _server) = setup("DNS=10.77.0.1\n", true);
    env.wait_for_link_dns("wo0", DNS_IP, Duration::from_secs(10));
    let r = wait_online(&env, &["-i", "wo0", "--dns", "--timeout=10"]);
    env.assert_code(&r, 0);
    assert!(
        r.stderr.contains("DNS: using systemd-resolved"),
        "{}",
        r.describe()
    );
    let r = wait_online(
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
    );
    env.assert_code(&r, 0);
    let r = wait_online(&env, &["-i", "wo0", "--dns=no", "--timeout=10"]);
    env.assert_code(&r, 0);
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn no_dns_anywhere_times_out_naming_dns() {
    let _root = common::require_root();
    let (env, _peer, _server) = setup("", true);
    let r = wait_online(&env, &["-i", "wo0", "--dns", "--timeout=1500ms"]);
    env.assert_code(&r, 1);
    // No server for any link nor globally: said as such (issue 20).
    assert!(
        r.stderr
            .contains("wo0: no DNS server is configured on any link nor globally"),
        "{}",
        r.describe()
    );
    let r = wait_online(&env, &["-i", "wo0", "--timeout=5"]);
    env.assert_code(&r, 0);
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn dns_added_by_networkctl_reload_while_waiting() {
    let _root = common::require_root();
    let (env, _peer, _server) = setup("", true);
    let waiter = wait_online_bg(&env, &["-i", "wo0", "--dns", "--timeout=20"]);
    sleep(SETTLE);
    env.write_network("10-wo0.network", &network("DNS=10.77.0.1\n"));
    let reloaded = Instant::now();
    env.networkctl(&["reload"]);
    let r = waiter.join().unwrap();
    env.assert_code(&r, 0);
    assert!(r.finished >= reloaded, "{}", r.describe());
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn global_server_without_a_route_is_not_accessible() {
    let _root = common::require_root();
    // `~test.wohx` only: wo0 is no DNS default route, so a global server must be accessible.
    let (env, _peer, _server) = setup("DNS=10.77.0.1\nDomains=~test.wohx\n", true);
    let mut env = env;
    env.set_resolved_conf(&common::RESOLVED_CONF.replace("\nDNS=\n", "\nDNS=198.51.100.53\n"));
    env.restart_resolved();
    let seen = common::wait_until(Duration::from_secs(10), Duration::from_millis(20), || {
        env.resolvectl(&["dns"])
            .lines()
            .next()
            .is_some_and(|l| l.contains("198.51.100.53"))
    });
    assert!(
        seen,
        "resolved did not take the global server: {}",
        env.resolvectl(&["dns"])
    );
    let r = wait_online(&env, &["-i", "wo0", "--dns", "--timeout=1500ms"]);
    env.assert_code(&r, 1);
    assert!(
        r.stderr
            .contains("wo0: DNS server 198.51.100.53 is not accessible (no route)"),
        "{}",
        r.describe()
    );
    // A route appears: the server becomes accessible while waiting.
    let waiter = wait_online_bg(&env, &["-i", "wo0", "--dns", "--timeout=20"]);
    sleep(SETTLE);
    let routed = Instant::now();
    env.netns()
        .ip(&["route", "add", "198.51.100.0/24", "via", "10.77.0.1"]);
    let r = waiter.join().unwrap();
    env.assert_code(&r, 0);
    assert!(r.finished >= routed, "{}", r.describe());
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn link_server_without_a_route_is_not_accessible() {
    let _root = common::require_root();
    // wo0's own server 192.0.2.99 is reached by no route (no gateway): resolved 262 calls it
    // inaccessible and upstream's --dns times out. A socket bound to wo0 would make the
    // kernel treat it as on-link and call it accessible; a plain route lookup does not.
    let (env, _peer, _server) = setup(
        "DNS=192.0.2.99
",
        true,
    );
    env.wait_for_link_dns("wo0", "192.0.2.99", Duration::from_secs(10));
    let r = wait_online(&env, &["-i", "wo0", "--dns", "--timeout=1500ms"]);
    env.assert_code(&r, 1);
    assert!(
        r.stderr
            .contains("wo0: its DNS server 192.0.2.99 is not accessible (no route)"),
        "{}",
        r.describe()
    );
    // A route to it appears: accessible while waiting.
    let waiter = wait_online_bg(&env, &["-i", "wo0", "--dns", "--timeout=20"]);
    sleep(SETTLE);
    env.netns()
        .ip(&["route", "add", "192.0.2.0/24", "via", "10.77.0.1"]);
    env.assert_code(&waiter.join().unwrap(), 0);
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn link_server_is_accessible_only_while_its_link_is_up() {
    let _root = common::require_root();
    let (env, _peer, _server) = setup("DNS=10.77.0.1\n", true);
    env.wait_for_link_dns("wo0", DNS_IP, Duration::from_secs(10));
    let r = wait_online(&env, &["-i", "wo0", "--dns", "--timeout=5"]);
    env.assert_code(&r, 0);
    env.netns().link_down("wo0");
    // Down, wo0's own server is not accessible and resolved no longer counts it as a DNS
    // default route: the (empty) global configuration decides.
    let r = wait_online(&env, &["-i", "wo0:off", "--dns", "--timeout=1500ms"]);
    env.assert_code(&r, 1);
    assert!(
        r.stderr.contains("wo0: no global DNS server is configured"),
        "{}",
        r.describe()
    );
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn resolved_started_and_restarted_mid_wait() {
    let _root = common::require_root();
    let (mut env, _peer, _server) = setup("DNS=10.77.0.1\n", false);
    // resolved is not running and resolv.conf only names its stub: nothing to go on yet.
    let waiter = wait_online_bg(&env, &["-i", "wo0", "--dns", "--timeout=20"]);
    sleep(SETTLE);
    let started = Instant::now();
    env.start_resolved();
    let r = waiter.join().unwrap();
    env.assert_code(&r, 0);
    assert!(r.finished >= started, "{}", r.describe());

    // The subscription survives a restart: wait for a DNS change made after it.
    env.write_network("10-wo0.network", &network(""));
    env.networkctl(&["reload"]);
    let gone = common::wait_until(Duration::from_secs(10), Duration::from_millis(20), || {
        env.link_dns("wo0").is_empty()
    });
    assert!(gone, "resolved still has wo0's DNS server after the reload");
    let waiter = wait_online_bg(&env, &["-i", "wo0", "--dns", "--timeout=20"]);
    sleep(SETTLE);
    env.restart_resolved();
    sleep(SETTLE);
    env.write_network("10-wo0.network", &network("DNS=10.77.0.1\n"));
    let reloaded = Instant::now();
    env.networkctl(&["reload"]);
    let r = waiter.join().unwrap();
    env.assert_code(&r, 0);
    assert!(r.finished >= reloaded, "{}", r.describe());
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn without_resolved_resolv_conf_is_the_source() {
    let _root = common::require_root();
    let (env, _peer, _server) = setup("", false);
    env.set_resolv_conf("nameserver 127.0.0.53\nnameserver 10.77.0.1\n");
    let r = wait_online(&env, &["-i", "wo0", "--dns", "--timeout=10"]);
    env.assert_code(&r, 0);
    assert!(
        r.stderr
            .contains("using the name servers of /etc/resolv.conf"),
        "{}",
        r.describe()
    );
    env.set_resolv_conf("nameserver 198.51.100.53\n");
    let r = wait_online(&env, &["-i", "wo0", "--dns", "--timeout=1500ms"]);
    env.assert_code(&r, 1);
    assert!(
        r.stderr
            .contains("DNS server 198.51.100.53 is not accessible (no route)"),
        "{}",
        r.describe()
    );
    // The probe goes straight to the servers with hickory-resolver.
    env.set_resolv_conf("nameserver 10.77.0.1\n");
    let r = wait_online(&env, &["-i", "wo0", "--dns-probe", HOST1, "--timeout=10"]);
    env.assert_code(&r, 0);
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn probe_passes_fails_while_the_server_is_down_and_recovers() {
    let _root = common::require_root();
    let (env, _peer, mut server) = setup("DNS=10.77.0.1\n", true);
    env.wait_for_link_dns("wo0", DNS_IP, Duration::from_secs(10));
    let r = wait_online(
        &env,
        &["-i", "wo0", "--dns", "--dns-probe", HOST1, "--timeout=10"],
    );
    env.assert_code(&r, 0);
    let r = wait_online(
        &env,
        &["-i", "wo0", "--dns-probe=nope.test.wohx", "--timeout=2"],
    );
    env.assert_code(&r, 1);
    assert!(
        r.stderr
            .contains("DNS probe nope.test.wohx failed: NXDOMAIN"),
        "{}",
        r.describe()
    );

    server.stop();
    let r = wait_online(&env, &["-i", "wo0", "--dns-probe", HOST1, "--timeout=2"]);
    env.assert_code(&r, 1);
    assert!(
        r.stderr.contains(&format!("DNS probe {HOST1} failed")),
        "{}",
        r.describe()
    );

    // Retried with backoff: the server coming back ends the wait.
    let waiter = wait_online_bg(&env, &["-i", "wo0", "--dns-probe", HOST1, "--timeout=20"]);
    sleep(Duration::from_secs(1));
    let back = Instant::now();
    server.start_again();
    let r = waiter.join().unwrap();
    env.assert_code(&r, 0);
    assert!(r.finished >= back, "{}", r.describe());
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn probe_without_any_server_backs_off_and_honours_the_timeout() {
    let _root = common::require_root();
    // resolved not running, resolv.conf names only its stub: every attempt fails at once.
    let (env, _peer, _server) = setup("", false);
    env.set_resolv_conf("nameserver 127.0.0.53\n");
    let mut cmd = env.run(
        wait_online_bin(),
        &["-i", "wo0", "--dns-probe", HOST1, "--timeout=2"],
    );
    cmd.env("SYSTEMD_LOG_LEVEL", "debug");
    let r = run_wait_online(cmd, Duration::from_secs(20));
    env.assert_code(&r, 1);
    assert!(
        r.elapsed < Duration::from_secs(4),
        "the deadline was not honoured: {}",
        r.describe()
    );
    assert!(
        r.stderr
            .contains(&format!("DNS probe {HOST1} failed: no DNS server to ask")),
        "{}",
        r.describe()
    );
    let attempts = r.stderr.matches("DNS probe failed").count();
    assert!(
        (2..=6).contains(&attempts),
        "backoff 0.25 s doubling within 2 s: {attempts} attempts\n{}",
        r.describe()
    );
}
