//! The DNS adapter for `--dns` and `--dns-probe`: DNS configuration from systemd-resolved over
//! D-Bus (or, without resolved, from /etc/resolv.conf), server accessibility from the kernel,
//! and the probe query. It fills [`DnsFacts`]; the core decides.

pub mod access;
pub mod probe;
pub mod resolv_conf;
pub mod resolved;

use std::future::Future;
use std::net::IpAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

use futures::stream::SelectAll;
use zbus::MessageStream;

use crate::core::dns::{DnsFacts, DnsScope, DnsServer, DnsSource, ProbeFailure, ProbeState};
use crate::sys::BoottimeTimer;
use probe::ProbeRoute;
use resolved::{ResolvedClient, ScopeConfig};

/// Where the fallback reads name servers.
pub const RESOLV_CONF: &str = "/etc/resolv.conf";
/// Time limit of one probe attempt.
const PROBE_ATTEMPT_LIMIT: Duration = Duration::from_secs(2);
/// First and longest pause between failed probe attempts.
const PROBE_BACKOFF: (Duration, Duration) = (Duration::from_millis(250), Duration::from_secs(4));
/// First and longest pause before asking a bus or resolved that did not answer again.
const STALL_BACKOFF: (Duration, Duration) = (Duration::from_millis(500), Duration::from_secs(4));

type ProbeFuture = Pin<Box<dyn Future<Output = Result<Vec<IpAddr>, ProbeFailure>>>>;

/// What woke the DNS adapter up.
pub enum DnsEvent {
    /// resolved's configuration or presence may have changed: refresh.
    ResolvedChanged,
    /// The bus connection ended: no more resolved signals.
    BusGone,
    /// A probe attempt finished.
    ProbeDone(Result<Vec<IpAddr>, ProbeFailure>),
    /// The pause after a failed probe is over: try again.
    ProbeRetry,
    /// The pause after the bus or resolved did not answer in time is over: ask again.
    RefreshRetry,
}

/// Gathers DNS facts; see the module documentation.
pub struct DnsWatcher {
    client: Option<ResolvedClient>,
    changes: Option<SelectAll<MessageStream>>,
    resolv_conf: PathBuf,
    probe_name: Option<String>,
    in_flight: Option<ProbeFuture>,
    retry: Option<BoottimeTimer>,
    backoff: Duration,
    /// The bus (at connection) or resolved (at a call) did not answer within the limit: the
    /// facts come from resolv.conf meanwhile, and `refresh_retry` asks again.
    stalled: bool,
    /// The bus connection timed out: connect again at the next refresh.
    reconnect: bool,
    refresh_retry: Option<BoottimeTimer>,
    stall_backoff: Duration,
    announced: Option<(DnsSource, bool)>,
}

impl DnsWatcher {
    /// Connects to the system bus and subscribes to resolved's changes, within `limit` (a
    /// wedged bus must not hold the wait past its deadline). Without a bus the watcher still
    /// works, on /etc/resolv.conf alone.
    pub async fn start(probe_name: Option<String>, limit: Duration) -> DnsWatcher {
        let mut watcher = DnsWatcher {
            client: None,
            changes: None,
            resolv_conf: PathBuf::from(RESOLV_CONF),
            probe_name,
            in_flight: None,
            retry: None,
            backoff: PROBE_BACKOFF.0,
            stalled: false,
            reconnect: false,
            refresh_retry: None,
            stall_backoff: STALL_BACKOFF.0,
            announced: None,
        };
        watcher.connect(limit).await;
        watcher
    }

    /// Connects to the system bus and subscribes to resolved's changes, within `limit`. A
    /// bus that does not answer is asked again later; a missing bus is not (it cannot
    /// appear without a change resolved would announce once connected to it).
    async fn connect(&mut self, limit: Duration) {
        let connect = async {
            let client = ResolvedClient::connect().await?;
            let changes = client.changes().await?;
            Ok::<_, zbus::Error>((client, changes))
        };
        match tokio::time::timeout(limit, connect).await {
            Ok(Ok((client, changes))) => {
                self.client = Some(client);
                self.changes = Some(changes);
                self.reconnect = false;
            }
            Ok(Err(err)) => {
                tracing::debug!("no system bus ({err}): DNS facts come from {RESOLV_CONF}");
                self.reconnect = false;
            }
            Err(_) => {
                tracing::warn!(
                    "the system bus did not answer within {limit:?}: DNS facts come from {RESOLV_CONF} meanwhile"
                );
                self.reconnect = true;
                self.stall();
            }
        }
    }

    /// Something on the bus did not answer in time: ask again after a growing pause.
    fn stall(&mut self) {
        self.stalled = true;
        self.refresh_retry = BoottimeTimer::new(self.stall_backoff).ok();
        self.stall_backoff = (self.stall_backoff * 2).min(STALL_BACKOFF.1);
    }

    /// Re-reads the configuration (resolved when it runs, otherwise resolv.conf) for the
    /// links in `ifindexes`, and decides accessibility. The bus part is bounded by `limit`.
    pub async fn refresh(&mut self, facts: &mut DnsFacts, ifindexes: &[u32], limit: Duration) {
        self.refresh_retry = None;
        // One limit for the whole refresh, reconnection included.
        let until = tokio::time::Instant::now() + limit;
        if self.reconnect {
            self.connect(limit).await;
        }
        let limit = until.saturating_duration_since(tokio::time::Instant::now());
        // When resolved is not on the bus the first call fails at once (no activation).
        let read = async {
            match &self.client {
                Some(client) => Some(client.fetch(ifindexes).await),
                None => None,
            }
        };
        let fetched = match tokio::time::timeout(limit, read).await {
            Ok(Some(Ok(config))) => {
                self.stalled = false;
                self.stall_backoff = STALL_BACKOFF.0;
                Some(config)
            }
            Ok(Some(Err(err))) => {
                tracing::debug!("reading systemd-resolved's configuration failed: {err}");
                self.stalled = false;
                None
            }
            Ok(None) => None,
            Err(_) => {
                tracing::warn!("systemd-resolved did not answer within {limit:?}");
                self.stall();
                None
            }
        };
        match fetched {
            Some(config) => {
                facts.source = DnsSource::Resolved;
                facts.global = scope(&config.global, None);
                facts.links = config
                    .links
                    .iter()
                    .map(|(&ifindex, link)| (ifindex, scope(link, Some(ifindex))))
                    .collect();
            }
            None => {
                let servers = std::fs::read_to_string(&self.resolv_conf)
                    .map(|text| resolv_conf::nameservers(&text))
                    .unwrap_or_default();
                facts.links.clear();
                if servers.is_empty() {
                    facts.source = DnsSource::Unavailable;
                    facts.global = DnsScope::default();
                } else {
                    facts.source = DnsSource::ResolvConf;
                    facts.global = DnsScope {
                        servers: servers.iter().map(|&a| server(a, None)).collect(),
                        ..DnsScope::default()
                    };
                }
            }
        }
        tracing::debug!(global = ?facts.global, links = ?facts.links, "DNS configuration");
        let state = (facts.source.clone(), self.stalled);
        if self.announced.as_ref() != Some(&state) {
            let resolved = match self.stalled {
                true => "systemd-resolved does not answer (asking again later)",
                false => "systemd-resolved is not running",
            };
            match facts.source {
                DnsSource::Resolved => tracing::info!("DNS: using systemd-resolved"),
                DnsSource::ResolvConf => tracing::info!(
                    "DNS: {resolved}, using the name servers of {} meanwhile",
                    self.resolv_conf.display()
                ),
                DnsSource::Unavailable => tracing::info!(
                    "DNS: {resolved} and {} names no usable server",
                    self.resolv_conf.display()
                ),
            }
            self.announced = Some(state);
        }
    }

    /// Decides accessibility again (routes or links changed); the configuration stays.
    pub fn recheck_accessibility(facts: &mut DnsFacts) {
        let recheck = |scope: &mut DnsScope, ifindex: Option<u32>| {
            for s in scope.servers.iter_mut().chain(scope.current.as_mut()) {
                s.accessible = access::is_accessible(s.address, ifindex);
            }
        };
        recheck(&mut facts.global, None);
        for (&ifindex, link) in facts.links.iter_mut() {
            recheck(link, Some(ifindex));
        }
    }
    /// Starts a probe attempt if one is asked for, none is running and the name has not
    /// resolved yet. While a failed attempt's backoff runs, a new attempt starts only when
    /// `now` is set (the DNS configuration changed, or the backoff is over): a probe that
    /// fails at once must never spin.
    pub fn kick_probe(&mut self, facts: &DnsFacts, now: bool) {
        let Some(name) = &self.probe_name else {
            return;
        };
        if self.in_flight.is_some()
            || matches!(facts.probe, ProbeState::Resolved(_))
            || (self.retry.is_some() && !now)
        {
            return;
        }
        let route = match (&self.client, &facts.source) {
            (Some(client), DnsSource::Resolved) => ProbeRoute::Resolved(client.clone()),
            _ => ProbeRoute::Servers(facts.global.servers.iter().map(|s| s.address).collect()),
        };
        self.retry = None;
        self.in_flight = Some(Box::pin(probe::attempt(
            name.clone(),
            route,
            PROBE_ATTEMPT_LIMIT,
        )));
    }

    /// Records a finished attempt in `facts`, and schedules the next one after a failure.
    pub fn probe_finished(
        &mut self,
        facts: &mut DnsFacts,
        result: Result<Vec<IpAddr>, ProbeFailure>,
    ) {
        self.in_flight = None;
        match result {
            Ok(addresses) => facts.probe = ProbeState::Resolved(addresses),
            Err(failure) => {
                tracing::debug!(
                    "DNS probe failed: {failure}; next attempt in {:?}",
                    self.backoff
                );
                facts.probe = ProbeState::Failed(failure);
                self.retry = BoottimeTimer::new(self.backoff).ok();
                self.backoff = (self.backoff * 2).min(PROBE_BACKOFF.1);
            }
        }
    }

    /// Waits for the next DNS event. Cancel-safe: nothing is lost when another branch wins.
    pub async fn next_event(&mut self) -> DnsEvent {
        let changes = async {
            match &mut self.changes {
                Some(stream) => match resolved::next_change(stream).await {
                    Some(()) => DnsEvent::ResolvedChanged,
                    None => DnsEvent::BusGone,
                },
                None => std::future::pending().await,
            }
        };
        let probe = async {
            match &mut self.in_flight {
                Some(future) => DnsEvent::ProbeDone(future.await),
                None => std::future::pending().await,
            }
        };
        let retry = async {
            match &self.retry {
                Some(timer) => match timer.expired().await {
                    Ok(()) => DnsEvent::ProbeRetry,
                    Err(_) => std::future::pending().await,
                },
                None => std::future::pending().await,
            }
        };
        let refresh_retry = async {
            match &self.refresh_retry {
                Some(timer) => match timer.expired().await {
                    Ok(()) => DnsEvent::RefreshRetry,
                    Err(_) => std::future::pending().await,
                },
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            event = changes => event,
            event = probe => event,
            event = retry => event,
            event = refresh_retry => event,
        }
    }

    /// Forgets the bus stream after it ended.
    pub fn bus_gone(&mut self) {
        self.changes = None;
    }

    /// The pause after a failure is over.
    pub fn retry_due(&mut self) {
        self.retry = None;
    }
}

fn server(address: IpAddr, ifindex: Option<u32>) -> DnsServer {
    DnsServer {
        address,
        accessible: access::is_accessible(address, ifindex),
    }
}

fn scope(config: &ScopeConfig, ifindex: Option<u32>) -> DnsScope {
    DnsScope {
        servers: config.servers.iter().map(|&a| server(a, ifindex)).collect(),
        current: config.current.map(|a| server(a, ifindex)),
        default_route: config.default_route,
        domains: config.domains.clone(),
    }
}
