//! `--reach=HOST:PORT`: a TCP connection to HOST succeeds. The facts are the attempts' results,
//! kept per target by the reach source (`src/reach/`); the decision is here, and so is the
//! schedule of the attempts ([`backoff`]), so that both are tested without a socket. The
//! words are `report/route_reach.rs`.
//!
//! Attempts start only once the interfaces' conditions hold ([`links_hold`]): before that, a
//! connection could only fail, and failing attempts would only fill the backoff (a host that
//! is reachable the moment the links are up would then wait for the next retry). A connection
//! that succeeded counts until the end of the wait, as a `--dns-probe` answer does.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::dns::ProbeFailure;
use super::evaluate::Verdict;
use super::snapshot::Snapshot;

/// Time limit of one attempt: name resolution (when HOST is a name), then the connections
/// (every address at once, the first to succeed wins).
pub const ATTEMPT_LIMIT: Duration = Duration::from_secs(3);
/// The pause after the first failed attempt; it doubles after each further failure.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// The longest pause between attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(8);
/// An attempt never starts sooner than this after the previous one started, whatever changes:
/// a change of the facts may cut a pause short, but churn cannot make attempts spin.
pub const MIN_SPACING: Duration = FIRST_BACKOFF;
/// At most this many of a name's addresses are tried in one attempt.
pub const MAX_ADDRESSES: usize = 4;

/// The pause before the next attempt after `failures` failed attempts in a row (≥ 1):
/// 0.25 s, 0.5 s, 1 s, … up to [`MAX_BACKOFF`].
pub fn backoff(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    (FIRST_BACKOFF * (1u32 << doublings)).min(MAX_BACKOFF)
}

/// What `--reach` connects to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Host {
    Address(IpAddr),
    /// A DNS name, resolved at each attempt.
    Name(String),
}

/// One `--reach=HOST:PORT`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReachTarget {
    pub host: Host,
    pub port: u16,
}

/// `example.org:443`, `192.0.2.1:22`, `[2001:db8::1]:80`: as given on the command line.
impl fmt::Display for ReachTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            Host::Address(IpAddr::V6(v6)) => write!(f, "[{v6}]:{}", self.port),
            Host::Address(v4) => write!(f, "{v4}:{}", self.port),
            Host::Name(name) => write!(f, "{name}:{}", self.port),
        }
    }
}

/// Why one attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReachFailure {
    /// HOST is a name that did not resolve.
    NotResolved(ProbeFailure),
    /// A connection to `address` failed.
    Connect {
        address: SocketAddr,
        error: ConnectError,
    },
}

/// How a connection failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectError {
    /// The host answered with a reset: nothing listens on the port (`ECONNREFUSED`).
    Refused,
    /// No answer within the attempt's time limit (a black hole, a dropping firewall).
    TimedOut,
    /// The kernel has no route, or a router said the host or network is unreachable
    /// (`ENETUNREACH`, `EHOSTUNREACH`).
    NoRoute,
    /// Anything else, in words.
    Other(String),
}

/// What is known about one target.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReachFacts {
    /// Attempts finished so far.
    pub attempts: u32,
    /// The last attempt's result: the address that answered, or why it failed.
    pub last: Option<Result<SocketAddr, ReachFailure>>,
}

/// The decision for one `--reach`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReachCheck {
    pub target: ReachTarget,
    pub result: Result<SocketAddr, ReachProblem>,
}

/// Why a target does not count as reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReachProblem {
    /// No attempt has finished yet; `waiting_for_links`: none may start before the
    /// interfaces' conditions hold.
    NotTried { waiting_for_links: bool },
    /// The last attempt failed (after `attempts` attempts).
    Failed {
        failure: ReachFailure,
        attempts: u32,
    },
}

impl ReachCheck {
    pub fn problem(&self) -> Option<&ReachProblem> {
        self.result.as_ref().err()
    }
}

/// Whether the interfaces' conditions of `verdict` hold (its links, not its other
/// conditions): no link blocks, and without `-i` one is online.
pub fn links_hold(verdict: &Verdict) -> bool {
    verdict.blocking().next().is_none() && !verdict.no_online_link
}

/// Decides `--reach=target` on `snapshot`; `links_hold` says whether attempts may have
/// started.
pub fn check(target: &ReachTarget, snapshot: &Snapshot, links_hold: bool) -> ReachCheck {
    let facts = snapshot.reach.get(target).cloned().unwrap_or_default();
    let result = match facts.last {
        Some(Ok(address)) => Ok(address),
        Some(Err(failure)) => Err(ReachProblem::Failed {
            failure,
            attempts: facts.attempts,
        }),
        None => Err(ReachProblem::NotTried {
            waiting_for_links: !links_hold,
        }),
    };
    ReachCheck {
        target: target.clone(),
        result,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn the_backoff_doubles_from_a_quarter_second_to_its_cap() {
        let table = [
            (1, 250),
            (2, 500),
            (3, 1_000),
            (4, 2_000),
            (5, 4_000),
            (6, 8_000),
            (7, 8_000),
            (40, 8_000),
            (u32::MAX, 8_000),
        ];
        for (failures, millis) in table {
            assert_eq!(
                backoff(failures),
                Duration::from_millis(millis),
                "{failures}"
            );
        }
        // Attempts in the first 10 s against a black hole: each takes ATTEMPT_LIMIT.
        let mut at = Duration::ZERO;
        let mut attempts = 0;
        while at < Duration::from_secs(10) {
            attempts += 1;
            at += ATTEMPT_LIMIT + backoff(attempts);
        }
        assert_eq!(attempts, 3);
    }

    #[test]
    fn targets_are_said_as_given() {
        let target = |host, port| ReachTarget { host, port }.to_string();
        assert_eq!(
            target(Host::Address("2001:db8::1".parse().unwrap()), 80),
            "[2001:db8::1]:80"
        );
        assert_eq!(
            target(Host::Address(Ipv4Addr::new(192, 0, 2, 1).into()), 22),
            "192.0.2.1:22"
        );
        assert_eq!(
            target(Host::Name("example.org".into()), 443),
            "example.org:443"
        );
    }

    #[test]
    fn decision_follows_the_last_attempt() {
        let target = ReachTarget {
            host: Host::Name("example.org".into()),
            port: 443,
        };
        let mut snap = Snapshot::kernel_only();
        assert_eq!(
            check(&target, &snap, false).result,
            Err(ReachProblem::NotTried {
                waiting_for_links: true
            })
        );
        assert_eq!(
            check(&target, &snap, true).result,
            Err(ReachProblem::NotTried {
                waiting_for_links: false
            })
        );
        let address: SocketAddr = "192.0.2.1:443".parse().unwrap();
        let refused = ReachFailure::Connect {
            address,
            error: ConnectError::Refused,
        };
        snap.reach.insert(
            target.clone(),
            ReachFacts {
                attempts: 2,
                last: Some(Err(refused.clone())),
            },
        );
        assert_eq!(
            check(&target, &snap, true).result,
            Err(ReachProblem::Failed {
                failure: refused,
                attempts: 2
            })
        );
        snap.reach.insert(
            target.clone(),
            ReachFacts {
                attempts: 3,
                last: Some(Ok(address)),
            },
        );
        assert_eq!(check(&target, &snap, true).result, Ok(address));
    }
}
