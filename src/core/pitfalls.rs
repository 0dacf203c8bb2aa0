//! The classic "online but not really" situations, looked for by `--explain` and listed by
//! `--json`: the facts they are made of are all in the kernel's tables, plus what the caller
//! reads for them through [`HostFacts`] (`/proc/sys/net` values, the kernel's answer to a
//! route lookup, when an address was first seen tentative), so finding them sends nothing
//! and changes nothing.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use super::default_route::{default_routes, interface_name};
use super::dns::{DnsProblem, NetworkdDns};
use super::evaluate::LinkOutcome;
use super::goal::GoalVerdict;
use super::link::{Address, KernelLink, scope};
use super::neighbour::NeighbourState;
use super::snapshot::{ManagerKind, Snapshot};
use super::state::Family;

mod host;
pub mod machine;

pub use host::{RouteChoice, TENTATIVE_LIMIT};

/// What the pitfalls need beyond the snapshot, read by the adapter (the core does no I/O).
pub trait HostFacts {
    /// An integer under `/proc/sys/net` of this network namespace, by its path below it
    /// (`ipv4/ip_forward`, `ipv4/conf/eth0/rp_filter`); `None` when unreadable.
    fn sysctl(&self, key: &str) -> Option<i64>;
    /// The kernel's answer to a route lookup for `destination` (RTM_GETROUTE: nothing is
    /// sent); `None` when it has none or could not be asked.
    fn route_to(&self, destination: IpAddr) -> Option<RouteChoice>;
    /// When (CLOCK_BOOTTIME) the address `address` on link `ifindex` was first seen
    /// tentative, if it was.
    fn tentative_since(&self, ifindex: u32, address: IpAddr) -> Option<Duration>;
}

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
    /// Forwarding of `family` is off (`key` under /proc/sys/net reads 0) while `bridge`, which
    /// has ports and its own network, does not carry the default route: what is behind the
    /// bridge (containers, virtual machines) cannot reach anything beyond it.
    ForwardingOff {
        family: Family,
        bridge: String,
        ports: Vec<String>,
        via: String,
        key: String,
    },
    /// Two or more default routes of `family` in one table with the same metric through
    /// different interfaces (`routes`: interface and gateway): which one is used depends on
    /// the order they were added. `in_use` is the interface the kernel's own lookup chose.
    TiedDefaultRoutes {
        family: Family,
        table: u32,
        metric: u32,
        routes: Vec<(String, Option<IpAddr>)>,
        in_use: Option<String>,
    },
    /// Duplicate address detection failed for `address`: another host on the link has it,
    /// and the kernel will never use it.
    DadFailed {
        interface: String,
        address: IpAddr,
        prefix_len: u8,
    },
    /// `address` has stayed tentative (duplicate address detection unfinished) for more
    /// than [`TENTATIVE_LIMIT`] on a link with carrier: nothing can use it yet.
    StillTentative {
        interface: String,
        address: IpAddr,
        prefix_len: u8,
    },
    /// `--dns` (or Ubuntu's condition (4)) waits for `interface`, and no DNS server is
    /// configured anywhere: waiting will not configure one. `networkd` says where it would
    /// have come from, when networkd manages the interface.
    NoDnsServer {
        interface: String,
        networkd: Option<NetworkdDns>,
    },
    /// Both `systemd-networkd-wait-online.service` and `NetworkManager-wait-online.service`
    /// are enabled, and `idle` manages no link (loopback aside): the boot also waits for
    /// that manager's waiter, which waits for nothing (upstream's networkd waiter until its
    /// timeout, 2 minutes).
    TwoWaiters { idle: ManagerKind },
    /// The one manager the wait follows (`--manager=networkd|networkmanager`) has said about
    /// each of the `links` links there are (loopback aside) that it does not manage them:
    /// nothing will be online by its rules.
    ManagerManagesNothing { manager: ManagerKind, links: usize },
    /// In a container (`container` names its manager, from `/run/systemd/container`),
    /// `interface` has a global address while `manager`, in the container, does not manage
    /// it: it was configured from outside, by the host most likely, and the manager's rules
    /// ignore it.
    ContainerHostLink {
        interface: String,
        container: String,
        manager: ManagerKind,
    },
    /// In a container, `address` on `interface` is still tentative (IPv6 duplicate address
    /// detection unfinished): until it ends, what is started after network-online.target
    /// sends from the link-local address (systemd/systemd#39784, `host0`).
    ContainerTentativeIpv6 {
        interface: String,
        address: IpAddr,
        prefix_len: u8,
        container: String,
    },
}

/// Finds the pitfalls in `snapshot` for the interfaces `verdict` awaits (and those of the
/// whole host: forwarding, tied default routes, addresses that fail DAD).
pub fn find(snapshot: &Snapshot, verdict: &GoalVerdict, facts: &impl HostFacts) -> Vec<Pitfall> {
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
                via: interface_name(&snapshot.kernel, best.oif),
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
                interface: interface_name(&snapshot.kernel, Some(oif)),
                state: *state,
            });
        }
    }
    found.extend(no_dns_server(verdict));
    found.extend(strict_reverse_path(snapshot, facts));
    found.extend(host::forwarding_off(snapshot, facts));
    found.extend(host::tied_default_routes(snapshot, facts));
    let machine = machine::find(snapshot);
    // In a container, a tentative IPv6 address is said once, with the container's words.
    found.extend(
        host::duplicate_addresses(snapshot, facts)
            .into_iter()
            .filter(|pitfall| !is_said_for_container(pitfall, &machine)),
    );
    found.extend(machine);
    found
}

/// `pitfall` is a [`Pitfall::StillTentative`] whose address `machine` reports as
/// [`Pitfall::ContainerTentativeIpv6`].
fn is_said_for_container(pitfall: &Pitfall, machine: &[Pitfall]) -> bool {
    let Pitfall::StillTentative {
        interface, address, ..
    } = pitfall
    else {
        return false;
    };
    machine.iter().any(|other| {
        matches!(other, Pitfall::ContainerTentativeIpv6 { interface: i, address: a, .. }
            if i == interface && a == address)
    })
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

/// The first interface waited for whose DNS condition fails because no server is configured
/// anywhere (one pitfall: the fix is the same for all). Also logged after a failed wait's
/// reasons, with or without `--explain`: the journal of a boot then says what to change.
pub fn no_dns_server(verdict: &GoalVerdict) -> Option<Pitfall> {
    verdict
        .verdicts
        .iter()
        .flat_map(|(_, v)| &v.links)
        .find_map(|report| match &report.outcome {
            LinkOutcome::Dns(problem) if problem.is_no_server() => Some(Pitfall::NoDnsServer {
                interface: report.name.clone(),
                networkd: match problem {
                    DnsProblem::NoServerConfigured { networkd } => *networkd,
                    _ => None,
                },
            }),
            _ => None,
        })
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
fn strict_reverse_path(snapshot: &Snapshot, facts: &impl HostFacts) -> Vec<Pitfall> {
    let routes = default_routes(&snapshot.kernel, Family::Ipv4);
    let Some(best) = routes.first() else {
        return Vec::new();
    };
    let rp_filter = |name: &str| facts.sysctl(&format!("ipv4/conf/{name}/rp_filter"));
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
            via: interface_name(&snapshot.kernel, best.oif),
        })
        .collect()
}

impl Pitfall {
    /// The stable name of this kind of pitfall (`--json`'s `kind`, documented in
    /// wait-online(8)).
    pub fn kind(&self) -> &'static str {
        match self {
            Pitfall::LinkLocalOnly { .. } => "link-local-only",
            Pitfall::NoDefaultRoute { .. } => "no-default-route",
            Pitfall::DefaultRouteElsewhere { .. } => "default-route-elsewhere",
            Pitfall::StrictReversePath { .. } => "strict-rp-filter",
            Pitfall::GatewayUnanswered { .. } => "gateway-unanswered",
            Pitfall::ForwardingOff { .. } => "forwarding-off",
            Pitfall::TiedDefaultRoutes { .. } => "tied-default-routes",
            Pitfall::DadFailed { .. } => "dad-failed",
            Pitfall::StillTentative { .. } => "still-tentative",
            Pitfall::NoDnsServer { .. } => "no-dns-server",
            Pitfall::TwoWaiters { .. } => "two-waiters",
            Pitfall::ManagerManagesNothing { .. } => "manager-manages-nothing",
            Pitfall::ContainerHostLink { .. } => "container-host-link",
            Pitfall::ContainerTentativeIpv6 { .. } => "container-tentative-ipv6",
        }
    }

    /// The interface the pitfall is about (`--json`'s `interface`): the awaited one, the
    /// bridge, the interface the kernel uses (else the first tied one), the address's link;
    /// empty for those about the whole machine (two waiters, a manager managing nothing).
    pub fn interface(&self) -> &str {
        match self {
            Pitfall::LinkLocalOnly { interface }
            | Pitfall::NoDefaultRoute { interface, .. }
            | Pitfall::StrictReversePath { interface, .. }
            | Pitfall::GatewayUnanswered { interface, .. }
            | Pitfall::DadFailed { interface, .. }
            | Pitfall::StillTentative { interface, .. }
            | Pitfall::NoDnsServer { interface, .. }
            | Pitfall::ContainerHostLink { interface, .. }
            | Pitfall::ContainerTentativeIpv6 { interface, .. } => interface,
            Pitfall::TwoWaiters { .. } | Pitfall::ManagerManagesNothing { .. } => "",
            Pitfall::DefaultRouteElsewhere {
                interfaces, via, ..
            } => interfaces.first().unwrap_or(via),
            Pitfall::ForwardingOff { bridge, .. } => bridge,
            Pitfall::TiedDefaultRoutes { routes, in_use, .. } => in_use
                .as_deref()
                .or_else(|| routes.first().map(|(name, _)| name.as_str()))
                .unwrap_or(""),
        }
    }
}

#[cfg(test)]
mod tests;
