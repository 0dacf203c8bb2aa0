//! The merged Netplan configuration, reduced to what the wait-online generator looks at.

use std::fmt;
use std::path::PathBuf;

/// Netplan's device types (`NetplanDefType`), in Netplan's order: everything from
/// [`DeviceType::Bridge`] on is "virtual" (`type >= NETPLAN_DEF_TYPE_VIRTUAL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceType {
    Ethernet,
    Wifi,
    Modem,
    Bridge,
    Bond,
    Vlan,
    Tunnel,
    Vrf,
    /// `nm-devices`: always rendered by NetworkManager.
    NmDevice,
    Dummy,
    Veth,
    /// A VLAN parent that a NetworkManager-rendered VLAN names but no file defines
    /// (Netplan's `NETPLAN_DEF_TYPE_NM_PLACEHOLDER_`); always rendered by NetworkManager.
    NmPlaceholder,
}

impl DeviceType {
    /// Every type that has a section under `network:`, with the section's key.
    pub const SECTIONS: [(&'static str, DeviceType); 11] = [
        ("ethernets", DeviceType::Ethernet),
        ("wifis", DeviceType::Wifi),
        ("modems", DeviceType::Modem),
        ("bridges", DeviceType::Bridge),
        ("bonds", DeviceType::Bond),
        ("vlans", DeviceType::Vlan),
        ("tunnels", DeviceType::Tunnel),
        ("vrfs", DeviceType::Vrf),
        ("nm-devices", DeviceType::NmDevice),
        ("dummy-devices", DeviceType::Dummy),
        ("virtual-ethernets", DeviceType::Veth),
    ];

    /// True for devices that are created by the renderer rather than found (bridges, bonds,
    /// VLANs, tunnels, VRFs, dummies, veths, nm-devices): Netplan always waits for these by id.
    pub fn is_virtual(self) -> bool {
        !self.is_physical()
    }

    /// True for ethernets, wifis and modems: these are waited for only when present, and they
    /// alone may have `match:` and `set-name:`.
    pub fn is_physical(self) -> bool {
        matches!(
            self,
            DeviceType::Ethernet | DeviceType::Wifi | DeviceType::Modem
        )
    }

    /// The `network:` section key (`ethernets`, `bonds` …).
    pub fn section(self) -> &'static str {
        match self {
            DeviceType::NmPlaceholder => "(placeholder)",
            other => DeviceType::SECTIONS
                .iter()
                .find(|(_, t)| *t == other)
                .map_or("", |(key, _)| key),
        }
    }
}

/// Which program renders a definition (`renderer:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    Networkd,
    NetworkManager,
    /// Implied by `openvswitch:` settings or Open vSwitch members; not networkd.
    OpenVSwitch,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Networkd => "networkd",
            Backend::NetworkManager => "NetworkManager",
            Backend::OpenVSwitch => "openvswitch",
        })
    }
}

/// `activation-mode:`; any value makes the device optional for wait-online.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActivationMode {
    Manual,
    Off,
}

/// One network definition (`NetplanNetDefinition`) after all files were applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetDef {
    /// The definition's id (its key under `ethernets:` etc.).
    pub id: String,
    pub device_type: DeviceType,
    /// The effective renderer: the definition's own `renderer:`, else the `renderer:` of its
    /// section when it was first defined, else the global `network: renderer:`, else networkd.
    pub backend: Backend,
    pub optional: bool,
    pub activation_mode: Option<ActivationMode>,
    /// Static addresses, as written (`10.0.0.2/24`), from every file, without duplicates.
    pub addresses: Vec<String>,
    pub dhcp4: bool,
    pub dhcp6: bool,
    /// `accept-ra:`; `None` leaves the kernel default (which does not count as routable).
    pub accept_ra: Option<bool>,
    /// `link-local:` contains `ipv4` (default false).
    pub link_local_ipv4: bool,
    /// `link-local:` contains `ipv6` (default true).
    pub link_local_ipv6: bool,
    pub ignore_carrier: bool,
    /// The bond whose `interfaces:` lists this definition.
    pub bond: Option<String>,
    /// The bridge whose `interfaces:` lists this definition.
    pub bridge: Option<String>,
    /// A `match:` mapping was given (even an empty one, which matches every interface).
    pub has_match: bool,
    /// `match: name:` (a shell glob).
    pub match_name: Option<String>,
    /// `match: macaddress:`.
    pub match_macaddress: Option<String>,
    /// `match: driver:` (one glob or several, any of which may match); empty when not given.
    pub match_driver: Vec<String>,
    /// `set-name:`, as written.
    pub set_name: Option<String>,
    /// The last file that defined or amended this definition.
    pub file: PathBuf,
}

impl NetDef {
    /// A definition with Netplan's defaults (`reset_netdef()`): link-local `[ipv6]`, nothing
    /// else set.
    pub fn new(id: &str, device_type: DeviceType, backend: Backend) -> NetDef {
        NetDef {
            id: id.to_string(),
            device_type,
            backend,
            optional: false,
            activation_mode: None,
            addresses: Vec::new(),
            dhcp4: false,
            dhcp6: false,
            accept_ra: None,
            link_local_ipv4: false,
            link_local_ipv6: true,
            ignore_carrier: false,
            bond: None,
            bridge: None,
            has_match: false,
            match_name: None,
            match_macaddress: None,
            match_driver: Vec::new(),
            set_name: None,
            file: PathBuf::new(),
        }
    }
}

/// All definitions of all files, in Netplan's order (order of first definition).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetplanConfig {
    pub defs: Vec<NetDef>,
    /// The global `network: renderer:` in force after the last file (the last one given).
    pub global_renderer: Option<Backend>,
    /// The files that were read, in the order they were applied.
    pub files: Vec<PathBuf>,
}

impl NetplanConfig {
    /// The definition with this id.
    pub fn get(&self, id: &str) -> Option<&NetDef> {
        self.defs.iter().find(|d| d.id == id)
    }

    /// True when at least one definition is rendered by networkd (Netplan touches the
    /// wait-online service only then).
    pub fn any_networkd(&self) -> bool {
        self.defs.iter().any(|d| d.backend == Backend::Networkd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn physical_and_virtual_types_follow_netplan() {
        for t in [DeviceType::Ethernet, DeviceType::Wifi, DeviceType::Modem] {
            assert!(t.is_physical() && !t.is_virtual(), "{t:?}");
        }
        for (_, t) in DeviceType::SECTIONS.iter().skip(3) {
            assert!(t.is_virtual(), "{t:?}");
        }
        assert!(DeviceType::NmPlaceholder.is_virtual());
        assert_eq!(DeviceType::Veth.section(), "virtual-ethernets");
        assert_eq!(DeviceType::Bond.section(), "bonds");
    }

    #[test]
    fn defaults_are_netplans() {
        let d = NetDef::new("eth0", DeviceType::Ethernet, Backend::Networkd);
        assert!(d.link_local_ipv6 && !d.link_local_ipv4);
        assert!(!d.optional && !d.has_match && d.accept_ra.is_none());
        assert_eq!(Backend::NetworkManager.to_string(), "NetworkManager");
    }
}
