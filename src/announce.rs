//! What the wait tells the outside world while it runs: `READY=1`, `STATUS=` and `WATCHDOG=1`
//! to the service manager, like upstream, a debug record of each reason when the reasons
//! change, and, when a wait that ends online was slow, one line that says what held it up.
//! Rendered from the typed reasons of each decision.

use std::io;
use std::time::Duration;

use crate::core::goal::GoalVerdict;
use crate::notify::{Notifier, notify};
use crate::report::holdup::HoldUps;
use crate::report::status::waiting_for;
use crate::sys::{BoottimeTimer, boottime_now, expired};

/// Announces decisions; see the module documentation.
pub struct Announcer<'a> {
    notifier: Option<&'a Notifier>,
    watchdog: Option<BoottimeTimer>,
    ready: bool,
    status: String,
    /// CLOCK_BOOTTIME when the wait began.
    started: Duration,
    held_up: HoldUps,
}

impl<'a> Announcer<'a> {
    /// Starts the watchdog pings when the service manager asked for them. Needs the runtime.
    pub fn new(notifier: Option<&'a Notifier>) -> io::Result<Announcer<'a>> {
        let watchdog = notifier
            .and_then(Notifier::watchdog_interval)
            .map(BoottimeTimer::periodic)
            .transpose()?;
        Ok(Announcer {
            notifier,
            watchdog,
            ready: false,
            status: String::new(),
            started: boottime_now(),
            held_up: HoldUps::default(),
        })
    }

    /// Completes when the next watchdog ping is due (never without a watchdog).
    pub async fn watchdog_due(&self) {
        expired(self.watchdog.as_ref()).await;
    }

    pub fn ping_watchdog(&self) {
        notify(self.notifier, "WATCHDOG=1");
    }

    /// A decision said "not yet": `READY=1` the first time (as upstream, only once the first
    /// decision was made), `STATUS=` whenever what is awaited changes, and the reasons at
    /// debug level when they differ from the `previous` decision's.
    pub fn waiting(&mut self, verdict: &GoalVerdict, previous: Option<&GoalVerdict>) {
        self.held_up.observe(verdict, self.elapsed());
        log_given_up(verdict, previous);
        if self.notifier.is_some() {
            let status = waiting_for(verdict);
            if !self.ready {
                notify(self.notifier, &format!("READY=1\nSTATUS={status}"));
                self.ready = true;
            } else if status != self.status {
                notify(self.notifier, &format!("STATUS={status}"));
            }
            self.status = status;
        }
        if tracing::enabled!(tracing::Level::DEBUG)
            && previous.is_none_or(|p| p.reasons() != verdict.reasons())
        {
            crate::logging::reasons(verdict, false);
        }
    }
}

impl Announcer<'_> {
    fn elapsed(&self) -> Duration {
        boottime_now().saturating_sub(self.started)
    }

    /// The requirements hold: when that took a second or more, one line at info level (on
    /// stderr, so in the unit's journal, with `INTERFACE=` of the interface held up longest)
    /// says how long and what held the wait up until when.
    pub fn online(&mut self, verdict: &GoalVerdict, previous: Option<&GoalVerdict>) {
        log_given_up(verdict, previous);
        let elapsed = self.elapsed();
        self.held_up.observe(verdict, elapsed);
        if let Some((line, culprit)) = self.held_up.summary(elapsed) {
            let interface = culprit.map(tracing::field::display);
            tracing::info!(interface, "{line}");
        }
    }
}

/// `--carrier-timeout`: names each link given up since the `previous` decision (info level,
/// with `INTERFACE=`).
fn log_given_up(verdict: &GoalVerdict, previous: Option<&GoalVerdict>) {
    let given_up = |v: &GoalVerdict| -> Vec<String> {
        v.verdicts
            .iter()
            .flat_map(|(_, v)| v.links.iter())
            .filter(|r| r.outcome.is_given_up())
            .map(|r| r.name.clone())
            .collect()
    };
    let before = previous.map(given_up).unwrap_or_default();
    let mut named: Vec<&str> = Vec::new();
    for report in verdict.verdicts.iter().flat_map(|(_, v)| v.links.iter()) {
        if report.outcome.is_given_up()
            && !before.contains(&report.name)
            && !named.contains(&report.name.as_str())
        {
            tracing::info!(interface = %report.name, "{report}");
            named.push(&report.name);
        }
    }
}

/// The last `STATUS=`, at exit: upstream's words for success (also after a signal) and for
/// failure.
pub fn finished(notifier: Option<&Notifier>, success: bool) {
    let status = match success {
        true => "STATUS=All interfaces configured...",
        false => "STATUS=Failed to wait for network connectivity...",
    };
    notify(notifier, status);
}

/// How far past `--timeout` the service manager's start timeout is pushed: the wait ends by
/// itself at its deadline, and the unit's start timeout stays only a backstop.
const START_TIMEOUT_MARGIN: Duration = Duration::from_secs(30);

/// With no timeout (wait forever): ten years, as `EXTEND_TIMEOUT_USEC=infinity` does not
/// exist (systemd ignores an extension that reaches `USEC_INFINITY`).
const FOREVER: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// `EXTEND_TIMEOUT_USEC=`, sent when the timeout came from a credential or the kernel command
/// line: a start timeout of the unit (the shipped units' backstop,
/// `TimeoutStartSec=150`, with `NotifyAccess=main`) must not end a wait that a credential or
/// the kernel command line made longer than the unit's author expected. The service manager
/// only ever lengthens the start timeout for it, never shortens it.
pub fn extend_start_timeout(notifier: Option<&Notifier>, timeout: Option<Duration>) {
    notify(notifier, &extend_timeout_message(timeout));
}

fn extend_timeout_message(timeout: Option<Duration>) -> String {
    let extension = timeout.map_or(FOREVER, |timeout| timeout + START_TIMEOUT_MARGIN);
    format!("EXTEND_TIMEOUT_USEC={}", extension.as_micros())
}

#[cfg(test)]
mod extend_tests {
    use super::*;

    #[test]
    fn the_start_timeout_is_pushed_past_the_deadline() {
        assert_eq!(
            extend_timeout_message(Some(Duration::from_secs(300))),
            "EXTEND_TIMEOUT_USEC=330000000"
        );
        assert_eq!(
            extend_timeout_message(None),
            "EXTEND_TIMEOUT_USEC=315360000000000"
        );
    }
}
