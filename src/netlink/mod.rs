//! The kernel adapter: one rtnetlink socket, subscribed to link and address changes *before*
//! the dumps, read in socket order. Reading dump replies and events from one queue in order
//! is what makes resynchronisation exact: after the receive buffer overflowed (ENOBUFS), a
//! fresh dump is taken and only the events queued *after* each dump began are replayed onto
//! it, so a stale event from before the overflow can never resurrect a deleted address.

pub mod convert;

use std::collections::BTreeMap;
use std::io;
use std::os::fd::AsRawFd;
use std::time::Duration;

use netlink_packet_core::{
    NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REQUEST, NetlinkBuffer, NetlinkHeader, NetlinkMessage,
    NetlinkPayload,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::address::AddressMessage;
use netlink_packet_route::link::{LinkAttribute, LinkExtentMask, LinkMessage};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};
use tokio::io::unix::AsyncFd;

use crate::core::KernelLink;
use crate::core::update::{KernelEvent, apply};

/// Multicast groups (`RTMGRP_*`): links, IPv4 addresses, IPv6 addresses.
const GROUPS: u32 = 0x1 | 0x10 | 0x100;
/// Receive buffer asked for: large, so that boot-time event storms fit.
const DEFAULT_RECEIVE_BUFFER: usize = 8 << 20;
/// Size of one read; the kernel's dump messages fit in 32 KiB.
const READ_SIZE: usize = 64 << 10;

/// How to open the kernel source.
#[derive(Debug, Clone, Copy)]
pub struct KernelSourceConfig {
    /// Socket receive buffer in bytes (tests use a tiny one to force ENOBUFS).
    pub receive_buffer: usize,
}

impl Default for KernelSourceConfig {
    fn default() -> Self {
        KernelSourceConfig {
            receive_buffer: DEFAULT_RECEIVE_BUFFER,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DumpKind {
    Links,
    Addresses,
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
    fresh: BTreeMap<u32, KernelLink>,
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

/// The dump/event bookkeeping, apart from the socket so both can be borrowed at once.
struct Protocol {
    port: u32,
    next_seq: u32,
    resync: Option<Resync>,
    stats: KernelSourceStats,
}

impl KernelSource {
    /// Opens the socket, subscribes, and requests the initial dump. Needs a tokio runtime.
    pub fn open(config: KernelSourceConfig) -> io::Result<KernelSource> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        set_receive_buffer(&socket, config.receive_buffer);
        socket.bind(&SocketAddr::new(0, GROUPS))?;
        let mut address = SocketAddr::new(0, 0);
        socket.get_address(&mut address)?;
        socket.set_non_blocking(true)?;
        let mut protocol = Protocol {
            port: address.port_number(),
            next_seq: 1,
            resync: None,
            stats: KernelSourceStats::default(),
        };
        protocol.start_dump(&socket, DumpKind::Links, BTreeMap::new())?;
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
        links: &mut BTreeMap<u32, KernelLink>,
        now: impl Fn() -> Duration,
    ) -> io::Result<()> {
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
                        self.protocol.overflowed(socket)?;
                    }
                    Ok(_) => {
                        read_any = true;
                        self.protocol
                            .handle_datagram(socket, &self.buffer, links, now())?;
                    }
                    Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                        guard.clear_ready();
                        break;
                    }
                    Err(err) if err.raw_os_error() == Some(libc::ENOBUFS) => {
                        tracing::debug!("netlink receive buffer overflowed, resynchronising");
                        self.protocol.stats.overruns += 1;
                        read_any = true;
                        self.protocol.overflowed(socket)?;
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
    fn overflowed(&mut self, socket: &Socket) -> io::Result<()> {
        match &mut self.resync {
            // The kernel allows one dump at a time: finish this one, then start over.
            Some(resync) => resync.restart = true,
            None => self.start_dump(socket, DumpKind::Links, BTreeMap::new())?,
        }
        Ok(())
    }

    fn start_dump(
        &mut self,
        socket: &Socket,
        kind: DumpKind,
        fresh: BTreeMap<u32, KernelLink>,
    ) -> io::Result<()> {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1).max(1);
        let payload = match kind {
            DumpKind::Links => {
                let mut request = LinkMessage::default();
                request
                    .attributes
                    .push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
                RouteNetlinkMessage::GetLink(request)
            }
            DumpKind::Addresses => RouteNetlinkMessage::GetAddress(AddressMessage::default()),
        };
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | NLM_F_DUMP;
        header.sequence_number = seq;
        let mut message = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(payload));
        message.finalize();
        let mut bytes = vec![0; message.buffer_len()];
        message.serialize(&mut bytes);
        socket.send_to(&bytes, &SocketAddr::new(0, 0), 0)?;
        self.resync = Some(Resync {
            kind,
            seq,
            started: false,
            restart: false,
            fresh,
        });
        Ok(())
    }

    fn handle_datagram(
        &mut self,
        socket: &Socket,
        datagram: &[u8],
        links: &mut BTreeMap<u32, KernelLink>,
        now: Duration,
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
                Ok(message) => self.handle_message(socket, message, links, now)?,
                Err(err) => tracing::warn!("undecodable netlink message ignored: {err}"),
            }
            offset += (length + 3) & !3;
        }
        Ok(())
    }

    fn handle_message(
        &mut self,
        socket: &Socket,
        message: NetlinkMessage<RouteNetlinkMessage>,
        links: &mut BTreeMap<u32, KernelLink>,
        now: Duration,
    ) -> io::Result<()> {
        let header = message.header;
        let ours = header.port_number == self.port && header.sequence_number != 0;
        let dump_seq = self.resync.as_ref().map(|r| r.seq);
        if ours && Some(header.sequence_number) != dump_seq {
            return Ok(()); // a reply to an abandoned request
        }
        if ours {
            if header.flags & NLM_F_DUMP_INTR != 0 {
                // The table changed while the kernel walked it: the dump is inconsistent.
                if let Some(resync) = &mut self.resync {
                    resync.restart = true;
                }
            }
            return match message.payload {
                NetlinkPayload::Done(_) => self.dump_done(socket, links),
                NetlinkPayload::Error(err) if err.code.is_some() => Err(io::Error::other(format!(
                    "netlink dump failed: {}",
                    err.to_io()
                ))),
                NetlinkPayload::InnerMessage(inner) => {
                    if let Some(resync) = &mut self.resync {
                        resync.started = true;
                        if let Some(event) = event(inner, now) {
                            apply(&mut resync.fresh, event);
                        }
                    }
                    Ok(())
                }
                _ => Ok(()),
            };
        }
        let NetlinkPayload::InnerMessage(inner) = message.payload else {
            return Ok(());
        };
        let Some(event) = event(inner, now) else {
            return Ok(());
        };
        match &mut self.resync {
            None => apply(links, event),
            Some(resync) => {
                let is_link_event =
                    matches!(event, KernelEvent::NewLink(_) | KernelEvent::DelLink(_));
                // An event of the class being dumped is newer than the dump only once the
                // dump has begun; link events during the address dump are newer than the
                // (finished) link dump; address events during the link dump are superseded
                // by the address dump that follows.
                let newer = match resync.kind {
                    DumpKind::Links => is_link_event && resync.started,
                    DumpKind::Addresses => is_link_event || resync.started,
                };
                if newer {
                    apply(&mut resync.fresh, event);
                }
            }
        }
        Ok(())
    }

    fn dump_done(
        &mut self,
        socket: &Socket,
        links: &mut BTreeMap<u32, KernelLink>,
    ) -> io::Result<()> {
        let Some(resync) = self.resync.take() else {
            return Ok(());
        };
        if resync.restart {
            return self.start_dump(socket, DumpKind::Links, BTreeMap::new());
        }
        match resync.kind {
            DumpKind::Links => self.start_dump(socket, DumpKind::Addresses, resync.fresh),
            DumpKind::Addresses => {
                *links = resync.fresh;
                self.stats.dumps += 1;
                Ok(())
            }
        }
    }
}

/// The core event for a route-netlink message, if it is one we track.
fn event(message: RouteNetlinkMessage, now: Duration) -> Option<KernelEvent> {
    match message {
        RouteNetlinkMessage::NewLink(link) => Some(KernelEvent::NewLink(convert::link(&link))),
        RouteNetlinkMessage::DelLink(link) => Some(KernelEvent::DelLink(link.header.index)),
        RouteNetlinkMessage::NewAddress(address) => convert::address(&address, now)
            .map(|(ifindex, address)| KernelEvent::NewAddress(ifindex, address)),
        RouteNetlinkMessage::DelAddress(address) => convert::address(&address, now)
            .map(|(ifindex, address)| KernelEvent::DelAddress(ifindex, address)),
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
