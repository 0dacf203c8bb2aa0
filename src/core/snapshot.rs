//! The facts the decision is made from: the kernel's links and, when systemd-networkd manages
//! the machine, what its per-link state files say.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use super::dns::DnsFacts;
use super::link::{KernelLink, LinkStatus};
use super::range::OperStateRange;
use super::state::{CarrierState, RequiredFamilies, SetupState};
use super::update::KernelTables;

/// What systemd-networkd's state file `/run/systemd/netif/links/<ifindex>` says about a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkdLink {
    /// `ADMIN_STATE=`; `None` when the key is missing or empty.
    pub setup: Option<SetupState>,
    /// `REQUIRED_FOR_ONLINE=`; missing or unparsable means required, as upstream.
    pub required_for_online: bool,
    /// `REQUIRED_OPER_STATE_FOR_ONLINE=`; `None` means networkd's default.
    pub required_range: Option<OperStateRange>,
    /// `REQUIRED_FAMILY_FOR_ONLINE=`; missing means none.
    pub required_families: RequiredFamilies,
}

impl Default for NetworkdLink {
    fn default() -> Self {
        NetworkdLink {
            setup: None,
            required_for_online: true,
            required_range: None,
            required_families: RequiredFamilies::NONE,
        }
    }
}

/// Who configures the links, which decides the rules applied to them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Manager {
    /// No network manager whose state we read: links are judged on kernel facts alone.
    KernelOnly,
    /// systemd-networkd, with its state file per ifindex (absent = not yet written).
    Networkd(BTreeMap<u32, NetworkdLink>),
}

/// Everything known at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The kernel's links (with addresses) and routes.
    pub kernel: KernelTables,
    /// DNS configuration and probe state (only gathered with `--dns`/`--dns-probe`).
    pub dns: DnsFacts,
    pub manager: Manager,
    /// CLOCK_BOOTTIME at the moment of the snapshot, for address lifetimes.
    pub now: Duration,
}

impl Snapshot {
    /// An empty snapshot for the given manager.
    pub fn new(manager: Manager) -> Snapshot {
        Snapshot {
            kernel: KernelTables::default(),
            dns: DnsFacts::unavailable(),
            manager,
            now: Duration::ZERO,
        }
    }

    /// The link whose name or alternative name is `name`.
    pub fn link_by_name(&self, name: &str) -> Option<&KernelLink> {
        self.kernel.links.values().find(|link| link.has_name(name))
    }

    /// networkd's view of a link, when networkd is the manager and has written its file.
    pub fn networkd_link(&self, ifindex: u32) -> Option<&NetworkdLink> {
        match &self.manager {
            Manager::KernelOnly => None,
            Manager::Networkd(files) => files.get(&ifindex),
        }
    }

    /// Masters (bond, bridge, VRF) that have at least one port without carrier.
    pub fn masters_with_port_lacking_carrier(&self) -> HashSet<u32> {
        self.kernel
            .links
            .values()
            .filter(|port| port.own_carrier_state() < CarrierState::Carrier)
            .filter_map(|port| port.master)
            .collect()
    }

    /// Computed states of one link, given the set from [`Self::masters_with_port_lacking_carrier`].
    pub fn status(&self, link: &KernelLink, degraded_masters: &HashSet<u32>) -> LinkStatus {
        link.status(degraded_masters.contains(&link.ifindex), self.now)
    }
}
