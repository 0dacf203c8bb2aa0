//! Conversion from netlink-packet-route messages to the core's kernel facts. Pure: every
//! attribute combination, including missing ones, gives a value, never a panic.

use std::time::Duration;

use libc::{
    IFLA_ALT_IFNAME, IFLA_IFNAME, IFLA_PROP_LIST, RTM_DELADDR, RTM_DELLINK, RTM_NEWADDR,
    RTM_NEWLINK,
};
use netlink_packet_core::{
    NetlinkBuffer, NetlinkHeader, NetlinkMessage, NetlinkPayload, NlaBuffer, NlasIterator,
    Parseable, ParseableParametrized,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::address::AddressHeader;
use netlink_packet_route::link::LinkHeader;

use netlink_packet_route::AddressFamily;
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{LinkAttribute, LinkInfo, LinkMessage, Prop, State};
use netlink_packet_route::neighbour::{NeighbourAddress, NeighbourAttribute, NeighbourMessage};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteMessage};

use crate::core::neighbour::NeighbourState;
use crate::core::{Address, Family, KernelLink, KernelOperState, Route};

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

/// The routes described by an RTM_NEWROUTE/RTM_DELROUTE message: one per next hop (a
/// multipath route gives several); none for families other than IPv4/IPv6.
pub fn routes(message: &RouteMessage) -> Vec<Route> {
    let header = &message.header;
    let family = match header.address_family {
        AddressFamily::Inet => Family::Ipv4,
        AddressFamily::Inet6 => Family::Ipv6,
        _ => return Vec::new(),
    };
    let mut route = Route {
        family,
        table: u32::from(header.table),
        destination: None,
        prefix_len: header.destination_prefix_length,
        tos: header.tos,
        priority: 0,
        gateway: None,
        oif: None,
        kind: u8::from(header.kind),
        scope: u8::from(header.scope),
    };
    let mut hops = Vec::new();
    for attribute in &message.attributes {
        match attribute {
            RouteAttribute::Table(table) => route.table = *table,
            RouteAttribute::Destination(address) => route.destination = ip(address),
            RouteAttribute::Gateway(address) => route.gateway = ip(address),
            RouteAttribute::Oif(oif) => route.oif = Some(*oif),
            RouteAttribute::Priority(priority) => route.priority = *priority,
            RouteAttribute::MultiPath(next_hops) => hops.extend(next_hops.iter().map(|hop| {
                let gateway = hop.attributes.iter().find_map(|a| match a {
                    RouteAttribute::Gateway(address) => ip(address),
                    _ => None,
                });
                (Some(hop.interface_index).filter(|&i| i > 0), gateway)
            })),
            _ => {}
        }
    }
    if route.prefix_len == 0 {
        route.destination = None;
    }
    if hops.is_empty() {
        return vec![route];
    }
    hops.into_iter()
        .map(|(oif, gateway)| Route {
            oif,
            gateway,
            ..route.clone()
        })
        .collect()
}

fn ip(address: &RouteAddress) -> Option<std::net::IpAddr> {
    match address {
        RouteAddress::Inet(v4) => Some((*v4).into()),
        RouteAddress::Inet6(v6) => Some((*v6).into()),
        _ => None,
    }
}

/// The entry described by an RTM_NEWNEIGH/RTM_DELNEIGH message: ifindex, IP address and
/// state; `None` for bridge forwarding entries and messages without an IP destination.
pub fn neighbour(message: &NeighbourMessage) -> Option<(u32, std::net::IpAddr, NeighbourState)> {
    let address = message.attributes.iter().find_map(|a| match a {
        NeighbourAttribute::Destination(NeighbourAddress::Inet(v4)) => {
            Some(std::net::IpAddr::from(*v4))
        }
        NeighbourAttribute::Destination(NeighbourAddress::Inet6(v6)) => {
            Some(std::net::IpAddr::from(*v6))
        }
        _ => None,
    })?;
    let state = NeighbourState::from_bits(u16::from(message.header.state));
    Some((message.header.ifindex, address, state))
}

/// Sizes of the fixed headers that precede the attributes.
const LINK_HEADER_LEN: usize = std::mem::size_of::<libc::ifinfomsg>();
const ADDRESS_HEADER_LEN: usize = std::mem::size_of::<libc::ifaddrmsg>();

/// A link or address message that the strict decoder refused as a whole (an interface name,
/// alias or label that is not UTF-8, an attribute it does not accept), decoded attribute by
/// attribute instead: the attributes that cannot be read are left out, and names are read
/// lossily. Dropping the whole message would hide the link, and a hidden link can make the
/// verdict wrong in both directions. `None` for other message types or a broken header.
pub fn lenient_message(bytes: &[u8]) -> Option<NetlinkMessage<RouteNetlinkMessage>> {
    let buffer = NetlinkBuffer::new_checked(bytes).ok()?;
    let header = NetlinkHeader::parse(&buffer).ok()?;
    let payload = buffer.payload();
    let inner = match header.message_type {
        RTM_NEWLINK | RTM_DELLINK => {
            let mut message = LinkMessage::default();
            message.header = LinkHeader::parse(payload).ok()?;
            let family = message.header.interface_family;
            for nla in NlasIterator::new(payload.get(LINK_HEADER_LEN..)?).flatten() {
                if let Some(attribute) = lenient_link_attribute(&nla, family) {
                    message.attributes.push(attribute);
                }
            }
            match header.message_type {
                RTM_NEWLINK => RouteNetlinkMessage::NewLink(message),
                _ => RouteNetlinkMessage::DelLink(message),
            }
        }
        RTM_NEWADDR | RTM_DELADDR => {
            let mut message = AddressMessage::default();
            message.header = AddressHeader::parse(payload).ok()?;
            for nla in NlasIterator::new(payload.get(ADDRESS_HEADER_LEN..)?).flatten() {
                if let Ok(attribute) = AddressAttribute::parse(&nla) {
                    message.attributes.push(attribute);
                }
            }
            match header.message_type {
                RTM_NEWADDR => RouteNetlinkMessage::NewAddress(message),
                _ => RouteNetlinkMessage::DelAddress(message),
            }
        }
        _ => return None,
    };
    Some(NetlinkMessage::new(
        header,
        NetlinkPayload::InnerMessage(inner),
    ))
}

fn lenient_link_attribute(nla: &NlaBuffer<&[u8]>, family: AddressFamily) -> Option<LinkAttribute> {
    if let Ok(attribute) = LinkAttribute::parse_with_param(nla, family) {
        return Some(attribute);
    }
    match nla.kind() {
        IFLA_IFNAME => Some(LinkAttribute::IfName(lossy_name(nla.value()))),
        IFLA_PROP_LIST => {
            let names: Vec<Prop> = NlasIterator::new(nla.value())
                .flatten()
                .filter(|prop| prop.kind() == IFLA_ALT_IFNAME)
                .map(|prop| Prop::AltIfName(lossy_name(prop.value())))
                .collect();
            (!names.is_empty()).then_some(LinkAttribute::PropList(names))
        }
        _ => None,
    }
}

/// A NUL-terminated name, with bytes that are not UTF-8 replaced.
fn lossy_name(value: &[u8]) -> String {
    let end = value.iter().position(|&b| b == 0).unwrap_or(value.len());
    String::from_utf8_lossy(&value[..end]).into_owned()
}
