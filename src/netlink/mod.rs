//! The kernel adapter: one rtnetlink socket, subscribed to link, address and (when asked)
//! route changes *before*
//! the dumps, read in socket order. Reading dump replies and events from one queue in order
//! is what makes resynchronisation exact: after the receive buffer overflowed (ENOBUFS), a
//! fresh dump is taken and only the events queued *after* each dump began are replayed onto
//! it, so a stale event from before the overflow can never resurrect a deleted address.

pub mod convert;

use std::collections::{BTreeSet, VecDeque};
use std::io;
use std::time::Duration;

use netlink_packet_core::{
    DefaultNla, NLM_F_ACK, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REPLACE, NLM_F_REQUEST,
    NetlinkBuffer, NetlinkHeader, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::address::AddressMessage;
use netlink_packet_route::link::{LinkAttribute, LinkExtentMask, LinkMessage};
use netlink_packet_route::neighbour::NeighbourMessage;
use netlink_packet_route::route::RouteMessage;
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};
use tokio::io::unix::AsyncFd;

use crate::core::update::{KernelEvent, KernelTables, ObjectClass as DumpKind, apply};

/// Multicast groups: links, IPv4 addresses, IPv6 addresses.
const GROUPS: u32 =
    (libc::RTMGRP_LINK | libc::RTMGRP_IPV4_IFADDR | libc::RTMGRP_IPV6_IFADDR) as u32;
/// Multicast groups: IPv4 routes, IPv6 routes.
const ROUTE_GROUPS: u32 = (libc::RTMGRP_IPV4_ROUTE | libc::RTMGRP_IPV6_ROUTE) as u32;
/// Multicast group: neighbour entries of every family.
const NEIGHBOUR_GROUP: u32 = libc::RTMGRP_NEIGH as u32;
/// Receive buffer asked for: large, so that boot-time event storms fit.
const DEFAULT_RECEIVE_BUFFER: usize = 8 << 20;
/// Size of one read; the kernel's dump messages fit in 32 KiB.
const READ_SIZE: usize = 64 << 10;
/// Datagrams read per call of [`KernelSource::process`] before the caller decides again.
const READ_BUDGET: usize = 64;

/// How to open the kernel source.
#[derive(Debug, Clone)]
pub struct KernelSourceConfig {
    /// Socket receive buffer in bytes (tests use a tiny one to force ENOBUFS).
    pub receive_buffer: usize,
    /// Also keep the routing tables (costs a dump and memory; only decisions that look at
    /// routes ask for it).
    pub track_routes: bool,
    /// Also keep the IPv4/IPv6 neighbour caches (for `--require-gateway` and `--explain`).
    pub track_neighbours: bool,
    /// Only fetch these links (by name or alternative name), their ports and their
    /// addresses, instead of every link: when the decision looks at named links only, a
    /// host with thousands of links starts as fast as one with ten. Other links still
    /// appear through events, without their addresses.
    pub scope: Option<Vec<String>>,
}

impl Default for KernelSourceConfig {
    fn default() -> Self {
        KernelSourceConfig {
            receive_buffer: DEFAULT_RECEIVE_BUFFER,
            track_routes: false,
            track_neighbours: false,
            scope: None,
        }
    }
}

/// What one request asks the kernel for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Query {
    /// Every object of a class (`NLM_F_DUMP`).
    Dump(DumpKind),
    /// One link by name or alternative name (`RTM_GETLINK` with an ACK).
    LinkNamed(String),
    /// The links enslaved to this master (a link dump filtered by `IFLA_MASTER`).
    PortsOf(u32),
    /// The addresses of one link (an address dump filtered by ifindex; strict checking).
    AddressesOf(u32),
}

/// A message `Protocol` asks its owner to send to the kernel: `query`, tagged with `seq`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Request {
    query: Query,
    seq: u32,
}

/// A resynchronisation in progress: the class being fetched, the request answering now, the
/// requests still to send for this class, and the table they build.
#[derive(Debug)]
struct Resync {
    kind: DumpKind,
    seq: u32,
    /// True once the kernel answered a request of this class: later events of the class are
    /// newer than what was fetched.
    started: bool,
    /// Events were lost (or a dump was inconsistent) meanwhile: start over when the current
    /// request ends.
    restart: bool,
    /// Every link and address is dumped (not only the named links).
    full: bool,
    /// The request being answered.
    current: Query,
    /// Requests of this class not sent yet.
    queue: VecDeque<Query>,
    /// Named links found so far (scoped mode).
    fetched: BTreeSet<u32>,
    fresh: KernelTables,
}

/// Counters for tests and benchmarks.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct KernelSourceStats {
    /// Receive-buffer overflows seen (each one triggers a resynchronisation).
    pub overruns: u64,
    /// Completed resynchronisations (the initial one included).
    pub dumps: u64,
}

/// The kernel's links and addresses, kept current from rtnetlink.
pub struct KernelSource {
    socket: AsyncFd<Socket>,
    buffer: Vec<u8>,
    protocol: Protocol,
}

/// The dump/event bookkeeping, without I/O: it is fed messages in socket order and returns
/// the requests to send, which `KernelSource` sends.
#[derive(Debug)]
struct Protocol {
    port: u32,
    /// Whether a resync includes a route dump.
    track_routes: bool,
    /// Whether a resync ends with a neighbour dump.
    track_neighbours: bool,
    /// Scoped mode: only these links (by name or alternative name), their ports and their
    /// addresses are fetched.
    scope: Option<Vec<String>>,
    /// The named links of the installed table (scoped mode).
    fetched: BTreeSet<u32>,
    next_seq: u32,
    resync: Option<Resync>,
    stats: KernelSourceStats,
}

impl KernelSource {
    /// Opens the socket, subscribes, and requests the initial dump. Needs a tokio runtime.
    pub fn open(config: KernelSourceConfig) -> io::Result<KernelSource> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        set_receive_buffer(&socket, config.receive_buffer);
        let groups = GROUPS
            | if config.track_routes { ROUTE_GROUPS } else { 0 }
            | if config.track_neighbours {
                NEIGHBOUR_GROUP
            } else {
                0
            };
        socket.bind(&SocketAddr::new(0, groups))?;
        let mut address = SocketAddr::new(0, 0);
        socket.get_address(&mut address)?;
        socket.set_non_blocking(true)?;
        let mut config = config;
        // Filtered dumps need strict checking; without it (Linux < 4.20) fetch everything.
        if config.scope.is_some() && socket.set_netlink_get_strict_chk(true).is_err() {
            config.scope = None;
        }
        let mut protocol = Protocol::new(address.port_number(), config);
        send(&socket, protocol.start())?;
        Ok(KernelSource {
            socket: crate::sys::register_readable(socket)?,
            buffer: Vec::with_capacity(READ_SIZE),
            protocol,
        })
    }

    /// Counters so far.
    pub fn stats(&self) -> KernelSourceStats {
        self.protocol.stats
    }

    /// True when `links` reflects a complete dump plus every event since: only then may a
    /// decision be made.
    pub fn is_synced(&self) -> bool {
        self.protocol.resync.is_none()
    }

    /// Waits until the socket is readable, then reads and applies what is queued, at most
    /// [`READ_BUDGET`] datagrams (so that a sustained storm cannot keep the caller from
    /// deciding). `now` gives CLOCK_BOOTTIME for address lifetimes.
    pub async fn process(
        &mut self,
        tables: &mut KernelTables,
        now: impl Fn() -> Duration,
    ) -> io::Result<()> {
        let mut requests = Vec::new();
        loop {
            let mut guard = self.socket.readable().await?;
            let socket = guard.get_inner();
            let mut read_any = false;
            for _ in 0..READ_BUDGET {
                self.buffer.clear();
                match socket.recv(&mut self.buffer, libc::MSG_TRUNC) {
                    Ok(length) if length > self.buffer.capacity() => {
                        tracing::warn!(length, "netlink message truncated, resynchronising");
                        self.buffer.reserve(length);
                        read_any = true;
                        if let Some(request) = self.protocol.overflowed() {
                            send(socket, request)?;
                        }
                    }
                    Ok(_) => {
                        read_any = true;
                        self.protocol.handle_datagram(
                            &self.buffer,
                            tables,
                            now(),
                            &mut requests,
                        )?;
                        for request in requests.drain(..) {
                            send(socket, request)?;
                        }
                    }
                    Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                        guard.clear_ready();
                        break;
                    }
                    Err(err) if err.raw_os_error() == Some(libc::ENOBUFS) => {
                        tracing::debug!("netlink receive buffer overflowed, resynchronising");
                        self.protocol.stats.overruns += 1;
                        read_any = true;
                        if let Some(request) = self.protocol.overflowed() {
                            send(socket, request)?;
                        }
                    }
                    Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                    Err(err) => return Err(err),
                }
            }
            if read_any {
                return Ok(());
            }
        }
    }
}

impl Protocol {
    /// Bookkeeping for the socket bound to `port`, not yet synced.
    fn new(port: u32, config: KernelSourceConfig) -> Protocol {
        Protocol {
            port,
            track_routes: config.track_routes,
            track_neighbours: config.track_neighbours,
            scope: config.scope,
            fetched: BTreeSet::new(),
            next_seq: 1,
            resync: None,
            stats: KernelSourceStats::default(),
        }
    }

    /// Starts the initial resynchronisation; returns the first request to send.
    fn start(&mut self) -> Request {
        self.begin(false)
    }

    /// The receive buffer overflowed (or a message was truncated): events were lost, so
    /// resynchronise. Returns the request to send, if one is to be sent now.
    ///
    /// The resync after an overflow uses full dumps: the socket stays congested until its
    /// queue is drained, and meanwhile the kernel silently drops the one-message reply to a
    /// request by name, while a dump waits for room.
    fn overflowed(&mut self) -> Option<Request> {
        match &mut self.resync {
            // That reply may already be lost: start over with dumps at once.
            Some(resync) if matches!(resync.current, Query::LinkNamed(_)) => Some(self.begin(true)),
            // The kernel answers one dump at a time: finish this one, then start over.
            Some(resync) => {
                resync.restart = true;
                resync.full = true;
                None
            }
            None => Some(self.begin(true)),
        }
    }

    /// Begins a resynchronisation from an empty table, with full dumps when `full` (or
    /// when not scoped); returns its first request.
    fn begin(&mut self, full: bool) -> Request {
        let full = full || self.scope.is_none();
        let mut resync = Resync {
            full,
            kind: DumpKind::Links,
            seq: 0,
            started: false,
            restart: false,
            current: Query::Dump(DumpKind::Links),
            queue: VecDeque::new(),
            fetched: BTreeSet::new(),
            fresh: KernelTables::default(),
        };
        resync.queue = match (&self.scope, full) {
            (Some(names), false) => names.iter().cloned().map(Query::LinkNamed).collect(),
            _ => VecDeque::from([Query::Dump(DumpKind::Links)]),
        };
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1).max(1);
        resync.seq = seq;
        let query = resync
            .queue
            .pop_front()
            .unwrap_or(Query::Dump(DumpKind::Links));
        resync.current = query.clone();
        self.resync = Some(resync);
        Request { query, seq }
    }

    /// The next request of the resync in progress: the next one queued for this class, or
    /// the first of the next class; installs the table when every class is fetched.
    fn next_request_into(&mut self, tables: &mut KernelTables) -> Option<Request> {
        loop {
            let resync = self.resync.as_mut()?;
            if let Some(query) = resync.queue.pop_front() {
                let seq = self.next_seq;
                self.next_seq = self.next_seq.wrapping_add(1).max(1);
                resync.seq = seq;
                resync.current = query.clone();
                return Some(Request { query, seq });
            }
            let next = match resync.kind {
                DumpKind::Links => Some(DumpKind::Addresses),
                DumpKind::Addresses if self.track_routes => Some(DumpKind::Routes),
                DumpKind::Addresses | DumpKind::Routes if self.track_neighbours => {
                    Some(DumpKind::Neighbours)
                }
                _ => None,
            };
            let Some(kind) = next else {
                let resync = self.resync.take()?;
                self.fetched = match (&self.scope, resync.full) {
                    // Full dumps fetched every link with an awaited name.
                    (Some(names), true) => resync
                        .fresh
                        .links
                        .values()
                        .filter(|l| names.iter().any(|n| l.has_name(n)))
                        .map(|l| l.ifindex)
                        .collect(),
                    _ => resync.fetched,
                };
                *tables = resync.fresh;
                self.stats.dumps += 1;
                return None;
            };
            resync.kind = kind;
            resync.started = false;
            resync.queue = match (&self.scope, kind) {
                (Some(_), DumpKind::Addresses) if !resync.full => resync
                    .fetched
                    .iter()
                    .map(|&i| Query::AddressesOf(i))
                    .collect(),
                _ => VecDeque::from([Query::Dump(kind)]),
            };
        }
    }

    /// Handles every message in one datagram, pushing the requests to send onto `requests`.
    fn handle_datagram(
        &mut self,
        datagram: &[u8],
        tables: &mut KernelTables,
        now: Duration,
        requests: &mut Vec<Request>,
    ) -> io::Result<()> {
        let mut offset = 0;
        while offset < datagram.len() {
            let rest = &datagram[offset..];
            let length = match NetlinkBuffer::new_checked(rest) {
                Ok(buffer) => buffer.length() as usize,
                Err(err) => {
                    tracing::warn!("malformed netlink datagram ignored: {err}");
                    return Ok(());
                }
            };
            if length == 0 || length > rest.len() {
                return Ok(());
            }
            match NetlinkMessage::<RouteNetlinkMessage>::deserialize(&rest[..length]) {
                Ok(message) => requests.extend(self.handle_message(message, tables, now)?),
                Err(err) => match convert::lenient_message(&rest[..length]) {
                    Some(message) => {
                        tracing::debug!("netlink message decoded leniently ({err})");
                        requests.extend(self.handle_message(message, tables, now)?);
                    }
                    None => tracing::warn!("undecodable netlink message ignored: {err}"),
                },
            }
            offset += (length + 3) & !3;
        }
        Ok(())
    }

    /// Handles one message (a reply or an event); returns the request to send, if any.
    fn handle_message(
        &mut self,
        message: NetlinkMessage<RouteNetlinkMessage>,
        tables: &mut KernelTables,
        now: Duration,
    ) -> io::Result<Option<Request>> {
        let header = message.header;
        let ours = header.port_number == self.port && header.sequence_number != 0;
        let current_seq = self.resync.as_ref().map(|r| r.seq);
        if ours && Some(header.sequence_number) != current_seq {
            return Ok(None); // a reply to an abandoned request
        }
        if ours {
            let Some(resync) = &mut self.resync else {
                return Ok(None);
            };
            resync.started = true;
            if header.flags & NLM_F_DUMP_INTR != 0 {
                // The table changed while the kernel walked it: the dump is inconsistent.
                resync.restart = true;
            }
            return match message.payload {
                NetlinkPayload::Done(_) => Ok(self.request_done(tables)),
                // An ACK (code 0), or "no such device" for a link asked for by name: absent.
                NetlinkPayload::Error(err)
                    if err.code.is_none()
                        || err.code.map(|c| c.get()) == Some(-libc::ENODEV)
                            && self.scope.is_some() =>
                {
                    Ok(self.request_done(tables))
                }
                NetlinkPayload::Error(err) if self.scope.is_some() => {
                    // An older kernel refusing a filtered request: fetch everything instead.
                    tracing::debug!(
                        "filtered netlink request refused ({}), dumping every link",
                        err.to_io()
                    );
                    self.scope = None;
                    self.resync = None;
                    Ok(Some(self.begin(true)))
                }
                NetlinkPayload::Error(err) => Err(io::Error::other(format!(
                    "netlink dump failed: {}",
                    err.to_io()
                ))),
                NetlinkPayload::InnerMessage(inner) => {
                    if let Some(event) = event(inner, header.flags, now) {
                        if let (KernelEvent::NewLink(link), Some(names)) = (&event, &self.scope)
                            && resync.kind == DumpKind::Links
                            && !resync.full
                            && names.iter().any(|n| link.has_name(n))
                            && resync.fetched.insert(link.ifindex)
                        {
                            resync.queue.push_back(Query::PortsOf(link.ifindex));
                        }
                        apply(&mut resync.fresh, event);
                    }
                    Ok(None)
                }
                _ => Ok(None),
            };
        }
        let NetlinkPayload::InnerMessage(inner) = message.payload else {
            return Ok(None);
        };
        let Some(event) = event(inner, header.flags, now) else {
            return Ok(None);
        };
        let unfetched_named_link = self.is_unfetched_named_link(&event);
        match &mut self.resync {
            None => {
                apply(tables, event);
                if unfetched_named_link {
                    // A link renamed to, or created with, an awaited name: its addresses were
                    // never fetched. Fetch the awaited links again.
                    return Ok(Some(self.begin(false)));
                }
            }
            Some(resync) => {
                // Classes are fetched in order (links, addresses, routes, neighbours). An
                // event of a class already fetched is newer than what was fetched; of the
                // class being fetched, only once the kernel answered; of a class still to be
                // fetched, the fetch supersedes it.
                let class = event.class();
                let newer = class < resync.kind || class == resync.kind && resync.started;
                if newer {
                    apply(&mut resync.fresh, event);
                }
                if unfetched_named_link {
                    resync.restart = true;
                }
            }
        }
        Ok(None)
    }

    /// Scoped mode: `event` announces a link with an awaited name that the table being
    /// built (or installed) did not fetch, and that no queued request will fetch.
    fn is_unfetched_named_link(&self, event: &KernelEvent) -> bool {
        let (KernelEvent::NewLink(link), Some(names)) = (event, &self.scope) else {
            return false;
        };
        let Some(name) = names.iter().find(|n| link.has_name(n)) else {
            return false;
        };
        match &self.resync {
            None => !self.fetched.contains(&link.ifindex),
            // Full dumps fetch it, or it appeared after and its addresses follow as events.
            Some(resync) if resync.full => false,
            Some(resync) => {
                let queued = resync.kind == DumpKind::Links
                    && resync.queue.contains(&Query::LinkNamed(name.clone()));
                !queued && !resync.fetched.contains(&link.ifindex)
            }
        }
    }

    /// The current request was answered in full: start over, send the next request, or
    /// install the fresh table. Returns the next request, if any.
    fn request_done(&mut self, tables: &mut KernelTables) -> Option<Request> {
        let resync = self.resync.as_ref()?;
        if resync.restart {
            let full = resync.full;
            return Some(self.begin(full));
        }
        self.next_request_into(tables)
    }
}

/// Sends `request` to the kernel.
fn send(socket: &Socket, request: Request) -> io::Result<()> {
    let skip_stats = || LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]);
    let mut flags = NLM_F_REQUEST | NLM_F_DUMP;
    let payload = match request.query {
        Query::Dump(DumpKind::Links) => {
            let mut message = LinkMessage::default();
            message.attributes.push(skip_stats());
            RouteNetlinkMessage::GetLink(message)
        }
        Query::Dump(DumpKind::Addresses) => {
            RouteNetlinkMessage::GetAddress(AddressMessage::default())
        }
        Query::Dump(DumpKind::Routes) => RouteNetlinkMessage::GetRoute(RouteMessage::default()),
        Query::Dump(DumpKind::Neighbours) => {
            RouteNetlinkMessage::GetNeighbour(NeighbourMessage::default())
        }
        Query::LinkNamed(name) => {
            flags = NLM_F_REQUEST | NLM_F_ACK;
            let mut value = name.into_bytes();
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
            message.attributes.push(LinkAttribute::Controller(master));
            RouteNetlinkMessage::GetLink(message)
        }
        Query::AddressesOf(ifindex) => {
            let mut message = AddressMessage::default();
            message.header.index = ifindex;
            RouteNetlinkMessage::GetAddress(message)
        }
    };
    let mut header = NetlinkHeader::default();
    header.flags = flags;
    header.sequence_number = request.seq;
    let mut message = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(payload));
    message.finalize();
    let mut bytes = vec![0; message.buffer_len()];
    message.serialize(&mut bytes);
    socket.send_to(&bytes, &SocketAddr::new(0, 0), 0)?;
    Ok(())
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
        RouteNetlinkMessage::NewLink(link) => Some(KernelEvent::NewLink(convert::link(&link))),
        RouteNetlinkMessage::DelLink(link) => Some(KernelEvent::DelLink(link.header.index)),
        RouteNetlinkMessage::NewAddress(address) => convert::address(&address, now)
            .map(|(ifindex, address)| KernelEvent::NewAddress(ifindex, address)),
        RouteNetlinkMessage::DelAddress(address) => convert::address(&address, now)
            .map(|(ifindex, address)| KernelEvent::DelAddress(ifindex, address)),
        RouteNetlinkMessage::NewRoute(route) => Some(KernelEvent::NewRoute {
            routes: convert::routes(&route),
            replace: flags & NLM_F_REPLACE != 0,
        }),
        RouteNetlinkMessage::DelRoute(route) => {
            Some(KernelEvent::DelRoute(convert::routes(&route)))
        }
        RouteNetlinkMessage::NewNeighbour(neighbour) => {
            convert::neighbour(&neighbour).map(|(ifindex, address, state)| {
                KernelEvent::NewNeighbour {
                    ifindex,
                    address,
                    state,
                }
            })
        }
        RouteNetlinkMessage::DelNeighbour(neighbour) => convert::neighbour(&neighbour)
            .map(|(ifindex, address, _)| KernelEvent::DelNeighbour { ifindex, address }),
        _ => None,
    }
}

/// SO_RCVBUFFORCE (root, ignores rmem_max) with SO_RCVBUF as fallback; failure only costs
/// more resynchronisations, so it is logged, not fatal.
fn set_receive_buffer(socket: &Socket, size: usize) {
    use rustix::net::sockopt::{set_socket_recv_buffer_size, set_socket_recv_buffer_size_force};
    let size = size.min(i32::MAX as usize);
    if let Err(err) = set_socket_recv_buffer_size_force(socket, size)
        .or_else(|_| set_socket_recv_buffer_size(socket, size))
    {
        tracing::debug!("could not enlarge the netlink receive buffer: {err}");
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use netlink_packet_core::{DoneMessage, NLM_F_MULTIPART};
    use netlink_packet_route::AddressFamily;
    use netlink_packet_route::address::AddressAttribute;

    use super::*;

    /// Our socket's port in these tests.
    const PORT: u32 = 4242;

    fn config(track_routes: bool) -> KernelSourceConfig {
        KernelSourceConfig {
            track_routes,
            ..KernelSourceConfig::default()
        }
    }
    const NOW: Duration = Duration::from_secs(100);

    fn message(
        port: u32,
        seq: u32,
        flags: u16,
        payload: NetlinkPayload<RouteNetlinkMessage>,
    ) -> NetlinkMessage<RouteNetlinkMessage> {
        let mut header = NetlinkHeader::default();
        header.port_number = port;
        header.sequence_number = seq;
        header.flags = flags;
        let mut message = NetlinkMessage::new(header, payload);
        message.finalize();
        message
    }

    /// A multicast notification (port 0, seq 0).
    fn notify(inner: RouteNetlinkMessage) -> Step {
        Step::Message(message(0, 0, 0, NetlinkPayload::InnerMessage(inner)))
    }

    /// One reply of our dump `seq`.
    fn reply(seq: u32, inner: RouteNetlinkMessage) -> Step {
        Step::Message(message(
            PORT,
            seq,
            NLM_F_MULTIPART,
            NetlinkPayload::InnerMessage(inner),
        ))
    }

    /// One reply of our dump `seq`, flagged NLM_F_DUMP_INTR.
    fn reply_interrupted(seq: u32, inner: RouteNetlinkMessage) -> Step {
        Step::Message(message(
            PORT,
            seq,
            NLM_F_MULTIPART | NLM_F_DUMP_INTR,
            NetlinkPayload::InnerMessage(inner),
        ))
    }

    /// NLMSG_DONE ending our dump `seq`.
    fn done(seq: u32) -> Step {
        Step::Message(message(
            PORT,
            seq,
            NLM_F_MULTIPART,
            NetlinkPayload::Done(DoneMessage::default()),
        ))
    }

    fn link(ifindex: u32) -> LinkMessage {
        let mut link = LinkMessage::default();
        link.header.index = ifindex;
        link.attributes
            .push(LinkAttribute::IfName(format!("if{ifindex}")));
        link
    }

    fn new_link(ifindex: u32) -> RouteNetlinkMessage {
        RouteNetlinkMessage::NewLink(link(ifindex))
    }

    fn del_link(ifindex: u32) -> RouteNetlinkMessage {
        RouteNetlinkMessage::DelLink(link(ifindex))
    }

    /// 192.0.2.`last`/24 on `ifindex`.
    fn address(ifindex: u32, last: u8) -> AddressMessage {
        let mut address = AddressMessage::default();
        address.header.family = AddressFamily::Inet;
        address.header.prefix_len = 24;
        address.header.index = ifindex;
        address
            .attributes
            .push(AddressAttribute::Local(IpAddr::V4(Ipv4Addr::new(
                192, 0, 2, last,
            ))));
        address
    }

    fn new_addr(ifindex: u32, last: u8) -> RouteNetlinkMessage {
        RouteNetlinkMessage::NewAddress(address(ifindex, last))
    }

    fn del_addr(ifindex: u32, last: u8) -> RouteNetlinkMessage {
        RouteNetlinkMessage::DelAddress(address(ifindex, last))
    }

    fn links_dump(seq: u32) -> Request {
        Request {
            query: Query::Dump(DumpKind::Links),
            seq,
        }
    }

    fn addresses_dump(seq: u32) -> Request {
        Request {
            query: Query::Dump(DumpKind::Addresses),
            seq,
        }
    }

    /// The table as ifindex → last octets of its addresses, in table order.
    type Table = Vec<(u32, Vec<u8>)>;

    fn summary(tables: &KernelTables) -> Table {
        tables
            .links
            .iter()
            .map(|(ifindex, link)| {
                assert_eq!(link.name, format!("if{ifindex}"));
                let octets = link
                    .addresses
                    .iter()
                    .map(|a| match a.address {
                        IpAddr::V4(ip) => ip.octets()[3],
                        IpAddr::V6(_) => panic!("unexpected IPv6 address"),
                    })
                    .collect();
                (*ifindex, octets)
            })
            .collect()
    }

    enum Step {
        /// Feed this message, as read from the socket.
        Message(NetlinkMessage<RouteNetlinkMessage>),
        /// The receive buffer overflowed.
        Overflow,
        /// The installed table is this, and whether it is synced.
        Expect(Table, bool),
    }

    struct Case {
        name: &'static str,
        steps: Vec<Step>,
        /// Every request sent, the initial one included.
        requests: Vec<Request>,
        table: Table,
        dumps: u64,
    }

    /// Runs `steps` from a fresh `Protocol` and returns the requests sent and the table.
    fn run(name: &str, steps: Vec<Step>) -> (Protocol, Vec<Request>, KernelTables) {
        let mut protocol = Protocol::new(PORT, config(false));
        let mut links = KernelTables::default();
        let mut requests = vec![protocol.start()];
        for (index, step) in steps.into_iter().enumerate() {
            match step {
                Step::Message(message) => {
                    let request = protocol
                        .handle_message(message, &mut links, NOW)
                        .unwrap_or_else(|err| panic!("{name}: step {index}: {err}"));
                    requests.extend(request);
                }
                Step::Overflow => requests.extend(protocol.overflowed()),
                Step::Expect(table, synced) => {
                    assert_eq!(summary(&links), table, "{name}: table at step {index}");
                    assert_eq!(
                        protocol.resync.is_none(),
                        synced,
                        "{name}: synced at step {index}"
                    );
                }
            }
        }
        (protocol, requests, links)
    }

    /// Runs `case` and checks its requests, final table and dump count.
    fn check(case: Case) {
        let (protocol, requests, links) = run(case.name, case.steps);
        assert_eq!(requests, case.requests, "{}: requests", case.name);
        assert_eq!(summary(&links), case.table, "{}: table", case.name);
        assert!(protocol.resync.is_none(), "{}: not synced", case.name);
        assert_eq!(protocol.stats.dumps, case.dumps, "{}: dumps", case.name);
    }

    #[test]
    fn initial_sync_discards_events_before_first_reply() {
        check(Case {
            name: "initial sync discards events queued before each dump's first reply",
            steps: vec![
                // Queued between subscribing and the link dump's first reply.
                notify(new_link(9)),
                notify(new_addr(1, 9)),
                reply(1, new_link(1)),
                reply(1, new_link(2)),
                Step::Expect(vec![], false),
                done(1),
                // Address event before the address dump's first reply: superseded.
                notify(new_addr(1, 5)),
                reply(2, new_addr(1, 10)),
                reply(2, new_addr(2, 20)),
                Step::Expect(vec![], false),
                done(2),
                Step::Expect(vec![(1, vec![10]), (2, vec![20])], true),
                // Synced: events apply directly.
                notify(new_addr(2, 21)),
            ],
            requests: vec![links_dump(1), addresses_dump(2)],
            table: vec![(1, vec![10]), (2, vec![20, 21])],
            dumps: 1,
        });
    }

    #[test]
    fn stale_events_after_overflow_do_not_resurrect() {
        check(Case {
            name: "after an overflow stale events do not resurrect what the dump lacks",
            steps: vec![
                reply(1, new_link(1)),
                reply(1, new_link(2)),
                done(1),
                reply(2, new_addr(1, 10)),
                reply(2, new_addr(2, 20)),
                done(2),
                // Events queued before the overflow; the deletion of link 2 and of
                // address .10 were among those lost.
                notify(new_addr(1, 11)),
                Step::Overflow,
                Step::Expect(vec![(1, vec![10, 11]), (2, vec![20])], false),
                // Still queued ahead of the link dump's first reply: stale.
                notify(new_link(2)),
                notify(new_addr(2, 20)),
                notify(new_addr(1, 10)),
                reply(3, new_link(1)),
                done(3),
                // Ahead of the address dump's first reply: stale.
                notify(new_addr(1, 10)),
                reply(4, new_addr(1, 11)),
                Step::Expect(vec![(1, vec![10, 11]), (2, vec![20])], false),
                done(4),
            ],
            requests: vec![
                links_dump(1),
                addresses_dump(2),
                links_dump(3),
                addresses_dump(4),
            ],
            table: vec![(1, vec![11])],
            dumps: 2,
        });
    }

    #[test]
    fn events_between_dump_replies_apply_in_order() {
        check(Case {
            name: "events between dump replies are applied in order",
            steps: vec![
                reply(1, new_link(1)),
                // After the link dump's first reply: newer than the dump.
                notify(new_link(2)),
                notify(new_addr(2, 29)), // superseded by the address dump
                reply(1, new_link(3)),
                notify(del_link(3)),
                done(1),
                // Link events during the address dump are always newer.
                notify(new_link(4)),
                reply(2, new_addr(1, 10)),
                reply(2, new_addr(1, 12)),
                // Between two address-dump chunks.
                notify(del_addr(1, 10)),
                notify(new_addr(1, 11)),
                notify(del_addr(1, 11)),
                notify(new_addr(2, 20)),
                reply(2, new_addr(4, 40)),
                notify(new_link(5)),
                notify(del_link(5)),
                done(2),
            ],
            requests: vec![links_dump(1), addresses_dump(2)],
            table: vec![(1, vec![12]), (2, vec![20]), (4, vec![40])],
            dumps: 1,
        });
    }

    #[test]
    fn overflow_during_dump_finishes_it_and_restarts() {
        check(Case {
            name: "an overflow during a dump finishes it and starts over",
            steps: vec![
                reply(1, new_link(1)),
                Step::Overflow,
                Step::Overflow,
                reply(1, new_link(2)),
                done(1),
                Step::Expect(vec![], false),
                reply(2, new_link(1)),
                done(2),
                reply(3, new_addr(1, 10)),
                Step::Overflow,
                done(3),
                Step::Expect(vec![], false),
                reply(4, new_link(1)),
                done(4),
                reply(5, new_addr(1, 11)),
                done(5),
            ],
            requests: vec![
                links_dump(1),
                links_dump(2),
                addresses_dump(3),
                links_dump(4),
                addresses_dump(5),
            ],
            table: vec![(1, vec![11])],
            dumps: 1,
        });
    }

    #[test]
    fn dump_intr_finishes_dump_and_restarts() {
        check(Case {
            name: "NLM_F_DUMP_INTR finishes the dump and starts over",
            steps: vec![
                reply_interrupted(1, new_link(1)),
                done(1),
                reply(2, new_link(1)),
                done(2),
                reply(3, new_addr(1, 10)),
                reply_interrupted(3, new_addr(1, 12)),
                done(3),
                Step::Expect(vec![], false),
                reply(4, new_link(1)),
                done(4),
                reply(5, new_addr(1, 11)),
                done(5),
            ],
            requests: vec![
                links_dump(1),
                links_dump(2),
                addresses_dump(3),
                links_dump(4),
                addresses_dump(5),
            ],
            table: vec![(1, vec![11])],
            dumps: 1,
        });
    }

    #[test]
    fn replies_to_abandoned_seq_are_ignored() {
        check(Case {
            name: "replies to an abandoned seq are ignored",
            steps: vec![
                reply(1, new_link(1)),
                Step::Overflow,
                done(1),
                // Dump 2 is current; late replies to dump 1 do not count.
                reply(1, new_link(7)),
                done(1),
                reply(2, new_link(1)),
                reply(1, new_link(8)),
                done(2),
                reply(1, new_addr(1, 17)),
                reply(2, new_addr(1, 18)),
                done(2),
                done(1),
                reply(3, new_addr(1, 10)),
                done(3),
                // Synced: replies to finished dumps are ignored too.
                reply(3, new_link(9)),
                done(3),
            ],
            requests: vec![links_dump(1), links_dump(2), addresses_dump(3)],
            table: vec![(1, vec![10])],
            dumps: 1,
        });
    }

    #[test]
    fn addresses_for_unknown_ifindex_are_dropped() {
        check(Case {
            name: "addresses for unknown ifindexes are dropped",
            steps: vec![
                reply(1, new_link(1)),
                notify(new_addr(5, 55)),
                done(1),
                reply(2, new_addr(1, 10)),
                reply(2, new_addr(5, 50)),
                notify(new_addr(6, 66)),
                done(2),
                notify(new_addr(6, 60)),
                notify(new_link(6)),
                notify(new_addr(6, 61)),
            ],
            requests: vec![links_dump(1), addresses_dump(2)],
            table: vec![(1, vec![10]), (6, vec![61])],
            dumps: 1,
        });
    }

    #[test]
    fn dump_error_is_reported() {
        let mut protocol = Protocol::new(PORT, config(false));
        let mut links = KernelTables::default();
        protocol.start();
        let mut error = netlink_packet_core::ErrorMessage::default();
        error.code = std::num::NonZeroI32::new(-libc::EPERM);
        let message = message(PORT, 1, 0, NetlinkPayload::Error(error));
        assert!(protocol.handle_message(message, &mut links, NOW).is_err());
    }

    #[test]
    fn datagram_with_several_messages() {
        let mut protocol = Protocol::new(PORT, config(false));
        let mut links = KernelTables::default();
        assert_eq!(protocol.start(), links_dump(1));
        let mut datagram = Vec::new();
        for step in [reply(1, new_link(1)), reply(1, new_link(2)), done(1)] {
            let Step::Message(message) = step else {
                unreachable!()
            };
            let mut bytes = vec![0; message.buffer_len()];
            message.serialize(&mut bytes);
            bytes.resize((bytes.len() + 3) & !3, 0);
            datagram.extend(bytes);
        }
        let mut requests = Vec::new();
        protocol
            .handle_datagram(&datagram, &mut links, NOW, &mut requests)
            .expect("datagram handled");
        assert_eq!(requests, vec![addresses_dump(2)]);
        let fresh = protocol
            .resync
            .as_ref()
            .map(|resync| summary(&resync.fresh));
        assert_eq!(fresh, Some(vec![(1, vec![]), (2, vec![])]));
    }

    fn serialized(message: &NetlinkMessage<RouteNetlinkMessage>) -> Vec<u8> {
        let mut bytes = vec![0; message.buffer_len()];
        message.serialize(&mut bytes);
        bytes
    }

    /// A realistic link notification with many attributes, to truncate and corrupt.
    fn rich_link_event() -> Vec<u8> {
        use netlink_packet_route::link::{LinkFlags, LinkInfo, Prop, State};
        let mut link = LinkMessage::default();
        link.header.index = 7;
        link.header.flags = LinkFlags::Up | LinkFlags::Running | LinkFlags::LowerUp;
        link.attributes = vec![
            LinkAttribute::IfName("br-lan0".into()),
            LinkAttribute::OperState(State::Up),
            LinkAttribute::Controller(3),
            LinkAttribute::PropList(vec![Prop::AltIfName("uplink-with-long-name".into())]),
            LinkAttribute::LinkInfo(vec![LinkInfo::Kind(
                netlink_packet_route::link::InfoKind::Bridge,
            )]),
            LinkAttribute::Mtu(1500),
        ];
        let payload = NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(link));
        serialized(&message(0, 0, 0, payload))
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]

        /// Arbitrary bytes, as if the kernel sent garbage: never a panic, whatever the state.
        #[test]
        fn arbitrary_datagrams_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
            let mut protocol = Protocol::new(PORT, config(true));
            let mut tables = KernelTables::default();
            let _ = protocol.start();
            let mut requests = Vec::new();
            let _ = protocol.handle_datagram(&bytes, &mut tables, NOW, &mut requests);
        }

        /// A valid message cut short or with bytes flipped: never a panic, and a cut message
        /// is never applied half-read.
        #[test]
        fn truncated_or_corrupted_messages_never_panic(
            cut in 0usize..400, flips in proptest::collection::vec((0usize..400, proptest::prelude::any::<u8>()), 0..4)
        ) {
            let full = rich_link_event();
            let mut bytes = full[..cut.min(full.len())].to_vec();
            for (at, value) in flips {
                if let Some(byte) = bytes.get_mut(at) {
                    *byte = value;
                }
            }
            let mut protocol = Protocol::new(PORT, config(false));
            let _ = protocol.start();
            protocol.resync = None; // synced: events apply directly
            let mut tables = KernelTables::default();
            let mut requests = Vec::new();
            let _ = protocol.handle_datagram(&bytes, &mut tables, NOW, &mut requests);
            if cut < full.len() && bytes.len() >= 4 && u32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize == full.len() {
                proptest::prop_assert!(tables.links.is_empty(), "a truncated message was applied");
            }
        }
    }

    #[test]
    fn rich_link_event_converts_every_attribute() {
        let mut protocol = Protocol::new(PORT, config(false));
        let _ = protocol.start();
        protocol.resync = None;
        let mut tables = KernelTables::default();
        let mut requests = Vec::new();
        protocol
            .handle_datagram(&rich_link_event(), &mut tables, NOW, &mut requests)
            .expect("handled");
        let link = &tables.links[&7];
        assert_eq!(link.name, "br-lan0");
        assert_eq!(link.altnames, ["uplink-with-long-name"]);
        assert_eq!(link.master, Some(3));
        assert_eq!(link.kind.as_deref(), Some("bridge"));
        assert!(link.has_carrier());
    }

    mod scoped {
        use super::*;
        use netlink_packet_core::ErrorMessage;

        fn scoped(names: &[&str]) -> Protocol {
            Protocol::new(
                PORT,
                KernelSourceConfig {
                    scope: Some(names.iter().map(|n| n.to_string()).collect()),
                    ..KernelSourceConfig::default()
                },
            )
        }

        fn named_link(ifindex: u32, name: &str) -> RouteNetlinkMessage {
            let mut link = LinkMessage::default();
            link.header.index = ifindex;
            link.attributes.push(LinkAttribute::IfName(name.into()));
            RouteNetlinkMessage::NewLink(link)
        }

        /// The kernel's answer to a request by name: the link, not multipart.
        fn answer(seq: u32, inner: RouteNetlinkMessage) -> NetlinkMessage<RouteNetlinkMessage> {
            message(PORT, seq, 0, NetlinkPayload::InnerMessage(inner))
        }

        fn part(seq: u32, inner: RouteNetlinkMessage) -> NetlinkMessage<RouteNetlinkMessage> {
            message(
                PORT,
                seq,
                NLM_F_MULTIPART,
                NetlinkPayload::InnerMessage(inner),
            )
        }

        fn error(seq: u32, errno: i32) -> NetlinkMessage<RouteNetlinkMessage> {
            let mut error = ErrorMessage::default();
            error.code = std::num::NonZeroI32::new(-errno);
            message(PORT, seq, 0, NetlinkPayload::Error(error))
        }

        fn end(seq: u32) -> NetlinkMessage<RouteNetlinkMessage> {
            message(
                PORT,
                seq,
                NLM_F_MULTIPART,
                NetlinkPayload::Done(DoneMessage::default()),
            )
        }

        fn event(inner: RouteNetlinkMessage) -> NetlinkMessage<RouteNetlinkMessage> {
            message(0, 0, 0, NetlinkPayload::InnerMessage(inner))
        }

        fn ask(query: Query, seq: u32) -> Option<Request> {
            Some(Request { query, seq })
        }

        /// Feeds `message` and returns the request it asks for.
        fn feed(
            protocol: &mut Protocol,
            tables: &mut KernelTables,
            message: NetlinkMessage<RouteNetlinkMessage>,
        ) -> Option<Request> {
            protocol.handle_message(message, tables, NOW).unwrap()
        }

        /// Runs the whole scoped fetch of `wo0` = ifindex 2 with one address; returns the
        /// next sequence number.
        fn sync_wo0(protocol: &mut Protocol, tables: &mut KernelTables, first_seq: u32) -> u32 {
            let s = first_seq;
            assert_eq!(
                feed(protocol, tables, answer(s, named_link(2, "wo0"))),
                None
            );
            assert_eq!(
                feed(protocol, tables, error(s, 0)),
                ask(Query::PortsOf(2), s + 1)
            );
            assert_eq!(
                feed(protocol, tables, end(s + 1)),
                ask(Query::AddressesOf(2), s + 2)
            );
            assert_eq!(feed(protocol, tables, part(s + 2, new_addr(2, 7))), None);
            assert_eq!(feed(protocol, tables, end(s + 2)), None);
            s + 3
        }

        #[test]
        fn fetches_only_the_named_links_their_ports_and_addresses() {
            let mut protocol = scoped(&["wo0", "gone0"]);
            let mut tables = KernelTables::default();
            assert_eq!(
                Some(protocol.start()),
                ask(Query::LinkNamed("wo0".into()), 1)
            );
            assert_eq!(
                feed(&mut protocol, &mut tables, answer(1, named_link(2, "wo0"))),
                None
            );
            // The ACK ends the request; the next name is asked for.
            assert_eq!(
                feed(&mut protocol, &mut tables, error(1, 0)),
                ask(Query::LinkNamed("gone0".into()), 2)
            );
            // No such link: absent, not an error.
            assert_eq!(
                feed(&mut protocol, &mut tables, error(2, libc::ENODEV)),
                ask(Query::PortsOf(2), 3)
            );
            let mut port = LinkMessage::default();
            port.header.index = 4;
            port.attributes.push(LinkAttribute::IfName("port0".into()));
            port.attributes.push(LinkAttribute::Controller(2));
            assert_eq!(
                feed(
                    &mut protocol,
                    &mut tables,
                    part(3, RouteNetlinkMessage::NewLink(port))
                ),
                None
            );
            assert_eq!(
                feed(&mut protocol, &mut tables, end(3)),
                ask(Query::AddressesOf(2), 4)
            );
            assert!(protocol.resync.is_some() && tables.links.is_empty());
            assert_eq!(
                feed(&mut protocol, &mut tables, part(4, new_addr(2, 7))),
                None
            );
            assert_eq!(feed(&mut protocol, &mut tables, end(4)), None);
            assert!(protocol.resync.is_none(), "synced");
            assert_eq!(tables.links.keys().copied().collect::<Vec<_>>(), vec![2, 4]);
            assert_eq!(tables.links[&2].addresses.len(), 1);
            assert_eq!(tables.links[&4].master, Some(2));
            assert_eq!(protocol.stats.dumps, 1);
        }

        #[test]
        fn a_link_renamed_to_an_awaited_name_is_fetched_again() {
            let mut protocol = scoped(&["wo0"]);
            let mut tables = KernelTables::default();
            protocol.start();
            let next = sync_wo0(&mut protocol, &mut tables, 1);
            // Unrelated links come and go through events without a refetch.
            assert_eq!(
                feed(&mut protocol, &mut tables, event(named_link(9, "other"))),
                None
            );
            assert_eq!(
                feed(&mut protocol, &mut tables, event(named_link(2, "wo0"))),
                None,
                "an update of a fetched link needs no refetch"
            );
            // wo0 deleted and another link (with addresses we never fetched) renamed to it.
            assert_eq!(
                feed(
                    &mut protocol,
                    &mut tables,
                    event(RouteNetlinkMessage::DelLink({
                        let mut l = LinkMessage::default();
                        l.header.index = 2;
                        l
                    }))
                ),
                None
            );
            assert_eq!(
                feed(&mut protocol, &mut tables, event(named_link(9, "wo0"))),
                ask(Query::LinkNamed("wo0".into()), next)
            );
            assert!(protocol.resync.is_some(), "no decision until refetched");
        }

        #[test]
        fn an_awaited_link_appearing_while_its_name_is_still_queued_needs_no_restart() {
            let mut protocol = scoped(&["wo0", "wo1"]);
            let mut tables = KernelTables::default();
            protocol.start();
            assert_eq!(
                feed(&mut protocol, &mut tables, answer(1, named_link(2, "wo0"))),
                None
            );
            // wo1 created while wo0's request is answered: it is asked for next anyway.
            assert_eq!(
                feed(&mut protocol, &mut tables, event(named_link(3, "wo1"))),
                None
            );
            assert!(!protocol.resync.as_ref().unwrap().restart);
            // A rename to wo0 after wo0 was fetched does need a restart.
            assert_eq!(
                feed(&mut protocol, &mut tables, event(named_link(5, "wo0"))),
                None
            );
            assert!(protocol.resync.as_ref().unwrap().restart);
            assert_eq!(
                feed(&mut protocol, &mut tables, error(1, 0)),
                ask(Query::LinkNamed("wo0".into()), 2),
                "started over at the end of the current request"
            );
        }

        #[test]
        fn an_overflow_while_asking_by_name_resyncs_with_full_dumps() {
            let mut protocol = scoped(&["wo0"]);
            let mut tables = KernelTables::default();
            protocol.start();
            // The reply to the request by name may have been dropped: full dumps at once.
            assert_eq!(protocol.overflowed(), ask(Query::Dump(DumpKind::Links), 2));
            assert_eq!(
                feed(&mut protocol, &mut tables, part(2, named_link(2, "wo0"))),
                None
            );
            assert_eq!(
                feed(&mut protocol, &mut tables, part(2, named_link(3, "other"))),
                None
            );
            assert_eq!(
                feed(&mut protocol, &mut tables, end(2)),
                ask(Query::Dump(DumpKind::Addresses), 3),
                "no ports or per-link queries in a full resync"
            );
            assert_eq!(feed(&mut protocol, &mut tables, end(3)), None);
            assert!(protocol.resync.is_none());
            assert_eq!(tables.links.len(), 2);
            assert_eq!(protocol.fetched, BTreeSet::from([2]));
            assert_eq!(
                protocol.scope,
                Some(vec!["wo0".to_string()]),
                "still scoped"
            );
            // Later, a rename onto the awaited name is fetched by name again.
            assert_eq!(
                feed(&mut protocol, &mut tables, event(named_link(3, "wo0"))),
                ask(Query::LinkNamed("wo0".into()), 4)
            );
        }

        #[test]
        fn an_overflow_during_a_dump_makes_the_next_resync_full() {
            let mut protocol = scoped(&["wo0"]);
            let mut tables = KernelTables::default();
            protocol.start();
            feed(&mut protocol, &mut tables, answer(1, named_link(2, "wo0")));
            assert_eq!(
                feed(&mut protocol, &mut tables, error(1, 0)),
                ask(Query::PortsOf(2), 2)
            );
            assert_eq!(protocol.overflowed(), None, "the dump is finished first");
            assert_eq!(
                feed(&mut protocol, &mut tables, end(2)),
                ask(Query::Dump(DumpKind::Links), 3)
            );
        }

        #[test]
        fn a_refused_filtered_request_falls_back_to_full_dumps() {
            let mut protocol = scoped(&["wo0"]);
            let mut tables = KernelTables::default();
            protocol.start();
            assert_eq!(
                feed(&mut protocol, &mut tables, error(1, libc::EINVAL)),
                ask(Query::Dump(DumpKind::Links), 2)
            );
            assert_eq!(protocol.scope, None);
            // …and then a failing dump is an error again.
            assert!(
                protocol
                    .handle_message(error(2, libc::EPERM), &mut tables, NOW)
                    .is_err()
            );
        }
    }

    #[test]
    fn bridge_port_notifications_are_not_link_changes() {
        let mut protocol = Protocol::new(PORT, config(false));
        let mut tables = KernelTables::default();
        protocol.start();
        for step in [reply(1, new_link(2)), done(1), done(2)] {
            let Step::Message(message) = step else {
                unreachable!()
            };
            protocol.handle_message(message, &mut tables, NOW).unwrap();
        }
        let mut port = link(2);
        port.header.interface_family = AddressFamily::Bridge;
        let Step::Message(delete) = notify(RouteNetlinkMessage::DelLink(port)) else {
            unreachable!()
        };
        protocol.handle_message(delete, &mut tables, NOW).unwrap();
        assert!(
            tables.links.contains_key(&2),
            "a port leaving its bridge is not deleted"
        );
    }

    #[test]
    fn a_link_whose_name_is_not_utf8_is_decoded_leniently() {
        let mut link = link(7);
        link.attributes.clear();
        link.attributes.push(LinkAttribute::Other(DefaultNla::new(
            3,
            b"w\xff0\0".to_vec(),
        )));
        let Step::Message(message) = notify(RouteNetlinkMessage::NewLink(link)) else {
            unreachable!()
        };
        let mut bytes = vec![0; message.buffer_len()];
        message.serialize(&mut bytes);
        assert!(
            NetlinkMessage::<RouteNetlinkMessage>::deserialize(&bytes).is_err(),
            "the strict decoder refuses it"
        );
        let mut protocol = Protocol::new(PORT, config(false));
        let mut tables = KernelTables::default();
        protocol.start();
        for step in [done(1), done(2)] {
            let Step::Message(message) = step else {
                unreachable!()
            };
            protocol.handle_message(message, &mut tables, NOW).unwrap();
        }
        let mut requests = Vec::new();
        protocol
            .handle_datagram(&bytes, &mut tables, NOW, &mut requests)
            .unwrap();
        assert_eq!(tables.links[&7].name, "w\u{fffd}0");
    }
}
