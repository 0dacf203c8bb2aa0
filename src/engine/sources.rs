//! Which sources a wait opens, from the goal and the manager chosen: the kernel always; then
//! in this order (the order in which they follow each other's changes) networkd's state
//! files, ifupdown's state, NetworkManager, DNS, the gateway prober, the carrier timeout's
//! clock, the clock's synchronisation, `--reach`'s connections, the HTTP probe and the DNS
//! grace's clock (last: it follows what the others' facts became), each only when the goal or
//! the manager needs it. A new source is one more `push` here.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use super::clock::{CarrierTimeout, Clock, DnsGrace};
use super::source::{Driven, Slot};
use super::{EngineError, Managers};
use crate::connectivity::HttpProbeSource;
use crate::core::connectivity::HttpProbeState;
use crate::core::dns::DnsFacts;
use crate::core::goal::Goal;
use crate::core::ifupdown::IfupdownFacts;
use crate::core::networkmanager::NetworkManagerFacts;
use crate::core::{ManagerPolicy, Snapshot};
use crate::dbus::SystemBus;
use crate::dns::DnsWatcher;
use crate::gateway::GatewayProber;
use crate::ifupdown::source::IfupdownSource;
use crate::netlink::{KernelSource, KernelSourceConfig};
use crate::networkd::NetworkdSource;
use crate::networkmanager::NetworkManagerSource;
use crate::reach::ReachSource;
use crate::timesync::{Adjtimex, TIMESYNCD_DIR, TimeSyncSource};

/// The sources of one wait, and the facts they keep up to date.
pub(super) struct Sources {
    pub(super) snapshot: Snapshot,
    /// The kernel first, then the others in the order in which they follow each other's
    /// changes.
    pub(super) sources: Vec<Box<dyn Driven>>,
}

pub(super) fn open(
    goal: &Goal,
    deadline: Option<Duration>,
    managers: Managers,
    kernel_config: KernelSourceConfig,
) -> Result<Sources, EngineError> {
    let mut others: Vec<Box<dyn Driven>> = Vec::new();
    // One connection for NetworkManager and resolved, made when the first asks.
    let system_bus = SystemBus::new();
    let mut snapshot = Snapshot::kernel_only();
    snapshot.policy = managers.policy;
    snapshot.machine = super::machine_facts::read(std::path::Path::new("/"));
    snapshot.machine.every_link = kernel_config.scope.is_none();
    if let Some((dir, watch)) = managers.networkd {
        let source = NetworkdSource::new(dir, watch).map_err(EngineError::Networkd)?;
        others.push(Box::new(Slot::new(source)));
        snapshot.networkd = Some(BTreeMap::new());
    }
    if let Some((dir, config)) = managers.ifupdown {
        let source = IfupdownSource::new(dir).map_err(EngineError::Ifupdown)?;
        snapshot.ifupdown = Some(IfupdownFacts {
            config,
            states: source.read(),
        });
        others.push(Box::new(Slot::new(source)));
    }
    if managers.networkmanager {
        // Per link, NetworkManager may well be absent: kernel facts are a normal fallback.
        let optional = managers.policy == ManagerPolicy::PerLink;
        others.push(Box::new(Slot::new(NetworkManagerSource::start(
            &system_bus,
            optional,
        ))));
        snapshot.networkmanager = Some(NetworkManagerFacts::default());
    }
    // Opened after the managers' sources, so that its dump is newer than what they read first.
    let kernel = KernelSource::open(kernel_config).map_err(EngineError::NetlinkOpen)?;
    others.insert(0, Box::new(Slot::new(kernel)));
    // The bus is only touched when DNS is part of the requirements.
    if goal.needs_dns() {
        snapshot.dns = DnsFacts::not_read();
        let probe = goal.requirement_sets().find_map(|r| r.dns_probe.clone());
        others.push(Box::new(Slot::new(DnsWatcher::start(
            &system_bus,
            probe,
            deadline,
        ))));
    }
    if goal.probes_gateway() {
        others.push(Box::new(Slot::new(GatewayProber::new())));
    }
    if let Some(timeout) = goal.carrier_timeout() {
        others.push(Box::new(Slot::new(Clock::new(CarrierTimeout(timeout)))));
    }
    if goal.needs_time_sync() {
        let dir = PathBuf::from(TIMESYNCD_DIR);
        let source = TimeSyncSource::new(dir, Box::new(Adjtimex), Some(&system_bus))
            .map_err(EngineError::TimeSync)?;
        snapshot.time_sync = Some(source.read());
        others.push(Box::new(Slot::new(source)));
    }
    let reach = goal.reach_targets();
    if !reach.is_empty() {
        others.push(Box::new(Slot::new(ReachSource::new(reach))));
    }
    if let Some(probe) = HttpProbeSource::new(goal.connectivity()) {
        snapshot.http_probe = Some(HttpProbeState::NotTried);
        others.push(Box::new(Slot::new(probe)));
    }
    if let Some(grace) = goal.dns_grace() {
        others.push(Box::new(Slot::new(Clock::new(DnsGrace(grace)))));
    }
    Ok(Sources {
        snapshot,
        sources: others,
    })
}
