//! Pitfall discovery, the step the engine runs after each decision when `--explain` or
//! `--json` asks for it: the core's detection ([`crate::core::pitfalls::find`]) over the
//! snapshot, the verdict and what only the running system can tell ([`HostReader`]). Both
//! outputs read its result, so `--json` needs no view of its own.

use super::host_facts::HostReader;
use crate::core::Snapshot;
use crate::core::goal::GoalVerdict;
use crate::core::pitfalls::{self, Pitfall};

/// The pitfalls found at the last decision, and what the search remembers between decisions.
#[derive(Debug, Default)]
pub struct PitfallScan {
    host: HostReader,
    found: Vec<Pitfall>,
}

impl PitfallScan {
    pub fn new() -> PitfallScan {
        PitfallScan::default()
    }

    /// Looks for pitfalls after the decision `verdict` on `snapshot`.
    pub(super) fn scan(&mut self, snapshot: &Snapshot, verdict: &GoalVerdict) {
        self.host.observe(snapshot);
        self.found = pitfalls::find(snapshot, verdict, &self.host);
    }

    /// The pitfalls found at the last decision.
    pub fn found(&self) -> &[Pitfall] {
        &self.found
    }
}
