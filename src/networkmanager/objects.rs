//! NetworkManager's D-Bus objects as last read: the properties of the manager, of each device
//! and of each active connection, kept up to date from `GetManagedObjects`,
//! `PropertiesChanged`, `InterfacesAdded` and `InterfacesRemoved`, and turned into the core's
//! [`NetworkManagerFacts`]. Sans I/O: property dictionaries in, facts out.
//!
//! Bounded whatever the bus says: at most [`MAX_OBJECTS`] devices and as many active
//! connections (NetworkManager has a few dozen; the rest are ignored with one warning), object
//! paths of at most [`MAX_PATH_BYTES`], and interface names of at most 15 bytes (Linux's
//! `IFNAMSIZ` - 1: a longer one names no Linux interface and is ignored).

use std::collections::{BTreeMap, HashMap};

use zbus::zvariant::OwnedVariant;

use crate::core::connectivity::NmConnectivity;
use crate::core::networkmanager::{ActiveConnection, Device, DeviceState, NetworkManagerFacts};

pub const MANAGER_INTERFACE: &str = "org.freedesktop.NetworkManager";
pub const DEVICE_INTERFACE: &str = "org.freedesktop.NetworkManager.Device";
pub const ACTIVE_INTERFACE: &str = "org.freedesktop.NetworkManager.Connection.Active";

/// Most devices, and most active connections, kept.
pub const MAX_OBJECTS: usize = 4096;
/// Longest object path kept (NetworkManager's are ~50 bytes).
pub const MAX_PATH_BYTES: usize = 256;
/// Longest Linux interface name (`IFNAMSIZ` - 1).
const MAX_IFNAME_BYTES: usize = 15;

/// Properties by name, as D-Bus carries them.
pub type Properties = HashMap<String, OwnedVariant>;

/// A device object's properties that matter here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct DeviceObject {
    interface: String,
    ip_interface: String,
    state: u32,
    managed: bool,
    /// `Real`: false for placeholders of profiles whose device does not exist (yet).
    real: bool,
    /// `ActiveConnection` (`None` for `/`).
    active_connection: Option<String>,
}

/// An active connection's properties that matter here.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct ActiveObject {
    state: u32,
    flags: u32,
}

/// The objects; see the module documentation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Objects {
    startup: bool,
    /// The manager's `Connectivity`.
    connectivity: u32,
    /// `ConnectivityCheckAvailable`, `ConnectivityCheckEnabled`.
    check_available: bool,
    check_enabled: bool,
    devices: BTreeMap<String, DeviceObject>,
    active: BTreeMap<String, ActiveObject>,
    /// Objects were ignored past [`MAX_OBJECTS`] (warned once).
    over_limit: bool,
}

impl Objects {
    /// From `GetManagedObjects`' reply.
    pub fn from_managed(objects: &HashMap<String, HashMap<String, Properties>>) -> Objects {
        let mut all = Objects {
            // Until the manager's properties say otherwise, it is starting.
            startup: true,
            ..Objects::default()
        };
        for (path, interfaces) in objects {
            all.add(path, interfaces);
        }
        all
    }

    /// `InterfacesAdded`: an object appeared (or gained interfaces).
    pub fn add(&mut self, path: &str, interfaces: &HashMap<String, Properties>) {
        if path.len() > MAX_PATH_BYTES {
            tracing::debug!(
                "NetworkManager object with a {}-byte path ignored",
                path.len()
            );
            return;
        }
        for (interface, properties) in interfaces {
            let room = match interface.as_str() {
                DEVICE_INTERFACE => make_room(&mut self.devices, path),
                ACTIVE_INTERFACE => make_room(&mut self.active, path),
                _ => true,
            };
            if !room {
                if !self.over_limit {
                    tracing::warn!(
                        "NetworkManager has more than {MAX_OBJECTS} devices or active connections: the others are ignored"
                    );
                }
                self.over_limit = true;
                continue;
            }
            self.change(path, interface, properties);
        }
    }

    /// `InterfacesRemoved`.
    pub fn remove(&mut self, path: &str, interfaces: &[String]) {
        for interface in interfaces {
            match interface.as_str() {
                DEVICE_INTERFACE => {
                    self.devices.remove(path);
                }
                ACTIVE_INTERFACE => {
                    self.active.remove(path);
                }
                _ => {}
            }
        }
    }

    /// `PropertiesChanged` of `interface` on the object at `path`; properties of objects not
    /// known (yet) are ignored, as are values of an unexpected type.
    pub fn change(&mut self, path: &str, interface: &str, properties: &Properties) {
        match interface {
            MANAGER_INTERFACE => {
                if let Some(startup) = get::<bool>(properties, "Startup") {
                    self.startup = startup;
                }
                if let Some(connectivity) = get::<u32>(properties, "Connectivity") {
                    self.connectivity = connectivity;
                }
                if let Some(available) = get::<bool>(properties, "ConnectivityCheckAvailable") {
                    self.check_available = available;
                }
                if let Some(enabled) = get::<bool>(properties, "ConnectivityCheckEnabled") {
                    self.check_enabled = enabled;
                }
            }
            DEVICE_INTERFACE => {
                let Some(device) = self.devices.get_mut(path) else {
                    return;
                };
                if let Some(name) = get_ifname(properties, "Interface") {
                    device.interface = name;
                }
                if let Some(name) = get_ifname(properties, "IpInterface") {
                    device.ip_interface = name;
                }
                if let Some(state) = get::<u32>(properties, "State") {
                    device.state = state;
                }
                if let Some(managed) = get::<bool>(properties, "Managed") {
                    device.managed = managed;
                }
                if let Some(real) = get::<bool>(properties, "Real") {
                    device.real = real;
                }
                if let Some(path) = get_path(properties, "ActiveConnection") {
                    // A longer path names no object kept here.
                    device.active_connection =
                        (path != "/" && path.len() <= MAX_PATH_BYTES).then_some(path);
                }
            }
            ACTIVE_INTERFACE => {
                let Some(active) = self.active.get_mut(path) else {
                    return;
                };
                if let Some(state) = get::<u32>(properties, "State") {
                    active.state = state;
                }
                if let Some(flags) = get::<u32>(properties, "StateFlags") {
                    active.flags = flags;
                }
            }
            _ => {}
        }
    }

    /// Writes what the objects say into `facts` (NetworkManager runs); returns whether they
    /// changed.
    pub fn apply_to(&self, facts: &mut NetworkManagerFacts) -> bool {
        let devices: BTreeMap<String, Device> = self
            .devices
            .values()
            .filter(|d| d.real)
            .map(|d| {
                let name = match d.ip_interface.is_empty() {
                    true => d.interface.clone(),
                    false => d.ip_interface.clone(),
                };
                let connection = d
                    .active_connection
                    .as_ref()
                    .and_then(|path| self.active.get(path))
                    .map(|a| ActiveConnection {
                        state: a.state,
                        flags: a.flags,
                    });
                let device = Device {
                    state: DeviceState::from_u32(d.state),
                    managed: d.managed,
                    connection,
                };
                (name, device)
            })
            .collect();
        let connectivity = NmConnectivity::from_u32(self.connectivity);
        let checked = self.check_available && self.check_enabled;
        let changed = !facts.running
            || facts.startup != self.startup
            || facts.devices != devices
            || facts.connectivity != connectivity
            || facts.connectivity_checked != checked;
        facts.known = true;
        facts.running = true;
        facts.seen = true;
        facts.startup = self.startup;
        facts.devices = devices;
        facts.connectivity = connectivity;
        facts.connectivity_checked = checked;
        changed
    }
}

fn get<T>(properties: &Properties, name: &str) -> Option<T>
where
    T: for<'a> TryFrom<&'a OwnedVariant>,
{
    properties.get(name).and_then(|v| T::try_from(v).ok())
}

/// An interface name (empty: none); a longer one than Linux allows is ignored.
fn get_ifname(properties: &Properties, name: &str) -> Option<String> {
    let value = <&str>::try_from(properties.get(name)?).ok()?;
    if value.len() > MAX_IFNAME_BYTES {
        tracing::debug!("NetworkManager {name} of {} bytes ignored", value.len());
        return None;
    }
    Some(value.to_string())
}

/// Creates the object at `path` in `objects` unless it would be one too many; whether it is
/// there now.
fn make_room<T: Default>(objects: &mut BTreeMap<String, T>, path: &str) -> bool {
    if !objects.contains_key(path) {
        if objects.len() >= MAX_OBJECTS {
            return false;
        }
        objects.insert(path.to_string(), T::default());
    }
    true
}

fn get_path(properties: &Properties, name: &str) -> Option<String> {
    let value = properties.get(name)?;
    <&zbus::ObjectPath<'_>>::try_from(value)
        .ok()
        .map(|p| p.as_str().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use zbus::{ObjectPath, Str};

    fn props(pairs: &[(&str, OwnedVariant)]) -> Properties {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.try_clone().unwrap()))
            .collect()
    }

    fn text(value: &str) -> OwnedVariant {
        OwnedVariant::from(Str::from(value.to_string()))
    }

    fn path(value: &str) -> OwnedVariant {
        OwnedVariant::from(ObjectPath::try_from(value.to_string()).unwrap())
    }

    const DEVICE: &str = "/org/freedesktop/NetworkManager/Devices/2";
    const ACTIVE: &str = "/org/freedesktop/NetworkManager/ActiveConnection/1";

    fn managed_objects() -> HashMap<String, HashMap<String, Properties>> {
        HashMap::from([
            (
                "/org/freedesktop/NetworkManager".to_string(),
                HashMap::from([(
                    MANAGER_INTERFACE.to_string(),
                    props(&[("Startup", true.into()), ("State", 40u32.into())]),
                )]),
            ),
            (
                DEVICE.to_string(),
                HashMap::from([(
                    DEVICE_INTERFACE.to_string(),
                    props(&[
                        ("Interface", text("eth0")),
                        ("IpInterface", text("")),
                        ("State", 70u32.into()),
                        ("Managed", true.into()),
                        ("Real", true.into()),
                        ("ActiveConnection", path(ACTIVE)),
                    ]),
                )]),
            ),
            (
                ACTIVE.to_string(),
                HashMap::from([(
                    ACTIVE_INTERFACE.to_string(),
                    props(&[("State", 1u32.into()), ("StateFlags", 0u32.into())]),
                )]),
            ),
        ])
    }

    #[test]
    fn managed_objects_become_devices_joined_to_their_connection_by_name() {
        let objects = Objects::from_managed(&managed_objects());
        let mut facts = NetworkManagerFacts::default();
        assert!(objects.apply_to(&mut facts));
        assert!(facts.running && facts.seen && facts.startup);
        let eth0 = &facts.devices["eth0"];
        assert_eq!(eth0.state, DeviceState::IpConfig);
        assert_eq!(
            eth0.connection,
            Some(ActiveConnection { state: 1, flags: 0 })
        );
        assert!(!objects.apply_to(&mut facts), "nothing changed");
    }

    #[test]
    fn the_managers_connectivity_is_followed() {
        let mut objects = Objects::from_managed(&managed_objects());
        let mut facts = NetworkManagerFacts::default();
        objects.apply_to(&mut facts);
        assert_eq!(facts.connectivity, NmConnectivity::Unknown);
        assert!(!facts.connectivity_checked);
        objects.change(
            "/org/freedesktop/NetworkManager",
            MANAGER_INTERFACE,
            &props(&[
                ("Connectivity", 2u32.into()),
                ("ConnectivityCheckAvailable", true.into()),
            ]),
        );
        assert!(objects.apply_to(&mut facts));
        assert_eq!(facts.connectivity, NmConnectivity::Portal);
        // Available, not enabled: not checked.
        assert!(!facts.connectivity_checked);
        objects.change(
            "/org/freedesktop/NetworkManager",
            MANAGER_INTERFACE,
            &props(&[("ConnectivityCheckEnabled", true.into())]),
        );
        assert!(objects.apply_to(&mut facts));
        assert!(facts.connectivity_checked);
        // A value of another type is ignored.
        objects.change(
            "/org/freedesktop/NetworkManager",
            MANAGER_INTERFACE,
            &props(&[("Connectivity", text("full"))]),
        );
        assert!(!objects.apply_to(&mut facts));
        objects.change(
            "/org/freedesktop/NetworkManager",
            MANAGER_INTERFACE,
            &props(&[("Connectivity", 4u32.into())]),
        );
        assert!(objects.apply_to(&mut facts));
        assert_eq!(facts.connectivity, NmConnectivity::Full);
        facts.forget();
        assert_eq!(facts.connectivity, NmConnectivity::Unknown);
    }

    #[test]
    fn property_changes_activation_renames_and_removal() {
        let mut objects = Objects::from_managed(&managed_objects());
        let mut facts = NetworkManagerFacts::default();
        objects.apply_to(&mut facts);
        objects.change(
            ACTIVE,
            ACTIVE_INTERFACE,
            &props(&[("StateFlags", 0x1cu32.into())]),
        );
        objects.change(
            DEVICE,
            DEVICE_INTERFACE,
            &props(&[("State", 100u32.into())]),
        );
        objects.change(
            "/org/freedesktop/NetworkManager",
            MANAGER_INTERFACE,
            &props(&[("Startup", false.into())]),
        );
        assert!(objects.apply_to(&mut facts));
        let eth0 = &facts.devices["eth0"];
        assert_eq!(eth0.state, DeviceState::Activated);
        assert!(eth0.family_ready(crate::core::Family::Ipv4));
        assert!(!facts.startup);
        // IpInterface wins over Interface (PPP and the like), and a rename follows.
        objects.change(
            DEVICE,
            DEVICE_INTERFACE,
            &props(&[("IpInterface", text("ppp0"))]),
        );
        objects.apply_to(&mut facts);
        assert!(facts.devices.contains_key("ppp0") && !facts.devices.contains_key("eth0"));
        // The connection goes away: the device has none.
        objects.change(
            DEVICE,
            DEVICE_INTERFACE,
            &props(&[("ActiveConnection", path("/"))]),
        );
        objects.remove(ACTIVE, &[ACTIVE_INTERFACE.to_string()]);
        objects.apply_to(&mut facts);
        assert_eq!(facts.devices["ppp0"].connection, None);
        objects.remove(DEVICE, &[DEVICE_INTERFACE.to_string()]);
        objects.apply_to(&mut facts);
        assert!(facts.devices.is_empty());
    }

    #[test]
    fn what_the_bus_can_make_us_hold_is_bounded() {
        let mut objects = Objects::from_managed(&managed_objects());
        let device = |name: &str| {
            HashMap::from([(
                DEVICE_INTERFACE.to_string(),
                props(&[
                    ("Interface", text(name)),
                    ("Real", true.into()),
                    ("State", 100u32.into()),
                ]),
            )])
        };
        // A name longer than IFNAMSIZ - 1 is no Linux name: the known one stays.
        let long = "x".repeat(16);
        objects.change(
            DEVICE,
            DEVICE_INTERFACE,
            &props(&[("Interface", text(&long)), ("IpInterface", text(&long))]),
        );
        objects.add("/org/freedesktop/NetworkManager/Devices/3", &device(&long));
        // A path longer than MAX_PATH_BYTES is no NetworkManager object.
        let long_path = format!("/org/{}", "p".repeat(MAX_PATH_BYTES));
        objects.add(&long_path, &device("eth9"));
        objects.change(
            DEVICE,
            DEVICE_INTERFACE,
            &props(&[(
                "ActiveConnection",
                path(&format!("/org/{}", "a".repeat(MAX_PATH_BYTES))),
            )]),
        );
        // Objects past MAX_OBJECTS are ignored.
        for i in 0..MAX_OBJECTS + 100 {
            objects.add(
                &format!("/org/freedesktop/NetworkManager/Devices/x{i}"),
                &device(&format!("f{i}")),
            );
        }
        assert_eq!(objects.devices.len(), MAX_OBJECTS);
        assert!(objects.over_limit);
        assert!(!objects.devices.contains_key(&long_path));
        let eth0 = &objects.devices[DEVICE];
        assert_eq!(eth0.interface, "eth0");
        assert_eq!(eth0.ip_interface, "");
        assert_eq!(eth0.active_connection, None);
        let unnamed = &objects.devices["/org/freedesktop/NetworkManager/Devices/3"];
        assert_eq!(unnamed.interface, "");
        // Already known objects still change past the limit.
        objects.change(
            DEVICE,
            DEVICE_INTERFACE,
            &props(&[("State", 100u32.into())]),
        );
        assert_eq!(objects.devices[DEVICE].state, 100);
    }

    #[test]
    fn placeholders_and_unknown_objects_and_bad_types_are_ignored() {
        let mut objects = Objects::from_managed(&managed_objects());
        objects.add(
            "/org/freedesktop/NetworkManager/Devices/9",
            &HashMap::from([(
                DEVICE_INTERFACE.to_string(),
                props(&[("Interface", text("eth0")), ("Real", false.into())]),
            )]),
        );
        objects.change(
            "/org/freedesktop/NetworkManager/Devices/77",
            DEVICE_INTERFACE,
            &props(&[("State", 100u32.into())]),
        );
        objects.change(
            DEVICE,
            DEVICE_INTERFACE,
            &props(&[("State", text("activated"))]),
        );
        let mut facts = NetworkManagerFacts::default();
        objects.apply_to(&mut facts);
        assert_eq!(facts.devices.len(), 1);
        assert_eq!(facts.devices["eth0"].state, DeviceState::IpConfig);
    }
}
