//! The source of `--reach=HOST:PORT`: TCP connection attempts, each bounded
//! ([`ATTEMPT_LIMIT`]: name resolution, then a connection to each of the name's first
//! addresses at once), after a failure retried with backoff ([`backoff`]), and sooner when
//! facts that matter to a connection change (links, addresses, routes, DNS, a manager's
//! view), never sooner than [`MIN_SPACING`] after the previous attempt started. Attempts
//! start only when the interfaces' conditions hold ([`links_hold`]; why: see
//! [`crate::core::reach`]). A connection that succeeds is closed at once; nothing is sent
//! on it.
//!
//! Names are resolved like `--dns-probe` without systemd-resolved, with hickory-resolver
//! straight to the `nameserver`s of /etc/resolv.conf, read again at each attempt. resolved's
//! stub (127.0.0.53) is kept there, so where resolv.conf names it (the usual set-up with
//! resolved) the name is resolved by resolved, through its DNS stub; no bus connection is
//! made for it.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::bounded_read::{self, RESOLV_CONF_CAP};
use crate::core::Snapshot;
use crate::core::dns::ProbeFailure;
use crate::core::goal::{Goal, GoalVerdict};
use crate::core::reach::{
    ATTEMPT_LIMIT, ConnectError, Host, MAX_ADDRESSES, MIN_SPACING, ReachFailure, ReachTarget,
    backoff, links_hold,
};
use crate::dns::RESOLV_CONF;
use crate::dns::probe::{self, ProbeRoute};
use crate::engine::EngineError;
use crate::engine::source::{Facts, Source};
use crate::sys::{BoottimeTimer, boottime_now, expired};

type Attempt = Result<SocketAddr, ReachFailure>;

/// What one target waits for: an attempt to finish, or a pause to end.
enum Pending {
    Attempt(Pin<Box<dyn Future<Output = Attempt>>>),
    Pause(Pin<Box<dyn Future<Output = ()>>>),
}

struct Target {
    target: ReachTarget,
    pending: Option<Pending>,
    /// Failed attempts in a row.
    failures: u32,
    /// CLOCK_BOOTTIME when the last attempt started.
    last_start: Option<Duration>,
    reached: bool,
}

/// What woke the source up: target `.0`'s attempt finished, or its pause ended.
pub enum ReachEvent {
    Done(usize, Attempt),
    PauseOver(usize),
}

/// See the module documentation.
pub struct ReachSource {
    targets: Vec<Target>,
    /// The interfaces' conditions held at the last decision: attempts may start.
    allowed: bool,
    /// Facts that matter to a connection changed since the last decision.
    relevant_change: bool,
    /// [`network_shape`] when the kernel's facts last changed.
    shape: Option<u64>,
    resolv_conf: PathBuf,
}

impl ReachSource {
    pub fn new(targets: Vec<ReachTarget>) -> ReachSource {
        ReachSource::with_resolv_conf(targets, PathBuf::from(RESOLV_CONF))
    }

    /// With the servers of another resolv.conf (tests).
    pub fn with_resolv_conf(targets: Vec<ReachTarget>, resolv_conf: PathBuf) -> ReachSource {
        ReachSource {
            targets: targets
                .into_iter()
                .map(|target| Target {
                    target,
                    pending: None,
                    failures: 0,
                    last_start: None,
                    reached: false,
                })
                .collect(),
            allowed: false,
            relevant_change: false,
            shape: None,
            resolv_conf,
        }
    }

    /// Starts an attempt for target `index`.
    fn start(&mut self, index: usize) {
        let servers = match &self.targets[index].target.host {
            Host::Name(_) => self.servers(),
            Host::Address(_) => Vec::new(),
        };
        let target = &mut self.targets[index];
        target.last_start = Some(boottime_now());
        tracing::debug!("--reach: connecting to {}", target.target);
        target.pending = Some(Pending::Attempt(Box::pin(attempt(
            target.target.clone(),
            servers,
        ))));
    }

    /// Waits `after`, then lets target `index` try again.
    fn pause(&mut self, index: usize, after: Duration) {
        let pending = match BoottimeTimer::new(after) {
            Ok(timer) => Pending::Pause(Box::pin(async move { expired(Some(&timer)).await })),
            Err(err) => {
                // Without a timer only a change of the facts tries again.
                tracing::warn!("--reach: cannot arm the retry timer: {err}");
                return;
            }
        };
        self.targets[index].pending = Some(pending);
    }

    /// The name servers of resolv.conf (an unreadable file names none: the attempt then
    /// fails as not resolved, and says so).
    fn servers(&self) -> Vec<IpAddr> {
        match bounded_read::read(&self.resolv_conf, RESOLV_CONF_CAP) {
            Ok(bytes) => crate::dns::resolv_conf::query_servers(&bytes),
            Err(err) => {
                tracing::debug!("--reach: {err}");
                Vec::new()
            }
        }
    }

    /// The interfaces' conditions hold (`allowed`): every target without an attempt in flight
    /// tries now, or, when facts changed since it failed, as soon as [`MIN_SPACING`] allows.
    fn kick(&mut self) {
        let now = boottime_now();
        for index in 0..self.targets.len() {
            let target = &self.targets[index];
            if target.reached || matches!(target.pending, Some(Pending::Attempt(_))) {
                continue;
            }
            let pausing = target.pending.is_some();
            if pausing && !self.relevant_change {
                continue;
            }
            let since = target
                .last_start
                .map_or(MIN_SPACING, |s| now.saturating_sub(s));
            match since >= MIN_SPACING {
                true => self.start(index),
                false => self.pause(index, MIN_SPACING - since),
            }
        }
    }
}

/// One attempt: resolve (a name), then connect to up to [`MAX_ADDRESSES`] of its addresses
/// at once; the first connection wins and is closed. Everything within [`ATTEMPT_LIMIT`].
async fn attempt(target: ReachTarget, servers: Vec<IpAddr>) -> Attempt {
    let deadline = Instant::now() + ATTEMPT_LIMIT;
    let addresses = match target.host {
        Host::Address(address) => vec![address],
        Host::Name(name) => probe::attempt(name, ProbeRoute::Servers(servers), ATTEMPT_LIMIT)
            .await
            .map_err(ReachFailure::NotResolved)?,
    };
    if addresses.is_empty() {
        return Err(ReachFailure::NotResolved(ProbeFailure::Other(
            "no address".to_string(),
        )));
    }
    let connections = addresses.into_iter().take(MAX_ADDRESSES).map(|ip| {
        let address = SocketAddr::new(ip, target.port);
        Box::pin(async move {
            let error = match tokio::time::timeout_at(deadline, TcpStream::connect(address)).await {
                Ok(Ok(_stream)) => return Ok(address),
                Ok(Err(err)) => connect_error(&err),
                Err(_) => ConnectError::TimedOut,
            };
            Err(ReachFailure::Connect { address, error })
        })
    });
    futures::future::select_ok(connections)
        .await
        .map(|(address, _)| address)
}

/// A digest of the kernel's facts that matter to a connection: the links' flags and
/// addresses, and the routes.
fn network_shape(snapshot: &Snapshot) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for link in snapshot.kernel.links.values() {
        (link.ifindex, link.flags).hash(&mut hasher);
        for address in &link.addresses {
            (address.address, address.prefix_len, address.flags).hash(&mut hasher);
        }
    }
    snapshot.kernel.routes.hash(&mut hasher);
    hasher.finish()
}

fn connect_error(err: &io::Error) -> ConnectError {
    match err.raw_os_error() {
        Some(libc::ECONNREFUSED) => ConnectError::Refused,
        Some(libc::ETIMEDOUT) => ConnectError::TimedOut,
        Some(libc::ENETUNREACH | libc::EHOSTUNREACH) => ConnectError::NoRoute,
        _ => ConnectError::Other(err.to_string()),
    }
}

impl Source for ReachSource {
    type Event = ReachEvent;
    const FACTS: Facts = Facts::Reach;

    /// Cancel-safe: a target's attempt or pause is taken only in the poll that finds it done.
    async fn next(&mut self) -> Result<ReachEvent, EngineError> {
        let targets = &mut self.targets;
        let event = std::future::poll_fn(|cx| {
            for (index, target) in targets.iter_mut().enumerate() {
                let event = match &mut target.pending {
                    Some(Pending::Attempt(future)) => match future.as_mut().poll(cx) {
                        Poll::Ready(result) => ReachEvent::Done(index, result),
                        Poll::Pending => continue,
                    },
                    Some(Pending::Pause(future)) => match future.as_mut().poll(cx) {
                        Poll::Ready(()) => ReachEvent::PauseOver(index),
                        Poll::Pending => continue,
                    },
                    None => continue,
                };
                target.pending = None;
                return Poll::Ready(event);
            }
            Poll::Pending
        })
        .await;
        Ok(event)
    }

    fn apply(&mut self, event: ReachEvent, snapshot: &mut Snapshot, _: &Goal) -> bool {
        match event {
            ReachEvent::Done(index, result) => {
                let target = &mut self.targets[index];
                let facts = snapshot.reach.entry(target.target.clone()).or_default();
                facts.attempts += 1;
                match &result {
                    Ok(address) => {
                        tracing::debug!("--reach: {} answered at {address}", target.target);
                        target.reached = true;
                    }
                    Err(failure) => {
                        target.failures += 1;
                        let after = backoff(target.failures);
                        tracing::debug!(
                            "--reach: {} failed ({failure:?}); next attempt in {after:?}",
                            target.target
                        );
                        self.pause(index, after);
                    }
                }
                facts.last = Some(result);
                true
            }
            ReachEvent::PauseOver(index) => {
                if self.allowed {
                    self.start(index);
                }
                false
            }
        }
    }

    /// Links, addresses, routes, DNS or a manager's view changed: a paused target may try
    /// again sooner. Of the kernel's facts, neighbour entries do not count: an attempt
    /// changes them itself, and would then make the next one start early, and so on.
    fn others_changed(&mut self, changed: Facts, snapshot: &mut Snapshot, _: &Goal) -> bool {
        match changed {
            Facts::Kernel => {
                let shape = network_shape(snapshot);
                self.relevant_change |= self.shape != Some(shape);
                self.shape = Some(shape);
            }
            Facts::Networkd | Facts::NetworkManager | Facts::Dns => self.relevant_change = true,
            _ => {}
        }
        false
    }

    fn decided(&mut self, _: &Snapshot, verdict: &GoalVerdict) {
        self.allowed = verdict.verdicts.iter().all(|(_, v)| links_hold(v));
        if self.allowed {
            self.kick();
        }
        self.relevant_change = false;
    }
}
