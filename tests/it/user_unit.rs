//! The user manager's `wait-online.service` (units/user/): its command line run as an
//! unprivileged uid (65534, no capability, no new privileges: `setpriv`, as a user manager runs
//! its services) against real daemons, giving the verdicts root gives on the same scenario,
//! event-driven, and at once when the network is already online.
//!
//! ```text
//! NetworkdEnv / NmEnv (holder: private bus, networkd + resolved, or NetworkManager)   peer netns
//!   wo0  <----------------------------- veth ------------------------------------>  wo0p 10.77.0.1 (dnsmasq)
//!   wo1  <----------------------------- veth ------------------------------------>  wo1p (down: no carrier)
//! ```
//!
//! The unit itself (verify, its sandbox) is checked in `units.rs`.

use std::time::Duration;

use serde_json::Value;

use crate::common::networkmanager::{DEVICE_STATE_ACTIVATED, NmEnv, static_profile};
use crate::common::{
    self, DnsServer, Netns, NetworkdEnv, RunResult, run_wait_online, run_wait_online_bg,
    setpriv_args,
};
use crate::units::unprivileged_copy;

const LIMIT: Duration = Duration::from_secs(60);
/// "At once": an online network is decided at the first look (a few ms; see the report of
/// each run). A liveness bound, many times that on a loaded 2-core machine.
const AT_ONCE: Duration = Duration::from_secs(5);

/// The report without `elapsed_ms`, the one field two runs never share.
fn verdict(r: &RunResult) -> Value {
    let mut json: Value =
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("--json: {e}\n{}", r.describe()));
    json.as_object_mut()
        .expect("a JSON object")
        .remove("elapsed_ms");
    json
}

fn elapsed_ms(r: &RunResult) -> u64 {
    let json: Value = serde_json::from_str(&r.stdout).expect("--json");
    json["elapsed_ms"].as_u64().expect("elapsed_ms")
}

/// `args` run as root and as uid 65534 (through `run`, which enters the test's namespaces):
/// the same exit status and the same report. Returns the unprivileged run.
fn same_as_root(run: &dyn Fn(&str, &[&str]) -> RunResult, bin: &str, args: &[&str]) -> RunResult {
    let as_root = run(bin, args);
    let as_user = run("setpriv", &setpriv_args(bin, args));
    assert_eq!(
        as_user.code,
        as_root.code,
        "{args:?}: exit status as uid 65534 differs from root's\nroot: {}\nuser: {}",
        as_root.describe(),
        as_user.describe()
    );
    assert_eq!(
        verdict(&as_user),
        verdict(&as_root),
        "{args:?}: the report as uid 65534 differs from root's\nroot: {}\nuser: {}",
        as_root.describe(),
        as_user.describe()
    );
    eprintln!(
        "{args:?}: exit {:?}, root {} ms, uid 65534 {} ms",
        as_user.code,
        elapsed_ms(&as_root),
        elapsed_ms(&as_user)
    );
    as_user
}

/// networkd (DHCP on wo0 from dnsmasq, which also answers DNS) and resolved; wo1 managed by
/// networkd too when `wo1`, its peer down (no carrier). Returns once wo0 is configured.
fn networkd_and_resolved(wo1: bool) -> (NetworkdEnv, Netns, DnsServer) {
    let mut env = NetworkdEnv::with_resolved();
    let peer = env.netns().add_peer();
    let server = DnsServer::start_with(
        &peer,
        "10.77.0.1",
        &[("probe.wait-online.test", "10.77.0.9")],
        &[
            "--dhcp-range=10.77.0.50,10.77.0.60,255.255.255.0,1h",
            "--leasefile-ro",
            "--no-ping",
        ],
    );
    env.write_network("10-wo0.network", &common::network("wo0", "DHCP=ipv4\n"));
    if wo1 {
        env.netns().add_veth("wo1", Some(&peer), "wo1p");
        env.write_network(
            "10-wo1.network",
            &common::network("wo1", "Address=10.78.0.2/24\n"),
        );
    }
    env.start_resolved();
    env.start_networkd();
    env.wait_for_setup_state("wo0", "configured", Duration::from_secs(20));
    (env, peer, server)
}

/// The unit's command line (no option: every managed link configured, one online), with
/// `--dns` and with `--dns-probe`, as uid 65534: networkd's world-readable state files,
/// resolved's D-Bus properties and DNS queries give root's verdicts, at once.
#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn unprivileged_verdicts_equal_roots_with_networkd_and_resolved() {
    let _root = common::require_root();
    let (_dir, bin) = unprivileged_copy();
    let (env, _peer, _server) = networkd_and_resolved(false);
    let run = |cmd: &str, args: &[&str]| run_wait_online(env.run(cmd, args), LIMIT);
    // --probe-gateway as the user first, before anything made the gateway's neighbour entry:
    // its UDP socket bound to the link (SO_BINDTOIFINDEX, unprivileged since Linux 5.7)
    env.netns().ip(&["neigh", "flush", "dev", "wo0"]);
    let probe = ["--require-gateway", "--probe-gateway", "--timeout=20"];
    let mut cmd = env.run("setpriv", &setpriv_args(&bin, &probe));
    cmd.env("SYSTEMD_LOG_LEVEL", "debug");
    let r = run_wait_online(cmd, LIMIT);
    env.assert_code(&r, 0);
    assert!(
        r.stderr.contains("probed gateway") && !r.stderr.contains("could not probe"),
        "the probe needs a privilege:\n{}",
        r.describe()
    );
    for args in [
        &["--json", "--timeout=20"][..],
        &[
            "--require-gateway",
            "--probe-gateway",
            "--json",
            "--timeout=20",
        ],
        &["--dns", "--json", "--timeout=20"],
        &[
            "--dns",
            "--dns-probe=probe.wait-online.test",
            "--json",
            "--timeout=20",
        ],
    ] {
        let r = same_as_root(&run, &bin, args);
        env.assert_code(&r, 0);
        let report = verdict(&r);
        // --manager=auto found networkd's state files, readable by anyone
        assert_eq!(report["manager"], "networkd", "{report:#}");
        assert!(
            report["interfaces"]
                .as_array()
                .is_some_and(|i| i.iter().any(|i| i["name"] == "wo0")),
            "{report:#}"
        );
        assert!(r.elapsed < AT_ONCE, "{}", r.describe());
    }
}

/// A managed link without carrier: root and uid 65534 both time out with the same reasons.
#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn unprivileged_timeout_equals_roots_with_networkd() {
    let _root = common::require_root();
    let (_dir, bin) = unprivileged_copy();
    let (env, _peer, _server) = networkd_and_resolved(true);
    let run = |cmd: &str, args: &[&str]| run_wait_online(env.run(cmd, args), LIMIT);
    let r = same_as_root(&run, &bin, &["--json", "--timeout=2"]);
    env.assert_code(&r, 1);
    let report = verdict(&r);
    assert_eq!(report["verdict"], "timeout", "{report:#}");
    assert!(
        report["reasons"].as_array().is_some_and(|r| r
            .iter()
            .any(|r| r.as_str().is_some_and(|r| r.contains("wo1")))),
        "{report:#}"
    );
    // ... and --any, which one online link satisfies
    let r = same_as_root(&run, &bin, &["--any", "--json", "--timeout=10"]);
    env.assert_code(&r, 0);
}

/// Event-driven as uid 65534: started with the unit's command line while wo0 has no carrier,
/// it exits once the peer comes up and networkd has configured wo0 (DHCP), not at its timeout.
#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn unprivileged_waits_for_networkd_event_driven() {
    let _root = common::require_root();
    let (_dir, bin) = unprivileged_copy();
    let mut env = NetworkdEnv::new();
    let peer = Netns::new();
    env.netns().add_veth("wo0", Some(&peer), "wo0p");
    peer.add_addr("wo0p", "10.77.0.1/24");
    env.write_network(
        "10-wo0.network",
        &common::network("wo0", "Address=10.77.0.2/24\n"),
    );
    env.start_networkd();
    let waiting = run_wait_online_bg(
        env.run("setpriv", &setpriv_args(&bin, &["--timeout=40"])),
        LIMIT,
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert!(!waiting.is_finished(), "exited before wo0 had a carrier");
    let t0 = std::time::Instant::now();
    peer.link_up("wo0p");
    let r = waiting.join().expect("join");
    assert_eq!(r.code, Some(0), "{}\n{}", r.describe(), env.logs_tail(30));
    let after = r.finished.saturating_duration_since(t0);
    eprintln!("uid 65534: exited {after:?} after the peer came up");
    assert!(after < Duration::from_secs(20), "{}", r.describe());
}

/// NetworkManager's D-Bus properties, read as uid 65534 (its bus policy lets anyone read
/// them): root's verdicts, online and timing out.
#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn unprivileged_verdicts_equal_roots_with_networkmanager() {
    let _root = common::require_root();
    let (_dir, bin) = unprivileged_copy();
    let mut env = NmEnv::new();
    let peer = Netns::new();
    env.netns().add_veth("wo0", Some(&peer), "wo0p");
    peer.add_addr("wo0p", "10.77.0.1/24");
    peer.link_up("wo0p");
    env.write_profile("wo0", &static_profile("wo0", "10.77.0.2/24"));
    env.start_networkmanager();
    env.wait_for_device_state("wo0", DEVICE_STATE_ACTIVATED, Duration::from_secs(10));
    let run = |cmd: &str, args: &[&str]| run_wait_online(env.run(cmd, args), LIMIT);
    for args in [
        &["--json", "--timeout=20"][..],
        &["--manager=networkmanager", "--json", "--timeout=20"],
    ] {
        let r = same_as_root(&run, &bin, args);
        assert_eq!(r.code, Some(0), "{}\n{}", r.describe(), env.logs_tail(30));
        assert!(r.elapsed < AT_ONCE, "{}", r.describe());
        let report = verdict(&r);
        assert!(
            report["interfaces"].as_array().is_some_and(|i| i
                .iter()
                .any(|i| i["name"] == "wo0" && i["manager"] == "networkmanager")),
            "{report:#}"
        );
    }
    // wo1 without carrier, named: NetworkManager does not activate it, both time out alike
    env.netns().add_veth("wo1", Some(&peer), "wo1p");
    env.write_profile("wo1", &static_profile("wo1", "10.78.0.2/24"));
    env.reload_connections();
    let r = same_as_root(
        &run,
        &bin,
        &[
            "--manager=networkmanager",
            "-i",
            "wo1",
            "--json",
            "--timeout=3",
        ],
    );
    assert_eq!(r.code, Some(1), "{}\n{}", r.describe(), env.logs_tail(30));
    assert_eq!(verdict(&r)["verdict"], "timeout");
}
