//! One Netplan file, through the whole `--online-definition=ubuntu` pipeline: the YAML reader
//! and the loader (`Loader::add_str`, as if read from /etc/netplan), the plan Netplan would
//! write for a few present interfaces, the upstream command lines, and Ubuntu's definition.
//! Never a panic or abort; every error is one line.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use wait_online::core::Requirements;
use wait_online::netplan::{self, Loader, PresentInterface};

fuzz_target!(|data: &[u8]| {
    // The loader refuses bytes that are not UTF-8 before parsing (tests/it covers that).
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut loader = Loader::new();
    if let Err(err) = loader.add_str(Path::new("/etc/netplan/50-fuzz.yaml"), text) {
        let line = err.to_string();
        assert!(!line.contains(['\n', '\r']), "{line:?}");
        return;
    }
    let config = loader.finish();
    let present = [
        PresentInterface::named("lo"),
        PresentInterface {
            name: "eth0".into(),
            mac: Some("00:11:22:33:44:55".into()),
            driver: Some("e1000".into()),
        },
        PresentInterface {
            name: "wlan0".into(),
            mac: Some("aa:bb:cc:dd:ee:ff".into()),
            driver: Some("iwlwifi".into()),
        },
    ];
    let plan = netplan::plan::compute(&config, &present);
    let _ = netplan::upstream_lines(&plan, netplan::UPSTREAM_BINARY, true);
    if let Err(err) = netplan::ubuntu_definition(&plan, &Requirements::default()) {
        let message = err.to_string();
        assert!(!message.contains(['\n', '\r']), "{message:?}");
    }
});
