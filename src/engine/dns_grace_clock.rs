//! `--dns-grace`'s clock.

use std::time::Duration;

use super::EngineError;
use super::alarm::Alarm;
use super::source::{Facts, Source};
use crate::core::Snapshot;
use crate::core::goal::{Goal, GoalVerdict};
use crate::sys::boottime_now;

/// `--dns-grace`'s clock: notes since when only a DNS server has been missing, none being
/// configured anywhere, whenever another source's facts change (it is the last source, so
/// it sees what they all became), and wakes the loop when that has lasted for the grace.
pub(super) struct DnsGraceClock {
    grace: Duration,
    alarm: Alarm,
}

impl DnsGraceClock {
    pub(super) fn new(grace: Duration) -> DnsGraceClock {
        DnsGraceClock {
            grace,
            alarm: Alarm::default(),
        }
    }
}

impl Source for DnsGraceClock {
    /// The grace may be over.
    type Event = ();
    const FACTS: Facts = Facts::Time;

    async fn next(&mut self) -> Result<(), EngineError> {
        self.alarm.rung().await;
        Ok(())
    }

    fn apply(&mut self, (): (), snapshot: &mut Snapshot, goal: &Goal) -> bool {
        goal.note_no_dns_server(snapshot, boottime_now());
        true
    }

    fn others_changed(&mut self, _: Facts, snapshot: &mut Snapshot, goal: &Goal) -> bool {
        goal.note_no_dns_server(snapshot, boottime_now());
        false
    }

    /// Rings at the end of the grace, while only a DNS server is missing.
    fn decided(&mut self, snapshot: &Snapshot, _: &GoalVerdict) {
        let end = snapshot.no_dns_server_since.map(|since| since + self.grace);
        self.alarm.set(end.filter(|at| *at > snapshot.now));
    }
}
