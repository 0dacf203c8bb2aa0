//! `--explain` on stderr: on a terminal, the view is redrawn in place on every decision
//! (decisions follow events, so nothing polls); otherwise a block is appended, stamped with
//! the elapsed time, whenever the facts in it change. At exit, the last view is printed once
//! more as a summary under a line that says how the wait ended. The pitfalls shown are the
//! engine's ([`crate::engine::PitfallScan`]).

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::time::Duration;

use crate::core::LinkOutcome;
use crate::core::goal::GoalVerdict;
use crate::core::pitfalls::Pitfall;
use crate::report::seconds;
use crate::report::view::render;
use crate::sys::boottime_now;

/// The live view and what it needs to remember between decisions.
pub struct ExplainView {
    started: Duration,
    terminal: bool,
    /// Lines currently drawn on the terminal (to erase before redrawing).
    drawn: usize,
    /// The time-free text last appended (non-terminal mode).
    last_facts: Vec<String>,
    last: Option<(GoalVerdict, Vec<Pitfall>)>,
    online_since: BTreeMap<String, Duration>,
}

impl ExplainView {
    /// Starts the view now; redraws in place when stderr is a terminal.
    pub fn new() -> ExplainView {
        ExplainView {
            started: boottime_now(),
            terminal: std::io::stderr().is_terminal(),
            drawn: 0,
            last_facts: Vec::new(),
            last: None,
            online_since: BTreeMap::new(),
        }
    }

    /// Shows the decision just made, and the pitfalls found with it.
    pub fn update(&mut self, verdict: &GoalVerdict, found: &[Pitfall]) {
        let elapsed = boottime_now().saturating_sub(self.started);
        for (_, v) in &verdict.verdicts {
            for report in &v.links {
                if report.outcome == LinkOutcome::Online {
                    self.online_since
                        .entry(report.name.clone())
                        .or_insert(elapsed);
                } else {
                    self.online_since.remove(&report.name);
                }
            }
        }
        let facts = render(verdict, found, None, &self.online_since);
        let lines = render(verdict, found, Some(elapsed), &self.online_since);
        let mut err = std::io::stderr().lock();
        if self.terminal {
            self.erase(&mut err);
            // Lines are cut to the terminal's width: a wrapped line would make the next
            // redraw erase too little.
            let width = crate::sys::stderr_columns().unwrap_or(usize::MAX).max(20) - 1;
            let _ = writeln!(err, "wait-online: waiting, {} elapsed", seconds(elapsed));
            for line in &lines {
                let cut: String = line.chars().take(width).collect();
                let _ = writeln!(err, "{cut}");
            }
            self.drawn = lines.len() + 1;
        } else if facts != self.last_facts {
            let _ = writeln!(err, "[{:>8}] wait-online: waiting", seconds(elapsed));
            for line in &lines {
                let _ = writeln!(err, "{line}");
            }
        }
        let _ = err.flush();
        self.last_facts = facts;
        self.last = Some((verdict.clone(), found.to_vec()));
    }

    /// Prints the summary: `how` the wait ended ("online", "timed out", "interrupted") and
    /// the last view.
    pub fn finish(&mut self, how: &str) {
        let elapsed = boottime_now().saturating_sub(self.started);
        let mut err = std::io::stderr().lock();
        self.erase(&mut err);
        let _ = writeln!(
            err,
            "wait-online: {how} after {}; summary:",
            seconds(elapsed)
        );
        if let Some((verdict, found)) = &self.last {
            for line in render(verdict, found, Some(elapsed), &self.online_since) {
                let _ = writeln!(err, "{line}");
            }
        }
        let _ = err.flush();
    }

    /// Removes the block drawn last (terminal mode only).
    fn erase(&mut self, out: &mut impl Write) {
        if self.terminal && self.drawn > 0 {
            // Cursor up to the first drawn line's start, then clear to the end of screen.
            let _ = write!(out, "\x1b[{}F\x1b[J", self.drawn);
            self.drawn = 0;
        }
    }
}

impl Default for ExplainView {
    fn default() -> Self {
        ExplainView::new()
    }
}
