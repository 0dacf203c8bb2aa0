//! ifupdown 0.8's state directory (`/run/network`) as facts per physical interface
//! ([`IfaceState`]): `ifstate` lists `IF=LOGICAL`, `ifstate.IF` is the interface's lock file
//! (ifup holds a write lock on it while it runs), `ifup-IF.pid` exists while ifup runs the
//! interface's commands. In file names ifupdown writes a `/` of the name as `.`; Linux
//! interface names have no `/`, so the names are taken as they are.

use std::collections::BTreeMap;
use std::path::Path;

use crate::bounded_read::{self, STATE_FILE_CAP};
use crate::core::ifupdown::IfaceState;

/// Where ifupdown keeps its state.
pub const STATE_DIR: &str = "run/network";
/// Entries of the state directory looked at (a real one has a few per interface).
const MAX_ENTRIES: usize = 4096;

/// The physical names `ifstate` lists: the part of each line before `=`, blanks trimmed as
/// ifupdown's `strip()` does.
pub fn listed(ifstate: &str) -> impl Iterator<Item = &str> {
    ifstate
        .lines()
        .map(|line| line.split('=').next().unwrap_or_default().trim())
        .filter(|name| !name.is_empty())
}

/// The facts per interface, from the contents of `ifstate` (empty when it is missing), the
/// names in the directory, and whether the lock file of an interface is locked.
pub fn facts<'n>(
    ifstate: &str,
    entries: impl IntoIterator<Item = &'n str>,
    locked: impl Fn(&str) -> bool,
) -> BTreeMap<String, IfaceState> {
    let mut states: BTreeMap<String, IfaceState> = BTreeMap::new();
    for name in listed(ifstate) {
        states.entry(name.to_owned()).or_default().listed = true;
    }
    for entry in entries {
        if let Some(name) = entry.strip_prefix("ifstate.").filter(|n| !n.is_empty()) {
            let state = states.entry(name.to_owned()).or_default();
            state.tried = true;
            state.locked = locked(name);
        } else if let Some(name) = entry
            .strip_prefix("ifup-")
            .and_then(|rest| rest.strip_suffix(".pid"))
            .filter(|n| !n.is_empty())
        {
            states.entry(name.to_owned()).or_default().pid_file = true;
        }
    }
    states
}

/// Reads the state directory `dir`. A missing directory is no state at all (ifupdown has
/// not run yet); a lock file that cannot be opened counts as unlocked.
///
/// The files are not read at one instant: ifup may remove its listing and release its lock
/// between our reading of `ifstate` and our query of the lock, which would read as "listed
/// and unlocked", up. So the directory is read until two readings in a row agree (ifup's
/// writes only go forward, so an agreement is a state it was in), a few times at most; a
/// change after that brings another inotify event and another reading.
pub fn read(dir: &Path) -> BTreeMap<String, IfaceState> {
    const TRIES: usize = 8;
    let mut last = read_once(dir);
    for _ in 1..TRIES {
        let again = read_once(dir);
        if again == last {
            break;
        }
        last = again;
    }
    last
}

/// One reading of the directory.
fn read_once(dir: &Path) -> BTreeMap<String, IfaceState> {
    let ifstate = match bounded_read::read_lossy(&dir.join("ifstate"), STATE_FILE_CAP) {
        Ok(text) => text,
        Err(err) if err.is_not_found() => String::new(),
        Err(err) => {
            tracing::warn!("{err}; taking no interface as listed");
            String::new()
        }
    };
    let entries: Vec<String> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .flatten()
            .take(MAX_ENTRIES)
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    facts(&ifstate, entries.iter().map(String::as_str), |name| {
        is_locked(&dir.join(format!("ifstate.{name}")))
    })
}

/// Whether a process holds the lock on `path`. Opened read-only and non-blocking, never
/// created; the close of a read-only file is no event we watch for.
fn is_locked(path: &Path) -> bool {
    use rustix::fs::{Mode, OFlags};
    let opened = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NOFOLLOW,
        Mode::empty(),
    );
    match opened {
        Ok(fd) => crate::sys::is_locked(std::os::fd::AsFd::as_fd(&fd)).unwrap_or_else(|err| {
            tracing::debug!("{}: cannot query its lock: {err}", path.display());
            false
        }),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    use IfaceState as S;

    #[test]
    fn listed_names_are_before_the_equals_sign() {
        let text = "lo=lo\n  eth0=work \neth1\n\n=x\nbr0=br0=y\n";
        assert_eq!(
            listed(text).collect::<Vec<_>>(),
            ["lo", "eth0", "eth1", "br0"]
        );
    }

    #[test]
    fn facts_join_the_listing_the_lock_files_and_the_pid_files() {
        let entries = [
            "ifstate",
            ".ifstate.lock",
            ".ifstate.tmp",
            "ifstate.lo",
            "ifstate.eth0",
            "ifstate.eth1",
            "ifstate.eth2",
            "ifup-eth0.pid",
            "ifup-eth3.pid",
            "ifstate.",
            "ifup-.pid",
            "unrelated",
        ];
        let got = facts("lo=lo\neth0=eth0\neth3=eth3\n", entries, |name| {
            name == "eth0"
        });
        let want: BTreeMap<String, IfaceState> = [
            ("lo", S::of(true, true, false, false)),
            ("eth0", S::of(true, true, true, true)),
            ("eth1", S::of(false, true, false, false)),
            ("eth2", S::of(false, true, false, false)),
            ("eth3", S::of(true, false, false, true)),
        ]
        .into_iter()
        .map(|(name, state)| (name.to_owned(), state))
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn real_files_are_read_and_a_missing_directory_is_no_state() {
        // The lock itself is another process's (ifup's): tests/it/ifupdown.rs sees it held.
        let dir = std::env::temp_dir().join(format!("wait-online-ifstate-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(dir.join("ifstate"), "eth0=eth0\n").expect("write");
        std::fs::write(dir.join("ifstate.eth0"), "eth0\n").expect("write");
        std::fs::write(dir.join("ifstate.eth1"), "\n").expect("write");
        std::fs::write(dir.join("ifup-eth1.pid"), "1").expect("write");
        let got = read(&dir);
        std::fs::remove_dir_all(&dir).ok();
        assert_eq!(got["eth0"], S::of(true, true, false, false));
        assert_eq!(got["eth1"], S::of(false, true, false, true));
        assert!(read(Path::new("/nonexistent/wait-online")).is_empty());
    }

    proptest! {
        #[test]
        fn any_listing_never_panics_and_lists_what_it_names(text in "[ -~\n\t]{0,200}") {
            let got = facts(&text, ["ifstate.a"], |_| true);
            for name in listed(&text) {
                prop_assert!(got[name].listed);
            }
            prop_assert!(got["a"].locked && got["a"].tried);
        }
    }
}
