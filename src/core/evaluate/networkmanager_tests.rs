//! NetworkManager's device states mapped onto upstream's per-link outcomes (issue #12, item 3),
//! one test per rule, and the per-link choice of manager under `--manager=auto`.

use std::collections::BTreeMap;

use super::*;
use crate::core::fixtures;
use crate::core::link::scope;
use crate::core::networkmanager::{ActiveConnection, activation_flags};
use crate::core::snapshot::NetworkdLink;
use crate::report::reason::explain;

fn link(ifindex: u32, name: &str, address_scope: Option<u8>) -> KernelLink {
    fixtures::link(ifindex, name, true, address_scope)
}

fn routable(ifindex: u32, name: &str) -> KernelLink {
    link(ifindex, name, Some(scope::UNIVERSE))
}

fn no_carrier(ifindex: u32, name: &str) -> KernelLink {
    fixtures::link(ifindex, name, false, None)
}

fn device(state: u32, flags: u32) -> Device {
    Device {
        state: DeviceState::from_u32(state),
        managed: state != 10,
        connection: (state >= 40).then_some(ActiveConnection { state: 1, flags }),
    }
}

const READY4: u32 = activation_flags::IP4_READY;

fn facts(startup: bool, devices: &[(&str, Device)]) -> NetworkManagerFacts {
    NetworkManagerFacts {
        connectivity: Default::default(),
        connectivity_checked: false,
        known: true,
        running: true,
        seen: true,
        startup,
        devices: devices
            .iter()
            .map(|(name, d)| (name.to_string(), d.clone()))
            .collect(),
    }
}

fn snapshot(mut snap: Snapshot, links: Vec<KernelLink>) -> Snapshot {
    snap.kernel.links = links.into_iter().map(|l| (l.ifindex, l)).collect();
    snap
}

fn named(specs: &[&str]) -> Requirements {
    Requirements {
        interfaces: fixtures::wanted(specs),
        ..Requirements::default()
    }
}

fn outcome(verdict: &Verdict, name: &str) -> LinkOutcome {
    verdict
        .links
        .iter()
        .find(|r| r.name == name)
        .map(|r| r.outcome.clone())
        .unwrap_or_else(|| panic!("no report for {name}: {verdict:?}"))
}

#[test]
fn activating_device_is_never_online_even_when_the_kernel_says_routable() {
    // Netplan's `dhcp4: true` plus `addresses:`: the static address at once, ip-config until
    // the lease.
    let snap = snapshot(
        Snapshot::networkmanager(facts(true, &[("eth0", device(70, 0))])),
        vec![routable(2, "eth0")],
    );
    for requirements in [named(&["eth0:routable"]), Requirements::default()] {
        let verdict = evaluate(&requirements, &snap);
        assert!(!verdict.online);
        assert_eq!(
            outcome(&verdict, "eth0"),
            LinkOutcome::Activating(DeviceState::IpConfig)
        );
    }
    assert_eq!(
        explain(&evaluate(&named(&["eth0"]), &snap)),
        ["eth0: NetworkManager is still activating it (ip-config)"]
    );
}

#[test]
fn every_activation_state_and_a_failed_retry_count_as_configuring() {
    for state in [40, 50, 60, 70, 80, 90, 110, 120] {
        let snap = snapshot(
            Snapshot::networkmanager(facts(false, &[("eth0", device(state, 0))])),
            vec![routable(2, "eth0")],
        );
        let verdict = evaluate(&named(&["eth0"]), &snap);
        assert!(
            matches!(outcome(&verdict, "eth0"), LinkOutcome::Activating(_)),
            "state {state}: {verdict:?}"
        );
    }
}

#[test]
fn activated_device_is_judged_on_kernel_facts() {
    let snap = snapshot(
        Snapshot::networkmanager(facts(false, &[("eth0", device(100, READY4))])),
        vec![routable(2, "eth0")],
    );
    assert!(evaluate(&named(&["eth0:routable"]), &snap).online);
    assert!(evaluate(&Requirements::default(), &snap).online);
    let carrier_only = snapshot(
        Snapshot::networkmanager(facts(false, &[("eth0", device(100, 0))])),
        vec![link(2, "eth0", None)],
    );
    let verdict = evaluate(&named(&["eth0:routable"]), &carrier_only);
    assert!(matches!(
        outcome(&verdict, "eth0"),
        LinkOutcome::OutOfRange { .. }
    ));
}

#[test]
fn activated_without_the_required_family_ready_is_not_online() {
    // may-fail: activated with IPv6 only; -4 needs IP4_READY even with an IPv4 address.
    let snap = snapshot(
        Snapshot::networkmanager(facts(
            false,
            &[("eth0", device(100, activation_flags::IP6_READY))],
        )),
        vec![routable(2, "eth0")],
    );
    let mut requirements = named(&["eth0:routable"]);
    requirements.families = RequiredFamilies {
        ipv4: true,
        ipv6: false,
    };
    let verdict = evaluate(&requirements, &snap);
    assert_eq!(
        outcome(&verdict, "eth0"),
        LinkOutcome::FamilyNotReady(Family::Ipv4)
    );
    requirements.families = RequiredFamilies::NONE;
    assert!(evaluate(&requirements, &snap).online);
}

#[test]
fn activated_device_out_of_range_blocks_without_interfaces() {
    // Unlike networkd's configured-but-offline links (issue #29506), every device
    // NetworkManager activated must reach the minimum.
    let snap = snapshot(
        Snapshot::networkmanager(facts(
            false,
            &[("eth0", device(100, READY4)), ("eth1", device(100, 0))],
        )),
        vec![routable(2, "eth0"), no_carrier(3, "eth1")],
    );
    let verdict = evaluate(&Requirements::default(), &snap);
    assert!(!verdict.online);
    assert_eq!(
        verdict
            .blocking()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>(),
        ["eth1"]
    );
}

#[test]
fn unavailable_after_startup_never_blocks_without_interfaces() {
    let snap = snapshot(
        Snapshot::networkmanager(facts(
            false,
            &[("eth0", device(100, READY4)), ("wlan0", device(20, 0))],
        )),
        vec![routable(2, "eth0"), no_carrier(3, "wlan0")],
    );
    let verdict = evaluate(&Requirements::default(), &snap);
    assert!(verdict.online, "{verdict:?}");
    assert_eq!(
        outcome(&verdict, "wlan0"),
        LinkOutcome::Disconnected(DeviceState::Unavailable)
    );
    // With -i the kernel decides: no carrier is not degraded.
    let verdict = evaluate(&named(&["wlan0"]), &snap);
    assert_eq!(
        explain(&verdict),
        ["wlan0: operational state is no-carrier, needs degraded (no carrier)"]
    );
}

#[test]
fn unavailable_device_names_the_missing_carrier_from_the_kernel() {
    let report = |startup| {
        let snap = snapshot(
            Snapshot::networkmanager(facts(startup, &[("wlan0", device(20, 0))])),
            vec![no_carrier(3, "wlan0")],
        );
        let verdict = evaluate(&Requirements::default(), &snap);
        verdict.links[0].to_string()
    };
    assert_eq!(report(false), "wlan0: unavailable (no carrier)");
    assert_eq!(
        report(true),
        "wlan0: unavailable (no carrier) while NetworkManager is starting"
    );
}

#[test]
fn nothing_is_online_while_a_managed_device_is_pending_at_startup() {
    let snap = snapshot(
        Snapshot::networkmanager(facts(
            true,
            &[("eth0", device(100, READY4)), ("eth1", device(30, 0))],
        )),
        vec![routable(2, "eth0"), link(3, "eth1", None)],
    );
    let verdict = evaluate(&Requirements::default(), &snap);
    assert!(!verdict.online);
    assert_eq!(
        outcome(&verdict, "eth1"),
        LinkOutcome::NetworkManagerPending(NmPending::Starting(DeviceState::Disconnected))
    );
}

#[test]
fn unmanaged_and_external_devices_are_ignored_without_interfaces_and_judged_by_the_kernel_with() {
    let external = Device {
        state: DeviceState::Activated,
        managed: true,
        connection: Some(ActiveConnection {
            state: 2,
            flags: activation_flags::EXTERNAL,
        }),
    };
    let snap = snapshot(
        Snapshot::networkmanager(facts(
            false,
            &[
                ("eth0", device(100, READY4)),
                ("eth1", device(10, 0)),
                ("eth2", external),
            ],
        )),
        vec![
            routable(2, "eth0"),
            link(3, "eth1", None),
            link(4, "eth2", None),
        ],
    );
    let verdict = evaluate(&Requirements::default(), &snap);
    assert!(verdict.online, "{verdict:?}");
    assert_eq!(outcome(&verdict, "eth1"), LinkOutcome::Unmanaged);
    assert_eq!(outcome(&verdict, "eth2"), LinkOutcome::Unmanaged);
    let verdict = evaluate(&named(&["eth1:carrier", "eth2:routable"]), &snap);
    assert_eq!(outcome(&verdict, "eth1"), LinkOutcome::Online);
    assert!(matches!(
        outcome(&verdict, "eth2"),
        LinkOutcome::OutOfRange { .. }
    ));
}

#[test]
fn networkmanager_absent_or_restarting_judges_nothing_online() {
    let mut gone = facts(false, &[("eth0", device(100, READY4))]);
    gone.forget();
    let snap = snapshot(Snapshot::networkmanager(gone), vec![routable(2, "eth0")]);
    for requirements in [named(&["eth0"]), Requirements::default()] {
        let verdict = evaluate(&requirements, &snap);
        assert!(!verdict.online);
        assert_eq!(
            outcome(&verdict, "eth0"),
            LinkOutcome::NetworkManagerPending(NmPending::NotRunning)
        );
    }
}

#[test]
fn a_link_networkmanager_does_not_list_waits_during_startup_only() {
    let starting = snapshot(
        Snapshot::networkmanager(facts(true, &[])),
        vec![routable(2, "eth0")],
    );
    assert_eq!(
        outcome(&evaluate(&named(&["eth0"]), &starting), "eth0"),
        LinkOutcome::NetworkManagerPending(NmPending::NotListed)
    );
    let started = snapshot(
        Snapshot::networkmanager(facts(false, &[])),
        vec![routable(2, "eth0")],
    );
    assert!(evaluate(&named(&["eth0"]), &started).online);
}

#[test]
fn auto_judges_each_link_by_the_manager_that_manages_it() {
    let networkd_file = |setup| NetworkdLink {
        setup: Some(setup),
        ..NetworkdLink::default()
    };
    let files = BTreeMap::from([
        (2, networkd_file(SetupState::Configured)),
        (3, networkd_file(SetupState::Unmanaged)),
        (4, networkd_file(SetupState::Unmanaged)),
    ]);
    let nm = facts(false, &[("eth1", device(70, 0)), ("eth2", device(10, 0))]);
    let snap = snapshot(
        Snapshot::per_link(Some(files), nm.clone()),
        vec![
            routable(2, "eth0"),
            routable(3, "eth1"),
            routable(4, "eth2"),
        ],
    );
    let verdict = evaluate(&Requirements::default(), &snap);
    let managers: Vec<(String, Option<ManagerKind>)> = verdict
        .links
        .iter()
        .map(|r| (r.name.clone(), r.manager))
        .collect();
    assert_eq!(
        managers,
        [
            ("eth0".to_string(), Some(ManagerKind::Networkd)),
            ("eth1".to_string(), Some(ManagerKind::NetworkManager)),
            ("eth2".to_string(), Some(ManagerKind::Networkd)),
        ]
    );
    assert_eq!(
        outcome(&verdict, "eth1"),
        LinkOutcome::Activating(DeviceState::IpConfig)
    );
    assert_eq!(outcome(&verdict, "eth2"), LinkOutcome::Unmanaged);
    // Before NetworkManager's view is known, nothing falls back to kernel facts.
    let unknown = snapshot(
        Snapshot::per_link(None, NetworkManagerFacts::default()),
        vec![routable(3, "eth1")],
    );
    assert_eq!(
        outcome(&evaluate(&named(&["eth1"]), &unknown), "eth1"),
        LinkOutcome::NetworkManagerPending(NmPending::NotRead)
    );
    // Without networkd, and NetworkManager known absent (never seen): kernel facts.
    let mut absent = nm;
    absent.forget();
    absent.seen = false;
    let kernel = snapshot(
        Snapshot::per_link(None, absent.clone()),
        vec![routable(3, "eth1")],
    );
    let verdict = evaluate(&named(&["eth1"]), &kernel);
    assert!(verdict.online);
    assert_eq!(verdict.links[0].manager, Some(ManagerKind::Kernel));
    // Once it was seen, its absence (a restart) judges nothing online.
    absent.seen = true;
    let restarting = snapshot(Snapshot::per_link(None, absent), vec![routable(3, "eth1")]);
    assert_eq!(
        outcome(&evaluate(&named(&["eth1"]), &restarting), "eth1"),
        LinkOutcome::NetworkManagerPending(NmPending::NotRunning)
    );
}
