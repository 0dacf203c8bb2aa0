//! A route-netlink datagram as the kernel source reads it (`wire::decode`): each message
//! decoded strictly, else leniently, then converted to the core's links, addresses, routes
//! and neighbours. Never a panic.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use wait_online::netlink::wire;

fuzz_target!(|data: &[u8]| {
    wire::decode(data, Duration::from_secs(1000), |_| {});
});
