//! The pitfalls of the whole host rather than of one awaited interface: forwarding switched
//! off under a bridge that carries guests, default routes that tie, addresses that failed
//! (or never finish) duplicate address detection.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use super::{HostFacts, Pitfall, has_global};
use crate::core::default_route::{default_routes, interface_name};
use crate::core::link::{KernelLink, ifa};
use crate::core::route::{Prefix, Route, kind};
use crate::core::snapshot::Snapshot;
use crate::core::state::Family;

/// How long an address may stay tentative before it is reported: DAD takes
/// `dad_transmits` × `retrans_time` (1 × 1 s by default) after a random delay of up to 1 s.
pub const TENTATIVE_LIMIT: Duration = Duration::from_secs(5);

/// The kernel's answer to a route lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteChoice {
    /// The table the answer came from.
    pub table: u32,
    pub oif: Option<u32>,
    pub gateway: Option<IpAddr>,
}

/// Forwarding off for a bridge with ports that has a global address of a family whose
/// default route goes elsewhere. A bridge that carries the default route itself (the host's
/// uplink bridged with its guests) switches frames and needs no forwarding: not reported.
pub(super) fn forwarding_off(snapshot: &Snapshot, facts: &impl HostFacts) -> Vec<Pitfall> {
    let links = &snapshot.kernel.links;
    let mut found = Vec::new();
    for bridge in links.values() {
        if bridge.kind.as_deref() != Some("bridge") || !bridge.is_up() {
            continue;
        }
        let ports: Vec<String> = links
            .values()
            .filter(|port| port.master == Some(bridge.ifindex) && port.is_up())
            .map(|port| port.name.clone())
            .collect();
        if ports.is_empty() {
            continue;
        }
        for family in [Family::Ipv4, Family::Ipv6] {
            let routes = default_routes(&snapshot.kernel, family);
            let Some(best) = routes.first() else {
                continue;
            };
            if !has_global(bridge, family, snapshot)
                || routes.iter().any(|r| r.oif == Some(bridge.ifindex))
            {
                continue;
            }
            if let Some(key) = forwarding_off_key(bridge, family, facts) {
                found.push(Pitfall::ForwardingOff {
                    family,
                    bridge: bridge.name.clone(),
                    ports: ports.clone(),
                    via: interface_name(&snapshot.kernel, best.oif),
                    key,
                });
            }
        }
    }
    found
}

/// The setting that keeps `family` from being forwarded out of `bridge`, when one does. IPv4
/// decides by the receiving interface's own `forwarding` (which `ip_forward` sets on every
/// interface); IPv6 by `all`, unless the interface has `force_forwarding` (Linux 6.17).
fn forwarding_off_key(
    bridge: &KernelLink,
    family: Family,
    facts: &impl HostFacts,
) -> Option<String> {
    let key = match family {
        Family::Ipv4 => format!("ipv4/conf/{}/forwarding", bridge.name),
        Family::Ipv6 => {
            let forced = format!("ipv6/conf/{}/force_forwarding", bridge.name);
            if facts.sysctl(&forced).is_some_and(|v| v != 0) {
                return None;
            }
            "ipv6/conf/all/forwarding".to_string()
        }
    };
    (facts.sysctl(&key)? == 0).then_some(key)
}

/// Unicast default routes that share a family, table and metric and go through more than one
/// interface. The kernel is asked which one it uses (it decides by insertion order and, for
/// IPv4, by which gateways answered ARP): emulating that from a snapshot would guess.
pub(super) fn tied_default_routes(snapshot: &Snapshot, facts: &impl HostFacts) -> Vec<Pitfall> {
    let mut groups: BTreeMap<(Family, u32, u32), Vec<&Route>> = BTreeMap::new();
    for route in &snapshot.kernel.routes {
        if route.is_default() && route.kind == kind::UNICAST && route.tos == 0 {
            groups
                .entry((route.family, route.table, route.priority))
                .or_default()
                .push(route);
        }
    }
    let mut found = Vec::new();
    for ((family, table, metric), routes) in groups {
        let mut interfaces: Vec<Option<u32>> = routes.iter().map(|r| r.oif).collect();
        interfaces.sort_unstable();
        interfaces.dedup();
        if interfaces.len() < 2 {
            continue;
        }
        let in_use = lookup_destination(snapshot, family)
            .and_then(|destination| facts.route_to(destination))
            .filter(|choice| {
                choice.table == table
                    && routes
                        .iter()
                        .any(|r| r.oif == choice.oif && r.gateway == choice.gateway)
            })
            .map(|choice| interface_name(&snapshot.kernel, choice.oif));
        let mut routes: Vec<(String, Option<IpAddr>)> = routes
            .iter()
            .map(|r| (interface_name(&snapshot.kernel, r.oif), r.gateway))
            .collect();
        routes.sort();
        found.push(Pitfall::TiedDefaultRoutes {
            family,
            table,
            metric,
            routes,
            in_use,
        });
    }
    found
}

/// A destination of `family` that no other route than a default one covers, so that the
/// kernel's answer for it is its choice among the default routes: documentation addresses
/// first (nothing routes them on purpose), then well-known public resolvers.
pub(super) fn lookup_destination(snapshot: &Snapshot, family: Family) -> Option<IpAddr> {
    let candidates: [IpAddr; 3] = match family {
        Family::Ipv4 => [
            Ipv4Addr::new(203, 0, 113, 1).into(),
            Ipv4Addr::new(198, 51, 100, 1).into(),
            Ipv4Addr::new(9, 9, 9, 9).into(),
        ],
        Family::Ipv6 => [
            Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 1).into(),
            Ipv6Addr::new(0x2001, 0xdb8, 0xffff, 0xffff, 0, 0, 0, 1).into(),
            Ipv6Addr::new(0x2620, 0xfe, 0, 0, 0, 0, 0, 9).into(),
        ],
    };
    candidates.into_iter().find(|candidate| {
        !snapshot
            .kernel
            .routes
            .iter()
            .any(|r| !r.is_default() && r.covers(&Prefix::host(*candidate)))
    })
}

/// Addresses whose DAD failed, and those tentative for longer than [`TENTATIVE_LIMIT`] on
/// a link with carrier (without carrier, DAD waits for it: the link state already says so).
pub(super) fn duplicate_addresses(snapshot: &Snapshot, facts: &impl HostFacts) -> Vec<Pitfall> {
    let mut found = Vec::new();
    for link in snapshot.kernel.links.values() {
        if link.is_loopback() {
            continue;
        }
        for address in &link.addresses {
            let (interface, prefix_len) = (link.name.clone(), address.prefix_len);
            if address.flags & ifa::DADFAILED != 0 {
                found.push(Pitfall::DadFailed {
                    interface,
                    address: address.address,
                    prefix_len,
                });
            } else if address.flags & ifa::TENTATIVE != 0
                && link.is_up()
                && link.has_carrier()
                && facts
                    .tentative_since(link.ifindex, address.address)
                    .is_some_and(|since| snapshot.now.saturating_sub(since) > TENTATIVE_LIMIT)
            {
                found.push(Pitfall::StillTentative {
                    interface,
                    address: address.address,
                    prefix_len,
                });
            }
        }
    }
    found
}
