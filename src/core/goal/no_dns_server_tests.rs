//! A DNS server configured nowhere: the reason says so (with what networkd's state file
//! knows), the `no-dns-server` pitfall gives the fix, and `--dns-grace` gives up once only
//! that has been missing for the grace. One table or test per rule.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use super::*;
use crate::core::dns::{DnsProblem, DnsScope, DnsServer, DnsSource, NetworkdDns};
use crate::core::fixtures;
use crate::core::link::scope;
use crate::core::pitfalls::{self, HostFacts, Pitfall, RouteChoice};
use crate::core::{IfName, InterfaceRequirement, LinkOutcome, NetworkdLink, SetupState};

const START: Duration = Duration::from_secs(100);
const GRACE: Duration = Duration::from_secs(2);

fn server(accessible: bool) -> DnsServer {
    DnsServer {
        address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 53)),
        accessible,
    }
}

/// eth0 (ifindex 2), routable when `routable`, managed by networkd with `file`; resolved's
/// view: `global` and eth0's `link` scope.
fn snapshot(routable: bool, file: NetworkdLink, global: DnsScope, link: DnsScope) -> Snapshot {
    let address = Some(if routable {
        scope::UNIVERSE
    } else {
        scope::LINK
    });
    let eth0 = fixtures::link(2, "eth0", true, address);
    let mut snap = Snapshot::networkd(BTreeMap::from([(2, file)]));
    snap.kernel.links = BTreeMap::from([(2, eth0)]);
    snap.dns.source = DnsSource::Resolved;
    snap.dns.global = global;
    snap.dns.links = BTreeMap::from([(2, link)]);
    snap.now = START;
    snap
}

fn configured(dns_servers: bool, dhcp_lease: bool) -> NetworkdLink {
    NetworkdLink {
        setup: Some(SetupState::Configured),
        dns_servers,
        dhcp_lease,
        ..NetworkdLink::default()
    }
}

fn with_servers(accessible: bool) -> DnsScope {
    DnsScope {
        servers: vec![server(accessible)],
        default_route: true,
        ..DnsScope::default()
    }
}

/// Netplan's line `--any --dns -o routable -i eth0`, with `--dns-grace` when `grace`.
fn netplans_line(grace: Option<Duration>) -> Goal {
    Goal::Upstream(Requirements {
        interfaces: vec![InterfaceRequirement {
            name: IfName::new("eth0").unwrap(),
            range: None,
        }],
        any: true,
        oper_range: Some("routable".parse().unwrap()),
        dns: true,
        dns_grace: grace,
        ..Requirements::default()
    })
}

fn ubuntu(grace: Option<Duration>) -> Goal {
    let Goal::Upstream(routable) = netplans_line(grace) else {
        unreachable!()
    };
    Goal::Ubuntu(UbuntuDefinition {
        link_local: Requirements {
            interfaces: routable.interfaces.clone(),
            oper_range: Some("degraded".parse().unwrap()),
            ..Requirements::default()
        },
        routable,
        time_sync: false,
        connectivity: Default::default(),
    })
}

fn reasons(verdict: &GoalVerdict) -> Vec<String> {
    verdict.reasons().iter().map(ToString::to_string).collect()
}

#[test]
fn the_reason_says_no_server_is_configured_and_where_it_would_come_from() {
    let none = DnsScope::default;
    let cases = [
        (
            configured(false, true),
            none(),
            none(),
            "eth0: no DNS server is configured on any link nor globally \
             (systemd-networkd's DHCP lease for it had none)",
        ),
        (
            configured(false, false),
            none(),
            none(),
            "eth0: no DNS server is configured on any link nor globally \
             (systemd-networkd configured none for it: no DNS= in its state file)",
        ),
        // networkd has one that resolved has not taken yet: no guess about where from.
        (
            configured(true, true),
            none(),
            none(),
            "eth0: no DNS server is configured on any link nor globally",
        ),
        // A server that is configured but not reachable is another problem.
        (
            configured(false, true),
            none(),
            with_servers(false),
            "eth0: its DNS server 192.0.2.53 is not accessible (no route)",
        ),
        (
            configured(false, true),
            DnsScope {
                servers: vec![server(false)],
                ..DnsScope::default()
            },
            none(),
            "eth0: DNS server 192.0.2.53 is not accessible (no route)",
        ),
    ];
    for (file, global, link, expected) in cases {
        let snap = snapshot(true, file, global, link);
        let verdict = netplans_line(None).evaluate(&snap);
        assert!(!verdict.online);
        assert_eq!(reasons(&verdict), [expected]);
    }
}

#[test]
fn without_resolved_or_resolv_conf_servers_the_reason_stays_no_source() {
    let mut snap = snapshot(
        true,
        configured(false, true),
        DnsScope::default(),
        DnsScope::default(),
    );
    snap.dns.source = DnsSource::Unavailable;
    snap.dns.links.clear();
    assert!(snap.dns.no_server_configured());
    let verdict = netplans_line(None).evaluate(&snap);
    let report = &verdict.verdicts[0].1.links[0];
    assert_eq!(report.outcome, LinkOutcome::Dns(DnsProblem::NoSource));
    assert!(DnsProblem::NoSource.is_no_server());
    snap.dns.source = DnsSource::NotRead;
    assert!(
        !snap.dns.no_server_configured(),
        "unknown before the first read"
    );
}

#[test]
fn ubuntus_condition_4_names_it() {
    let snap = snapshot(
        true,
        configured(false, true),
        DnsScope::default(),
        DnsScope::default(),
    );
    let verdict = ubuntu(None).evaluate(&snap);
    assert_eq!(
        reasons(&verdict),
        [
            "(4) domain name resolution does not work on a routable interface:",
            "(4)   eth0: no DNS server is configured on any link nor globally \
             (systemd-networkd's DHCP lease for it had none)",
        ]
    );
}

struct NoHostFacts;

impl HostFacts for NoHostFacts {
    fn sysctl(&self, _: &str) -> Option<i64> {
        None
    }
    fn route_to(&self, _: IpAddr) -> Option<RouteChoice> {
        None
    }
    fn tentative_since(&self, _: u32, _: IpAddr) -> Option<Duration> {
        None
    }
}

#[test]
fn the_pitfall_gives_the_fix_for_where_the_server_would_come_from() {
    let snap = snapshot(
        true,
        configured(false, true),
        DnsScope::default(),
        DnsScope::default(),
    );
    let found = pitfalls::find(&snap, &ubuntu(None).evaluate(&snap), &NoHostFacts);
    let pitfall = found
        .iter()
        .find(|p| p.kind() == "no-dns-server")
        .unwrap_or_else(|| panic!("{found:?}"));
    assert_eq!(
        *pitfall,
        Pitfall::NoDnsServer {
            interface: "eth0".into(),
            networkd: Some(NetworkdDns::LeaseWithout),
        }
    );
    let text = pitfall.to_string();
    assert!(
        text.starts_with("eth0: DNS is required, and no DNS server is configured")
            && text.contains("its DHCP server hands out none (option 6)")
            && text.contains("nameservers: addresses:")
            && text.contains("--dns-grace=SPAN"),
        "{text}"
    );
    // Configured but unreachable: not this pitfall.
    let unreachable = snapshot(
        true,
        configured(false, true),
        DnsScope::default(),
        with_servers(false),
    );
    let verdict = ubuntu(None).evaluate(&unreachable);
    assert!(!verdict.online);
    let found = pitfalls::find(&unreachable, &verdict, &NoHostFacts);
    assert!(
        found.iter().all(|p| p.kind() != "no-dns-server"),
        "{found:?}"
    );
}

/// `goal` decided at START + `after`, with only a DNS server missing noted at START (when
/// it was) and again at the decision, as the grace clock does.
fn decided_after(goal: &Goal, mut snap: Snapshot, after: Duration) -> GoalVerdict {
    goal.note_no_dns_server(&mut snap, START);
    snap.now = START + after;
    goal.note_no_dns_server(&mut snap, START + after);
    goal.evaluate(&snap)
}

#[test]
fn the_grace_gives_up_only_when_only_a_server_is_missing_for_that_long() {
    let none = || DnsScope::default();
    let starved = || snapshot(true, configured(false, true), none(), none());
    // (goal, snapshot, judged after, gives up)
    let cases: Vec<(&str, Goal, Snapshot, Duration, bool)> = vec![
        (
            "before the grace",
            netplans_line(Some(GRACE)),
            starved(),
            GRACE / 2,
            false,
        ),
        (
            "at the grace",
            netplans_line(Some(GRACE)),
            starved(),
            GRACE,
            true,
        ),
        (
            "Ubuntu's definition",
            ubuntu(Some(GRACE)),
            starved(),
            GRACE,
            true,
        ),
        (
            "without --dns-grace",
            netplans_line(None),
            starved(),
            GRACE * 10,
            false,
        ),
        (
            "not routable yet: something else is missing",
            netplans_line(Some(GRACE)),
            snapshot(false, configured(false, true), none(), none()),
            GRACE * 10,
            false,
        ),
        (
            "a server is configured, unreachable",
            netplans_line(Some(GRACE)),
            snapshot(true, configured(false, true), none(), with_servers(false)),
            GRACE * 10,
            false,
        ),
        (
            "a server is configured and reachable",
            netplans_line(Some(GRACE)),
            snapshot(true, configured(false, true), none(), with_servers(true)),
            GRACE * 10,
            false,
        ),
    ];
    for (case, goal, snap, after, gives_up) in cases {
        let verdict = decided_after(&goal, snap, after);
        assert_eq!(verdict.no_dns_server, gives_up, "{case}: {verdict:?}");
        assert!(!verdict.hopeless, "{case}");
    }
}

#[test]
fn a_server_that_appears_during_the_grace_resets_it() {
    let goal = netplans_line(Some(GRACE));
    let mut snap = snapshot(
        true,
        configured(false, true),
        DnsScope::default(),
        DnsScope::default(),
    );
    goal.note_no_dns_server(&mut snap, START);
    assert_eq!(snap.no_dns_server_since, Some(START));
    snap.now = START + GRACE / 2;
    snap.dns.links.insert(2, with_servers(false));
    goal.note_no_dns_server(&mut snap, START + GRACE / 2);
    assert_eq!(snap.no_dns_server_since, None, "a server is configured");
    // It goes away again: the grace counts from then.
    snap.dns.links.insert(2, DnsScope::default());
    goal.note_no_dns_server(&mut snap, START + GRACE / 2);
    assert_eq!(snap.no_dns_server_since, Some(START + GRACE / 2));
    snap.now = START + GRACE;
    assert!(!goal.evaluate(&snap).no_dns_server);
    snap.now = START + GRACE / 2 + GRACE;
    let verdict = goal.evaluate(&snap);
    assert!(verdict.no_dns_server && !verdict.online, "{verdict:?}");
    // A stale note never gives up on facts where a server is configured.
    snap.dns.links.insert(2, with_servers(true));
    let verdict = goal.evaluate(&snap);
    assert!(verdict.online && !verdict.no_dns_server, "{verdict:?}");
}

#[test]
fn the_grace_needs_dns_to_be_required() {
    let mut goal = netplans_line(Some(GRACE));
    assert_eq!(goal.dns_grace(), Some(GRACE));
    if let Goal::Upstream(requirements) = &mut goal {
        requirements.dns = false;
    }
    assert_eq!(goal.dns_grace(), None);
    assert_eq!(ubuntu(Some(GRACE)).dns_grace(), Some(GRACE));
}
