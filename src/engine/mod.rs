//! The one event loop, shaped like upstream's: each source (the kernel, systemd-networkd's
//! state files, NetworkManager, DNS, the gateway prober, the carrier clock and the DNS grace
//! clock; see
//! [`source`] for their one shape and `sources.rs` for which are opened) yields an event; the
//! source applies it to the snapshot, the others follow what changed, then the pure core
//! decides again. One deadline, and SIGTERM/SIGINT end the wait whatever is in flight.

mod alarm;
mod carrier_clock;
mod dns_grace_clock;
pub mod source;
mod sources;

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};

use futures::future::select_all;

use crate::announce::Announcer;
use crate::core::goal::{Goal, GoalVerdict};
use crate::core::{ManagerPolicy, Snapshot};
use crate::explain_view::ExplainView;
use crate::netlink::KernelSourceConfig;
use crate::notify::Notifier;
use crate::sys::{BoottimeTimer, Inotify, boottime_now, expired};
use source::{Driven, Facts, or_pending};
use sources::Sources;

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
    /// `--dns-grace`: every other condition has held for the grace, and no DNS server is
    /// configured anywhere.
    NoDnsServer(GoalVerdict),
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

/// The network managers whose facts a wait reads, chosen before the runtime starts (the
/// watch of networkd's directory must be made while the process is single-threaded).
pub struct Managers {
    /// systemd-networkd's state directory and a watch on it.
    networkd: Option<(PathBuf, Inotify)>,
    /// Whether NetworkManager is followed over D-Bus.
    networkmanager: bool,
    policy: ManagerPolicy,
}

impl Managers {
    /// No manager: links are judged on kernel facts alone (`--manager=none`).
    pub fn kernel_only() -> Managers {
        Managers {
            networkd: None,
            networkmanager: false,
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

    /// Per link (`--manager=auto` where NetworkManager may run), with networkd's directory and
    /// watch when networkd manages the machine too.
    pub fn per_link(networkd: Option<(PathBuf, Inotify)>) -> Managers {
        Managers {
            networkd,
            networkmanager: true,
            policy: ManagerPolicy::PerLink,
        }
    }

    /// How `--manager=` would name this choice.
    pub fn label(&self) -> &'static str {
        match (self.policy, &self.networkd, self.networkmanager) {
            (ManagerPolicy::PerLink, ..) => "auto",
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
        mut kernel,
        mut others,
    } = sources::open(goal, deadline, managers, kernel_config)?;
    let mut last: Option<GoalVerdict> = None;

    loop {
        let woke = tokio::select! {
            biased;
            _ = terminate.recv() => return Ok(Outcome::Interrupted(last)),
            _ = interrupt.recv() => return Ok(Outcome::Interrupted(last)),
            () = expired(timer.as_ref()) => {
                return Ok(Outcome::Timeout(decide(&mut snapshot, goal, view.as_deref_mut())));
            }
            () = announcer.watchdog_due() => {
                announcer.ping_watchdog();
                continue;
            }
            result = kernel.process(&mut snapshot.kernel, boottime_now) => {
                result.map_err(EngineError::Netlink)?;
                None
            }
            (result, index, _) = or_pending(
                (!others.is_empty()).then(|| select_all(others.iter_mut().map(|s| s.ready())))
            ) => {
                result?;
                Some(index)
            }
        };
        let changed = match woke {
            // The kernel's tables changed (already applied by the kernel source).
            None => {
                if kernel.is_synced() {
                    snapshot.now = boottime_now();
                    snapshot.note_carrier();
                    follow(Facts::Kernel, None, &mut others, &mut snapshot, goal);
                }
                true
            }
            Some(index) => {
                let changed = others[index].apply_ready(&mut snapshot, goal);
                if changed && kernel.is_synced() {
                    let facts = others[index].facts();
                    follow(facts, Some(index), &mut others, &mut snapshot, goal);
                }
                changed
            }
        };
        // Nothing is decided on half a picture: not during a resync of the kernel's tables.
        if !changed || !kernel.is_synced() || !others.iter().all(|source| source.settled()) {
            continue;
        }
        let verdict = decide(&mut snapshot, goal, view.as_deref_mut());
        if verdict.online {
            tracing::debug!("requirements hold");
            announcer.online(&verdict, last.as_ref());
            return Ok(Outcome::Online(verdict));
        }
        if verdict.hopeless {
            return Ok(Outcome::GaveUp(verdict));
        }
        if verdict.no_dns_server {
            return Ok(Outcome::NoDnsServer(verdict));
        }
        for source in &mut others {
            source.decided(&snapshot, &verdict);
        }
        announcer.waiting(&verdict, last.as_ref());
        last = Some(verdict);
    }
}

/// The facts `changed`, kept by the source at `origin`, changed: the other sources follow.
fn follow(
    changed: Facts,
    origin: Option<usize>,
    sources: &mut [Box<dyn Driven>],
    snapshot: &mut Snapshot,
    goal: &Goal,
) {
    for (index, source) in sources.iter_mut().enumerate() {
        if Some(index) != origin {
            source.others_changed(changed, snapshot, goal);
        }
    }
}

/// Decides on the facts as they are now, and shows the decision in `--explain`'s view.
fn decide(snapshot: &mut Snapshot, goal: &Goal, view: Option<&mut ExplainView>) -> GoalVerdict {
    snapshot.now = boottime_now();
    let verdict = goal.evaluate(snapshot);
    if let Some(view) = view {
        view.update(snapshot, &verdict);
    }
    verdict
}
