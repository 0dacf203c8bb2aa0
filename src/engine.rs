//! The one event loop, shaped like upstream's: each source (the kernel, systemd-networkd's
//! state files, DNS) yields events; its handler applies them to the snapshot; then the pure
//! core decides again. One deadline, and SIGTERM/SIGINT end the wait whatever is in flight.

use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};

use crate::announce::Announcer;
use crate::core::dns::DnsFacts;
use crate::core::goal::{Goal, GoalVerdict};
use crate::core::networkmanager::NetworkManagerFacts;
use crate::core::{Manager, Snapshot};
use crate::dns::{DnsEvent, DnsWatcher};
use crate::explain_view::ExplainView;
use crate::gateway::GatewayProber;
use crate::netlink::{KernelSource, KernelSourceConfig};
use crate::networkd::NetworkdSource;
use crate::networkmanager::{NetworkManagerEvent, NetworkManagerSource};
use crate::notify::Notifier;
use crate::sys::{BoottimeTimer, Inotify, InotifyEvent, boottime_now, expired};

/// How the wait ended.
#[derive(Debug)]
pub enum Outcome {
    /// The requirements hold; the verdict that said so.
    Online(GoalVerdict),
    /// The deadline passed; the verdict at that moment says why.
    Timeout(GoalVerdict),
    /// SIGTERM or SIGINT arrived (with the last verdict, if one was made).
    Interrupted(Option<GoalVerdict>),
    /// `--carrier-timeout`: no link is left that could make the requirements hold.
    GaveUp(GoalVerdict),
}

/// A failure to set up or read a source.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("failed to open the rtnetlink socket: {0}")]
    NetlinkOpen(#[source] io::Error),
    #[error("failed to read from the rtnetlink socket: {0}")]
    Netlink(#[source] io::Error),
    #[error("failed to watch systemd-networkd's state directory: {0}")]
    Networkd(#[source] io::Error),
    #[error("failed to set up the timeout or signal handling: {0}")]
    Setup(#[source] io::Error),
}

/// Where link setup states come from, resolved before the runtime starts.
pub enum ManagerSource {
    KernelOnly,
    /// networkd's state directory and a watch on it, made before the runtime started.
    Networkd {
        dir: PathBuf,
        watch: Inotify,
    },
    /// NetworkManager over D-Bus (`--manager=networkmanager`).
    NetworkManager,
    /// Per link (`--manager=auto` where NetworkManager may run), with networkd's directory
    /// and watch when networkd manages the machine too.
    Auto {
        networkd: Option<(PathBuf, Inotify)>,
    },
}

/// What a source reported.
enum Event {
    /// The kernel's tables changed (already applied by the kernel source).
    Kernel,
    /// Changes in networkd's state directory.
    Networkd(Vec<InotifyEvent>),
    NetworkManager(NetworkManagerEvent),
    Dns(DnsEvent),
    /// Time to probe unanswered gateways again.
    GatewayRound,
    /// A link may have reached its `--carrier-timeout`.
    CarrierTimeout,
}

/// The sources, and the facts they keep up to date.
struct Sources {
    snapshot: Snapshot,
    kernel: KernelSource,
    networkd: Option<NetworkdSource>,
    networkmanager: Option<NetworkManagerSource>,
    dns: Option<DnsWatcher>,
}

/// Waits until `goal` holds, the timeout passes, or a signal arrives.
pub async fn run(
    goal: &Goal,
    timeout: Option<Duration>,
    manager: ManagerSource,
    kernel_config: KernelSourceConfig,
    notifier: Option<&Notifier>,
    mut view: Option<&mut ExplainView>,
) -> Result<Outcome, EngineError> {
    let mut terminate = signal(SignalKind::terminate()).map_err(EngineError::Setup)?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(EngineError::Setup)?;
    // Both are received now: what arrived meanwhile was held pending and is delivered.
    crate::sys::mask_termination_signals(false).map_err(EngineError::Setup)?;
    let deadline = timeout.map(|t| boottime_now() + t);
    let timer = timeout
        .map(BoottimeTimer::new)
        .transpose()
        .map_err(EngineError::Setup)?;
    let mut announcer = Announcer::new(notifier).map_err(EngineError::Setup)?;
    let mut gateways = GatewayProber::new(goal.probes_gateway());
    let mut sources = Sources::open(goal, deadline, manager, kernel_config)?;
    let mut carrier_clock = CarrierClock::new(goal.carrier_timeout());
    let mut last: Option<GoalVerdict> = None;

    loop {
        let event = tokio::select! {
            biased;
            _ = terminate.recv() => return Ok(Outcome::Interrupted(last)),
            _ = interrupt.recv() => return Ok(Outcome::Interrupted(last)),
            () = expired(timer.as_ref()) => {
                return Ok(Outcome::Timeout(sources.decide(goal, view.as_deref_mut())));
            }
            () = announcer.watchdog_due() => {
                announcer.ping_watchdog();
                continue;
            }
            result = sources.kernel.process(&mut sources.snapshot.kernel, boottime_now) => {
                result.map_err(EngineError::Netlink)?;
                Event::Kernel
            }
            result = networkd_event(sources.networkd.as_mut()) => {
                Event::Networkd(result.map_err(EngineError::Networkd)?)
            }
            event = networkmanager_event(sources.networkmanager.as_mut()) => {
                Event::NetworkManager(event)
            }
            event = dns_event(sources.dns.as_mut()) => Event::Dns(event),
            () = gateways.round_due() => Event::GatewayRound,
            () = carrier_clock.due() => Event::CarrierTimeout,
        };
        let changed = match event {
            Event::Kernel => sources.on_kernel_event(goal),
            Event::Networkd(events) => sources.on_networkd_event(&events),
            Event::NetworkManager(event) => sources.on_networkmanager_event(event),
            Event::Dns(event) => sources.on_dns_event(event),
            Event::GatewayRound => {
                gateways.start_round();
                true
            }
            Event::CarrierTimeout => true,
        };
        // Nothing is decided on half a picture: not during a resync of the kernel's tables.
        if !changed || !sources.kernel.is_synced() {
            continue;
        }
        let verdict = sources.decide(goal, view.as_deref_mut());
        if verdict.online {
            tracing::debug!("requirements hold");
            announcer.online(&verdict, last.as_ref());
            return Ok(Outcome::Online(verdict));
        }
        if verdict.hopeless {
            return Ok(Outcome::GaveUp(verdict));
        }
        carrier_clock.arm(&sources.snapshot);
        gateways.probe_unanswered(&verdict);
        announcer.waiting(&verdict, last.as_ref());
        last = Some(verdict);
    }
}

impl Sources {
    fn open(
        goal: &Goal,
        deadline: Option<Duration>,
        manager: ManagerSource,
        kernel_config: KernelSourceConfig,
    ) -> Result<Sources, EngineError> {
        let watch_networkd = |(dir, watch)| NetworkdSource::new(dir, watch);
        let (networkd, networkmanager, manager) = match manager {
            ManagerSource::KernelOnly => (None, None, Manager::KernelOnly),
            ManagerSource::Networkd { dir, watch } => (
                Some(watch_networkd((dir, watch)).map_err(EngineError::Networkd)?),
                None,
                Manager::Networkd(BTreeMap::new()),
            ),
            ManagerSource::NetworkManager => (
                None,
                Some(NetworkManagerSource::start(false)),
                Manager::NetworkManager(NetworkManagerFacts::default()),
            ),
            ManagerSource::Auto { networkd } => {
                let files = networkd.is_some().then(BTreeMap::new);
                let source = networkd.map(watch_networkd).transpose();
                (
                    source.map_err(EngineError::Networkd)?,
                    Some(NetworkManagerSource::start(true)),
                    Manager::Auto {
                        networkd: files,
                        networkmanager: NetworkManagerFacts::default(),
                    },
                )
            }
        };
        let mut snapshot = Snapshot::new(manager);
        let kernel = KernelSource::open(kernel_config).map_err(EngineError::NetlinkOpen)?;
        // The bus is only touched when DNS is part of the requirements.
        let dns = goal.needs_dns().then(|| {
            snapshot.dns = DnsFacts::not_read();
            let probe = goal.requirement_sets().find_map(|r| r.dns_probe.clone());
            DnsWatcher::start(probe, deadline)
        });
        Ok(Sources {
            snapshot,
            kernel,
            networkd,
            networkmanager,
            dns,
        })
    }

    /// The kernel's links or routes changed: networkd's files of new links are read, and
    /// DNS learns which links matter now (and that routes may have moved).
    fn on_kernel_event(&mut self, goal: &Goal) -> bool {
        if !self.kernel.is_synced() {
            return true;
        }
        let snapshot = &mut self.snapshot;
        snapshot.now = boottime_now();
        snapshot.note_carrier();
        if let (Some(networkd), Some(files)) =
            (&mut self.networkd, snapshot.manager.networkd_files_mut())
        {
            networkd.track_links(snapshot.kernel.links.keys(), files);
        }
        if let Some(dns) = &mut self.dns {
            dns.links_changed(goal.dns_links(snapshot), &mut snapshot.dns);
        }
        true
    }

    /// networkd rewrote state files: its DNS settings may have changed too.
    fn on_networkd_event(&mut self, events: &[InotifyEvent]) -> bool {
        if let (Some(networkd), Some(files)) = (
            &mut self.networkd,
            self.snapshot.manager.networkd_files_mut(),
        ) {
            networkd.apply(events, files);
        }
        if let Some(dns) = &mut self.dns {
            dns.configuration_may_have_changed(&mut self.snapshot.dns);
        }
        true
    }

    fn on_networkmanager_event(&mut self, event: NetworkManagerEvent) -> bool {
        match (
            &mut self.networkmanager,
            self.snapshot.manager.networkmanager_mut(),
        ) {
            (Some(source), Some(facts)) => source.apply(event, facts),
            _ => false,
        }
    }

    fn on_dns_event(&mut self, event: DnsEvent) -> bool {
        match &mut self.dns {
            Some(dns) => dns.apply(event, &mut self.snapshot.dns),
            None => false,
        }
    }

    /// Decides on the facts as they are now, and shows the decision in `--explain`'s view.
    fn decide(&mut self, goal: &Goal, view: Option<&mut ExplainView>) -> GoalVerdict {
        self.snapshot.now = boottime_now();
        let verdict = goal.evaluate(&self.snapshot);
        if let Some(view) = view {
            view.update(&self.snapshot, &verdict);
        }
        verdict
    }
}

/// `--carrier-timeout`'s clock: wakes the loop when the next link without carrier reaches
/// the timeout (nothing else would: no event marks the time passing).
struct CarrierClock {
    timeout: Option<Duration>,
    /// CLOCK_BOOTTIME at which the armed timer fires, and the timer.
    armed: Option<(Duration, BoottimeTimer)>,
}

impl CarrierClock {
    fn new(timeout: Option<Duration>) -> CarrierClock {
        CarrierClock {
            timeout,
            armed: None,
        }
    }

    /// Arms the timer for the next link to reach the timeout, if any (after a decision).
    fn arm(&mut self, snapshot: &Snapshot) {
        let Some(timeout) = self.timeout else {
            return;
        };
        let next = snapshot
            .no_carrier_since
            .values()
            .map(|since| *since + timeout)
            .filter(|at| *at > snapshot.now)
            .min();
        if self.armed.as_ref().map(|(at, _)| *at) == next {
            return;
        }
        self.armed = next.and_then(|at| {
            BoottimeTimer::new(at.saturating_sub(boottime_now()))
                .ok()
                .map(|timer| (at, timer))
        });
    }

    async fn due(&mut self) {
        expired(self.armed.as_ref().map(|(_, timer)| timer)).await;
        self.armed = None;
    }
}

async fn networkmanager_event(source: Option<&mut NetworkManagerSource>) -> NetworkManagerEvent {
    match source {
        Some(source) => source.next_event().await,
        None => std::future::pending().await,
    }
}

async fn dns_event(dns: Option<&mut DnsWatcher>) -> DnsEvent {
    match dns {
        Some(dns) => dns.next_event().await,
        None => std::future::pending().await,
    }
}

async fn networkd_event(source: Option<&mut NetworkdSource>) -> io::Result<Vec<InotifyEvent>> {
    match source {
        Some(source) => source.next_event().await,
        None => std::future::pending().await,
    }
}
