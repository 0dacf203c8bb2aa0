//! `--probe-gateway`: one empty UDP datagram to the discard port of a default gateway that
//! has not answered, sent from the route's interface. The kernel must resolve the gateway's
//! link-layer address to send it, which is the point: the neighbour entry that
//! `--require-gateway` waits for then appears (or turns FAILED). Only sent when asked for.

use std::io;
use std::net::{IpAddr, SocketAddr, SocketAddrV6, UdpSocket};
use std::os::fd::AsFd;

/// The discard service: whatever answers there ignores the datagram.
const DISCARD_PORT: u16 = 9;

/// Sends the probe to `gateway` through the interface `ifindex`.
pub fn probe(gateway: IpAddr, ifindex: u32) -> io::Result<()> {
    let (local, target): (SocketAddr, SocketAddr) = match gateway {
        IpAddr::V4(v4) => (
            SocketAddr::from(([0, 0, 0, 0], 0)),
            SocketAddr::from((v4, DISCARD_PORT)),
        ),
        // A link-local gateway (the usual IPv6 case) is only meaningful on its interface.
        IpAddr::V6(v6) => (
            SocketAddr::from(([0u16; 8], 0)),
            SocketAddr::V6(SocketAddrV6::new(v6, DISCARD_PORT, 0, ifindex)),
        ),
    };
    let socket = UdpSocket::bind(local)?;
    crate::sys::bind_to_ifindex(socket.as_fd(), ifindex)?;
    socket.send_to(&[], target)?;
    Ok(())
}
