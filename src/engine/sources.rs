//! The sources of facts the loop follows, each with its handler: the kernel (rtnetlink),
//! systemd-networkd's state files, NetworkManager and DNS. A handler applies what its source
//! reported to the snapshot and says whether the facts changed.

use std::collections::BTreeMap;
use std::io;
use std::time::Duration;

use super::{EngineError, ManagerSource};
use crate::core::dns::DnsFacts;
use crate::core::goal::{Goal, GoalVerdict};
use crate::core::networkmanager::NetworkManagerFacts;
use crate::core::{Manager, Snapshot};
use crate::dns::{DnsEvent, DnsWatcher};
use crate::explain_view::ExplainView;
use crate::netlink::{KernelMessages, KernelSource, KernelSourceConfig};
use crate::networkd::NetworkdSource;
use crate::networkmanager::{NetworkManagerEvent, NetworkManagerSource};
use crate::sys::{InotifyEvent, boottime_now};

/// The sources, and the facts they keep up to date.
pub(super) struct Sources {
    pub(super) snapshot: Snapshot,
    pub(super) kernel: KernelSource,
    pub(super) networkd: Option<NetworkdSource>,
    pub(super) networkmanager: Option<NetworkManagerSource>,
    pub(super) dns: Option<DnsWatcher>,
}

impl Sources {
    pub(super) fn open(
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

    /// The kernel sent messages; when its links or routes changed, networkd's files of new
    /// links are read, and DNS learns which links matter now (and that routes may have moved).
    pub(super) fn on_kernel_event(&mut self, messages: KernelMessages, goal: &Goal) -> bool {
        if !self.kernel.apply(messages, &mut self.snapshot.kernel) {
            return false;
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
    pub(super) fn on_networkd_event(&mut self, events: &[InotifyEvent]) -> bool {
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

    pub(super) fn on_networkmanager_event(&mut self, event: NetworkManagerEvent) -> bool {
        match (
            &mut self.networkmanager,
            self.snapshot.manager.networkmanager_mut(),
        ) {
            (Some(source), Some(facts)) => source.apply(event, facts),
            _ => false,
        }
    }

    pub(super) fn on_dns_event(&mut self, event: DnsEvent) -> bool {
        match &mut self.dns {
            Some(dns) => dns.apply(event, &mut self.snapshot.dns),
            None => false,
        }
    }

    /// Decides on the facts as they are now, and shows the decision in `--explain`'s view.
    pub(super) fn decide(&mut self, goal: &Goal, view: Option<&mut ExplainView>) -> GoalVerdict {
        self.snapshot.now = boottime_now();
        let verdict = goal.evaluate(&self.snapshot);
        if let Some(view) = view {
            view.update(&self.snapshot, &verdict);
        }
        verdict
    }
}

pub(super) async fn networkmanager_event(
    source: Option<&mut NetworkManagerSource>,
) -> NetworkManagerEvent {
    match source {
        Some(source) => source.next_event().await,
        None => std::future::pending().await,
    }
}

pub(super) async fn dns_event(dns: Option<&mut DnsWatcher>) -> DnsEvent {
    match dns {
        Some(dns) => dns.next_event().await,
        None => std::future::pending().await,
    }
}

pub(super) async fn networkd_event(
    source: Option<&mut NetworkdSource>,
) -> io::Result<Vec<InotifyEvent>> {
    match source {
        Some(source) => source.next_event().await,
        None => std::future::pending().await,
    }
}
