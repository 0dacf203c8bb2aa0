//! NetworkManager's view of the devices, as its D-Bus API publishes it (read by the
//! `networkmanager` adapter), and how it maps onto upstream's per-link outcomes.
//!
//! NetworkManager publishes no ifindex: devices are joined to kernel links by name
//! (`IpInterface`, else `Interface`), which the adapter keeps up to date across renames.

use std::collections::BTreeMap;
use std::fmt;

use super::connectivity::NmConnectivity;
use super::link::KernelLink;

/// `NMDeviceState` (NetworkManager's `nm-dbus-interface.h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DeviceState {
    Unknown,
    Unmanaged,
    Unavailable,
    Disconnected,
    Prepare,
    Config,
    NeedAuth,
    IpConfig,
    IpCheck,
    Secondaries,
    Activated,
    Deactivating,
    Failed,
    /// A value this version does not know.
    Other(u32),
}

impl DeviceState {
    /// From the `State` property.
    pub fn from_u32(value: u32) -> DeviceState {
        match value {
            0 => DeviceState::Unknown,
            10 => DeviceState::Unmanaged,
            20 => DeviceState::Unavailable,
            30 => DeviceState::Disconnected,
            40 => DeviceState::Prepare,
            50 => DeviceState::Config,
            60 => DeviceState::NeedAuth,
            70 => DeviceState::IpConfig,
            80 => DeviceState::IpCheck,
            90 => DeviceState::Secondaries,
            100 => DeviceState::Activated,
            110 => DeviceState::Deactivating,
            120 => DeviceState::Failed,
            other => DeviceState::Other(other),
        }
    }

    /// The name nmcli shows.
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceState::Unknown | DeviceState::Other(_) => "unknown",
            DeviceState::Unmanaged => "unmanaged",
            DeviceState::Unavailable => "unavailable",
            DeviceState::Disconnected => "disconnected",
            DeviceState::Prepare => "prepare",
            DeviceState::Config => "config",
            DeviceState::NeedAuth => "need-auth",
            DeviceState::IpConfig => "ip-config",
            DeviceState::IpCheck => "ip-check",
            DeviceState::Secondaries => "secondaries",
            DeviceState::Activated => "activated",
            DeviceState::Deactivating => "deactivating",
            DeviceState::Failed => "failed",
        }
    }

    /// Between the first step of an activation and its end, or on the way out of one:
    /// prepare…secondaries, deactivating, and failed (NetworkManager retries, and a failed
    /// device goes back to disconnected and tries again).
    pub fn is_activating(self) -> bool {
        matches!(
            self,
            DeviceState::Prepare
                | DeviceState::Config
                | DeviceState::NeedAuth
                | DeviceState::IpConfig
                | DeviceState::IpCheck
                | DeviceState::Secondaries
                | DeviceState::Deactivating
                | DeviceState::Failed
        )
    }
}

impl fmt::Display for DeviceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceState::Other(value) => write!(f, "unknown state {value}"),
            state => f.write_str(state.as_str()),
        }
    }
}

/// `NMActivationStateFlags` bits that matter here.
pub mod activation_flags {
    /// IPv4 configuration is complete.
    pub const IP4_READY: u32 = 0x8;
    /// IPv6 configuration is complete.
    pub const IP6_READY: u32 = 0x10;
    /// The connection was generated for a device configured outside NetworkManager.
    pub const EXTERNAL: u32 = 0x80;
}

/// A device's active connection (`org.freedesktop.NetworkManager.Connection.Active`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ActiveConnection {
    /// `State`: 1 activating, 2 activated, 3 deactivating, 4 deactivated.
    pub state: u32,
    /// `StateFlags` ([`activation_flags`]).
    pub flags: u32,
}

impl ActiveConnection {
    /// A connection NetworkManager generated for configuration made by someone else.
    pub fn is_external(&self) -> bool {
        self.flags & activation_flags::EXTERNAL != 0
    }
}

/// One device as NetworkManager publishes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub state: DeviceState,
    /// `Managed`.
    pub managed: bool,
    /// Its active connection, when it has one.
    pub connection: Option<ActiveConnection>,
}

impl Device {
    /// Whether NetworkManager configures this device itself (neither unmanaged nor only
    /// observing configuration made by someone else).
    pub fn is_managed(&self) -> bool {
        self.managed
            && self.state != DeviceState::Unmanaged
            && !self.connection.is_some_and(|c| c.is_external())
    }

    /// Whether NetworkManager finished the configuration of `family` on an activated device.
    pub fn family_ready(&self, family: super::Family) -> bool {
        let flag = match family {
            super::Family::Ipv4 => activation_flags::IP4_READY,
            super::Family::Ipv6 => activation_flags::IP6_READY,
        };
        self.connection.is_some_and(|c| c.flags & flag != 0)
    }
}

/// What NetworkManager says, as far as it has been read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NetworkManagerFacts {
    /// Whether NetworkManager runs is known: the bus answered (or is missing), and when it
    /// owns its name, its objects have been read. Until then nothing falls back to kernel
    /// facts.
    pub known: bool,
    /// NetworkManager owns its bus name and its objects have been read.
    pub running: bool,
    /// It was running at some moment of this wait: its absence is a restart (or a stop), and
    /// links it managed are not judged on stale facts or kernel facts meanwhile.
    pub seen: bool,
    /// The manager's `Startup`: it is still activating what it activates at startup.
    pub startup: bool,
    /// Devices by interface name (`IpInterface`, else `Interface`).
    pub devices: BTreeMap<String, Device>,
    /// The manager's `Connectivity`: its own judgement of the Internet.
    pub connectivity: NmConnectivity,
    /// Its connectivity check runs (`ConnectivityCheckAvailable` and
    /// `ConnectivityCheckEnabled`): without it, `Connectivity` is only a guess (full as soon
    /// as a device has a default route).
    pub connectivity_checked: bool,
}

impl NetworkManagerFacts {
    /// The device of a kernel link.
    pub fn device(&self, link: &KernelLink) -> Option<&Device> {
        self.devices.get(&link.name)
    }

    /// NetworkManager went away (or is being read again): nothing it said holds any more.
    pub fn forget(&mut self) {
        self.running = false;
        self.startup = false;
        self.devices.clear();
        self.connectivity = NmConnectivity::Unknown;
        self.connectivity_checked = false;
    }
}

/// Why NetworkManager's view of a link is not settled yet (upstream's "not yet processed").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NmPending {
    /// Its view has not been read yet: the bus has not answered, or its objects are being
    /// read.
    NotRead,
    /// NetworkManager does not own its bus name (not started yet, or restarting).
    NotRunning,
    /// It is starting and does not list the device yet.
    NotListed,
    /// It is starting, and the device is in this state (unavailable, disconnected, unknown).
    Starting(DeviceState),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_states_round_trip_their_numbers_and_names() {
        let known = [
            (0, "unknown"),
            (10, "unmanaged"),
            (20, "unavailable"),
            (30, "disconnected"),
            (40, "prepare"),
            (50, "config"),
            (60, "need-auth"),
            (70, "ip-config"),
            (80, "ip-check"),
            (90, "secondaries"),
            (100, "activated"),
            (110, "deactivating"),
            (120, "failed"),
        ];
        for (number, name) in known {
            assert_eq!(DeviceState::from_u32(number).as_str(), name, "{number}");
        }
        assert_eq!(DeviceState::from_u32(65).to_string(), "unknown state 65");
        let activating: Vec<u32> = (0..=130)
            .filter(|&n| DeviceState::from_u32(n).is_activating())
            .collect();
        assert_eq!(activating, [40, 50, 60, 70, 80, 90, 110, 120]);
    }

    #[test]
    fn external_connections_and_unmanaged_devices_are_not_managed() {
        let device = |state, flags| Device {
            state: DeviceState::from_u32(state),
            managed: true,
            connection: Some(ActiveConnection { state: 2, flags }),
        };
        assert!(device(100, activation_flags::IP4_READY).is_managed());
        assert!(
            !device(
                100,
                activation_flags::EXTERNAL | activation_flags::IP4_READY
            )
            .is_managed()
        );
        assert!(!device(10, 0).is_managed());
        let mut unmanaged_flag = device(30, 0);
        unmanaged_flag.managed = false;
        assert!(!unmanaged_flag.is_managed());
        let ready = device(100, activation_flags::IP6_READY);
        assert!(ready.family_ready(crate::core::Family::Ipv6));
        assert!(!ready.family_ready(crate::core::Family::Ipv4));
    }
}
