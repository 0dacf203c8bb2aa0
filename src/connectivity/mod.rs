//! The HTTP probe (`--http-probe`, and `--require-connectivity` where no manager can say): a
//! source whose facts are the probe's state. It asks the network only while the decision
//! needs it ([`probe_wanted`]: the probe decides, has not succeeded, and a link is online),
//! one bounded attempt at a time ([`http::attempt`]), again after a backoff that doubles up to
//! [`BACKOFF`]'s maximum while it fails. A success stands for the rest of the wait. Idle (not
//! wanted, or succeeded), it holds no timer and no socket.
//!
//! NetworkManager's `Connectivity` and networkd's captive portals are followed by their own
//! adapters ([`crate::networkmanager`], [`crate::networkd`]); the decision is
//! [`crate::core::connectivity`].

pub mod http;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::backoff::Backoff;
use crate::core::Snapshot;
use crate::core::connectivity::{
    ConnectivityRequirement, HttpProbe, HttpProbeFailure, HttpProbeState, probe_wanted,
};
use crate::core::goal::{Goal, GoalVerdict};
use crate::engine::EngineError;
use crate::engine::source::{Facts, Source, or_pending};
use crate::sys::{BoottimeTimer, expired};

/// One attempt's time limit (NetworkManager's check allows 20 s; a boot that waits wants to
/// know sooner, and the next attempt follows).
const ATTEMPT_LIMIT: Duration = Duration::from_secs(5);
/// The wait after a failed attempt: the first, and the most it doubles to.
const BACKOFF: Backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(8));

type Attempt = Pin<Box<dyn Future<Output = Result<(), HttpProbeFailure>>>>;

/// What woke the probe up.
pub enum HttpProbeEvent {
    /// An attempt ended.
    Done(Result<(), HttpProbeFailure>),
    /// The backoff after a failure is over.
    Retry,
}

/// The probe; see the module documentation.
pub struct HttpProbeSource {
    requirement: ConnectivityRequirement,
    probe: HttpProbe,
    attempt: Option<Attempt>,
    retry: Option<BoottimeTimer>,
    /// The backoff after the next failure.
    backoff: Backoff,
    /// Whether the last decision wanted the probe.
    wanted: bool,
}

impl HttpProbeSource {
    /// `None` when `requirement` has no probe.
    pub fn new(requirement: &ConnectivityRequirement) -> Option<HttpProbeSource> {
        Some(HttpProbeSource {
            requirement: requirement.clone(),
            probe: *requirement.probe.clone()?,
            attempt: None,
            retry: None,
            backoff: BACKOFF,
            wanted: false,
        })
    }

    fn start(&mut self) {
        let probe = self.probe.clone();
        tracing::debug!("HTTP probe: GET {}", probe.url);
        self.attempt = Some(Box::pin(async move {
            http::attempt(&probe, ATTEMPT_LIMIT).await
        }));
    }

    /// Starts or stops asking, as `snapshot` needs.
    fn follow(&mut self, snapshot: &Snapshot) {
        self.wanted = probe_wanted(&self.requirement, snapshot);
        match self.wanted {
            true if self.attempt.is_none() && self.retry.is_none() => self.start(),
            true => {}
            false => {
                self.attempt = None;
                self.retry = None;
            }
        }
    }
}

impl Source for HttpProbeSource {
    type Event = HttpProbeEvent;
    const FACTS: Facts = Facts::Connectivity;

    async fn next(&mut self) -> Result<HttpProbeEvent, EngineError> {
        tokio::select! {
            result = or_pending(self.attempt.as_mut()) => Ok(HttpProbeEvent::Done(result)),
            () = expired(self.retry.as_ref()) => Ok(HttpProbeEvent::Retry),
        }
    }

    fn apply(&mut self, event: HttpProbeEvent, snapshot: &mut Snapshot, _: &Goal) -> bool {
        let state = match event {
            HttpProbeEvent::Done(result) => {
                self.attempt = None;
                match result {
                    Ok(()) => HttpProbeState::Succeeded,
                    Err(failure) => {
                        tracing::debug!("HTTP probe failed: {failure:?}");
                        self.retry = BoottimeTimer::new(self.backoff.take()).ok();
                        HttpProbeState::Failed(failure)
                    }
                }
            }
            HttpProbeEvent::Retry => {
                self.retry = None;
                if self.wanted {
                    self.start();
                }
                return false;
            }
        };
        let changed = snapshot.http_probe.as_ref() != Some(&state);
        snapshot.http_probe = Some(state);
        changed
    }

    fn decided(&mut self, snapshot: &Snapshot, _: &GoalVerdict) {
        self.follow(snapshot);
    }
}
