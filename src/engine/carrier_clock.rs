//! `--carrier-timeout`'s clock.

use std::time::Duration;

use crate::core::Snapshot;
use crate::sys::{BoottimeTimer, boottime_now, expired};

/// `--carrier-timeout`'s clock: wakes the loop when the next link without carrier reaches
/// the timeout (nothing else would: no event marks the time passing).
pub(super) struct CarrierClock {
    timeout: Option<Duration>,
    /// CLOCK_BOOTTIME at which the armed timer fires, and the timer.
    armed: Option<(Duration, BoottimeTimer)>,
}

impl CarrierClock {
    pub(super) fn new(timeout: Option<Duration>) -> CarrierClock {
        CarrierClock {
            timeout,
            armed: None,
        }
    }

    /// Arms the timer for the next link to reach the timeout, if any (after a decision).
    pub(super) fn arm(&mut self, snapshot: &Snapshot) {
        let Some(timeout) = self.timeout else {
            return;
        };
        let next = snapshot
            .no_carrier_since
            .values()
            .map(|since| *since + timeout)
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

    pub(super) async fn due(&mut self) {
        expired(self.armed.as_ref().map(|(_, timer)| timer)).await;
        self.armed = None;
    }
}
