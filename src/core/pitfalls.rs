//! The classic "online but not really" situations, looked for by `--explain`: the facts they
//! are made of are all in the kernel's tables (plus `rp_filter`, which the caller reads from
//! `/proc/sys/net`), so finding them sends nothing and changes nothing.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use super::default_route::default_routes;
use super::evaluate::LinkOutcome;
use super::goal::GoalVerdict;
use super::link::{Address, KernelLink, scope};
use super::neighbour::NeighbourState;
use super::snapshot::Snapshot;
use super::state::Family;

/// One pitfall found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pitfall {
    /// An awaited interface counts as online, but its only usable addresses are link-local
    /// (169.254.0.0/16, fe80::/10): nothing beyond the link can be reached from it.
    LinkLocalOnly { interface: String },
    /// An awaited interface has a global address of `family`, but there is no default route
    /// of that family: only the directly connected networks are reachable.
    NoDefaultRoute { family: Family, interface: String },
    /// The awaited interfaces with a global `family` address carry no default route of that
    /// family: traffic to other networks leaves through `via` instead.
    DefaultRouteElsewhere {
        family: Family,
        interfaces: Vec<String>,
        via: String,
    },
    /// Strict reverse-path filtering (`rp_filter=1`) on an interface with a global IPv4
    /// address that does not carry the default route: packets arriving on it from beyond its
    /// own networks are dropped, because replies would leave through `via`.
    StrictReversePath { interface: String, via: String },
    /// The default gateway's neighbour entry says it does not answer.
    GatewayUnanswered {
        family: Family,
        gateway: IpAddr,
        interface: String,
        state: NeighbourState,
    },
}

/// Finds the pitfalls in `snapshot` for the interfaces `verdict` awaits. `rp_filter` gives
/// `net.ipv4.conf.<name>.rp_filter` for an interface name or `all`, when readable.
pub fn find(
    snapshot: &Snapshot,
    verdict: &GoalVerdict,
    rp_filter: impl Fn(&str) -> Option<u8>,
) -> Vec<Pitfall> {
    let awaited = awaited_links(snapshot, verdict);
    let mut found = Vec::new();
    for (link, online) in awaited.values() {
        if *online && link_local_only(link, snapshot) {
            found.push(Pitfall::LinkLocalOnly {
                interface: link.name.clone(),
            });
        }
    }
    for family in [Family::Ipv4, Family::Ipv6] {
        let with_global: Vec<&KernelLink> = awaited
            .values()
            .map(|(link, _)| *link)
            .filter(|link| has_global(link, family, snapshot))
            .collect();
        let routes = default_routes(&snapshot.kernel, family);
        if let Some(first) = with_global.first()
            && routes.is_empty()
        {
            found.push(Pitfall::NoDefaultRoute {
                family,
                interface: first.name.clone(),
            });
        }
        let carried = |link: &KernelLink| routes.iter().any(|r| r.oif == Some(link.ifindex));
        if let Some(best) = routes.first()
            && !with_global.is_empty()
            && !with_global.iter().any(|l| carried(l))
        {
            found.push(Pitfall::DefaultRouteElsewhere {
                family,
                interfaces: with_global.iter().map(|l| l.name.clone()).collect(),
                via: name_of(snapshot, best.oif),
            });
        }
        if let Some(best) = routes.first()
            && let (Some(gateway), Some(oif)) = (best.gateway, best.oif)
            && let Some(state) = snapshot.kernel.neighbours.get(&(oif, gateway))
            && state.is_unanswered()
        {
            found.push(Pitfall::GatewayUnanswered {
                family,
                gateway,
                interface: name_of(snapshot, Some(oif)),
                state: *state,
            });
        }
    }
    found.extend(strict_reverse_path(snapshot, rp_filter));
    found
}

/// The links the verdict judged (not ignored, present), by ifindex, with whether they are
/// online.
fn awaited_links<'a>(
    snapshot: &'a Snapshot,
    verdict: &GoalVerdict,
) -> BTreeMap<u32, (&'a KernelLink, bool)> {
    let mut awaited: BTreeMap<u32, (&KernelLink, bool)> = BTreeMap::new();
    for (_, v) in &verdict.verdicts {
        for report in &v.links {
            if matches!(report.outcome, LinkOutcome::Ignored(_)) {
                continue;
            }
            let Some(link) = report.ifindex.and_then(|i| snapshot.kernel.links.get(&i)) else {
                continue;
            };
            let online = report.outcome == LinkOutcome::Online;
            let entry = awaited.entry(link.ifindex).or_insert((link, online));
            entry.1 |= online;
        }
    }
    awaited
}

/// Every usable address is link-local, by scope or by range: an address in 169.254.0.0/16
/// added without `scope link` has global scope, so it makes the link `routable`, yet it
/// reaches no further than the link.
fn link_local_only(link: &KernelLink, snapshot: &Snapshot) -> bool {
    let usable = || {
        link.addresses
            .iter()
            .filter(|a| a.is_ready(snapshot.now) && a.scope < scope::HOST)
    };
    usable().next().is_some() && usable().all(is_link_local)
}

fn is_link_local(address: &Address) -> bool {
    address.scope == scope::LINK
        || match address.address {
            IpAddr::V4(v4) => v4.is_link_local(),
            IpAddr::V6(v6) => v6.segments()[0] & 0xffc0 == 0xfe80,
        }
}

/// A usable address of `family` that reaches beyond the link.
fn has_global(link: &KernelLink, family: Family, snapshot: &Snapshot) -> bool {
    link.addresses.iter().any(|a| {
        a.family == family
            && a.scope == scope::UNIVERSE
            && !is_link_local(a)
            && a.is_ready(snapshot.now)
    })
}

/// rp_filter=1 (the kernel uses the larger of `all` and the interface's own value) on an
/// up interface with a global IPv4 address that carries no IPv4 default route, while another
/// interface does.
fn strict_reverse_path(
    snapshot: &Snapshot,
    rp_filter: impl Fn(&str) -> Option<u8>,
) -> Vec<Pitfall> {
    let routes = default_routes(&snapshot.kernel, Family::Ipv4);
    let Some(best) = routes.first() else {
        return Vec::new();
    };
    let all = rp_filter("all").unwrap_or(0);
    snapshot
        .kernel
        .links
        .values()
        .filter(|link| !link.is_loopback() && link.is_up())
        .filter(|link| has_global(link, Family::Ipv4, snapshot))
        .filter(|link| !routes.iter().any(|r| r.oif == Some(link.ifindex)))
        .filter(|link| all.max(rp_filter(&link.name).unwrap_or(0)) == 1)
        .map(|link| Pitfall::StrictReversePath {
            interface: link.name.clone(),
            via: name_of(snapshot, best.oif),
        })
        .collect()
}

fn name_of(snapshot: &Snapshot, ifindex: Option<u32>) -> String {
    match ifindex {
        Some(index) => snapshot
            .kernel
            .links
            .get(&index)
            .map_or_else(|| format!("ifindex {index}"), |l| l.name.clone()),
        None => "no interface".to_string(),
    }
}

impl fmt::Display for Pitfall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pitfall::LinkLocalOnly { interface } => write!(
                f,
                "{interface}: counts as online, but its only addresses are link-local \
                 (169.254.0.0/16, fe80::/10): nothing beyond the link is reachable; \
                 require routable (-i {interface}:routable) if it needs more"
            ),
            Pitfall::NoDefaultRoute { family, interface } => write!(
                f,
                "{interface} has a global {family} address but there is no {family} default route: \
                 only directly connected networks are reachable"
            ),
            Pitfall::DefaultRouteElsewhere {
                family,
                interfaces,
                via,
            } => write!(
                f,
                "the {family} default route goes through {via}, not through {}: \
                 traffic to other networks does not use the awaited interface",
                interfaces.join(", ")
            ),
            Pitfall::StrictReversePath { interface, via } => write!(
                f,
                "{interface}: rp_filter=1 (strict) while the IPv4 default route goes through {via}: \
                 packets reaching {interface} from other networks are dropped; \
                 set net.ipv4.conf.{interface}.rp_filter=2 (loose) if it must accept them"
            ),
            Pitfall::GatewayUnanswered {
                family,
                gateway,
                interface,
                state,
            } => write!(
                f,
                "the {family} default gateway {gateway} on {interface} does not answer \
                 (neighbour entry {state})"
            ),
        }
    }
}

#[cfg(test)]
mod tests;
