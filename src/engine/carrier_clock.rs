//! `--carrier-timeout`'s clock.

use std::time::Duration;

use super::EngineError;
use super::source::{Facts, Source};
use crate::core::Snapshot;
use crate::core::goal::{Goal, GoalVerdict};
use crate::sys::{BoottimeTimer, boottime_now, expired};

/// `--carrier-timeout`'s clock: wakes the loop when the next link without carrier reaches
/// the timeout (nothing else would: no event marks the time passing).
pub(super) struct CarrierClock {
    timeout: Duration,
    /// CLOCK_BOOTTIME at which the armed timer fires, and the timer.
    armed: Option<(Duration, BoottimeTimer)>,
}

impl CarrierClock {
    pub(super) fn new(timeout: Duration) -> CarrierClock {
        CarrierClock {
            timeout,
            armed: None,
        }
    }
}

impl Source for CarrierClock {
    /// A link may have reached the timeout.
    type Event = ();
    const FACTS: Facts = Facts::Time;

    async fn next(&mut self) -> Result<(), EngineError> {
        expired(self.armed.as_ref().map(|(_, timer)| timer)).await;
        Ok(())
    }

    fn apply(&mut self, (): (), _: &mut Snapshot, _: &Goal) -> bool {
        self.armed = None;
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
        if self.armed.as_ref().map(|(at, _)| *at) == next {
            return;
        }
        self.armed = next.and_then(|at| {
            BoottimeTimer::new(at.saturating_sub(boottime_now()))
                .ok()
                .map(|timer| (at, timer))
        });
    }
}
