//! Links, snapshots and goals for the unit tests of the core and of the report: one builder
//! instead of a copy per test module.

use std::net::{IpAddr, Ipv4Addr};

use super::goal::Goal;
use super::link::{Address, KernelLink, KernelOperState, iff};
use super::{Family, IfName, InterfaceRequirement, OperStateRange, Requirements, Snapshot};

/// A link that is up, with carrier or without (its peer down), and with one IPv4 address
/// (192.0.2.IFINDEX/24) of `address_scope` when given.
pub fn link(ifindex: u32, name: &str, carrier: bool, address_scope: Option<u8>) -> KernelLink {
    KernelLink {
        ifindex,
        name: name.into(),
        flags: match carrier {
            true => iff::UP | iff::RUNNING | iff::LOWER_UP,
            false => iff::UP,
        },
        kernel_oper: match carrier {
            true => KernelOperState::Up,
            false => KernelOperState::LowerLayerDown,
        },
        addresses: address_scope
            .map(|scope| Address {
                family: Family::Ipv4,
                address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, ifindex as u8)),
                prefix_len: 24,
                scope,
                flags: 0,
                valid_until: None,
            })
            .into_iter()
            .collect(),
        ..KernelLink::default()
    }
}

/// A link that is up with carrier, with these addresses.
pub fn up_link(ifindex: u32, name: &str, addresses: Vec<Address>) -> KernelLink {
    KernelLink {
        ifindex,
        name: name.into(),
        flags: iff::UP | iff::RUNNING | iff::LOWER_UP,
        kernel_oper: KernelOperState::Up,
        addresses,
        ..KernelLink::default()
    }
}

/// The kernel's links, without a network manager.
pub fn kernel_only(links: Vec<KernelLink>) -> Snapshot {
    let mut snap = Snapshot::kernel_only();
    snap.kernel.links = links.into_iter().map(|l| (l.ifindex, l)).collect();
    snap
}

/// `-i` specifications as the command line writes them (`eth0`, `eth0:routable`).
pub fn wanted(specs: &[&str]) -> Vec<InterfaceRequirement> {
    specs
        .iter()
        .map(|spec| {
            let (name, range) = spec.split_once(':').unwrap_or((spec, ""));
            InterfaceRequirement {
                name: IfName::new(name).unwrap(),
                range: (!range.is_empty()).then(|| range.parse::<OperStateRange>().unwrap()),
            }
        })
        .collect()
}

/// Upstream's goal for `-i` specifications ([`wanted`]).
pub fn upstream(specs: &[&str]) -> Goal {
    Goal::Upstream(Requirements {
        interfaces: wanted(specs),
        ..Requirements::default()
    })
}

/// Kernel tables with the links wo0 (ifindex 2) and wo1 (3), no address, and `routes`.
pub fn route_tables(routes: Vec<super::Route>) -> super::update::KernelTables {
    let mut tables = super::update::KernelTables::default();
    for (ifindex, name) in [(2, "wo0"), (3, "wo1")] {
        tables.links.insert(
            ifindex,
            KernelLink {
                ifindex,
                name: name.into(),
                ..KernelLink::default()
            },
        );
    }
    tables.routes = routes.into_iter().collect();
    tables
}

/// The online interfaces a route decision is given: `ifN` for each ifindex N.
pub fn online(indexes: &[u32]) -> std::collections::BTreeMap<u32, String> {
    indexes.iter().map(|&i| (i, format!("if{i}"))).collect()
}
