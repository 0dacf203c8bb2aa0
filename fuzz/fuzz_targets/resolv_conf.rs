//! resolv.conf's `nameserver` lines: any bytes (read lossily). Never a panic; never more
//! servers than `nameserver` lines.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wait_online::dns::resolv_conf;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let servers = resolv_conf::nameservers(&text);
    assert!(servers.len() <= text.matches("nameserver").count());
});
