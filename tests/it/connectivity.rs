//! `--http-probe` and `--require-connectivity` end to end (issue 20 items 1, 2):
//!
//! - the probe against a tiny HTTP server in the peer namespace (`common::http`) that answers
//!   204, the expected text, a captive portal's redirect, or nothing;
//! - the real NetworkManager 1.42 with its `[connectivity]` check pointed at that server:
//!   PORTAL, LIMITED, and FULL arriving mid-wait; and with its check off, where its
//!   `Connectivity` is a guess and the probe decides (forged `Connectivity` signals are in
//!   `bus_trust.rs`);
//! - systemd-networkd 257 (252 does not write `CAPTIVE_PORTAL=`: it came with systemd 254)
//!   learning a captive portal from dnsmasq's DHCP option 114.
//!
//! ```text
//! netns: wo0 10.77.0.2/24  <-- veth -->  peer: wo0p 10.77.0.1/24, HTTP server :80
//! ```

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::http::{Answer, HttpServer};
use crate::common::networkmanager::{DEVICE_STATE_ACTIVATED, NM_PATH, NmEnv};
use crate::common::{self, DnsServer, Netns, NetworkdEnv, Upstream, wait_until};

const URL: &str = "http://10.77.0.1/check";
/// wo0 with a static address and the peer as gateway: NetworkManager checks connectivity on
/// a device with a default route.
const PROFILE: &str = "[connection]\nid=wo0\ntype=ethernet\ninterface-name=wo0\n\
     [ipv4]\nmethod=manual\naddress1=10.77.0.2/24,10.77.0.1\n[ipv6]\nmethod=ignore\n";

/// A namespace whose wo0 is routable (10.77.0.2/24) next to the peer (10.77.0.1/24), whose
/// HTTP server answers `answer` on port 80.
fn serving(answer: Answer) -> (Netns, Netns, HttpServer) {
    let ns = Netns::new();
    let peer = ns.add_peer();
    ns.add_addr("wo0", "10.77.0.2/24");
    ns.link_up("wo0");
    let server = HttpServer::start(&peer, "10.77.0.1:80", answer);
    (ns, peer, server)
}

/// The reasons printed at the timeout (not a debug log's earlier `waiting:` lines).
fn reasons(r: &common::RunResult) -> &str {
    r.stderr
        .rsplit_once("Timeout occurred")
        .map_or("", |(_, reasons)| reasons)
}

/// The conditions of a `--json` document.
fn conditions(stdout: &str) -> Vec<Value> {
    let document: Value = serde_json::from_str(stdout).expect("one JSON document");
    document["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn the_probe_holds_on_204_and_on_the_expected_text() {
    let _root = common::require_root();
    let (ns, _peer, server) = serving(Answer::NoContent);
    let probe = format!("--http-probe={URL}");
    let r = ns.wait_online(&["-i", "wo0", &probe, "--timeout=10", "--json"]);
    assert_eq!(r.code, Some(0), "{}", r.describe());
    assert_eq!(
        conditions(&r.stdout),
        [serde_json::json!({
            "kind": "http-probe",
            "met": true,
            "reason": format!("HTTP probe {URL} succeeded"),
        })]
    );
    server.set(Answer::Text("NetworkManager is online\n".into()));
    let r = ns.wait_online(&[
        "-i",
        "wo0",
        &probe,
        "--http-probe-expect=NetworkManager is online",
        "--timeout=10",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.describe());
    assert!(server.requests() >= 2);
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn a_redirect_or_another_body_is_named_a_captive_portal() {
    let _root = common::require_root();
    let (ns, _peer, server) = serving(Answer::Redirect("http://10.77.0.1/portal/login".into()));
    let probe = format!("--http-probe={URL}");
    let t0 = Instant::now();
    let r = ns.wait_online(&["-i", "wo0", &probe, "--timeout=3"]);
    assert_eq!(r.code, Some(1), "{}", r.describe());
    assert!(
        reasons(&r).contains(&format!(
            "HTTP probe {URL} failed: redirected (302 to http://10.77.0.1/portal/login): \
             a captive portal or a filtering proxy"
        )),
        "{}",
        r.describe()
    );
    // Backed off: 0.5 s, 1 s, 2 s... about 3 attempts in 3 s, never a storm.
    let attempts = server.requests();
    assert!(
        (2..=6).contains(&attempts),
        "{attempts} attempts in {:?}",
        t0.elapsed()
    );
    server.set(Answer::Text("<html>Log in first</html>".into()));
    let r = ns.wait_online(&["-i", "wo0", &probe, "--http-probe-expect=OK", "--timeout=2"]);
    assert_eq!(r.code, Some(1), "{}", r.describe());
    assert!(
        reasons(&r).contains(
            "the answer does not start with the expected text (it starts with \
             \"<html>Log in first</html>\"): a captive portal or a filtering proxy"
        ),
        "{}",
        r.describe()
    );
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn a_server_that_does_not_answer_fails_the_attempt_in_time() {
    let _root = common::require_root();
    let (ns, _peer, _server) = serving(Answer::Silence);
    let probe = format!("--http-probe={URL}");
    let r = ns.wait_online(&["-i", "wo0", &probe, "--timeout=8"]);
    assert_eq!(r.code, Some(1), "{}", r.describe());
    assert!(
        reasons(&r).contains(&format!("HTTP probe {URL} failed: no answer in time")),
        "{}",
        r.describe()
    );
    // No answer at all before the first attempt ends: "not answered yet".
    let r = ns.wait_online(&["-i", "wo0", &probe, "--timeout=1"]);
    assert_eq!(r.code, Some(1), "{}", r.describe());
    assert!(
        reasons(&r).contains(&format!("HTTP probe {URL} has not answered yet")),
        "{}",
        r.describe()
    );
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn the_probe_waits_for_an_online_link_and_follows_a_change_mid_wait() {
    let _root = common::require_root();
    let ns = Netns::new();
    let peer = ns.add_peer();
    ns.link_up("wo0");
    let server = HttpServer::start(
        &peer,
        "10.77.0.1:80",
        Answer::Redirect("http://10.77.0.1/portal".into()),
    );
    let probe = format!("--http-probe={URL}");
    let waiter = ns.wait_online_bg(&["-i", "wo0:carrier", &probe, "--timeout=15"]);
    // No link online: nothing is asked.
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(server.requests(), 0, "probed with no link online");
    ns.add_addr("wo0", "10.77.0.2/24");
    assert!(
        wait_until(Duration::from_secs(5), Duration::from_millis(20), || {
            server.requests() >= 1
        }),
        "the probe did not start once wo0 was routable"
    );
    let t0 = Instant::now();
    server.set(Answer::NoContent);
    let r = waiter.join().unwrap();
    assert_eq!(r.code, Some(0), "{}", r.describe());
    // The next attempt after a backoff of at most 8 s.
    assert!(t0.elapsed() < Duration::from_secs(9), "{:?}", t0.elapsed());
}

#[test]
fn https_and_a_missing_source_are_usage_errors_naming_the_fix() {
    let (out, _) = common::run_bin(&["--http-probe=https://example.com/", "-i", "lo"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("use an http:// URL"), "{stderr}");
    let (out, _) = common::run_bin(&["--require-connectivity", "--manager=none", "-i", "lo"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("add --http-probe=URL"), "{stderr}");
}

/// NetworkManager's `Connectivity` (0 unknown … 4 full).
fn nm_connectivity(env: &NmEnv) -> Option<u64> {
    env.property(NM_PATH, "org.freedesktop.NetworkManager", "Connectivity")?
        .as_u64()
}

fn wait_for_connectivity(env: &NmEnv, value: u64) {
    let mut last = None;
    let reached = wait_until(Duration::from_secs(30), Duration::from_millis(100), || {
        last = nm_connectivity(env);
        last == Some(value)
    });
    assert!(
        reached,
        "NetworkManager's Connectivity stayed {last:?}, not {value}\n{}",
        env.logs_tail(40)
    );
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn networkmanagers_portal_limited_and_full_mid_wait() {
    let _root = common::require_root();
    let mut env = NmEnv::new();
    let peer = env.netns().add_peer();
    let server = HttpServer::start(
        &peer,
        "10.77.0.1:80",
        Answer::Redirect("http://10.77.0.1/portal".into()),
    );
    env.write_config(
        "60-connectivity",
        &format!("[connectivity]\nenabled=true\nuri={URL}\nresponse=OK\ninterval=2\n"),
    );
    env.write_profile("wo0", PROFILE);
    env.start_networkmanager();
    env.wait_for_device_state("wo0", DEVICE_STATE_ACTIVATED, Duration::from_secs(15));
    let wait = |args: &[&str]| {
        let mut all = vec![
            "--manager=networkmanager",
            "-i",
            "wo0",
            "--require-connectivity",
        ];
        all.extend_from_slice(args);
        env.output(common::wait_online_bin(), &all)
    };
    // PORTAL: the check was redirected.
    wait_for_connectivity(&env, 2);
    let r = wait(&["--timeout=2"]);
    assert_eq!(r.code, Some(1), "{}", r.describe());
    assert!(
        reasons(&r).contains("no Internet: NetworkManager reports a captive portal"),
        "{}",
        r.describe()
    );
    // LIMITED: its server went away.
    drop(server);
    wait_for_connectivity(&env, 3);
    let r = wait(&["--timeout=2", "--json"]);
    assert_eq!(r.code, Some(1), "{}", r.describe());
    let condition = &conditions(&r.stdout)[0];
    assert_eq!(condition["kind"], "connectivity");
    assert_eq!(condition["met"], false);
    assert!(
        condition["reason"]
            .as_str()
            .unwrap()
            .contains("NetworkManager reports limited connectivity"),
        "{condition}"
    );
    // FULL mid-wait: the server answers as expected again.
    let mut cmd = env.run(
        common::wait_online_bin(),
        &[
            "--manager=networkmanager",
            "-i",
            "wo0",
            "--require-connectivity",
            "--timeout=25",
        ],
    );
    cmd.env("SYSTEMD_LOG_LEVEL", "debug");
    let waiter = common::run_wait_online_bg(cmd, Duration::from_secs(40));
    std::thread::sleep(Duration::from_millis(500));
    let t0 = Instant::now();
    let _server = HttpServer::start(&peer, "10.77.0.1:80", Answer::Text("OK".into()));
    let r = waiter.join().unwrap();
    assert_eq!(r.code, Some(0), "{}\n{}", r.describe(), env.logs_tail(40));
    assert_eq!(nm_connectivity(&env), Some(4));
    eprintln!(
        "FULL reached wait-online {:?} after the server answered",
        t0.elapsed()
    );
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn networkd_names_the_captive_portal_dhcp_sent() {
    let _root = common::require_root();
    let mut env = NetworkdEnv::for_upstream(Upstream::V257);
    let peer = env.netns().add_peer();
    let portal = "http://10.77.0.1/portal";
    let _dhcp = DnsServer::start_with(
        &peer,
        "10.77.0.1",
        &[],
        &[
            "--dhcp-range=10.77.0.50,10.77.0.60,255.255.255.0,1h",
            "--leasefile-ro",
            "--no-ping",
            &format!("--dhcp-option-force=114,{portal}"),
        ],
    );
    env.write_network(
        "10-wo0.network",
        "[Match]\nName=wo0\n[Network]\nDHCP=ipv4\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n",
    );
    env.start_networkd();
    let learnt = wait_until(Duration::from_secs(30), Duration::from_millis(100), || {
        env.link_state_value("wo0", "CAPTIVE_PORTAL").is_some()
    });
    let ifindex = env.netns().ifindex("wo0");
    let lease =
        std::fs::read_to_string(env.holder_path(&format!("/run/systemd/netif/leases/{ifindex}")))
            .unwrap_or_default();
    let state =
        std::fs::read_to_string(env.holder_path(&format!("/run/systemd/netif/links/{ifindex}")))
            .unwrap_or_default();
    assert!(
        learnt,
        "networkd wrote no CAPTIVE_PORTAL=\nlease:\n{lease}\nstate:\n{state}\n{}",
        env.logs_tail(5)
    );
    assert_eq!(
        env.link_state_value("wo0", "CAPTIVE_PORTAL").as_deref(),
        Some(portal)
    );
    // Nothing answers the probe: the portal is the reason, named with its link and URL.
    let probe = "--http-probe=http://10.77.0.1:8080/check";
    let r = env.wait_online(&["-i", "wo0", "--require-connectivity", probe, "--timeout=3"]);
    env.assert_code(&r, 1);
    assert!(
        reasons(&r).contains(&format!(
            "no Internet: captive portal on wo0: {portal} (learnt by systemd-networkd)"
        )),
        "{}",
        r.describe()
    );
    // Past the portal, the probe gets through: online.
    let _server = HttpServer::start(&peer, "10.77.0.1:8080", Answer::NoContent);
    let r = env.wait_online(&["-i", "wo0", "--require-connectivity", probe, "--timeout=10"]);
    env.assert_code(&r, 0);
    // networkd alone never says the Internet works: without a probe, a usage error.
    let r = env.wait_online(&["-i", "wo0", "--require-connectivity", "--timeout=3"]);
    env.assert_code(&r, 1);
    assert!(
        r.stderr.contains("add --http-probe=URL"),
        "{}",
        r.describe()
    );
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn with_networkmanagers_check_off_the_probe_decides() {
    let _root = common::require_root();
    let mut env = NmEnv::new();
    let peer = env.netns().add_peer();
    let _server = HttpServer::start(&peer, "10.77.0.1:80", Answer::NoContent);
    // The harness's configuration has `[connectivity] enabled=false`.
    env.write_profile("wo0", PROFILE);
    env.start_networkmanager();
    env.wait_for_device_state("wo0", DEVICE_STATE_ACTIVATED, Duration::from_secs(15));
    let manager = [
        "--manager=networkmanager",
        "-i",
        "wo0",
        "--require-connectivity",
    ];
    // Its guess (full: there is a default route) is not its judgement.
    wait_for_connectivity(&env, 4);
    let mut args = manager.to_vec();
    args.push("--timeout=2");
    let r = env.output(common::wait_online_bin(), &args);
    assert_eq!(r.code, Some(1), "{}", r.describe());
    assert!(
        reasons(&r).contains("no Internet: NetworkManager does not check connectivity"),
        "{}",
        r.describe()
    );
    let probe = format!("--http-probe={URL}");
    let mut args = manager.to_vec();
    args.extend([probe.as_str(), "--timeout=10", "--json"]);
    let r = env.output(common::wait_online_bin(), &args);
    assert_eq!(r.code, Some(0), "{}", r.describe());
    assert_eq!(
        conditions(&r.stdout),
        [serde_json::json!({
            "kind": "connectivity",
            "met": true,
            "reason": format!("the Internet works (HTTP probe {URL} succeeded)"),
        })]
    );
}

/// Context switches of every thread of `pid` so far.
fn context_switches(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .flatten()
        .map(|task| std::fs::read_to_string(task.path().join("status")).unwrap_or_default())
        .flat_map(|status| {
            status
                .lines()
                .filter(|l| l.contains("ctxt_switches"))
                .filter_map(|l| l.split_whitespace().last()?.parse::<u64>().ok())
                .collect::<Vec<_>>()
        })
        .sum()
}

/// Context switches of `wait-online --manager=none ARGS` between 1.5 s and 4.5 s of a wait
/// that an absent link holds.
fn idle_wakeups(ns: &Netns, args: &[&str]) -> u64 {
    let mut all = vec!["--manager=none", "-i", "absent0", "--timeout=30"];
    all.extend_from_slice(args);
    let mut child = ns.spawn(common::wait_online_bin(), &all);
    std::thread::sleep(Duration::from_millis(1500));
    let before = context_switches(child.id());
    std::thread::sleep(Duration::from_secs(3));
    let after = context_switches(child.id());
    let _ = child.kill();
    let _ = child.wait();
    after - before
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn a_probe_that_succeeded_costs_no_wakeups_while_the_wait_goes_on() {
    let _root = common::require_root();
    let (ns, _peer, server) = serving(Answer::NoContent);
    let probe = format!("--http-probe={URL}");
    let without = idle_wakeups(&ns, &[]);
    let with = idle_wakeups(&ns, &["-i", "wo0", &probe]);
    eprintln!("context switches in 3 s idle: {without} without the probe, {with} with it");
    assert_eq!(server.requests(), 1, "asked again after it succeeded");
    assert!(with <= without + 2, "{with} against {without}");
}
