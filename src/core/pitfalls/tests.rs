use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use super::*;
use crate::core::fixtures;
use crate::core::link::{Address, KernelOperState, ifa};
use crate::core::route::{Route, table};

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

use fixtures::up_link as link;

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
    let mut snap = fixtures::kernel_only(links);
    snap.kernel.routes = routes.into_iter().collect();
    snap
}

fn awaiting(snap: &Snapshot, specs: &[&str]) -> GoalVerdict {
    fixtures::upstream(specs).evaluate(snap)
}

/// The adapter's facts, made up: sysctls by key (`otherwise` for the rest), the kernel's
/// route lookup answer, when addresses were first seen tentative; records the lookups.
#[derive(Default)]
struct Facts {
    sysctls: BTreeMap<String, i64>,
    otherwise: Option<i64>,
    route: Option<RouteChoice>,
    tentative: BTreeMap<(u32, IpAddr), Duration>,
    looked_up: RefCell<Vec<IpAddr>>,
}

impl Facts {
    fn sysctls(values: &[(&str, i64)]) -> Facts {
        Facts {
            sysctls: values.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            ..Facts::default()
        }
    }
}

impl HostFacts for Facts {
    fn sysctl(&self, key: &str) -> Option<i64> {
        self.sysctls.get(key).copied().or(self.otherwise)
    }

    fn route_to(&self, destination: IpAddr) -> Option<RouteChoice> {
        self.looked_up.borrow_mut().push(destination);
        self.route
    }

    fn tentative_since(&self, ifindex: u32, address: IpAddr) -> Option<Duration> {
        self.tentative.get(&(ifindex, address)).copied()
    }
}

/// Nothing readable: every sysctl unknown, no route lookup answer.
fn no_facts() -> Facts {
    Facts::default()
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
    assert_eq!(find(&snap, &verdict, &no_facts()), vec![]);
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
    let found = find(&snap, &verdict, &no_facts());
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
    assert_eq!(find(&snap, &verdict, &no_facts()), vec![]);
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
        find(&snap, &verdict, &no_facts()),
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
        find(&snap, &verdict, &no_facts()),
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
    let found = find(&snap, &verdict, &no_facts());
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
    assert_eq!(find(&snap, &verdict, &no_facts()), vec![]);
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
    let strict_on = Facts {
        otherwise: Some(0),
        ..Facts::sysctls(&[("ipv4/conf/wo1/rp_filter", 1)])
    };
    assert_eq!(
        find(&snap, &verdict, &strict_on),
        vec![Pitfall::StrictReversePath {
            interface: "wo1".into(),
            via: "wo0".into()
        }]
    );
    // `all` raises every interface to its value; loose (2) wins over strict (1).
    let all_strict = Facts {
        otherwise: Some(0),
        ..Facts::sysctls(&[("ipv4/conf/all/rp_filter", 1)])
    };
    assert_eq!(find(&snap, &verdict, &all_strict).len(), 1);
    let loose = Facts {
        otherwise: Some(1),
        ..Facts::sysctls(&[("ipv4/conf/all/rp_filter", 2)])
    };
    assert_eq!(find(&snap, &verdict, &loose), vec![]);
    // The interface carrying the default route is never flagged.
    let everything_strict = Facts {
        otherwise: Some(1),
        ..Facts::default()
    };
    let found = find(&snap, &verdict, &everything_strict);
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
        assert_eq!(find(&snap, &verdict, &no_facts()), expected, "{state}");
    }
}

fn v6(segments: [u16; 8]) -> IpAddr {
    IpAddr::V6(Ipv6Addr::from(segments))
}

/// A host whose uplink `wo0` (10.0.0.2) carries the IPv4 default route, with bridge `br0`
/// (172.17.0.1) and its port `veth0` when `port` is set.
fn bridged_host(port: bool) -> Snapshot {
    let mut bridge = link(3, "br0", vec![address(v4(172, 17, 0, 1), GLOBAL)]);
    bridge.kind = Some("bridge".into());
    let mut links = vec![
        link(2, "wo0", vec![address(v4(10, 0, 0, 2), GLOBAL)]),
        bridge,
    ];
    if port {
        let mut veth = link(4, "veth0", vec![]);
        veth.kind = Some("veth".into());
        veth.master = Some(3);
        links.push(veth);
    }
    snapshot(
        links,
        vec![default_route(Family::Ipv4, 2, Some(v4(10, 0, 0, 1)))],
    )
}

#[test]
fn forwarding_off_under_a_bridge_with_ports() {
    let snap = bridged_host(true);
    let verdict = awaiting(&snap, &["wo0"]);
    let off = Facts::sysctls(&[("ipv4/conf/br0/forwarding", 0)]);
    let found = find(&snap, &verdict, &off);
    assert_eq!(
        found,
        vec![Pitfall::ForwardingOff {
            family: Family::Ipv4,
            bridge: "br0".into(),
            ports: vec!["veth0".into()],
            via: "wo0".into(),
            key: "ipv4/conf/br0/forwarding".into(),
        }]
    );
    let text = found[0].to_string();
    assert!(
        text.contains("net.ipv4.conf.br0.forwarding=0") && text.contains("net.ipv4.ip_forward=1"),
        "{text}"
    );
    assert_eq!(
        (found[0].kind(), found[0].interface()),
        ("forwarding-off", "br0")
    );
}

#[test]
fn forwarding_is_not_reported_where_nothing_needs_it() {
    let verdict_for = |snap: &Snapshot| awaiting(snap, &["wo0"]);
    // Control: forwarding on.
    let snap = bridged_host(true);
    let on = Facts::sysctls(&[("ipv4/conf/br0/forwarding", 1)]);
    assert_eq!(find(&snap, &verdict_for(&snap), &on), vec![]);
    // A bridge without ports (Docker with no container running).
    let snap = bridged_host(false);
    let off = Facts::sysctls(&[("ipv4/conf/br0/forwarding", 0)]);
    assert_eq!(find(&snap, &verdict_for(&snap), &off), vec![]);
    // Unreadable: nothing is claimed.
    let snap = bridged_host(true);
    assert_eq!(find(&snap, &verdict_for(&snap), &no_facts()), vec![]);
    // The bridge carries the default route itself: the uplink is bridged with the guests,
    // frames are switched, nothing is forwarded.
    let mut snap = bridged_host(true);
    snap.kernel.routes = [default_route(Family::Ipv4, 3, Some(v4(172, 17, 0, 254)))]
        .into_iter()
        .collect();
    let verdict = awaiting(&snap, &["wo0", "br0"]);
    assert_eq!(find(&snap, &verdict, &off), vec![]);
    // No IPv6 on the bridge: IPv6 forwarding off says nothing.
    let snap = bridged_host(true);
    let v6_off = Facts::sysctls(&[("ipv6/conf/all/forwarding", 0)]);
    assert_eq!(find(&snap, &verdict_for(&snap), &v6_off), vec![]);
}

#[test]
fn ipv6_forwarding_off_is_decided_by_all_unless_the_bridge_forces_it() {
    let mut snap = bridged_host(true);
    let v6_global = address(v6([0x2001, 0xdb8, 1, 0, 0, 0, 0, 2]), GLOBAL);
    let bridge_v6 = address(v6([0x2001, 0xdb8, 2, 0, 0, 0, 0, 1]), GLOBAL);
    snap.kernel
        .links
        .get_mut(&2)
        .unwrap()
        .addresses
        .push(v6_global);
    snap.kernel
        .links
        .get_mut(&3)
        .unwrap()
        .addresses
        .push(bridge_v6);
    snap.kernel.routes.insert(default_route(
        Family::Ipv6,
        2,
        Some(v6([0xfe80, 0, 0, 0, 0, 0, 0, 1])),
    ));
    let verdict = awaiting(&snap, &["wo0"]);
    let off = Facts::sysctls(&[
        ("ipv4/conf/br0/forwarding", 1),
        ("ipv6/conf/all/forwarding", 0),
    ]);
    let found = find(&snap, &verdict, &off);
    assert!(
        matches!(
            found.as_slice(),
            [Pitfall::ForwardingOff { family: Family::Ipv6, key, .. }]
                if key == "ipv6/conf/all/forwarding"
        ),
        "{found:?}"
    );
    let forced = Facts::sysctls(&[
        ("ipv4/conf/br0/forwarding", 1),
        ("ipv6/conf/all/forwarding", 0),
        ("ipv6/conf/br0/force_forwarding", 1),
    ]);
    assert_eq!(find(&snap, &verdict, &forced), vec![]);
}

/// `wo0` and `wo1`, each with a global IPv4 address and a default route of `metrics`.
fn two_uplinks(metrics: (u32, u32)) -> Snapshot {
    let mut first = default_route(Family::Ipv4, 2, Some(v4(10, 0, 0, 1)));
    first.priority = metrics.0;
    let mut second = default_route(Family::Ipv4, 3, Some(v4(10, 1, 0, 1)));
    second.priority = metrics.1;
    let mut on_link = default_route(Family::Ipv4, 2, None);
    (on_link.destination, on_link.prefix_len) = (Some(v4(10, 0, 0, 0)), 24);
    snapshot(
        vec![
            link(2, "wo0", vec![address(v4(10, 0, 0, 2), GLOBAL)]),
            link(3, "wo1", vec![address(v4(10, 1, 0, 2), GLOBAL)]),
        ],
        vec![first, second, on_link],
    )
}

#[test]
fn tied_default_routes_name_both_and_the_kernels_choice() {
    let snap = two_uplinks((100, 100));
    let verdict = awaiting(&snap, &["wo0", "wo1"]);
    let facts = Facts {
        route: Some(RouteChoice {
            table: table::MAIN,
            oif: Some(3),
            gateway: Some(v4(10, 1, 0, 1)),
        }),
        ..Facts::default()
    };
    let found = find(&snap, &verdict, &facts);
    assert_eq!(
        found,
        vec![Pitfall::TiedDefaultRoutes {
            family: Family::Ipv4,
            table: table::MAIN,
            metric: 100,
            routes: vec![
                ("wo0".into(), Some(v4(10, 0, 0, 1))),
                ("wo1".into(), Some(v4(10, 1, 0, 1))),
            ],
            in_use: Some("wo1".into()),
        }]
    );
    let text = found[0].to_string();
    assert!(
        text.contains("wo0 (via 10.0.0.1), wo1 (via 10.1.0.1)")
            && text.contains("the kernel uses wo1 now")
            && text.contains("distinct metric"),
        "{text}"
    );
    assert_eq!(found[0].interface(), "wo1");
    assert_eq!(*facts.looked_up.borrow(), vec![v4(203, 0, 113, 1)]);
}

#[test]
fn a_lookup_answer_that_is_not_one_of_the_tied_routes_is_not_claimed() {
    let snap = two_uplinks((100, 100));
    let verdict = awaiting(&snap, &["wo0", "wo1"]);
    // Policy routing answered from another table.
    let facts = Facts {
        route: Some(RouteChoice {
            table: 100,
            oif: Some(3),
            gateway: Some(v4(10, 1, 0, 1)),
        }),
        ..Facts::default()
    };
    let found = find(&snap, &verdict, &facts);
    assert!(
        matches!(
            found.as_slice(),
            [Pitfall::TiedDefaultRoutes { in_use: None, .. }]
        ),
        "{found:?}"
    );
    assert_eq!(found[0].interface(), "wo0");
    assert!(found[0].to_string().contains("did not pick one of them"));
}

#[test]
fn default_routes_that_do_not_tie_are_not_reported() {
    // Control: distinct metrics.
    let snap = two_uplinks((100, 200));
    let verdict = awaiting(&snap, &["wo0", "wo1"]);
    assert_eq!(find(&snap, &verdict, &no_facts()), vec![]);
    // Same metric, one interface (two gateways on one link): no interface ambiguity.
    let mut snap = two_uplinks((100, 100));
    let mut same_link = default_route(Family::Ipv4, 2, Some(v4(10, 0, 0, 9)));
    same_link.priority = 100;
    snap.kernel.routes.retain(|r| r.oif != Some(3));
    snap.kernel.routes.insert(same_link);
    let verdict = awaiting(&snap, &["wo0"]);
    assert_eq!(find(&snap, &verdict, &no_facts()), vec![]);
    // Same metric in different tables: policy routing, not a tie.
    let mut snap = two_uplinks((100, 100));
    let moved: Vec<Route> = snap
        .kernel
        .routes
        .iter()
        .filter(|r| r.oif == Some(3))
        .cloned()
        .collect();
    for mut route in moved {
        snap.kernel.routes.remove(&route);
        route.table = 100;
        snap.kernel.routes.insert(route);
    }
    let verdict = awaiting(&snap, &["wo0", "wo1"]);
    assert_eq!(find(&snap, &verdict, &no_facts()), vec![]);
}

#[test]
fn the_lookup_destination_avoids_addresses_that_other_routes_cover() {
    let mut snap = two_uplinks((100, 100));
    assert_eq!(
        host::lookup_destination(&snap, Family::Ipv4),
        Some(v4(203, 0, 113, 1))
    );
    let mut covering = default_route(Family::Ipv4, 2, None);
    (covering.destination, covering.prefix_len) = (Some(v4(203, 0, 112, 0)), 23);
    snap.kernel.routes.insert(covering);
    assert_eq!(
        host::lookup_destination(&snap, Family::Ipv4),
        Some(v4(198, 51, 100, 1))
    );
    let mut v6_route = default_route(Family::Ipv6, 2, None);
    (v6_route.destination, v6_route.prefix_len) = (Some(v6([0x3fff, 0, 0, 0, 0, 0, 0, 0])), 20);
    snap.kernel.routes.insert(v6_route);
    assert_eq!(
        host::lookup_destination(&snap, Family::Ipv6),
        Some(v6([0x2001, 0xdb8, 0xffff, 0xffff, 0, 0, 0, 1]))
    );
}

/// `wo0` with a global IPv4 address and default route, and 2001:db8::2 with `flags`.
fn with_ipv6_flags(flags: u32) -> Snapshot {
    let mut ipv6 = address(v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 2]), GLOBAL);
    ipv6.prefix_len = 64;
    ipv6.flags = flags;
    let mut snap = snapshot(
        vec![link(2, "wo0", vec![address(v4(10, 0, 0, 2), GLOBAL), ipv6])],
        vec![
            default_route(Family::Ipv4, 2, Some(v4(10, 0, 0, 1))),
            default_route(Family::Ipv6, 2, Some(v6([0xfe80, 0, 0, 0, 0, 0, 0, 1]))),
        ],
    );
    snap.now = Duration::from_secs(100);
    snap
}

#[test]
fn an_address_whose_dad_failed_is_named_with_its_link() {
    let snap = with_ipv6_flags(ifa::DADFAILED | ifa::TENTATIVE);
    let verdict = awaiting(&snap, &["wo0"]);
    let found = find(&snap, &verdict, &no_facts());
    assert_eq!(
        found,
        vec![Pitfall::DadFailed {
            interface: "wo0".into(),
            address: v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 2]),
            prefix_len: 64,
        }]
    );
    assert!(
        found[0].to_string().contains("2001:db8::2/64"),
        "{}",
        found[0]
    );
    // Control: the same address, unique.
    let snap = with_ipv6_flags(0);
    assert_eq!(find(&snap, &awaiting(&snap, &["wo0"]), &no_facts()), vec![]);
}

#[test]
fn an_address_tentative_for_longer_than_the_limit_is_reported() {
    let snap = with_ipv6_flags(ifa::TENTATIVE);
    let verdict = awaiting(&snap, &["wo0"]);
    let key = (2, v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 2]));
    let since = |ago: Duration| Facts {
        tentative: [(key, snap.now - ago)].into_iter().collect(),
        ..Facts::default()
    };
    let found = find(
        &snap,
        &verdict,
        &since(TENTATIVE_LIMIT + Duration::from_secs(1)),
    );
    assert_eq!(
        found,
        vec![Pitfall::StillTentative {
            interface: "wo0".into(),
            address: key.1,
            prefix_len: 64,
        }]
    );
    assert_eq!(found[0].kind(), "still-tentative");
    // Control: DAD normally takes a second or two.
    assert_eq!(
        find(&snap, &verdict, &since(Duration::from_secs(2))),
        vec![]
    );
    // Without carrier the kernel waits for it before DAD starts: the link state says so.
    let mut snap = snap.clone();
    snap.kernel.links.get_mut(&2).unwrap().kernel_oper = KernelOperState::LowerLayerDown;
    let verdict = awaiting(&snap, &["wo0"]);
    let found = find(&snap, &verdict, &since(Duration::from_secs(60)));
    assert!(
        !found
            .iter()
            .any(|p| matches!(p, Pitfall::StillTentative { .. })),
        "{found:?}"
    );
}

/// In a container the same address is said once, with the container's words
/// (container-tentative-ipv6 replaces still-tentative); on a host, still-tentative as above.
#[test]
fn in_a_container_a_tentative_address_is_said_once() {
    let mut snap = with_ipv6_flags(ifa::TENTATIVE);
    snap.machine.container = Some("lxc".into());
    let verdict = awaiting(&snap, &["wo0"]);
    let key = (2, v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 2]));
    let facts = Facts {
        tentative: [(key, snap.now - Duration::from_secs(60))]
            .into_iter()
            .collect(),
        ..Facts::default()
    };
    let kinds: Vec<&str> = find(&snap, &verdict, &facts)
        .iter()
        .map(Pitfall::kind)
        .collect();
    assert_eq!(kinds, ["container-tentative-ipv6"]);
    snap.machine.container = None;
    let kinds: Vec<&str> = find(&snap, &verdict, &facts)
        .iter()
        .map(Pitfall::kind)
        .collect();
    assert_eq!(kinds, ["still-tentative"]);
}

#[test]
fn every_kind_has_a_stable_distinct_name() {
    let gateway = v4(10, 0, 0, 1);
    let all = [
        Pitfall::LinkLocalOnly {
            interface: "a".into(),
        },
        Pitfall::NoDefaultRoute {
            family: Family::Ipv4,
            interface: "a".into(),
        },
        Pitfall::DefaultRouteElsewhere {
            family: Family::Ipv4,
            interfaces: vec!["a".into()],
            via: "b".into(),
        },
        Pitfall::StrictReversePath {
            interface: "a".into(),
            via: "b".into(),
        },
        Pitfall::GatewayUnanswered {
            family: Family::Ipv4,
            gateway,
            interface: "a".into(),
            state: NeighbourState::Failed,
        },
        Pitfall::ForwardingOff {
            family: Family::Ipv4,
            bridge: "a".into(),
            ports: vec!["p".into()],
            via: "b".into(),
            key: "ipv4/ip_forward".into(),
        },
        Pitfall::TiedDefaultRoutes {
            family: Family::Ipv4,
            table: table::MAIN,
            metric: 0,
            routes: vec![("a".into(), None), ("b".into(), None)],
            in_use: None,
        },
        Pitfall::DadFailed {
            interface: "a".into(),
            address: gateway,
            prefix_len: 24,
        },
        Pitfall::StillTentative {
            interface: "a".into(),
            address: gateway,
            prefix_len: 24,
        },
        Pitfall::NoDnsServer {
            interface: "a".into(),
            networkd: None,
        },
        Pitfall::ContainerHostLink {
            interface: "a".into(),
            container: "lxc".into(),
            manager: ManagerKind::Networkd,
        },
        Pitfall::ContainerTentativeIpv6 {
            interface: "a".into(),
            address: gateway,
            prefix_len: 64,
            container: "lxc".into(),
        },
    ];
    let machine = [
        Pitfall::TwoWaiters {
            idle: ManagerKind::Networkd,
        },
        Pitfall::ManagerManagesNothing {
            manager: ManagerKind::NetworkManager,
            links: 1,
        },
    ];
    assert_eq!(
        machine.iter().map(Pitfall::kind).collect::<Vec<_>>(),
        ["two-waiters", "manager-manages-nothing"]
    );
    assert!(machine.iter().all(|p| p.interface().is_empty()));
    let kinds: Vec<&str> = all.iter().map(Pitfall::kind).collect();
    assert_eq!(
        kinds,
        [
            "link-local-only",
            "no-default-route",
            "default-route-elsewhere",
            "strict-rp-filter",
            "gateway-unanswered",
            "forwarding-off",
            "tied-default-routes",
            "dad-failed",
            "still-tentative",
            "no-dns-server",
            "container-host-link",
            "container-tentative-ipv6",
        ]
    );
    assert!(all.iter().all(|p| p.interface() == "a"));
}
