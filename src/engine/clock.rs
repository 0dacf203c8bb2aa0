//! The clocks among the sources. Some decisions change with time alone (a link without
//! carrier reaches `--carrier-timeout`, only a DNS server has been missing for `--dns-grace`):
//! no event marks the time passing, so a clock is a source that wakes the loop at the next
//! instant a decision may change. One [`Clock`] serves every such option; each option says
//! only when that instant is ([`Deadline`]).

use std::time::Duration;

use super::EngineError;
use super::source::{Facts, Source};
use crate::core::Snapshot;
use crate::core::goal::{Goal, GoalVerdict};
use crate::sys::{BoottimeTimer, boottime_now, expired};

/// When a clock rings next, from what the last decision left in the snapshot.
pub(super) trait Deadline {
    /// Notes in the snapshot what the deadline counts from, whenever facts changed (those of
    /// other sources, or time when the clock rang).
    fn note(&self, _snapshot: &mut Snapshot, _goal: &Goal) {}

    /// The next instant (CLOCK_BOOTTIME) at which a decision may change, if any.
    fn next(&self, snapshot: &Snapshot) -> Option<Duration>;
}

/// A source that rings at its deadline's next instant, after each decision that did not end
/// the wait.
pub(super) struct Clock<D> {
    deadline: D,
    alarm: Alarm,
}

impl<D: Deadline> Clock<D> {
    pub(super) fn new(deadline: D) -> Clock<D> {
        Clock {
            deadline,
            alarm: Alarm::default(),
        }
    }
}

impl<D: Deadline> Source for Clock<D> {
    /// The deadline may have come.
    type Event = ();
    const FACTS: Facts = Facts::Time;

    async fn next(&mut self) -> Result<(), EngineError> {
        self.alarm.rung().await;
        Ok(())
    }

    fn apply(&mut self, (): (), snapshot: &mut Snapshot, goal: &Goal) -> bool {
        self.deadline.note(snapshot, goal);
        true
    }

    fn others_changed(&mut self, _: Facts, snapshot: &mut Snapshot, goal: &Goal) -> bool {
        self.deadline.note(snapshot, goal);
        false
    }

    fn decided(&mut self, snapshot: &Snapshot, _: &GoalVerdict) {
        let next = self.deadline.next(snapshot);
        self.alarm.set(next.filter(|at| *at > snapshot.now));
    }
}

/// `--carrier-timeout`: the next link without carrier to reach the timeout.
pub(super) struct CarrierTimeout(pub(super) Duration);

impl Deadline for CarrierTimeout {
    fn next(&self, snapshot: &Snapshot) -> Option<Duration> {
        let timeout = self.0;
        snapshot
            .no_carrier_since
            .values()
            .map(|since| *since + timeout)
            .filter(|at| *at > snapshot.now)
            .min()
    }
}

/// `--dns-grace`: notes since when only a DNS server has been missing, none being configured
/// anywhere (the clock is the last source, so it sees what the others' facts all became);
/// rings when that has lasted for the grace.
pub(super) struct DnsGrace(pub(super) Duration);

impl Deadline for DnsGrace {
    fn note(&self, snapshot: &mut Snapshot, goal: &Goal) {
        goal.note_no_dns_server(snapshot, boottime_now());
    }

    fn next(&self, snapshot: &Snapshot) -> Option<Duration> {
        snapshot.no_dns_server_since.map(|since| since + self.0)
    }
}

/// A one-shot timer at a CLOCK_BOOTTIME instant: rings once at the instant it was last set
/// to; never when unset.
#[derive(Default)]
struct Alarm {
    /// CLOCK_BOOTTIME at which the armed timer fires, and the timer.
    armed: Option<(Duration, BoottimeTimer)>,
}

impl Alarm {
    /// Waits until it rings, then is unset. Cancel-safe.
    async fn rung(&mut self) {
        expired(self.armed.as_ref().map(|(_, timer)| timer)).await;
        self.armed = None;
    }

    /// Rings at `at` (CLOCK_BOOTTIME), or never when `None`; a timer already armed for `at`
    /// is kept.
    fn set(&mut self, at: Option<Duration>) {
        if self.armed.as_ref().map(|(at, _)| *at) == at {
            return;
        }
        self.armed = at.and_then(|at| {
            BoottimeTimer::new(at.saturating_sub(boottime_now()))
                .ok()
                .map(|timer| (at, timer))
        });
    }
}
