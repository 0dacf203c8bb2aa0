//! The adapter behind [`HostFacts`]: `/proc/sys/net` of this network namespace, the kernel's
//! own route lookup (RTM_GETROUTE, which sends nothing), and when each address was first
//! seen tentative (remembered here, between decisions, so the core stays a pure function).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use netlink_packet_core::{NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, NetlinkPayload};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

use crate::bounded_read::{self, KERNEL_VALUE_CAP};
use crate::core::Snapshot;
use crate::core::link::ifa;
use crate::core::pitfalls::{HostFacts, RouteChoice};

/// Reads what the pitfalls need from the running system.
#[derive(Debug, Default)]
pub struct HostReader {
    /// (ifindex, address) → CLOCK_BOOTTIME of the first decision that saw it tentative.
    tentative: BTreeMap<(u32, IpAddr), Duration>,
}

impl HostReader {
    /// Notes the addresses of `snapshot` that are tentative (and forgets the others). A
    /// decision follows every address change, so "first seen" is when it was added.
    pub fn observe(&mut self, snapshot: &Snapshot) {
        let mut still = BTreeMap::new();
        for link in snapshot.kernel.links.values() {
            for address in &link.addresses {
                if address.flags & ifa::TENTATIVE != 0 && address.flags & ifa::DADFAILED == 0 {
                    let key = (link.ifindex, address.address);
                    let since = self.tentative.get(&key).copied().unwrap_or(snapshot.now);
                    still.insert(key, since);
                }
            }
        }
        self.tentative = still;
    }
}

impl HostFacts for HostReader {
    fn sysctl(&self, key: &str) -> Option<i64> {
        // A key is a relative path of plain names (an interface name never holds a '/').
        if key
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..")
        {
            return None;
        }
        let path = format!("/proc/sys/net/{key}");
        bounded_read::read_lossy(std::path::Path::new(&path), KERNEL_VALUE_CAP)
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    fn route_to(&self, destination: IpAddr) -> Option<RouteChoice> {
        match lookup(destination) {
            Ok(choice) => choice,
            Err(err) => {
                tracing::debug!("route lookup for {destination} failed: {err}");
                None
            }
        }
    }

    fn tentative_since(&self, ifindex: u32, address: IpAddr) -> Option<Duration> {
        self.tentative.get(&(ifindex, address)).copied()
    }
}

/// Asks the kernel which route it would use for `destination` (as `ip route get` does).
fn lookup(destination: IpAddr) -> std::io::Result<Option<RouteChoice>> {
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
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST;
    header.sequence_number = 1;
    let mut message = NetlinkMessage::new(
        header,
        NetlinkPayload::InnerMessage(RouteNetlinkMessage::GetRoute(request)),
    );
    message.finalize();
    let mut bytes = vec![0; message.buffer_len()];
    message.serialize(&mut bytes);
    let socket = Socket::new(NETLINK_ROUTE)?;
    socket.send_to(&bytes, &SocketAddr::new(0, 0), 0)?;
    // The kernel answers within the send call: the reply is queued before it returns, so a
    // non-blocking read never has to wait (and can never hang the event loop).
    socket.set_non_blocking(true)?;
    let (reply, _) = socket.recv_from_full()?;
    let Ok(reply) = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&reply) else {
        return Ok(None);
    };
    let NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewRoute(route)) = reply.payload else {
        // An error reply: no route (ENETUNREACH) or a refused request.
        return Ok(None);
    };
    Ok(crate::netlink::convert::routes(&route)
        .first()
        .map(|route| RouteChoice {
            table: route.table,
            oif: route.oif,
            gateway: route.gateway,
        }))
}
