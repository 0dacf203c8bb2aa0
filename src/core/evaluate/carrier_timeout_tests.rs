//! `--carrier-timeout`: a link that must be online and has had no carrier for the timeout stops
//! being waited for; when nothing else is left, the verdict is hopeless. One test per rule.

use std::time::Duration;

use super::*;
use crate::core::fixtures;
use crate::core::link::scope;
use crate::report::reason::explain;

const START: Duration = Duration::from_secs(100);
const TIMEOUT: Duration = Duration::from_secs(5);

fn link(ifindex: u32, name: &str, carrier: bool, routable: bool) -> KernelLink {
    fixtures::link(ifindex, name, carrier, routable.then_some(scope::UNIVERSE))
}

/// The links, first seen at START (carrier noted then), judged `after` later.
fn snapshot(links: Vec<KernelLink>, after: Duration) -> Snapshot {
    let mut snap = fixtures::kernel_only(links);
    snap.now = START;
    snap.note_carrier();
    snap.now = START + after;
    snap.note_carrier();
    snap
}

fn named(names: &[&str], any: bool) -> Requirements {
    Requirements {
        interfaces: names
            .iter()
            .map(|n| InterfaceRequirement {
                name: IfName::new(n).unwrap(),
                range: None,
            })
            .collect(),
        any,
        carrier_timeout: Some(TIMEOUT),
        ..Requirements::default()
    }
}

#[test]
fn an_unplugged_link_stops_blocking_once_the_timeout_passed() {
    let links = || vec![link(2, "eth0", true, true), link(3, "eth1", false, false)];
    let early = evaluate(
        &named(&["eth0", "eth1"], false),
        &snapshot(links(), TIMEOUT / 2),
    );
    assert!(!early.online && !early.hopeless);
    let late = evaluate(
        &named(&["eth0", "eth1"], false),
        &snapshot(links(), TIMEOUT),
    );
    assert!(late.online, "{late:?}");
    assert_eq!(late.links[1].outcome, LinkOutcome::NoCarrier(TIMEOUT));
    assert_eq!(
        late.links[1].to_string(),
        "eth1: no carrier for 5.0s, not waited for (--carrier-timeout)"
    );
    // Off by default: upstream's semantics, it blocks until the timeout.
    let mut off = named(&["eth0", "eth1"], false);
    off.carrier_timeout = None;
    assert!(!evaluate(&off, &snapshot(links(), TIMEOUT * 10)).online);
}

#[test]
fn nothing_left_that_could_come_online_is_hopeless() {
    let only = evaluate(
        &named(&["eth1"], false),
        &snapshot(vec![link(3, "eth1", false, false)], TIMEOUT),
    );
    assert!(!only.online && only.hopeless, "{only:?}");
    assert_eq!(
        explain(&only),
        ["eth1: no carrier for 5.0s, not waited for (--carrier-timeout)"]
    );
    // With --any, one link that still has carrier keeps the wait going.
    let links = vec![link(2, "eth0", true, false), link(3, "eth1", false, false)];
    let any = evaluate(&named(&["eth0", "eth1"], true), &snapshot(links, TIMEOUT));
    assert!(!any.online && !any.hopeless, "{any:?}");
}

#[test]
fn carrier_regained_counts_again_from_zero() {
    let mut snap = snapshot(vec![link(3, "eth1", false, false)], TIMEOUT);
    snap.kernel.links.insert(3, link(3, "eth1", true, false));
    snap.note_carrier();
    let verdict = evaluate(&named(&["eth1"], false), &snap);
    assert!(!verdict.hopeless);
    assert!(matches!(
        verdict.links[0].outcome,
        LinkOutcome::OutOfRange { .. }
    ));
    // Lost again: a fresh count.
    snap.kernel.links.insert(3, link(3, "eth1", false, false));
    snap.note_carrier();
    snap.now += TIMEOUT / 2;
    assert!(!evaluate(&named(&["eth1"], false), &snap).hopeless);
}

#[test]
fn without_interfaces_given_up_links_do_not_block_and_alone_are_hopeless() {
    let mut all = named(&[], false);
    all.interfaces.clear();
    let links = vec![link(2, "eth0", true, true), link(3, "eth1", false, false)];
    let verdict = evaluate(&all, &snapshot(links, TIMEOUT));
    assert!(verdict.online, "{verdict:?}");
    let alone = evaluate(
        &all,
        &snapshot(vec![link(3, "eth1", false, false)], TIMEOUT),
    );
    assert!(!alone.online && alone.hopeless, "{alone:?}");
    assert!(alone.blocking().any(|r| r.name == "eth1"));
}
