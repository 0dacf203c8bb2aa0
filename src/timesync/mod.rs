//! `--require-time-sync`'s source: whether the system clock is synchronised, followed by
//! events as systemd-time-wait-sync follows it. Its facts ([`TimeSyncFacts`]): the kernel's
//! NTP status, read again whenever the clock is set (a timerfd with `TFD_TIMER_CANCEL_ON_SET`:
//! the status itself has no event, and an NTP client sets the clock when it synchronises it),
//! and systemd-timesyncd's runtime directory and marker `synchronized` in it, followed with
//! inotify (on the directory, and on its parent for when the directory appears).
//!
//! Like systemd-time-wait-sync, a client that marks the clock synchronised without setting
//! it (an adjustment too small to count as a "set") is only seen through timesyncd's marker.
//! The kernel's answer goes through [`KernelClock`], so that tests never touch the host's
//! clock. The server timesyncd tries, named in the reason, comes from the bus ([`bus`]).

pub mod bus;

use std::io;
use std::path::{Path, PathBuf};

use crate::core::Snapshot;
use crate::core::goal::Goal;
use crate::core::timesync::{KernelNtp, TimeSyncFacts, TimesyncdServer};
use crate::dbus::SystemBus;
use crate::engine::EngineError;
use crate::engine::source::{Facts, Source, or_pending};
use crate::sys::{AsyncInotify, ClockSetTimer, WatchFlags};
use bus::{BusEvent, TimesyncdBus};

/// systemd-timesyncd's runtime directory.
pub const TIMESYNCD_DIR: &str = "/run/systemd/timesync";
/// The file timesyncd creates in [`TIMESYNCD_DIR`] once it has synchronised the clock.
const MARKER: &str = "synchronized";

/// What the directory and its parent are watched for: entries created, moved or removed (the
/// marker, the directory), and the directory's own removal.
const WATCH_MASK: WatchFlags = WatchFlags::CREATE
    .union(WatchFlags::MOVED_TO)
    .union(WatchFlags::DELETE)
    .union(WatchFlags::MOVED_FROM)
    .union(WatchFlags::DELETE_SELF);

/// The kernel's answer to "is the clock marked synchronised?".
pub trait KernelClock {
    fn synchronised(&self) -> io::Result<bool>;
}

/// The real kernel: `adjtimex()`, reading only.
pub struct Adjtimex;

impl KernelClock for Adjtimex {
    fn synchronised(&self) -> io::Result<bool> {
        crate::sys::ntp_synchronised()
    }
}

/// What woke the source up.
pub enum TimeSyncEvent {
    /// Something changed in timesyncd's directory or its parent.
    Files,
    /// The clock was set.
    ClockSet,
    /// News of timesyncd on the bus.
    Bus(BusEvent),
}

/// The source; see the module documentation.
pub struct TimeSyncSource {
    /// timesyncd's runtime directory ([`TIMESYNCD_DIR`]; a temporary one in tests).
    dir: PathBuf,
    kernel: Box<dyn KernelClock>,
    /// `None` when not even the directory's parent can be watched (no `/run/systemd`): then
    /// only the kernel's status is followed.
    inotify: Option<AsyncInotify>,
    clock_set: ClockSetTimer,
    /// timesyncd on the bus, when there is a bus to follow it on.
    bus: Option<TimesyncdBus>,
    /// The server timesyncd tries, as its owner last said.
    server: Option<TimesyncdServer>,
}

impl TimeSyncSource {
    /// Starts following `dir` and the clock, asking `kernel` for its NTP status, and
    /// timesyncd's server on `bus` when given. The watches exist before the first
    /// [`TimeSyncSource::read`], so that no change falls in between. Needs a tokio runtime.
    pub fn new(
        dir: PathBuf,
        kernel: Box<dyn KernelClock>,
        bus: Option<&SystemBus>,
    ) -> io::Result<TimeSyncSource> {
        let clock_set = ClockSetTimer::new()?;
        let inotify = AsyncInotify::new()?;
        let parent = dir.parent().unwrap_or(Path::new("/"));
        let inotify = match inotify.watch(parent, WATCH_MASK) {
            Ok(()) => Some(inotify),
            Err(err) => {
                tracing::debug!(
                    "cannot watch {} ({err}): following the kernel's NTP status only",
                    parent.display()
                );
                None
            }
        };
        Ok(TimeSyncSource {
            dir,
            kernel,
            inotify,
            clock_set,
            bus: bus.map(TimesyncdBus::start),
            server: None,
        })
    }

    /// Reads the facts, and watches timesyncd's directory when it exists (again after it was
    /// removed and created anew).
    pub fn read(&self) -> TimeSyncFacts {
        let timesyncd_seen = self.dir.is_dir();
        if timesyncd_seen && let Some(inotify) = &self.inotify {
            // It may be removed meanwhile: its parent's watch reports that.
            let _ = inotify.watch(&self.dir, WATCH_MASK);
        }
        let kernel = match self.kernel.synchronised() {
            Ok(true) => KernelNtp::Synchronised,
            Ok(false) => KernelNtp::Unsynchronised,
            Err(err) => {
                tracing::debug!("cannot read the kernel's NTP status: {err}");
                match err.raw_os_error() {
                    Some(libc::EPERM) => KernelNtp::Forbidden,
                    _ => KernelNtp::Unreadable,
                }
            }
        };
        TimeSyncFacts {
            kernel,
            timesyncd_seen,
            marker: timesyncd_seen && self.dir.join(MARKER).exists(),
            server: self.server.clone(),
        }
    }
}

impl Source for TimeSyncSource {
    type Event = TimeSyncEvent;
    const FACTS: Facts = Facts::TimeSync;

    async fn next(&mut self) -> Result<TimeSyncEvent, EngineError> {
        tokio::select! {
            result = or_pending(self.inotify.as_ref().map(|i| i.events())) => {
                result.map_err(EngineError::TimeSync)?;
                Ok(TimeSyncEvent::Files)
            }
            result = self.clock_set.clock_set() => {
                result.map_err(EngineError::TimeSync)?;
                Ok(TimeSyncEvent::ClockSet)
            }
            event = or_pending(self.bus.as_mut().map(|bus| bus.next())) => {
                Ok(TimeSyncEvent::Bus(event))
            }
        }
    }

    fn apply(&mut self, event: TimeSyncEvent, snapshot: &mut Snapshot, _: &Goal) -> bool {
        let why = match event {
            TimeSyncEvent::Files => "files",
            TimeSyncEvent::ClockSet => "clock set",
            TimeSyncEvent::Bus(event) => {
                let Some(server) = self.bus.as_mut().and_then(|bus| bus.apply(event)) else {
                    return false;
                };
                self.server = server;
                "bus"
            }
        };
        let facts = Some(self.read());
        if facts == snapshot.time_sync {
            return false;
        }
        tracing::debug!("clock synchronisation ({why}): {facts:?}");
        snapshot.time_sync = facts;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Requirements;
    use crate::core::timesync::{SyncedBy, TimeSync, TimeSyncProblem};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    /// The kernel's answer, set by the test.
    #[derive(Clone, Default)]
    struct FakeKernel(Arc<AtomicBool>);

    impl KernelClock for FakeKernel {
        fn synchronised(&self) -> io::Result<bool> {
            Ok(self.0.load(Ordering::SeqCst))
        }
    }

    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Scratch {
            let root = std::env::temp_dir().join(format!(
                "wait-online-timesync-{}-{name}",
                std::process::id()
            ));
            std::fs::create_dir_all(&root).expect("create scratch dir");
            Scratch(root)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn goal() -> Goal {
        Goal::Upstream(Requirements {
            time_sync: true,
            ..Requirements::default()
        })
    }

    /// Waits for the source's next event (bounded) and applies it; returns whether it was
    /// about the files.
    async fn step(source: &mut TimeSyncSource, snapshot: &mut Snapshot) -> bool {
        let event = tokio::time::timeout(Duration::from_secs(5), source.next())
            .await
            .expect("an event within 5 s")
            .expect("no error");
        let files = matches!(event, TimeSyncEvent::Files);
        source.apply(event, snapshot, &goal());
        files
    }

    fn decision(snapshot: &Snapshot) -> TimeSync {
        crate::core::timesync::check(snapshot)
    }

    #[tokio::test]
    async fn the_marker_appearing_makes_the_clock_synchronised() {
        let scratch = Scratch::new("marker");
        let dir = scratch.0.join("timesync");
        let kernel = FakeKernel::default();
        let mut source = TimeSyncSource::new(dir.clone(), Box::new(kernel), None).expect("source");
        let mut snapshot = Snapshot::kernel_only();
        snapshot.time_sync = Some(source.read());
        assert_eq!(
            decision(&snapshot),
            TimeSync::Unsynchronised(TimeSyncProblem::NoClientSeen)
        );
        // timesyncd starts: its directory appears (seen through the parent's watch).
        std::fs::create_dir(&dir).expect("mkdir timesync");
        assert!(step(&mut source, &mut snapshot).await);
        assert_eq!(
            decision(&snapshot),
            TimeSync::Unsynchronised(TimeSyncProblem::TimesyncdWaiting(None))
        );
        // It synchronises: the marker appears (seen through the directory's own watch).
        std::fs::write(dir.join(MARKER), "").expect("touch marker");
        while snapshot.time_sync.as_ref().is_some_and(|f| !f.marker) {
            step(&mut source, &mut snapshot).await;
        }
        assert_eq!(
            decision(&snapshot),
            TimeSync::Synchronised(SyncedBy::TimesyncdMarker)
        );
        // The directory goes away with timesyncd: not synchronised any more by the marker.
        std::fs::remove_dir_all(&dir).expect("rm timesync");
        while snapshot
            .time_sync
            .as_ref()
            .is_some_and(|f| f.timesyncd_seen)
        {
            step(&mut source, &mut snapshot).await;
        }
        assert_eq!(
            decision(&snapshot),
            TimeSync::Unsynchronised(TimeSyncProblem::NoClientSeen)
        );
    }

    #[tokio::test]
    async fn the_marker_in_a_directory_that_existed_before() {
        let scratch = Scratch::new("existing");
        let dir = scratch.0.join("timesync");
        std::fs::create_dir(&dir).expect("mkdir timesync");
        let mut source = TimeSyncSource::new(dir.clone(), Box::new(FakeKernel::default()), None)
            .expect("source");
        let mut snapshot = Snapshot::kernel_only();
        snapshot.time_sync = Some(source.read());
        std::fs::write(dir.join(MARKER), "").expect("touch marker");
        assert!(step(&mut source, &mut snapshot).await);
        assert_eq!(
            decision(&snapshot),
            TimeSync::Synchronised(SyncedBy::TimesyncdMarker)
        );
    }

    /// The clock-set path: the timerfd cannot be woken without setting the host's clock,
    /// which tests never do, so the event is applied as the engine would after it, with the
    /// kernel's answer flipped through the seam.
    #[tokio::test]
    async fn the_kernel_status_is_read_again_when_the_clock_is_set() {
        let scratch = Scratch::new("kernel");
        let kernel = FakeKernel::default();
        let mut source =
            TimeSyncSource::new(scratch.0.join("timesync"), Box::new(kernel.clone()), None)
                .expect("source");
        let mut snapshot = Snapshot::kernel_only();
        snapshot.time_sync = Some(source.read());
        assert!(!source.apply(TimeSyncEvent::ClockSet, &mut snapshot, &goal()));
        kernel.0.store(true, Ordering::SeqCst);
        assert!(source.apply(TimeSyncEvent::ClockSet, &mut snapshot, &goal()));
        assert_eq!(
            decision(&snapshot),
            TimeSync::Synchronised(SyncedBy::Kernel)
        );
    }

    /// A kernel whose NTP status a system call filter forbids reading (`ProtectClock=yes`).
    struct Filtered;

    impl KernelClock for Filtered {
        fn synchronised(&self) -> io::Result<bool> {
            Err(io::Error::from_raw_os_error(libc::EPERM))
        }
    }

    #[tokio::test]
    async fn a_forbidden_kernel_status_is_named_and_the_marker_still_counts() {
        let scratch = Scratch::new("filtered");
        let dir = scratch.0.join("timesync");
        let source = TimeSyncSource::new(dir.clone(), Box::new(Filtered), None).expect("source");
        assert_eq!(
            source.read().decide(),
            TimeSync::Unsynchronised(TimeSyncProblem::KernelForbidden)
        );
        std::fs::create_dir(&dir).expect("mkdir timesync");
        std::fs::write(dir.join(MARKER), "").expect("touch marker");
        assert_eq!(
            source.read().decide(),
            TimeSync::Synchronised(SyncedBy::TimesyncdMarker)
        );
    }

    #[tokio::test]
    async fn without_the_parent_only_the_kernel_is_followed() {
        let scratch = Scratch::new("noparent");
        let dir = scratch.0.join("absent").join("timesync");
        let source =
            TimeSyncSource::new(dir, Box::new(FakeKernel::default()), None).expect("source");
        assert!(source.inotify.is_none());
        assert_eq!(
            source.read().decide(),
            TimeSync::Unsynchronised(TimeSyncProblem::NoClientSeen)
        );
    }
}
