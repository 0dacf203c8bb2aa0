//! The kernel source's socket: it sends what the protocol asks for and reads what the kernel
//! sends, decoded; the protocol and the tables are touched only by [`KernelSource::apply`].

use std::io;
use std::net::IpAddr;

use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};
use tokio::io::unix::AsyncFd;

use super::protocol::Protocol;
use super::wire::{self, Body, Message, Request};
use super::{KernelSourceConfig, KernelSourceStats};
use crate::core::Route;
use crate::core::update::KernelTables;
use crate::sys::boottime_now;

/// Multicast groups: links, IPv4 addresses, IPv6 addresses.
const GROUPS: u32 =
    (libc::RTMGRP_LINK | libc::RTMGRP_IPV4_IFADDR | libc::RTMGRP_IPV6_IFADDR) as u32;
/// Multicast groups: IPv4 routes, IPv6 routes.
const ROUTE_GROUPS: u32 = (libc::RTMGRP_IPV4_ROUTE | libc::RTMGRP_IPV6_ROUTE) as u32;
/// Multicast group: neighbour entries of every family.
const NEIGHBOUR_GROUP: u32 = libc::RTMGRP_NEIGH as u32;
/// Size of one read; the kernel's dump messages fit in 32 KiB.
const READ_SIZE: usize = 64 << 10;
/// Datagrams read per call of [`KernelSource::next`] before the caller decides again.
const READ_BUDGET: usize = 64;

/// The kernel's links and addresses (and routes and neighbours when asked), kept current
/// from one rtnetlink socket, subscribed *before* the dumps.
pub struct KernelSource {
    socket: AsyncFd<Socket>,
    /// One datagram.
    buffer: Vec<u8>,
    protocol: Protocol,
    /// Requests [`KernelSource::apply`] queued, sent by the next [`KernelSource::next`].
    outbox: Vec<Request>,
    /// A failed dump, reported by the next [`KernelSource::next`].
    failure: Option<io::Error>,
    overruns: u64,
}

/// What one read brought: the kernel's messages in socket order, and where events were lost.
#[derive(Debug)]
pub struct KernelMessages(Vec<Received>);

#[derive(Debug)]
enum Received {
    Message(Message),
    /// The receive buffer overflowed, or a message was truncated: events were lost.
    Lost,
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
        send(&socket, &protocol.start())?;
        Ok(KernelSource {
            socket: crate::sys::register_readable(socket)?,
            buffer: Vec::with_capacity(READ_SIZE),
            protocol,
            outbox: Vec::new(),
            failure: None,
            overruns: 0,
        })
    }

    /// Counters so far.
    pub fn stats(&self) -> KernelSourceStats {
        KernelSourceStats {
            overruns: self.overruns,
            dumps: self.protocol.dumps,
        }
    }

    /// True when the tables reflect a complete dump plus every event since: only then may a
    /// decision be made.
    pub fn is_synced(&self) -> bool {
        self.protocol.is_synced()
    }

    /// Sends the requests [`KernelSource::apply`] queued, waits until the socket is readable,
    /// then reads what is queued, at most `READ_BUDGET` datagrams (so that a sustained storm
    /// cannot keep the caller from deciding). Cancel-safe: it waits only before reading.
    pub async fn next(&mut self) -> io::Result<KernelMessages> {
        if let Some(failure) = self.failure.take() {
            return Err(failure);
        }
        for request in self.outbox.drain(..) {
            send(self.socket.get_ref(), &request)?;
        }
        let mut received = Vec::new();
        loop {
            let mut guard = self.socket.readable().await?;
            let socket = guard.get_inner();
            for _ in 0..READ_BUDGET {
                self.buffer.clear();
                match socket.recv(&mut self.buffer, libc::MSG_TRUNC) {
                    Ok(length) if length > self.buffer.capacity() => {
                        tracing::warn!(length, "netlink message truncated, resynchronising");
                        self.buffer.reserve(length);
                        received.push(Received::Lost);
                    }
                    Ok(_) => wire::decode(&self.buffer, boottime_now(), |message| {
                        received.push(Received::Message(message));
                    }),
                    Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                        guard.clear_ready();
                        break;
                    }
                    Err(err) if err.raw_os_error() == Some(libc::ENOBUFS) => {
                        tracing::debug!("netlink receive buffer overflowed, resynchronising");
                        self.overruns += 1;
                        received.push(Received::Lost);
                    }
                    Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                    Err(err) => return Err(err),
                }
            }
            if !received.is_empty() {
                return Ok(KernelMessages(received));
            }
        }
    }

    /// Applies what [`KernelSource::next`] read to `tables` (or to the table being fetched),
    /// and queues the requests to send. Returns true when the facts may have changed: the
    /// source is synced and a fetched table was installed or a fact was read.
    pub fn apply(&mut self, messages: KernelMessages, tables: &mut KernelTables) -> bool {
        let dumps = self.protocol.dumps;
        let mut facts = false;
        for received in messages.0 {
            let request = match received {
                Received::Lost => self.protocol.overflowed(),
                Received::Message(message) => {
                    facts |= matches!(message.body, Body::Fact(_));
                    match self.protocol.handle_message(message, tables) {
                        Ok(request) => request,
                        Err(err) => {
                            self.failure = Some(err);
                            return false;
                        }
                    }
                }
            };
            self.outbox.extend(request);
        }
        self.is_synced() && (facts || self.protocol.dumps != dumps)
    }
}

/// Asks the kernel which route it would use for `destination` (as `ip route get` does), on
/// a socket of its own.
pub fn route_to(destination: IpAddr) -> io::Result<Option<Route>> {
    let socket = Socket::new(NETLINK_ROUTE)?;
    socket.send_to(
        &wire::encode_route_lookup(destination),
        &SocketAddr::new(0, 0),
        0,
    )?;
    // The kernel answers within the send call: the reply is queued before it returns, so a
    // non-blocking read never has to wait (and can never hang the event loop).
    socket.set_non_blocking(true)?;
    let (reply, _) = socket.recv_from_full()?;
    Ok(wire::decode_route_lookup(&reply))
}

/// Sends `request` to the kernel.
fn send(socket: &Socket, request: &Request) -> io::Result<()> {
    socket.send_to(&wire::encode(request), &SocketAddr::new(0, 0), 0)?;
    Ok(())
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
