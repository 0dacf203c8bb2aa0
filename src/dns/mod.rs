//! The DNS adapter for `--dns` and `--dns-probe`: DNS configuration from systemd-resolved over
//! D-Bus (or, without resolved, from /etc/resolv.conf), server accessibility from the kernel,
//! and the probe query. It fills [`DnsFacts`]; the core decides.
//!
//! resolved is followed by the unique name of its current owner ([`crate::dbus::owner`]): a
//! signal from anyone else does not even make the configuration be read again.

pub mod access;
pub mod probe;
pub mod resolv_conf;
pub mod resolved;

use std::collections::BTreeMap;
use std::future::Future;
use std::net::IpAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

use futures::stream::SelectAll;
use zbus::{Connection, Message, MessageStream};

use crate::backoff::Backoff;
use crate::bounded_read::{self, RESOLV_CONF_CAP, ReadError};
use crate::core::Snapshot;
use crate::core::dns::{DnsFacts, DnsScope, DnsServer, DnsSource, ProbeFailure, ProbeState};
use crate::core::goal::Goal;
use crate::dbus::owner::{NameOwner, Verdict};
use crate::dbus::{self, SystemBus};
use crate::engine::EngineError;
use crate::engine::source::{Facts, Source, or_pending};
use crate::sys::{BoottimeTimer, boottime_now, expired};
use probe::ProbeRoute;
use resolved::{ResolvedClient, ResolvedConfig, ScopeConfig};

/// Where the fallback reads name servers.
pub const RESOLV_CONF: &str = "/etc/resolv.conf";
/// Time limit of one probe attempt.
const PROBE_ATTEMPT_LIMIT: Duration = Duration::from_secs(2);
/// First and longest pause between failed probe attempts.
const PROBE_BACKOFF: Backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(4));
/// Longest a D-Bus exchange with the bus or resolved may take before it is given up for now.
const DNS_CALL_LIMIT: Duration = Duration::from_secs(2);
/// First and longest pause before asking a bus or resolved that did not answer again.
const STALL_BACKOFF: Backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(4));

type ProbeFuture = Pin<Box<dyn Future<Output = Result<Vec<IpAddr>, ProbeFailure>>>>;
type ExchangeFuture = Pin<Box<dyn Future<Output = Exchange>>>;

/// A bus exchange that finished, or ran out of its time limit (`Err(limit)`).
pub enum Exchange {
    /// Connecting to the bus, subscribing to resolved's changes and asking who owns its name.
    Connected(Result<zbus::Result<(Connection, SelectAll<MessageStream>, NameOwner)>, Duration>),
    /// Reading resolved's configuration.
    Fetched(Result<zbus::Result<ResolvedConfig>, Duration>),
}

/// What a finished exchange gave.
enum Exchanged {
    /// resolved's configuration.
    Config(ResolvedConfig),
    /// A bus connection: the configuration is read next.
    Connected,
    /// Nothing: the facts come from resolv.conf meanwhile.
    Failed,
}

/// What woke the DNS adapter up.
pub enum DnsEvent {
    /// A signal that may say resolved's configuration or presence changed (or be forged).
    Signal(Message),
    /// The bus connection ended: no more resolved signals.
    BusGone,
    /// A bus exchange finished.
    Exchange(Exchange),
    /// A probe attempt finished.
    ProbeDone(Result<Vec<IpAddr>, ProbeFailure>),
    /// The pause after a failed probe is over: try again.
    ProbeRetry,
    /// The pause after the bus or resolved did not answer in time is over: ask again.
    RefreshRetry,
}

/// Gathers DNS facts; see the module documentation. It keeps its own bus exchanges and probe
/// attempts in flight: the engine is only told what happened ([`Self::apply`]) and which links
/// matter (its `Source::others_changed`), and never waits for the bus itself.
pub struct DnsWatcher {
    /// The shared system bus, connected once for every D-Bus source.
    system_bus: SystemBus,
    bus: Option<Connection>,
    /// Who owns resolved's name, once asked.
    owner: Option<NameOwner>,
    changes: Option<SelectAll<MessageStream>>,
    resolv_conf: PathBuf,
    /// CLOCK_BOOTTIME deadline of the wait: no bus exchange may last past it.
    deadline: Option<Duration>,
    /// The links whose configuration the decision looks at.
    links: Vec<u32>,
    /// The configuration may have changed since it was last read.
    refresh_wanted: bool,
    exchange: Option<ExchangeFuture>,
    probe_name: Option<String>,
    in_flight: Option<ProbeFuture>,
    retry: Option<BoottimeTimer>,
    backoff: Backoff,
    /// The bus (at connection) or resolved (at a call) did not answer within the limit: the
    /// facts come from resolv.conf meanwhile, and `refresh_retry` asks again.
    stalled: bool,
    /// The bus connection timed out: connect again at the next refresh.
    reconnect: bool,
    refresh_retry: Option<BoottimeTimer>,
    stall_backoff: Backoff,
    announced: Option<(DnsSource, bool)>,
    /// Why resolv.conf was last refused, so that it is said once, not at each read.
    resolv_conf_refused: Option<String>,
}

impl DnsWatcher {
    /// Starts connecting to the system bus (and subscribing to resolved's changes); the facts
    /// stay "not read" until that exchange ends. Without a bus the watcher still works, on
    /// /etc/resolv.conf alone. No exchange lasts past `deadline` (CLOCK_BOOTTIME).
    pub fn start(
        system_bus: &SystemBus,
        probe_name: Option<String>,
        deadline: Option<Duration>,
    ) -> DnsWatcher {
        let mut watcher = DnsWatcher {
            system_bus: system_bus.clone(),
            bus: None,
            owner: None,
            changes: None,
            resolv_conf: PathBuf::from(RESOLV_CONF),
            deadline,
            links: Vec::new(),
            refresh_wanted: true,
            exchange: None,
            probe_name,
            in_flight: None,
            retry: None,
            backoff: PROBE_BACKOFF,
            stalled: false,
            reconnect: false,
            refresh_retry: None,
            stall_backoff: STALL_BACKOFF,
            announced: None,
            resolv_conf_refused: None,
        };
        watcher.connect();
        watcher
    }

    /// The longest the next bus exchange may take.
    fn exchange_limit(&self) -> Duration {
        let remaining = self
            .deadline
            .map_or(DNS_CALL_LIMIT, |d| d.saturating_sub(boottime_now()));
        remaining.min(DNS_CALL_LIMIT)
    }

    /// Starts connecting to the system bus and subscribing to resolved's changes.
    fn connect(&mut self) {
        let limit = self.exchange_limit();
        let connection = self.system_bus.connection();
        self.exchange = Some(Box::pin(async move {
            let connect = async {
                let connection = connection.await?;
                let rules = resolved::match_rules()?;
                let (changes, owner) = dbus::follow(&connection, resolved::SERVICE, rules).await?;
                Ok((connection, changes, owner))
            };
            Exchange::Connected(
                tokio::time::timeout(limit, connect)
                    .await
                    .map_err(|_| limit),
            )
        }));
    }

    /// These links matter now (the kernel's links changed, or routes did): their
    /// configuration is read when the set changed, and accessibility is decided again.
    /// Returns whether the facts changed.
    fn links_changed(&mut self, links: Vec<u32>, facts: &mut DnsFacts) -> bool {
        if links != self.links {
            self.links = links;
            self.refresh_wanted = true;
        } else if facts.source == DnsSource::Resolved {
            let changed = recheck_accessibility(facts);
            self.kick_probe(facts, changed);
            return changed;
        } else {
            // resolv.conf (or no source yet) has no change signal: read it again.
            self.refresh_wanted = true;
        }
        self.pump(facts)
    }

    /// The DNS configuration may have changed (networkd rewrote a link's state).
    fn configuration_may_have_changed(&mut self, facts: &mut DnsFacts) -> bool {
        self.refresh_wanted = true;
        self.pump(facts)
    }

    /// Applies what happened; returns whether the facts changed.
    fn apply_event(&mut self, event: DnsEvent, facts: &mut DnsFacts) -> bool {
        match event {
            DnsEvent::Signal(message) => {
                // Before the owner is known nothing counts: the configuration is read after.
                let Some(owner) = &mut self.owner else {
                    return false;
                };
                match owner.classify(&message) {
                    // A forged signal costs nothing: not even a read.
                    Verdict::Ignored => return false,
                    // resolved is alive (or moved, or gone): ask now, even while a retry
                    // after a stall is pending.
                    Verdict::FromOwner | Verdict::OwnerChanged(_) => {
                        self.refresh_retry = None;
                        self.refresh_wanted = true;
                    }
                }
            }
            DnsEvent::BusGone => {
                self.changes = None;
                self.owner = None;
                self.refresh_wanted = true;
            }
            DnsEvent::RefreshRetry => {
                self.refresh_retry = None;
                self.refresh_wanted = true;
            }
            DnsEvent::Exchange(exchange) => {
                self.exchange = None;
                let changed = match self.exchanged(exchange) {
                    Exchanged::Config(config) => set_resolved_config(facts, &config),
                    Exchanged::Connected => false,
                    Exchanged::Failed => self.read_resolv_conf(facts),
                };
                self.announce(facts);
                self.kick_probe(facts, changed);
                return self.pump(facts) | changed;
            }
            DnsEvent::ProbeDone(result) => {
                // A finished attempt never starts the next one itself (its backoff does), so
                // a probe that fails at once cannot spin.
                self.probe_finished(facts, result);
                return true;
            }
            DnsEvent::ProbeRetry => {
                self.retry = None;
                self.kick_probe(facts, true);
                return false;
            }
        }
        self.pump(facts)
    }

    /// Records a finished exchange; returns resolved's configuration when it was read.
    fn exchanged(&mut self, exchange: Exchange) -> Exchanged {
        match exchange {
            Exchange::Connected(Ok(Ok((connection, changes, owner)))) => {
                self.bus = Some(connection);
                self.owner = Some(owner);
                self.changes = Some(changes);
                self.reconnect = false;
                self.refresh_wanted = true;
                return Exchanged::Connected;
            }
            Exchange::Connected(Ok(Err(err))) => {
                tracing::debug!("no system bus ({err}): DNS facts come from {RESOLV_CONF}");
                self.reconnect = false;
            }
            Exchange::Connected(Err(limit)) => {
                tracing::warn!(
                    "the system bus did not answer within {limit:?}: DNS facts come from {RESOLV_CONF} meanwhile"
                );
                self.reconnect = true;
                self.stall();
            }
            Exchange::Fetched(Ok(Ok(config))) => {
                self.stalled = false;
                self.stall_backoff.reset();
                return Exchanged::Config(config);
            }
            Exchange::Fetched(Ok(Err(err))) => {
                // When resolved is not on the bus the call fails at once (no activation).
                tracing::debug!("reading systemd-resolved's configuration failed: {err}");
                self.stalled = false;
            }
            Exchange::Fetched(Err(limit)) => {
                tracing::warn!("systemd-resolved did not answer within {limit:?}");
                self.stall();
            }
        }
        Exchanged::Failed
    }

    /// Starts the refresh that is wanted, unless an exchange is in flight (its end pumps
    /// again): a bus exchange when the bus may answer, otherwise a read of resolv.conf right
    /// away. Returns whether the facts changed.
    fn pump(&mut self, facts: &mut DnsFacts) -> bool {
        if !self.refresh_wanted || self.exchange.is_some() {
            return false;
        }
        self.refresh_wanted = false;
        // While the bus or resolved does not answer, only the retry timer (or a sign of life
        // from resolved) asks again; other changes re-read resolv.conf meanwhile.
        let ask_bus = !self.stalled || self.refresh_retry.is_none();
        if ask_bus && self.reconnect {
            self.connect();
            return false;
        }
        if ask_bus
            && self.changes.is_some()
            && let Some(client) = self.client()
        {
            let links = self.links.clone();
            let limit = self.exchange_limit();
            self.exchange = Some(Box::pin(async move {
                let fetch = client.fetch(&links);
                Exchange::Fetched(tokio::time::timeout(limit, fetch).await.map_err(|_| limit))
            }));
            return false;
        }
        if self.changes.is_some() && self.client().is_none() {
            // resolved is not on the bus (it left, or never came): nothing to wait for.
            self.stalled = false;
        }
        let changed = self.read_resolv_conf(facts);
        self.announce(facts);
        self.kick_probe(facts, changed);
        changed
    }

    /// A client for resolved's current owner, when the bus is connected and resolved is on it.
    fn client(&self) -> Option<ResolvedClient> {
        let owner = self.owner.as_ref()?.owner()?.clone();
        Some(ResolvedClient::new(self.bus.clone()?, owner))
    }

    /// Takes the name servers of resolv.conf as the global configuration. A file that is
    /// missing or cannot be read names no server, as for glibc; one that is not a regular
    /// file or is larger than [`RESOLV_CONF_CAP`] names none either, and that is said once.
    fn read_resolv_conf(&mut self, facts: &mut DnsFacts) -> bool {
        let servers = match bounded_read::read(&self.resolv_conf, RESOLV_CONF_CAP) {
            Ok(bytes) => {
                self.resolv_conf_refused = None;
                resolv_conf::nameservers(&bytes)
            }
            Err(err @ (ReadError::NotRegular { .. } | ReadError::TooLarge { .. })) => {
                let message = err.to_string();
                if self.resolv_conf_refused.as_ref() != Some(&message) {
                    tracing::warn!("{message}: it names no DNS server");
                    self.resolv_conf_refused = Some(message);
                }
                Vec::new()
            }
            Err(err) => {
                tracing::debug!("{err}");
                Vec::new()
            }
        };
        let (source, global) = match servers.is_empty() {
            true => (DnsSource::Unavailable, DnsScope::default()),
            false => (
                DnsSource::ResolvConf,
                DnsScope {
                    servers: servers.iter().map(|&a| server(a, None)).collect(),
                    ..DnsScope::default()
                },
            ),
        };
        let changed = facts.source != source || facts.global != global || !facts.links.is_empty();
        facts.source = source;
        facts.global = global;
        facts.links.clear();
        changed
    }

    /// Something on the bus did not answer in time: ask again after a growing pause.
    fn stall(&mut self) {
        self.stalled = true;
        self.refresh_retry = BoottimeTimer::new(self.stall_backoff.take()).ok();
    }

    /// Logs the source of the facts once, and again whenever it changes.
    fn announce(&mut self, facts: &DnsFacts) {
        tracing::debug!(global = ?facts.global, links = ?facts.links, "DNS configuration");
        let state = (facts.source.clone(), self.stalled);
        if self.announced.as_ref() == Some(&state) {
            return;
        }
        let resolved = match self.stalled {
            true => "systemd-resolved does not answer (asking again later)",
            false => "systemd-resolved is not running",
        };
        let resolv_conf = self.resolv_conf.display();
        match facts.source {
            DnsSource::Resolved => tracing::info!("DNS: using systemd-resolved"),
            DnsSource::ResolvConf => {
                tracing::info!("DNS: {resolved}, using the name servers of {resolv_conf} meanwhile")
            }
            DnsSource::Unavailable => {
                tracing::info!("DNS: {resolved} and {resolv_conf} names no usable server")
            }
            DnsSource::NotRead => return,
        }
        self.announced = Some(state);
    }

    /// Starts a probe attempt if one is asked for, none is running and the name has not
    /// resolved yet. While a failed attempt's backoff runs, a new attempt starts only when
    /// `now` is set (the DNS configuration changed, or the backoff is over): a probe that
    /// fails at once must never spin.
    fn kick_probe(&mut self, facts: &DnsFacts, now: bool) {
        let Some(name) = &self.probe_name else {
            return;
        };
        if self.in_flight.is_some()
            || facts.source == DnsSource::NotRead
            || matches!(facts.probe, ProbeState::Resolved(_))
            || (self.retry.is_some() && !now)
        {
            return;
        }
        let route = match (self.client(), &facts.source) {
            (Some(client), DnsSource::Resolved) => ProbeRoute::Resolved(client),
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
    fn probe_finished(&mut self, facts: &mut DnsFacts, result: Result<Vec<IpAddr>, ProbeFailure>) {
        self.in_flight = None;
        match result {
            Ok(addresses) => facts.probe = ProbeState::Resolved(addresses),
            Err(failure) => {
                tracing::debug!(
                    "DNS probe failed: {failure}; next attempt in {:?}",
                    self.backoff.peek()
                );
                facts.probe = ProbeState::Failed(failure);
                self.retry = BoottimeTimer::new(self.backoff.take()).ok();
            }
        }
    }

    /// Waits for the next DNS event. Cancel-safe: nothing is lost when another branch wins.
    async fn next_event(&mut self) -> DnsEvent {
        let changes = or_pending(self.changes.as_mut().map(|stream| async {
            match resolved::next_signal(stream).await {
                Some(message) => DnsEvent::Signal(message),
                None => DnsEvent::BusGone,
            }
        }));
        tokio::select! {
            event = changes => event,
            exchange = or_pending(self.exchange.as_mut()) => DnsEvent::Exchange(exchange),
            result = or_pending(self.in_flight.as_mut()) => DnsEvent::ProbeDone(result),
            () = expired(self.retry.as_ref()) => DnsEvent::ProbeRetry,
            () = expired(self.refresh_retry.as_ref()) => DnsEvent::RefreshRetry,
        }
    }
}

impl Source for DnsWatcher {
    type Event = DnsEvent;
    const FACTS: Facts = Facts::Dns;

    async fn next(&mut self) -> Result<DnsEvent, EngineError> {
        Ok(self.next_event().await)
    }

    fn apply(&mut self, event: DnsEvent, snapshot: &mut Snapshot, _: &Goal) -> bool {
        self.apply_event(event, &mut snapshot.dns)
    }

    /// The kernel's links or routes changed: the links that matter now are asked about, and
    /// accessibility decided again. networkd rewrote a state file: its DNS settings may have
    /// changed.
    fn others_changed(&mut self, changed: Facts, snapshot: &mut Snapshot, goal: &Goal) -> bool {
        match changed {
            Facts::Kernel => self.links_changed(goal.dns_links(snapshot), &mut snapshot.dns),
            Facts::Networkd => self.configuration_may_have_changed(&mut snapshot.dns),
            Facts::NetworkManager
            | Facts::Ifupdown
            | Facts::Dns
            | Facts::TimeSync
            | Facts::Reach
            | Facts::Connectivity
            | Facts::Time => false,
        }
    }
}

/// Takes resolved's configuration (deciding accessibility); returns whether the facts changed.
fn set_resolved_config(facts: &mut DnsFacts, config: &ResolvedConfig) -> bool {
    let global = scope(&config.global, None);
    let links: BTreeMap<u32, DnsScope> = config
        .links
        .iter()
        .map(|(&ifindex, link)| (ifindex, scope(link, Some(ifindex))))
        .collect();
    let changed =
        facts.source != DnsSource::Resolved || facts.global != global || facts.links != links;
    facts.source = DnsSource::Resolved;
    facts.global = global;
    facts.links = links;
    changed
}

/// Decides accessibility again (routes or links changed); the configuration stays. Returns
/// whether any server's accessibility changed.
fn recheck_accessibility(facts: &mut DnsFacts) -> bool {
    let mut changed = false;
    let mut recheck = |scope: &mut DnsScope, ifindex: Option<u32>| {
        for s in scope.servers.iter_mut().chain(scope.current.as_mut()) {
            let accessible = access::is_accessible(s.address, ifindex);
            changed |= accessible != s.accessible;
            s.accessible = accessible;
        }
    };
    recheck(&mut facts.global, None);
    for (&ifindex, link) in facts.links.iter_mut() {
        recheck(link, Some(ifindex));
    }
    changed
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
