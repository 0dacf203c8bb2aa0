//! rtnetlink on the wire, without I/O: the requests the kernel source sends, encoded, and the
//! datagrams the kernel sends back, decoded into the core's kernel facts. Every attribute
//! combination, including missing ones, gives a value, never a panic.

use std::net::IpAddr;
use std::time::Duration;

use libc::{
    IFLA_ALT_IFNAME, IFLA_IFNAME, IFLA_PROP_LIST, RTM_DELADDR, RTM_DELLINK, RTM_NEWADDR,
    RTM_NEWLINK,
};
use netlink_packet_core::{
    DefaultNla, NLM_F_ACK, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REPLACE, NLM_F_REQUEST,
    NetlinkBuffer, NetlinkHeader, NetlinkMessage, NetlinkPayload, NlaBuffer, NlasIterator,
    Parseable, ParseableParametrized,
};
use netlink_packet_route::address::{AddressAttribute, AddressHeader, AddressMessage};
use netlink_packet_route::link::{
    LinkAttribute, LinkExtentMask, LinkHeader, LinkInfo, LinkMessage, Prop, State,
};
use netlink_packet_route::neighbour::{NeighbourAddress, NeighbourAttribute, NeighbourMessage};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use crate::core::neighbour::NeighbourState;
use crate::core::update::{KernelEvent, ObjectClass};
use crate::core::{Address, Family, KernelLink, KernelOperState, Route};

/// What one request asks the kernel for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Query {
    /// Every object of a class (`NLM_F_DUMP`).
    Dump(ObjectClass),
    /// One link by name or alternative name (`RTM_GETLINK` with an ACK).
    LinkNamed(String),
    /// The links enslaved to this master (a link dump filtered by `IFLA_MASTER`).
    PortsOf(u32),
    /// The addresses of one link (an address dump filtered by ifindex; strict checking).
    AddressesOf(u32),
}

/// A request to send to the kernel: `query`, tagged with `seq`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request {
    pub query: Query,
    pub seq: u32,
}

/// The bytes of `request`.
pub(crate) fn encode(request: &Request) -> Vec<u8> {
    let skip_stats = || LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]);
    let mut flags = NLM_F_REQUEST | NLM_F_DUMP;
    let payload = match &request.query {
        Query::Dump(ObjectClass::Links) => {
            let mut message = LinkMessage::default();
            message.attributes.push(skip_stats());
            RouteNetlinkMessage::GetLink(message)
        }
        Query::Dump(ObjectClass::Addresses) => {
            RouteNetlinkMessage::GetAddress(AddressMessage::default())
        }
        Query::Dump(ObjectClass::Routes) => RouteNetlinkMessage::GetRoute(RouteMessage::default()),
        Query::Dump(ObjectClass::Neighbours) => {
            RouteNetlinkMessage::GetNeighbour(NeighbourMessage::default())
        }
        Query::LinkNamed(name) => {
            flags = NLM_F_REQUEST | NLM_F_ACK;
            let mut value = name.clone().into_bytes();
            value.push(0);
            let mut message = LinkMessage::default();
            message.attributes.push(skip_stats());
            message
                .attributes
                .push(LinkAttribute::Other(DefaultNla::new(
                    // Looks a link up by its name or any alternative name (up to 127 bytes).
                    libc::IFLA_ALT_IFNAME,
                    value,
                )));
            RouteNetlinkMessage::GetLink(message)
        }
        Query::PortsOf(master) => {
            let mut message = LinkMessage::default();
            message.attributes.push(skip_stats());
            message.attributes.push(LinkAttribute::Controller(*master));
            RouteNetlinkMessage::GetLink(message)
        }
        Query::AddressesOf(ifindex) => {
            let mut message = AddressMessage::default();
            message.header.index = *ifindex;
            RouteNetlinkMessage::GetAddress(message)
        }
    };
    serialize(flags, request.seq, payload)
}

/// The bytes of an RTM_GETROUTE asking which route the kernel would use for `destination`
/// (as `ip route get` does).
pub(crate) fn encode_route_lookup(destination: IpAddr) -> Vec<u8> {
    let mut request = RouteMessage::default();
    let (family, length, address) = match destination {
        IpAddr::V4(v4) => (AddressFamily::Inet, 32, RouteAddress::Inet(v4)),
        IpAddr::V6(v6) => (AddressFamily::Inet6, 128, RouteAddress::Inet6(v6)),
    };
    request.header.address_family = family;
    request.header.destination_prefix_length = length;
    request
        .attributes
        .push(RouteAttribute::Destination(address));
    serialize(NLM_F_REQUEST, 1, RouteNetlinkMessage::GetRoute(request))
}

/// The route in the kernel's answer to [`encode_route_lookup`]; `None` for an error reply
/// (no route: ENETUNREACH, or a refused request) or an undecodable one.
pub(crate) fn decode_route_lookup(reply: &[u8]) -> Option<Route> {
    let reply = NetlinkMessage::<RouteNetlinkMessage>::deserialize(reply).ok()?;
    let NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewRoute(route)) = reply.payload else {
        return None;
    };
    routes(&route).into_iter().next()
}

fn serialize(flags: u16, seq: u32, payload: RouteNetlinkMessage) -> Vec<u8> {
    let mut header = NetlinkHeader::default();
    header.flags = flags;
    header.sequence_number = seq;
    let mut message = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(payload));
    message.finalize();
    let mut bytes = vec![0; message.buffer_len()];
    message.serialize(&mut bytes);
    bytes
}

/// One message the kernel sent: a reply to a request of ours, or a notification (port 0).
#[derive(Debug)]
pub struct Message {
    /// The socket the reply is addressed to; 0 for a notification.
    pub port: u32,
    /// The sequence number of the request answered; 0 for a notification.
    pub seq: u32,
    /// `NLM_F_DUMP_INTR`: the table changed while the kernel walked it.
    pub interrupted: bool,
    pub body: Body,
}

/// What a [`Message`] says.
#[derive(Debug)]
pub enum Body {
    /// A change of a kind we track, or one object of a dump.
    Fact(KernelEvent),
    /// `NLMSG_DONE`: the dump is complete.
    Done,
    /// An `NLMSG_ERROR` with code 0: the request by name is answered.
    Ack,
    /// An `NLMSG_ERROR`: the kernel's code (a negative errno).
    Error(i32),
    /// Anything else (a message type or family we do not track).
    Other,
}

/// Decodes every message of one datagram and hands each to `each`, in order. A message the
/// strict decoder refuses is decoded leniently ([`lenient_message`]); one that cannot be read
/// at all is skipped, and a broken length ends the datagram. `now` is CLOCK_BOOTTIME when the
/// datagram was read, for address lifetimes.
pub fn decode(datagram: &[u8], now: Duration, mut each: impl FnMut(Message)) {
    let mut offset = 0;
    while offset < datagram.len() {
        let rest = &datagram[offset..];
        let length = match NetlinkBuffer::new_checked(rest) {
            Ok(buffer) => buffer.length() as usize,
            Err(err) => {
                tracing::warn!("malformed netlink datagram ignored: {err}");
                return;
            }
        };
        if length == 0 || length > rest.len() {
            return;
        }
        match NetlinkMessage::<RouteNetlinkMessage>::deserialize(&rest[..length]) {
            Ok(message) => each(message_of(message, now)),
            Err(err) => match lenient_message(&rest[..length]) {
                Some(message) => {
                    tracing::debug!("netlink message decoded leniently ({err})");
                    each(message_of(message, now));
                }
                None => tracing::warn!("undecodable netlink message ignored: {err}"),
            },
        }
        offset += (length + 3) & !3;
    }
}

fn message_of(message: NetlinkMessage<RouteNetlinkMessage>, now: Duration) -> Message {
    let header = message.header;
    let body = match message.payload {
        NetlinkPayload::InnerMessage(inner) => {
            event(inner, header.flags, now).map_or(Body::Other, Body::Fact)
        }
        NetlinkPayload::Done(_) => Body::Done,
        NetlinkPayload::Error(err) => match err.code {
            None => Body::Ack,
            Some(code) => Body::Error(code.get()),
        },
        _ => Body::Other,
    };
    Message {
        port: header.port_number,
        seq: header.sequence_number,
        interrupted: header.flags & NLM_F_DUMP_INTR != 0,
        body,
    }
}

/// The core event for a route-netlink message, if it is one we track. `flags` are the
/// netlink header's (NLM_F_REPLACE marks a route replacement).
fn event(message: RouteNetlinkMessage, flags: u16, now: Duration) -> Option<KernelEvent> {
    match message {
        // A bridge's notifications about its ports (family AF_BRIDGE) share the link group
        // but describe the port's bridge state, not the link: a DELLINK there only means
        // "no longer a port", and its NEWLINK lacks the link's kind and alternative names.
        RouteNetlinkMessage::NewLink(link) | RouteNetlinkMessage::DelLink(link)
            if link.header.interface_family == AddressFamily::Bridge =>
        {
            None
        }
        RouteNetlinkMessage::NewLink(message) => Some(KernelEvent::NewLink(link(&message))),
        RouteNetlinkMessage::DelLink(link) => Some(KernelEvent::DelLink(link.header.index)),
        RouteNetlinkMessage::NewAddress(message) => address(&message, now)
            .map(|(ifindex, address)| KernelEvent::NewAddress(ifindex, address)),
        RouteNetlinkMessage::DelAddress(message) => address(&message, now)
            .map(|(ifindex, address)| KernelEvent::DelAddress(ifindex, address)),
        RouteNetlinkMessage::NewRoute(route) => Some(KernelEvent::NewRoute {
            routes: routes(&route),
            replace: flags & NLM_F_REPLACE != 0,
        }),
        RouteNetlinkMessage::DelRoute(route) => Some(KernelEvent::DelRoute(routes(&route))),
        RouteNetlinkMessage::NewNeighbour(message) => {
            neighbour(&message).map(|(ifindex, address, state)| KernelEvent::NewNeighbour {
                ifindex,
                address,
                state,
            })
        }
        RouteNetlinkMessage::DelNeighbour(message) => neighbour(&message)
            .map(|(ifindex, address, _)| KernelEvent::DelNeighbour { ifindex, address }),
        _ => None,
    }
}

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

fn ip(address: &RouteAddress) -> Option<IpAddr> {
    match address {
        RouteAddress::Inet(v4) => Some((*v4).into()),
        RouteAddress::Inet6(v6) => Some((*v6).into()),
        _ => None,
    }
}

/// The entry described by an RTM_NEWNEIGH/RTM_DELNEIGH message: ifindex, IP address and
/// state; `None` for bridge forwarding entries and messages without an IP destination.
pub fn neighbour(message: &NeighbourMessage) -> Option<(u32, IpAddr, NeighbourState)> {
    let address = message.attributes.iter().find_map(|a| match a {
        NeighbourAttribute::Destination(NeighbourAddress::Inet(v4)) => Some(IpAddr::from(*v4)),
        NeighbourAttribute::Destination(NeighbourAddress::Inet6(v6)) => Some(IpAddr::from(*v6)),
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
