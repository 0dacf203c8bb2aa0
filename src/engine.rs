//! The one event loop: kernel changes, networkd state-file changes, the deadline and the
//! termination signals come in; after each batch the pure core decides again.

use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};

use crate::core::{Manager, Requirements, Snapshot, Verdict, evaluate};
use crate::netlink::{KernelSource, KernelSourceConfig};
use crate::networkd::NetworkdSource;
use crate::notify::{Notifier, notify};
use crate::sys::{BoottimeTimer, Inotify, boottime_now};

/// How the wait ended.
#[derive(Debug)]
pub enum Outcome {
    /// The requirements hold.
    Online,
    /// The deadline passed; the last verdict says why.
    Timeout(Verdict),
    /// SIGTERM or SIGINT arrived.
    Interrupted,
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
}

/// Waits until `requirements` hold, the timeout passes, or a signal arrives.
pub async fn run(
    requirements: &Requirements,
    timeout: Option<Duration>,
    manager: ManagerSource,
    kernel_config: KernelSourceConfig,
    notifier: Option<&Notifier>,
) -> Result<Outcome, EngineError> {
    let mut terminate = signal(SignalKind::terminate()).map_err(EngineError::Setup)?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(EngineError::Setup)?;
    let timer = timeout
        .map(BoottimeTimer::new)
        .transpose()
        .map_err(EngineError::Setup)?;
    let watchdog = notifier
        .and_then(Notifier::watchdog_interval)
        .map(BoottimeTimer::periodic)
        .transpose()
        .map_err(EngineError::Setup)?;

    let (mut networkd, manager_state) = match manager {
        ManagerSource::KernelOnly => (None, Manager::KernelOnly),
        ManagerSource::Networkd { dir, watch } => (
            Some(NetworkdSource::new(dir, watch).map_err(EngineError::Networkd)?),
            Manager::Networkd(BTreeMap::new()),
        ),
    };
    let mut snapshot = Snapshot::new(manager_state);
    let mut kernel = KernelSource::open(kernel_config).map_err(EngineError::NetlinkOpen)?;
    let mut last_explanation: Vec<String> = Vec::new();
    let mut announced_ready = false;

    loop {
        tokio::select! {
            biased;
            _ = terminate.recv() => return Ok(Outcome::Interrupted),
            _ = interrupt.recv() => return Ok(Outcome::Interrupted),
            () = expired(watchdog.as_ref()) => {
                notify(notifier, "WATCHDOG=1");
                continue;
            }
            () = expired(timer.as_ref()) => {
                snapshot.now = boottime_now();
                return Ok(Outcome::Timeout(evaluate(requirements, &snapshot)));
            }
            result = kernel.process(&mut snapshot.kernel, boottime_now) => {
                result.map_err(EngineError::Netlink)?;
                if let (Some(source), Manager::Networkd(files)) = (&mut networkd, &mut snapshot.manager) {
                    if kernel.is_synced() {
                        source.track_links(snapshot.kernel.links.keys(), files);
                    }
                }
            }
            result = networkd_changes(networkd.as_mut(), &mut snapshot.manager) => {
                result.map_err(EngineError::Networkd)?;
            }
        }
        if !kernel.is_synced() {
            continue;
        }
        snapshot.now = boottime_now();
        let verdict = evaluate(requirements, &snapshot);
        if verdict.online {
            tracing::debug!("requirements hold");
            return Ok(Outcome::Online);
        }
        if !announced_ready {
            // As upstream: READY=1 only once the first decision said "not yet".
            notify(
                notifier,
                "READY=1\nSTATUS=Waiting for network connections...",
            );
            announced_ready = true;
        }
        let explanation = verdict.explain();
        if explanation != last_explanation {
            for line in &explanation {
                tracing::debug!("waiting: {line}");
            }
            last_explanation = explanation;
        }
    }
}

async fn expired(timer: Option<&BoottimeTimer>) {
    match timer {
        Some(timer) => {
            if let Err(err) = timer.expired().await {
                tracing::warn!("timer failed, waiting without it: {err}");
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending().await,
    }
}

async fn networkd_changes(
    source: Option<&mut NetworkdSource>,
    manager: &mut Manager,
) -> io::Result<()> {
    match (source, manager) {
        (Some(source), Manager::Networkd(files)) => source.process(files).await,
        _ => std::future::pending().await,
    }
}
