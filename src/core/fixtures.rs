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
