//! The facts the decision is made from: the kernel's links and, when systemd-networkd manages
//! the machine, what its per-link state files say.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use super::connectivity::HttpProbeState;
use super::dns::{DnsFacts, NetworkdDns};
use super::ifupdown::IfupdownFacts;
use super::link::{KernelLink, LinkStatus};
use super::machine::MachineFacts;
use super::networkmanager::{Device, NetworkManagerFacts};
use super::range::OperStateRange;
use super::reach::{ReachFacts, ReachTarget};
use super::state::{CarrierState, RequiredFamilies, SetupState};
use super::timesync::TimeSyncFacts;
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
    /// `DNS=` names a server (static, or from a lease or a router advertisement).
    pub dns_servers: bool,
    /// `DHCP_LEASE=`: the link holds a DHCPv4 lease.
    pub dhcp_lease: bool,
    /// `CAPTIVE_PORTAL=`: the captive portal learnt on the link (RFC 8910: DHCPv4 option
    /// 114, DHCPv6 option 103, a router advertisement), systemd 254 and later.
    pub captive_portal: Option<String>,
}

impl NetworkdLink {
    /// Where the link's DNS servers would come from, said when none is configured anywhere;
    /// `None` when the file names one (resolved has not taken it yet).
    pub fn missing_dns(&self) -> Option<NetworkdDns> {
        match (self.dns_servers, self.dhcp_lease) {
            (true, _) => None,
            (false, true) => Some(NetworkdDns::LeaseWithout),
            (false, false) => Some(NetworkdDns::NotConfigured),
        }
    }
}

impl Default for NetworkdLink {
    fn default() -> Self {
        NetworkdLink {
            setup: None,
            required_for_online: true,
            required_range: None,
            required_families: RequiredFamilies::NONE,
            dns_servers: false,
            dhcp_lease: false,
            captive_portal: None,
        }
    }
}

/// How the rules that judge each link are chosen from the managers whose facts are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ManagerPolicy {
    /// One manager judges every link: systemd-networkd when its state files are read, else
    /// NetworkManager when its facts are, else nobody (links are judged on kernel facts).
    #[default]
    OneManager,
    /// `--manager=auto` where NetworkManager may run or ifupdown manages the machine: per
    /// link, networkd when its state file manages the link, else NetworkManager when it
    /// manages the device (or before its view is known), else ifupdown when an `auto` or
    /// `allow-hotplug` line names the link, else the rules of whichever runs (networkd
    /// first), else kernel facts.
    PerLink,
}

/// Whose rules judge one link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkManager<'a> {
    Kernel,
    /// systemd-networkd, with the link's state file when it has written one.
    Networkd(Option<&'a NetworkdLink>),
    /// NetworkManager, with its facts and the link's device when it lists one.
    NetworkManager(&'a NetworkManagerFacts, Option<&'a Device>),
    /// ifupdown (`--manager=ifupdown`), with its configuration and state.
    Ifupdown(&'a IfupdownFacts),
}

/// The name of a link's manager, for reports (`--json`'s `manager`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManagerKind {
    Kernel,
    Networkd,
    NetworkManager,
    Ifupdown,
}

impl ManagerKind {
    /// `none`, `networkd` or `networkmanager`, as `--manager=` spells them.
    pub fn as_str(self) -> &'static str {
        match self {
            ManagerKind::Kernel => "none",
            ManagerKind::Networkd => "networkd",
            ManagerKind::NetworkManager => "networkmanager",
            ManagerKind::Ifupdown => "ifupdown",
        }
    }
}

impl LinkManager<'_> {
    pub fn kind(&self) -> ManagerKind {
        match self {
            LinkManager::Kernel => ManagerKind::Kernel,
            LinkManager::Networkd(_) => ManagerKind::Networkd,
            LinkManager::NetworkManager(..) => ManagerKind::NetworkManager,
            LinkManager::Ifupdown(_) => ManagerKind::Ifupdown,
        }
    }
}

/// Everything known at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The kernel's links (with addresses) and routes.
    pub kernel: KernelTables,
    /// DNS configuration and probe state (only gathered with `--dns`/`--dns-probe`).
    pub dns: DnsFacts,
    /// systemd-networkd's state file per ifindex (absent = not yet written), when read.
    pub networkd: Option<BTreeMap<u32, NetworkdLink>>,
    /// NetworkManager's view, when followed.
    pub networkmanager: Option<NetworkManagerFacts>,
    /// ifupdown's configuration and state, when read (`--manager=ifupdown`, or `auto` where
    /// ifupdown brings up links).
    pub ifupdown: Option<IfupdownFacts>,
    /// The clock's synchronisation, when followed (`--require-time-sync`).
    pub time_sync: Option<TimeSyncFacts>,
    /// `--reach`: the connection attempts' results per target (none before the first).
    pub reach: BTreeMap<ReachTarget, ReachFacts>,
    /// The HTTP probe's state, when it is asked (`--http-probe`).
    pub http_probe: Option<HttpProbeState>,
    /// Whose facts judge each link.
    pub policy: ManagerPolicy,
    /// CLOCK_BOOTTIME at the moment of the snapshot, for address lifetimes.
    pub now: Duration,
    /// Since when (CLOCK_BOOTTIME) each link without carrier has lacked it during this wait
    /// ([`Snapshot::note_carrier`]), for `--carrier-timeout`.
    pub no_carrier_since: BTreeMap<u32, Duration>,
    /// Since when (CLOCK_BOOTTIME) only a DNS server has been missing, none being configured
    /// anywhere ([`crate::core::goal::Goal::note_no_dns_server`]), for `--dns-grace`.
    pub no_dns_server_since: Option<Duration>,
    /// The machine: a container or not, the wait-online units the boot starts.
    pub machine: MachineFacts,
}

impl Snapshot {
    /// An empty snapshot where links are judged on kernel facts alone.
    pub fn kernel_only() -> Snapshot {
        Snapshot {
            kernel: KernelTables::default(),
            dns: DnsFacts::unavailable(),
            networkd: None,
            networkmanager: None,
            ifupdown: None,
            time_sync: None,
            reach: BTreeMap::new(),
            http_probe: None,
            policy: ManagerPolicy::OneManager,
            now: Duration::ZERO,
            no_carrier_since: BTreeMap::new(),
            no_dns_server_since: None,
            machine: MachineFacts::default(),
        }
    }

    /// Notes, as of `now`, which links have no carrier and since when: a link first seen
    /// without carrier starts counting now (at the earliest, when the wait began); a link
    /// with carrier is forgotten, so it counts again from zero when it loses it again.
    pub fn note_carrier(&mut self) {
        let lacking: Vec<u32> = self
            .kernel
            .links
            .values()
            .filter(|link| link.own_carrier_state() == CarrierState::NoCarrier)
            .map(|link| link.ifindex)
            .collect();
        self.no_carrier_since
            .retain(|ifindex, _| lacking.contains(ifindex));
        for ifindex in lacking {
            self.no_carrier_since.entry(ifindex).or_insert(self.now);
        }
    }

    /// How long `link` has had no carrier during this wait (zero when it has carrier).
    pub fn without_carrier_for(&self, link: &KernelLink) -> Duration {
        self.no_carrier_since
            .get(&link.ifindex)
            .map_or(Duration::ZERO, |since| self.now.saturating_sub(*since))
    }

    /// The link whose name or alternative name is `name`.
    pub fn link_by_name(&self, name: &str) -> Option<&KernelLink> {
        self.kernel.links.values().find(|link| link.has_name(name))
    }

    /// networkd's state file of a link, when networkd's files are read and it has written it.
    pub fn networkd_link(&self, ifindex: u32) -> Option<&NetworkdLink> {
        self.networkd.as_ref()?.get(&ifindex)
    }

    /// Whose rules judge `link` (see [`ManagerPolicy`]).
    pub fn link_manager(&self, link: &KernelLink) -> LinkManager<'_> {
        let file = self.networkd_link(link.ifindex);
        if self.policy == ManagerPolicy::OneManager {
            // `--manager=ifupdown` judges every link by ifupdown's rules.
            return match (&self.ifupdown, &self.networkd, &self.networkmanager) {
                (Some(facts), ..) => LinkManager::Ifupdown(facts),
                (None, Some(_), _) => LinkManager::Networkd(file),
                (None, None, Some(facts)) => LinkManager::NetworkManager(facts, facts.device(link)),
                (None, None, None) => LinkManager::Kernel,
            };
        }
        if file.is_some_and(|f| {
            f.setup
                .as_ref()
                .is_some_and(|s| *s != SetupState::Unmanaged)
        }) {
            return LinkManager::Networkd(file);
        }
        if let Some(networkmanager) = &self.networkmanager {
            // Nothing falls back to another manager's rules or to kernel facts before
            // NetworkManager's view is known.
            let device = networkmanager.device(link);
            let nm_manages = networkmanager.running && device.is_some_and(|d| d.is_managed());
            if !networkmanager.known || nm_manages {
                return LinkManager::NetworkManager(networkmanager, device);
            }
        }
        // ifupdown's where an `auto` or `allow-hotplug` line names the link and neither
        // networkd nor NetworkManager manages it.
        if let Some(facts) = &self.ifupdown {
            let names =
                std::iter::once(link.name.as_str()).chain(link.altnames.iter().map(String::as_str));
            if facts.config.class_of(names).is_some() {
                return LinkManager::Ifupdown(facts);
            }
        }
        match &self.networkmanager {
            _ if self.networkd.is_some() => LinkManager::Networkd(file),
            Some(nm) if nm.running || nm.seen => LinkManager::NetworkManager(nm, nm.device(link)),
            _ => LinkManager::Kernel,
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

/// Empty snapshots for the decision's tests: the engine fills `networkd`, `networkmanager`
/// and `policy` from the sources it opens.
#[cfg(test)]
impl Snapshot {
    /// An empty snapshot where systemd-networkd's state files judge every link.
    pub fn networkd(files: BTreeMap<u32, NetworkdLink>) -> Snapshot {
        Snapshot {
            networkd: Some(files),
            ..Snapshot::kernel_only()
        }
    }

    /// An empty snapshot where NetworkManager's view judges every link.
    pub fn networkmanager(facts: NetworkManagerFacts) -> Snapshot {
        Snapshot {
            networkmanager: Some(facts),
            ..Snapshot::kernel_only()
        }
    }

    /// An empty snapshot for `--manager=auto` ([`ManagerPolicy::PerLink`]).
    pub fn per_link(
        networkd: Option<BTreeMap<u32, NetworkdLink>>,
        networkmanager: NetworkManagerFacts,
    ) -> Snapshot {
        Snapshot {
            networkd,
            networkmanager: Some(networkmanager),
            policy: ManagerPolicy::PerLink,
            ..Snapshot::kernel_only()
        }
    }
}
