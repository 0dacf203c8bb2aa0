//! `--require-default-route` and `--require-gateway`: online additionally needs a default
//! route through an interface that is itself online and, when asked, a default gateway whose
//! neighbour entry shows that it answered. Decided from the kernel's routing table and
//! neighbour cache alone; no packet is sent.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::neighbour::NeighbourState;
use super::route::{Route, kind, table};
use super::state::Family;
use super::update::KernelTables;

/// Which family's default route `--require-default-route=` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteFamily {
    Ipv4,
    Ipv6,
    /// One of the two is enough.
    Any,
}

impl RouteFamily {
    fn families(self) -> &'static [Family] {
        match self {
            RouteFamily::Ipv4 => &[Family::Ipv4],
            RouteFamily::Ipv6 => &[Family::Ipv6],
            RouteFamily::Any => &[Family::Ipv4, Family::Ipv6],
        }
    }
}

/// The opt-in route requirements (both off by default, as upstream has neither).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RouteRequirement {
    /// `--require-default-route[=4|6|any]`.
    pub default_route: Option<RouteFamily>,
    /// `--require-gateway`: the chosen default route's gateway must have answered. Implies a
    /// default route of any family when `default_route` is not given.
    pub gateway: bool,
    /// `--probe-gateway`: as `gateway`, and an unanswered gateway may be sent a datagram so
    /// that the kernel resolves it.
    pub probe: bool,
}

impl RouteRequirement {
    /// Whether anything is required at all.
    pub fn is_required(&self) -> bool {
        self.default_route.is_some() || self.needs_gateway()
    }

    /// Whether the gateway must have answered.
    pub fn needs_gateway(&self) -> bool {
        self.gateway || self.probe
    }

    /// The family requirement in force, if any.
    fn family(&self) -> Option<RouteFamily> {
        match (self.default_route, self.needs_gateway()) {
            (Some(family), _) => Some(family),
            (None, true) => Some(RouteFamily::Any),
            (None, false) => None,
        }
    }
}

/// Why the route requirement does not hold, for one family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteProblem {
    /// The main table has no default route of this family.
    NoDefaultRoute(Family),
    /// Default routes exist, but none goes through an online interface.
    NotThroughOnline { family: Family, via: Vec<String> },
    /// The default route's gateway has not answered: its neighbour entry is in `state`, or
    /// there is none yet (`None`).
    GatewayUnanswered {
        family: Family,
        gateway: IpAddr,
        ifindex: u32,
        interface: String,
        state: Option<NeighbourState>,
    },
}

impl RouteProblem {
    /// The gateway (and the interface it is reached through) that a datagram would make the
    /// kernel resolve: one with no neighbour entry, or whose resolution failed. Not while a
    /// resolution is under way (INCOMPLETE), nor for any other problem.
    pub fn gateway_to_probe(&self) -> Option<(IpAddr, u32)> {
        match self {
            RouteProblem::GatewayUnanswered {
                gateway,
                ifindex,
                state: None | Some(NeighbourState::Failed | NeighbourState::None),
                ..
            } => Some((*gateway, *ifindex)),
            _ => None,
        }
    }
}

/// The default routes of `family` in the main table, best (lowest metric) first.
pub fn default_routes(tables: &KernelTables, family: Family) -> Vec<&Route> {
    let mut routes: Vec<&Route> = tables
        .routes
        .iter()
        .filter(|r| {
            r.family == family
                && r.is_default()
                && r.table == table::MAIN
                && r.kind == kind::UNICAST
        })
        .collect();
    routes.sort_by_key(|r| r.priority);
    routes
}

/// Checks `requirement` against `tables`, where `online` maps the ifindex of every online
/// interface to its name. Empty when the requirement holds (or none was given); otherwise the
/// problems of every family that was tried.
pub fn check(
    requirement: &RouteRequirement,
    tables: &KernelTables,
    online: &BTreeMap<u32, String>,
) -> Vec<RouteProblem> {
    let Some(wanted) = requirement.family() else {
        return Vec::new();
    };
    let mut problems = Vec::new();
    for &family in wanted.families() {
        match check_family(family, requirement.needs_gateway(), tables, online) {
            Ok(()) => return Vec::new(),
            Err(problem) => problems.push(problem),
        }
    }
    // Either family would do: a family without any default route says nothing more when
    // the other one got further.
    if problems.len() > 1 {
        let any_further = problems
            .iter()
            .any(|p| !matches!(p, RouteProblem::NoDefaultRoute(_)));
        if any_further {
            problems.retain(|p| !matches!(p, RouteProblem::NoDefaultRoute(_)));
        }
    }
    problems
}

fn check_family(
    family: Family,
    gateway: bool,
    tables: &KernelTables,
    online: &BTreeMap<u32, String>,
) -> Result<(), RouteProblem> {
    let routes = default_routes(tables, family);
    if routes.is_empty() {
        return Err(RouteProblem::NoDefaultRoute(family));
    }
    let usable: Vec<&&Route> = routes
        .iter()
        .filter(|r| r.oif.is_some_and(|oif| online.contains_key(&oif)))
        .collect();
    let Some(best) = usable.first() else {
        let mut via: Vec<String> = routes
            .iter()
            .map(|r| interface_name(tables, r.oif))
            .collect();
        via.dedup();
        return Err(RouteProblem::NotThroughOnline { family, via });
    };
    if !gateway {
        return Ok(());
    }
    let answered = |route: &Route| match (route.gateway, route.oif) {
        // A device route (point-to-point, or on-link default) has no gateway to ask.
        (None, _) => true,
        (Some(gateway), Some(oif)) => tables
            .neighbours
            .get(&(oif, gateway))
            .is_some_and(|state| state.is_usable()),
        (Some(_), None) => false,
    };
    if usable.iter().any(|r| answered(r)) {
        return Ok(());
    }
    let (Some(gateway), Some(oif)) = (best.gateway, best.oif) else {
        return Ok(());
    };
    Err(RouteProblem::GatewayUnanswered {
        family,
        gateway,
        ifindex: oif,
        interface: interface_name(tables, Some(oif)),
        state: tables.neighbours.get(&(oif, gateway)).copied(),
    })
}

/// The name of link `oif`, or a stand-in that says what is known (`ifindex 7`, `no interface`).
pub(super) fn interface_name(tables: &KernelTables, oif: Option<u32>) -> String {
    match oif.and_then(|i| tables.links.get(&i)) {
        Some(link) => link.name.clone(),
        None => match oif {
            Some(index) => format!("ifindex {index}"),
            None => "no interface".to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn default_route(family: Family, oif: u32, gateway: Option<IpAddr>, priority: u32) -> Route {
        Route {
            family,
            table: table::MAIN,
            destination: None,
            prefix_len: 0,
            tos: 0,
            priority,
            gateway,
            oif: Some(oif),
            kind: kind::UNICAST,
            scope: 0,
        }
    }

    use crate::core::fixtures::{online, route_tables as tables};

    const GW4: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));

    #[test]
    fn nothing_required_never_blocks() {
        let t = tables(Vec::new());
        assert!(check(&RouteRequirement::default(), &t, &online(&[])).is_empty());
    }

    #[test]
    fn default_route_must_go_through_an_online_interface() {
        let req = RouteRequirement {
            default_route: Some(RouteFamily::Ipv4),
            gateway: false,
            probe: false,
        };
        let t = tables(vec![default_route(Family::Ipv4, 3, Some(GW4), 100)]);
        assert_eq!(
            check(&req, &t, &online(&[2])),
            vec![RouteProblem::NotThroughOnline {
                family: Family::Ipv4,
                via: vec!["wo1".into()]
            }]
        );
        assert!(check(&req, &t, &online(&[2, 3])).is_empty());
        assert_eq!(
            check(&req, &tables(Vec::new()), &online(&[2])),
            vec![RouteProblem::NoDefaultRoute(Family::Ipv4)]
        );
    }

    #[test]
    fn other_tables_and_unreachable_defaults_do_not_count() {
        let req = RouteRequirement {
            default_route: Some(RouteFamily::Ipv4),
            gateway: false,
            probe: false,
        };
        let mut other_table = default_route(Family::Ipv4, 2, Some(GW4), 0);
        other_table.table = 100;
        let mut unreachable = default_route(Family::Ipv4, 2, None, 0);
        unreachable.kind = 7;
        let t = tables(vec![other_table, unreachable]);
        assert_eq!(
            check(&req, &t, &online(&[2])),
            vec![RouteProblem::NoDefaultRoute(Family::Ipv4)]
        );
    }

    #[test]
    fn family_choice() {
        let v6 = default_route(Family::Ipv6, 2, None, 1024);
        let t = tables(vec![v6]);
        let need = |family| RouteRequirement {
            default_route: Some(family),
            gateway: false,
            probe: false,
        };
        assert!(check(&need(RouteFamily::Any), &t, &online(&[2])).is_empty());
        assert!(check(&need(RouteFamily::Ipv6), &t, &online(&[2])).is_empty());
        assert_eq!(
            check(&need(RouteFamily::Ipv4), &t, &online(&[2])),
            vec![RouteProblem::NoDefaultRoute(Family::Ipv4)]
        );
        // With neither family usable, the family that got further is reported…
        assert_eq!(
            check(&need(RouteFamily::Any), &t, &online(&[])),
            vec![RouteProblem::NotThroughOnline {
                family: Family::Ipv6,
                via: vec!["wo0".into()]
            }]
        );
        // …and both when neither has a default route at all.
        assert_eq!(
            check(&need(RouteFamily::Any), &tables(Vec::new()), &online(&[2])),
            vec![
                RouteProblem::NoDefaultRoute(Family::Ipv4),
                RouteProblem::NoDefaultRoute(Family::Ipv6)
            ]
        );
    }

    #[test]
    fn gateway_needs_an_answered_neighbour_entry() {
        let req = RouteRequirement {
            default_route: None,
            gateway: true,
            probe: false,
        };
        let mut t = tables(vec![default_route(Family::Ipv4, 2, Some(GW4), 0)]);
        let problem = |state| {
            vec![RouteProblem::GatewayUnanswered {
                family: Family::Ipv4,
                gateway: GW4,
                ifindex: 2,
                interface: "wo0".into(),
                state,
            }]
        };
        // Any family is implied; that IPv6 has no default route at all is not worth saying
        // when IPv4 got as far as its gateway.
        assert_eq!(check(&req, &t, &online(&[2])), problem(None));
        for bits in [0x01u16, 0x20, 0x00] {
            t.neighbours
                .insert((2, GW4), NeighbourState::from_bits(bits));
            assert_eq!(
                check(&req, &t, &online(&[2]))[0],
                problem(Some(NeighbourState::from_bits(bits)))[0]
            );
        }
        for bits in [0x02u16, 0x04, 0x08, 0x10, 0x80] {
            t.neighbours
                .insert((2, GW4), NeighbourState::from_bits(bits));
            assert!(check(&req, &t, &online(&[2])).is_empty(), "{bits:#x}");
        }
        // The entry must be on the route's interface.
        t.neighbours.clear();
        t.neighbours.insert((3, GW4), NeighbourState::Reachable);
        assert!(!check(&req, &t, &online(&[2])).is_empty());
    }

    #[test]
    fn a_second_default_route_with_an_answered_gateway_is_enough() {
        let gw6: IpAddr = IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1));
        let req = RouteRequirement {
            default_route: Some(RouteFamily::Ipv6),
            gateway: true,
            probe: false,
        };
        let mut t = tables(vec![
            default_route(Family::Ipv6, 2, Some(gw6), 100),
            default_route(Family::Ipv6, 3, Some(gw6), 200),
        ]);
        t.neighbours.insert((2, gw6), NeighbourState::Failed);
        assert_eq!(check(&req, &t, &online(&[2, 3])).len(), 1);
        t.neighbours.insert((3, gw6), NeighbourState::Stale);
        assert!(check(&req, &t, &online(&[2, 3])).is_empty());
        // …but not when that interface is not online.
        assert_eq!(check(&req, &t, &online(&[2])).len(), 1);
    }

    #[test]
    fn device_default_route_needs_no_gateway_answer() {
        let req = RouteRequirement {
            default_route: Some(RouteFamily::Ipv4),
            gateway: true,
            probe: false,
        };
        let t = tables(vec![default_route(Family::Ipv4, 2, None, 0)]);
        assert!(check(&req, &t, &online(&[2])).is_empty());
    }

    #[test]
    fn only_a_gateway_without_entry_or_with_a_failed_one_is_probed() {
        let problem = |state| RouteProblem::GatewayUnanswered {
            family: Family::Ipv4,
            gateway: GW4,
            ifindex: 2,
            interface: "wo0".into(),
            state,
        };
        assert_eq!(problem(None).gateway_to_probe(), Some((GW4, 2)));
        assert_eq!(
            problem(Some(NeighbourState::Failed)).gateway_to_probe(),
            Some((GW4, 2))
        );
        assert_eq!(
            problem(Some(NeighbourState::Incomplete)).gateway_to_probe(),
            None
        );
        assert_eq!(
            RouteProblem::NoDefaultRoute(Family::Ipv4).gateway_to_probe(),
            None
        );
        let probing = RouteRequirement {
            default_route: None,
            gateway: false,
            probe: true,
        };
        assert!(probing.is_required() && probing.needs_gateway());
    }
}
