//! The one event loop, shaped like upstream's: each source (the kernel, systemd-networkd's
//! state files, NetworkManager, DNS; see [`sources`]) yields events; its handler applies them
//! to the snapshot; then the pure core decides again. One deadline, and SIGTERM/SIGINT end the
//! wait whatever is in flight.

mod carrier_clock;
mod sources;

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};

use crate::announce::Announcer;
use crate::core::goal::{Goal, GoalVerdict};
use crate::dns::DnsEvent;
use crate::explain_view::ExplainView;
use crate::gateway::GatewayProber;
use crate::netlink::{KernelMessages, KernelSourceConfig};
use crate::networkmanager::NetworkManagerEvent;
use crate::notify::Notifier;
use crate::sys::{BoottimeTimer, Inotify, InotifyEvent, boottime_now, expired};
use carrier_clock::CarrierClock;
use sources::{Sources, dns_event, networkd_event, networkmanager_event};

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
    /// What the kernel sent.
    Kernel(KernelMessages),
    /// Changes in networkd's state directory.
    Networkd(Vec<InotifyEvent>),
    NetworkManager(NetworkManagerEvent),
    Dns(DnsEvent),
    /// Time to probe unanswered gateways again.
    GatewayRound,
    /// A link may have reached its `--carrier-timeout`.
    CarrierTimeout,
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
            result = sources.kernel.next() => Event::Kernel(result.map_err(EngineError::Netlink)?),
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
            Event::Kernel(messages) => sources.on_kernel_event(messages, goal),
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
