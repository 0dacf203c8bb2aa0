//! `STATUS=` for the service manager while the wait goes on: what is still awaited, in one
//! short line.

use super::outcome::OutcomeWords;
use super::timesync;
use crate::core::goal::GoalVerdict;
use crate::core::reason::ReasonKind;
use crate::core::{LinkOutcome, LinkReport};

/// `Waiting for eth0 (carrier, needs routable), eth1 (absent)`: the first four things
/// awaited, and how many more.
pub fn waiting_for(verdict: &GoalVerdict) -> String {
    let mut items: Vec<String> = Vec::new();
    for reason in verdict.reasons().iter().filter(|r| r.is_awaited()) {
        let item = match reason.kind {
            ReasonKind::Link(report) => format!("{} ({})", report.name, short_outcome(report)),
            ReasonKind::TimeSync(problem) => format!("{} ({})", timesync::SUBJECT, problem.short()),
            ReasonKind::RouteTo(check) => check.short(),
            ReasonKind::Reach(check) => check.short(),
            ReasonKind::Connectivity(c) => format!("{} ({})", c.subject(), c.short()),
            kind => kind.to_string(),
        };
        if !items.contains(&item) {
            items.push(item);
        }
    }
    if items.is_empty() {
        return "Waiting for network connections...".to_string();
    }
    const SHOWN: usize = 4;
    let more = items.len().saturating_sub(SHOWN);
    items.truncate(SHOWN);
    let mut line = format!("Waiting for {}", items.join(", "));
    if more > 0 {
        line.push_str(&format!(" and {more} more"));
    }
    line
}

/// A few words on why one link is not online yet.
pub(super) fn short_outcome(report: &LinkReport) -> String {
    match &report.outcome {
        LinkOutcome::OutOfRange { state, range } => format!("{state}, needs {}", range.min),
        LinkOutcome::Absent => "absent".to_string(),
        LinkOutcome::NotProcessed { .. } => "not processed by systemd-networkd yet".to_string(),
        LinkOutcome::Configuring(_) => "being configured".to_string(),
        LinkOutcome::NetworkManagerPending(_) => "not ready in NetworkManager yet".to_string(),
        LinkOutcome::Activating(state) => format!("NetworkManager: {state}"),
        LinkOutcome::NoCarrier(_) => "no carrier, given up".to_string(),
        LinkOutcome::MissingAddress { family, need, .. } => {
            format!("no {} {family} address", need.as_str())
        }
        LinkOutcome::Dns(problem) if problem.is_no_server() => {
            "no DNS server configured".to_string()
        }
        LinkOutcome::Dns(_) => "no accessible DNS server".to_string(),
        _ => OutcomeWords(report).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Requirements;
    use crate::core::dns::DnsSource;
    use crate::core::fixtures::{kernel_only, link, upstream, wanted};
    use crate::core::goal::Goal;
    use crate::core::link::scope;
    use crate::core::timesync::{KernelNtp, TimeSyncFacts};

    #[test]
    fn waiting_for_names_what_blocks_in_a_few_words() {
        let snap = kernel_only(vec![link(2, "wo0", true, None)]);
        assert_eq!(
            waiting_for(&upstream(&["wo0:routable", "wo9"]).evaluate(&snap)),
            "Waiting for wo0 (carrier, needs routable), wo9 (absent)"
        );
        assert_eq!(
            waiting_for(&upstream(&["a1", "a2", "a3", "a4", "a5", "a6"]).evaluate(&snap)),
            "Waiting for a1 (absent), a2 (absent), a3 (absent), a4 (absent) and 2 more"
        );
        assert!(upstream(&["wo0:carrier"]).evaluate(&snap).online);
    }

    #[test]
    fn waiting_for_names_the_clock_and_a_dns_server_configured_nowhere() {
        let mut snap = kernel_only(vec![link(2, "eth0", true, Some(scope::UNIVERSE))]);
        snap.time_sync = Some(TimeSyncFacts {
            kernel: KernelNtp::Unsynchronised,
            timesyncd_seen: true,
            marker: false,
            server: None,
        });
        let clock = Goal::Upstream(Requirements {
            interfaces: wanted(&["eth0"]),
            time_sync: true,
            ..Requirements::default()
        });
        assert_eq!(
            waiting_for(&clock.evaluate(&snap)),
            "Waiting for clock synchronisation (systemd-timesyncd not synchronised)"
        );
        // Netplan's line, resolved read and no server anywhere.
        snap.dns.source = DnsSource::Resolved;
        let netplans_line = Goal::Upstream(Requirements {
            interfaces: wanted(&["eth0"]),
            any: true,
            oper_range: Some("routable".parse().unwrap()),
            dns: true,
            ..Requirements::default()
        });
        assert_eq!(
            waiting_for(&netplans_line.evaluate(&snap)),
            "Waiting for eth0 (no DNS server configured)"
        );
    }
}
