//! `--timeout=` / `--carrier-timeout=` / `$WAIT_ONLINE_CARRIER_TIMEOUT` time spans: any UTF-8
//! text. Never a panic; a finite span stays below systemd's USEC_INFINITY; an error is one line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wait_online::cli::timespan::{TimeSpan, parse_timespan};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_timespan(text) {
        Ok(TimeSpan::Finite(span)) => assert!(span.as_micros() < u128::from(u64::MAX)),
        Ok(TimeSpan::Infinity) => {}
        Err(err) => {
            let line = err.to_string();
            assert!(!line.contains(['\n', '\r']), "{line:?}");
        }
    }
});
