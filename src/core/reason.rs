//! Why the goal does not hold, as data: each reason names its subject (a link, the DNS probe,
//! the route requirement, or the decision as a whole), the condition of Ubuntu's definition it
//! belongs to, and its kind. Every output — the timeout lines, `--explain`, `--json`, `STATUS=`
//! and the journal's `INTERFACE=` field — renders from these values ([`crate::report`]);
//! nothing parses prose back.

use super::connectivity::Connectivity;
use super::default_route::RouteProblem;
use super::dns::ProbeState;
use super::evaluate::{LinkReport, Verdict};
use super::reach::ReachCheck;
use super::route_to::RouteCheck;
use super::timesync::TimeSyncProblem;

/// A condition of Ubuntu's definition of online that a verdict decides. Condition (1)
/// (optional interfaces are never waited for) holds by construction and has no verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Condition {
    /// (2) every non-optional interface has link-local addressing or better.
    LinkLocal,
    /// (3) at least one interface has a globally routable connection.
    Routable,
    /// (4) domain name resolution works on a routable interface.
    Dns,
}

impl Condition {
    /// Its number in Ubuntu's definition.
    pub fn number(self) -> u8 {
        match self {
            Condition::LinkLocal => 2,
            Condition::Routable => 3,
            Condition::Dns => 4,
        }
    }

    /// Whether any one interface can meet it, (3) and (4): its unmet reasons then come under
    /// a reason for the condition as a whole ([`ReasonKind::ConditionUnmet`]). (2) needs every
    /// interface, and each of its reasons stands alone.
    pub fn is_met_by_any(self) -> bool {
        !matches!(self, Condition::LinkLocal)
    }
}

/// What a reason is about, and what is wrong with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReasonKind<'a> {
    /// The whole condition is unmet; the reasons under it follow.
    ConditionUnmet,
    /// Without `-i`, every link is loopback, ignored, down or not required for online.
    NoLinkConsidered,
    /// Without `-i` and `--any`, no considered link is online yet (upstream issue #27822).
    NoLinkOnline,
    /// A link that keeps the verdict from being online.
    Link(&'a LinkReport),
    /// `--dns-probe` has not resolved the name.
    Probe {
        name: &'a str,
        state: &'a ProbeState,
    },
    /// `--require-default-route`/`--require-gateway` does not hold.
    Route(&'a RouteProblem),
    /// `--require-time-sync`: the system clock is not synchronised.
    TimeSync(&'a TimeSyncProblem),
    /// `--require-route`: the kernel's route to a destination does not go through an online
    /// link (the check holds its problem).
    RouteTo(&'a RouteCheck),
    /// `--reach`: no TCP connection to a target has succeeded (the check holds its problem).
    Reach(&'a ReachCheck),
    /// `--require-connectivity`, `--http-probe`: the Internet does not count as working.
    Connectivity(&'a Connectivity),
}

/// One reason the goal does not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reason<'a> {
    /// The condition of Ubuntu's definition the reason belongs to (`None` under upstream's
    /// semantics).
    pub condition: Option<Condition>,
    pub kind: ReasonKind<'a>,
}

impl<'a> Reason<'a> {
    /// The link the reason is about, if it is about one.
    pub fn link(&self) -> Option<&'a LinkReport> {
        match self.kind {
            ReasonKind::Link(report) => Some(report),
            _ => None,
        }
    }

    /// Whether the reason says what is awaited (not a heading or a summary of others).
    pub fn is_awaited(&self) -> bool {
        matches!(
            self.kind,
            ReasonKind::Link(_)
                | ReasonKind::Probe { .. }
                | ReasonKind::Route(_)
                | ReasonKind::TimeSync(_)
                | ReasonKind::RouteTo(_)
                | ReasonKind::Reach(_)
                | ReasonKind::Connectivity(_)
        )
    }
}

impl Verdict {
    /// The reasons this verdict is not online (none when it is): the blocking links, then the
    /// unmet conditions that are about no single link; without `-i`, a summary first when no
    /// considered link is online.
    pub fn reasons(&self, condition: Option<Condition>) -> Vec<Reason<'_>> {
        if self.online {
            return Vec::new();
        }
        let reason = |kind| Reason { condition, kind };
        let mut reasons: Vec<Reason<'_>> = self
            .blocking()
            .map(|report| reason(ReasonKind::Link(report)))
            .collect();
        reasons.extend(self.unmet_conditions().map(reason));
        if self.no_online_link && self.probe_unmet.is_none() {
            let summary = match reasons.is_empty() {
                true => ReasonKind::NoLinkConsidered,
                false => ReasonKind::NoLinkOnline,
            };
            reasons.insert(0, reason(summary));
        }
        reasons
    }

    /// The unmet conditions that are not about one link: the DNS probe, the route
    /// requirements, the clock and the targets to reach.
    pub fn unmet_conditions(&self) -> impl Iterator<Item = ReasonKind<'_>> {
        let probe = self
            .probe_unmet
            .as_ref()
            .map(|(name, state)| ReasonKind::Probe { name, state });
        let clock = self.time_sync.as_ref().and_then(|t| t.problem());
        probe
            .into_iter()
            .chain(self.route_unmet.iter().map(ReasonKind::Route))
            .chain(clock.map(ReasonKind::TimeSync))
            .chain(
                self.routes
                    .iter()
                    .filter(|c| c.problem().is_some())
                    .map(ReasonKind::RouteTo),
            )
            .chain(
                self.reach
                    .iter()
                    .filter(|c| c.problem().is_some())
                    .map(ReasonKind::Reach),
            )
            .chain(
                self.connectivity
                    .as_ref()
                    .filter(|c| c.problem().is_some())
                    .map(ReasonKind::Connectivity),
            )
    }
}
