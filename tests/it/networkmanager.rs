//! wait-online against the real NetworkManager 1.42.4 (unpacked by `tests/setup-deps.sh`, run
//! by `NmEnv` in namespaces of the test's own), with dnsmasq in a peer namespace as DHCP and
//! DNS server, and NetworkManager's own `nm-online -s` run beside it on the same scenario:
//! each test states how the two verdicts relate.
//!
//! ```text
//! NmEnv (holder: private bus, NetworkManager)            peer netns
//!   wo0  <------------------- veth ------------------->  wo0p 10.77.0.1/24 (dnsmasq)
//!   wo1  <------------------- veth ------------------->  wo1p
//! ```

use std::time::{Duration, Instant};

use crate::common::forge::{Forged, RunIn, emit_as_nobody, wait_for_connections};
use crate::common::networkmanager::{
    DEVICE_IFACE, DEVICE_STATE_ACTIVATED, DEVICE_STATE_IP_CONFIG, DEVICE_STATE_UNAVAILABLE,
    DEVICE_STATE_UNMANAGED, NM_BUS_NAME, NM_PATH, NmEnv, dhcp_profile, dhcp_server, nm_online_bin,
    static_profile,
};
use crate::common::{
    Netns, RunResult, require_root, run_wait_online, run_wait_online_bg, wait_until,
};

const PEER_IP: &str = "10.77.0.1";
const DHCP_RANGE: (&str, &str) = ("10.77.0.50", "10.77.0.150");
const ACTIVATE: Duration = Duration::from_secs(10);

/// The env with wo0 (peer wo0p 10.77.0.1/24, up) and, when `second`, wo1 (peer wo1p up when
/// `second_carrier`); NetworkManager not started.
fn topology(second: Option<bool>) -> (NmEnv, Netns) {
    let env = NmEnv::new();
    let peer = Netns::new();
    env.netns().add_veth("wo0", Some(&peer), "wo0p");
    peer.add_addr("wo0p", "10.77.0.1/24");
    peer.link_up("wo0p");
    if let Some(carrier) = second {
        env.netns().add_veth("wo1", Some(&peer), "wo1p");
        if carrier {
            peer.link_up("wo1p");
        }
    }
    (env, peer)
}

fn wait_online(env: &NmEnv, args: &[&str], limit: Duration) -> RunResult {
    run_wait_online(env.run(crate::common::wait_online_bin(), args), limit)
}

fn wait_online_bg(
    env: &NmEnv,
    args: &[&str],
    limit: Duration,
) -> std::thread::JoinHandle<RunResult> {
    run_wait_online_bg(env.run(crate::common::wait_online_bin(), args), limit)
}

fn nm_online(env: &NmEnv, timeout_s: &str) -> RunResult {
    run_wait_online(
        env.run(&nm_online_bin(), &["-s", "-q", "-t", timeout_s]),
        Duration::from_secs(60),
    )
}

fn assert_code(r: &RunResult, code: i32, env: &NmEnv, what: &str) {
    assert_eq!(
        r.code,
        Some(code),
        "{what}: {}\n{}",
        r.describe(),
        env.logs_tail(40)
    );
}

/// Asserts that the waiter `handle` is still running `for_at_least` from now.
fn assert_still_waiting(handle: &std::thread::JoinHandle<RunResult>, for_at_least: Duration) {
    std::thread::sleep(for_at_least);
    assert!(!handle.is_finished(), "wait-online exited early");
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn static_profile_activated_after_the_waiter_started() {
    let _root = require_root();
    let (mut env, _peer) = topology(None);
    env.start_networkmanager();
    env.wait_for_startup_complete(ACTIVATE);
    // No profile: NetworkManager's startup is complete, so nm-online -s says online although
    // nothing is configured; wait-online waits for a configured link.
    assert_code(
        &nm_online(&env, "1"),
        0,
        &env,
        "nm-online -s with nothing configured",
    );
    let named = wait_online_bg(
        &env,
        &[
            "--manager=networkmanager",
            "-i",
            "wo0:routable",
            "--timeout=20",
        ],
        Duration::from_secs(40),
    );
    let all = wait_online_bg(
        &env,
        &["--manager=networkmanager", "--timeout=20"],
        Duration::from_secs(40),
    );
    assert_still_waiting(&named, Duration::from_millis(1500));
    assert!(
        !all.is_finished(),
        "mode B exited before any link was online"
    );
    env.write_profile("wo0", &static_profile("wo0", "10.77.0.2/24"));
    let t0 = Instant::now();
    env.reload_connections();
    env.wait_for_device_state("wo0", DEVICE_STATE_ACTIVATED, ACTIVATE);
    let activated = t0.elapsed();
    let named = named.join().unwrap();
    let all = all.join().unwrap();
    assert_code(&named, 0, &env, "-i wo0:routable");
    assert_code(&all, 0, &env, "mode B");
    eprintln!("timing: profile reloaded, activated after {activated:?}; waiters exited");
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn dhcp_pending_then_a_lease_both_tools_wait() {
    let _root = require_root();
    let (mut env, peer) = topology(None);
    env.write_profile("wo0", &dhcp_profile("wo0", &[]));
    env.start_networkmanager();
    env.wait_for_device_state("wo0", DEVICE_STATE_IP_CONFIG, ACTIVATE);
    let named = wait_online_bg(
        &env,
        &[
            "--manager=networkmanager",
            "-i",
            "wo0:routable",
            "--timeout=40",
        ],
        Duration::from_secs(60),
    );
    let all = wait_online_bg(&env, &["--timeout=40"], Duration::from_secs(60));
    // Same verdict while the lease is pending: NetworkManager's startup is not complete.
    assert_code(
        &nm_online(&env, "1"),
        1,
        &env,
        "nm-online -s while DHCP is pending",
    );
    assert!(!named.is_finished() && !all.is_finished());
    // A local user's forged "activated" and "startup complete" change nothing.
    let device = env.device_path("wo0").expect("wo0's device object");
    let run: RunIn<'_> = &|cmd, args| env.run(cmd, args);
    let names = wait_for_connections(run, "wait-online", 2, Duration::from_secs(5));
    let forged = [
        Forged::properties_changed(&device, DEVICE_IFACE, &[("State", "u", "100")]),
        Forged::properties_changed(NM_PATH, NM_BUS_NAME, &[("Startup", "b", "false")]),
    ];
    emit_as_nobody(run, "", &forged, &names, 1, Duration::from_secs(20));
    assert_still_waiting(&named, Duration::from_millis(1000));
    assert!(!all.is_finished(), "forged signals made mode B exit");
    let _dhcp = dhcp_server(&peer, PEER_IP, DHCP_RANGE, &[]);
    let named = named.join().unwrap();
    let all = all.join().unwrap();
    assert_code(&named, 0, &env, "-i wo0:routable after the lease");
    assert_code(&all, 0, &env, "--manager=auto mode B after the lease");
    assert_code(
        &nm_online(&env, "5"),
        0,
        &env,
        "nm-online -s after the lease",
    );
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn static_address_while_dhcp_is_pending_is_not_online() {
    let _root = require_root();
    // Netplan's `dhcp4: true` + `addresses:`: the static address at once, ip-config until the
    // lease. On kernel facts alone the link is routable: that is the early "online".
    let (mut env, peer) = topology(None);
    env.write_profile("wo0", &dhcp_profile("wo0", &["10.77.0.2/24"]));
    env.start_networkmanager();
    env.wait_for_device_state("wo0", DEVICE_STATE_IP_CONFIG, ACTIVATE);
    assert!(wait_until(ACTIVATE, Duration::from_millis(50), || env
        .netns()
        .addrs("wo0")
        .iter()
        .any(|a| a == "10.77.0.2/24")));
    let kernel = wait_online(
        &env,
        &["--manager=none", "-i", "wo0:routable", "--timeout=5"],
        Duration::from_secs(20),
    );
    assert_code(&kernel, 0, &env, "kernel facts alone");
    let r = wait_online(
        &env,
        &[
            "--manager=networkmanager",
            "-i",
            "wo0:routable",
            "--timeout=2",
            "--json",
        ],
        Duration::from_secs(20),
    );
    assert_code(&r, 1, &env, "wait-online while NetworkManager activates");
    assert!(
        r.stderr
            .contains("wo0: NetworkManager is still activating it (ip-config)"),
        "{}",
        r.describe()
    );
    let report: serde_json::Value = serde_json::from_str(&r.stdout).expect("--json");
    assert_eq!(report["manager"], "networkmanager");
    assert_eq!(report["interfaces"][0]["manager"], "networkmanager");
    assert_eq!(report["interfaces"][0]["outcome"], "configuring");
    // nm-online -s agrees: startup is not complete while the lease is pending.
    assert_code(&nm_online(&env, "1"), 1, &env, "nm-online -s");
    let waiter = wait_online_bg(
        &env,
        &["-i", "wo0:routable", "--timeout=40"],
        Duration::from_secs(60),
    );
    assert_still_waiting(&waiter, Duration::from_millis(1000));
    let _dhcp = dhcp_server(&peer, PEER_IP, DHCP_RANGE, &[]);
    let r = waiter.join().unwrap();
    assert_code(&r, 0, &env, "--manager=auto after the lease");
    assert_eq!(env.device_state("wo0"), Some(DEVICE_STATE_ACTIVATED));
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn unmanaged_device_with_carrier_is_ignored_without_interfaces() {
    let _root = require_root();
    let (mut env, _peer) = topology(Some(true));
    env.set_unmanaged("wo1");
    env.netns().link_up("wo1");
    env.write_profile("wo0", &static_profile("wo0", "10.77.0.2/24"));
    env.start_networkmanager();
    env.wait_for_device_state("wo0", DEVICE_STATE_ACTIVATED, ACTIVATE);
    assert_eq!(env.device_state("wo1"), Some(DEVICE_STATE_UNMANAGED));
    let r = wait_online(
        &env,
        &[
            "--manager=networkmanager",
            "-o",
            "routable",
            "--timeout=5",
            "--json",
        ],
        Duration::from_secs(20),
    );
    assert_code(&r, 0, &env, "mode B with an unmanaged device");
    let report: serde_json::Value = serde_json::from_str(&r.stdout).expect("--json");
    let wo1 = report["interfaces"]
        .as_array()
        .and_then(|all| all.iter().find(|i| i["name"] == "wo1"))
        .unwrap_or_else(|| panic!("no wo1 in {report:#}"));
    assert_eq!(wo1["outcome"], "unmanaged", "{wo1:#}");
    // Kernel facts alone wait for wo1 too (up, carrier, never a global address).
    let kernel = wait_online(
        &env,
        &["--manager=none", "-o", "routable", "--timeout=2"],
        Duration::from_secs(20),
    );
    assert_code(&kernel, 1, &env, "kernel facts alone");
    assert_code(&nm_online(&env, "5"), 0, &env, "nm-online -s");
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn device_without_carrier_is_settled_after_startup_and_named_with_i() {
    let _root = require_root();
    let (mut env, _peer) = topology(Some(false));
    env.write_profile("wo0", &static_profile("wo0", "10.77.0.2/24"));
    env.write_profile("wo1", &static_profile("wo1", "10.78.0.2/24"));
    let t0 = Instant::now();
    env.start_networkmanager();
    env.wait_for_device_state("wo0", DEVICE_STATE_ACTIVATED, ACTIVATE);
    // Startup waits ~6 s for wo1's carrier; wait-online's mode B waits for the same moment.
    let all = wait_online(
        &env,
        &["--manager=networkmanager", "--timeout=20"],
        Duration::from_secs(40),
    );
    let ours = t0.elapsed();
    assert_code(&all, 0, &env, "mode B");
    assert_code(&nm_online(&env, "1"), 0, &env, "nm-online -s after startup");
    assert_eq!(env.device_state("wo1"), Some(DEVICE_STATE_UNAVAILABLE));
    eprintln!("timing: mode B online {ours:?} after NetworkManager's start");
    let r = wait_online(
        &env,
        &[
            "--manager=networkmanager",
            "-i",
            "wo1",
            "--timeout=2",
            "--json",
        ],
        Duration::from_secs(20),
    );
    assert_code(&r, 1, &env, "-i wo1 without carrier");
    assert!(
        r.stderr
            .contains("wo1: operational state is no-carrier, needs degraded (no carrier)"),
        "{}",
        r.describe()
    );
    let json = wait_online(
        &env,
        &["--manager=networkmanager", "--timeout=5", "--json"],
        Duration::from_secs(20),
    );
    let report: serde_json::Value = serde_json::from_str(&json.stdout).expect("--json");
    let wo1 = report["interfaces"]
        .as_array()
        .and_then(|all| all.iter().find(|i| i["name"] == "wo1"))
        .unwrap_or_else(|| panic!("no wo1 in {report:#}"));
    assert_eq!(wo1["outcome"], "disconnected", "{wo1:#}");
    assert_eq!(wo1["reason"], "unavailable (no carrier)", "{wo1:#}");
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn networkmanager_started_late_killed_and_restarted_mid_wait() {
    let _root = require_root();
    let (mut env, _peer) = topology(None);
    env.write_profile("wo0", &static_profile("wo0", "10.77.0.2/24"));
    // Not on the bus yet: the timeout says so.
    let r = wait_online(
        &env,
        &["--manager=networkmanager", "-i", "wo0", "--timeout=1"],
        Duration::from_secs(20),
    );
    assert_code(&r, 1, &env, "without NetworkManager");
    assert!(
        r.stderr
            .contains("wo0: NetworkManager is not running (waiting for it on the system bus)"),
        "{}",
        r.describe()
    );
    let waiter = wait_online_bg(
        &env,
        &[
            "--manager=networkmanager",
            "-i",
            "wo0:routable",
            "--timeout=30",
        ],
        Duration::from_secs(45),
    );
    assert_still_waiting(&waiter, Duration::from_millis(500));
    env.start_networkmanager();
    assert_code(
        &waiter.join().unwrap(),
        0,
        &env,
        "NetworkManager started late",
    );
    env.wait_for_startup_complete(ACTIVATE);

    // Killed: the kernel keeps the address, but nothing is judged on stale facts.
    env.kill_networkmanager();
    assert!(env.netns().addrs("wo0").iter().any(|a| a == "10.77.0.2/24"));
    let waiter = wait_online_bg(
        &env,
        &[
            "--manager=networkmanager",
            "-i",
            "wo0:routable",
            "--timeout=30",
        ],
        Duration::from_secs(45),
    );
    assert_still_waiting(&waiter, Duration::from_millis(1500));
    env.restart_networkmanager();
    assert_code(&waiter.join().unwrap(), 0, &env, "after the restart");

    // Restarted while a waiter already follows it: it forgets, reads again, and decides.
    // A new profile (another file, so another UUID) replaces the static one.
    env.remove_profile("wo0");
    env.write_profile("wo0-dhcp", &dhcp_profile("wo0", &[]));
    env.reload_connections();
    env.wait_for_device_state("wo0", DEVICE_STATE_IP_CONFIG, ACTIVATE);
    let waiter = wait_online_bg(
        &env,
        &[
            "--manager=networkmanager",
            "-i",
            "wo0:routable",
            "--timeout=4",
        ],
        Duration::from_secs(20),
    );
    std::thread::sleep(Duration::from_millis(500));
    env.kill_networkmanager();
    env.restart_networkmanager();
    let r = waiter.join().unwrap();
    // The DHCP profile has no server: pending in ip-config, whatever the kernel still holds.
    assert_code(&r, 1, &env, "restarted into a pending DHCP activation");
    assert!(
        r.stderr
            .contains("wo0: NetworkManager is still activating it (ip-config)"),
        "{}",
        r.describe()
    );
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn ubuntu_definition_with_networkmanager_renderer() {
    let _root = require_root();
    let (mut env, peer) = topology(Some(false));
    // wo0 by DHCP (NetworkManager), wo1 optional (no carrier, never waited for); DNS through
    // /etc/resolv.conf, as NetworkManager writes it without systemd-resolved.
    let netplan = env.holder_path("/run/netplan");
    std::fs::create_dir_all(&netplan).unwrap();
    std::fs::write(
        netplan.join("90-NM-test.yaml"),
        "network:\n  version: 2\n  renderer: NetworkManager\n  ethernets:\n    wo0:\n      dhcp4: true\n    wo1:\n      dhcp4: true\n      optional: true\n",
    )
    .unwrap();
    env.set_resolv_conf("nameserver 10.77.0.1\n");
    env.write_profile("netplan-wo0", &dhcp_profile("wo0", &[]));
    env.write_profile("netplan-wo1", &dhcp_profile("wo1", &[]));
    env.start_networkmanager();
    env.wait_for_device_state("wo0", DEVICE_STATE_IP_CONFIG, ACTIVATE);
    let r = wait_online(
        &env,
        &["--online-definition=ubuntu", "--timeout=2"],
        Duration::from_secs(20),
    );
    assert_code(&r, 1, &env, "Ubuntu's definition while DHCP is pending");
    assert!(
        r.stderr
            .contains("(2) wo0: NetworkManager is still activating it (ip-config)"),
        "{}",
        r.describe()
    );
    assert!(
        !r.stderr.contains("wo1"),
        "optional wo1 was waited for: {}",
        r.describe()
    );
    let waiter = wait_online_bg(
        &env,
        &["--online-definition=ubuntu", "--timeout=40"],
        Duration::from_secs(60),
    );
    let _dhcp = dhcp_server(
        &peer,
        PEER_IP,
        DHCP_RANGE,
        &[("host1.test.wohx", "10.77.0.10")],
    );
    assert_code(
        &waiter.join().unwrap(),
        0,
        &env,
        "Ubuntu's definition after the lease",
    );
    let probe = wait_online(
        &env,
        &[
            "--online-definition=ubuntu",
            "--dns-probe=host1.test.wohx",
            "--timeout=10",
        ],
        Duration::from_secs(30),
    );
    assert_code(&probe, 0, &env, "DNS probe through resolv.conf");
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn auto_without_a_system_bus_judges_on_kernel_facts_and_says_so_once() {
    let _root = require_root();
    // /run/NetworkManager exists (NetworkManager ran), but the bus is gone: auto falls back
    // to kernel facts; --manager=networkmanager keeps waiting and says why.
    let (mut env, _peer) = topology(None);
    env.write_profile("wo0", &static_profile("wo0", "10.77.0.2/24"));
    env.start_networkmanager();
    env.wait_for_device_state("wo0", DEVICE_STATE_ACTIVATED, ACTIVATE);
    let no_bus = |args: &[&str]| {
        let mut cmd = env.run(crate::common::wait_online_bin(), args);
        cmd.env("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/run/wot-no-such-bus");
        run_wait_online(cmd, Duration::from_secs(20))
    };
    let auto = no_bus(&["-i", "wo0:routable", "--timeout=5", "--json"]);
    assert_code(&auto, 0, &env, "auto without a bus");
    assert_eq!(
        auto.stderr.matches("no system bus").count(),
        1,
        "{}",
        auto.describe()
    );
    let report: serde_json::Value = serde_json::from_str(&auto.stdout).expect("--json");
    assert_eq!(report["interfaces"][0]["manager"], "none", "{report:#}");
    let forced = no_bus(&["--manager=networkmanager", "-i", "wo0", "--timeout=1"]);
    assert_code(&forced, 1, &env, "--manager=networkmanager without a bus");
    assert!(
        forced.stderr.contains("cannot connect to the system bus")
            && forced
                .stderr
                .contains("wo0: NetworkManager is not running (waiting for it on the system bus)"),
        "{}",
        forced.describe()
    );
}
