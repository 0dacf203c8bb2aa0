use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::*;
use crate::core::goal::Goal;
use crate::core::link::{Address, KernelOperState, iff};
use crate::core::route::{Route, table};
use crate::core::{IfName, InterfaceRequirement, Manager, OperStateRange, Requirements};

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

fn address(ip: IpAddr, scope: u8) -> Address {
    Address {
        family: if ip.is_ipv4() {
            Family::Ipv4
        } else {
            Family::Ipv6
        },
        address: ip,
        prefix_len: 24,
        scope,
        flags: 0,
        valid_until: None,
    }
}

fn link(ifindex: u32, name: &str, addresses: Vec<Address>) -> KernelLink {
    KernelLink {
        ifindex,
        name: name.into(),
        flags: iff::UP | iff::RUNNING | iff::LOWER_UP,
        kernel_oper: KernelOperState::Up,
        addresses,
        ..KernelLink::default()
    }
}

fn default_route(family: Family, oif: u32, gateway: Option<IpAddr>) -> Route {
    Route {
        family,
        table: table::MAIN,
        destination: None,
        prefix_len: 0,
        tos: 0,
        priority: 0,
        gateway,
        oif: Some(oif),
        kind: 1,
        scope: 0,
    }
}

fn snapshot(links: Vec<KernelLink>, routes: Vec<Route>) -> Snapshot {
    let mut snap = Snapshot::new(Manager::KernelOnly);
    snap.kernel.links = links.into_iter().map(|l| (l.ifindex, l)).collect();
    snap.kernel.routes = routes.into_iter().collect();
    snap
}

fn awaiting(snap: &Snapshot, specs: &[&str]) -> GoalVerdict {
    let interfaces = specs
        .iter()
        .map(|spec| {
            let (name, range) = spec.split_once(':').unwrap_or((spec, ""));
            InterfaceRequirement {
                name: IfName::new(name).unwrap(),
                range: (!range.is_empty()).then(|| range.parse::<OperStateRange>().unwrap()),
            }
        })
        .collect();
    Goal::Upstream(Requirements {
        interfaces,
        ..Requirements::default()
    })
    .evaluate(snap)
}

fn no_rp_filter(_: &str) -> Option<u8> {
    None
}

const GLOBAL: u8 = scope::UNIVERSE;
const LINK: u8 = scope::LINK;

#[test]
fn healthy_single_homed_host_has_no_pitfalls() {
    let snap = snapshot(
        vec![link(2, "wo0", vec![address(v4(10, 0, 0, 2), GLOBAL)])],
        vec![default_route(Family::Ipv4, 2, Some(v4(10, 0, 0, 1)))],
    );
    let verdict = awaiting(&snap, &["wo0:routable"]);
    assert!(verdict.online);
    assert_eq!(find(&snap, &verdict, no_rp_filter), vec![]);
}

#[test]
fn link_local_only_is_reported_when_degraded_was_accepted() {
    let snap = snapshot(
        vec![link(
            2,
            "wo0",
            vec![
                address(v4(169, 254, 3, 4), LINK),
                address(IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2)), LINK),
            ],
        )],
        vec![],
    );
    let verdict = awaiting(&snap, &["wo0:degraded"]);
    assert!(verdict.online);
    let found = find(&snap, &verdict, no_rp_filter);
    assert_eq!(
        found,
        vec![Pitfall::LinkLocalOnly {
            interface: "wo0".into()
        }]
    );
    assert!(found[0].to_string().contains("-i wo0:routable"));
    // Not reported while the link is not online (the verdict already says what is missing).
    let verdict = awaiting(&snap, &["wo0:routable"]);
    assert!(!verdict.online);
    assert_eq!(find(&snap, &verdict, no_rp_filter), vec![]);
}

#[test]
fn link_local_range_with_global_scope_is_still_link_local() {
    // `ip addr add 169.254.3.4/16` without `scope link` makes the link routable.
    let snap = snapshot(
        vec![link(2, "wo0", vec![address(v4(169, 254, 3, 4), GLOBAL)])],
        vec![],
    );
    let verdict = awaiting(&snap, &["wo0:routable"]);
    assert!(verdict.online);
    assert_eq!(
        find(&snap, &verdict, no_rp_filter),
        vec![Pitfall::LinkLocalOnly {
            interface: "wo0".into()
        }],
        "and no 'global address without default route' for it"
    );
}

#[test]
fn global_address_without_default_route() {
    let snap = snapshot(
        vec![link(2, "wo0", vec![address(v4(10, 0, 0, 2), GLOBAL)])],
        vec![],
    );
    let verdict = awaiting(&snap, &["wo0"]);
    assert_eq!(
        find(&snap, &verdict, no_rp_filter),
        vec![Pitfall::NoDefaultRoute {
            family: Family::Ipv4,
            interface: "wo0".into()
        }]
    );
}

#[test]
fn default_route_on_another_interface_than_the_awaited_one() {
    let snap = snapshot(
        vec![
            link(2, "wo0", vec![address(v4(10, 0, 0, 2), GLOBAL)]),
            link(3, "wo1", vec![address(v4(10, 1, 0, 2), GLOBAL)]),
        ],
        vec![default_route(Family::Ipv4, 3, Some(v4(10, 1, 0, 1)))],
    );
    let verdict = awaiting(&snap, &["wo0"]);
    let found = find(&snap, &verdict, no_rp_filter);
    assert_eq!(
        found,
        vec![Pitfall::DefaultRouteElsewhere {
            family: Family::Ipv4,
            interfaces: vec!["wo0".into()],
            via: "wo1".into()
        }]
    );
    // Awaiting both: one of them carries it, nothing to say.
    let verdict = awaiting(&snap, &["wo0", "wo1"]);
    assert_eq!(find(&snap, &verdict, no_rp_filter), vec![]);
}

#[test]
fn strict_rp_filter_on_a_multi_homed_host() {
    let snap = snapshot(
        vec![
            link(2, "wo0", vec![address(v4(10, 0, 0, 2), GLOBAL)]),
            link(3, "wo1", vec![address(v4(10, 1, 0, 2), GLOBAL)]),
        ],
        vec![default_route(Family::Ipv4, 2, Some(v4(10, 0, 0, 1)))],
    );
    let verdict = awaiting(&snap, &["wo0", "wo1"]);
    let strict_on = |name: &str| -> Option<u8> {
        match name {
            "all" => Some(0),
            "wo1" => Some(1),
            _ => Some(0),
        }
    };
    assert_eq!(
        find(&snap, &verdict, strict_on),
        vec![Pitfall::StrictReversePath {
            interface: "wo1".into(),
            via: "wo0".into()
        }]
    );
    // `all` raises every interface to its value; loose (2) wins over strict (1).
    let all_strict = |name: &str| if name == "all" { Some(1) } else { Some(0) };
    assert_eq!(find(&snap, &verdict, all_strict).len(), 1);
    let loose = |name: &str| if name == "all" { Some(2) } else { Some(1) };
    assert_eq!(find(&snap, &verdict, loose), vec![]);
    // The interface carrying the default route is never flagged.
    let everything_strict = |_: &str| Some(1);
    let found = find(&snap, &verdict, everything_strict);
    assert!(found.iter().all(|p| !p.to_string().starts_with("wo0")));
}

#[test]
fn failed_or_incomplete_gateway_neighbour() {
    let gateway = v4(10, 0, 0, 1);
    let mut snap = snapshot(
        vec![link(2, "wo0", vec![address(v4(10, 0, 0, 2), GLOBAL)])],
        vec![default_route(Family::Ipv4, 2, Some(gateway))],
    );
    for (bits, reported) in [(0x20, true), (0x01, true), (0x02, false), (0x04, false)] {
        let state = NeighbourState::from_bits(bits);
        snap.kernel.neighbours.insert((2, gateway), state);
        let verdict = awaiting(&snap, &["wo0"]);
        let expected = if reported {
            vec![Pitfall::GatewayUnanswered {
                family: Family::Ipv4,
                gateway,
                interface: "wo0".into(),
                state,
            }]
        } else {
            vec![]
        };
        assert_eq!(find(&snap, &verdict, no_rp_filter), expected, "{state}");
    }
}
