//! resolv.conf's `nameserver` lines: any bytes, read as bytes like glibc. Never a panic;
//! never more servers than `nameserver` lines.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wait_online::dns::resolv_conf;

fuzz_target!(|data: &[u8]| {
    let servers = resolv_conf::nameservers(data);
    let lines = data.windows(b"nameserver".len()).filter(|w| w == b"nameserver").count();
    assert!(servers.len() <= lines);
});
