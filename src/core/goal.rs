//! What "online" means for this run: upstream's single set of requirements, or Ubuntu's
//! four-condition definition, which Netplan expresses as two upstream command lines and which
//! is decided here in one process, under one deadline.
//!
//! Ubuntu's definition: (1) never wait for interfaces marked optional; (2) every non-optional
//! interface has IPv4 and/or IPv6 link-local addressing (or better); (3) at least one interface
//! has a globally routable connection; (4) domain name resolution works on a routable interface.

use std::time::Duration;

use super::connectivity::{self, ConnectivityRequirement};
use super::evaluate::{Requirements, Verdict, evaluate};
use super::reach::ReachTarget;
use super::reason::{Condition, Reason, ReasonKind};
use super::snapshot::Snapshot;
use super::timesync;

/// The whole goal of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
#[expect(
    clippy::large_enum_variant,
    reason = "one goal per run, built once: boxing would only add indirection"
)]
pub enum Goal {
    /// Upstream systemd-networkd-wait-online's semantics.
    Upstream(Requirements),
    /// Ubuntu's definition of online.
    Ubuntu(UbuntuDefinition),
}

/// Ubuntu's definition, resolved to interfaces (from Netplan's configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UbuntuDefinition {
    /// Condition (2): every interface listed reaches its state (Netplan's first line, without
    /// `--any`). Empty: nothing to wait for.
    pub link_local: Requirements,
    /// Conditions (3) and (4): one of the listed interfaces is routable (and has DNS when
    /// `routable.dns`), Netplan's second line (`--any -o routable [--dns]`). Empty: Netplan
    /// writes no such line, and neither condition is waited for. Condition (1) is met by
    /// construction: optional interfaces are in neither list.
    pub routable: Requirements,
    /// `--require-time-sync`: the system clock must also be synchronised (decided apart
    /// from the numbered conditions, which are about interfaces).
    pub time_sync: bool,
    /// `--require-connectivity`, `--http-probe`: the Internet must also work (decided apart
    /// from the numbered conditions, as the clock is).
    pub connectivity: ConnectivityRequirement,
}

/// The decision for a goal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoalVerdict {
    pub online: bool,
    /// `--carrier-timeout`: a verdict can no longer hold (see [`Verdict::hopeless`]).
    pub hopeless: bool,
    /// `--dns-grace`: every other condition has held for the grace, and still no DNS server
    /// is configured anywhere: the wait may give up at once.
    pub no_dns_server: bool,
    /// The verdicts the decision was made of, each with the Ubuntu condition it decides
    /// (`None` for upstream's semantics).
    pub verdicts: Vec<(Option<Condition>, Verdict)>,
}

impl Goal {
    /// Whether DNS facts are needed (`--dns`, `--dns-probe`, or condition (4)).
    pub fn needs_dns(&self) -> bool {
        self.requirement_sets()
            .any(|r| r.dns || r.dns_probe.is_some())
    }

    /// Whether the routing table is needed (DNS server accessibility, `--require-default-route`,
    /// `--require-gateway`, `--require-route`; `--reach`, whose attempts are retried when
    /// routes change).
    pub fn needs_routes(&self) -> bool {
        self.needs_dns()
            || self
                .requirement_sets()
                .any(|r| r.route.is_required() || !r.routes.is_empty() || !r.reach.is_empty())
    }

    /// The `--reach` targets, each once.
    pub fn reach_targets(&self) -> Vec<ReachTarget> {
        let mut targets: Vec<ReachTarget> = Vec::new();
        for target in self.requirement_sets().flat_map(|r| &r.reach) {
            if !targets.contains(target) {
                targets.push(target.clone());
            }
        }
        targets
    }

    /// The only links the decision looks at, when it names them all (every set of
    /// requirements has `-i` interfaces; Ubuntu's definition always names its interfaces):
    /// then only those links need to be fetched from the kernel. `None`: every link matters.
    /// The route requirements look at every link (a default route may go anywhere, and its
    /// interface is named in the explanation), so they fetch every link too.
    pub fn named_links(&self) -> Option<Vec<String>> {
        let mut names: Vec<String> = Vec::new();
        for set in self.requirement_sets() {
            if set.route.is_required() || !set.routes.is_empty() {
                return None;
            }
            if set.interfaces.is_empty() && matches!(self, Goal::Upstream(_)) {
                return None;
            }
            for wanted in &set.interfaces {
                let name = wanted.name.to_string();
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        Some(names)
    }

    /// Whether the neighbour caches are needed (`--require-gateway`, `--probe-gateway`).
    pub fn needs_neighbours(&self) -> bool {
        self.requirement_sets().any(|r| r.route.needs_gateway())
    }

    /// Whether an unanswered gateway may be probed (`--probe-gateway`).
    pub fn probes_gateway(&self) -> bool {
        self.requirement_sets().any(|r| r.route.probe)
    }

    /// The links whose DNS configuration the decision looks at: the `-i` links of every set
    /// of requirements with `--dns`, or every link that is not loopback when such a set names
    /// none.
    pub fn dns_links(&self, snapshot: &Snapshot) -> Vec<u32> {
        let sets: Vec<&Requirements> = self.requirement_sets().filter(|r| r.dns).collect();
        let every_link = sets.iter().any(|r| r.interfaces.is_empty());
        snapshot
            .kernel
            .links
            .values()
            .filter(|l| match every_link {
                true => !l.is_loopback(),
                false => sets
                    .iter()
                    .any(|r| r.interfaces.iter().any(|i| l.has_name(i.name.as_str()))),
            })
            .map(|l| l.ifindex)
            .collect()
    }

    /// Whether the clock's synchronisation is needed (`--require-time-sync`).
    pub fn needs_time_sync(&self) -> bool {
        match self {
            Goal::Upstream(requirements) => requirements.time_sync,
            Goal::Ubuntu(definition) => definition.time_sync,
        }
    }

    /// What is asked about the Internet (`--require-connectivity`, `--http-probe`).
    pub fn connectivity(&self) -> &ConnectivityRequirement {
        match self {
            Goal::Upstream(requirements) => &requirements.connectivity,
            Goal::Ubuntu(definition) => &definition.connectivity,
        }
    }

    /// `--carrier-timeout`, when asked for.
    pub fn carrier_timeout(&self) -> Option<std::time::Duration> {
        self.requirement_sets().find_map(|r| r.carrier_timeout)
    }

    /// `--dns-grace`, when asked for and DNS servers are required (`--dns`, condition (4)).
    pub fn dns_grace(&self) -> Option<Duration> {
        self.requirement_sets()
            .filter(|r| r.dns)
            .find_map(|r| r.dns_grace)
    }

    /// Whether only a DNS server is missing and none is configured anywhere: the goal does
    /// not hold, but would without `--dns` (and `--dns-probe`), and
    /// [`DnsFacts::no_server_configured`](super::dns::DnsFacts::no_server_configured).
    pub fn lacks_only_a_dns_server(&self, snapshot: &Snapshot) -> bool {
        if !snapshot.dns.no_server_configured() {
            return false;
        }
        let without_dns = |r: &Requirements| Requirements {
            dns: false,
            dns_probe: None,
            ..r.clone()
        };
        let without = match self {
            Goal::Upstream(requirements) => Goal::Upstream(without_dns(requirements)),
            Goal::Ubuntu(definition) => Goal::Ubuntu(UbuntuDefinition {
                link_local: definition.link_local.clone(),
                routable: without_dns(&definition.routable),
                // The clock is another condition: while it is missing, so is more than DNS.
                time_sync: definition.time_sync,
                connectivity: definition.connectivity.clone(),
            }),
        };
        !self.evaluate_now(snapshot).online && without.evaluate_now(snapshot).online
    }

    /// `--dns-grace`: notes, as of `now`, whether only a DNS server is missing
    /// ([`Goal::lacks_only_a_dns_server`]) and since when; forgotten as soon as anything
    /// else is missing too, or a server is configured.
    pub fn note_no_dns_server(&self, snapshot: &mut Snapshot, now: Duration) {
        let lacking = self.dns_grace().is_some() && self.lacks_only_a_dns_server(snapshot);
        snapshot.no_dns_server_since = match lacking {
            true => Some(snapshot.no_dns_server_since.unwrap_or(now)),
            false => None,
        };
    }

    /// Every set of requirements the goal consists of.
    pub fn requirement_sets(&self) -> impl Iterator<Item = &Requirements> {
        let sets: Vec<&Requirements> = match self {
            Goal::Upstream(requirements) => vec![requirements],
            Goal::Ubuntu(definition) => vec![&definition.link_local, &definition.routable],
        };
        sets.into_iter()
    }

    /// Decides the goal on `snapshot`; with `--dns-grace`, gives up when only a DNS server
    /// has been missing for the grace ([`Goal::note_no_dns_server`]) and still is.
    pub fn evaluate(&self, snapshot: &Snapshot) -> GoalVerdict {
        let mut verdict = self.evaluate_now(snapshot);
        verdict.no_dns_server = match (self.dns_grace(), snapshot.no_dns_server_since) {
            (Some(grace), Some(since)) => {
                snapshot.now.saturating_sub(since) >= grace
                    && self.lacks_only_a_dns_server(snapshot)
            }
            _ => false,
        };
        verdict
    }

    /// The decision on `snapshot` as it is, without `--dns-grace`'s memory.
    fn evaluate_now(&self, snapshot: &Snapshot) -> GoalVerdict {
        match self {
            Goal::Upstream(requirements) => {
                let verdict = evaluate(requirements, snapshot);
                GoalVerdict {
                    online: verdict.online,
                    hopeless: verdict.hopeless,
                    no_dns_server: false,
                    verdicts: vec![(None, verdict)],
                }
            }
            Goal::Ubuntu(definition) => definition.evaluate(snapshot),
        }
    }
}

impl GoalVerdict {
    /// Why the goal does not hold (empty when it does), in the order of the timeout lines:
    /// per verdict, the line that introduces an unmet condition of Ubuntu's definition, then
    /// its reasons.
    pub fn reasons(&self) -> Vec<Reason<'_>> {
        let mut reasons = Vec::new();
        for (condition, verdict) in &self.verdicts {
            if verdict.online {
                continue;
            }
            if let Some(condition) = condition.filter(|c| c.is_met_by_any()) {
                reasons.push(Reason {
                    condition: Some(condition),
                    kind: ReasonKind::ConditionUnmet,
                });
            }
            reasons.extend(verdict.reasons(*condition));
        }
        reasons
    }
}

impl UbuntuDefinition {
    fn evaluate(&self, snapshot: &Snapshot) -> GoalVerdict {
        let mut verdicts = Vec::new();
        if !self.link_local.interfaces.is_empty() {
            verdicts.push((
                Some(Condition::LinkLocal),
                evaluate(&self.link_local, snapshot),
            ));
        }
        if !self.routable.interfaces.is_empty() {
            let without_dns = Requirements {
                dns: false,
                dns_probe: None,
                ..self.routable.clone()
            };
            let routable = evaluate(&without_dns, snapshot);
            // (4) is only decided once (3) holds: DNS must work on a routable interface.
            if routable.online && (self.routable.dns || self.routable.dns_probe.is_some()) {
                verdicts.push((Some(Condition::Dns), evaluate(&self.routable, snapshot)));
            } else {
                verdicts.push((Some(Condition::Routable), routable));
            }
        }
        if self.time_sync {
            verdicts.push((None, timesync::verdict(snapshot)));
        }
        if self.connectivity.is_required() {
            verdicts.push((None, connectivity::verdict(&self.connectivity, snapshot)));
        }
        GoalVerdict {
            online: verdicts.iter().all(|(_, verdict)| verdict.online),
            hopeless: verdicts.iter().any(|(_, verdict)| verdict.hopeless),
            no_dns_server: false,
            verdicts,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::KernelLink;
    use crate::core::dns::{DnsScope, DnsServer, DnsSource};
    use crate::core::fixtures;
    use crate::core::link::scope;
    use std::net::{IpAddr, Ipv4Addr};

    fn link(ifindex: u32, name: &str, address_scope: Option<u8>) -> KernelLink {
        fixtures::link(ifindex, name, true, address_scope)
    }

    fn explanation(verdict: &GoalVerdict) -> Vec<String> {
        verdict.reasons().iter().map(ToString::to_string).collect()
    }

    use crate::core::fixtures::{kernel_only as snapshot, wanted};

    fn ubuntu(link_local: &[&str], routable: &[&str], dns: bool) -> Goal {
        Goal::Ubuntu(UbuntuDefinition {
            link_local: Requirements {
                interfaces: wanted(link_local),
                ..Requirements::default()
            },
            routable: Requirements {
                interfaces: wanted(routable),
                any: true,
                oper_range: Some("routable".parse().unwrap()),
                dns,
                ..Requirements::default()
            },
            time_sync: false,
            connectivity: Default::default(),
        })
    }

    #[test]
    fn named_links_scope_the_kernel_fetch_only_when_every_decision_names_its_links() {
        let named = Goal::Upstream(Requirements {
            interfaces: wanted(&["wo0", "wo1:carrier"]),
            ..Requirements::default()
        });
        assert_eq!(named.named_links(), Some(vec!["wo0".into(), "wo1".into()]));
        assert_eq!(Goal::Upstream(Requirements::default()).named_links(), None);
        let mut with_route = Requirements {
            interfaces: wanted(&["wo0"]),
            ..Requirements::default()
        };
        with_route.route.gateway = true;
        assert_eq!(Goal::Upstream(with_route).named_links(), None);
        let both = ubuntu(&["wo0", "wo1"], &["wo1", "wo2"], true);
        assert_eq!(
            both.named_links(),
            Some(vec!["wo0".into(), "wo1".into(), "wo2".into()])
        );
    }

    #[test]
    fn all_four_conditions_hold() {
        let mut snap = snapshot(vec![
            link(2, "eth0", Some(scope::UNIVERSE)),
            link(3, "eth1", Some(scope::LINK)),
        ]);
        snap.dns.source = DnsSource::ResolvConf;
        snap.dns.global = DnsScope {
            servers: vec![DnsServer {
                address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 53)),
                accessible: true,
            }],
            ..DnsScope::default()
        };
        let goal = ubuntu(&["eth0:degraded", "eth1:degraded"], &["eth0", "eth1"], true);
        let verdict = goal.evaluate(&snap);
        assert!(verdict.online, "{:?}", explanation(&verdict));
        assert!(goal.needs_dns());
    }

    #[test]
    fn each_unmet_condition_is_numbered() {
        let snap = snapshot(vec![
            link(2, "eth0", Some(scope::LINK)),
            link(3, "eth1", None),
        ]);
        let goal = ubuntu(&["eth0:degraded", "eth1:degraded"], &["eth0"], true);
        let verdict = goal.evaluate(&snap);
        assert!(!verdict.online);
        assert_eq!(
            explanation(&verdict),
            [
                "(2) eth1: operational state is carrier, needs degraded (no IPv4/IPv6 address)",
                "(3) no interface has a globally routable connection:",
                "(3)   eth0: operational state is degraded, needs routable (no global IPv4/IPv6 address)",
            ]
        );
    }

    #[test]
    fn dns_is_checked_once_a_routable_interface_exists() {
        let snap = snapshot(vec![link(2, "eth0", Some(scope::UNIVERSE))]);
        let goal = ubuntu(&["eth0:degraded"], &["eth0"], true);
        let verdict = goal.evaluate(&snap);
        assert_eq!(
            explanation(&verdict),
            [
                "(4) domain name resolution does not work on a routable interface:",
                "(4)   eth0: no DNS configuration known: systemd-resolved is not on the bus and /etc/resolv.conf names no usable server",
            ]
        );
        let without_dns = ubuntu(&["eth0:degraded"], &["eth0"], false);
        assert!(without_dns.evaluate(&snap).online);
    }

    #[test]
    fn the_clock_is_a_condition_of_its_own() {
        use crate::core::timesync::{KernelNtp, TimeSyncFacts};
        let mut snap = snapshot(vec![link(2, "eth0", Some(scope::UNIVERSE))]);
        snap.time_sync = Some(TimeSyncFacts {
            kernel: KernelNtp::Unsynchronised,
            timesyncd_seen: true,
            marker: false,
            server: None,
        });
        let unsynchronised =
            "system clock not synchronised: systemd-timesyncd has not synchronised it yet";
        let upstream = Goal::Upstream(Requirements {
            interfaces: wanted(&["eth0"]),
            time_sync: true,
            ..Requirements::default()
        });
        assert!(upstream.needs_time_sync());
        let verdict = upstream.evaluate(&snap);
        assert!(!verdict.online);
        assert_eq!(explanation(&verdict), [unsynchronised]);
        // Under Ubuntu's definition, apart from the numbered conditions.
        let Goal::Ubuntu(definition) = ubuntu(&["eth0:degraded"], &["eth0"], false) else {
            unreachable!()
        };
        let ubuntu = Goal::Ubuntu(UbuntuDefinition {
            time_sync: true,
            ..definition
        });
        assert!(ubuntu.needs_time_sync());
        let verdict = ubuntu.evaluate(&snap);
        assert!(!verdict.online);
        assert_eq!(explanation(&verdict), [unsynchronised]);
        // Synchronised: both hold; without the option the clock is not looked at.
        snap.time_sync = Some(TimeSyncFacts {
            marker: true,
            ..snap.time_sync.unwrap()
        });
        assert!(upstream.evaluate(&snap).online);
        assert!(ubuntu.evaluate(&snap).online);
        snap.time_sync = None;
        let without = Goal::Upstream(Requirements {
            interfaces: wanted(&["eth0"]),
            ..Requirements::default()
        });
        assert!(!without.needs_time_sync());
        assert!(without.evaluate(&snap).online);
        assert_eq!(without.evaluate(&snap).verdicts[0].1.time_sync, None);
    }

    #[test]
    fn empty_lists_wait_for_nothing() {
        let goal = ubuntu(&[], &[], true);
        assert!(goal.evaluate(&snapshot(vec![])).online);
    }
}

#[cfg(test)]
mod no_dns_server_tests;
