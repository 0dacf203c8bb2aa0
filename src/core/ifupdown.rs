//! `--manager=ifupdown`: Debian's ifupdown (0.8) as the decision sees it. Which interfaces it
//! brings up at boot comes from `/etc/network/interfaces` (read by `crate::ifupdown`): those
//! on an `auto` line must come up, those on an `allow-hotplug` line once the kernel has them,
//! and every other interface is none of ifupdown's business. How far it got comes from its
//! state directory `/run/network`, where ifupdown 0.8 keeps three facts per interface:
//!
//! - `ifstate` lists `IF=LOGICAL` from the moment `ifup` *starts* on IF (so "listed" is not
//!   "up"), keeps the line when ifup succeeds and removes it when ifup fails;
//! - `ifstate.IF` is created by the first ifup (or ifdown) of IF, and ifup holds a write lock
//!   on it for as long as it runs;
//! - `ifup-IF.pid` exists while ifup runs IF's commands, and is removed when they end.
//!
//! [`progress`] turns those facts into how far ifupdown got; the words are in
//! `crate::report`.

use std::collections::BTreeMap;

use super::name_pattern::NamePattern;

/// Which interfaces ifupdown brings up at boot.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IfupdownConfig {
    /// On an `auto` line: `ifup -a` (networking.service) brings them up.
    pub auto: Vec<IfaceEntry>,
    /// On an `allow-hotplug` line: udev's `ifup` brings them up once they appear.
    pub hotplug: Vec<IfaceEntry>,
}

/// One name on an `auto` or `allow-hotplug` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfaceEntry {
    /// A physical interface name (the part before `=LOGICAL`).
    Name(String),
    /// `/GLOB/` (with an optional `=LOGICAL`): every link whose name matches the glob.
    Pattern(NamePattern),
    /// A pattern wait-online does not follow: on a sysfs variable (`mac/…/`, `type/…/`), or
    /// the Nth match only (`/GLOB/N`). It matches no link here.
    Unsupported(String),
}

impl IfaceEntry {
    fn matches(&self, name: &str) -> bool {
        match self {
            IfaceEntry::Name(entry) => entry == name,
            IfaceEntry::Pattern(pattern) => pattern.matches(name),
            IfaceEntry::Unsupported(_) => false,
        }
    }
}

/// When ifupdown brings an interface up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootClass {
    /// `auto`: at boot, whether or not the kernel has the link yet.
    Auto,
    /// `allow-hotplug`: when the kernel has the link.
    Hotplug,
}

impl IfupdownConfig {
    /// When ifupdown brings up the link called `name` (`auto` first); `None` when it does
    /// not (no `auto` nor `allow-hotplug` line names it).
    pub fn class_of<'n>(
        &self,
        names: impl IntoIterator<Item = &'n str> + Clone,
    ) -> Option<BootClass> {
        let named = |entries: &[IfaceEntry]| {
            names
                .clone()
                .into_iter()
                .any(|name| entries.iter().any(|e| e.matches(name)))
        };
        if named(&self.auto) {
            Some(BootClass::Auto)
        } else if named(&self.hotplug) {
            Some(BootClass::Hotplug)
        } else {
            None
        }
    }

    /// Whether ifupdown brings up any link but the loopback: `--manager=auto` follows it
    /// then (every Debian machine's interfaces file has `auto lo`, NetworkManager's too).
    pub fn manages_links(&self) -> bool {
        self.auto
            .iter()
            .chain(&self.hotplug)
            .any(|entry| !matches!(entry, IfaceEntry::Name(name) if name == "lo"))
    }

    /// The plain names on `auto` lines, which must come up whether or not the kernel has
    /// them yet (ifup creates bridges, bonds and VLANs itself).
    pub fn auto_names(&self) -> impl Iterator<Item = &str> {
        self.auto.iter().filter_map(|entry| match entry {
            IfaceEntry::Name(name) => Some(name.as_str()),
            _ => None,
        })
    }
}

/// What ifupdown's state directory says about one physical interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IfaceState {
    /// `ifstate` has an `IF=…` line.
    pub listed: bool,
    /// `ifstate.IF` exists: an ifup (or ifdown) ran on it at least once.
    pub tried: bool,
    /// A process holds a lock on `ifstate.IF`: ifup (or ifdown) is running on it.
    pub locked: bool,
    /// `ifup-IF.pid` exists: ifup is running, or died while running, IF's commands.
    pub pid_file: bool,
}

#[cfg(test)]
impl IfaceState {
    /// The facts in their order of fields, for tables.
    pub(crate) const fn of(listed: bool, tried: bool, locked: bool, pid_file: bool) -> IfaceState {
        IfaceState {
            listed,
            tried,
            locked,
            pid_file,
        }
    }
}

/// Everything ifupdown says: its configuration and its state per physical interface.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IfupdownFacts {
    pub config: IfupdownConfig,
    /// By physical interface name; an interface ifupdown never touched is absent.
    pub states: BTreeMap<String, IfaceState>,
}

impl IfupdownFacts {
    /// How far ifupdown got with the interface called `name`.
    pub fn progress(&self, name: &str) -> Progress {
        progress(self.states.get(name).copied().unwrap_or_default())
    }
}

/// How far ifupdown got with one interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// No ifup has run on it yet.
    NotStarted,
    /// ifup (or ifdown) is running on it.
    Running,
    /// ifup finished and succeeded: the kernel's facts decide from here.
    Up,
    /// ifup exited with an error (or an ifdown took it down since).
    Failed,
    /// ifup died while running its commands (killed): the interface is listed, but its
    /// commands never finished.
    Interrupted,
}

impl Progress {
    /// Whether ifupdown is done with the interface, well or badly.
    pub fn is_done(self) -> bool {
        matches!(
            self,
            Progress::Up | Progress::Failed | Progress::Interrupted
        )
    }
}

/// How far ifupdown got, from its state files. The lock decides first: ifupdown lists an
/// interface as soon as ifup starts, so only an unlocked listing means ifup finished; and it
/// removes the pid file before it releases the lock, so a pid file without the lock means the
/// ifup that wrote it died.
pub fn progress(state: IfaceState) -> Progress {
    match state {
        IfaceState { locked: true, .. } => Progress::Running,
        IfaceState {
            listed: true,
            pid_file: true,
            ..
        } => Progress::Interrupted,
        IfaceState { listed: true, .. } => Progress::Up,
        IfaceState { tried: true, .. } => Progress::Failed,
        IfaceState { .. } => Progress::NotStarted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    use IfaceState as S;

    fn state(listed: bool, tried: bool, locked: bool, pid_file: bool) -> IfaceState {
        S::of(listed, tried, locked, pid_file)
    }

    #[test]
    fn progress_follows_ifupdown_08s_order_of_writes() {
        // (listed, tried, locked, pid file) as ifup goes through them.
        let table = [
            // Never touched.
            (state(false, false, false, false), Progress::NotStarted),
            // ifup took the lock, not listed yet (mapping scripts run).
            (state(false, true, true, false), Progress::Running),
            // Listed at the start, commands running: listed is not up.
            (state(true, true, true, true), Progress::Running),
            // Between two address families' commands.
            (state(true, true, true, false), Progress::Running),
            // Done, well.
            (state(true, true, false, false), Progress::Up),
            // Done, badly: the line was removed.
            (state(false, true, false, false), Progress::Failed),
            // Killed while running its commands.
            (state(true, true, false, true), Progress::Interrupted),
            // A listing without the lock file (removed by hand): ifup finished.
            (state(true, false, false, false), Progress::Up),
            // A stale pid file of an interface that is not listed: it failed.
            (state(false, true, false, true), Progress::Failed),
        ];
        for (facts, expected) in table {
            assert_eq!(progress(facts), expected, "{facts:?}");
        }
    }

    proptest! {
        #[test]
        fn a_held_lock_is_always_running_and_nothing_unlocked_is(
            listed: bool, tried: bool, locked: bool, pid_file: bool
        ) {
            let facts = state(listed, tried, locked, pid_file);
            let got = progress(facts);
            prop_assert_eq!(got == Progress::Running, locked);
            if locked {
                prop_assert!(!got.is_done());
            } else if listed {
                // Listed and unlocked: finished, well unless ifup died mid-way.
                prop_assert!(got == Progress::Up || got == Progress::Interrupted);
            }
        }
    }

    fn config(auto: &[&str], hotplug: &[&str]) -> IfupdownConfig {
        let entry = |name: &&str| match name.strip_prefix('/') {
            Some(prefix) => {
                let prefix = prefix.trim_end_matches("*/").to_string();
                IfaceEntry::Pattern(NamePattern::new(name, move |n| n.starts_with(&prefix)))
            }
            None => IfaceEntry::Name(name.to_string()),
        };
        IfupdownConfig {
            auto: auto.iter().map(entry).collect(),
            hotplug: hotplug.iter().map(entry).collect(),
        }
    }

    #[test]
    fn class_of_a_link_auto_first_then_hotplug_else_not_ifupdowns() {
        let config = config(&["lo", "br0", "/en*/"], &["eth0", "br0"]);
        let table = [
            (vec!["br0"], Some(BootClass::Auto)),
            (vec!["eth0"], Some(BootClass::Hotplug)),
            (vec!["enp1s0"], Some(BootClass::Auto)),
            (vec!["wlan0"], None),
            // An alternative name counts as the link's name.
            (vec!["wlan0", "eth0"], Some(BootClass::Hotplug)),
        ];
        for (names, expected) in table {
            assert_eq!(
                config.class_of(names.iter().copied()),
                expected,
                "{names:?}"
            );
        }
        assert_eq!(config.auto_names().collect::<Vec<_>>(), ["lo", "br0"]);
    }

    #[test]
    fn auto_follows_ifupdown_when_it_brings_up_more_than_the_loopback() {
        // (auto, allow-hotplug, manages links)
        let table: [(&[&str], &[&str], bool); 6] = [
            (&[], &[], false),
            (&["lo"], &[], false),
            (&["lo"], &["lo"], false),
            (&["lo", "eth0"], &[], true),
            (&["lo"], &["enp1s0"], true),
            (&["lo", "/en*/"], &[], true),
        ];
        for (auto, hotplug, expected) in table {
            assert_eq!(
                config(auto, hotplug).manages_links(),
                expected,
                "{auto:?} {hotplug:?}"
            );
        }
        // A pattern it does not follow still says ifupdown manages the machine.
        let unsupported = IfupdownConfig {
            auto: vec![IfaceEntry::Unsupported("mac/00:11:22:33:44:55/".into())],
            hotplug: Vec::new(),
        };
        assert!(unsupported.manages_links());
    }

    #[test]
    fn an_unsupported_pattern_matches_nothing() {
        let config = IfupdownConfig {
            auto: vec![IfaceEntry::Unsupported("mac/00:11:22:33:44:55/".into())],
            hotplug: Vec::new(),
        };
        assert_eq!(config.class_of(["eth0"]), None);
        assert_eq!(config.auto_names().count(), 0);
    }

    #[test]
    fn an_interface_without_state_has_not_started() {
        let mut facts = IfupdownFacts::default();
        assert_eq!(facts.progress("eth0"), Progress::NotStarted);
        facts
            .states
            .insert("eth0".into(), state(true, true, false, false));
        assert_eq!(facts.progress("eth0"), Progress::Up);
    }
}
