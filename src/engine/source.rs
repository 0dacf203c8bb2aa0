//! The one shape of every source of facts. A source waits for its next event without touching
//! the facts ([`Source::next`], cancel-safe: the engine drops the waits that lose the race),
//! then applies it ([`Source::apply`], no waiting) and says whether the facts changed. When
//! another source's facts changed, each source may follow ([`Source::others_changed`]: the
//! networkd adapter reads the state files of new links, DNS asks about the links that matter
//! now). After each decision a source may act on it ([`Source::decided`]: probe gateways, arm a
//! timer).
//!
//! The engine holds the sources as [`Driven`] trait objects, so that it selects over whichever
//! are present with one `select_all` and adding a source is one line in
//! `engine/sources.rs`.

use std::future::Future;
use std::pin::Pin;

use super::EngineError;
use crate::core::Snapshot;
use crate::core::goal::{Goal, GoalVerdict};

/// Which facts of the snapshot a source keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Facts {
    /// The kernel's links, addresses, routes and neighbours.
    Kernel,
    /// systemd-networkd's per-link state files.
    Networkd,
    /// NetworkManager's devices and state.
    NetworkManager,
    /// ifupdown's state directory.
    Ifupdown,
    /// DNS configuration and the probe.
    Dns,
    /// The clock's synchronisation.
    TimeSync,
    /// `--reach`'s connection attempts.
    Reach,
    /// The HTTP probe's state.
    Connectivity,
    /// None: time passed (a timer that makes the engine decide again).
    Time,
}

/// A source of facts; see the module documentation.
pub trait Source {
    /// What woke the source up.
    type Event;

    /// The facts it keeps.
    const FACTS: Facts;

    /// Waits for the next event. Cancel-safe: when the future is dropped, nothing is lost.
    fn next(&mut self) -> impl Future<Output = Result<Self::Event, EngineError>>;

    /// Applies `event` to the facts it keeps; returns whether they changed.
    fn apply(&mut self, event: Self::Event, snapshot: &mut Snapshot, goal: &Goal) -> bool;

    /// The facts `changed` kept by another source changed: follow them. Returns whether this
    /// source's facts changed.
    fn others_changed(&mut self, _changed: Facts, _snapshot: &mut Snapshot, _goal: &Goal) -> bool {
        false
    }

    /// Whether its facts are a whole picture to decide on (false while the kernel's tables
    /// are being read again).
    fn settled(&self) -> bool {
        true
    }

    /// A decision that did not end the wait was made on `snapshot`.
    fn decided(&mut self, _snapshot: &Snapshot, _verdict: &GoalVerdict) {}
}

/// A [`Source`] with its event type erased, as the engine holds it.
pub trait Driven {
    /// Waits for the next event and keeps it for [`Driven::apply_ready`]. Cancel-safe.
    fn ready(&mut self) -> Pin<Box<dyn Future<Output = Result<(), EngineError>> + '_>>;
    /// Applies the event kept by [`Driven::ready`]; returns whether the facts changed.
    fn apply_ready(&mut self, snapshot: &mut Snapshot, goal: &Goal) -> bool;
    fn facts(&self) -> Facts;
    fn others_changed(&mut self, changed: Facts, snapshot: &mut Snapshot, goal: &Goal) -> bool;
    fn settled(&self) -> bool;
    fn decided(&mut self, snapshot: &Snapshot, verdict: &GoalVerdict);
}

/// A source and the event it yielded, not applied yet.
pub struct Slot<S: Source> {
    source: S,
    event: Option<S::Event>,
}

impl<S: Source> Slot<S> {
    pub fn new(source: S) -> Slot<S> {
        Slot {
            source,
            event: None,
        }
    }
}

impl<S: Source> Driven for Slot<S> {
    fn ready(&mut self) -> Pin<Box<dyn Future<Output = Result<(), EngineError>> + '_>> {
        Box::pin(async move {
            // Only a finished wait stores its event: a dropped one loses nothing.
            let event = self.source.next().await?;
            self.event = Some(event);
            Ok(())
        })
    }

    fn apply_ready(&mut self, snapshot: &mut Snapshot, goal: &Goal) -> bool {
        match self.event.take() {
            Some(event) => self.source.apply(event, snapshot, goal),
            None => false,
        }
    }

    fn facts(&self) -> Facts {
        S::FACTS
    }

    fn others_changed(&mut self, changed: Facts, snapshot: &mut Snapshot, goal: &Goal) -> bool {
        self.source.others_changed(changed, snapshot, goal)
    }

    fn settled(&self) -> bool {
        self.source.settled()
    }

    fn decided(&mut self, snapshot: &Snapshot, verdict: &GoalVerdict) {
        self.source.decided(snapshot, verdict);
    }
}

/// Awaits `future` when there is one, and never completes otherwise: the branch of an
/// optional exchange, stream or timer in a `select!`.
pub async fn or_pending<F: Future>(future: Option<F>) -> F::Output {
    match future {
        Some(future) => future.await,
        None => std::future::pending().await,
    }
}
