//! `--require-time-sync`: the system clock is synchronised, as systemd-time-wait-sync decides
//! it: the kernel's NTP status says so (an NTP client marked the clock synchronised), or
//! systemd-timesyncd's marker `/run/systemd/timesync/synchronized` exists (timesyncd touches it
//! when it has synchronised, also when its adjustment was too small to reach the kernel's
//! status). TLS clients started at boot need this: certificates are not valid in 1970. The
//! decision in words is `report/timesync.rs`.

use std::net::IpAddr;

use super::evaluate::Verdict;
use super::snapshot::Snapshot;

/// What is known about the clock's synchronisation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TimeSyncFacts {
    /// The kernel's NTP status (`adjtimex()`).
    pub kernel: KernelNtp,
    /// systemd-timesyncd's runtime directory (`/run/systemd/timesync`) exists: timesyncd
    /// runs, or ran during this boot.
    pub timesyncd_seen: bool,
    /// timesyncd's marker (`synchronized` in that directory) exists.
    pub marker: bool,
    /// The server timesyncd tries, as its owner on the bus says (`None`: not known).
    pub server: Option<TimesyncdServer>,
}

/// The NTP server systemd-timesyncd tries: its `ServerName` and `ServerAddress` properties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimesyncdServer {
    pub name: String,
    pub address: Option<IpAddr>,
}

/// The kernel's NTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KernelNtp {
    /// An NTP client marked the clock synchronised.
    Synchronised,
    Unsynchronised,
    /// A system call filter forbids reading it (`ProtectClock=yes`, `SystemCallFilter=` without
    /// `@clock`): `adjtimex()` fails with `EPERM`, which the kernel itself never answers to a
    /// read.
    Forbidden,
    /// Not read, or it failed otherwise.
    #[default]
    Unreadable,
}

/// The decision about the clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeSync {
    /// The clock is synchronised; the fact that says so.
    Synchronised(SyncedBy),
    Unsynchronised(TimeSyncProblem),
}

/// Which fact says the clock is synchronised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncedBy {
    /// The kernel's NTP status.
    Kernel,
    /// systemd-timesyncd's marker.
    TimesyncdMarker,
}

/// Why the clock does not count as synchronised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeSyncProblem {
    /// No NTP client was seen: systemd-timesyncd has no runtime directory, and no other
    /// client (chrony, ntpd) has marked the kernel's clock synchronised.
    NoClientSeen,
    /// systemd-timesyncd runs (or ran) but has not synchronised the clock yet; the server it
    /// tries, when known.
    TimesyncdWaiting(Option<TimesyncdServer>),
    /// A system call filter forbids reading the kernel's NTP status, and systemd-timesyncd
    /// has no runtime directory.
    KernelForbidden,
    /// The kernel's NTP status cannot be read, and systemd-timesyncd has no runtime
    /// directory.
    KernelUnreadable,
}

impl TimeSyncFacts {
    /// Decides whether the clock counts as synchronised: the marker wins, as in
    /// systemd-time-wait-sync, then the kernel's status.
    pub fn decide(&self) -> TimeSync {
        if self.marker {
            return TimeSync::Synchronised(SyncedBy::TimesyncdMarker);
        }
        let problem = match self.kernel {
            KernelNtp::Synchronised => return TimeSync::Synchronised(SyncedBy::Kernel),
            _ if self.timesyncd_seen => TimeSyncProblem::TimesyncdWaiting(self.server.clone()),
            KernelNtp::Unsynchronised => TimeSyncProblem::NoClientSeen,
            KernelNtp::Forbidden => TimeSyncProblem::KernelForbidden,
            KernelNtp::Unreadable => TimeSyncProblem::KernelUnreadable,
        };
        TimeSync::Unsynchronised(problem)
    }
}

impl TimeSync {
    /// The problem, when the clock is not synchronised.
    pub fn problem(&self) -> Option<&TimeSyncProblem> {
        match self {
            TimeSync::Synchronised(_) => None,
            TimeSync::Unsynchronised(problem) => Some(problem),
        }
    }
}

/// Decides `--require-time-sync` on `snapshot`. Facts never read count as a clock not known
/// to be synchronised.
pub fn check(snapshot: &Snapshot) -> TimeSync {
    snapshot.time_sync.clone().unwrap_or_default().decide()
}

/// A verdict about the clock alone, for a goal whose other verdicts are each about a
/// condition on links (Ubuntu's definition).
pub fn verdict(snapshot: &Snapshot) -> Verdict {
    let time_sync = check(snapshot);
    Verdict {
        online: time_sync.problem().is_none(),
        hopeless: false,
        no_online_link: false,
        probe_unmet: None,
        route_unmet: Vec::new(),
        time_sync: Some(time_sync),
        routes: Vec::new(),
        reach: Vec::new(),
        connectivity: None,
        links: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(kernel: KernelNtp, timesyncd_seen: bool, marker: bool) -> TimeSyncFacts {
        TimeSyncFacts {
            kernel,
            timesyncd_seen,
            marker,
            server: None,
        }
    }

    #[test]
    fn the_marker_or_the_kernel_says_synchronised() {
        use SyncedBy::*;
        use TimeSync::Synchronised;
        let table = [
            (
                facts(KernelNtp::Synchronised, false, false),
                Synchronised(Kernel),
            ),
            (
                facts(KernelNtp::Synchronised, true, false),
                Synchronised(Kernel),
            ),
            (
                facts(KernelNtp::Unsynchronised, true, true),
                Synchronised(TimesyncdMarker),
            ),
            // The marker overrides the kernel's status, as in systemd-time-wait-sync.
            (
                facts(KernelNtp::Unreadable, true, true),
                Synchronised(TimesyncdMarker),
            ),
            (
                facts(KernelNtp::Forbidden, true, true),
                Synchronised(TimesyncdMarker),
            ),
            (
                facts(KernelNtp::Synchronised, true, true),
                Synchronised(TimesyncdMarker),
            ),
        ];
        for (facts, expected) in table {
            assert_eq!(facts.decide(), expected, "{facts:?}");
        }
    }

    #[test]
    fn the_problem_names_what_is_missing() {
        use TimeSyncProblem::*;
        let table = [
            (facts(KernelNtp::Unsynchronised, false, false), NoClientSeen),
            (
                facts(KernelNtp::Unsynchronised, true, false),
                TimesyncdWaiting(None),
            ),
            (
                facts(KernelNtp::Unreadable, true, false),
                TimesyncdWaiting(None),
            ),
            (facts(KernelNtp::Unreadable, false, false), KernelUnreadable),
            (facts(KernelNtp::Forbidden, false, false), KernelForbidden),
            (
                facts(KernelNtp::Forbidden, true, false),
                TimesyncdWaiting(None),
            ),
        ];
        for (facts, expected) in table {
            assert_eq!(
                facts.decide(),
                TimeSync::Unsynchronised(expected),
                "{facts:?}"
            );
        }
        assert_eq!(
            NoClientSeen.to_string(),
            "system clock not synchronised: no NTP client seen (no /run/systemd/timesync, and the kernel's clock is not marked synchronised)"
        );
        assert_eq!(
            TimesyncdWaiting(None).to_string(),
            "system clock not synchronised: systemd-timesyncd has not synchronised it yet"
        );
    }

    #[test]
    fn the_server_timesyncd_tries_is_named() {
        let server = |name: &str, address: Option<[u8; 4]>| TimesyncdServer {
            name: name.to_string(),
            address: address.map(IpAddr::from),
        };
        let mut waiting = facts(KernelNtp::Unsynchronised, true, false);
        waiting.server = Some(server("ntp.example.org", Some([192, 0, 2, 123])));
        let TimeSync::Unsynchronised(problem) = waiting.decide() else {
            panic!("synchronised without marker or kernel status");
        };
        assert_eq!(
            problem.to_string(),
            "system clock not synchronised: systemd-timesyncd has not synchronised it yet \
             (trying ntp.example.org at 192.0.2.123)"
        );
        assert_eq!(server("", Some([192, 0, 2, 1])).to_string(), "192.0.2.1");
        assert_eq!(
            server("ntp.example.org", None).to_string(),
            "ntp.example.org"
        );
        // Without timesyncd's directory the server is not named (nothing says it runs).
        let mut gone = waiting.clone();
        gone.timesyncd_seen = false;
        assert_eq!(
            gone.decide(),
            TimeSync::Unsynchronised(TimeSyncProblem::NoClientSeen)
        );
    }

    #[test]
    fn facts_never_read_do_not_count_as_synchronised() {
        let snapshot = Snapshot::kernel_only();
        assert_eq!(
            check(&snapshot),
            TimeSync::Unsynchronised(TimeSyncProblem::KernelUnreadable)
        );
        let v = verdict(&snapshot);
        assert!(!v.online);
        let mut synced = Snapshot::kernel_only();
        synced.time_sync = Some(facts(KernelNtp::Synchronised, false, false));
        assert!(verdict(&synced).online);
    }
}
