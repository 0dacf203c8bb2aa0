//! The reasons a goal does not hold, one line each: the timeout lines and the debug log
//! (`eth0: …`, `(2) eth0: …`, `(3) no interface has …:`, `(3)   eth0: …`), and the words
//! for the conditions of Ubuntu's definition.

use std::fmt;

use crate::core::Verdict;
use crate::core::dns::ProbeState;
use crate::core::reason::{Condition, Reason, ReasonKind};

/// The condition, stated (the `--explain` heading).
pub fn statement(condition: Condition) -> &'static str {
    match condition {
        Condition::LinkLocal => "every non-optional interface has link-local addressing or better",
        Condition::Routable => "one interface has a globally routable connection",
        Condition::Dns => "domain name resolution works on a routable interface",
    }
}

/// The condition, denied, for the line that introduces its reasons; `None` for (2), which
/// has no such line (see [`Condition::is_met_by_any`]).
fn denial(condition: Condition) -> Option<&'static str> {
    match condition {
        Condition::LinkLocal => None,
        Condition::Routable => Some("no interface has a globally routable connection"),
        Condition::Dns => Some("domain name resolution does not work on a routable interface"),
    }
}

/// The reasons `verdict` is not online in words, one line each (as printed on timeout).
pub fn explain(verdict: &Verdict) -> Vec<String> {
    verdict
        .reasons(None)
        .iter()
        .map(ToString::to_string)
        .collect()
}

impl fmt::Display for ReasonKind<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReasonKind::ConditionUnmet => Ok(()),
            ReasonKind::NoLinkConsidered => f.write_str(
                "no link is considered: every link is loopback, ignored, down or not required for online",
            ),
            ReasonKind::NoLinkOnline => f.write_str("no considered link is online yet"),
            ReasonKind::Link(report) => write!(f, "{report}"),
            ReasonKind::Probe {
                name,
                state: ProbeState::Failed(failure),
            } => write!(f, "DNS probe {name} failed: {failure}"),
            ReasonKind::Probe { name, .. } => write!(f, "DNS probe {name} has not resolved yet"),
            ReasonKind::Route(problem) => write!(f, "{problem}"),
            ReasonKind::TimeSync(problem) => write!(f, "{problem}"),
            ReasonKind::RouteTo(check) => write!(f, "{check}"),
            ReasonKind::Reach(check) => write!(f, "{check}"),
            ReasonKind::Connectivity(connectivity) => write!(f, "{connectivity}"),
        }
    }
}

/// The timeout line: `eth0: …`, `(2) eth0: …`, `(3) no interface has …:`, `(3)   eth0: …`.
impl fmt::Display for Reason<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(condition) = self.condition else {
            return write!(f, "{}", self.kind);
        };
        let number = condition.number();
        match self.kind {
            ReasonKind::ConditionUnmet => {
                let heading = denial(condition).unwrap_or(statement(condition));
                write!(f, "({number}) {heading}:")
            }
            // Reasons under a heading are indented below it.
            kind if condition.is_met_by_any() => write!(f, "({number})   {kind}"),
            kind => write!(f, "({number}) {kind}"),
        }
    }
}
