//! Conversion from netlink-packet-route messages to the core's kernel facts. Pure: every
//! attribute combination, including missing ones, gives a value, never a panic.

use std::time::Duration;

use netlink_packet_route::AddressFamily;
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{LinkAttribute, LinkInfo, LinkMessage, Prop, State};

use crate::core::{Address, Family, KernelLink, KernelOperState};

/// Lifetime value the kernel uses for "forever".
const INFINITE_LIFETIME: u32 = u32::MAX;

/// The link described by an RTM_NEWLINK message (without addresses).
pub fn link(message: &LinkMessage) -> KernelLink {
    let mut link = KernelLink {
        ifindex: message.header.index,
        flags: message.header.flags.bits(),
        ..KernelLink::default()
    };
    for attribute in &message.attributes {
        match attribute {
            LinkAttribute::IfName(name) => link.name.clone_from(name),
            LinkAttribute::OperState(state) => link.kernel_oper = kernel_oper(*state),
            LinkAttribute::Controller(master) if *master > 0 => link.master = Some(*master),
            LinkAttribute::PropList(props) => {
                link.altnames
                    .extend(props.iter().filter_map(|prop| match prop {
                        Prop::AltIfName(name) => Some(name.clone()),
                        _ => None,
                    }));
            }
            LinkAttribute::LinkInfo(infos) => {
                if let Some(kind) = infos.iter().find_map(|info| match info {
                    LinkInfo::Kind(kind) => Some(kind.to_string()),
                    _ => None,
                }) {
                    link.kind = Some(kind);
                }
            }
            _ => {}
        }
    }
    link
}

fn kernel_oper(state: State) -> KernelOperState {
    match state {
        State::NotPresent => KernelOperState::NotPresent,
        State::Down => KernelOperState::Down,
        State::LowerLayerDown => KernelOperState::LowerLayerDown,
        State::Testing => KernelOperState::Testing,
        State::Dormant => KernelOperState::Dormant,
        State::Up => KernelOperState::Up,
        _ => KernelOperState::Unknown,
    }
}

/// The address described by an RTM_NEWADDR/RTM_DELADDR message with its ifindex; `None`
/// for families other than IPv4/IPv6 or a message without an address. `now` is
/// CLOCK_BOOTTIME when the message was read, to turn the relative lifetime into a deadline.
pub fn address(message: &AddressMessage, now: Duration) -> Option<(u32, Address)> {
    let family = match message.header.family {
        AddressFamily::Inet => Family::Ipv4,
        AddressFamily::Inet6 => Family::Ipv6,
        _ => return None,
    };
    let mut local = None;
    let mut peer = None;
    let mut flags = u32::from(message.header.flags.bits());
    let mut valid_until = None;
    for attribute in &message.attributes {
        match attribute {
            AddressAttribute::Local(ip) => local = Some(*ip),
            AddressAttribute::Address(ip) => peer = Some(*ip),
            AddressAttribute::Flags(extended) => flags = extended.bits(),
            AddressAttribute::CacheInfo(info) if info.ifa_valid != INFINITE_LIFETIME => {
                valid_until = Some(now + Duration::from_secs(u64::from(info.ifa_valid)));
            }
            _ => {}
        }
    }
    Some((
        message.header.index,
        Address {
            family,
            address: local.or(peer)?,
            prefix_len: message.header.prefix_len,
            scope: u8::from(message.header.scope),
            flags,
            valid_until,
        },
    ))
}
