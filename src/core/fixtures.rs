//! Links for the core's unit tests: one builder instead of a copy per test module.

use std::net::{IpAddr, Ipv4Addr};

use super::Family;
use super::link::{Address, KernelLink, KernelOperState, iff};

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
