//! The clock's decision in words (`--require-time-sync`): the timeout line, the `--explain`
//! row, `STATUS=` and the hold-up record.

use std::fmt;

use crate::core::timesync::{SyncedBy, TimeSync, TimeSyncProblem, TimesyncdServer};

/// The condition in two words, where a line names what is awaited (`STATUS=`, the hold-up
/// record).
pub const SUBJECT: &str = "clock synchronisation";

impl TimeSyncProblem {
    /// What is missing, in a few words (`STATUS=`).
    pub fn short(&self) -> &'static str {
        match self {
            TimeSyncProblem::NoClientSeen => "no NTP client seen",
            TimeSyncProblem::TimesyncdWaiting(_) => "systemd-timesyncd not synchronised",
            TimeSyncProblem::KernelForbidden => "NTP status not readable: system call filter",
            TimeSyncProblem::KernelUnreadable => "NTP status not readable",
        }
    }
}

impl fmt::Display for TimeSyncProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("system clock not synchronised: ")?;
        if let TimeSyncProblem::TimesyncdWaiting(Some(server)) = self {
            return write!(
                f,
                "systemd-timesyncd has not synchronised it yet (trying {server})"
            );
        }
        f.write_str(match self {
            TimeSyncProblem::NoClientSeen => {
                "no NTP client seen (no /run/systemd/timesync, and the kernel's clock is not marked synchronised)"
            }
            TimeSyncProblem::TimesyncdWaiting(_) => "systemd-timesyncd has not synchronised it yet",
            TimeSyncProblem::KernelForbidden => {
                "a system call filter forbids reading the kernel's NTP status (adjtimex; ProtectClock=yes), and systemd-timesyncd is not running"
            }
            TimeSyncProblem::KernelUnreadable => {
                "the kernel's NTP status cannot be read, and systemd-timesyncd is not running"
            }
        })
    }
}

/// `ntp.example.org at 192.0.2.123`, or the name or the address alone.
impl fmt::Display for TimesyncdServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.name.as_str(), self.address) {
            ("", Some(address)) => write!(f, "{address}"),
            (name, Some(address)) => write!(f, "{name} at {address}"),
            (name, None) => f.write_str(name),
        }
    }
}

/// The decision in words: what says the clock is synchronised, or why it is not.
impl fmt::Display for TimeSync {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeSync::Synchronised(by) => write!(f, "system clock synchronised ({by})"),
            TimeSync::Unsynchronised(problem) => write!(f, "{problem}"),
        }
    }
}

impl fmt::Display for SyncedBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SyncedBy::Kernel => "the kernel's NTP status",
            SyncedBy::TimesyncdMarker => "systemd-timesyncd's marker",
        })
    }
}
