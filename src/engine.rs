//! The one event loop: kernel changes, networkd state-file changes, the deadline and the
//! termination signals come in; after each batch the pure core decides again.

use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::core::dns::DnsSource;
use crate::core::goal::{Goal, GoalVerdict};
use crate::core::{Manager, Requirements, Snapshot};
use crate::dns::{DnsEvent, DnsWatcher};
use crate::explain_view::ExplainView;
use crate::netlink::{KernelSource, KernelSourceConfig};
use crate::networkd::NetworkdSource;
use crate::notify::{Notifier, notify};
use crate::sys::{BoottimeTimer, Inotify, boottime_now};

/// How the wait ended.
#[derive(Debug)]
pub enum Outcome {
    /// The requirements hold; the verdict that said so.
    Online(GoalVerdict),
    /// The deadline passed; the verdict at that moment says why.
    Timeout(GoalVerdict),
    /// SIGTERM or SIGINT arrived (with the last verdict, if one was made).
    Interrupted(Option<GoalVerdict>),
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
    // The bus is only touched when DNS is part of the requirements.
    let deadline = timeout.map(|t| boottime_now() + t);
    let dns_limit = || {
        let remaining = deadline.map_or(DNS_CALL_LIMIT, |d| d.saturating_sub(boottime_now()));
        remaining.min(DNS_CALL_LIMIT)
    };
    let probe = goal.requirement_sets().find_map(|r| r.dns_probe.clone());
    let probes_gateway = goal.probes_gateway();
    let mut dns = match goal.needs_dns() {
        true => {
            let start = DnsWatcher::start(probe, dns_limit());
            match unless_signalled(&mut terminate, &mut interrupt, start).await {
                Some(watcher) => Some(watcher),
                None => return Ok(Outcome::Interrupted(None)),
            }
        }
        false => None,
    };
    let mut dns_links: Vec<u32> = Vec::new();
    let mut last_explanation: Vec<String> = Vec::new();
    let mut last_verdict: Option<GoalVerdict> = None;
    let mut announced_ready = false;
    let mut last_status = String::new();
    // `--probe-gateway`: armed after probes were sent; when it fires, they are sent again
    // if the gateway still has not answered.
    let mut gateway_probe: Option<BoottimeTimer> = None;

    loop {
        let wake = tokio::select! {
            biased;            _ = terminate.recv() => return Ok(Outcome::Interrupted(last_verdict)),
            _ = interrupt.recv() => return Ok(Outcome::Interrupted(last_verdict)),
            () = expired(watchdog.as_ref()) => {
                notify(notifier, "WATCHDOG=1");
                continue;
            }
            () = expired(timer.as_ref()) => {
                snapshot.now = boottime_now();
                let verdict = goal.evaluate(&snapshot);
                if let Some(view) = view.as_deref_mut() {
                    view.update(&snapshot, &verdict);
                }
                return Ok(Outcome::Timeout(verdict));
            }
            result = kernel.process(&mut snapshot.kernel, boottime_now) => {
                result.map_err(EngineError::Netlink)?;
                Wake::Kernel
            }
            result = networkd_changes(networkd.as_mut(), &mut snapshot.manager) => {
                result.map_err(EngineError::Networkd)?;
                Wake::Networkd
            }
            event = dns_event(dns.as_mut()) => Wake::Dns(event),
            () = expired(gateway_probe.as_ref()) => {
                gateway_probe = None;
                Wake::GatewayProbe
            }
        };
        if !kernel.is_synced() {
            continue;
        }
        if let (Wake::Kernel, Some(source), Manager::Networkd(files)) =
            (&wake, &mut networkd, &mut snapshot.manager)
        {
            source.track_links(snapshot.kernel.links.keys(), files);
        }
        if let Some(dns) = &mut dns {
            let wanted = links_for_dns(goal, &snapshot);
            let before = (
                snapshot.dns.source.clone(),
                snapshot.dns.global.clone(),
                snapshot.dns.links.clone(),
            );
            let probe_done = matches!(wake, Wake::Dns(DnsEvent::ProbeDone(_)));
            let retry_due = matches!(wake, Wake::Dns(DnsEvent::ProbeRetry));
            if matches!(wake, Wake::Dns(DnsEvent::BusGone)) {
                dns.bus_gone();
            }
            let facts = &mut snapshot.dns;
            match wake {
                // Kernel changes move routes and links: accessibility may change; new links
                // (or a resolv.conf source, which has no change signal) need a fresh read.
                Wake::Kernel if wanted == dns_links && facts.source == DnsSource::Resolved => {
                    DnsWatcher::recheck_accessibility(facts);
                }
                Wake::Kernel
                | Wake::Networkd
                | Wake::Dns(
                    DnsEvent::ResolvedChanged | DnsEvent::RefreshRetry | DnsEvent::BusGone,
                ) => {
                    let refresh = dns.refresh(facts, &wanted, dns_limit());
                    if unless_signalled(&mut terminate, &mut interrupt, refresh)
                        .await
                        .is_none()
                    {
                        return Ok(Outcome::Interrupted(last_verdict));
                    }
                    dns_links = wanted;
                }
                Wake::Dns(DnsEvent::ProbeDone(result)) => dns.probe_finished(facts, result),
                Wake::Dns(DnsEvent::ProbeRetry) => dns.retry_due(),
                Wake::GatewayProbe => {}
            }
            let changed = before
                != (
                    snapshot.dns.source.clone(),
                    snapshot.dns.global.clone(),
                    snapshot.dns.links.clone(),
                );
            // A finished attempt never starts the next one itself (its backoff does), so a
            // probe that fails at once cannot spin; configuration changes retry at once.
            if !probe_done {
                dns.kick_probe(&snapshot.dns, retry_due || changed);
            }
        }
        snapshot.now = boottime_now();
        let verdict = goal.evaluate(&snapshot);
        if let Some(view) = view.as_deref_mut() {
            view.update(&snapshot, &verdict);
        }
        if verdict.online {
            tracing::debug!("requirements hold");
            return Ok(Outcome::Online(verdict));
        }
        if probes_gateway {
            gateway_probe = probe_gateways(&verdict, gateway_probe.take());
        }
        if notifier.is_some() {
            let status = verdict.waiting_for();
            if !announced_ready {
                // As upstream: READY=1 only once the first decision said "not yet".
                notify(notifier, &format!("READY=1\nSTATUS={status}"));
                announced_ready = true;
            } else if status != last_status {
                notify(notifier, &format!("STATUS={status}"));
            }
            last_status = status;
        }
        if verdict.explanation != last_explanation {
            for (line, link) in crate::logging::explanation_links(&verdict) {
                let interface = link.map(|l| tracing::field::display(&l.name));
                let operstate = link
                    .and_then(|l| l.status)
                    .map(|s| tracing::field::display(s.oper));
                tracing::debug!(interface, operstate, "waiting: {line}");
            }
            last_explanation = verdict.explanation.clone();
        }
        last_verdict = Some(verdict);
    }
}

/// Longest a D-Bus exchange with the bus or resolved may take before it is given up for now.
const DNS_CALL_LIMIT: Duration = Duration::from_secs(2);

/// What woke the loop.
enum Wake {
    Kernel,
    Networkd,
    Dns(DnsEvent),
    /// Time to probe an unanswered gateway again.
    GatewayProbe,
}

/// Pause between probes of a gateway that does not answer (ARP gives up after about 3 s).
const GATEWAY_PROBE_INTERVAL: Duration = Duration::from_secs(3);

/// `--probe-gateway`: sends a probe to every unanswered gateway of `verdict`, unless probes
/// are already pending; returns the timer of the next round (`None` when nothing is to be
/// probed).
fn probe_gateways(verdict: &GoalVerdict, pending: Option<BoottimeTimer>) -> Option<BoottimeTimer> {
    let gateways: Vec<(std::net::IpAddr, u32)> = verdict
        .verdicts
        .iter()
        .flat_map(|(_, v)| v.route_unmet.iter())
        .filter_map(|problem| problem.gateway_to_probe())
        .collect();
    if gateways.is_empty() {
        return None;
    }
    if pending.is_some() {
        return pending;
    }
    for (gateway, ifindex) in gateways {
        match crate::gateway::probe(gateway, ifindex) {
            Ok(()) => tracing::debug!("probed gateway {gateway} (ifindex {ifindex})"),
            Err(err) => tracing::warn!("could not probe gateway {gateway}: {err}"),
        }
    }
    BoottimeTimer::new(GATEWAY_PROBE_INTERVAL).ok()
}

/// The links whose DNS configuration the decision looks at: the `-i` links of every set of
/// requirements with `--dns`, or every link that is not loopback when such a set names none.
fn links_for_dns(goal: &Goal, snapshot: &Snapshot) -> Vec<u32> {
    let sets: Vec<&Requirements> = goal.requirement_sets().filter(|r| r.dns).collect();
    let every_link = sets.iter().any(|r| r.interfaces.is_empty());
    snapshot
        .kernel
        .links
        .values()
        .filter(|l| {
            if every_link {
                !l.is_loopback()
            } else {
                sets.iter()
                    .any(|r| r.interfaces.iter().any(|i| l.has_name(i.name.as_str())))
            }
        })
        .map(|l| l.ifindex)
        .collect()
}

/// Runs `work` to its end, unless SIGTERM or SIGINT arrives first (`None`): a D-Bus call
/// that stalls must not hold up the exit upstream promises on those signals.
async fn unless_signalled<T>(
    terminate: &mut Signal,
    interrupt: &mut Signal,
    work: impl std::future::Future<Output = T>,
) -> Option<T> {
    tokio::select! {
        biased;
        _ = terminate.recv() => None,
        _ = interrupt.recv() => None,
        value = work => Some(value),
    }
}

async fn dns_event(dns: Option<&mut DnsWatcher>) -> DnsEvent {
    match dns {
        Some(dns) => dns.next_event().await,
        None => std::future::pending().await,
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
