//! `--require-connectivity` and `--http-probe`: online means the Internet works.
//!
//! `--require-connectivity` takes the network manager's own judgement: where NetworkManager
//! runs and checks connectivity, its `Connectivity` decides (FULL holds; PORTAL, LIMITED and
//! NONE are named). With its check off, `Connectivity` is only a guess (full as soon as a
//! device has a default route) and is not taken. Where it cannot say (it does not run, or
//! its check is off), an HTTP probe
//! that succeeded says the Internet works; until then a link on which systemd-networkd learnt
//! a captive portal (`CAPTIVE_PORTAL=`, RFC 8910) is named with the portal's URL, else the
//! probe's last failure. `--http-probe=URL` alone is a condition of its own: the GET
//! succeeds. Given both, the probe is `--require-connectivity`'s fallback, asked only while
//! NetworkManager cannot say, and there is one condition, not two.
//!
//! The decision in words is `report/connectivity.rs`.

use super::evaluate::Verdict;
use super::snapshot::Snapshot;
use super::state::OperState;

/// What the command line asks about the Internet.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectivityRequirement {
    /// `--require-connectivity`: the network manager's judgement.
    pub manager: bool,
    /// `--http-probe=URL` (with `--http-probe-expect=TEXT`).
    pub probe: Option<Box<HttpProbe>>,
}

impl ConnectivityRequirement {
    /// Whether anything is asked.
    pub fn is_required(&self) -> bool {
        self.manager || self.probe.is_some()
    }
}

/// A plain HTTP GET, as NetworkManager's connectivity check makes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpProbe {
    /// The URL as given (for the words).
    pub url: String,
    /// Host name or address literal (IPv6 without brackets).
    pub host: String,
    pub port: u16,
    /// The request target: path and query.
    pub target: String,
    /// `--http-probe-expect=TEXT`: the body must start with it (NetworkManager's
    /// `response=`).
    pub expect: Option<String>,
}

/// NetworkManager's `Connectivity` property (`NMConnectivityState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NmConnectivity {
    /// 0: not known, which is what it says while its check is off.
    #[default]
    Unknown,
    /// 1: no network at all.
    None,
    /// 2: behind a captive portal (the check's answer was not the expected one).
    Portal,
    /// 3: a network, but the check's server was not reached.
    Limited,
    /// 4: the check succeeded.
    Full,
}

impl NmConnectivity {
    /// From the property's value; values this version does not know count as unknown.
    pub fn from_u32(value: u32) -> NmConnectivity {
        match value {
            1 => NmConnectivity::None,
            2 => NmConnectivity::Portal,
            3 => NmConnectivity::Limited,
            4 => NmConnectivity::Full,
            _ => NmConnectivity::Unknown,
        }
    }
}

/// The HTTP probe's state.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum HttpProbeState {
    /// Not tried yet (no link is online, or the first attempt is under way).
    #[default]
    NotTried,
    /// A GET got a 2xx answer with no redirect (and the expected body).
    Succeeded,
    /// The last attempt failed.
    Failed(HttpProbeFailure),
}

/// Why an attempt of the HTTP probe failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpProbeFailure {
    /// The host name did not resolve.
    Resolve(String),
    /// No TCP connection (refused, unreachable).
    Connect(String),
    /// No whole answer within the attempt's time limit.
    Timeout,
    /// A redirect (3xx): a captive portal or a filtering proxy; where it points.
    Redirect {
        status: u16,
        location: Option<String>,
    },
    /// Another status than 2xx or 3xx.
    Status(u16),
    /// A 2xx whose body does not start with the expected text: a captive portal or a proxy
    /// that answers itself; the body's first bytes.
    UnexpectedBody(String),
    /// Not an HTTP/1.x answer, or the connection broke.
    Malformed(String),
}

/// Which source says the Internet works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorksBy {
    /// NetworkManager's `Connectivity` is FULL.
    NetworkManager,
    /// The HTTP probe succeeded.
    HttpProbe,
}

/// Why the Internet does not count as working.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectivityProblem {
    /// NetworkManager's `Connectivity` is PORTAL, LIMITED or NONE.
    NetworkManager(NmConnectivity),
    /// A captive portal was learnt on this link (systemd-networkd's `CAPTIVE_PORTAL=`), and
    /// the probe has not succeeded.
    CaptivePortal { link: String, url: String },
    /// The HTTP probe has not succeeded.
    Probe(HttpProbeState),
    /// NetworkManager's view has not been read yet (the bus has not answered).
    NetworkManagerNotRead,
    /// NetworkManager runs but does not check connectivity (its check is disabled or not
    /// configured), and no probe was given.
    NetworkManagerNotChecking,
    /// Nothing can say: NetworkManager does not run, and no probe was given.
    NoSource,
}

/// The decision about the Internet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connectivity {
    /// Which option asked: `--require-connectivity` (`true`) or `--http-probe` alone.
    pub manager: bool,
    /// The probe's URL, when one was given (for the words).
    pub probe_url: Option<String>,
    pub outcome: Result<WorksBy, ConnectivityProblem>,
}

impl Connectivity {
    /// The problem, when the Internet does not count as working.
    pub fn problem(&self) -> Option<&ConnectivityProblem> {
        self.outcome.as_ref().err()
    }
}

/// What NetworkManager says, when it runs and checks connectivity.
fn networkmanager_says(snapshot: &Snapshot) -> Option<NmConnectivity> {
    snapshot
        .networkmanager
        .as_ref()
        .filter(|nm| {
            nm.running && nm.connectivity_checked && nm.connectivity != NmConnectivity::Unknown
        })
        .map(|nm| nm.connectivity)
}

/// Decides `requirement` on `snapshot` (`None` when nothing is asked).
pub fn check(requirement: &ConnectivityRequirement, snapshot: &Snapshot) -> Option<Connectivity> {
    if !requirement.is_required() {
        return None;
    }
    let outcome = match requirement.manager {
        true => manager_judgement(requirement, snapshot),
        false => probe_judgement(snapshot),
    };
    Some(Connectivity {
        manager: requirement.manager,
        probe_url: requirement.probe.as_ref().map(|p| p.url.clone()),
        outcome,
    })
}

fn probe_judgement(snapshot: &Snapshot) -> Result<WorksBy, ConnectivityProblem> {
    match snapshot.http_probe.clone().unwrap_or_default() {
        HttpProbeState::Succeeded => Ok(WorksBy::HttpProbe),
        state => Err(ConnectivityProblem::Probe(state)),
    }
}

/// `--require-connectivity`'s precedence; see the module documentation.
fn manager_judgement(
    requirement: &ConnectivityRequirement,
    snapshot: &Snapshot,
) -> Result<WorksBy, ConnectivityProblem> {
    match networkmanager_says(snapshot) {
        Some(NmConnectivity::Full) => return Ok(WorksBy::NetworkManager),
        Some(other) => return Err(ConnectivityProblem::NetworkManager(other)),
        None => {}
    }
    let probe = requirement
        .probe
        .as_ref()
        .map(|_| probe_judgement(snapshot));
    if let Some(Ok(by)) = probe {
        return Ok(by);
    }
    if let Some((link, url)) = captive_portal(snapshot) {
        return Err(ConnectivityProblem::CaptivePortal { link, url });
    }
    let networkmanager = snapshot.networkmanager.as_ref();
    match probe {
        Some(outcome) => outcome,
        None if networkmanager.is_some_and(|nm| nm.running) => {
            Err(ConnectivityProblem::NetworkManagerNotChecking)
        }
        None if networkmanager.is_some_and(|nm| !nm.known) => {
            Err(ConnectivityProblem::NetworkManagerNotRead)
        }
        None => Err(ConnectivityProblem::NoSource),
    }
}

/// The first link (by ifindex) on which systemd-networkd learnt a captive portal, by name,
/// and the portal's URL.
fn captive_portal(snapshot: &Snapshot) -> Option<(String, String)> {
    let networkd = snapshot.networkd.as_ref()?;
    networkd.iter().find_map(|(ifindex, link)| {
        let url = link.captive_portal.clone()?;
        let name = snapshot
            .kernel
            .links
            .get(ifindex)
            .map_or_else(|| format!("link {ifindex}"), |l| l.name.clone());
        Some((name, url))
    })
}

/// Whether the HTTP probe should be asked now: it is given, has not succeeded, is what
/// decides (NetworkManager, once read, cannot say), and some link is online (routable),
/// through which the GET can go.
pub fn probe_wanted(requirement: &ConnectivityRequirement, snapshot: &Snapshot) -> bool {
    let nm_may_say = snapshot.networkmanager.as_ref().is_some_and(|nm| !nm.known)
        || networkmanager_says(snapshot).is_some();
    requirement.probe.is_some()
        && snapshot.http_probe != Some(HttpProbeState::Succeeded)
        && !(requirement.manager && nm_may_say)
        && snapshot.kernel.links.values().any(|link| {
            !link.is_loopback() && link.status(false, snapshot.now).oper == OperState::Routable
        })
}

/// A verdict about the Internet alone, for a goal whose other verdicts are each about a
/// condition on links (Ubuntu's definition).
pub fn verdict(requirement: &ConnectivityRequirement, snapshot: &Snapshot) -> Verdict {
    let connectivity = check(requirement, snapshot);
    Verdict {
        online: connectivity.as_ref().is_none_or(|c| c.problem().is_none()),
        hopeless: false,
        no_online_link: false,
        probe_unmet: None,
        route_unmet: Vec::new(),
        time_sync: None,
        routes: Vec::new(),
        reach: Vec::new(),
        connectivity,
        links: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::fixtures;
    use crate::core::link::scope;
    use crate::core::networkmanager::NetworkManagerFacts;
    use crate::core::snapshot::NetworkdLink;

    fn link(ifindex: u32, name: &str, address_scope: Option<u8>) -> crate::core::KernelLink {
        fixtures::link(ifindex, name, true, address_scope)
    }

    fn probe() -> Option<Box<HttpProbe>> {
        Some(Box::new(HttpProbe {
            url: "http://192.0.2.1/check".into(),
            host: "192.0.2.1".into(),
            port: 80,
            target: "/check".into(),
            expect: None,
        }))
    }

    fn nm(connectivity: NmConnectivity) -> Option<NetworkManagerFacts> {
        Some(NetworkManagerFacts {
            known: true,
            running: true,
            seen: true,
            connectivity,
            connectivity_checked: true,
            ..NetworkManagerFacts::default()
        })
    }

    fn snapshot() -> Snapshot {
        let mut snap = Snapshot::kernel_only();
        snap.kernel.links = [(2, link(2, "eth0", Some(scope::UNIVERSE)))].into();
        snap
    }

    fn portal(snap: &mut Snapshot) {
        let link = NetworkdLink {
            captive_portal: Some("http://portal.example/".into()),
            ..NetworkdLink::default()
        };
        snap.networkd = Some([(2, link)].into());
    }

    #[test]
    fn nm_connectivity_numbers() {
        let table = [
            (0, NmConnectivity::Unknown),
            (1, NmConnectivity::None),
            (2, NmConnectivity::Portal),
            (3, NmConnectivity::Limited),
            (4, NmConnectivity::Full),
            (5, NmConnectivity::Unknown),
        ];
        for (value, state) in table {
            assert_eq!(NmConnectivity::from_u32(value), state, "{value}");
        }
    }

    /// The precedence, one row per branch of `manager_judgement` and `probe_judgement`.
    #[test]
    fn precedence_table() {
        use ConnectivityProblem as P;
        use HttpProbeState as S;
        use NmConnectivity as C;
        let failed = S::Failed(HttpProbeFailure::Timeout);
        // (manager, probe given, NetworkManager, captive portal, probe state, outcome)
        type Row = (bool, bool, Option<C>, bool, Option<S>, Result<WorksBy, P>);
        let table: Vec<Row> = vec![
            (
                true,
                false,
                Some(C::Full),
                false,
                None,
                Ok(WorksBy::NetworkManager),
            ),
            // NetworkManager wins over the probe and the portal.
            (
                true,
                true,
                Some(C::Portal),
                true,
                Some(S::Succeeded),
                Err(P::NetworkManager(C::Portal)),
            ),
            (
                true,
                false,
                Some(C::Limited),
                false,
                None,
                Err(P::NetworkManager(C::Limited)),
            ),
            (
                true,
                false,
                Some(C::None),
                false,
                None,
                Err(P::NetworkManager(C::None)),
            ),
            // Its check off: the probe decides.
            (
                true,
                true,
                Some(C::Unknown),
                false,
                Some(S::Succeeded),
                Ok(WorksBy::HttpProbe),
            ),
            (
                true,
                true,
                Some(C::Unknown),
                false,
                Some(failed.clone()),
                Err(P::Probe(failed.clone())),
            ),
            (
                true,
                false,
                Some(C::Unknown),
                false,
                None,
                Err(P::NetworkManagerNotChecking),
            ),
            // networkd: a probe that succeeded passed the portal; until then the portal.
            (
                true,
                true,
                None,
                true,
                Some(S::Succeeded),
                Ok(WorksBy::HttpProbe),
            ),
            (
                true,
                true,
                None,
                true,
                Some(failed.clone()),
                Err(P::CaptivePortal {
                    link: "eth0".into(),
                    url: "http://portal.example/".into(),
                }),
            ),
            (true, true, None, false, None, Err(P::Probe(S::NotTried))),
            (
                true,
                false,
                None,
                true,
                None,
                Err(P::CaptivePortal {
                    link: "eth0".into(),
                    url: "http://portal.example/".into(),
                }),
            ),
            (true, false, None, false, None, Err(P::NoSource)),
            // --http-probe alone: only the probe counts.
            (
                false,
                true,
                Some(C::Full),
                false,
                Some(failed.clone()),
                Err(P::Probe(failed.clone())),
            ),
            (
                false,
                true,
                Some(C::Portal),
                true,
                Some(S::Succeeded),
                Ok(WorksBy::HttpProbe),
            ),
        ];
        for (row, (manager, given, networkmanager, has_portal, state, outcome)) in
            table.into_iter().enumerate()
        {
            let mut snap = snapshot();
            snap.networkmanager = networkmanager.and_then(nm);
            if has_portal {
                portal(&mut snap);
            }
            snap.http_probe = state;
            let requirement = ConnectivityRequirement {
                manager,
                probe: if given { probe() } else { None },
            };
            let decided = check(&requirement, &snap).expect("asked");
            assert_eq!(decided.outcome, outcome, "row {row}");
            assert_eq!(decided.manager, manager, "row {row}");
            assert_eq!(
                verdict(&requirement, &snap).online,
                outcome.is_ok(),
                "row {row}"
            );
        }
        assert_eq!(
            check(&ConnectivityRequirement::default(), &snapshot()),
            None
        );
    }

    #[test]
    fn networkmanagers_guess_without_its_check_and_its_view_unread_do_not_count() {
        let manager = ConnectivityRequirement {
            manager: true,
            probe: None,
        };
        let with_probe = ConnectivityRequirement {
            manager: true,
            probe: probe(),
        };
        let mut snap = snapshot();
        snap.networkmanager = nm(NmConnectivity::Full);
        snap.networkmanager.as_mut().unwrap().connectivity_checked = false;
        let outcome = |requirement, snap: &Snapshot| check(requirement, snap).unwrap().outcome;
        assert_eq!(
            outcome(&manager, &snap),
            Err(ConnectivityProblem::NetworkManagerNotChecking)
        );
        // The probe decides instead, and is asked.
        assert!(probe_wanted(&with_probe, &snap));
        snap.http_probe = Some(HttpProbeState::Succeeded);
        assert_eq!(outcome(&with_probe, &snap), Ok(WorksBy::HttpProbe));
        // Not read yet: neither said nor probed.
        snap.networkmanager = Some(NetworkManagerFacts::default());
        snap.http_probe = None;
        assert_eq!(
            outcome(&manager, &snap),
            Err(ConnectivityProblem::NetworkManagerNotRead)
        );
        assert!(!probe_wanted(&with_probe, &snap));
    }

    #[test]
    fn the_probe_is_asked_only_when_it_decides_and_a_link_is_online() {
        let requirement = ConnectivityRequirement {
            manager: true,
            probe: probe(),
        };
        let mut snap = snapshot();
        assert!(probe_wanted(&requirement, &snap));
        // NetworkManager says: no probe.
        snap.networkmanager = nm(NmConnectivity::Limited);
        assert!(!probe_wanted(&requirement, &snap));
        snap.networkmanager = nm(NmConnectivity::Unknown);
        assert!(probe_wanted(&requirement, &snap));
        // Alone, the probe is asked whatever NetworkManager says.
        snap.networkmanager = nm(NmConnectivity::Full);
        let alone = ConnectivityRequirement {
            manager: false,
            probe: probe(),
        };
        assert!(probe_wanted(&alone, &snap));
        // Once it succeeded, never again.
        snap.http_probe = Some(HttpProbeState::Succeeded);
        assert!(!probe_wanted(&alone, &snap));
        // No routable link: nothing to go through.
        let mut down = Snapshot::kernel_only();
        down.kernel.links = [(2, link(2, "eth0", Some(scope::LINK)))].into();
        assert!(!probe_wanted(&alone, &down));
        assert!(!probe_wanted(
            &ConnectivityRequirement::default(),
            &snapshot()
        ));
    }
}
