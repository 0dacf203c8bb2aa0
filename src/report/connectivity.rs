//! The Internet's decision in words (`--require-connectivity`, `--http-probe`): the timeout
//! line, the `--explain` row, `STATUS=`, the hold-up record and the JSON condition.

use std::fmt;

use crate::core::connectivity::{
    Connectivity, ConnectivityProblem, HttpProbeFailure, HttpProbeState, NmConnectivity, WorksBy,
};
use crate::text::{excerpt, one_line};

impl Connectivity {
    /// The condition in a few words, where a line names what is awaited (`STATUS=`, the
    /// hold-up record, the `--explain` heading).
    pub fn subject(&self) -> &'static str {
        match self.manager {
            true => "Internet connectivity",
            false => "HTTP probe",
        }
    }

    /// The JSON condition's kind.
    pub fn kind(&self) -> &'static str {
        match self.manager {
            true => "connectivity",
            false => "http-probe",
        }
    }

    /// What is missing, in a few words (`STATUS=`).
    pub fn short(&self) -> String {
        let Err(problem) = &self.outcome else {
            return "works".into();
        };
        match problem {
            ConnectivityProblem::NetworkManager(NmConnectivity::Portal) => "captive portal".into(),
            ConnectivityProblem::NetworkManager(NmConnectivity::Limited) => {
                "limited connectivity".into()
            }
            ConnectivityProblem::NetworkManager(_) => "no connectivity".into(),
            ConnectivityProblem::CaptivePortal { link, .. } => {
                format!("captive portal on {}", one_line(link))
            }
            ConnectivityProblem::Probe(HttpProbeState::Failed(HttpProbeFailure::Redirect {
                ..
            })) => "redirected: captive portal or proxy".into(),
            ConnectivityProblem::Probe(HttpProbeState::Failed(
                HttpProbeFailure::UnexpectedBody(_),
            )) => "unexpected answer: captive portal or proxy".into(),
            ConnectivityProblem::Probe(HttpProbeState::Failed(_)) => "HTTP probe failing".into(),
            ConnectivityProblem::Probe(_) => "HTTP probe not answered yet".into(),
            ConnectivityProblem::NetworkManagerNotChecking => {
                "NetworkManager does not check it".into()
            }
            ConnectivityProblem::NetworkManagerNotRead => "NetworkManager not read yet".into(),
            ConnectivityProblem::NoSource => "nothing can say".into(),
        }
    }
}

/// The decision in words: what says the Internet works, or why it does not count as working.
impl fmt::Display for Connectivity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = self.probe_url.as_deref().map(excerpt).unwrap_or_default();
        match (&self.outcome, self.manager) {
            (Ok(WorksBy::NetworkManager), _) => {
                f.write_str("the Internet works (NetworkManager's connectivity is full)")
            }
            (Ok(WorksBy::HttpProbe), true) => {
                write!(f, "the Internet works (HTTP probe {url} succeeded)")
            }
            (Ok(WorksBy::HttpProbe), false) => write!(f, "HTTP probe {url} succeeded"),
            (Err(ConnectivityProblem::Probe(state)), manager) => {
                if manager {
                    f.write_str("no Internet: ")?;
                }
                match state {
                    HttpProbeState::Failed(failure) => {
                        write!(f, "HTTP probe {url} failed: {failure}")
                    }
                    _ => write!(f, "HTTP probe {url} has not answered yet"),
                }
            }
            (Err(problem), _) => write!(f, "no Internet: {problem}"),
        }
    }
}

impl fmt::Display for ConnectivityProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectivityProblem::NetworkManager(NmConnectivity::Portal) => f.write_str(
                "NetworkManager reports a captive portal (its connectivity check got another answer than expected)",
            ),
            ConnectivityProblem::NetworkManager(NmConnectivity::Limited) => f.write_str(
                "NetworkManager reports limited connectivity (a network, but its connectivity check's server was not reached)",
            ),
            ConnectivityProblem::NetworkManager(_) => {
                f.write_str("NetworkManager reports no connectivity")
            }
            ConnectivityProblem::CaptivePortal { link, url } => write!(
                f,
                "captive portal on {}: {} (learnt by systemd-networkd)",
                one_line(link),
                excerpt(url)
            ),
            ConnectivityProblem::Probe(HttpProbeState::Failed(failure)) => {
                write!(f, "the HTTP probe failed: {failure}")
            }
            ConnectivityProblem::Probe(_) => f.write_str("the HTTP probe has not answered yet"),
            ConnectivityProblem::NetworkManagerNotChecking => f.write_str(
                "NetworkManager does not check connectivity (set [connectivity] uri= in NetworkManager.conf, or add --http-probe=URL)",
            ),
            ConnectivityProblem::NetworkManagerNotRead => {
                f.write_str("NetworkManager's view is not read yet")
            }
            ConnectivityProblem::NoSource => f.write_str(
                "nothing can say whether it works (NetworkManager is not running; add --http-probe=URL)",
            ),
        }
    }
}

impl fmt::Display for HttpProbeFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpProbeFailure::Resolve(err) => {
                write!(f, "its host name does not resolve ({})", excerpt(err))
            }
            HttpProbeFailure::Connect(err) => write!(f, "no connection ({})", excerpt(err)),
            HttpProbeFailure::Timeout => f.write_str("no answer in time"),
            HttpProbeFailure::Redirect { status, location } => {
                write!(f, "redirected ({status}")?;
                if let Some(location) = location {
                    write!(f, " to {}", excerpt(location))?;
                }
                f.write_str("): a captive portal or a filtering proxy")
            }
            HttpProbeFailure::Status(status) => write!(f, "answered with status {status}"),
            HttpProbeFailure::UnexpectedBody(body) => write!(
                f,
                "the answer does not start with the expected text (it starts with \"{}\"): a captive portal or a filtering proxy",
                excerpt(body)
            ),
            HttpProbeFailure::Malformed(err) => f.write_str(&excerpt(err)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decided(manager: bool, outcome: Result<WorksBy, ConnectivityProblem>) -> Connectivity {
        Connectivity {
            manager,
            probe_url: Some("http://10.77.0.1/check".into()),
            outcome,
        }
    }

    #[test]
    fn each_outcome_in_words() {
        use ConnectivityProblem as P;
        let redirect = HttpProbeState::Failed(HttpProbeFailure::Redirect {
            status: 302,
            location: Some("http://portal.example/login".into()),
        });
        let table = [
            (
                decided(true, Ok(WorksBy::NetworkManager)),
                "the Internet works (NetworkManager's connectivity is full)",
                "works",
            ),
            (
                decided(false, Ok(WorksBy::HttpProbe)),
                "HTTP probe http://10.77.0.1/check succeeded",
                "works",
            ),
            (
                decided(true, Err(P::NetworkManager(NmConnectivity::Portal))),
                "no Internet: NetworkManager reports a captive portal (its connectivity check got another answer than expected)",
                "captive portal",
            ),
            (
                decided(true, Err(P::NetworkManager(NmConnectivity::Limited))),
                "no Internet: NetworkManager reports limited connectivity (a network, but its connectivity check's server was not reached)",
                "limited connectivity",
            ),
            (
                decided(
                    true,
                    Err(P::CaptivePortal {
                        link: "wo0".into(),
                        url: "http://10.77.0.1/portal".into(),
                    }),
                ),
                "no Internet: captive portal on wo0: http://10.77.0.1/portal (learnt by systemd-networkd)",
                "captive portal on wo0",
            ),
            (
                decided(false, Err(P::Probe(redirect.clone()))),
                "HTTP probe http://10.77.0.1/check failed: redirected (302 to http://portal.example/login): a captive portal or a filtering proxy",
                "redirected: captive portal or proxy",
            ),
            (
                decided(true, Err(P::Probe(redirect))),
                "no Internet: HTTP probe http://10.77.0.1/check failed: redirected (302 to http://portal.example/login): a captive portal or a filtering proxy",
                "redirected: captive portal or proxy",
            ),
            (
                decided(false, Err(P::Probe(HttpProbeState::NotTried))),
                "HTTP probe http://10.77.0.1/check has not answered yet",
                "HTTP probe not answered yet",
            ),
            (
                decided(
                    false,
                    Err(P::Probe(HttpProbeState::Failed(
                        HttpProbeFailure::UnexpectedBody("<html>\n".into()),
                    ))),
                ),
                "HTTP probe http://10.77.0.1/check failed: the answer does not start with the expected text (it starts with \"<html>\\n\"): a captive portal or a filtering proxy",
                "unexpected answer: captive portal or proxy",
            ),
        ];
        for (connectivity, line, short) in table {
            assert_eq!(connectivity.to_string(), line);
            assert_eq!(connectivity.short(), short, "{line}");
        }
    }

    /// Every place the words go: STATUS=, the hold-up record, `--explain` (also under
    /// Ubuntu's definition, under a heading of its own) and the JSON condition.
    #[test]
    fn the_condition_in_status_holdups_explain_and_json() {
        use std::collections::BTreeMap;
        use std::time::Duration;

        use crate::core::Requirements;
        use crate::core::connectivity::{ConnectivityRequirement, HttpProbe};
        use crate::core::goal::{Goal, UbuntuDefinition};
        use crate::core::link::scope;
        use crate::core::{Snapshot, fixtures};
        use crate::report::holdup::HoldUps;
        use crate::report::{Report, status, view};

        let requirement = ConnectivityRequirement {
            manager: false,
            probe: Some(Box::new(HttpProbe {
                url: "http://10.77.0.1/check".into(),
                host: "10.77.0.1".into(),
                port: 80,
                target: "/check".into(),
                expect: None,
            })),
        };
        let goal = Goal::Upstream(Requirements {
            connectivity: requirement.clone(),
            ..Requirements::default()
        });
        let mut snap = Snapshot::kernel_only();
        snap.kernel.links = [(2, fixtures::link(2, "eth0", true, Some(scope::UNIVERSE)))].into();
        snap.http_probe = Some(HttpProbeState::Failed(HttpProbeFailure::Redirect {
            status: 302,
            location: None,
        }));
        let verdict = goal.evaluate(&snap);
        assert!(!verdict.online);
        assert_eq!(
            status::waiting_for(&verdict),
            "Waiting for HTTP probe (redirected: captive portal or proxy)"
        );
        let lines = view::render(&verdict, &[], None, &BTreeMap::new());
        assert_eq!(
            lines.last().unwrap(),
            "  unmet: HTTP probe http://10.77.0.1/check failed: redirected (302): a captive portal or a filtering proxy"
        );
        let mut record = HoldUps::default();
        record.observe(&verdict, Duration::from_millis(5));
        snap.http_probe = Some(HttpProbeState::Succeeded);
        let online = goal.evaluate(&snap);
        assert!(online.online);
        record.observe(&online, Duration::from_millis(2_500));
        let (line, _) = record.summary(Duration::from_millis(2_500)).unwrap();
        assert!(
            line.contains("HTTP probe (redirected: captive portal or proxy until 2.5s)"),
            "{line}"
        );
        let report = Report::new("online", 2_500, "upstream", "none", Some(&online), &[]);
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(
            json["conditions"],
            serde_json::json!([{
                "kind": "http-probe",
                "met": true,
                "reason": "HTTP probe http://10.77.0.1/check succeeded",
            }])
        );
        // Under Ubuntu's definition: a heading of its own, and the success shown.
        let ubuntu = Goal::Ubuntu(UbuntuDefinition {
            link_local: Requirements::default(),
            routable: Requirements::default(),
            time_sync: false,
            connectivity: ConnectivityRequirement {
                manager: true,
                ..requirement
            },
        });
        let lines = view::render(&ubuntu.evaluate(&snap), &[], None, &BTreeMap::new());
        let n = lines.len();
        assert_eq!(
            lines[n - 2..],
            [
                "Internet connectivity:",
                "  the Internet works (HTTP probe http://10.77.0.1/check succeeded)"
            ],
            "{lines:?}"
        );
    }
}
