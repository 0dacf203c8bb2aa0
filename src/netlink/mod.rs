//! The kernel adapter: one rtnetlink socket, subscribed to link, address and (when asked)
//! route changes *before*
//! the dumps, read in socket order. Reading dump replies and events from one queue in order
//! is what makes resynchronisation exact: after the receive buffer overflowed (ENOBUFS), a
//! fresh dump is taken and only the events queued *after* each dump began are replayed onto
//! it, so a stale event from before the overflow can never resurrect a deleted address.

pub mod convert;

use std::io;
use std::os::fd::AsRawFd;
use std::time::Duration;

use netlink_packet_core::{
    NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REPLACE, NLM_F_REQUEST, NetlinkBuffer, NetlinkHeader,
    NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::address::AddressMessage;
use netlink_packet_route::link::{LinkAttribute, LinkExtentMask, LinkMessage};
use netlink_packet_route::route::RouteMessage;
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};
use tokio::io::unix::AsyncFd;

use crate::core::update::{KernelEvent, KernelTables, ObjectClass as DumpKind, apply};

/// Multicast groups (`RTMGRP_*`): links, IPv4 addresses, IPv6 addresses.
const GROUPS: u32 = 0x1 | 0x10 | 0x100;
/// Multicast groups (`RTMGRP_*`): IPv4 routes, IPv6 routes.
const ROUTE_GROUPS: u32 = 0x40 | 0x400;
/// Receive buffer asked for: large, so that boot-time event storms fit.
const DEFAULT_RECEIVE_BUFFER: usize = 8 << 20;
/// Size of one read; the kernel's dump messages fit in 32 KiB.
const READ_SIZE: usize = 64 << 10;

/// How to open the kernel source.
#[derive(Debug, Clone, Copy)]
pub struct KernelSourceConfig {
    /// Socket receive buffer in bytes (tests use a tiny one to force ENOBUFS).
    pub receive_buffer: usize,
    /// Also keep the routing tables (costs a dump and memory; only decisions that look at
    /// routes ask for it).
    pub track_routes: bool,
}

impl Default for KernelSourceConfig {
    fn default() -> Self {
        KernelSourceConfig {
            receive_buffer: DEFAULT_RECEIVE_BUFFER,
            track_routes: false,
        }
    }
}

/// A message `Protocol` asks its owner to send to the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Request {
    /// An `NLM_F_DUMP` request for `kind`, tagged with `seq`.
    Dump { kind: DumpKind, seq: u32 },
}

/// A dump in progress and the table it builds.
#[derive(Debug)]
struct Resync {
    kind: DumpKind,
    seq: u32,
    /// True once the first reply of this dump was read: later events are newer than the dump.
    started: bool,
    /// Another overflow happened during this dump: start over when it ends.
    restart: bool,
    fresh: KernelTables,
}

/// Counters for tests and benchmarks.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct KernelSourceStats {
    /// Receive-buffer overflows seen (each one triggers a resynchronisation).
    pub overruns: u64,
    /// Completed full dumps (the initial one included).
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
    /// Whether a resync ends with a route dump.
    track_routes: bool,
    next_seq: u32,
    resync: Option<Resync>,
    stats: KernelSourceStats,
}

impl KernelSource {
    /// Opens the socket, subscribes, and requests the initial dump. Needs a tokio runtime.
    pub fn open(config: KernelSourceConfig) -> io::Result<KernelSource> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        set_receive_buffer(&socket, config.receive_buffer);
        let groups = GROUPS | if config.track_routes { ROUTE_GROUPS } else { 0 };
        socket.bind(&SocketAddr::new(0, groups))?;
        let mut address = SocketAddr::new(0, 0);
        socket.get_address(&mut address)?;
        socket.set_non_blocking(true)?;
        let mut protocol = Protocol::new(address.port_number(), config.track_routes);
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

    /// Waits until the socket is readable, then reads and applies everything queued.
    /// `now` gives CLOCK_BOOTTIME for address lifetimes.
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
            loop {
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
    fn new(port: u32, track_routes: bool) -> Protocol {
        Protocol {
            port,
            track_routes,
            next_seq: 1,
            resync: None,
            stats: KernelSourceStats::default(),
        }
    }

    /// Starts the initial resynchronisation; returns the link dump request to send.
    fn start(&mut self) -> Request {
        self.start_dump(DumpKind::Links, KernelTables::default())
    }

    /// The receive buffer overflowed (or a message was truncated): events were lost, so
    /// resynchronise. Returns the dump request to send, if one is to be sent now.
    fn overflowed(&mut self) -> Option<Request> {
        match &mut self.resync {
            // The kernel allows one dump at a time: finish this one, then start over.
            Some(resync) => {
                resync.restart = true;
                None
            }
            None => Some(self.start_dump(DumpKind::Links, KernelTables::default())),
        }
    }

    /// Begins a dump of `kind` that builds on `fresh`; returns its request.
    fn start_dump(&mut self, kind: DumpKind, fresh: KernelTables) -> Request {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1).max(1);
        self.resync = Some(Resync {
            kind,
            seq,
            started: false,
            restart: false,
            fresh,
        });
        Request::Dump { kind, seq }
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
                Err(err) => tracing::warn!("undecodable netlink message ignored: {err}"),
            }
            offset += (length + 3) & !3;
        }
        Ok(())
    }

    /// Handles one message (a dump reply or an event); returns the request to send, if any.
    fn handle_message(
        &mut self,
        message: NetlinkMessage<RouteNetlinkMessage>,
        tables: &mut KernelTables,
        now: Duration,
    ) -> io::Result<Option<Request>> {
        let header = message.header;
        let ours = header.port_number == self.port && header.sequence_number != 0;
        let dump_seq = self.resync.as_ref().map(|r| r.seq);
        if ours && Some(header.sequence_number) != dump_seq {
            return Ok(None); // a reply to an abandoned request
        }
        if ours {
            if header.flags & NLM_F_DUMP_INTR != 0 {
                // The table changed while the kernel walked it: the dump is inconsistent.
                if let Some(resync) = &mut self.resync {
                    resync.restart = true;
                }
            }
            return match message.payload {
                NetlinkPayload::Done(_) => Ok(self.dump_done(tables)),
                NetlinkPayload::Error(err) if err.code.is_some() => Err(io::Error::other(format!(
                    "netlink dump failed: {}",
                    err.to_io()
                ))),
                NetlinkPayload::InnerMessage(inner) => {
                    if let Some(resync) = &mut self.resync {
                        resync.started = true;
                        if let Some(event) = event(inner, header.flags, now) {
                            apply(&mut resync.fresh, event);
                        }
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
        match &mut self.resync {
            None => apply(tables, event),
            Some(resync) => {
                // Dumps run in class order (links, addresses, routes). An event of a class
                // already dumped is newer than its dump; of the class being dumped, only once
                // the dump has begun; of a class still to be dumped, the dump supersedes it.
                let class = event.class();
                let newer = class < resync.kind || class == resync.kind && resync.started;
                if newer {
                    apply(&mut resync.fresh, event);
                }
            }
        }
        Ok(None)
    }

    /// The current dump ended: start over, continue with the address dump, or install the
    /// fresh table. Returns the next dump request, if any.
    fn dump_done(&mut self, tables: &mut KernelTables) -> Option<Request> {
        let resync = self.resync.take()?;
        if resync.restart {
            return Some(self.start_dump(DumpKind::Links, KernelTables::default()));
        }
        match resync.kind {
            DumpKind::Links => Some(self.start_dump(DumpKind::Addresses, resync.fresh)),
            DumpKind::Addresses if self.track_routes => {
                Some(self.start_dump(DumpKind::Routes, resync.fresh))
            }
            DumpKind::Addresses | DumpKind::Routes => {
                *tables = resync.fresh;
                self.stats.dumps += 1;
                None
            }
        }
    }
}

/// Sends `request` to the kernel.
fn send(socket: &Socket, request: Request) -> io::Result<()> {
    let Request::Dump { kind, seq } = request;
    let payload = match kind {
        DumpKind::Links => {
            let mut request = LinkMessage::default();
            request
                .attributes
                .push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
            RouteNetlinkMessage::GetLink(request)
        }
        DumpKind::Addresses => RouteNetlinkMessage::GetAddress(AddressMessage::default()),
        DumpKind::Routes => RouteNetlinkMessage::GetRoute(RouteMessage::default()),
    };
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | NLM_F_DUMP;
    header.sequence_number = seq;
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
        _ => None,
    }
}

/// SO_RCVBUFFORCE (root, ignores rmem_max) with SO_RCVBUF as fallback; failure only costs
/// more resynchronisations, so it is logged, not fatal.
fn set_receive_buffer(socket: &Socket, size: usize) {
    let value = libc::c_int::try_from(size).unwrap_or(libc::c_int::MAX);
    for option in [libc::SO_RCVBUFFORCE, libc::SO_RCVBUF] {
        // SAFETY: setsockopt reads `size_of::<c_int>()` bytes from a live c_int.
        let rc = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                option,
                (&raw const value).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc == 0 {
            return;
        }
    }
    tracing::debug!(
        "could not enlarge the netlink receive buffer: {}",
        io::Error::last_os_error()
    );
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
        Request::Dump {
            kind: DumpKind::Links,
            seq,
        }
    }

    fn addresses_dump(seq: u32) -> Request {
        Request::Dump {
            kind: DumpKind::Addresses,
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
        let mut protocol = Protocol::new(PORT, false);
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
        let mut protocol = Protocol::new(PORT, false);
        let mut links = KernelTables::default();
        protocol.start();
        let mut error = netlink_packet_core::ErrorMessage::default();
        error.code = std::num::NonZeroI32::new(-libc::EPERM);
        let message = message(PORT, 1, 0, NetlinkPayload::Error(error));
        assert!(protocol.handle_message(message, &mut links, NOW).is_err());
    }

    #[test]
    fn datagram_with_several_messages() {
        let mut protocol = Protocol::new(PORT, false);
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
            let mut protocol = Protocol::new(PORT, true);
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
            let mut protocol = Protocol::new(PORT, false);
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
        let mut protocol = Protocol::new(PORT, false);
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
}
