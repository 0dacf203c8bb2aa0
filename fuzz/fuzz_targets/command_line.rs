//! The whole command line (every option's value parser: interface specs `IF[:MIN[:MAX]]`,
//! operational-state ranges, time spans, booleans, globs, `--dns-probe` names) and
//! `$WAIT_ONLINE_CARRIER_TIMEOUT`. The input's first byte picks whether the environment
//! variable is set; the rest, split at NUL bytes (as the kernel hands `argv` over), is the
//! arguments. Never a panic; every usage error is one line.
#![no_main]

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use libfuzzer_sys::fuzz_target;
use wait_online::cli::{UsageError, parse_with_environment};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let mut parts = rest.split(|&b| b == 0);
    let environment =
        (selector & 1 == 1).then(|| OsString::from_vec(parts.next().unwrap_or_default().to_vec()));
    let argv: Vec<OsString> = std::iter::once(OsString::from("wait-online"))
        .chain(parts.map(|part| OsString::from_vec(part.to_vec())))
        .collect();
    if let Err(UsageError(message)) = parse_with_environment(argv, environment) {
        assert!(!message.contains(['\n', '\r']), "{message:?}");
    }
});
