//! systemd-networkd's per-link state file: any bytes (read lossily, as a file that is not
//! UTF-8 would be after decoding). Never a panic; a NUL anywhere refuses the whole file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wait_online::core::NetworkdLink;
use wait_online::networkd::state_file;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let link = state_file::parse(&text);
    if text.contains('\0') {
        assert_eq!(link, NetworkdLink::default());
    }
});
