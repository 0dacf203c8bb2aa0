//! A route-netlink datagram as the kernel source reads it: each message decoded strictly,
//! else leniently (`wire::lenient_message`), then converted to the core's links,
//! addresses, routes and neighbours. Never a panic.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use netlink_packet_core::{NetlinkBuffer, NetlinkMessage, NetlinkPayload};
use netlink_packet_route::RouteNetlinkMessage;
use wait_online::netlink::wire;

fuzz_target!(|data: &[u8]| {
    let mut offset = 0;
    while offset < data.len() {
        let rest = &data[offset..];
        let Ok(buffer) = NetlinkBuffer::new_checked(rest) else {
            return;
        };
        let length = buffer.length() as usize;
        if length == 0 || length > rest.len() {
            return;
        }
        let bytes = &rest[..length];
        let message = NetlinkMessage::<RouteNetlinkMessage>::deserialize(bytes)
            .ok()
            .or_else(|| wire::lenient_message(bytes));
        if let Some(NetlinkMessage {
            payload: NetlinkPayload::InnerMessage(inner),
            ..
        }) = message
        {
            let now = Duration::from_secs(1000);
            match inner {
                RouteNetlinkMessage::NewLink(link) | RouteNetlinkMessage::DelLink(link) => {
                    let _ = wire::link(&link);
                }
                RouteNetlinkMessage::NewAddress(address)
                | RouteNetlinkMessage::DelAddress(address) => {
                    let _ = wire::address(&address, now);
                }
                RouteNetlinkMessage::NewRoute(route) | RouteNetlinkMessage::DelRoute(route) => {
                    let _ = wire::routes(&route);
                }
                RouteNetlinkMessage::NewNeighbour(neighbour)
                | RouteNetlinkMessage::DelNeighbour(neighbour) => {
                    let _ = wire::neighbour(&neighbour);
                }
                _ => {}
            }
        }
        offset += (length + 3) & !3;
    }
});
