//! `--json`: one JSON document on stdout at exit, describing the verdict and every interface
//! that was judged. The field names are an interface (documented in wait-online(8)); they
//! are mapped here from the core's types so that internal renames never change them.

use serde::Serialize;

use super::outcome::OutcomeWords;
use crate::core::connectivity::Connectivity;
use crate::core::goal::GoalVerdict;
use crate::core::ifupdown::Progress;
use crate::core::pitfalls::Pitfall;
use crate::core::reason::Condition;
use crate::core::timesync::TimeSync;
use crate::core::{LinkOutcome, LinkReport, Verdict};

/// The whole document.
#[derive(Debug, Serialize)]
pub struct Report {
    /// `online`, `timeout`, `no-carrier` (`--carrier-timeout` gave up), `no-dns-server`
    /// (`--dns-grace` gave up) or `interrupted`.
    pub verdict: &'static str,
    /// Milliseconds from start to exit.
    pub elapsed_ms: u64,
    /// `upstream` or `ubuntu`.
    pub definition: &'static str,
    /// `networkd`, `networkmanager`, `auto` (per interface: see each one's `manager`) or
    /// `none`.
    pub manager: &'static str,
    pub interfaces: Vec<InterfaceReport>,
    /// The conditions about no interface that were asked for (`--require-time-sync`,
    /// `--require-route`, `--reach`, `--require-connectivity`, `--http-probe`);
    /// left out when none was, so that upstream's options give the same document.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<ConditionReport>,
    /// The reasons in words, as printed on timeout (empty when online).
    pub reasons: Vec<String>,
    /// The "online, but not really" pitfalls found at the last decision.
    pub pitfalls: Vec<PitfallReport>,
}

/// One condition about no interface, as decided last.
#[derive(Debug, Serialize)]
pub struct ConditionReport {
    /// `time-sync`, `route` (`--require-route`), `reach` (`--reach`), `connectivity` or
    /// `http-probe`.
    pub kind: &'static str,
    /// Whether it holds.
    pub met: bool,
    /// What says it holds, or why it does not, in words.
    pub reason: String,
}

impl From<&TimeSync> for ConditionReport {
    fn from(time_sync: &TimeSync) -> ConditionReport {
        ConditionReport {
            kind: "time-sync",
            met: time_sync.problem().is_none(),
            reason: time_sync.to_string(),
        }
    }
}

/// `--require-route`'s and `--reach`'s conditions of one verdict, in command-line order.
fn route_reach_conditions(verdict: &Verdict) -> impl Iterator<Item = ConditionReport> + '_ {
    let routes = verdict.routes.iter().map(|check| ConditionReport {
        kind: "route",
        met: check.problem().is_none(),
        reason: check.to_string(),
    });
    let reach = verdict.reach.iter().map(|check| ConditionReport {
        kind: "reach",
        met: check.problem().is_none(),
        reason: check.to_string(),
    });
    routes.chain(reach)
}

impl From<&Connectivity> for ConditionReport {
    fn from(connectivity: &Connectivity) -> ConditionReport {
        ConditionReport {
            kind: connectivity.kind(),
            met: connectivity.problem().is_none(),
            reason: connectivity.to_string(),
        }
    }
}

/// One pitfall found.
#[derive(Debug, Serialize)]
pub struct PitfallReport {
    /// `link-local-only`, `no-default-route`, `default-route-elsewhere`, `strict-rp-filter`,
    /// `gateway-unanswered`, `forwarding-off`, `tied-default-routes`, `dad-failed`,
    /// `still-tentative`, `no-dns-server`, `two-waiters`, `manager-manages-nothing`,
    /// `container-host-link` or `container-tentative-ipv6`.
    pub kind: &'static str,
    /// The interface it is about; `null` for those about the whole machine.
    pub interface: Option<String>,
    /// The pitfall in words, as `--explain` prints it.
    pub detail: String,
}

impl From<&Pitfall> for PitfallReport {
    fn from(pitfall: &Pitfall) -> PitfallReport {
        PitfallReport {
            kind: pitfall.kind(),
            interface: Some(pitfall.interface())
                .filter(|name| !name.is_empty())
                .map(str::to_owned),
            detail: pitfall.to_string(),
        }
    }
}

/// One judged interface (per condition, with `--online-definition=ubuntu`).
#[derive(Debug, Serialize)]
pub struct InterfaceReport {
    pub name: String,
    pub ifindex: Option<u32>,
    /// Ubuntu condition (2, 3 or 4) this entry belongs to; `null` otherwise.
    pub condition: Option<u8>,
    pub operational_state: Option<&'static str>,
    pub ipv4_address_state: Option<&'static str>,
    pub ipv6_address_state: Option<&'static str>,
    /// Required operational state range, `MIN:MAX`.
    pub required: Option<String>,
    /// Whose rules judged it: `networkd`, `networkmanager` or `none` (kernel facts); `null`
    /// when it does not exist.
    pub manager: Option<&'static str>,
    /// `online`, `absent`, `absent-allowed`, `ignored`, `not-processed`, `configuring`,
    /// `unmanaged`, `disconnected`, `no-carrier`, `out-of-range`, `missing-address` or `dns`.
    pub outcome: &'static str,
    /// The outcome in words.
    pub reason: String,
    /// True when this interface keeps the verdict from being online.
    pub blocking: bool,
}

impl Report {
    /// Builds the document from the final verdict (`None` when interrupted before deciding)
    /// and the pitfalls found with it.
    pub fn new(
        verdict: &'static str,
        elapsed_ms: u64,
        definition: &'static str,
        manager: &'static str,
        goal: Option<&GoalVerdict>,
        pitfalls: &[Pitfall],
    ) -> Report {
        let interfaces = goal
            .map(|g| {
                g.verdicts
                    .iter()
                    .flat_map(|(condition, v)| {
                        v.links
                            .iter()
                            .map(move |l| interface(condition.map(Condition::number), l))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let verdicts = goal.iter().flat_map(|g| g.verdicts.iter());
        let conditions = verdicts
            .clone()
            .filter_map(|(_, v)| v.time_sync.as_ref())
            .map(ConditionReport::from)
            .chain(
                verdicts
                    .clone()
                    .flat_map(|(_, v)| route_reach_conditions(v)),
            )
            .chain(
                verdicts
                    .filter_map(|(_, v)| v.connectivity.as_ref())
                    .map(ConditionReport::from),
            )
            .collect();
        Report {
            verdict,
            elapsed_ms,
            definition,
            manager,
            interfaces,
            conditions,
            reasons: goal
                .map(|g| g.reasons().iter().map(ToString::to_string).collect())
                .unwrap_or_default(),
            pitfalls: pitfalls.iter().map(PitfallReport::from).collect(),
        }
    }
}

fn interface(condition: Option<u8>, link: &LinkReport) -> InterfaceReport {
    let reason = OutcomeWords(link).to_string();
    InterfaceReport {
        name: link.name.clone(),
        ifindex: link.ifindex,
        condition,
        operational_state: link.status.map(|s| s.oper.as_str()),
        ipv4_address_state: link.status.map(|s| s.ipv4.as_str()),
        ipv6_address_state: link.status.map(|s| s.ipv6.as_str()),
        required: link.required.map(|r| format!("{}:{}", r.min, r.max)),
        manager: link.manager.map(|m| m.as_str()),
        outcome: match link.outcome {
            LinkOutcome::Online => "online",
            LinkOutcome::Absent => "absent",
            LinkOutcome::AbsentAllowed => "absent-allowed",
            LinkOutcome::Ignored(_) => "ignored",
            LinkOutcome::NotProcessed { .. } => "not-processed",
            LinkOutcome::Configuring(_) => "configuring",
            LinkOutcome::Unmanaged => "unmanaged",
            LinkOutcome::OutOfRange { .. } => "out-of-range",
            LinkOutcome::MissingAddress { .. } => "missing-address",
            LinkOutcome::Dns(_) => "dns",
            LinkOutcome::NetworkManagerPending(_) => "not-processed",
            LinkOutcome::Activating(_) => "configuring",
            LinkOutcome::Disconnected(_) => "disconnected",
            LinkOutcome::FamilyNotReady(_) => "missing-address",
            LinkOutcome::NoCarrier(_) => "no-carrier",
            LinkOutcome::Ifup(Progress::NotStarted) => "not-processed",
            LinkOutcome::Ifup(Progress::Running | Progress::Up) => "configuring",
            LinkOutcome::Ifup(Progress::Failed | Progress::Interrupted) => "failed",
        },
        reason,
        blocking: link.blocking,
    }
}
