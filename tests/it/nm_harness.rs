//! Self-tests of the NetworkManager test harness (tests/common/networkmanager.rs) with the
//! real NetworkManager 1.42.4 (unpacked by `tests/setup-deps.sh`) and dnsmasq as DHCP server.
//! Timings are printed as `timing: ...` (`--nocapture`) and summarised in the module docs of
//! `networkmanager.rs`.
//!
//! Topology of every test:
//! ```text
//! NmEnv (holder: bus, NetworkManager)                     peer netns
//!   wo0  <------------------- veth ------------------->  wo0p 10.77.0.1/24 (dnsmasq: DHCP
//!                                                         10.77.0.50-150, DNS)
//! ```

use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::networkmanager::{
    AC_FLAG_EXTERNAL, AC_FLAG_IP4_READY, AC_STATE_ACTIVATED, DEVICE_STATE_ACTIVATED,
    DEVICE_STATE_DISCONNECTED, DEVICE_STATE_IP_CONFIG, DEVICE_STATE_UNAVAILABLE,
    DEVICE_STATE_UNMANAGED, NM_BUS_NAME, NmEnv, dhcp_profile, dhcp_server, nm_online_bin,
    static_profile,
};
use crate::common::{DnsServer, Netns, require_root, run_wait_online, wait_until};

const PEER_IP: &str = "10.77.0.1";
const DHCP_RANGE: (&str, &str) = ("10.77.0.50", "10.77.0.150");
const ACTIVATE: Duration = Duration::from_secs(10);
/// A lease may take one DHCP retransmission (up to ~9 s) after the server appears.
const LEASE: Duration = Duration::from_secs(30);

/// The env with `wo0` (down, as the kernel creates it) whose peer `wo0p` has 10.77.0.1/24 and
/// is up; NetworkManager not started.
fn topology() -> (NmEnv, Netns) {
    let env = NmEnv::new();
    let peer = Netns::new();
    env.netns().add_veth("wo0", Some(&peer), "wo0p");
    peer.add_addr("wo0p", "10.77.0.1/24");
    peer.link_up("wo0p");
    (env, peer)
}

/// Whether wo0 has an IPv4 address in the DHCP range.
fn has_lease(env: &NmEnv) -> bool {
    env.netns().addrs("wo0").iter().any(|a| {
        a.strip_prefix("10.77.0.")
            .and_then(|h| h.strip_suffix("/24"))
            .and_then(|h| h.parse::<u8>().ok())
            .is_some_and(|h| (50..=150).contains(&h))
    })
}

/// Checks that `ifname` stays in `state` with `Startup` true for `d`.
fn assert_pending_for(env: &NmEnv, ifname: &str, state: u32, d: Duration) {
    let end = Instant::now() + d;
    while Instant::now() < end {
        let (s, startup) = (env.device_state(ifname), env.startup());
        assert!(
            s == Some(state) && startup == Some(true),
            "{ifname}: expected state {state} with Startup true, got {s:?} / {startup:?}\n{}",
            env.logs_tail(40)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `wait-online --manager=none -i wo0:routable` inside the env exits 0 (the kernel's view).
fn assert_kernel_routable(env: &NmEnv) {
    let r = run_wait_online(
        env.run(
            crate::common::wait_online_bin(),
            &["--manager=none", "-i", "wo0:routable", "--timeout=5"],
        ),
        Duration::from_secs(20),
    );
    assert_eq!(r.code, Some(0), "wait-online (kernel): {}", r.describe());
}

/// Starts the DHCP server while wo0 waits for a lease; checks that the lease arrives
/// (activated, address in the range) and startup completes. Keep the server alive.
fn serve_lease(env: &NmEnv, peer: &Netns) -> DnsServer {
    let t0 = Instant::now();
    let dhcp = dhcp_server(peer, PEER_IP, DHCP_RANGE, &[]);
    env.wait_for_device_state("wo0", DEVICE_STATE_ACTIVATED, LEASE);
    eprintln!(
        "timing: DHCP lease {:?} after dnsmasq started",
        t0.elapsed()
    );
    assert!(has_lease(env), "kernel: {:?}", env.netns().addrs("wo0"));
    env.wait_for_startup_complete(Duration::from_secs(5));
    dhcp
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn static_profile_is_activated_and_nm_online_succeeds() {
    let _root = require_root();
    let (mut env, _peer) = topology();
    env.write_profile("wo0", &static_profile("wo0", "10.77.0.2/24"));
    let on_bus = env.start_networkmanager();
    let active = env.wait_for_device_state("wo0", DEVICE_STATE_ACTIVATED, ACTIVATE);
    eprintln!(
        "timing: NetworkManager on the bus {on_bus:?} after exec; wo0 activated {:?} after exec",
        on_bus + active
    );
    assert!(
        env.netns().addrs("wo0").iter().any(|a| a == "10.77.0.2/24"),
        "kernel: {:?}",
        env.netns().addrs("wo0")
    );
    let r = run_wait_online(
        env.run(&nm_online_bin(), &["-s", "-q", "-t", "10"]),
        Duration::from_secs(20),
    );
    assert_eq!(r.code, Some(0), "nm-online -s -q: {}", r.describe());
    assert_eq!(env.startup(), Some(false));
    assert_eq!(env.active_state("wo0"), Some(AC_STATE_ACTIVATED));
    let flags = env.active_state_flags("wo0").expect("StateFlags");
    assert!(
        flags & AC_FLAG_IP4_READY != 0 && flags & AC_FLAG_EXTERNAL == 0,
        "{flags:#x}"
    );
    assert_eq!(
        env.active_property("wo0", "Id")
            .and_then(|v| v.as_str().map(str::to_owned)),
        Some("wo0-static".to_owned())
    );
    // the ObjectManager lists the device with its active connection
    let objects = env.managed_objects().expect("GetManagedObjects");
    let dev = env.device_path("wo0").expect("device path");
    let ac = env.active_connection("wo0").expect("active connection");
    assert!(
        objects[&dev]["org.freedesktop.NetworkManager.Device"]["ActiveConnection"]["data"]
            == ac.as_str()
            && objects[&ac]
                .get("org.freedesktop.NetworkManager.Connection.Active")
                .is_some(),
        "GetManagedObjects: {objects:#}"
    );
    // the same commands can run wait-online inside the namespaces
    assert_kernel_routable(&env);
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn dhcp_profile_waits_in_ip_config_until_the_server_answers() {
    let _root = require_root();
    let (mut env, peer) = topology();
    env.write_profile("wo0", &dhcp_profile("wo0", &[]));
    env.start_networkmanager();
    env.wait_for_device_state("wo0", DEVICE_STATE_IP_CONFIG, ACTIVATE);
    assert_pending_for(&env, "wo0", DEVICE_STATE_IP_CONFIG, Duration::from_secs(1));
    let flags = env.active_state_flags("wo0").expect("StateFlags");
    assert_eq!(flags & AC_FLAG_IP4_READY, 0, "{flags:#x}");
    let r = run_wait_online(
        env.run(&nm_online_bin(), &["-s", "-q", "-t", "1"]),
        Duration::from_secs(10),
    );
    assert_eq!(
        r.code,
        Some(1),
        "nm-online -s while pending: {}",
        r.describe()
    );

    let _dhcp = serve_lease(&env, &peer);
    let flags = env.active_state_flags("wo0").expect("StateFlags");
    assert_ne!(flags & AC_FLAG_IP4_READY, 0, "{flags:#x}");
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn unmanaged_device_with_carrier_stays_unmanaged() {
    let _root = require_root();
    let (mut env, _peer) = topology();
    env.set_unmanaged("wo0");
    env.write_profile("wo0", &static_profile("wo0", "10.77.0.2/24"));
    env.netns().link_up("wo0"); // carrier: both ends up
    env.start_networkmanager();
    env.wait_for_startup_complete(ACTIVATE);
    assert_eq!(env.device_state("wo0"), Some(DEVICE_STATE_UNMANAGED));
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(env.device_state("wo0"), Some(DEVICE_STATE_UNMANAGED));
    assert_eq!(env.device_property("wo0", "Managed"), Some(false.into()));
    assert_eq!(env.active_connection("wo0"), None);
    assert!(
        !env.netns().addrs("wo0").iter().any(|a| a == "10.77.0.2/24"),
        "the profile was applied to an unmanaged device: {:?}",
        env.netns().addrs("wo0")
    );
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn profile_without_carrier_is_unavailable_and_startup_completes() {
    let _root = require_root();
    let (mut env, peer) = topology();
    peer.link_down("wo0p");
    env.write_profile("wo0", &static_profile("wo0", "10.77.0.2/24"));
    let t0 = Instant::now();
    env.start_networkmanager();
    env.wait_for_device_state("wo0", DEVICE_STATE_UNAVAILABLE, ACTIVATE);
    assert_eq!(
        env.startup(),
        Some(true),
        "startup must wait for the carrier a while"
    );
    env.wait_for_startup_complete(Duration::from_secs(10));
    let done = t0.elapsed();
    eprintln!("timing: Startup false {done:?} after start without carrier");
    assert!(done < Duration::from_secs(8), "{done:?}");
    assert_eq!(env.device_state("wo0"), Some(DEVICE_STATE_UNAVAILABLE));
    // the carrier comes: the profile is activated
    peer.link_up("wo0p");
    let t = env.wait_for_device_state("wo0", DEVICE_STATE_ACTIVATED, ACTIVATE);
    eprintln!("timing: activated {t:?} after the peer came up");
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn killed_networkmanager_restarts_and_activates_again() {
    let _root = require_root();
    let (mut env, _peer) = topology();
    env.write_profile("wo0", &static_profile("wo0", "10.77.0.2/24"));
    env.start_networkmanager();
    env.wait_for_device_state("wo0", DEVICE_STATE_ACTIVATED, ACTIVATE);
    env.kill_networkmanager();
    assert!(!env.bus_has(NM_BUS_NAME));
    assert_eq!(env.device_state("wo0"), None);
    // the kernel keeps what NetworkManager configured
    assert!(env.netns().addrs("wo0").iter().any(|a| a == "10.77.0.2/24"));

    let t0 = Instant::now();
    env.start_networkmanager();
    env.wait_for_device_state("wo0", DEVICE_STATE_ACTIVATED, ACTIVATE);
    eprintln!(
        "timing: activated again {:?} after the restart",
        t0.elapsed()
    );
    // NetworkManager assumes its previous activation (/run/NetworkManager/devices/<ifindex>):
    // the profile, not a generated external connection
    let id = env.active_property("wo0", "Id");
    let flags = env.active_state_flags("wo0").expect("StateFlags");
    assert!(
        id.as_ref().and_then(|v| v.as_str()) == Some("wo0-static") && flags & AC_FLAG_EXTERNAL == 0,
        "after SIGKILL + start: connection {id:?}, StateFlags {flags:#x}"
    );
    env.wait_for_startup_complete(ACTIVATE);

    // and a clean restart (SIGTERM)
    env.restart_networkmanager();
    env.wait_for_device_state("wo0", DEVICE_STATE_ACTIVATED, ACTIVATE);
    env.wait_for_startup_complete(ACTIVATE);
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn dhcp_with_static_address_is_kernel_routable_but_still_in_ip_config() {
    let _root = require_root();
    let (mut env, peer) = topology();
    env.write_profile("wo0", &dhcp_profile("wo0", &["10.77.0.9/24"]));
    env.start_networkmanager();
    let ok = wait_until(ACTIVATE, Duration::from_millis(10), || {
        env.netns().addrs("wo0").iter().any(|a| a == "10.77.0.9/24")
    });
    assert!(ok, "static address not configured\n{}", env.logs_tail(40));
    assert_pending_for(&env, "wo0", DEVICE_STATE_IP_CONFIG, Duration::from_secs(2));
    assert_kernel_routable(&env);

    let _dhcp = serve_lease(&env, &peer);
    assert!(env.netns().addrs("wo0").iter().any(|a| a == "10.77.0.9/24"));
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn profile_added_at_runtime_is_activated_after_reload() {
    let _root = require_root();
    let (mut env, _peer) = topology();
    env.start_networkmanager();
    env.wait_for_device_state("wo0", DEVICE_STATE_DISCONNECTED, ACTIVATE);
    env.wait_for_startup_complete(ACTIVATE);
    env.write_profile("wo0", &static_profile("wo0", "10.77.0.2/24"));
    let t0 = Instant::now();
    env.reload_connections();
    env.wait_for_device_state("wo0", DEVICE_STATE_ACTIVATED, ACTIVATE);
    eprintln!(
        "timing: activated {:?} after ReloadConnections",
        t0.elapsed()
    );
    env.remove_profile("wo0");
    env.reload_connections();
    env.wait_for_device_state("wo0", DEVICE_STATE_DISCONNECTED, ACTIVATE);
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn dns_from_dhcp_goes_to_the_private_resolv_conf_only() {
    let _root = require_root();
    let host_resolv = std::fs::read("/etc/resolv.conf").unwrap_or_default();
    let host_nm_etc = Path::new("/etc/NetworkManager").exists();
    let (mut env, peer) = topology();
    env.set_dns("default", "file");
    env.set_resolv_conf("# before NetworkManager\n");
    let _dhcp = dhcp_server(
        &peer,
        PEER_IP,
        DHCP_RANGE,
        &[("host1.test.wohx", "10.77.0.10")],
    );
    env.write_profile("wo0", &dhcp_profile("wo0", &[]));
    let t0 = Instant::now();
    env.start_networkmanager();
    env.wait_for_device_state("wo0", DEVICE_STATE_ACTIVATED, LEASE);
    eprintln!(
        "timing: DHCP lease {:?} after start (server up)",
        t0.elapsed()
    );
    let ok = wait_until(Duration::from_secs(5), Duration::from_millis(10), || {
        env.resolv_conf().contains("nameserver 10.77.0.1")
    });
    assert!(
        ok,
        "private resolv.conf: {:?}\n{}",
        env.resolv_conf(),
        env.logs_tail(40)
    );
    drop(env);
    assert_eq!(
        std::fs::read("/etc/resolv.conf").unwrap_or_default(),
        host_resolv
    );
    assert_eq!(Path::new("/etc/NetworkManager").exists(), host_nm_etc);
}
