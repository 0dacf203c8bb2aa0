//! ifupdown's state directory followed with inotify (never polled). ifup writes `ifstate` by
//! renaming a temporary file into place (IN_MOVED_TO), creates and writes `ifstate.IF`
//! (IN_CREATE, IN_MODIFY), releases its lock by closing that file (IN_CLOSE_WRITE: opened
//! for writing) and removes `ifup-IF.pid` (IN_DELETE). Every event reads the directory again
//! (a few small files). Our own reads open files read-only: their closes are not watched, so
//! reading never wakes the source. Before ifupdown's first run the directory may not exist:
//! its parent is watched until it appears.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use super::state;
use crate::core::Snapshot;
use crate::core::goal::Goal;
use crate::core::ifupdown::IfaceState;
use crate::engine::EngineError;
use crate::engine::source::{Facts, Source};
use crate::sys::{AsyncInotify, InotifyEvent, WatchFlags};

/// What ifup does to the files of the state directory.
const STATE_MASK: WatchFlags = WatchFlags::MOVED_TO
    .union(WatchFlags::CREATE)
    .union(WatchFlags::MODIFY)
    .union(WatchFlags::CLOSE_WRITE)
    .union(WatchFlags::DELETE)
    .union(WatchFlags::ONLYDIR);
/// The state directory appearing in its parent.
const PARENT_MASK: WatchFlags = WatchFlags::CREATE
    .union(WatchFlags::MOVED_TO)
    .union(WatchFlags::ONLYDIR);

/// ifupdown's state, kept current.
pub struct IfupdownSource {
    dir: PathBuf,
    inotify: AsyncInotify,
    /// The directory itself is watched (else only its parent, until it appears).
    watching: bool,
}

impl IfupdownSource {
    /// Follows the state directory `dir` (`/run/network`, or a test's). Needs a tokio
    /// runtime.
    pub fn new(dir: PathBuf) -> io::Result<IfupdownSource> {
        let inotify = AsyncInotify::new()?;
        let parent = dir.parent().unwrap_or(Path::new("/"));
        inotify.watch(parent, PARENT_MASK)?;
        let mut source = IfupdownSource {
            dir,
            inotify,
            watching: false,
        };
        source.watch_dir()?;
        Ok(source)
    }

    /// Watches the directory when it exists; an error other than its absence is one.
    fn watch_dir(&mut self) -> io::Result<()> {
        if self.watching {
            return Ok(());
        }
        match self.inotify.watch(&self.dir, STATE_MASK) {
            Ok(()) => {
                self.watching = true;
                Ok(())
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(err) => Err(err),
        }
    }

    /// The state as it is now (after the directory watch, so nothing is missed).
    pub fn read(&self) -> BTreeMap<String, IfaceState> {
        state::read(&self.dir)
    }
}

impl Source for IfupdownSource {
    type Event = Vec<InotifyEvent>;
    const FACTS: Facts = Facts::Ifupdown;

    async fn next(&mut self) -> Result<Vec<InotifyEvent>, EngineError> {
        self.inotify.events().await.map_err(EngineError::Ifupdown)
    }

    fn apply(&mut self, _: Vec<InotifyEvent>, snapshot: &mut Snapshot, _: &Goal) -> bool {
        if let Err(err) = self.watch_dir() {
            tracing::warn!("cannot watch {}: {err}", self.dir.display());
        }
        let Some(facts) = snapshot.ifupdown.as_mut() else {
            return false;
        };
        let states = self.read();
        let changed = facts.states != states;
        facts.states = states;
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Requirements;
    use crate::core::ifupdown::{IfupdownFacts, Progress};

    /// Applies events until `done` holds of the facts (a liveness bound, not a timing).
    async fn until(
        source: &mut IfupdownSource,
        snapshot: &mut Snapshot,
        done: impl Fn(&IfupdownFacts) -> bool,
    ) {
        let goal = Goal::Upstream(Requirements::default());
        let wait = async {
            while !done(snapshot.ifupdown.as_ref().expect("read")) {
                let events = source.next().await.expect("events");
                source.apply(events, snapshot, &goal);
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(30), wait)
            .await
            .expect("the state was followed");
    }

    #[tokio::test]
    async fn follows_the_directory_from_before_it_exists_to_ifups_end() {
        let root =
            std::env::temp_dir().join(format!("wait-online-ifud-src-{}", std::process::id()));
        std::fs::create_dir_all(&root).expect("root");
        let dir = root.join("network");
        let mut source = IfupdownSource::new(dir.clone()).expect("source");
        let mut snapshot = Snapshot::kernel_only();
        snapshot.ifupdown = Some(IfupdownFacts::default());
        // ifup's order: the directory, the lock file, the listing, the pid file.
        std::fs::create_dir(&dir).expect("mkdir");
        std::fs::write(dir.join("ifstate.eth0"), "eth0\n").expect("lock file");
        std::fs::write(dir.join("ifstate"), "eth0=eth0\n").expect("listing");
        std::fs::write(dir.join("ifup-eth0.pid"), "1").expect("pid");
        // No lock holder here: listed with a pid file left reads as an ifup that died.
        until(&mut source, &mut snapshot, |f| {
            f.progress("eth0") == Progress::Interrupted
        })
        .await;
        std::fs::remove_file(dir.join("ifup-eth0.pid")).expect("unlink");
        until(&mut source, &mut snapshot, |f| {
            f.progress("eth0") == Progress::Up
        })
        .await;
        std::fs::write(dir.join("ifstate.tmp"), "").expect("tmp");
        std::fs::rename(dir.join("ifstate.tmp"), dir.join("ifstate")).expect("rename");
        until(&mut source, &mut snapshot, |f| {
            f.progress("eth0") == Progress::Failed
        })
        .await;
        std::fs::remove_dir_all(&root).ok();
    }
}
