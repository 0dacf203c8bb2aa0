//! The `--explain` view: one row per awaited interface (its operational state, its address
//! state per family, and what it still needs or since when it is online), the unmet
//! conditions that are not about one interface, and the pitfalls found. Pure text; the
//! adapter decides whether to redraw it on a terminal or to append it to a log.

use std::collections::BTreeMap;
use std::time::Duration;

use super::outcome::OutcomeWords;
use super::reason::statement;
use super::seconds;
use super::timesync;
use crate::core::goal::GoalVerdict;
use crate::core::pitfalls::Pitfall;
use crate::core::reason::Condition;
use crate::core::snapshot::ManagerKind;
use crate::core::timesync::TimeSync;
use crate::core::{LinkOutcome, LinkReport};

/// Renders the view. `elapsed` is the time since the wait began (`None` leaves every time
/// out, which gives a text that only changes when the facts do); `online_since` says when
/// each interface (by its row name) was first seen online.
pub fn render(
    verdict: &GoalVerdict,
    pitfalls: &[Pitfall],
    elapsed: Option<Duration>,
    online_since: &BTreeMap<String, Duration>,
) -> Vec<String> {
    let rows: Vec<(Option<Condition>, Vec<&LinkReport>)> = verdict
        .verdicts
        .iter()
        .map(|(condition, v)| {
            let shown = v
                .links
                .iter()
                .filter(|r| !matches!(r.outcome, LinkOutcome::Ignored(_)))
                .collect();
            (*condition, shown)
        })
        .collect();
    let width = rows
        .iter()
        .flat_map(|(_, reports)| reports.iter().map(|r| r.name.len()))
        .chain(std::iter::once("INTERFACE".len()))
        .max()
        .unwrap_or(9);
    // Which manager judged each interface, shown where NetworkManager is involved (on
    // networkd-only and kernel-only machines the column would say the same on every row).
    let show_manager = rows
        .iter()
        .flat_map(|(_, reports)| reports.iter())
        .any(|r| r.manager == Some(ManagerKind::NetworkManager));
    let manager_heading = if show_manager { "MANAGER         " } else { "" };
    let mut lines = vec![format!(
        "  {:<width$}  {manager_heading}{:<16}  {:<8}  {:<8}  STATUS",
        "INTERFACE", "OPERSTATE", "IPV4", "IPV6"
    )];
    for ((condition, reports), (_, v)) in rows.iter().zip(&verdict.verdicts) {
        if let Some(condition) = condition {
            lines.push(format!(
                "({}) {}:",
                condition.number(),
                statement(*condition)
            ));
        } else if v.links.is_empty() && v.time_sync.is_some() {
            // The clock's own verdict beside Ubuntu's numbered conditions.
            lines.push(format!("{}:", timesync::SUBJECT));
        } else if let (true, Some(connectivity)) = (v.links.is_empty(), &v.connectivity) {
            // The Internet's own verdict, likewise.
            lines.push(format!("{}:", connectivity.subject()));
        }
        for report in reports {
            lines.push(row(report, width, show_manager, elapsed, online_since));
        }
        let ignored = v.links.len() - reports.len();
        if ignored > 0 {
            lines.push(format!(
                "  ({ignored} more interface{} ignored: loopback, --ignore=, down or not required)",
                if ignored == 1 { "" } else { "s" }
            ));
        }
        for condition in v.unmet_conditions() {
            lines.push(format!("  unmet: {condition}"));
        }
        if let Some(synchronised @ TimeSync::Synchronised(_)) = &v.time_sync {
            lines.push(format!("  {synchronised}"));
        }
        let routes = v.routes.iter().filter(|c| c.problem().is_none());
        for holds in routes.map(ToString::to_string) {
            lines.push(format!("  {holds}"));
        }
        let reached = v.reach.iter().filter(|c| c.problem().is_none());
        for holds in reached.map(ToString::to_string) {
            lines.push(format!("  {holds}"));
        }
        if let Some(works) = v.connectivity.as_ref().filter(|c| c.problem().is_none()) {
            lines.push(format!("  {works}"));
        }
        if !v.online && v.no_online_link && v.probe_unmet.is_none() {
            lines.push("  unmet: no considered interface is online yet".to_string());
        }
    }
    lines.extend(pitfalls.iter().map(|p| format!("warning: {p}")));
    lines
}

fn row(
    report: &LinkReport,
    width: usize,
    show_manager: bool,
    elapsed: Option<Duration>,
    online_since: &BTreeMap<String, Duration>,
) -> String {
    let (oper, ipv4, ipv6) = match &report.status {
        Some(status) => (
            status.oper.as_str(),
            status.ipv4.as_str(),
            status.ipv6.as_str(),
        ),
        None => ("-", "-", "-"),
    };
    let status = if report.outcome == LinkOutcome::Online {
        match online_since.get(&report.name).zip(elapsed) {
            Some((since, _)) => format!("online since {}", seconds(*since)),
            None => "online".to_string(),
        }
    } else if report.outcome == LinkOutcome::AbsentAllowed {
        OutcomeWords(report).to_string()
    } else {
        let needs = match report.required {
            Some(range)
                if report.status.is_some()
                    && !matches!(report.outcome, LinkOutcome::OutOfRange { .. }) =>
            {
                format!(" (required: {range})")
            }
            _ => String::new(),
        };
        match elapsed {
            Some(elapsed) => format!(
                "waiting {}: {}{needs}",
                seconds(elapsed),
                OutcomeWords(report)
            ),
            None => format!("waiting: {}{needs}", OutcomeWords(report)),
        }
    };
    let manager = match (show_manager, report.manager) {
        (false, _) => String::new(),
        (true, Some(kind)) => format!("{:<16}", kind.as_str()),
        (true, None) => format!("{:<16}", "-"),
    };
    format!(
        "  {:<width$}  {manager}{oper:<16}  {ipv4:<8}  {ipv6:<8}  {status}",
        report.name
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::fixtures::upstream as goal;
    use crate::core::goal::Goal;
    use crate::core::link::{Address, KernelOperState, iff, scope};
    use crate::core::{Family, KernelLink, Requirements, Snapshot};
    use std::net::{IpAddr, Ipv4Addr};

    fn snapshot() -> Snapshot {
        let mut snap = Snapshot::kernel_only();
        let up = iff::UP | iff::RUNNING | iff::LOWER_UP;
        snap.kernel.links.insert(
            2,
            KernelLink {
                ifindex: 2,
                name: "wo0".into(),
                flags: up,
                kernel_oper: KernelOperState::Up,
                addresses: vec![Address {
                    family: Family::Ipv4,
                    address: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
                    prefix_len: 24,
                    scope: scope::UNIVERSE,
                    flags: 0,
                    valid_until: None,
                }],
                ..KernelLink::default()
            },
        );
        snap.kernel.links.insert(
            3,
            KernelLink {
                ifindex: 3,
                name: "wo1".into(),
                flags: iff::UP,
                kernel_oper: KernelOperState::Down,
                ..KernelLink::default()
            },
        );
        snap
    }

    #[test]
    fn one_row_per_awaited_interface_with_states_and_needs() {
        let snap = snapshot();
        let verdict = goal(&["wo0:routable", "wo1:routable", "wo9"]).evaluate(&snap);
        let since = BTreeMap::from([("wo0".to_string(), Duration::from_millis(400))]);
        let lines = render(&verdict, &[], Some(Duration::from_millis(3250)), &since);
        assert!(lines[0].contains("INTERFACE") && lines[0].contains("OPERSTATE"));
        let wo0 = lines.iter().find(|l| l.contains("wo0")).unwrap();
        assert!(
            wo0.contains("routable") && wo0.contains("online since 400ms"),
            "{wo0}"
        );
        let wo1 = lines.iter().find(|l| l.contains("wo1")).unwrap();
        assert!(
            wo1.contains("no-carrier")
                && wo1.contains("waiting 3.2s")
                && wo1.contains("needs routable (no carrier)"),
            "{wo1}"
        );
        let wo9 = lines.iter().find(|l| l.contains("wo9")).unwrap();
        assert!(wo9.contains("not present"), "{wo9}");
    }

    #[test]
    fn the_manager_column_appears_where_networkmanager_judges() {
        use crate::core::networkmanager::{Device, DeviceState, NetworkManagerFacts};
        let mut snap = snapshot();
        let plain = render(&goal(&["wo0"]).evaluate(&snap), &[], None, &BTreeMap::new());
        assert!(!plain[0].contains("MANAGER"), "{plain:?}");
        snap.networkmanager = Some(NetworkManagerFacts {
            connectivity: Default::default(),
            connectivity_checked: false,
            known: true,
            running: true,
            seen: true,
            startup: false,
            devices: BTreeMap::from([(
                "wo0".to_string(),
                Device {
                    state: DeviceState::IpConfig,
                    managed: true,
                    connection: None,
                },
            )]),
        });
        let lines = render(&goal(&["wo0"]).evaluate(&snap), &[], None, &BTreeMap::new());
        assert!(
            lines[0].contains("INTERFACE  MANAGER         OPERSTATE"),
            "{lines:?}"
        );
        let wo0 = lines.iter().find(|l| l.contains("wo0")).unwrap();
        assert!(
            wo0.contains("wo0        networkmanager  routable")
                && wo0.contains("NetworkManager is still activating it (ip-config)"),
            "{wo0}"
        );
    }

    #[test]
    fn without_times_the_text_only_changes_with_the_facts() {
        let snap = snapshot();
        let verdict = goal(&["wo1"]).evaluate(&snap);
        let a = render(&verdict, &[], None, &BTreeMap::new());
        let b = render(&verdict, &[], None, &BTreeMap::new());
        assert_eq!(a, b);
        assert!(a.iter().all(|l| !l.contains("ms") && !l.contains("0s")));
    }

    #[test]
    fn the_clock_is_shown_unmet_or_synchronised() {
        use crate::core::goal::UbuntuDefinition;
        use crate::core::timesync::{KernelNtp, TimeSyncFacts};
        let mut snap = snapshot();
        snap.time_sync = Some(TimeSyncFacts {
            kernel: KernelNtp::Unsynchronised,
            ..TimeSyncFacts::default()
        });
        let Goal::Upstream(requirements) = goal(&["wo0"]) else {
            unreachable!()
        };
        let upstream = Goal::Upstream(Requirements {
            time_sync: true,
            ..requirements.clone()
        });
        let unmet = "  unmet: system clock not synchronised: no NTP client seen \
                     (no /run/systemd/timesync, and the kernel's clock is not marked synchronised)";
        let lines = render(&upstream.evaluate(&snap), &[], None, &BTreeMap::new());
        assert_eq!(lines.last().unwrap(), unmet, "{lines:?}");
        // Under Ubuntu's definition, under a heading of its own.
        let ubuntu = Goal::Ubuntu(UbuntuDefinition {
            link_local: requirements,
            routable: Requirements::default(),
            time_sync: true,
            connectivity: Default::default(),
        });
        let lines = render(&ubuntu.evaluate(&snap), &[], None, &BTreeMap::new());
        let n = lines.len();
        assert_eq!(
            lines[n - 2..],
            ["clock synchronisation:", unmet],
            "{lines:?}"
        );
        snap.time_sync = Some(TimeSyncFacts {
            kernel: KernelNtp::Synchronised,
            ..TimeSyncFacts::default()
        });
        let lines = render(&upstream.evaluate(&snap), &[], None, &BTreeMap::new());
        assert_eq!(
            lines.last().unwrap(),
            "  system clock synchronised (the kernel's NTP status)"
        );
    }

    #[test]
    fn ignored_links_are_counted_and_conditions_and_pitfalls_listed() {
        let snap = snapshot();
        let mut requirements = Requirements {
            ignore: vec![crate::cli::glob::Glob::new("wo1").into()],
            ..Requirements::default()
        };
        requirements.route.default_route = Some(crate::core::default_route::RouteFamily::Ipv4);
        let verdict = Goal::Upstream(requirements).evaluate(&snap);
        let pitfall = Pitfall::NoDefaultRoute {
            family: Family::Ipv4,
            interface: "wo0".into(),
        };
        let lines = render(&verdict, &[pitfall], None, &BTreeMap::new());
        let text = lines.join("\n");
        assert!(text.contains("1 more interface ignored"), "{text}");
        assert!(
            text.contains("unmet: no IPv4 default route in the main routing table"),
            "{text}"
        );
        assert!(
            text.contains("warning: wo0 has a global IPv4 address"),
            "{text}"
        );
    }
}
