//! The one event loop, shaped like upstream's: each source (the kernel, systemd-networkd's
//! state files, NetworkManager, DNS, the gateway prober, the carrier clock and the DNS grace
//! clock; see
//! [`source`] for their one shape and `sources.rs` for which are opened) yields an event; the
//! source applies it to the snapshot, the others follow what changed, then the pure core
//! decides again. One deadline, and SIGTERM/SIGINT end the wait whatever is in flight.

mod clock;
mod host_facts;
mod machine_facts;
mod pitfalls;
pub mod source;
mod sources;

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};

use futures::future::select_all;

use crate::announce::Announcer;
use crate::core::goal::{Goal, GoalVerdict};
use crate::core::ifupdown::IfupdownConfig;
use crate::core::{ManagerPolicy, Snapshot};
use crate::explain_view::ExplainView;
use crate::netlink::KernelSourceConfig;
use crate::notify::Notifier;
pub use crate::outcome::Outcome;
use crate::sys::{BoottimeTimer, Inotify, boottime_now, expired};
pub use pitfalls::PitfallScan;
use source::{Driven, Facts};
use sources::Sources;

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
    #[error("failed to watch ifupdown's state directory: {0}")]
    Ifupdown(#[source] io::Error),
    #[error("failed to follow the clock's synchronisation: {0}")]
    TimeSync(#[source] io::Error),
}

/// The network managers whose facts a wait reads, chosen before the runtime starts (the
/// watch of networkd's directory must be made while the process is single-threaded).
pub struct Managers {
    /// systemd-networkd's state directory and a watch on it.
    networkd: Option<(PathBuf, Inotify)>,
    /// Whether NetworkManager is followed over D-Bus.
    networkmanager: bool,
    /// ifupdown's state directory and its configuration (`--manager=ifupdown`).
    ifupdown: Option<(PathBuf, IfupdownConfig)>,
    policy: ManagerPolicy,
}

impl Managers {
    /// No manager: links are judged on kernel facts alone (`--manager=none`).
    pub fn kernel_only() -> Managers {
        Managers {
            networkd: None,
            networkmanager: false,
            ifupdown: None,
            policy: ManagerPolicy::OneManager,
        }
    }

    /// systemd-networkd judges every link (`--manager=networkd`).
    pub fn networkd(dir: PathBuf, watch: Inotify) -> Managers {
        Managers {
            networkd: Some((dir, watch)),
            ..Managers::kernel_only()
        }
    }

    /// NetworkManager judges every link (`--manager=networkmanager`).
    pub fn networkmanager() -> Managers {
        Managers {
            networkmanager: true,
            ..Managers::kernel_only()
        }
    }

    /// ifupdown judges every link (`--manager=ifupdown`): `config` says which it brings up,
    /// its state directory `dir` how far it got.
    pub fn ifupdown(dir: PathBuf, config: IfupdownConfig) -> Managers {
        Managers {
            ifupdown: Some((dir, config)),
            ..Managers::kernel_only()
        }
    }

    /// Per link (`--manager=auto` where NetworkManager may run or ifupdown manages the
    /// machine), with networkd's directory and watch when networkd manages the machine too,
    /// and ifupdown's state directory and configuration when it brings up links.
    pub fn per_link(
        networkd: Option<(PathBuf, Inotify)>,
        networkmanager: bool,
        ifupdown: Option<(PathBuf, IfupdownConfig)>,
    ) -> Managers {
        Managers {
            networkd,
            networkmanager,
            ifupdown,
            policy: ManagerPolicy::PerLink,
        }
    }

    /// Whether NetworkManager is followed (it may say whether the Internet works).
    pub fn follows_networkmanager(&self) -> bool {
        self.networkmanager
    }

    /// How `--manager=` would name this choice.
    pub fn label(&self) -> &'static str {
        match (self.policy, &self.networkd, self.networkmanager) {
            (ManagerPolicy::PerLink, ..) => "auto",
            _ if self.ifupdown.is_some() => "ifupdown",
            (_, Some(_), _) => "networkd",
            (_, None, true) => "networkmanager",
            (_, None, false) => "none",
        }
    }
}

/// Waits until `goal` holds, the timeout passes, or a signal arrives.
pub async fn run(
    goal: &Goal,
    timeout: Option<Duration>,
    managers: Managers,
    kernel_config: KernelSourceConfig,
    notifier: Option<&Notifier>,
    mut view: Option<&mut ExplainView>,
    mut pitfalls: Option<&mut PitfallScan>,
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
    let Sources {
        mut snapshot,
        mut sources,
    } = sources::open(goal, deadline, managers, kernel_config)?;
    let mut last: Option<GoalVerdict> = None;

    let outcome = loop {
        let index = tokio::select! {
            biased;
            _ = terminate.recv() => return Ok(Outcome::Interrupted(last)),
            _ = interrupt.recv() => return Ok(Outcome::Interrupted(last)),
            () = expired(timer.as_ref()) => {
                break Outcome::Timeout(decide(&mut snapshot, goal, view.as_deref_mut(), pitfalls.as_deref_mut()));
            }
            () = announcer.watchdog_due() => {
                announcer.ping_watchdog();
                continue;
            }
            (result, index, _) = select_all(sources.iter_mut().map(|source| source.ready())) => {
                result?;
                index
            }
        };
        let changed = sources[index].apply_ready(&mut snapshot, goal);
        // Nothing is followed or decided on half a picture: not during a resync of the
        // kernel's tables.
        let settled = sources.iter().all(|source| source.settled());
        if changed && settled {
            let facts = sources[index].facts();
            follow(facts, index, &mut sources, &mut snapshot, goal);
        }
        if !changed || !settled {
            continue;
        }
        let verdict = decide(
            &mut snapshot,
            goal,
            view.as_deref_mut(),
            pitfalls.as_deref_mut(),
        );
        if verdict.online {
            tracing::debug!("requirements hold");
            announcer.online(&verdict, last.as_ref());
            break Outcome::Online(verdict);
        }
        if verdict.hopeless {
            break Outcome::GaveUp(verdict);
        }
        if verdict.no_dns_server {
            let grace = goal.dns_grace().unwrap_or_default();
            break Outcome::NoDnsServer(verdict, grace);
        }
        for source in &mut sources {
            source.decided(&snapshot, &verdict);
        }
        announcer.waiting(&verdict, last.as_ref());
        last = Some(verdict);
    };
    // --explain's summary lists them already.
    if view.is_none() {
        warn_machine_pitfalls(&snapshot);
    }
    Ok(outcome)
}

/// Logs, once at the end of the wait, what is odd about the machine as the wait ends (two
/// waiters, a manager managing nothing, a container's host-configured links and tentative
/// IPv6 addresses): `--explain` or not, this is where the journal says it. Not earlier: early
/// in boot nothing is managed yet and DAD runs, and what matters is the state the wait ended
/// on. Not after a signal: the wait did not end on its own. Not with `--explain` either: its
/// summary at exit lists them.
fn warn_machine_pitfalls(snapshot: &Snapshot) {
    for pitfall in crate::core::pitfalls::machine::find(snapshot) {
        let interface = Some(pitfall.interface())
            .filter(|name| !name.is_empty())
            .map(tracing::field::display);
        tracing::warn!(interface, "{pitfall}");
    }
}

/// The facts `changed`, kept by the source at `origin`, changed: the other sources follow.
fn follow(
    changed: Facts,
    origin: usize,
    sources: &mut [Box<dyn Driven>],
    snapshot: &mut Snapshot,
    goal: &Goal,
) {
    for (index, source) in sources.iter_mut().enumerate() {
        if index != origin {
            source.others_changed(changed, snapshot, goal);
        }
    }
}

/// Decides on the facts as they are now, and shows the decision in `--explain`'s view.
/// Decides on the facts as they are now, looks for pitfalls when asked to, and shows both in
/// `--explain`'s view.
fn decide(
    snapshot: &mut Snapshot,
    goal: &Goal,
    view: Option<&mut ExplainView>,
    pitfalls: Option<&mut PitfallScan>,
) -> GoalVerdict {
    snapshot.now = boottime_now();
    let verdict = goal.evaluate(snapshot);
    let found = match pitfalls {
        Some(scan) => {
            scan.scan(snapshot, &verdict);
            scan.found()
        }
        None => &[],
    };
    if let Some(view) = view {
        view.update(&verdict, found);
    }
    verdict
}
