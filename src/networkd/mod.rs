//! The systemd-networkd adapter: which links networkd manages and how far it got, from its
//! per-link state files, kept current with inotify (no polling).

pub mod state_file;

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};

use crate::bounded_read::{self, ReadError, STATE_FILE_CAP};
use crate::core::goal::Goal;
use crate::core::{NetworkdLink, Snapshot};
use crate::engine::EngineError;
use crate::engine::source::{Facts, Source};
use crate::sys::{AsyncInotify, Inotify, InotifyEvent, ReadFlags, WatchFlags};

/// Where networkd writes one state file per link, named by ifindex.
pub const LINKS_DIR: &str = "/run/systemd/netif/links";

/// Events that mean a state file was (re)written or removed. networkd writes a temporary
/// file and renames it into place (IN_MOVED_TO).
const WATCH_MASK: WatchFlags = WatchFlags::MOVED_TO
    .union(WatchFlags::CLOSE_WRITE)
    .union(WatchFlags::DELETE)
    .union(WatchFlags::MOVED_FROM)
    .union(WatchFlags::ONLYDIR);

/// True when `dir` holds at least one link state file. networkd writes one for every link,
/// loopback included, as soon as it runs and removes them when it stops, so an empty or
/// missing directory means networkd is not managing this machine (a stale empty directory is
/// common after networkd was stopped).
pub fn is_managing(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|entry| parse_ifindex(&entry.file_name().to_string_lossy()).is_some())
    })
}

fn parse_ifindex(name: &str) -> Option<u32> {
    name.parse::<u32>().ok().filter(|&i| i > 0)
}

/// Starts watching `dir`. Call before the runtime exists, so the watch can be handed to a
/// holder process (see [`crate::sys::hold_in_child`]).
pub fn watch(dir: &Path) -> io::Result<Inotify> {
    Inotify::watch(dir, WATCH_MASK)
}

/// The state files of the links we know, kept current.
pub struct NetworkdSource {
    dir: PathBuf,
    inotify: AsyncInotify,
    /// Links whose file we have tried to read at least once.
    seen: BTreeSet<u32>,
}

impl NetworkdSource {
    /// Wraps a watch made by [`watch`]. Needs a tokio runtime.
    pub fn new(dir: PathBuf, inotify: Inotify) -> io::Result<NetworkdSource> {
        Ok(NetworkdSource {
            dir,
            inotify: inotify.into_async()?,
            seen: BTreeSet::new(),
        })
    }

    /// Reads the files of links not seen before and forgets links that are gone; returns
    /// whether any file was read or forgotten.
    fn track_links(
        &mut self,
        current: BTreeSet<u32>,
        files: &mut BTreeMap<u32, NetworkdLink>,
    ) -> bool {
        let before = (self.seen.len(), files.len());
        self.seen.retain(|i| current.contains(i));
        files.retain(|i, _| current.contains(i));
        let mut changed = before != (self.seen.len(), files.len());
        for ifindex in current {
            if self.seen.insert(ifindex) {
                self.refresh(ifindex, files);
                changed = true;
            }
        }
        changed
    }

    /// Applies changes in the directory to `files`; returns whether a known link's file was
    /// rewritten or removed (its DNS settings may have changed too, which `files` does not
    /// hold).
    fn apply_events(
        &mut self,
        events: &[InotifyEvent],
        files: &mut BTreeMap<u32, NetworkdLink>,
    ) -> bool {
        if events
            .iter()
            .any(|e| e.mask.contains(ReadFlags::QUEUE_OVERFLOW))
        {
            tracing::debug!("inotify queue overflowed, re-reading every state file");
            let known: Vec<u32> = self.seen.iter().copied().collect();
            for ifindex in known {
                self.refresh(ifindex, files);
            }
            return true;
        }
        let changed: BTreeSet<u32> = events
            .iter()
            .filter_map(|e| parse_ifindex(&e.name))
            .filter(|ifindex| self.seen.contains(ifindex))
            .collect();
        for &ifindex in &changed {
            self.refresh(ifindex, files);
        }
        !changed.is_empty()
    }

    /// Re-reads one link's file. A missing file means networkd has not processed the link
    /// (or stopped); an unreadable one keeps the last value, as upstream does. A file that is
    /// not a regular one or is larger than [`STATE_FILE_CAP`] is unreadable (and said so).
    fn refresh(&self, ifindex: u32, files: &mut BTreeMap<u32, NetworkdLink>) {
        let path = self.dir.join(ifindex.to_string());
        match bounded_read::read(&path, STATE_FILE_CAP) {
            Ok(bytes) => {
                files.insert(ifindex, state_file::parse(&String::from_utf8_lossy(&bytes)));
            }
            Err(err) if err.is_not_found() => {
                files.remove(&ifindex);
            }
            Err(err @ ReadError::Io { .. }) => {
                tracing::debug!("{err}; keeping the link's last state");
            }
            Err(err) => tracing::warn!("{err}; keeping the link's last state"),
        }
    }
}

impl Source for NetworkdSource {
    type Event = Vec<InotifyEvent>;
    const FACTS: Facts = Facts::Networkd;

    async fn next(&mut self) -> Result<Vec<InotifyEvent>, EngineError> {
        self.inotify.events().await.map_err(EngineError::Networkd)
    }

    fn apply(&mut self, events: Vec<InotifyEvent>, snapshot: &mut Snapshot, _: &Goal) -> bool {
        match snapshot.networkd.as_mut() {
            Some(files) => self.apply_events(&events, files),
            None => false,
        }
    }

    /// The kernel's links changed: the files of new links are read.
    fn others_changed(&mut self, changed: Facts, snapshot: &mut Snapshot, _: &Goal) -> bool {
        if changed != Facts::Kernel {
            return false;
        }
        let current = snapshot.kernel.links.keys().copied().collect();
        match snapshot.networkd.as_mut() {
            Some(files) => self.track_links(current, files),
            None => false,
        }
    }
}
