//! How a wait ended, and what each ending means outside the engine: its words in
//! `--explain`'s summary and in `--json`, the error it logs, and the exit status.

use std::process::ExitCode;
use std::time::Duration;

use crate::core::goal::GoalVerdict;

/// Upstream's only failure status.
pub const FAILURE: u8 = 1;

/// How the wait ended.
#[derive(Debug)]
pub enum Outcome {
    /// The requirements hold; the verdict that said so.
    Online(GoalVerdict),
    /// The deadline passed; the verdict at that moment says why.
    Timeout(GoalVerdict),
    /// SIGTERM or SIGINT arrived (with the last verdict, if one was made).
    Interrupted(Option<GoalVerdict>),
    /// `--carrier-timeout`: no link is left that could make the requirements hold.
    GaveUp(GoalVerdict),
    /// `--dns-grace`: every other condition has held for the grace (kept here for the
    /// error line), and no DNS server is configured anywhere.
    NoDnsServer(GoalVerdict, Duration),
}

impl Outcome {
    /// How `--explain`'s summary says the wait ended.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Online(_) => "online",
            Outcome::Timeout(_) => "timed out",
            Outcome::Interrupted(_) => "interrupted",
            Outcome::GaveUp(_) => "gave up (--carrier-timeout)",
            Outcome::NoDnsServer(..) => "gave up (--dns-grace)",
        }
    }

    /// The `verdict` field of `--json`.
    pub fn json_verdict(&self) -> &'static str {
        match self {
            Outcome::Online(_) => "online",
            Outcome::Timeout(_) => "timeout",
            Outcome::Interrupted(_) => "interrupted",
            Outcome::GaveUp(_) => "no-carrier",
            Outcome::NoDnsServer(..) => "no-dns-server",
        }
    }

    /// The last verdict made, if any.
    pub fn verdict(&self) -> Option<&GoalVerdict> {
        match self {
            Outcome::Online(verdict)
            | Outcome::Timeout(verdict)
            | Outcome::GaveUp(verdict)
            | Outcome::NoDnsServer(verdict, _) => Some(verdict),
            Outcome::Interrupted(verdict) => verdict.as_ref(),
        }
    }

    /// Whether the wait succeeded: online, or stopped by the service manager (upstream exits
    /// 0 then too).
    pub fn succeeded(&self) -> bool {
        matches!(self, Outcome::Online(_) | Outcome::Interrupted(_))
    }

    /// A failed wait's error line (upstream's words for the timeout, which users grep
    /// journals for) and the verdict whose reasons follow it.
    pub fn failure(&self) -> Option<(String, &GoalVerdict)> {
        match self {
            Outcome::Timeout(verdict) => Some((
                "Timeout occurred while waiting for network connectivity.".to_string(),
                verdict,
            )),
            Outcome::GaveUp(verdict) => Some((
                "Gave up waiting for network connectivity: no interface that could come online has carrier (--carrier-timeout).".to_string(),
                verdict,
            )),
            Outcome::NoDnsServer(verdict, grace) => Some((
                format!(
                    "Gave up waiting for network connectivity: no DNS server is configured on any link nor globally, and nothing else has been missing for {} (--dns-grace).",
                    crate::report::seconds(*grace)
                ),
                verdict,
            )),
            Outcome::Online(_) | Outcome::Interrupted(_) => None,
        }
    }

    /// The exit status: 0 on success, upstream's 1 otherwise.
    pub fn exit_code(&self) -> ExitCode {
        match self.succeeded() {
            true => ExitCode::SUCCESS,
            false => ExitCode::from(FAILURE),
        }
    }
}
