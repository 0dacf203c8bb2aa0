//! Whether a DNS server is accessible, decided the way systemd-resolved decides it: a plain
//! route lookup, also for a link's own servers (connect a UDP socket to the server's port 53;
//! connect() on UDP sends nothing, it only asks the kernel for a route, so the answer follows
//! policy routing, unreachable routes and links going down exactly). The socket is not bound
//! to the link: with SO_BINDTOIFINDEX the kernel treats every destination as on-link, and a
//! server that no route reaches would count as accessible where resolved says it is not.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6, UdpSocket};

/// True when the kernel has a route to `server`; a link-local IPv6 server is looked up on
/// its link `ifindex` (and is never accessible without one).
pub fn is_accessible(server: IpAddr, ifindex: Option<u32>) -> bool {
    let bind = match server {
        IpAddr::V4(_) => SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
        IpAddr::V6(_) => SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0)),
    };
    let Ok(socket) = UdpSocket::bind(bind) else {
        return false;
    };
    let target = match server {
        IpAddr::V6(v6) if v6.is_unicast_link_local() => match ifindex {
            Some(scope) => SocketAddr::V6(SocketAddrV6::new(v6, 53, 0, scope)),
            None => return false,
        },
        other => SocketAddr::new(other, 53),
    };
    socket.connect(target).is_ok()
}
