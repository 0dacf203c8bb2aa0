//! A one-shot alarm at a CLOCK_BOOTTIME instant, for the clocks among the sources (no event
//! marks the time passing).

use std::time::Duration;

use crate::sys::{BoottimeTimer, boottime_now, expired};

/// Rings once at the instant it was last set to; never when unset.
#[derive(Default)]
pub(super) struct Alarm {
    /// CLOCK_BOOTTIME at which the armed timer fires, and the timer.
    armed: Option<(Duration, BoottimeTimer)>,
}

impl Alarm {
    /// Waits until it rings, then is unset. Cancel-safe.
    pub(super) async fn rung(&mut self) {
        expired(self.armed.as_ref().map(|(_, timer)| timer)).await;
        self.armed = None;
    }

    /// Rings at `at` (CLOCK_BOOTTIME), or never when `None`; a timer already armed for `at`
    /// is kept.
    pub(super) fn set(&mut self, at: Option<Duration>) {
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
