//! `--carrier-timeout`'s clock.

use std::time::Duration;

use super::EngineError;
use super::alarm::Alarm;
use super::source::{Facts, Source};
use crate::core::Snapshot;
use crate::core::goal::{Goal, GoalVerdict};

/// `--carrier-timeout`'s clock: wakes the loop when the next link without carrier reaches
/// the timeout (nothing else would: no event marks the time passing).
pub(super) struct CarrierClock {
    timeout: Duration,
    alarm: Alarm,
}

impl CarrierClock {
    pub(super) fn new(timeout: Duration) -> CarrierClock {
        CarrierClock {
            timeout,
            alarm: Alarm::default(),
        }
    }
}

impl Source for CarrierClock {
    /// A link may have reached the timeout.
    type Event = ();
    const FACTS: Facts = Facts::Time;

    async fn next(&mut self) -> Result<(), EngineError> {
        self.alarm.rung().await;
        Ok(())
    }

    fn apply(&mut self, (): (), _: &mut Snapshot, _: &Goal) -> bool {
        true
    }

    /// Arms the timer for the next link to reach the timeout, if any.
    fn decided(&mut self, snapshot: &Snapshot, _: &GoalVerdict) {
        let next = snapshot
            .no_carrier_since
            .values()
            .map(|since| *since + self.timeout)
            .filter(|at| *at > snapshot.now)
            .min();
        self.alarm.set(next);
    }
}
