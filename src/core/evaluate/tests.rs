//! One test per upstream rule (named after the systemd issue that pinned it where there is
//! one), then properties over random snapshots.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use proptest::prelude::*;

use super::*;
use crate::cli::glob::Glob;
use crate::core::fixtures;
use crate::core::link::{Address, KernelOperState, ifa, iff, scope};
use crate::core::snapshot::NetworkdLink;
use crate::core::update::KernelTables;
use crate::report::reason::explain;

const NOW: Duration = Duration::from_secs(1000);

fn range(text: &str) -> OperStateRange {
    text.parse().unwrap()
}

/// A link that is up with carrier.
fn link(ifindex: u32, name: &str) -> KernelLink {
    fixtures::up_link(ifindex, name, Vec::new())
}

fn loopback() -> KernelLink {
    let mut lo = link(1, "lo");
    lo.flags |= iff::LOOPBACK;
    lo.kernel_oper = KernelOperState::Unknown;
    lo.addresses.push(v4(127, scope::HOST));
    lo
}

fn v4(last: u8, scope: u8) -> Address {
    Address {
        family: Family::Ipv4,
        address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, last)),
        prefix_len: 24,
        scope,
        flags: 0,
        valid_until: None,
    }
}

fn v6(last: u16, scope: u8, flags: u32) -> Address {
    Address {
        family: Family::Ipv6,
        address: IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, last)),
        prefix_len: 64,
        scope,
        flags,
        valid_until: None,
    }
}

fn routable(ifindex: u32, name: &str) -> KernelLink {
    let mut l = link(ifindex, name);
    l.addresses.push(v4(ifindex as u8, scope::UNIVERSE));
    l
}

fn no_carrier(ifindex: u32, name: &str) -> KernelLink {
    let mut l = link(ifindex, name);
    l.flags = iff::UP;
    l.kernel_oper = KernelOperState::LowerLayerDown;
    l
}

fn file(setup: SetupState) -> NetworkdLink {
    NetworkdLink {
        setup: Some(setup),
        ..NetworkdLink::default()
    }
}

fn configured() -> NetworkdLink {
    file(SetupState::Configured)
}

fn tables(links: Vec<KernelLink>) -> KernelTables {
    KernelTables {
        links: links.into_iter().map(|l| (l.ifindex, l)).collect(),
        ..KernelTables::default()
    }
}

fn kernel_only(links: Vec<KernelLink>) -> Snapshot {
    Snapshot {
        kernel: tables(links),
        now: NOW,
        ..Snapshot::kernel_only()
    }
}

fn networkd(links: Vec<KernelLink>, files: Vec<(u32, NetworkdLink)>) -> Snapshot {
    Snapshot {
        kernel: tables(links),
        now: NOW,
        ..Snapshot::networkd(files.into_iter().collect())
    }
}

fn want(spec: &str) -> InterfaceRequirement {
    let (name, range) = match spec.split_once(':') {
        Some((name, r)) => (name, Some(r.parse().unwrap())),
        None => (spec, None),
    };
    InterfaceRequirement {
        name: IfName::new(name).unwrap(),
        range,
    }
}

fn named(specs: &[&str]) -> Requirements {
    Requirements {
        interfaces: specs.iter().map(|s| want(s)).collect(),
        ..Requirements::default()
    }
}

fn outcome_of<'a>(verdict: &'a Verdict, name: &str) -> &'a LinkOutcome {
    &verdict
        .links
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no report for {name}: {verdict:?}"))
        .outcome
}

// ---- mode A: -i given ----

#[test]
fn named_link_online_when_in_default_range() {
    let snap = networkd(vec![routable(2, "eth0")], vec![(2, configured())]);
    assert!(evaluate(&named(&["eth0"]), &snap).online);
}

#[test]
fn cmdline_range_overrides_o_which_overrides_networkd_range() {
    let mut f = configured();
    f.required_range = Some(range("routable"));
    let snap = networkd(vec![link(2, "eth0")], vec![(2, f)]); // carrier, no address
    let mut req = named(&["eth0"]);
    assert!(!evaluate(&req, &snap).online, "networkd's routable applies");
    req.oper_range = Some(range("carrier"));
    assert!(
        evaluate(&req, &snap).online,
        "-o carrier overrides networkd"
    );
    req.interfaces = vec![want("eth0:routable")];
    assert!(!evaluate(&req, &snap).online, "-i range overrides -o");
}

#[test]
fn default_range_is_degraded_to_routable() {
    let mut l = link(2, "eth0");
    l.addresses.push(v4(2, scope::LINK));
    let snap = networkd(vec![l], vec![(2, configured())]);
    assert!(evaluate(&named(&["eth0"]), &snap).online);
    let bare = networkd(vec![link(2, "eth0")], vec![(2, configured())]);
    let verdict = evaluate(&named(&["eth0"]), &bare);
    assert_eq!(
        outcome_of(&verdict, "eth0"),
        &LinkOutcome::OutOfRange {
            state: OperState::Carrier,
            range: OperStateRange::DEFAULT
        }
    );
}

#[test]
fn missing_range_is_satisfied_by_absence() {
    let snap = kernel_only(vec![loopback()]);
    assert!(evaluate(&named(&["nosuch0:missing"]), &snap).online);
    assert!(evaluate(&named(&["nosuch0::off"]), &snap).online);
    let mut any = named(&["nosuch0:missing", "eth9:routable"]);
    any.any = true;
    assert!(
        evaluate(&any, &snap).online,
        "--any: the absent :missing link suffices"
    );
}

#[test]
fn absent_named_interface_blocks() {
    let snap = kernel_only(vec![loopback(), routable(2, "eth0")]);
    let verdict = evaluate(&named(&["eth0", "eth1"]), &snap);
    assert!(!verdict.online);
    assert_eq!(outcome_of(&verdict, "eth1"), &LinkOutcome::Absent);
    assert_eq!(verdict.blocking().count(), 1);
    assert_eq!(explain(&verdict), vec!["eth1: not present".to_string()]);
}

#[test]
fn range_without_missing_min_is_not_satisfied_by_absence_even_with_o_missing() {
    let snap = kernel_only(vec![loopback()]);
    let mut req = named(&["nosuch0"]);
    req.oper_range = Some(range("missing"));
    assert!(
        !evaluate(&req, &snap).online,
        "only the -i range counts for absence, as upstream"
    );
}

#[test]
fn any_with_named_links_needs_one_online() {
    let snap = networkd(
        vec![routable(2, "eth0"), no_carrier(3, "eth1")],
        vec![(2, configured()), (3, file(SetupState::Configuring))],
    );
    let mut req = named(&["eth1", "eth0"]);
    assert!(!evaluate(&req, &snap).online);
    req.any = true;
    assert!(evaluate(&req, &snap).online);
    req.interfaces = vec![want("eth1"), want("eth7")];
    let verdict = evaluate(&req, &snap);
    assert!(!verdict.online);
    assert_eq!(
        verdict.blocking().count(),
        2,
        "with --any every unmet link is reported"
    );
}

#[test]
fn named_lookup_uses_altnames() {
    let mut l = routable(2, "enp3s0");
    l.altnames = vec!["lan-uplink".into()];
    let snap = networkd(vec![l], vec![(2, configured())]);
    let verdict = evaluate(&named(&["lan-uplink"]), &snap);
    assert!(verdict.online);
    assert_eq!(verdict.links[0].name, "lan-uplink");
}

#[test]
fn renamed_link_is_found_by_its_new_name_only() {
    let snap = kernel_only(vec![routable(2, "lan0")]);
    assert!(evaluate(&named(&["lan0"]), &snap).online);
    assert_eq!(
        outcome_of(&evaluate(&named(&["eth0"]), &snap), "eth0"),
        &LinkOutcome::Absent
    );
}

#[test]
fn recreated_link_with_new_ifindex_waits_for_its_own_state_file() {
    // eth0 was ifindex 2 (configured); it was deleted and re-created as ifindex 5.
    let snap = networkd(vec![routable(5, "eth0")], vec![(2, configured())]);
    let verdict = evaluate(&named(&["eth0"]), &snap);
    assert_eq!(
        outcome_of(&verdict, "eth0"),
        &LinkOutcome::NotProcessed { setup: None }
    );
}

#[test]
fn unmanaged_link_named_with_i_is_judged_on_its_state_netplan_lo_carrier() {
    let snap = networkd(vec![loopback()], vec![(1, file(SetupState::Unmanaged))]);
    assert!(evaluate(&named(&["lo:carrier"]), &snap).online);
    assert!(!evaluate(&named(&["lo:routable"]), &snap).online);
}

#[test]
fn link_without_state_file_or_pending_is_not_processed() {
    let snap = networkd(
        vec![routable(2, "eth0"), routable(3, "eth1")],
        vec![(3, file(SetupState::Pending))],
    );
    let verdict = evaluate(&named(&["eth0", "eth1"]), &snap);
    assert_eq!(
        outcome_of(&verdict, "eth0"),
        &LinkOutcome::NotProcessed { setup: None }
    );
    assert_eq!(
        outcome_of(&verdict, "eth1"),
        &LinkOutcome::NotProcessed {
            setup: Some(SetupState::Pending)
        }
    );
}

#[test]
fn configuring_failed_and_linger_links_are_busy_even_when_in_range() {
    for state in [
        SetupState::Configuring,
        SetupState::Failed,
        SetupState::Linger,
        SetupState::Initialized,
    ] {
        let snap = networkd(vec![link(2, "eth0")], vec![(2, file(state.clone()))]);
        let verdict = evaluate(&named(&["eth0:carrier"]), &snap);
        assert_eq!(
            outcome_of(&verdict, "eth0"),
            &LinkOutcome::Configuring(state)
        );
        assert!(!verdict.online);
    }
}

#[test]
fn named_loopback_and_not_required_links_are_still_judged_in_mode_a() {
    let mut f = configured();
    f.required_for_online = false;
    let snap = networkd(
        vec![loopback(), routable(2, "eth0")],
        vec![(1, configured()), (2, f)],
    );
    assert!(evaluate(&named(&["lo:carrier", "eth0"]), &snap).online);
}

// ---- address families ----

#[test]
fn family_needs_link_local_or_better_below_routable() {
    let mut l = link(2, "eth0");
    l.addresses.push(v6(1, scope::LINK, 0));
    l.addresses.push(v4(2, scope::LINK));
    let snap = kernel_only(vec![l]);
    let mut req = named(&["eth0:degraded"]);
    req.families = RequiredFamilies {
        ipv4: true,
        ipv6: true,
    };
    assert!(evaluate(&req, &snap).online);
    req.interfaces = vec![want("eth0:degraded")];
    req.families = RequiredFamilies {
        ipv4: true,
        ipv6: false,
    };
    assert!(evaluate(&req, &snap).online);
}

#[test]
fn family_needs_routable_address_when_min_is_routable() {
    let mut l = link(2, "eth0");
    l.addresses.push(v4(2, scope::UNIVERSE));
    l.addresses.push(v6(1, scope::LINK, 0));
    let snap = kernel_only(vec![l]);
    let mut req = named(&["eth0:routable"]);
    assert!(
        evaluate(&req, &snap).online,
        "no family required: one global address suffices"
    );
    req.families = RequiredFamilies {
        ipv4: false,
        ipv6: true,
    };
    let verdict = evaluate(&req, &snap);
    assert_eq!(
        outcome_of(&verdict, "eth0"),
        &LinkOutcome::MissingAddress {
            family: Family::Ipv6,
            need: AddressState::Routable,
            have: AddressState::Degraded
        }
    );
    assert_eq!(
        explain(&verdict),
        vec!["eth0: no routable IPv6 address (its IPv6 address state is degraded)".to_string()]
    );
}

#[test]
fn networkd_required_family_applies_unless_cli_family_given() {
    let mut f = configured();
    f.required_families = RequiredFamilies {
        ipv4: false,
        ipv6: true,
    };
    let snap = networkd(vec![routable(2, "eth0")], vec![(2, f)]);
    assert!(!evaluate(&named(&["eth0"]), &snap).online);
    let mut req = named(&["eth0"]);
    req.families = RequiredFamilies {
        ipv4: true,
        ipv6: false,
    };
    assert!(
        evaluate(&req, &snap).online,
        "-4 replaces REQUIRED_FAMILY_FOR_ONLINE=ipv6"
    );
}

#[test]
fn tentative_ipv6_address_never_counts() {
    let mut l = link(2, "eth0");
    l.addresses.push(v6(1, scope::UNIVERSE, ifa::TENTATIVE));
    let snap = kernel_only(vec![l.clone()]);
    assert!(!evaluate(&named(&["eth0:routable"]), &snap).online);
    l.addresses[0].flags = ifa::TENTATIVE | ifa::DADFAILED;
    assert!(!evaluate(&named(&["eth0:routable"]), &kernel_only(vec![l])).online);
}

#[test]
fn deprecated_address_counts() {
    let mut l = link(2, "eth0");
    l.addresses.push(v6(1, scope::UNIVERSE, ifa::DEPRECATED));
    assert!(evaluate(&named(&["eth0:routable"]), &kernel_only(vec![l])).online);
}

#[test]
fn expired_address_does_not_count() {
    let mut l = link(2, "eth0");
    let mut a = v4(2, scope::UNIVERSE);
    a.valid_until = Some(NOW - Duration::from_secs(1));
    l.addresses.push(a);
    assert!(!evaluate(&named(&["eth0:routable"]), &kernel_only(vec![l])).online);
}

#[test]
fn global_address_without_carrier_is_not_routable() {
    let mut l = no_carrier(2, "eth0");
    l.addresses.push(v4(2, scope::UNIVERSE));
    let verdict = evaluate(&named(&["eth0:routable"]), &kernel_only(vec![l]));
    assert!(!verdict.online);
    assert_eq!(
        explain(&verdict),
        vec!["eth0: operational state is no-carrier, needs routable (no carrier)".to_string()]
    );
}

// ---- bonds and bridges ----

#[test]
fn bridge_with_port_lacking_carrier_is_degraded_carrier() {
    let bridge = link(3, "br0");
    let mut up_port = link(4, "veth0");
    up_port.master = Some(3);
    let mut down_port = no_carrier(5, "veth1");
    down_port.master = Some(3);
    let snap = kernel_only(vec![bridge.clone(), up_port.clone(), down_port]);
    let verdict = evaluate(&named(&["br0:carrier"]), &snap);
    assert_eq!(
        outcome_of(&verdict, "br0"),
        &LinkOutcome::OutOfRange {
            state: OperState::DegradedCarrier,
            range: range("carrier")
        }
    );
    assert!(evaluate(&named(&["br0:degraded-carrier", "veth0:enslaved"]), &snap).online);
    let healthy = kernel_only(vec![bridge, up_port]);
    assert!(evaluate(&named(&["br0:carrier"]), &healthy).online);
}

#[test]
fn degraded_carrier_master_with_global_address_is_routable() {
    let mut bond = routable(3, "bond0");
    bond.kind = Some("bond".into());
    let mut port = no_carrier(4, "eth0");
    port.master = Some(3);
    let snap = kernel_only(vec![bond, port]);
    assert!(evaluate(&named(&["bond0:routable"]), &snap).online);
}

// ---- mode B: no -i ----

#[test]
fn all_links_configured_but_offline_does_not_block_issue_29506() {
    let snap = networkd(
        vec![loopback(), routable(2, "eth0"), link(3, "eth1")],
        vec![
            (1, file(SetupState::Unmanaged)),
            (2, configured()),
            (3, configured()),
        ],
    );
    assert!(evaluate(&Requirements::default(), &snap).online);
}

#[test]
fn all_links_requires_one_online_link_issue_27822() {
    let only_lo = networkd(vec![loopback()], vec![(1, file(SetupState::Unmanaged))]);
    let verdict = evaluate(&Requirements::default(), &only_lo);
    assert!(!verdict.online && verdict.no_online_link);
    assert_eq!(
        explain(&verdict)[0],
        "no link is considered: every link is loopback, ignored, down or not required for online"
    );
}

#[test]
fn all_links_unmanaged_is_never_online_issue_25813() {
    let snap = networkd(
        vec![loopback(), routable(2, "eth0")],
        vec![
            (1, file(SetupState::Unmanaged)),
            (2, file(SetupState::Unmanaged)),
        ],
    );
    let verdict = evaluate(&Requirements::default(), &snap);
    assert!(!verdict.online);
    assert_eq!(
        explain(&verdict),
        vec![
            "no considered link is online yet",
            "eth0: not managed by systemd-networkd"
        ]
    );
}

#[test]
fn all_links_not_required_for_online_is_never_online_even_with_any_issue_29388() {
    let mut f = configured();
    f.required_for_online = false;
    let snap = networkd(vec![loopback(), routable(2, "eth0")], vec![(2, f)]);
    let mut req = Requirements::default();
    assert!(!evaluate(&req, &snap).online);
    req.any = true;
    assert!(
        !evaluate(&req, &snap).online,
        "PR #32016 was rejected: --any does not help"
    );
}

#[test]
fn all_links_pending_or_configuring_link_blocks() {
    let snap = networkd(
        vec![routable(2, "eth0"), no_carrier(3, "eth1")],
        vec![(2, configured()), (3, file(SetupState::Configuring))],
    );
    let verdict = evaluate(&Requirements::default(), &snap);
    assert!(!verdict.online);
    assert_eq!(
        explain(&verdict),
        vec!["eth1: still being configured by systemd-networkd (setup state is configuring)"]
    );
    let no_file = networkd(
        vec![routable(2, "eth0"), routable(3, "eth1")],
        vec![(2, configured())],
    );
    assert!(!evaluate(&Requirements::default(), &no_file).online);
}

#[test]
fn all_links_with_any_one_online_suffices_despite_busy_links() {
    let snap = networkd(
        vec![routable(2, "eth0"), no_carrier(3, "eth1")],
        vec![(2, configured()), (3, file(SetupState::Configuring))],
    );
    let req = Requirements {
        any: true,
        ..Requirements::default()
    };
    assert!(evaluate(&req, &snap).online);
}

#[test]
fn ignore_globs_apply_to_names_and_altnames_in_mode_b_only() {
    let mut busy = no_carrier(3, "wlan0");
    busy.altnames = vec!["wlp2s0".into()];
    let snap = networkd(
        vec![routable(2, "eth0"), busy],
        vec![(2, configured()), (3, file(SetupState::Configuring))],
    );
    let mut req = Requirements {
        ignore: vec![Glob::new("wlp2s0").into()],
        ..Requirements::default()
    };
    let verdict = evaluate(&req, &snap);
    assert!(verdict.online);
    assert_eq!(
        outcome_of(&verdict, "wlan0"),
        &LinkOutcome::Ignored(IgnoreReason::Pattern("wlp2s0".into()))
    );
    req.interfaces = vec![want("wlan0")];
    assert!(
        !evaluate(&req, &snap).online,
        "--ignore is not applied with -i"
    );
}

#[test]
fn loopback_is_skipped_in_mode_b() {
    let snap = networkd(
        vec![loopback(), routable(2, "eth0")],
        vec![(2, configured())],
    );
    let verdict = evaluate(&Requirements::default(), &snap);
    assert!(
        verdict.online,
        "lo has no state file here and would block if considered"
    );
    assert_eq!(
        outcome_of(&verdict, "lo"),
        &LinkOutcome::Ignored(IgnoreReason::Loopback)
    );
}

#[test]
fn operational_state_option_applies_to_all_links_in_mode_b() {
    let snap = networkd(vec![link(2, "eth0")], vec![(2, configured())]);
    let mut req = Requirements::default();
    assert!(!evaluate(&req, &snap).online);
    req.oper_range = Some(range("carrier"));
    assert!(evaluate(&req, &snap).online);
}

// ---- kernel-only mode ----

#[test]
fn kernel_only_down_links_never_block() {
    let mut down = link(3, "eth1");
    down.flags = 0;
    down.kernel_oper = KernelOperState::Down;
    let snap = kernel_only(vec![loopback(), routable(2, "eth0"), down]);
    let verdict = evaluate(&Requirements::default(), &snap);
    assert!(verdict.online);
    assert_eq!(
        outcome_of(&verdict, "eth1"),
        &LinkOutcome::Ignored(IgnoreReason::AdministrativelyDown)
    );
}

#[test]
fn kernel_only_every_up_link_must_reach_the_minimum() {
    let snap = kernel_only(vec![loopback(), routable(2, "eth0"), no_carrier(3, "eth1")]);
    let verdict = evaluate(&Requirements::default(), &snap);
    assert!(!verdict.online);
    assert_eq!(
        explain(&verdict),
        vec!["eth1: operational state is no-carrier, needs degraded (no carrier)"]
    );
    let any = Requirements {
        any: true,
        ..Requirements::default()
    };
    assert!(evaluate(&any, &snap).online);
    let ignored = Requirements {
        ignore: vec![Glob::new("eth*1").into()],
        ..Requirements::default()
    };
    assert!(evaluate(&ignored, &snap).online);
}

#[test]
fn kernel_only_needs_one_online_link() {
    let verdict = evaluate(&Requirements::default(), &kernel_only(vec![loopback()]));
    assert!(!verdict.online && verdict.no_online_link);
}

#[test]
fn kernel_only_named_links_are_judged_on_kernel_facts() {
    let snap = kernel_only(vec![loopback(), routable(2, "eth0")]);
    assert!(evaluate(&named(&["lo:carrier", "eth0:routable"]), &snap).online);
    let verdict = evaluate(&named(&["lo:routable"]), &snap);
    assert_eq!(
        explain(&verdict),
        vec!["lo: operational state is carrier, needs routable (no global IPv4/IPv6 address)"]
    );
}

#[test]
fn out_of_range_above_max_has_no_hint() {
    let snap = kernel_only(vec![routable(2, "eth0")]);
    let verdict = evaluate(&named(&["eth0:no-carrier:carrier"]), &snap);
    assert_eq!(
        explain(&verdict),
        vec!["eth0: operational state is routable, needs between no-carrier and carrier"]
    );
}

// ---- properties ----

/// A random link, or as often a routable one: without those, online verdicts are rare and
/// the properties about them would check little.
fn arb_link(ifindex: u32) -> impl Strategy<Value = KernelLink> {
    prop_oneof![
        arb_any_link(ifindex),
        Just(routable(ifindex, &format!("eth{ifindex}")))
    ]
}

fn arb_any_link(ifindex: u32) -> impl Strategy<Value = KernelLink> {
    (
        any::<bool>(),
        prop_oneof![
            Just(KernelOperState::Up),
            Just(KernelOperState::LowerLayerDown),
            Just(KernelOperState::Down),
            Just(KernelOperState::Dormant),
            Just(KernelOperState::Unknown)
        ],
        any::<u8>(),
        proptest::collection::vec(
            (
                any::<bool>(),
                prop_oneof![Just(scope::UNIVERSE), Just(scope::LINK), Just(scope::HOST)],
                prop_oneof![Just(0u32), Just(ifa::TENTATIVE), Just(ifa::DEPRECATED)],
            ),
            0..3,
        ),
        proptest::option::of(1u32..5),
    )
        .prop_map(move |(up, oper, flagbits, addrs, master)| {
            let mut l = link(ifindex, &format!("eth{ifindex}"));
            let running = if flagbits & 1 != 0 { iff::RUNNING } else { 0 };
            let lower_up = if flagbits & 2 != 0 { iff::LOWER_UP } else { 0 };
            let loopback = if flagbits & 4 != 0 { iff::LOOPBACK } else { 0 };
            l.flags = (if up { iff::UP } else { 0 }) | running | lower_up | loopback;
            l.kernel_oper = oper;
            l.master = master.filter(|m| *m != ifindex);
            l.addresses = addrs
                .into_iter()
                .enumerate()
                .map(|(i, (v6_, scope, flags))| {
                    if v6_ {
                        v6(i as u16 + 1, scope, flags)
                    } else {
                        let mut a = v4(i as u8 + 1, scope);
                        a.flags = flags;
                        a
                    }
                })
                .collect();
            l
        })
}

/// No state file, a random one or (as often as a random one) a configured link's.
fn arb_setup() -> impl Strategy<Value = Option<NetworkdLink>> {
    proptest::option::of(prop_oneof![arb_any_setup(), Just(configured())])
}

fn arb_any_setup() -> impl Strategy<Value = NetworkdLink> {
    (
        prop_oneof![
            Just(SetupState::Configured),
            Just(SetupState::Configuring),
            Just(SetupState::Unmanaged),
            Just(SetupState::Pending)
        ],
        any::<bool>(),
        proptest::option::of(0usize..9),
    )
        .prop_map(|(setup, required, min)| NetworkdLink {
            setup: Some(setup),
            required_for_online: required,
            required_range: min.map(|m| OperStateRange {
                min: OperState::ALL[m],
                max: OperState::Routable,
            }),
            required_families: RequiredFamilies::NONE,
            ..NetworkdLink::default()
        })
}

fn arb_snapshot() -> impl Strategy<Value = Snapshot> {
    (
        arb_link(1),
        arb_link(2),
        arb_link(3),
        arb_link(4),
        proptest::collection::vec(arb_setup(), 4),
        any::<bool>(),
    )
        .prop_map(|(a, b, c, d, files, with_networkd)| {
            let links = vec![a, b, c, d];
            if with_networkd {
                let files = files
                    .into_iter()
                    .enumerate()
                    .filter_map(|(i, f)| f.map(|f| (i as u32 + 1, f)))
                    .collect();
                networkd(links, files)
            } else {
                kernel_only(links)
            }
        })
}

fn arb_requirements() -> impl Strategy<Value = Requirements> {
    (
        proptest::collection::vec(
            (1u32..6, proptest::option::of((0usize..9, 0usize..9))),
            0..3,
        ),
        any::<bool>(),
        proptest::option::of(0usize..9),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(ifs, any, o, v4_, v6_)| Requirements {
            interfaces: ifs
                .into_iter()
                .map(|(i, r)| InterfaceRequirement {
                    name: IfName::new(&format!("eth{i}")).unwrap(),
                    range: r.map(|(a, b)| OperStateRange {
                        min: OperState::ALL[a.min(b)],
                        max: OperState::ALL[a.max(b)],
                    }),
                })
                .collect(),
            ignore: Vec::new(),
            oper_range: o.map(|m| OperStateRange {
                min: OperState::ALL[m],
                max: OperState::Routable,
            }),
            families: RequiredFamilies {
                ipv4: v4_,
                ipv6: v6_,
            },
            any,
            dns: false,
            dns_probe: None,
            route: Default::default(),
            carrier_timeout: None,
            time_sync: false,
            dns_grace: None,
            routes: Vec::new(),
            reach: Vec::new(),
            connectivity: Default::default(),
        })
}

/// Cases per property.
const CASES: u32 = 2000;

/// Runs `property` on [`CASES`] inputs from `strategy` and returns in how many it reached the
/// assertion it exists for (the property says so by returning `true`). A property whose
/// precondition no input meets would pass without checking anything: each test below asserts
/// a minimum share of reached cases, which the report prints.
fn cases_reaching<S: Strategy>(
    name: &str,
    strategy: S,
    property: impl Fn(S::Value) -> Result<bool, TestCaseError>,
) -> u32 {
    let reached = std::cell::Cell::new(0);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: CASES,
        // as proptest! does: failures are remembered next to this file
        source_file: Some(file!()),
        ..ProptestConfig::default()
    });
    let result = runner.run(&strategy, |value| {
        if property(value)? {
            reached.set(reached.get() + 1);
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
    eprintln!(
        "{name}: {} of {CASES} cases reached the assertion",
        reached.get()
    );
    reached.get()
}

/// At least `percent` % of [`CASES`].
fn share(percent: u32) -> u32 {
    CASES * percent / 100
}

#[test]
fn never_online_when_a_named_link_lacks_its_range() {
    let reached = cases_reaching(
        "never_online_when_a_named_link_lacks_its_range",
        (arb_snapshot(), arb_requirements()),
        |(snap, mut req)| {
            req.any = false;
            let verdict = evaluate(&req, &snap);
            if !verdict.online || req.interfaces.is_empty() {
                return Ok(false);
            }
            for wanted in &req.interfaces {
                match snap.link_by_name(wanted.name.as_str()) {
                    None => prop_assert_eq!(wanted.range.map(|r| r.min), Some(OperState::Missing)),
                    Some(link) => {
                        let degraded = snap.masters_with_port_lacking_carrier();
                        let state = snap.status(link, &degraded).oper;
                        let range = wanted
                            .range
                            .or(req.oper_range)
                            .or(snap
                                .networkd_link(link.ifindex)
                                .and_then(|f| f.required_range))
                            .unwrap_or(OperStateRange::DEFAULT);
                        prop_assert!(
                            range.contains(state),
                            "{} is {} outside {}",
                            wanted.name,
                            state,
                            range
                        );
                    }
                }
            }
            Ok(true)
        },
    );
    // About 6 %: -i names a link out of range or absent more often than not.
    assert!(
        reached >= share(3),
        "only {reached} online verdicts with named links"
    );
}

#[test]
fn adding_a_ready_address_never_turns_named_online_into_offline() {
    let reached = cases_reaching(
        "adding_a_ready_address_never_turns_named_online_into_offline",
        (arb_snapshot(), arb_requirements(), 1u32..5, any::<bool>()),
        |(snap, req, target, global)| {
            let mut req = Requirements {
                interfaces: req
                    .interfaces
                    .into_iter()
                    .map(|mut i| {
                        if let Some(r) = &mut i.range {
                            r.max = OperState::Routable;
                        }
                        i
                    })
                    .collect(),
                ..req
            };
            if req.interfaces.is_empty() {
                req.interfaces.push(want(&format!("eth{target}")));
            }
            if !evaluate(&req, &snap).online {
                return Ok(false);
            }
            let mut more = snap.clone();
            let link = more
                .kernel
                .links
                .get_mut(&target)
                .expect("the snapshot has links 1 to 4");
            let scope = if global { scope::UNIVERSE } else { scope::LINK };
            link.addresses.push(v4(200, scope));
            prop_assert!(evaluate(&req, &more).online);
            Ok(true)
        },
    );
    assert!(reached >= share(10), "only {reached} online verdicts");
}

#[test]
fn online_with_any_means_some_link_satisfied() {
    let reached =
        cases_reaching(
            "online_with_any_means_some_link_satisfied",
            (arb_snapshot(), arb_requirements()),
            |(snap, mut req)| {
                req.any = true;
                let verdict = evaluate(&req, &snap);
                if !verdict.online {
                    return Ok(false);
                }
                prop_assert!(verdict.links.iter().any(|r| matches!(
                    r.outcome,
                    LinkOutcome::Online | LinkOutcome::AbsentAllowed
                )));
                Ok(true)
            },
        );
    assert!(reached >= share(10), "only {reached} online verdicts");
}

#[test]
fn all_links_online_means_nothing_busy_and_one_online() {
    // Both branches assert: count the online one, the rarer.
    let reached = cases_reaching(
        "all_links_online_means_nothing_busy_and_one_online",
        (arb_snapshot(), arb_requirements()),
        |(snap, mut req)| {
            req.interfaces.clear();
            req.any = false;
            let verdict = evaluate(&req, &snap);
            if verdict.online {
                prop_assert!(
                    verdict
                        .links
                        .iter()
                        .any(|r| r.outcome == LinkOutcome::Online)
                );
                let busy = verdict.links.iter().any(|r| {
                    matches!(
                        r.outcome,
                        LinkOutcome::NotProcessed { .. } | LinkOutcome::Configuring(_)
                    )
                });
                prop_assert!(!busy);
            } else {
                prop_assert!(
                    !explain(&verdict).is_empty(),
                    "a negative verdict always says why"
                );
            }
            Ok(verdict.online)
        },
    );
    assert!(reached >= share(10), "only {reached} online verdicts");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn negative_verdict_always_explains_itself(snap in arb_snapshot(), req in arb_requirements()) {
        let verdict = evaluate(&req, &snap);
        prop_assert_eq!(verdict.online, explain(&verdict).is_empty());
    }
}

// ---- --dns and --dns-probe ----

fn with_dns(mut snap: Snapshot, link_servers: &[(u32, bool)], default_route: bool) -> Snapshot {
    use crate::core::dns::{DnsScope, DnsServer, DnsSource};
    snap.dns.source = DnsSource::Resolved;
    for &(ifindex, accessible) in link_servers {
        snap.dns.links.insert(
            ifindex,
            DnsScope {
                servers: vec![DnsServer {
                    address: IpAddr::V4(Ipv4Addr::new(10, 77, 0, 1)),
                    accessible,
                }],
                default_route,
                ..DnsScope::default()
            },
        );
    }
    snap
}

#[test]
fn dns_requires_an_accessible_server_for_the_link() {
    let snap = with_dns(
        networkd(vec![routable(2, "eth0")], vec![(2, configured())]),
        &[(2, false)],
        true,
    );
    let mut req = named(&["eth0"]);
    req.dns = true;
    let verdict = evaluate(&req, &snap);
    assert!(!verdict.online);
    assert_eq!(
        explain(&verdict),
        vec!["eth0: its DNS server 10.77.0.1 is not accessible (no route)"]
    );
    let fixed = with_dns(snap, &[(2, true)], true);
    assert!(evaluate(&req, &fixed).online);
    req.dns = false;
    assert!(
        evaluate(
            &req,
            &with_dns(
                networkd(vec![routable(2, "eth0")], vec![(2, configured())]),
                &[],
                true
            )
        )
        .online
    );
}

#[test]
fn dns_unmet_is_configured_but_offline_in_mode_b_with_any() {
    // Netplan's second line: --any --dns -o routable, one link with DNS suffices.
    let snap = with_dns(
        networkd(
            vec![routable(2, "eth0"), routable(3, "eth1")],
            vec![(2, configured()), (3, configured())],
        ),
        &[(2, false), (3, true)],
        true,
    );
    let req = Requirements {
        any: true,
        dns: true,
        oper_range: Some(range("routable")),
        ..Requirements::default()
    };
    assert!(evaluate(&req, &snap).online);
    let no_any = Requirements { any: false, ..req };
    assert!(
        evaluate(&no_any, &snap).online,
        "eth0's DNS problem does not block (#29506), eth1 is online"
    );
}

#[test]
fn dns_probe_must_resolve_on_top_of_the_links() {
    use crate::core::dns::{ProbeFailure, ProbeState};
    let mut snap = kernel_only(vec![routable(2, "eth0")]);
    let mut req = named(&["eth0"]);
    req.dns_probe = Some("example.test".into());
    assert_eq!(
        explain(&evaluate(&req, &snap)),
        vec!["DNS probe example.test has not resolved yet"]
    );
    snap.dns.probe = ProbeState::Failed(ProbeFailure::ServFail);
    assert_eq!(
        explain(&evaluate(&req, &snap)),
        vec!["DNS probe example.test failed: SERVFAIL"]
    );
    snap.dns.probe = ProbeState::Resolved(vec![IpAddr::V4(Ipv4Addr::new(192, 0, 2, 80))]);
    assert!(evaluate(&req, &snap).online);
}
