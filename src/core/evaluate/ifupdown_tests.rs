//! `--manager=ifupdown`: a link no `auto` nor `allow-hotplug` line names is not ifupdown's
//! (it never blocks without `-i`; with `-i` the kernel decides); one it brings up blocks
//! until ifup has finished well, then the kernel's facts decide; a failure is named.

use super::*;
use crate::core::fixtures::{self, wanted};
use crate::core::ifupdown::{IfaceEntry, IfaceState, IfupdownConfig, IfupdownFacts};
use crate::core::link::scope;
use crate::report::outcome::OutcomeWords;

/// wo0 (auto) and wo1 (allow-hotplug) routable, wo2 in no class and without carrier.
fn snapshot(wo0: IfaceState, wo1: IfaceState) -> Snapshot {
    let mut snap = fixtures::kernel_only(vec![
        fixtures::link(2, "wo0", true, Some(scope::UNIVERSE)),
        fixtures::link(3, "wo1", true, Some(scope::UNIVERSE)),
        fixtures::link(4, "wo2", false, None),
    ]);
    snap.ifupdown = Some(IfupdownFacts {
        config: IfupdownConfig {
            auto: vec![
                IfaceEntry::Name("lo".into()),
                IfaceEntry::Name("wo0".into()),
            ],
            hotplug: vec![IfaceEntry::Name("wo1".into())],
        },
        states: [("wo0".to_string(), wo0), ("wo1".to_string(), wo1)].into(),
    });
    snap
}

// (listed, tried, locked, pid file)
const UP: IfaceState = IfaceState::of(true, true, false, false);
const RUNNING: IfaceState = IfaceState::of(true, true, true, true);
const FAILED: IfaceState = IfaceState::of(false, true, false, false);
const NONE: IfaceState = IfaceState::of(false, false, false, false);

fn outcome(verdict: &Verdict, name: &str) -> LinkOutcome {
    let report = verdict.links.iter().find(|r| r.name == name).expect(name);
    report.outcome.clone()
}

#[test]
fn without_i_ifupdowns_links_block_until_ifup_finished_well() {
    // (wo0, wo1, online, wo0's outcome)
    let table = [
        (UP, UP, true, LinkOutcome::Online),
        // Listed while ifup runs: listed is not up.
        (RUNNING, UP, false, LinkOutcome::Ifup(Progress::Running)),
        (NONE, UP, false, LinkOutcome::Ifup(Progress::NotStarted)),
        (FAILED, UP, false, LinkOutcome::Ifup(Progress::Failed)),
        (UP, RUNNING, false, LinkOutcome::Online),
    ];
    for (wo0, wo1, online, want) in table {
        let verdict = evaluate(&Requirements::default(), &snapshot(wo0, wo1));
        assert_eq!(verdict.online, online, "{wo0:?} {wo1:?}");
        assert_eq!(outcome(&verdict, "wo0"), want);
        // wo2 is in no class: not ifupdown's, never blocking, though it has no carrier.
        assert_eq!(outcome(&verdict, "wo2"), LinkOutcome::Unmanaged);
        assert!(!verdict.links.iter().any(|r| r.name == "wo2" && r.blocking));
        for report in &verdict.links {
            assert_eq!(report.manager, Some(ManagerKind::Ifupdown));
        }
    }
}

#[test]
fn up_is_not_online_the_kernels_facts_decide_after_ifup() {
    let mut snap = snapshot(UP, UP);
    snap.kernel
        .links
        .get_mut(&2)
        .expect("wo0")
        .addresses
        .clear();
    let requirements = Requirements {
        oper_range: Some(OperStateRange {
            min: OperState::Routable,
            max: OperState::Routable,
        }),
        ..Requirements::default()
    };
    let verdict = evaluate(&requirements, &snap);
    assert!(!verdict.online);
    assert!(matches!(
        outcome(&verdict, "wo0"),
        LinkOutcome::OutOfRange { .. }
    ));
}

#[test]
fn with_i_a_link_ifupdown_does_not_bring_up_is_judged_on_kernel_facts() {
    let requirements = Requirements {
        interfaces: wanted(&["wo2:no-carrier"]),
        ..Requirements::default()
    };
    let verdict = evaluate(&requirements, &snapshot(NONE, NONE));
    assert!(verdict.online);
    let requirements = Requirements {
        interfaces: wanted(&["wo0", "wo1"]),
        any: true,
        ..Requirements::default()
    };
    let verdict = evaluate(&requirements, &snapshot(FAILED, UP));
    assert!(verdict.online, "--any: wo1 is enough");
}

#[test]
fn a_failure_is_named_with_the_interface() {
    let verdict = evaluate(&Requirements::default(), &snapshot(FAILED, UP));
    let report = verdict.blocking().next().expect("wo0 blocks");
    assert_eq!(report.name, "wo0");
    assert_eq!(
        OutcomeWords(report).to_string(),
        "ifup failed to bring it up (it exited with an error)"
    );
    let verdict = evaluate(&Requirements::default(), &snapshot(UP, UP));
    let wo2 = verdict.links.iter().find(|r| r.name == "wo2").expect("wo2");
    assert_eq!(
        OutcomeWords(wo2).to_string(),
        "not brought up by ifupdown (no auto or allow-hotplug line names it)"
    );
}

/// NetworkManager's view in [`per_link`]: (known, the devices it manages), or not followed.
type NmView<'a> = Option<(bool, &'a [&'a str])>;

/// `--manager=auto` where ifupdown brings up links: wo0 (auto) and wo1 (allow-hotplug) are
/// ifupdown's unless networkd or NetworkManager manages them; wo2 (on no line) is judged as
/// before. NetworkManager's `devices` map names the devices it manages.
fn per_link(networkd: Option<&[(u32, SetupState)]>, nm: NmView) -> Snapshot {
    use crate::core::networkmanager::{Device, DeviceState, NetworkManagerFacts};
    let mut snap = snapshot(RUNNING, RUNNING);
    snap.policy = crate::core::snapshot::ManagerPolicy::PerLink;
    snap.networkd = networkd.map(|files| {
        files
            .iter()
            .map(|(ifindex, setup)| {
                let file = NetworkdLink {
                    setup: Some(setup.clone()),
                    ..NetworkdLink::default()
                };
                (*ifindex, file)
            })
            .collect()
    });
    snap.networkmanager = nm.map(|(known, managed)| NetworkManagerFacts {
        known,
        running: known,
        seen: known,
        devices: managed
            .iter()
            .map(|name| {
                let device = Device {
                    state: DeviceState::Activated,
                    managed: true,
                    connection: None,
                };
                (name.to_string(), device)
            })
            .collect(),
        ..NetworkManagerFacts::default()
    });
    snap
}

#[test]
fn auto_picks_ifupdown_for_the_links_it_names_that_no_other_manager_manages() {
    use ManagerKind::{Ifupdown, Kernel, NetworkManager, Networkd};
    let configured: &[(u32, SetupState)] = &[(2, SetupState::Configured)];
    let unmanaged: &[(u32, SetupState)] = &[(2, SetupState::Unmanaged), (4, SetupState::Unmanaged)];
    // (networkd's files, NetworkManager (known, managed devices), managers of wo0, wo1, wo2)
    let table: [(_, NmView, [ManagerKind; 3]); 7] = [
        // ifupdown alone (a Debian server): its links, the others on kernel facts.
        (None, None, [Ifupdown, Ifupdown, Kernel]),
        // networkd manages wo0: networkd's; wo2 has no file: networkd's rules.
        (Some(configured), None, [Networkd, Ifupdown, Networkd]),
        // networkd runs but leaves wo0 alone: ifupdown's.
        (Some(unmanaged), None, [Ifupdown, Ifupdown, Networkd]),
        // NetworkManager manages wo1 (ifupdown's plugin lets it): NetworkManager's.
        (
            None,
            Some((true, &["wo1"])),
            [Ifupdown, NetworkManager, NetworkManager],
        ),
        // NetworkManager leaves ifupdown's links alone (its default on Debian).
        (
            None,
            Some((true, &[])),
            [Ifupdown, Ifupdown, NetworkManager],
        ),
        // Before NetworkManager's view is known, nothing is judged by another's rules.
        (
            None,
            Some((false, &[])),
            [NetworkManager, NetworkManager, NetworkManager],
        ),
        // All three: networkd first, then NetworkManager, then ifupdown.
        (
            Some(configured),
            Some((true, &["wo1"])),
            [Networkd, NetworkManager, Networkd],
        ),
    ];
    for (networkd, nm, want) in table {
        let verdict = evaluate(&Requirements::default(), &per_link(networkd, nm));
        let got: Vec<_> = ["wo0", "wo1", "wo2"]
            .iter()
            .map(|name| {
                let report = verdict.links.iter().find(|r| r.name == *name).expect(name);
                report.manager.expect("a manager")
            })
            .collect();
        assert_eq!(got, want, "{networkd:?} {nm:?}");
        // ifupdown's links wait for ifup (running in every row).
        for (name, manager) in ["wo0", "wo1"].iter().zip(want) {
            if manager == Ifupdown {
                assert_eq!(
                    outcome(&verdict, name),
                    LinkOutcome::Ifup(Progress::Running)
                );
            }
        }
    }
}

#[test]
fn an_auto_interface_the_kernel_lacks_blocks_until_ifup_brought_it_up() {
    // br0 on an `auto` line, not (yet) in the kernel: ifup creates it.
    let with_br0 = |br0: Option<IfaceState>| {
        let mut snap = snapshot(UP, UP);
        let facts = snap.ifupdown.as_mut().expect("ifupdown");
        facts.config.auto.push(IfaceEntry::Name("br0".into()));
        if let Some(state) = br0 {
            facts.states.insert("br0".into(), state);
        }
        snap
    };
    // (br0's state, br0's outcome)
    let table = [
        (None, LinkOutcome::Ifup(Progress::NotStarted)),
        (Some(RUNNING), LinkOutcome::Ifup(Progress::Running)),
        (Some(FAILED), LinkOutcome::Ifup(Progress::Failed)),
        // Listed as up, but gone from the kernel.
        (Some(UP), LinkOutcome::Absent),
    ];
    for (br0, want) in table {
        let verdict = evaluate(&Requirements::default(), &with_br0(br0));
        assert!(!verdict.online, "{br0:?}");
        let report = verdict.links.iter().find(|r| r.name == "br0").expect("br0");
        assert_eq!((&report.outcome, report.blocking), (&want, true), "{br0:?}");
        assert_eq!(report.manager, Some(ManagerKind::Ifupdown));
        // lo, on an `auto` line and absent from these facts, is never one of them.
        assert!(!verdict.links.iter().any(|r| r.name == "lo"));
    }
    // --ignore drops it; with -i only the named links count.
    let ignoring = Requirements {
        ignore: vec![crate::core::name_pattern::NamePattern::new("br*", |n| {
            n.starts_with("br")
        })],
        ..Requirements::default()
    };
    assert!(evaluate(&ignoring, &with_br0(None)).online);
    let named = Requirements {
        interfaces: wanted(&["wo0"]),
        ..Requirements::default()
    };
    assert!(evaluate(&named, &with_br0(None)).online);
}
