//! `--require-route` and `--reach` in words: the timeout line (the `Display` of the checks),
//! the few words of `STATUS=` and the hold-up record ([`RouteCheck::short`],
//! [`ReachCheck::short`]), and the `--explain` line of a check that holds.

use std::fmt;

use crate::core::dns::ProbeFailure;
use crate::core::reach::{ConnectError, ReachCheck, ReachFailure, ReachProblem};
use crate::core::route::{Prefix, kind};
use crate::core::route_to::{RouteCheck, RouteChoice, RouteToProblem, table_name};

/// `192.0.2.1`, `192.0.2.0/24`: a host without its length, as it was given.
impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.is_host() {
            true => write!(f, "{}", self.address),
            false => write!(f, "{}/{}", self.address, self.len),
        }
    }
}

/// The route type as `ip route` names it.
fn kind_name(kind: u8) -> String {
    match kind {
        kind::BLACKHOLE => "blackhole".to_string(),
        kind::UNREACHABLE => "unreachable".to_string(),
        kind::PROHIBIT => "prohibit".to_string(),
        other => format!("type {other}"),
    }
}

impl RouteCheck {
    /// The subject and what is missing in a few words (`STATUS=`, the hold-up record):
    /// `route to 192.0.2.1 (no route)`.
    pub fn short(&self) -> String {
        let why = match &self.result {
            Ok(_) => "present".to_string(),
            Err(RouteToProblem::NoRoute) => "no route".to_string(),
            Err(RouteToProblem::Rejected { kind, .. }) => kind_name(*kind),
            Err(RouteToProblem::NotThroughOnline { via, .. }) => {
                format!("via {}, not online", via.join(", "))
            }
        };
        format!("route to {} ({why})", self.target)
    }
}

/// The timeout line when it does not hold, the `--explain` line when it does.
impl fmt::Display for RouteCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let target = self.target;
        match &self.result {
            Ok(RouteChoice::Local) => {
                write!(f, "route to {target}: it is this machine's own address")
            }
            Ok(RouteChoice::Through {
                interface,
                gateway,
                table,
            }) => {
                write!(f, "route to {target}: ")?;
                if let Some(gateway) = gateway {
                    write!(f, "via {gateway} ")?;
                }
                write!(f, "dev {interface} (table {})", table_name(*table))
            }
            Err(RouteToProblem::NoRoute) => write!(
                f,
                "no route to {target}: no route in the kernel's tables covers it"
            ),
            Err(RouteToProblem::Rejected { kind, table }) => write!(
                f,
                "no route to {target}: the kernel's route for it is {} (table {})",
                kind_name(*kind),
                table_name(*table)
            ),
            Err(RouteToProblem::NotThroughOnline { via, table }) => write!(
                f,
                "the route to {target} goes through {} (table {}), which is not online",
                via.join(", "),
                table_name(*table)
            ),
        }
    }
}

impl fmt::Display for ReachFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReachFailure::NotResolved(failure) => write!(f, "name not resolved: {failure}"),
            ReachFailure::Connect { address, error } => match error {
                ConnectError::Refused => write!(f, "connection to {address} refused"),
                ConnectError::TimedOut => write!(f, "connection to {address} timed out"),
                ConnectError::NoRoute => write!(f, "no route to {address}"),
                ConnectError::Other(words) => write!(f, "connection to {address} failed: {words}"),
            },
        }
    }
}

impl ReachFailure {
    /// In two or three words (`STATUS=`).
    fn short(&self) -> &'static str {
        match self {
            ReachFailure::NotResolved(ProbeFailure::NxDomain) => "no such name",
            ReachFailure::NotResolved(_) => "name not resolved",
            ReachFailure::Connect { error, .. } => match error {
                ConnectError::Refused => "refused",
                ConnectError::TimedOut => "timed out",
                ConnectError::NoRoute => "no route",
                ConnectError::Other(_) => "failed",
            },
        }
    }
}

impl ReachCheck {
    /// The subject and what is missing in a few words (`STATUS=`, the hold-up record):
    /// `example.org:443 (refused)`.
    pub fn short(&self) -> String {
        let why = match &self.result {
            Ok(_) => "reached",
            Err(ReachProblem::NotTried {
                waiting_for_links: true,
            }) => "waiting for the interfaces",
            Err(ReachProblem::NotTried { .. }) => "connecting",
            Err(ReachProblem::Failed { failure, .. }) => failure.short(),
        };
        format!("{} ({why})", self.target)
    }
}

/// The timeout line when it is not reached, the `--explain` line when it is.
impl fmt::Display for ReachCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let target = &self.target;
        match &self.result {
            Ok(address) => write!(f, "{target} reached (TCP connection to {address})"),
            Err(ReachProblem::NotTried {
                waiting_for_links: true,
            }) => write!(
                f,
                "{target} not tried yet: connections start once the interfaces are online"
            ),
            Err(ReachProblem::NotTried { .. }) => {
                write!(
                    f,
                    "{target} not reached yet: the first connection is under way"
                )
            }
            Err(ReachProblem::Failed { failure, attempts }) => {
                let s = if *attempts == 1 { "" } else { "s" };
                write!(f, "{target} not reached: {failure} ({attempts} attempt{s})")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::reach::{Host, ReachTarget};
    use std::net::SocketAddr;

    #[test]
    fn reach_lines_name_the_host_the_port_and_the_last_failure() {
        let target = ReachTarget {
            host: Host::Name("example.org".into()),
            port: 443,
        };
        let address: SocketAddr = "[2001:db8::1]:443".parse().unwrap();
        let failed = |failure, attempts| ReachCheck {
            target: target.clone(),
            result: Err(ReachProblem::Failed { failure, attempts }),
        };
        let refused = failed(
            ReachFailure::Connect {
                address,
                error: ConnectError::Refused,
            },
            3,
        );
        assert_eq!(
            refused.to_string(),
            "example.org:443 not reached: connection to [2001:db8::1]:443 refused (3 attempts)"
        );
        assert_eq!(refused.short(), "example.org:443 (refused)");
        let unresolved = failed(ReachFailure::NotResolved(ProbeFailure::NxDomain), 1);
        assert_eq!(unresolved.short(), "example.org:443 (no such name)");
        assert!(
            unresolved
                .to_string()
                .starts_with("example.org:443 not reached: name not resolved: ")
        );
        let waiting = ReachCheck {
            target: target.clone(),
            result: Err(ReachProblem::NotTried {
                waiting_for_links: true,
            }),
        };
        assert_eq!(
            waiting.short(),
            "example.org:443 (waiting for the interfaces)"
        );
        let reached = ReachCheck {
            target,
            result: Ok(address),
        };
        assert_eq!(
            reached.to_string(),
            "example.org:443 reached (TCP connection to [2001:db8::1]:443)"
        );
    }

    #[test]
    fn route_lines_name_the_destination_and_the_route() {
        let target = Prefix::new("192.0.2.0".parse().unwrap(), 24).unwrap();
        let check = |result| RouteCheck { target, result };
        assert_eq!(
            check(Err(RouteToProblem::NoRoute)).to_string(),
            "no route to 192.0.2.0/24: no route in the kernel's tables covers it"
        );
        let elsewhere = check(Err(RouteToProblem::NotThroughOnline {
            via: vec!["wo1".into()],
            table: 254,
        }));
        assert_eq!(
            elsewhere.to_string(),
            "the route to 192.0.2.0/24 goes through wo1 (table main), which is not online"
        );
        assert_eq!(
            elsewhere.short(),
            "route to 192.0.2.0/24 (via wo1, not online)"
        );
        assert_eq!(
            check(Err(RouteToProblem::Rejected {
                kind: kind::UNREACHABLE,
                table: 254
            }))
            .to_string(),
            "no route to 192.0.2.0/24: the kernel's route for it is unreachable (table main)"
        );
        assert_eq!(
            check(Ok(RouteChoice::Through {
                interface: "wo0".into(),
                gateway: Some("10.0.0.1".parse().unwrap()),
                table: 254
            }))
            .to_string(),
            "route to 192.0.2.0/24: via 10.0.0.1 dev wo0 (table main)"
        );
        let host = Prefix::host("192.0.2.1".parse().unwrap());
        assert_eq!(
            RouteCheck {
                target: host,
                result: Err(RouteToProblem::NoRoute)
            }
            .short(),
            "route to 192.0.2.1 (no route)"
        );
    }

    #[test]
    fn status_and_json_name_each_route_and_target() {
        use crate::core::goal::Goal;
        use crate::core::{Requirements, Snapshot};
        let goal = Goal::Upstream(Requirements {
            routes: vec![Prefix::host("192.0.2.1".parse().unwrap())],
            reach: vec![ReachTarget {
                host: Host::Name("example.org".into()),
                port: 443,
            }],
            ..Requirements::default()
        });
        let verdict = goal.evaluate(&Snapshot::kernel_only());
        assert!(!verdict.online);
        assert_eq!(
            crate::report::status::waiting_for(&verdict),
            "Waiting for route to 192.0.2.1 (no route), example.org:443 (waiting for the interfaces)"
        );
        let json =
            crate::report::Report::new("timeout", 0, "upstream", "none", Some(&verdict), &[]);
        let kinds: Vec<(&str, bool)> = json.conditions.iter().map(|c| (c.kind, c.met)).collect();
        assert_eq!(kinds, [("route", false), ("reach", false)]);
        // Without the options, no condition: upstream's document is unchanged.
        let plain = Goal::Upstream(Requirements::default()).evaluate(&Snapshot::kernel_only());
        let json = crate::report::Report::new("timeout", 0, "upstream", "none", Some(&plain), &[]);
        assert!(json.conditions.is_empty());
    }
}
