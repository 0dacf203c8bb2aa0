//! The decision: given requirements and a snapshot, is the network online, and if not, which
//! link blocks and why. A faithful model of upstream's `manager_configured()` and
//! `manager_link_is_online()` (v256+), plus the kernel-only rules for machines without
//! systemd-networkd. Pure: no I/O, no clock, no logging.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use super::connectivity::{self, Connectivity, ConnectivityRequirement};
use super::default_route::{self, RouteProblem, RouteRequirement};
use super::dns::{self, DnsProblem, ProbeState};
use super::ifname::IfName;
use super::ifupdown::Progress;
use super::link::{KernelLink, LinkStatus};
use super::name_pattern::NamePattern;
use super::networkmanager::{Device, DeviceState, NetworkManagerFacts, NmPending};
use super::range::OperStateRange;
use super::reach::{self, ReachCheck, ReachTarget};
use super::route::Prefix;
use super::route_to::{self, RouteCheck};
use super::snapshot::{LinkManager, ManagerKind, NetworkdLink, Snapshot};
use super::state::{AddressState, CarrierState, Family, OperState, RequiredFamilies, SetupState};
use super::timesync::{self, TimeSync};

/// One `-i IF[:RANGE]` argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceRequirement {
    pub name: IfName,
    /// The range given after the name, if any.
    pub range: Option<OperStateRange>,
}

/// What the user asked for, validated.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Requirements {
    /// `-i` arguments; when non-empty only these links are considered ("mode A").
    pub interfaces: Vec<InterfaceRequirement>,
    /// `--ignore=` patterns (only used without `-i`).
    pub ignore: Vec<NamePattern>,
    /// `-o`: overrides each link's own required range.
    pub oper_range: Option<OperStateRange>,
    /// `-4`/`-6`: overrides each link's required families when any is set.
    pub families: RequiredFamilies,
    /// `--any`: one online link is enough.
    pub any: bool,
    /// `--dns`: each link also needs an accessible DNS server.
    pub dns: bool,
    /// `--dns-probe=NAME`: NAME must also resolve.
    pub dns_probe: Option<String>,
    /// `--require-default-route`, `--require-gateway`.
    pub route: RouteRequirement,
    /// `--carrier-timeout`: a link without carrier for this long stops being waited for.
    pub carrier_timeout: Option<Duration>,
    /// `--require-time-sync`: the system clock must also be synchronised.
    pub time_sync: bool,
    /// `--dns-grace`: once every other condition has held this long with no DNS server
    /// configured anywhere, the wait gives up ([`crate::core::goal::Goal::evaluate`]).
    pub dns_grace: Option<Duration>,
    /// `--require-route`: the kernel's route to each goes through an online link.
    pub routes: Vec<Prefix>,
    /// `--reach`: a TCP connection to each succeeds.
    pub reach: Vec<ReachTarget>,
    /// `--require-connectivity`, `--http-probe`: the Internet must also work.
    pub connectivity: ConnectivityRequirement,
}

/// Why a link was left out of the decision (only without `-i`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IgnoreReason {
    Loopback,
    /// Matched this `--ignore=` pattern.
    Pattern(String),
    /// systemd-networkd says `RequiredForOnline=no`.
    NotRequiredForOnline,
    /// Kernel-only mode: administratively down links never block.
    AdministrativelyDown,
}

/// The result for one link (upstream's return codes of `manager_link_is_online()` as an enum).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkOutcome {
    Online,
    /// A `-i` name with no such link.
    Absent,
    /// A `-i NAME:missing…` name with no such link: satisfied.
    AbsentAllowed,
    Ignored(IgnoreReason),
    /// networkd has not written a state file yet, or says `pending` (upstream's -EAGAIN).
    NotProcessed {
        setup: Option<SetupState>,
    },
    /// networkd is still configuring the link (upstream's -EBUSY).
    Configuring(SetupState),
    /// networkd does not manage the link (upstream's `false`); NetworkManager does not
    /// manage the device; no `auto` nor `allow-hotplug` line of ifupdown names it.
    Unmanaged,
    /// ifupdown brings the link up at boot and has not finished, or failed: ifup has not
    /// started, is running, exited with an error or died.
    Ifup(Progress),
    /// Operational state outside the required range (upstream's -EADDRNOTAVAIL).
    OutOfRange {
        state: OperState,
        range: OperStateRange,
    },
    /// A required family lacks an address of the needed quality (-EADDRNOTAVAIL).
    MissingAddress {
        family: Family,
        need: AddressState,
        have: AddressState,
    },
    /// `--dns`: no accessible DNS server for this link (-EADDRNOTAVAIL).
    Dns(DnsProblem),
    /// NetworkManager's view is not settled yet (it is absent, restarting or starting): as
    /// upstream's -EAGAIN.
    NetworkManagerPending(NmPending),
    /// NetworkManager is still activating the device (or retrying after a failure), whatever
    /// the kernel shows already: as upstream's -EBUSY.
    Activating(DeviceState),
    /// After NetworkManager's startup, a device it does not activate (unavailable or
    /// disconnected): it never holds up a wait without `-i`.
    Disconnected(DeviceState),
    /// `-4`/`-6`: NetworkManager activated the device without finishing this family's
    /// configuration (its `may-fail` allows that).
    FamilyNotReady(Family),
    /// `--carrier-timeout`: the link has had no carrier for this long, at least the timeout,
    /// and is not waited for any more (until it gains carrier).
    NoCarrier(Duration),
}

impl LinkOutcome {
    /// Upstream's -EADDRNOTAVAIL: configured, but the conditions do not hold.
    fn is_conditions_unmet(&self) -> bool {
        matches!(
            self,
            LinkOutcome::OutOfRange { .. }
                | LinkOutcome::MissingAddress { .. }
                | LinkOutcome::Dns(_)
                | LinkOutcome::FamilyNotReady(_)
        )
    }

    /// `--carrier-timeout` gave up on the link.
    pub fn is_given_up(&self) -> bool {
        matches!(self, LinkOutcome::NoCarrier(_))
    }

    fn satisfies(&self) -> bool {
        matches!(self, LinkOutcome::Online | LinkOutcome::AbsentAllowed)
    }
}

/// The decision about one link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkReport {
    /// The `-i` name, or the link's name without `-i`.
    pub name: String,
    pub ifindex: Option<u32>,
    /// Whose rules judged the link, when it exists.
    pub manager: Option<ManagerKind>,
    /// Computed states, when the link exists.
    pub status: Option<LinkStatus>,
    /// The operational state range the link was judged against, when it was.
    pub required: Option<OperStateRange>,
    pub outcome: LinkOutcome,
    /// True when this link keeps the verdict from being online.
    pub blocking: bool,
}

/// The decision about the whole machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub online: bool,
    /// `--carrier-timeout`: nothing is left that could make the requirements hold (every
    /// link that could has had no carrier for the timeout): the wait may give up at once.
    pub hopeless: bool,
    /// Without `-i` and without `--any`: no considered link is online yet (upstream requires
    /// at least one, issue #27822).
    pub no_online_link: bool,
    /// `--dns-probe`: the probe has not resolved (the links alone would be online).
    pub probe_unmet: Option<(String, ProbeState)>,
    /// `--require-default-route`/`--require-gateway`: why the route requirement does not hold
    /// (empty when it holds or was not asked for).
    pub route_unmet: Vec<RouteProblem>,
    /// `--require-time-sync`: the decision about the clock (`None` when not asked for).
    pub time_sync: Option<TimeSync>,
    /// `--require-route`: the decision per destination (empty when none was asked for).
    pub routes: Vec<RouteCheck>,
    /// `--reach`: the decision per target (empty when none was asked for).
    pub reach: Vec<ReachCheck>,
    /// `--require-connectivity`, `--http-probe`: the decision about the Internet (`None`
    /// when not asked for).
    pub connectivity: Option<Connectivity>,
    pub links: Vec<LinkReport>,
}

impl Verdict {
    /// Links that keep the verdict from being online.
    pub fn blocking(&self) -> impl Iterator<Item = &LinkReport> {
        self.links.iter().filter(|report| report.blocking)
    }
}

/// Decides whether `requirements` hold in `snapshot`.
pub fn evaluate(requirements: &Requirements, snapshot: &Snapshot) -> Verdict {
    let degraded_masters = snapshot.masters_with_port_lacking_carrier();
    let judge = Judge {
        requirements,
        snapshot,
        degraded_masters: &degraded_masters,
    };
    let mut verdict = if requirements.interfaces.is_empty() {
        judge.all_links()
    } else {
        judge.named_links()
    };
    if let Some(name) = &requirements.dns_probe
        && !matches!(snapshot.dns.probe, ProbeState::Resolved(_))
    {
        verdict.probe_unmet = Some((name.clone(), snapshot.dns.probe.clone()));
        verdict.online = false;
    }
    let links_hold = reach::links_hold(&verdict);
    let online: BTreeMap<u32, String> = verdict
        .links
        .iter()
        .filter(|r| r.outcome == LinkOutcome::Online)
        .filter_map(|r| Some((r.ifindex?, r.name.clone())))
        .collect();
    if requirements.route.is_required() {
        verdict.route_unmet = default_route::check(&requirements.route, &snapshot.kernel, &online);
        if !verdict.route_unmet.is_empty() {
            verdict.online = false;
        }
    }
    verdict.routes = requirements
        .routes
        .iter()
        .map(|&target| route_to::check(target, &snapshot.kernel, &online))
        .collect();
    verdict.reach = requirements
        .reach
        .iter()
        .map(|target| reach::check(target, snapshot, links_hold))
        .collect();
    if verdict.routes.iter().any(|c| c.problem().is_some())
        || verdict.reach.iter().any(|c| c.problem().is_some())
    {
        verdict.online = false;
    }
    if requirements.time_sync {
        let time_sync = timesync::check(snapshot);
        if time_sync.problem().is_some() {
            verdict.online = false;
        }
        verdict.time_sync = Some(time_sync);
    }
    verdict.connectivity = connectivity::check(&requirements.connectivity, snapshot);
    if verdict
        .connectivity
        .as_ref()
        .is_some_and(|c| c.problem().is_some())
    {
        verdict.online = false;
    }
    verdict
}

struct Judge<'a> {
    requirements: &'a Requirements,
    snapshot: &'a Snapshot,
    degraded_masters: &'a HashSet<u32>,
}

impl Judge<'_> {
    /// Mode A: every `-i` link (or, with `--any`, one of them) must be online.
    fn named_links(&self) -> Verdict {
        let any = self.requirements.any;
        let mut links: Vec<LinkReport> = self
            .requirements
            .interfaces
            .iter()
            .map(
                |wanted| match self.snapshot.link_by_name(wanted.name.as_str()) {
                    None => {
                        let allowed = wanted.range.is_some_and(|r| r.min == OperState::Missing);
                        LinkReport {
                            name: wanted.name.to_string(),
                            ifindex: None,
                            manager: None,
                            status: None,
                            required: wanted.range,
                            outcome: if allowed {
                                LinkOutcome::AbsentAllowed
                            } else {
                                LinkOutcome::Absent
                            },
                            blocking: false,
                        }
                    }
                    Some(link) => {
                        let mut report = self.judge_link(link, wanted.range, true);
                        report.name = wanted.name.to_string();
                        report
                    }
                },
            )
            .collect();
        let satisfied = links.iter().filter(|r| r.outcome.satisfies()).count();
        // --carrier-timeout: links without carrier for that long are not waited for; when
        // they are all that is left, nothing can make the requirements hold.
        let given_up = links.iter().filter(|r| r.outcome.is_given_up()).count();
        let online = if any {
            satisfied > 0
        } else {
            satisfied + given_up == links.len() && satisfied > 0
        };
        let hopeless = !online && given_up > 0 && satisfied + given_up == links.len();
        if !online {
            for report in &mut links {
                report.blocking =
                    !report.outcome.satisfies() && (hopeless || !report.outcome.is_given_up());
            }
        }
        Verdict {
            online,
            hopeless,
            no_online_link: false,
            probe_unmet: None,
            route_unmet: Vec::new(),
            time_sync: None,
            routes: Vec::new(),
            reach: Vec::new(),
            connectivity: None,
            links,
        }
    }

    /// Mode B: every considered link that is not merely "configured but offline" must be
    /// online, and at least one must be (with `--any`: one online link is enough).
    fn all_links(&self) -> Verdict {
        let any = self.requirements.any;
        let mut links: Vec<LinkReport> = self
            .snapshot
            .kernel
            .links
            .values()
            .map(|link| match self.ignore_reason(link) {
                Some(reason) => LinkReport {
                    name: link.name.clone(),
                    ifindex: Some(link.ifindex),
                    manager: Some(self.snapshot.link_manager(link).kind()),
                    status: Some(self.snapshot.status(link, self.degraded_masters)),
                    required: None,
                    outcome: LinkOutcome::Ignored(reason),
                    blocking: false,
                },
                None => self.judge_link(link, None, false),
            })
            .collect();
        links.extend(self.absent_auto_interfaces());
        let considered = |r: &LinkReport| !matches!(r.outcome, LinkOutcome::Ignored(_));
        let has_online = links.iter().any(|r| r.outcome == LinkOutcome::Online);
        // On kernel facts nothing is "still configuring": every considered link must be
        // online. networkd's configured-but-offline links do not block (issue #29506);
        // NetworkManager's activated devices do, its settled disconnected ones do not.
        let blocks = |r: &LinkReport| {
            considered(r)
                && r.outcome != LinkOutcome::Online
                && r.outcome != LinkOutcome::Unmanaged
                && !matches!(
                    r.outcome,
                    LinkOutcome::Disconnected(_) | LinkOutcome::NoCarrier(_)
                )
                && (r.manager != Some(ManagerKind::Networkd) || !r.outcome.is_conditions_unmet())
        };
        let online = if any {
            has_online
        } else {
            has_online && !links.iter().any(blocks)
        };
        // --carrier-timeout: every considered link has had no carrier for that long.
        let hopeless = !online
            && links.iter().any(|r| r.outcome.is_given_up())
            && links
                .iter()
                .all(|r| !considered(r) || r.outcome.is_given_up());
        if !online {
            for report in &mut links {
                report.blocking = if hopeless {
                    report.outcome.is_given_up()
                } else if any || !has_online {
                    considered(report)
                        && report.outcome != LinkOutcome::Online
                        && !report.outcome.is_given_up()
                } else {
                    blocks(report)
                };
            }
        }
        Verdict {
            online,
            hopeless,
            no_online_link: !has_online,
            probe_unmet: None,
            route_unmet: Vec::new(),
            time_sync: None,
            routes: Vec::new(),
            reach: Vec::new(),
            connectivity: None,
            links,
        }
    }

    /// ifupdown's facts read, without `-i`: the interfaces on `auto` lines the kernel does not
    /// have (yet) must come up too (ifup creates bridges, bonds and VLANs itself); until ifup
    /// has brought them up they block, named, as ifup's progress says (listed as up but gone:
    /// absent). The loopback and `--ignore`d names are not.
    fn absent_auto_interfaces(&self) -> Vec<LinkReport> {
        let Some(facts) = &self.snapshot.ifupdown else {
            return Vec::new();
        };
        let names: std::collections::BTreeSet<&str> = facts.config.auto_names().collect();
        names
            .into_iter()
            .filter(|name| *name != "lo" && self.snapshot.link_by_name(name).is_none())
            .filter(|name| !self.requirements.ignore.iter().any(|p| p.matches(name)))
            .map(|name| LinkReport {
                name: name.to_owned(),
                ifindex: None,
                manager: Some(ManagerKind::Ifupdown),
                status: None,
                required: None,
                outcome: match facts.progress(name) {
                    Progress::Up => LinkOutcome::Absent,
                    progress => LinkOutcome::Ifup(progress),
                },
                blocking: false,
            })
            .collect()
    }

    fn ignore_reason(&self, link: &KernelLink) -> Option<IgnoreReason> {
        if link.is_loopback() {
            return Some(IgnoreReason::Loopback);
        }
        match self.snapshot.link_manager(link) {
            LinkManager::Kernel if !link.is_up() => {
                return Some(IgnoreReason::AdministrativelyDown);
            }
            LinkManager::Networkd(Some(file)) if !file.required_for_online => {
                return Some(IgnoreReason::NotRequiredForOnline);
            }
            _ => {}
        }
        let names = std::iter::once(&link.name).chain(&link.altnames);
        for name in names {
            if let Some(pattern) = self.requirements.ignore.iter().find(|p| p.matches(name)) {
                return Some(IgnoreReason::Pattern(pattern.as_str().to_string()));
            }
        }
        None
    }

    /// Upstream's `manager_link_is_online()`.
    fn judge_link(
        &self,
        link: &KernelLink,
        cmdline_range: Option<OperStateRange>,
        named_on_cmdline: bool,
    ) -> LinkReport {
        let status = self.snapshot.status(link, self.degraded_masters);
        LinkReport {
            name: link.name.clone(),
            ifindex: Some(link.ifindex),
            manager: Some(self.snapshot.link_manager(link).kind()),
            status: Some(status),
            required: Some(self.effective_range(link, cmdline_range)),
            outcome: self.link_outcome(link, &status, cmdline_range, named_on_cmdline),
            blocking: false,
        }
    }
    /// upstream's `get_state_range()`: `-i` range, then `-o`, then networkd's, then the
    /// default.
    fn effective_range(
        &self,
        link: &KernelLink,
        cmdline_range: Option<OperStateRange>,
    ) -> OperStateRange {
        let networkd_range = match self.snapshot.link_manager(link) {
            LinkManager::Networkd(file) => file.and_then(|f| f.required_range),
            _ => None,
        };
        cmdline_range
            .or(self.requirements.oper_range)
            .or(networkd_range)
            .unwrap_or(OperStateRange::DEFAULT)
    }

    fn link_outcome(
        &self,
        link: &KernelLink,
        status: &LinkStatus,
        cmdline_range: Option<OperStateRange>,
        named_on_cmdline: bool,
    ) -> LinkOutcome {
        // --carrier-timeout first: an unplugged cable holds up any manager's configuration.
        if let Some(timeout) = self.requirements.carrier_timeout {
            let lacking = self.snapshot.without_carrier_for(link);
            if status.carrier == CarrierState::NoCarrier && lacking >= timeout {
                return LinkOutcome::NoCarrier(lacking);
            }
        }
        let manager = self.snapshot.link_manager(link);
        let mut file = None;
        let mut activated = None;
        match manager {
            LinkManager::Kernel => {}
            LinkManager::Networkd(networkd_file) => {
                file = networkd_file;
                match file.and_then(|f| f.setup.as_ref()) {
                    None | Some(SetupState::Pending) => {
                        return LinkOutcome::NotProcessed {
                            setup: file.and_then(|f| f.setup.clone()),
                        };
                    }
                    Some(SetupState::Unmanaged) if !named_on_cmdline => {
                        return LinkOutcome::Unmanaged;
                    }
                    Some(SetupState::Unmanaged | SetupState::Configured) => {}
                    Some(other) => return LinkOutcome::Configuring(other.clone()),
                }
            }
            LinkManager::Ifupdown(facts) => {
                let names = std::iter::once(link.name.as_str())
                    .chain(link.altnames.iter().map(String::as_str));
                match facts.config.class_of(names) {
                    None if !named_on_cmdline => return LinkOutcome::Unmanaged,
                    None => {}
                    Some(_) => match facts.progress(&link.name) {
                        Progress::Up => {}
                        progress => return LinkOutcome::Ifup(progress),
                    },
                }
            }
            LinkManager::NetworkManager(facts, device) => {
                match networkmanager_outcome(facts, device, named_on_cmdline) {
                    Ok(device) => activated = device,
                    Err(outcome) => return outcome,
                }
            }
        }
        let range = self.effective_range(link, cmdline_range);
        if !range.contains(status.oper) {
            return LinkOutcome::OutOfRange {
                state: status.oper,
                range,
            };
        }
        let families = if self.requirements.families.is_none() {
            file.map_or(RequiredFamilies::NONE, |f| f.required_families)
        } else {
            self.requirements.families
        };
        let need = if range.min < OperState::Routable {
            AddressState::Degraded
        } else {
            AddressState::Routable
        };
        for family in families.iter() {
            let have = status.address(family);
            if have < need {
                return LinkOutcome::MissingAddress { family, need, have };
            }
            if activated.is_some_and(|d| !d.family_ready(family)) {
                return LinkOutcome::FamilyNotReady(family);
            }
        }
        if self.requirements.dns
            && let Err(problem) = dns::check_link(&self.snapshot.dns, link.ifindex)
        {
            // Said as it is when no server is configured at all, with what networkd knows.
            return LinkOutcome::Dns(match problem {
                DnsProblem::NoSource => problem,
                _ if self.snapshot.dns.no_server_configured() => DnsProblem::NoServerConfigured {
                    networkd: file.and_then(NetworkdLink::missing_dns),
                },
                _ => problem,
            });
        }
        LinkOutcome::Online
    }
}

/// NetworkManager's part of `link_outcome`: the outcome when its view decides, or `Ok` when
/// the kernel's facts decide, with the device when it is activated (whose families must also
/// be ready).
fn networkmanager_outcome<'a>(
    facts: &NetworkManagerFacts,
    device: Option<&'a Device>,
    named_on_cmdline: bool,
) -> Result<Option<&'a Device>, LinkOutcome> {
    if !facts.running {
        return Err(LinkOutcome::NetworkManagerPending(match facts.known {
            true => NmPending::NotRunning,
            false => NmPending::NotRead,
        }));
    }
    let Some(device) = device else {
        return match facts.startup {
            true => Err(LinkOutcome::NetworkManagerPending(NmPending::NotListed)),
            // After startup, a link NetworkManager does not list is none of its business.
            false if named_on_cmdline => Ok(None),
            false => Err(LinkOutcome::Unmanaged),
        };
    };
    if !device.is_managed() {
        return match named_on_cmdline {
            true => Ok(None),
            false => Err(LinkOutcome::Unmanaged),
        };
    }
    match device.state {
        DeviceState::Activated => Ok(Some(device)),
        state if state.is_activating() => Err(LinkOutcome::Activating(state)),
        state if facts.startup => Err(LinkOutcome::NetworkManagerPending(NmPending::Starting(
            state,
        ))),
        // Settled after startup: without -i it does not block; with -i the kernel decides.
        _ if named_on_cmdline => Ok(None),
        state => Err(LinkOutcome::Disconnected(state)),
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod networkmanager_tests;

#[cfg(test)]
mod carrier_timeout_tests;

#[cfg(test)]
mod ifupdown_tests;
