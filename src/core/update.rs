//! Applying kernel changes to the tables of links and routes. Pure, so that the
//! order-sensitive parts (an address for a link not yet seen, a link message that carries no
//! addresses, routes the kernel drops without telling) are tested without a socket.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use super::link::scope;
use super::link::{Address, KernelLink};
use super::neighbour::NeighbourState;
use super::route::Route;
use super::state::Family;

/// The kernel's links (with their addresses), routes and neighbour entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KernelTables {
    pub links: BTreeMap<u32, KernelLink>,
    pub routes: BTreeSet<Route>,
    /// IPv4/IPv6 neighbour entries by (ifindex, address); only kept when asked for.
    pub neighbours: BTreeMap<(u32, IpAddr), NeighbourState>,
}

/// One change reported by the kernel, already converted from netlink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KernelEvent {
    /// RTM_NEWLINK: the link's attributes; its `addresses` are ignored.
    NewLink(KernelLink),
    /// RTM_DELLINK for this ifindex.
    DelLink(u32),
    /// RTM_NEWADDR on this ifindex.
    NewAddress(u32, Address),
    /// RTM_DELADDR on this ifindex.
    DelAddress(u32, Address),
    /// RTM_NEWROUTE (one entry per next hop); `replace` when NLM_F_REPLACE was set.
    NewRoute { routes: Vec<Route>, replace: bool },
    /// RTM_DELROUTE (one entry per next hop).
    DelRoute(Vec<Route>),
    /// RTM_NEWNEIGH: the entry for `address` on `ifindex` is now in `state`.
    NewNeighbour {
        ifindex: u32,
        address: IpAddr,
        state: NeighbourState,
    },
    /// RTM_DELNEIGH.
    DelNeighbour { ifindex: u32, address: IpAddr },
}

impl KernelEvent {
    /// The class of object the event concerns, in dump order (links, addresses, routes).
    pub fn class(&self) -> ObjectClass {
        match self {
            KernelEvent::NewLink(_) | KernelEvent::DelLink(_) => ObjectClass::Links,
            KernelEvent::NewAddress(..) | KernelEvent::DelAddress(..) => ObjectClass::Addresses,
            KernelEvent::NewRoute { .. } | KernelEvent::DelRoute(_) => ObjectClass::Routes,
            KernelEvent::NewNeighbour { .. } | KernelEvent::DelNeighbour { .. } => {
                ObjectClass::Neighbours
            }
        }
    }
}

/// Kinds of kernel objects, in the order they are dumped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ObjectClass {
    Links,
    Addresses,
    Routes,
    Neighbours,
}

/// Applies `event` to `tables`. An address for an unknown ifindex is dropped: the link's own
/// RTM_NEWLINK always precedes it, and a resynchronising dump supersedes both.
pub fn apply(tables: &mut KernelTables, event: KernelEvent) {
    let links = &mut tables.links;
    match event {
        KernelEvent::NewLink(mut link) => {
            if let Some(old) = links.get_mut(&link.ifindex) {
                link.addresses = std::mem::take(&mut old.addresses);
            } else {
                link.addresses.clear();
            }
            if !link.is_up() {
                // The kernel flushes the IPv4 routes of a link that goes down without sending
                // RTM_DELROUTE (IPv6 sends them); only host-scope (local) routes survive.
                let ifindex = link.ifindex;
                tables.routes.retain(|r| {
                    r.oif != Some(ifindex) || r.family != Family::Ipv4 || r.scope == scope::HOST
                });
                // Taking a link down flushes its neighbour cache.
                tables.neighbours.retain(|(index, _), _| *index != ifindex);
            }
            links.insert(link.ifindex, link);
        }
        KernelEvent::DelLink(ifindex) => {
            links.remove(&ifindex);
            tables.routes.retain(|r| r.oif != Some(ifindex));
            tables.neighbours.retain(|(index, _), _| *index != ifindex);
        }
        KernelEvent::NewAddress(ifindex, address) => {
            if let Some(link) = links.get_mut(&ifindex) {
                match link
                    .addresses
                    .iter_mut()
                    .find(|a| same_address(a, &address))
                {
                    Some(existing) => *existing = address,
                    None => link.addresses.push(address),
                }
            }
        }
        KernelEvent::DelAddress(ifindex, address) => {
            if let Some(link) = links.get_mut(&ifindex) {
                link.addresses.retain(|a| !same_address(a, &address));
            }
        }
        KernelEvent::NewRoute { routes, replace } => {
            if replace && let Some(first) = routes.first() {
                tables.routes.retain(|r| !r.same_key(first));
            }
            tables.routes.extend(routes);
        }
        KernelEvent::DelRoute(routes) => {
            for route in &routes {
                tables.routes.remove(route);
            }
        }
        KernelEvent::NewNeighbour {
            ifindex,
            address,
            state,
        } => {
            tables.neighbours.insert((ifindex, address), state);
        }
        KernelEvent::DelNeighbour { ifindex, address } => {
            tables.neighbours.remove(&(ifindex, address));
        }
    }
}

/// The kernel identifies an address on a link by its local address and prefix length.
fn same_address(a: &Address, b: &Address) -> bool {
    a.address == b.address && a.prefix_len == b.prefix_len
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::link::iff;
    use crate::core::route::table;
    use std::net::{IpAddr, Ipv4Addr};

    fn link(ifindex: u32, name: &str) -> KernelLink {
        KernelLink {
            ifindex,
            name: name.into(),
            flags: iff::UP,
            ..KernelLink::default()
        }
    }

    fn addr(last: u8, flags: u32) -> Address {
        Address {
            family: Family::Ipv4,
            address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, last)),
            prefix_len: 24,
            scope: scope::UNIVERSE,
            flags,
            valid_until: None,
        }
    }

    fn default_via(oif: u32, gateway: u8, priority: u32) -> Route {
        Route {
            family: Family::Ipv4,
            table: table::MAIN,
            destination: None,
            prefix_len: 0,
            tos: 0,
            priority,
            gateway: Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, gateway))),
            oif: Some(oif),
            kind: 1,
            scope: 0,
        }
    }

    fn tables_with(links: &[KernelLink]) -> KernelTables {
        let mut tables = KernelTables::default();
        for l in links {
            apply(&mut tables, KernelEvent::NewLink(l.clone()));
        }
        tables
    }

    #[test]
    fn new_link_keeps_addresses_and_renames() {
        let mut tables = tables_with(&[link(2, "eth0")]);
        apply(&mut tables, KernelEvent::NewAddress(2, addr(1, 0)));
        apply(&mut tables, KernelEvent::NewLink(link(2, "lan0")));
        assert_eq!(tables.links[&2].name, "lan0");
        assert_eq!(tables.links[&2].addresses.len(), 1);
    }

    #[test]
    fn address_update_replaces_flags_and_delete_removes() {
        let mut tables = tables_with(&[link(2, "eth0")]);
        apply(&mut tables, KernelEvent::NewAddress(2, addr(1, 0x40)));
        apply(&mut tables, KernelEvent::NewAddress(2, addr(1, 0)));
        assert_eq!(tables.links[&2].addresses, vec![addr(1, 0)]);
        apply(&mut tables, KernelEvent::DelAddress(2, addr(1, 0)));
        assert!(tables.links[&2].addresses.is_empty());
    }

    #[test]
    fn recreated_link_starts_without_addresses() {
        let mut tables = tables_with(&[link(2, "eth0")]);
        apply(&mut tables, KernelEvent::NewAddress(2, addr(1, 0)));
        apply(&mut tables, KernelEvent::DelLink(2));
        apply(&mut tables, KernelEvent::NewLink(link(3, "eth0")));
        assert!(!tables.links.contains_key(&2));
        assert!(tables.links[&3].addresses.is_empty());
    }

    #[test]
    fn address_of_unknown_link_is_dropped() {
        let mut tables = KernelTables::default();
        apply(&mut tables, KernelEvent::NewAddress(9, addr(1, 0)));
        assert!(tables.links.is_empty());
    }

    #[test]
    fn routes_are_added_replaced_and_deleted() {
        let mut tables = tables_with(&[link(2, "eth0")]);
        let first = default_via(2, 1, 100);
        apply(
            &mut tables,
            KernelEvent::NewRoute {
                routes: vec![first.clone()],
                replace: false,
            },
        );
        let replacement = default_via(2, 254, 100);
        apply(
            &mut tables,
            KernelEvent::NewRoute {
                routes: vec![replacement.clone()],
                replace: true,
            },
        );
        assert_eq!(tables.routes.iter().collect::<Vec<_>>(), vec![&replacement]);
        let other_metric = default_via(2, 1, 200);
        apply(
            &mut tables,
            KernelEvent::NewRoute {
                routes: vec![other_metric.clone()],
                replace: false,
            },
        );
        apply(&mut tables, KernelEvent::DelRoute(vec![replacement]));
        assert_eq!(
            tables.routes.iter().collect::<Vec<_>>(),
            vec![&other_metric]
        );
    }

    #[test]
    fn link_going_down_or_away_forgets_its_routes_silently_flushed_by_the_kernel() {
        let mut tables = tables_with(&[link(2, "eth0"), link(3, "eth1")]);
        let routes = vec![default_via(2, 1, 0), default_via(3, 1, 10)];
        apply(
            &mut tables,
            KernelEvent::NewRoute {
                routes,
                replace: false,
            },
        );
        let mut down = link(2, "eth0");
        down.flags = 0;
        apply(&mut tables, KernelEvent::NewLink(down));
        assert_eq!(
            tables.routes.iter().map(|r| r.oif).collect::<Vec<_>>(),
            vec![Some(3)]
        );
        apply(&mut tables, KernelEvent::DelLink(3));
        assert!(tables.routes.is_empty());
    }
}
