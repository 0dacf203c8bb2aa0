//! The ifupdown adapter (`--manager=ifupdown`): which interfaces Debian's ifupdown brings up
//! at boot, from `/etc/network/interfaces` ([`interfaces`]), and how far it got, from its
//! state directory `/run/network` ([`state`]), kept current with inotify (no polling). The
//! decision is `crate::core::ifupdown`.

/// ifupdown's configuration, below the root directory.
pub const INTERFACES: &str = "etc/network/interfaces";
/// ifupdown's ifup, below the root directory (`--manager=auto` follows ifupdown only where it
/// is installed).
pub const IFUP: &str = "sbin/ifup";

pub mod interfaces;
pub mod source;
pub mod state;

use std::ffi::CString;

use crate::core::NamePattern;
use crate::core::ifupdown::{IfaceEntry, IfupdownConfig};
use interfaces::Interfaces;

/// The boot classes of a configuration read by [`interfaces::load`].
pub fn config(interfaces: &Interfaces) -> IfupdownConfig {
    IfupdownConfig {
        auto: interfaces.auto.iter().map(|word| entry(word)).collect(),
        hotplug: interfaces.hotplug.iter().map(|word| entry(word)).collect(),
    }
}

/// One word of an `auto` or `allow-hotplug` line, as ifupdown's `expand_matches()` reads
/// it: a word without `/` is `NAME[=LOGICAL]`; a word with one is
/// `[VARIABLE]/GLOB[/N][=LOGICAL]`, matched with `fnmatch(GLOB, name, FNM_EXTMATCH)` against
/// every interface (or only the Nth match, or on a sysfs variable: not followed here).
fn entry(word: &str) -> IfaceEntry {
    let Some((variable, after)) = word.split_once('/') else {
        let name = word.split('=').next().unwrap_or_default();
        return IfaceEntry::Name(name.to_owned());
    };
    // The `=LOGICAL` is cut from the options when there are some (even empty), else from
    // the glob.
    let (glob, options) = match after.split_once('/') {
        Some((glob, options)) => (glob, options.split('=').next().unwrap_or_default()),
        None => (after.split('=').next().unwrap_or_default(), ""),
    };
    // atoi(): the leading digits, 0 when there are none.
    let digits: String = options.chars().take_while(char::is_ascii_digit).collect();
    let nth = digits.parse::<u64>().unwrap_or(0);
    if !variable.is_empty() || nth > 0 {
        return IfaceEntry::Unsupported(word.to_owned());
    }
    let pattern = CString::new(glob).unwrap_or_default();
    IfaceEntry::Pattern(NamePattern::new(word, move |name| {
        CString::new(name).is_ok_and(|name| crate::sys::fnmatch_extended(&pattern, &name))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(word: &str, name: &str) -> bool {
        match entry(word) {
            IfaceEntry::Name(entry) => entry == name,
            IfaceEntry::Pattern(pattern) => pattern.matches(name),
            IfaceEntry::Unsupported(_) => false,
        }
    }

    #[test]
    fn words_are_names_patterns_or_said_unsupported() {
        // (word, name, matches)
        let table = [
            ("eth0", "eth0", true),
            ("eth0=work", "eth0", true),
            ("eth0=work", "work", false),
            ("/eth*", "eth1", true),
            ("/eth*/", "eth1", true),
            ("/eth*/=foo", "eth1", true),
            ("/eth*=foo", "eth1", true),
            ("/eth*", "wlan0", false),
            // FNM_EXTMATCH: ifupdown's extended patterns.
            ("/@(eth|en)*", "enp1s0", true),
            ("/+(x)", "xxx", true),
            // With options, even empty ones, `=` in the glob is the glob's.
            ("/a=b/", "a=b", true),
            ("/a=b/", "a", false),
        ];
        for (word, name, expected) in table {
            assert_eq!(matches(word, name), expected, "{word} {name}");
        }
        for word in [
            "mac/01:23:45:67:89:ad/=foo",
            "type/1/1=bar",
            "/eth*/2",
            "wireless/*/2=baz",
        ] {
            assert_eq!(entry(word), IfaceEntry::Unsupported(word.into()), "{word}");
        }
    }

    #[test]
    fn the_configuration_keeps_auto_and_hotplug_apart() {
        let interfaces = Interfaces {
            auto: vec!["lo".into(), "/br*".into()],
            hotplug: vec!["enp1s0".into()],
            ..Interfaces::default()
        };
        let got = config(&interfaces);
        assert_eq!(
            got.class_of(["br0"]),
            Some(crate::core::ifupdown::BootClass::Auto)
        );
        assert_eq!(
            got.class_of(["enp1s0"]),
            Some(crate::core::ifupdown::BootClass::Hotplug)
        );
        assert_eq!(got.class_of(["wlan0"]), None);
        assert_eq!(got.auto_names().collect::<Vec<_>>(), ["lo"]);
    }
}
