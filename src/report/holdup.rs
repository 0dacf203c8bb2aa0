//! A record of what held a wait up: for each interface (or condition) that kept a decision
//! from being online, why and until when. After a slow boot the network is usually online by
//! the time an administrator looks; this record, logged once at exit, says what took the time.

use std::time::Duration;

use super::seconds;
use super::status::short_outcome;
use super::timesync;
use crate::core::goal::GoalVerdict;
use crate::core::reason::ReasonKind;
use crate::core::{CarrierState, LinkOutcome, LinkReport};

/// Waits shorter than this are not worth a record.
pub const SLOW_WAIT: Duration = Duration::from_secs(1);

/// One subject that held the wait up.
#[derive(Debug, Clone, PartialEq, Eq)]
struct HoldUp {
    /// The interface's name, or the condition in words (`DNS probe example.com`).
    subject: String,
    is_interface: bool,
    /// Why it holds the wait up now (or did last), and since when.
    why: String,
    since: Duration,
    /// The reason that held it up longest so far, and for how long.
    longest: (String, Duration),
    /// When it stopped holding the wait up; `None` while it still does.
    until: Option<Duration>,
}

impl HoldUp {
    /// The reason that held it up longest, counting the current one up to `now`.
    fn main_reason(&self, now: Duration) -> &str {
        let current = self.until.unwrap_or(now).saturating_sub(self.since);
        match current >= self.longest.1 {
            true => &self.why,
            false => &self.longest.0,
        }
    }

    /// The current reason ends at `at`.
    fn close(&mut self, at: Duration) {
        let lasted = at.saturating_sub(self.since);
        if lasted >= self.longest.1 {
            self.longest = (self.why.clone(), lasted);
        }
    }
}

/// The record; see the module documentation. Times are since the wait began.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HoldUps {
    entries: Vec<HoldUp>,
}

impl HoldUps {
    /// Takes note of a decision made `at` after the wait began.
    pub fn observe(&mut self, verdict: &GoalVerdict, at: Duration) {
        let mut current: Vec<(String, bool, String)> = Vec::new();
        for reason in verdict.reasons() {
            let entry = match reason.kind {
                ReasonKind::Link(report) => (report.name.clone(), true, why(report)),
                kind @ (ReasonKind::Probe { .. } | ReasonKind::Route(_)) => {
                    (kind.to_string(), false, String::new())
                }
                ReasonKind::TimeSync(problem) => (
                    timesync::SUBJECT.to_string(),
                    false,
                    problem.short().to_string(),
                ),
                // One subject per destination or target, whatever it lacked meanwhile.
                ReasonKind::RouteTo(check) => {
                    (format!("route to {}", check.target), false, check.short())
                }
                ReasonKind::Reach(check) => (check.target.to_string(), false, check.short()),
                ReasonKind::Connectivity(c) => (c.subject().to_string(), false, c.short()),
                _ => continue,
            };
            if !current.iter().any(|(subject, ..)| *subject == entry.0) {
                current.push(entry);
            }
        }
        for entry in &mut self.entries {
            if entry.until.is_none() && !current.iter().any(|(s, ..)| *s == entry.subject) {
                entry.close(at);
                entry.until = Some(at);
            }
        }
        for (subject, is_interface, why) in current {
            match self.entries.iter_mut().find(|e| e.subject == subject) {
                Some(entry) if entry.until.is_none() && entry.why == why => {}
                Some(entry) => {
                    if entry.until.is_none() {
                        entry.close(at);
                    }
                    entry.why = why;
                    entry.since = at;
                    entry.until = None;
                }
                None => self.entries.push(HoldUp {
                    subject,
                    is_interface,
                    why,
                    since: at,
                    longest: (String::new(), Duration::ZERO),
                    until: None,
                }),
            }
        }
    }

    /// The line for a wait that ended online after `elapsed`, when it was slow:
    /// `online after 41.2s; held up by eth1 (no carrier until 41.1s)`, the longest hold-ups
    /// first, each with the reason that held it up longest; with the interface held up
    /// longest, for the journal's `INTERFACE=`.
    pub fn summary(&self, elapsed: Duration) -> Option<(String, Option<&str>)> {
        if elapsed < SLOW_WAIT {
            return None;
        }
        let mut entries: Vec<(&HoldUp, Duration)> = self
            .entries
            .iter()
            .map(|e| (e, e.until.unwrap_or(elapsed)))
            .collect();
        entries.sort_by_key(|(_, until)| std::cmp::Reverse(*until));
        let mut line = format!("online after {}", seconds(elapsed));
        if !entries.is_empty() {
            let items: Vec<String> = entries
                .iter()
                .map(|(e, until)| match e.main_reason(elapsed) {
                    "" => format!("{} (until {})", e.subject, seconds(*until)),
                    why => format!("{} ({why} until {})", e.subject, seconds(*until)),
                })
                .collect();
            line.push_str(&format!("; held up by {}", items.join(", ")));
        }
        let culprit = entries
            .iter()
            .find(|(e, _)| e.is_interface)
            .map(|(e, _)| e.subject.as_str());
        Some((line, culprit))
    }
}

/// A few words on why a link held the wait up: those of `STATUS=`, with a missing carrier or
/// a link that is down said as such.
fn why(report: &LinkReport) -> String {
    match (&report.outcome, report.status.map(|s| s.carrier)) {
        (LinkOutcome::OutOfRange { .. }, Some(CarrierState::NoCarrier)) => "no carrier".to_string(),
        (LinkOutcome::OutOfRange { .. }, Some(CarrierState::Off)) => "down".to_string(),
        _ => short_outcome(report),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::KernelLink;
    use crate::core::fixtures;
    use crate::core::fixtures::{kernel_only, upstream};
    use crate::core::link::scope;

    fn link(ifindex: u32, name: &str, carrier: bool, routable: bool) -> KernelLink {
        fixtures::link(ifindex, name, carrier, routable.then_some(scope::UNIVERSE))
    }

    fn verdict(links: Vec<KernelLink>) -> GoalVerdict {
        upstream(&["eth0:routable", "eth1:routable"]).evaluate(&kernel_only(links))
    }

    #[test]
    fn a_slow_wait_names_what_held_it_up_and_until_when() {
        let mut record = HoldUps::default();
        let at = Duration::from_millis;
        record.observe(
            &verdict(vec![
                link(2, "eth0", true, false),
                link(3, "eth1", false, false),
            ]),
            at(5),
        );
        record.observe(
            &verdict(vec![
                link(2, "eth0", true, true),
                link(3, "eth1", false, false),
            ]),
            at(2300),
        );
        record.observe(
            &verdict(vec![
                link(2, "eth0", true, true),
                link(3, "eth1", true, false),
            ]),
            at(41_100),
        );
        let online = verdict(vec![
            link(2, "eth0", true, true),
            link(3, "eth1", true, true),
        ]);
        assert!(online.online);
        record.observe(&online, at(41_200));
        let (line, culprit) = record.summary(at(41_200)).unwrap();
        // eth1 had no carrier for 41.1 s, then no address for 0.1 s: the longer reason.
        assert_eq!(
            line,
            "online after 41.2s; held up by eth1 (no carrier until 41.2s), \
             eth0 (carrier, needs routable until 2.3s)"
        );
        assert_eq!(culprit, Some("eth1"));
    }

    #[test]
    fn the_clock_is_one_subject_whatever_it_lacked() {
        use crate::core::goal::Goal;
        use crate::core::timesync::{KernelNtp, TimeSyncFacts};
        use crate::core::{Requirements, Snapshot};
        let goal = Goal::Upstream(Requirements {
            time_sync: true,
            ..Requirements::default()
        });
        let clock = |timesyncd_seen, marker| {
            let mut snap = Snapshot::kernel_only();
            snap.kernel.links = [(2, link(2, "eth0", true, true))].into();
            snap.time_sync = Some(TimeSyncFacts {
                kernel: KernelNtp::Unsynchronised,
                timesyncd_seen,
                marker,
                server: None,
            });
            goal.evaluate(&snap)
        };
        let mut record = HoldUps::default();
        let at = Duration::from_millis;
        record.observe(&clock(false, false), at(5));
        record.observe(&clock(true, false), at(1_000));
        record.observe(&clock(true, true), at(7_500));
        let (line, culprit) = record.summary(at(7_500)).unwrap();
        assert_eq!(
            line,
            "online after 7.5s; held up by clock synchronisation \
             (systemd-timesyncd not synchronised until 7.5s)"
        );
        assert_eq!(culprit, None);
    }

    #[test]
    fn no_carrier_is_said_in_two_words_and_fast_waits_say_nothing() {
        let mut record = HoldUps::default();
        record.observe(
            &verdict(vec![
                link(2, "eth0", true, true),
                link(3, "eth1", false, false),
            ]),
            Duration::from_millis(1),
        );
        let (line, _) = record.summary(Duration::from_millis(1500)).unwrap();
        assert_eq!(
            line,
            "online after 1.5s; held up by eth1 (no carrier until 1.5s)"
        );
        assert_eq!(record.summary(Duration::from_millis(999)), None);
        assert_eq!(
            HoldUps::default().summary(Duration::from_secs(3)),
            Some(("online after 3.0s".to_string(), None))
        );
    }
}
