//! Whether a DNS server is accessible, decided the way systemd-resolved decides it: connect a
//! UDP socket to the server's port 53 (bound to the link for a link's own servers). connect()
//! on UDP sends nothing; it only asks the kernel for a route, so the answer follows policy
//! routing, unreachable routes and links going down exactly.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6, UdpSocket};
use std::os::fd::AsFd;

use crate::sys::bind_to_ifindex;

/// True when the kernel has a route to `server` (through `ifindex` when given).
pub fn is_accessible(server: IpAddr, ifindex: Option<u32>) -> bool {
    let bind = match server {
        IpAddr::V4(_) => SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
        IpAddr::V6(_) => SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0)),
    };
    let Ok(socket) = UdpSocket::bind(bind) else {
        return false;
    };
    if let Some(ifindex) = ifindex
        && bind_to_ifindex(socket.as_fd(), ifindex).is_err()
    {
        return false;
    }
    let target = match server {
        IpAddr::V6(v6) if v6.is_unicast_link_local() => match ifindex {
            // A link-local server needs its link.
            Some(scope) => SocketAddr::V6(SocketAddrV6::new(v6, 53, 0, scope)),
            None => return false,
        },
        other => SocketAddr::new(other, 53),
    };
    socket.connect(target).is_ok()
}
