//! A DHCP lease without a DNS server under Netplan's exact line `--any --dns -o routable -i
//! wo0`: the field failure of issue 20 (every boot waits the whole timeout although wo0 is
//! routable at once). The real systemd-networkd takes a lease from dnsmasq that sends no DNS
//! server option, the real systemd-resolved then knows no server anywhere; ours names that,
//! and `--dns-grace`/`WAIT_ONLINE_DNS_GRACE` end the wait early. Upstream 262 on the same
//! scenario is the oracle: it waits until its timeout.
//!
//! ```text
//! NetworkdEnv (bus, resolved, networkd)            peer netns
//!   wo0 DHCP: 10.77.0.5x/24  <------ veth ------>  wo0p 10.77.0.1/24, dnsmasq DHCP (+ DNS :53)
//! ```

use std::thread::sleep;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{
    self, DnsServer, Netns, NetworkdEnv, RunResult, UPSTREAM_WAIT_ONLINE, Upstream, wait_online_bin,
};
use crate::networkd::{same_verdict, start_both_env};

/// Netplan's second line for wo0, as Netplan >= 1.2 writes it.
const NETPLANS_LINE: [&str; 6] = ["--any", "--dns", "-o", "routable", "-i", "wo0"];
const NO_SERVER: &str = "wo0: no DNS server is configured on any link nor globally \
                         (systemd-networkd's DHCP lease for it had none)";
/// What networkd 256 and later let be known: they no longer name the lease in the state file.
const NO_SERVER_262: &str = "wo0: no DNS server is configured on any link nor globally \
                             (systemd-networkd configured none for it: no DNS= in its state file)";
/// The fix, logged after the reasons of a failed wait (also without --explain and --json).
const FIX: &str = "wo0: DNS is required, and no DNS server is configured on any link nor \
                   globally: waiting will not configure one; its DHCP server hands out none \
                   (option 6): make it send one";
const GAVE_UP: &str = "Gave up waiting for network connectivity: no DNS server is configured \
                       on any link nor globally";

/// networkd (DHCP on wo0) and resolved of `upstream`; dnsmasq in the peer hands out leases,
/// with itself as DNS server when `dns`, and none otherwise (`--dhcp-option=6` without a
/// value: the option is not sent). Returns once wo0 is configured (it holds its lease).
fn setup(upstream: Upstream, dns: bool) -> (NetworkdEnv, Netns, DnsServer) {
    let mut env = NetworkdEnv::for_upstream_with_resolved(upstream);
    let peer = env.netns().add_peer();
    let mut options = vec![
        "--dhcp-range=10.77.0.50,10.77.0.60,255.255.255.0,1h",
        "--leasefile-ro",
        "--no-ping",
    ];
    if !dns {
        options.push("--dhcp-option=6");
    }
    let server = DnsServer::start_with(&peer, "10.77.0.1", &[], &options);
    env.write_network("10-wo0.network", &common::network("wo0", "DHCP=ipv4\n"));
    env.start_resolved();
    env.start_networkd();
    env.wait_for_setup_state("wo0", "configured", Duration::from_secs(20));
    (env, peer, server)
}

fn netplans_line(timeout: &str) -> Vec<&str> {
    let mut args = NETPLANS_LINE.to_vec();
    args.extend([timeout, "--json"]);
    args
}

/// Ours with `args` and the environment variables `vars`.
fn ours(env: &NetworkdEnv, vars: &[(&str, &str)], args: &[&str]) -> RunResult {
    let mut cmd = env.run(wait_online_bin(), args);
    cmd.envs(vars.iter().copied());
    common::run_wait_online(cmd, Duration::from_secs(40))
}

fn json(r: &RunResult) -> Value {
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("--json: {e}\n{}", r.describe()))
}

fn pitfall_kinds(report: &Value) -> Vec<&str> {
    report["pitfalls"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["kind"].as_str())
        .collect()
}

fn assert_says(r: &RunResult, text: &str) {
    assert!(r.stderr.contains(text), "no {text:?}:\n{}", r.describe());
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn a_lease_without_dns_times_out_naming_it() {
    let _root = common::require_root();
    let (env, _peer, _server) = setup(Upstream::V252, false);
    // What the reason's "where from" is read from: a lease, and no DNS= in the state file.
    assert!(
        env.link_state_value("wo0", "DHCP_LEASE").is_some()
            && env
                .link_state_value("wo0", "DNS")
                .is_none_or(|v| v.is_empty()),
        "{:?}",
        env.link_state("wo0")
    );
    let r = ours(&env, &[], &netplans_line("--timeout=2"));
    env.assert_code(&r, 1);
    assert_says(
        &r,
        "Timeout occurred while waiting for network connectivity.",
    );
    assert_says(&r, NO_SERVER);
    assert_says(&r, FIX);
    let report = json(&r);
    assert_eq!(report["verdict"], "timeout");
    assert_eq!(report["reasons"][0], NO_SERVER);
    assert!(
        pitfall_kinds(&report).contains(&"no-dns-server"),
        "{report:#}"
    );
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn dns_grace_from_the_environment_gives_up_early() {
    let _root = common::require_root();
    let (env, _peer, _server) = setup(Upstream::V252, false);
    let grace = [("WAIT_ONLINE_DNS_GRACE", "2s")];
    let r = ours(&env, &grace, &netplans_line("--timeout=30"));
    env.assert_code(&r, 1);
    assert_says(&r, GAVE_UP);
    assert_says(&r, "nothing else has been missing for 2.0s (--dns-grace).");
    assert_says(&r, NO_SERVER);
    assert_says(&r, FIX);
    assert_eq!(json(&r)["verdict"], "no-dns-server");
    // wo0 is routable at once: the grace is all it waits.
    assert!(
        r.elapsed >= Duration::from_secs(2) && r.elapsed < Duration::from_secs(6),
        "{}",
        r.describe()
    );
    eprintln!(
        "timing: WAIT_ONLINE_DNS_GRACE=2s ended the wait after {:?} instead of 30 s",
        r.elapsed
    );
    // The option wins over the variable; Netplan's first line (no --dns) ignores it.
    let r = ours(
        &env,
        &[("WAIT_ONLINE_DNS_GRACE", "20s")],
        &[&netplans_line("--timeout=30")[..], &["--dns-grace=1s"]].concat(),
    );
    env.assert_code(&r, 1);
    assert_says(&r, "missing for 1.0s (--dns-grace).");
    let r = ours(&env, &grace, &["-i", "wo0:degraded", "--timeout=10"]);
    env.assert_code(&r, 0);
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn a_server_configured_during_the_grace_ends_the_wait_online() {
    let _root = common::require_root();
    let (env, _peer, _server) = setup(Upstream::V252, false);
    let mut cmd = env.run(wait_online_bin(), &netplans_line("--timeout=30"));
    cmd.env("WAIT_ONLINE_DNS_GRACE", "6s");
    let waiting = common::run_wait_online_bg(cmd, Duration::from_secs(40));
    sleep(Duration::from_secs(1));
    env.write_network(
        "10-wo0.network",
        &common::network("wo0", "DHCP=ipv4\nDNS=10.77.0.1\n"),
    );
    let configured = Instant::now();
    env.networkctl(&["reload"]);
    let r = waiting.join().unwrap();
    env.assert_code(&r, 0);
    assert_eq!(json(&r)["verdict"], "online");
    assert!(r.finished >= configured, "{}", r.describe());
    eprintln!(
        "timing: online {:?} after the server was configured",
        r.finished - configured
    );
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn a_lease_with_dns_is_online_with_the_grace_too() {
    let _root = common::require_root();
    let (env, _peer, _server) = setup(Upstream::V252, true);
    let r = ours(
        &env,
        &[("WAIT_ONLINE_DNS_GRACE", "1s")],
        &netplans_line("--timeout=20"),
    );
    env.assert_code(&r, 0);
    assert_eq!(json(&r)["verdict"], "online");
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn upstream_262_waits_until_its_timeout() {
    let _root = common::require_root();
    let (env, _peer, _server) = setup(Upstream::V262, false);
    let line = [&NETPLANS_LINE[..], &["--timeout=5"]].concat();
    // Both wait until the timeout; ours says why.
    let (upstream, ours) = same_verdict(&env, start_both_env(&env, &[], &line), 1);
    assert!(
        upstream.elapsed >= Duration::from_secs(5),
        "{}",
        upstream.describe()
    );
    assert_says(&ours, NO_SERVER_262);
    // Without --explain or --json too, the fix follows the reasons.
    assert_says(
        &ours,
        "waiting will not configure one; systemd-networkd configured none for it: give one in \
         its .network file (DNS=)",
    );
    eprintln!("upstream 262 at its timeout says:\n{}", upstream.stderr);
    // With the grace (upstream has no such thing and ignores the variable), ours gives up
    // early and upstream still waits to its timeout.
    let grace = [("WAIT_ONLINE_DNS_GRACE", "1s")];
    let (upstream, ours) = same_verdict(&env, start_both_env(&env, &grace, &line), 1);
    assert!(
        upstream.elapsed >= Duration::from_secs(5),
        "{}",
        upstream.describe()
    );
    assert!(ours.elapsed < Duration::from_secs(4), "{}", ours.describe());
    assert_says(&ours, GAVE_UP);
    eprintln!(
        "timing: upstream 262 {:?}, ours with WAIT_ONLINE_DNS_GRACE=1s {:?}",
        upstream.elapsed, ours.elapsed
    );
}

/// The field failure at full length: Netplan's line without `--timeout`, so upstream's default
/// 120 s. Measured once (2 cores, load 1-2): upstream 262 exited 1 after 120.2 s, ours after
/// 120.0 s naming the missing server; scripts/test-boot.sh's `no-dns` is the whole boot.
#[test]
#[ignore = "waits upstream's whole default timeout (120 s): run by hand with --ignored"]
fn upstream_262_waits_its_whole_default_timeout() {
    let _root = common::require_root();
    let (env, _peer, _server) = setup(Upstream::V262, false);
    let limit = Duration::from_secs(200);
    let upstream = common::run_wait_online_bg(env.run(UPSTREAM_WAIT_ONLINE, &NETPLANS_LINE), limit);
    let ours = common::run_wait_online_bg(env.run(wait_online_bin(), &NETPLANS_LINE), limit);
    let (upstream, ours) = (upstream.join().unwrap(), ours.join().unwrap());
    for r in [&upstream, &ours] {
        env.assert_code(r, 1);
        assert!(r.elapsed >= Duration::from_secs(120), "{}", r.describe());
    }
    assert_says(&ours, NO_SERVER_262);
    eprintln!(
        "timing: Netplan's line without --timeout: upstream 262 {:?}, ours {:?}",
        upstream.elapsed, ours.elapsed
    );
}
