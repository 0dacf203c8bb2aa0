//! `--require-route=ADDR[/LEN]`: the kernel has a route to ADDR (to every address of
//! ADDR/LEN) and the route it would choose goes through an online link, the generalisation of
//! `--require-default-route` and of ifupdown's `WAIT_ONLINE_METHOD=route`. Decided from the
//! routing tables the kernel source keeps ([`super::route::lookup`], the one route lookup of
//! the core), followed on every route change: no packet is sent and no source is added. The
//! words are `report/route_reach.rs`.
//!
//! Why a lookup on the kept tables rather than asking the kernel (`RTM_GETROUTE`, as `ip route
//! get`): the decision stays pure and testable, it needs no request per change, and it can
//! answer for a prefix (the kernel answers for one address), which is what makes
//! `--require-route=0.0.0.0/0` mean "a default route". What it does not model (policy routing
//! rules of one's own, IPv6's preference for routers whose neighbour answers) is said in the
//! man page; the integration tests compare its answer with the kernel's.
//!
//! Unlike `--require-default-route` (any default route through an online link will do), the
//! route that counts is the kernel's choice: a lower-metric route through a link that is not
//! online is where the traffic goes, so it holds the requirement up.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::default_route::interface_name;
use super::route::{Prefix, Route, kind, lookup, table};
use super::update::KernelTables;

/// The decision for one `--require-route`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteCheck {
    pub target: Prefix,
    pub result: Result<RouteChoice, RouteToProblem>,
}

/// The route that makes it hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteChoice {
    /// Through an online interface (the first online next hop of the chosen route).
    Through {
        interface: String,
        gateway: Option<IpAddr>,
        table: u32,
    },
    /// ADDR is one of this machine's own addresses (a `local` route).
    Local,
}

/// Why it does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteToProblem {
    /// No table has a route that covers the destination.
    NoRoute,
    /// The route chosen rejects the traffic: `unreachable`, `blackhole`, `prohibit` (its
    /// `RTN_*` type), in `table`.
    Rejected { kind: u8, table: u32 },
    /// The route chosen goes through interfaces that are not online (or through none).
    NotThroughOnline { via: Vec<String>, table: u32 },
}

impl RouteCheck {
    pub fn problem(&self) -> Option<&RouteToProblem> {
        self.result.as_ref().err()
    }
}

/// Decides `--require-route=target` on `tables`, where `online` maps the ifindex of every
/// online interface (as the goal's link rules judged it) to its name.
pub fn check(target: Prefix, tables: &KernelTables, online: &BTreeMap<u32, String>) -> RouteCheck {
    let chosen = lookup(&tables.routes, &target);
    RouteCheck {
        target,
        result: decide(&chosen, tables, online),
    }
}

fn decide(
    chosen: &[&Route],
    tables: &KernelTables,
    online: &BTreeMap<u32, String>,
) -> Result<RouteChoice, RouteToProblem> {
    let Some(first) = chosen.first() else {
        return Err(RouteToProblem::NoRoute);
    };
    let table = first.table;
    match first.kind {
        kind::LOCAL => return Ok(RouteChoice::Local),
        kind::BLACKHOLE | kind::UNREACHABLE | kind::PROHIBIT => {
            return Err(RouteToProblem::Rejected {
                kind: first.kind,
                table,
            });
        }
        _ => {}
    }
    // Any next hop through an online interface: the kernel spreads flows over them all.
    if let Some(hop) = chosen
        .iter()
        .find(|r| r.oif.is_some_and(|oif| online.contains_key(&oif)))
    {
        return Ok(RouteChoice::Through {
            interface: interface_name(tables, hop.oif),
            gateway: hop.gateway,
            table,
        });
    }
    let mut via: Vec<String> = chosen
        .iter()
        .map(|r| interface_name(tables, r.oif))
        .collect();
    via.sort();
    via.dedup();
    Err(RouteToProblem::NotThroughOnline { via, table })
}

/// The name `ip route` gives a table (`main`, `local`, `default`, or its number).
pub fn table_name(number: u32) -> String {
    match number {
        table::MAIN => "main".to_string(),
        table::LOCAL => "local".to_string(),
        table::DEFAULT => "default".to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::state::Family;
    use proptest::prelude::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn route(table: u32, destination: &str, oif: u32, priority: u32, kind: u8) -> Route {
        let (address, len) = destination.split_once('/').unwrap();
        let address: IpAddr = address.parse().unwrap();
        let prefix_len: u8 = len.parse().unwrap();
        Route {
            family: match address {
                IpAddr::V4(_) => Family::Ipv4,
                IpAddr::V6(_) => Family::Ipv6,
            },
            table,
            destination: (prefix_len > 0).then_some(address),
            prefix_len,
            tos: 0,
            priority,
            gateway: None,
            oif: Some(oif),
            kind,
            scope: 0,
        }
    }

    fn unicast(destination: &str, oif: u32, priority: u32) -> Route {
        route(table::MAIN, destination, oif, priority, kind::UNICAST)
    }

    use crate::core::fixtures::{online, route_tables as tables};

    fn target(text: &str) -> Prefix {
        match text.split_once('/') {
            Some((a, l)) => Prefix::new(a.parse().unwrap(), l.parse().unwrap()).unwrap(),
            None => Prefix::host(text.parse().unwrap()),
        }
    }

    fn through(interface: &str) -> Result<RouteChoice, RouteToProblem> {
        Ok(RouteChoice::Through {
            interface: interface.into(),
            gateway: None,
            table: table::MAIN,
        })
    }

    fn not_through(via: &[&str]) -> Result<RouteChoice, RouteToProblem> {
        Err(RouteToProblem::NotThroughOnline {
            via: via.iter().map(|v| v.to_string()).collect(),
            table: table::MAIN,
        })
    }

    /// Routes, online links, target, result.
    type Row = (
        Vec<Route>,
        &'static [u32],
        &'static str,
        Result<RouteChoice, RouteToProblem>,
    );

    /// The lookup and the decision, one row per rule: routes, online links, target, result.
    #[test]
    fn decision_table() {
        let rows: Vec<Row> = vec![
            // No route at all, and a route of the other family.
            (vec![], &[2], "192.0.2.1", Err(RouteToProblem::NoRoute)),
            (
                vec![unicast("2001:db8::/32", 2, 0)],
                &[2],
                "192.0.2.1",
                Err(RouteToProblem::NoRoute),
            ),
            // A default route covers everything, through an online link or not.
            (
                vec![unicast("0.0.0.0/0", 2, 100)],
                &[2],
                "192.0.2.1",
                through("wo0"),
            ),
            (
                vec![unicast("0.0.0.0/0", 2, 100)],
                &[3],
                "192.0.2.1",
                not_through(&["wo0"]),
            ),
            // The longest prefix wins, even through a link that is not online.
            (
                vec![unicast("0.0.0.0/0", 2, 0), unicast("192.0.2.0/24", 3, 100)],
                &[2],
                "192.0.2.1",
                not_through(&["wo1"]),
            ),
            (
                vec![unicast("0.0.0.0/0", 2, 0), unicast("192.0.2.0/24", 3, 100)],
                &[2],
                "198.51.100.1",
                through("wo0"),
            ),
            // Of one prefix, the lowest metric wins.
            (
                vec![unicast("0.0.0.0/0", 2, 200), unicast("0.0.0.0/0", 3, 100)],
                &[2],
                "192.0.2.1",
                not_through(&["wo1"]),
            ),
            // A prefix needs a route covering all of it: a /25 does not cover a /24.
            (
                vec![unicast("192.0.2.0/25", 2, 0)],
                &[2],
                "192.0.2.0/24",
                Err(RouteToProblem::NoRoute),
            ),
            (
                vec![unicast("192.0.2.0/24", 2, 0)],
                &[2],
                "192.0.2.0/25",
                through("wo0"),
            ),
            // 0.0.0.0/0 asks for a default route (a /8 is not one).
            (
                vec![unicast("10.0.0.0/8", 2, 0)],
                &[2],
                "0.0.0.0/0",
                Err(RouteToProblem::NoRoute),
            ),
            (
                vec![unicast("0.0.0.0/0", 2, 0)],
                &[2],
                "0.0.0.0/0",
                through("wo0"),
            ),
            // Rejecting routes end the lookup.
            (
                vec![
                    unicast("0.0.0.0/0", 2, 0),
                    route(table::MAIN, "192.0.2.0/24", 1, 0, kind::UNREACHABLE),
                ],
                &[2],
                "192.0.2.1",
                Err(RouteToProblem::Rejected {
                    kind: kind::UNREACHABLE,
                    table: table::MAIN,
                }),
            ),
            // The local table comes first: one's own address.
            (
                vec![
                    unicast("0.0.0.0/0", 2, 0),
                    route(table::LOCAL, "192.0.2.1/32", 2, 0, kind::LOCAL),
                ],
                &[],
                "192.0.2.1",
                Ok(RouteChoice::Local),
            ),
            // Other tables than local, main and default are only reached through rules.
            (
                vec![route(100, "0.0.0.0/0", 2, 0, kind::UNICAST)],
                &[2],
                "192.0.2.1",
                Err(RouteToProblem::NoRoute),
            ),
            // A throw route sends the lookup on to the default table.
            (
                vec![
                    route(table::MAIN, "192.0.2.0/24", 1, 0, kind::THROW),
                    route(table::DEFAULT, "0.0.0.0/0", 3, 0, kind::UNICAST),
                ],
                &[3],
                "192.0.2.1",
                Ok(RouteChoice::Through {
                    interface: "wo1".into(),
                    gateway: None,
                    table: table::DEFAULT,
                }),
            ),
            // Multipath: one online next hop is enough.
            (
                vec![unicast("0.0.0.0/0", 2, 0), unicast("0.0.0.0/0", 3, 0)],
                &[3],
                "192.0.2.1",
                through("wo1"),
            ),
            (
                vec![unicast("0.0.0.0/0", 2, 0), unicast("0.0.0.0/0", 3, 0)],
                &[],
                "192.0.2.1",
                not_through(&["wo0", "wo1"]),
            ),
            // IPv6, host lookup.
            (
                vec![unicast("2001:db8::/64", 2, 1024)],
                &[2],
                "2001:db8::1",
                through("wo0"),
            ),
            (
                vec![unicast("::/0", 2, 1024)],
                &[2],
                "2001:db8::1",
                through("wo0"),
            ),
        ];
        for (i, (routes, up, wanted, expected)) in rows.into_iter().enumerate() {
            let t = tables(routes);
            let got = check(target(wanted), &t, &online(up));
            assert_eq!(got.result, expected, "row {i}: {wanted}");
        }
    }

    #[test]
    fn a_route_with_tos_is_not_chosen_by_a_lookup_without_tos() {
        let mut with_tos = unicast("192.0.2.0/24", 3, 0);
        with_tos.tos = 0x10;
        let t = tables(vec![unicast("0.0.0.0/0", 2, 0), with_tos]);
        assert_eq!(
            check(target("192.0.2.1"), &t, &online(&[2])).result,
            through("wo0")
        );
    }

    fn v4(bits: u32, len: u8) -> Prefix {
        Prefix::new(IpAddr::V4(Ipv4Addr::from_bits(bits)), len).unwrap()
    }

    /// The chosen route covers the target, and no route that covers it is more specific, or
    /// as specific with a lower metric; the share of cases with a choice is asserted, so that
    /// the property is seen to check something.
    #[test]
    fn the_choice_is_the_longest_covering_prefix_with_the_lowest_metric() {
        let strategy = (
            proptest::collection::vec((any::<u32>(), 0u8..=32, 0u32..4, 2u32..4), 0..12),
            any::<u32>(),
            0u8..=32,
        );
        let chosen_cases = std::cell::Cell::new(0u32);
        let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
            cases: 2000,
            source_file: Some(file!()),
            ..ProptestConfig::default()
        });
        let result = runner.run(&strategy, |(routes, address, len)| {
            let routes: Vec<Route> = routes
                .into_iter()
                .map(|(bits, plen, priority, oif)| {
                    let p = Prefix::new(IpAddr::V4(Ipv4Addr::from_bits(bits)), plen).unwrap();
                    unicast(&format!("{}/{}", p.network(), p.len), oif, priority)
                })
                .collect();
            let wanted = v4(address, len);
            let chosen = lookup(&routes, &wanted);
            let covering: Vec<&Route> = routes.iter().filter(|r| r.covers(&wanted)).collect();
            prop_assert_eq!(chosen.is_empty(), covering.is_empty());
            if let Some(first) = chosen.first() {
                chosen_cases.set(chosen_cases.get() + 1);
                prop_assert!(first.covers(&wanted));
                for other in &covering {
                    prop_assert!(
                        (other.prefix_len, std::cmp::Reverse(other.priority))
                            <= (first.prefix_len, std::cmp::Reverse(first.priority))
                    );
                }
            }
            Ok(())
        });
        if let Err(e) = result {
            panic!("{e}");
        }
        // Short random prefixes cover much: most cases have a choice.
        assert!(
            chosen_cases.get() >= 200,
            "only {} cases with a choice",
            chosen_cases.get()
        );
    }

    #[test]
    fn prefixes_are_bounded_by_their_family() {
        let v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
        assert!(Prefix::new(v6, 128).is_some() && Prefix::new(v6, 129).is_none());
        assert!(Prefix::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 33).is_none());
        assert!(Prefix::host(v6).is_host());
        assert_eq!(table_name(254), "main");
        assert_eq!(table_name(100), "100");
    }
}
