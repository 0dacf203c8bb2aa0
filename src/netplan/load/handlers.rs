//! One function per key, each named after the `handle_*` function of Netplan's src/parse.c it
//! mirrors, and the tables (parse.c's `*_handlers[]`) that say which keys a device type has.
//! Only the keys that matter for wait-online have a row; every other key is ignored.

use super::values::{
    address, boolean, invalid, key_text, mapping, renderer, scalar, sequence, valid_id, valid_mac,
};
use super::{Loader, Pass, Result};
use crate::netplan::config::{ActivationMode, Backend, DeviceType, NetDef};
use crate::netplan::yaml::{Node, Value};
use crate::text::{Excerpt, excerpt, strtol};

/// What a key of a definition does: a row's handler in Netplan's `mapping_entry_handler`
/// tables.
#[derive(Clone, Copy)]
enum Handler {
    /// `handle_netdef_bool()` into this field (the row's `netdef_offset()`).
    NetdefBool(fn(&mut NetDef) -> &mut bool),
    /// A handler of its own.
    Custom(fn(&mut Loader, &mut Pass<'_>, Entry<'_>) -> Result<()>),
}

use Handler::{Custom, NetdefBool};

/// The key a handler is given: which definition, the key's value, and its dotted key
/// (`network.ethernets.eth0.dhcp4`) for errors.
#[derive(Clone, Copy)]
struct Entry<'a> {
    index: usize,
    value: &'a Node,
    key: &'a str,
}

/// How a member joins a bond or bridge (by id): `Err(("bond", id))` names the bond or bridge
/// it is already in.
type Join = fn(&mut NetDef, &str) -> std::result::Result<(), (&'static str, String)>;

/// One handler table: key, handler.
type Table = &'static [(&'static str, Handler)];

/// `COMMON_LINK_HANDLERS`: the keys of every device type.
const COMMON_LINK_HANDLERS: Table = &[
    ("accept-ra", Custom(Loader::handle_accept_ra)),
    ("activation-mode", Custom(Loader::handle_activation_mode)),
    ("addresses", Custom(Loader::handle_addresses)),
    ("ignore-carrier", NetdefBool(|d| &mut d.ignore_carrier)),
    ("dhcp4", NetdefBool(|d| &mut d.dhcp4)),
    ("dhcp6", NetdefBool(|d| &mut d.dhcp6)),
    ("link-local", Custom(Loader::handle_link_local)),
    ("optional", NetdefBool(|d| &mut d.optional)),
    ("renderer", Custom(Loader::handle_netdef_renderer)),
];

/// `COMMON_BACKEND_HANDLERS`.
const COMMON_BACKEND_HANDLERS: Table = &[("openvswitch", Custom(Loader::handle_ovs_backend))];

/// `PHYSICAL_LINK_HANDLERS`: ethernets, wifis, modems (and nm-devices, which use the
/// ethernets' table).
const PHYSICAL_LINK_HANDLERS: Table = &[
    ("match", Custom(Loader::handle_match)),
    ("set-name", Custom(Loader::handle_netdef_str_set_name)),
];

/// `bridge_def_handlers`, beyond the common ones.
const BRIDGE_DEF_HANDLERS: Table = &[("interfaces", Custom(Loader::handle_bridge_interfaces))];

/// `bond_def_handlers`, beyond the common ones.
const BOND_DEF_HANDLERS: Table = &[
    ("interfaces", Custom(Loader::handle_bond_interfaces)),
    ("parameters", Custom(Loader::handle_bonding)),
];

/// `vlan_def_handlers`, beyond the common ones.
const VLAN_DEF_HANDLERS: Table = &[("link", Custom(Loader::handle_netdef_id_ref))];

/// `match_handlers`.
const MATCH_HANDLERS: Table = &[
    ("driver", Custom(Loader::handle_match_driver)),
    ("macaddress", Custom(Loader::handle_netdef_match_mac)),
    ("name", Custom(Loader::handle_netdef_id_match_name)),
];

/// `bond_params_handlers`.
const BOND_PARAMS_HANDLERS: Table = &[("mode", Custom(Loader::handle_bond_mode))];

/// The tables of a device type, as `handle_network_type()` chooses them.
fn def_handlers(device_type: DeviceType) -> &'static [Table] {
    use DeviceType::*;
    match device_type {
        Ethernet | Wifi | Modem | NmDevice => &[
            COMMON_LINK_HANDLERS,
            COMMON_BACKEND_HANDLERS,
            PHYSICAL_LINK_HANDLERS,
        ],
        Bridge => &[
            COMMON_LINK_HANDLERS,
            COMMON_BACKEND_HANDLERS,
            BRIDGE_DEF_HANDLERS,
        ],
        Bond => &[
            COMMON_LINK_HANDLERS,
            COMMON_BACKEND_HANDLERS,
            BOND_DEF_HANDLERS,
        ],
        Vlan => &[
            COMMON_LINK_HANDLERS,
            COMMON_BACKEND_HANDLERS,
            VLAN_DEF_HANDLERS,
        ],
        // A placeholder is repurposed before any key of it is read.
        Tunnel | Vrf | Dummy | Veth | NmPlaceholder => {
            &[COMMON_LINK_HANDLERS, COMMON_BACKEND_HANDLERS]
        }
    }
}

impl Loader {
    /// `root_handlers`: only `network:` is read.
    pub(super) fn handle_root(&mut self, pass: &mut Pass<'_>, root: &Node) -> Result<()> {
        for (key, value) in mapping(pass.path, root, "(top level)")? {
            if key_text(pass.path, key, "(top level)")? == "network" {
                self.handle_network(pass, value)?;
            }
        }
        Ok(())
    }

    /// `network_handlers`: `version:`, `renderer:` and the device sections.
    fn handle_network(&mut self, pass: &mut Pass<'_>, node: &Node) -> Result<()> {
        for (key, value) in mapping(pass.path, node, "network")? {
            let name = key_text(pass.path, key, "network")?;
            let key_path = format!("network.{name}");
            match name {
                "version" => handle_network_version(pass, value, &key_path)?,
                "renderer" => {
                    self.global_backend = Some(renderer(pass.path, value, &key_path)?);
                }
                _ => {
                    if let Some(&(_, device_type)) = DeviceType::SECTIONS
                        .iter()
                        .find(|(section, _)| *section == name)
                    {
                        self.handle_network_type(pass, device_type, value, &key_path)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// `handle_network_type()`: the definitions of one section (`ethernets:` …), created or
    /// amended, each key given to its handler.
    fn handle_network_type(
        &mut self,
        pass: &mut Pass<'_>,
        device_type: DeviceType,
        node: &Node,
        section_path: &str,
    ) -> Result<()> {
        let path = pass.path;
        let mut section_backend: Option<Backend> = None;
        for (key, value) in mapping(path, node, section_path)? {
            let id = key_text(path, key, section_path)?;
            let key_path = format!("{section_path}.{id}");
            valid_id(path, key.mark, id, &key_path)?;
            if id.contains(['*', '[', ']', '?']) {
                return Err(invalid(
                    path,
                    key.mark,
                    &key_path,
                    format!("Definition ID '{}' must not use globbing", Excerpt(id)),
                ));
            }
            if id == "renderer" {
                section_backend = Some(renderer(path, value, &key_path)?);
                continue;
            }
            mapping(path, value, &key_path)?;
            if pass.missing.remove(id).is_some() {
                pass.found += 1;
            }
            let index = match self.by_id.get(id) {
                Some(&index) => {
                    let existing = &mut self.defs[index];
                    if existing.def.device_type != device_type {
                        if existing.def.device_type == DeviceType::NmPlaceholder {
                            existing.def.device_type = device_type;
                        } else {
                            return Err(invalid(
                                path,
                                key.mark,
                                &key_path,
                                format!("Updated definition '{}' changes device type", Excerpt(id)),
                            ));
                        }
                    }
                    existing.mark = key.mark;
                    existing.key.clone_from(&key_path);
                    index
                }
                None => {
                    self.netplan_netdef_new(id, device_type, section_backend, key.mark, &key_path)
                }
            };
            self.defs[index].def.file = path.to_path_buf();
            self.process_mapping(pass, index, value, &key_path, def_handlers(device_type))?;
            if device_type == DeviceType::NmDevice {
                self.defs[index].backend = Some(Backend::NetworkManager);
            }
            if !pass.touched.contains(&index) {
                pass.touched.push(index);
            }
        }
        Ok(())
    }

    /// `process_mapping()`: each key of the mapping `node` (at `key_path`) of definition
    /// `index` to its handler in `tables`; a key without one is ignored.
    fn process_mapping(
        &mut self,
        pass: &mut Pass<'_>,
        index: usize,
        node: &Node,
        key_path: &str,
        tables: &[Table],
    ) -> Result<()> {
        for (key, value) in mapping(pass.path, node, key_path)? {
            let name = key_text(pass.path, key, key_path)?;
            let Some(&(_, handler)) = tables
                .iter()
                .flat_map(|t| t.iter())
                .find(|(k, _)| *k == name)
            else {
                continue;
            };
            let entry_path = format!("{key_path}.{name}");
            match handler {
                NetdefBool(field) => {
                    *field(&mut self.defs[index].def) = boolean(pass.path, value, &entry_path)?;
                }
                Custom(handle) => {
                    let key = &entry_path;
                    handle(self, pass, Entry { index, value, key })?;
                }
            }
        }
        Ok(())
    }

    /// `handle_accept_ra()`.
    fn handle_accept_ra(&mut self, pass: &mut Pass<'_>, entry: Entry<'_>) -> Result<()> {
        let Entry { index, value, key } = entry;
        self.defs[index].def.accept_ra = Some(boolean(pass.path, value, key)?);
        Ok(())
    }

    /// `handle_activation_mode()`.
    fn handle_activation_mode(&mut self, pass: &mut Pass<'_>, entry: Entry<'_>) -> Result<()> {
        let Entry { index, value, key } = entry;
        let mode = match scalar(pass.path, value, key)? {
            "manual" => ActivationMode::Manual,
            "off" => ActivationMode::Off,
            _ => {
                return Err(invalid(
                    pass.path,
                    value.mark,
                    key,
                    "Value of 'activation-mode' needs to be 'manual' or 'off'".to_string(),
                ));
            }
        };
        self.defs[index].def.activation_mode = Some(mode);
        Ok(())
    }

    /// `handle_addresses()`: appended, without duplicates.
    fn handle_addresses(&mut self, pass: &mut Pass<'_>, entry: Entry<'_>) -> Result<()> {
        let Entry { index, value, key } = entry;
        for item in sequence(pass.path, value, key)? {
            let address = address(pass.path, item, key)?;
            let addresses = &mut self.defs[index].def.addresses;
            if !addresses.contains(&address) {
                addresses.push(address);
            }
        }
        Ok(())
    }

    /// `handle_link_local()`: replaces both families.
    fn handle_link_local(&mut self, pass: &mut Pass<'_>, entry: Entry<'_>) -> Result<()> {
        let Entry { index, value, key } = entry;
        let (mut ipv4, mut ipv6) = (false, false);
        for item in sequence(pass.path, value, key)? {
            let text = scalar(pass.path, item, key)?;
            if text.eq_ignore_ascii_case("ipv4") {
                ipv4 = true;
            } else if text.eq_ignore_ascii_case("ipv6") {
                ipv6 = true;
            } else {
                return Err(invalid(
                    pass.path,
                    item.mark,
                    key,
                    format!("invalid value for link-local: '{}'", excerpt(text)),
                ));
            }
        }
        let def = &mut self.defs[index].def;
        def.link_local_ipv4 = ipv4;
        def.link_local_ipv6 = ipv6;
        Ok(())
    }

    /// `handle_netdef_renderer()`: a VLAN's `renderer: sriov` is no renderer.
    fn handle_netdef_renderer(&mut self, pass: &mut Pass<'_>, entry: Entry<'_>) -> Result<()> {
        let Entry { index, value, key } = entry;
        let text = scalar(pass.path, value, key)?;
        if !(self.defs[index].def.device_type == DeviceType::Vlan && text == "sriov") {
            self.defs[index].backend = Some(renderer(pass.path, value, key)?);
        }
        Ok(())
    }

    /// `handle_ovs_backend()`: bonds and bridges always become Open vSwitch's, other types
    /// unless only `other-config`/`external-ids` are given.
    fn handle_ovs_backend(&mut self, pass: &mut Pass<'_>, entry: Entry<'_>) -> Result<()> {
        let Entry { index, value, key } = entry;
        let pairs = mapping(pass.path, value, key)?;
        let mut keys = Vec::with_capacity(pairs.len());
        for (k, _) in pairs {
            keys.push(key_text(pass.path, k, key)?);
        }
        let other_config = keys.contains(&"other-config");
        let external_ids = keys.contains(&"external-ids");
        let device_type = self.defs[index].def.device_type;
        let networkd_ok = !matches!(device_type, DeviceType::Bond | DeviceType::Bridge)
            && ((keys.len() == 1 && (other_config || external_ids))
                || (keys.len() == 2 && other_config && external_ids));
        if !networkd_ok {
            self.defs[index].backend = Some(Backend::OpenVSwitch);
        }
        Ok(())
    }

    /// `handle_match()`: `match:` is set, even empty, then its keys.
    fn handle_match(&mut self, pass: &mut Pass<'_>, entry: Entry<'_>) -> Result<()> {
        let Entry { index, value, key } = entry;
        mapping(pass.path, value, key)?;
        self.defs[index].def.has_match = true;
        self.process_mapping(pass, index, value, key, &[MATCH_HANDLERS])
    }

    /// `handle_netdef_str()` into `set_name`.
    fn handle_netdef_str_set_name(&mut self, pass: &mut Pass<'_>, entry: Entry<'_>) -> Result<()> {
        let Entry { index, value, key } = entry;
        self.defs[index].def.set_name = Some(scalar(pass.path, value, key)?.to_string());
        Ok(())
    }

    /// `handle_netdef_id()` into `match.original_name`: a valid id.
    fn handle_netdef_id_match_name(&mut self, pass: &mut Pass<'_>, entry: Entry<'_>) -> Result<()> {
        let Entry { index, value, key } = entry;
        let text = scalar(pass.path, value, key)?;
        valid_id(pass.path, value.mark, text, key)?;
        self.defs[index].def.match_name = Some(text.to_string());
        Ok(())
    }

    /// `handle_netdef_match_mac()`.
    fn handle_netdef_match_mac(&mut self, pass: &mut Pass<'_>, entry: Entry<'_>) -> Result<()> {
        let Entry { index, value, key } = entry;
        let text = scalar(pass.path, value, key)?;
        if !valid_mac(text) {
            return Err(invalid(
                pass.path,
                value.mark,
                key,
                format!(
                    "Invalid MAC address '{}', must be XX:XX:XX:XX:XX:XX or \
                     XX:XX:XX:XX:XX:XX:XX:XX:XX:XX:XX:XX:XX:XX:XX:XX:XX:XX:XX:XX",
                    excerpt(text)
                ),
            ));
        }
        self.defs[index].def.match_macaddress = Some(text.to_string());
        Ok(())
    }

    /// `handle_match_driver()`: one glob or a sequence of them, none with a space; replaces.
    fn handle_match_driver(&mut self, pass: &mut Pass<'_>, entry: Entry<'_>) -> Result<()> {
        let Entry { index, value, key } = entry;
        let path = pass.path;
        let no_space = |node: &Node, text: &str| {
            if text.contains(' ') {
                Err(invalid(
                    path,
                    node.mark,
                    key,
                    "A 'driver' glob cannot contain whitespace".to_string(),
                ))
            } else {
                Ok(text.to_string())
            }
        };
        let drivers = match &value.value {
            Value::Scalar(text) => vec![no_space(value, text)?],
            Value::Sequence(items) => {
                let mut drivers = Vec::with_capacity(items.len());
                for item in items {
                    drivers.push(no_space(item, scalar(path, item, key)?)?);
                }
                if drivers.is_empty() {
                    return Err(invalid(
                        path,
                        value.mark,
                        key,
                        "invalid sequence for 'driver'".to_string(),
                    ));
                }
                drivers
            }
            Value::Mapping(_) => {
                return Err(invalid(
                    path,
                    value.mark,
                    key,
                    "invalid type for 'driver': must be a scalar or a sequence of scalars"
                        .to_string(),
                ));
            }
        };
        self.defs[index].def.match_driver = drivers;
        Ok(())
    }

    /// `handle_bond_interfaces()`: a member must not be in a bridge or another bond.
    fn handle_bond_interfaces(&mut self, pass: &mut Pass<'_>, entry: Entry<'_>) -> Result<()> {
        self.add_members(pass, entry, |member, bond| {
            if let Some(bridge) = &member.bridge {
                return Err(("bridge", bridge.clone()));
            }
            match &member.bond {
                Some(other) if other != bond => Err(("bond", other.clone())),
                Some(_) => Ok(()),
                None => {
                    member.bond = Some(bond.to_string());
                    Ok(())
                }
            }
        })
    }

    /// `handle_bridge_interfaces()`: a member must not be in a bond or another bridge.
    fn handle_bridge_interfaces(&mut self, pass: &mut Pass<'_>, entry: Entry<'_>) -> Result<()> {
        self.add_members(pass, entry, |member, bridge| {
            match &member.bridge {
                Some(other) if other != bridge => return Err(("bridge", other.clone())),
                _ => {}
            }
            if let Some(bond) = &member.bond {
                return Err(("bond", bond.clone()));
            }
            member.bridge.get_or_insert_with(|| bridge.to_string());
            Ok(())
        })
    }

    /// The loop the two handlers above share: each member of the `interfaces:` list is
    /// defined (else recorded as missing) and `join`s definition `index`, or `join` names what
    /// it is already in (`("bond", id)`). A bond or bridge with an Open vSwitch member is Open
    /// vSwitch's.
    fn add_members(&mut self, pass: &mut Pass<'_>, entry: Entry<'_>, join: Join) -> Result<()> {
        let Entry { index, value, key } = entry;
        for item in sequence(pass.path, value, key)? {
            let member = scalar(pass.path, item, key)?;
            let Some(&component) = self.by_id.get(member) else {
                pass.add_missing_node(member, index, item.mark, key);
                continue;
            };
            let parent = self.defs[index].def.id.clone();
            if let Err((what, other)) = join(&mut self.defs[component].def, &parent) {
                return Err(invalid(
                    pass.path,
                    value.mark,
                    key,
                    format!(
                        "{}: interface '{}' is already assigned to {what} {}",
                        Excerpt(&parent),
                        Excerpt(member),
                        Excerpt(&other)
                    ),
                ));
            }
            if self.defs[component].backend == Some(Backend::OpenVSwitch) {
                self.defs[index].backend = Some(Backend::OpenVSwitch);
            }
        }
        Ok(())
    }

    /// `handle_bonding()`: the bond's `parameters:`.
    fn handle_bonding(&mut self, pass: &mut Pass<'_>, entry: Entry<'_>) -> Result<()> {
        let Entry { index, value, key } = entry;
        self.process_mapping(pass, index, value, key, &[BOND_PARAMS_HANDLERS])
    }

    /// `handle_bond_mode()`: Open vSwitch-only modes imply the Open vSwitch renderer.
    fn handle_bond_mode(&mut self, pass: &mut Pass<'_>, entry: Entry<'_>) -> Result<()> {
        let Entry { index, value, key } = entry;
        const MODES: [&str; 9] = [
            "balance-rr",
            "active-backup",
            "balance-xor",
            "broadcast",
            "802.3ad",
            "balance-tlb",
            "balance-alb",
            "balance-tcp",
            "balance-slb",
        ];
        let mode = scalar(pass.path, value, key)?;
        if !MODES.contains(&mode) {
            return Err(invalid(
                pass.path,
                value.mark,
                key,
                format!("unknown bond mode '{}'", excerpt(mode)),
            ));
        }
        if mode == "balance-tcp" || mode == "balance-slb" {
            self.defs[index].backend = Some(Backend::OpenVSwitch);
        }
        Ok(())
    }

    /// `handle_netdef_id_ref()` into `vlan_link`: a VLAN on an Open vSwitch parent is Open
    /// vSwitch's.
    fn handle_netdef_id_ref(&mut self, pass: &mut Pass<'_>, entry: Entry<'_>) -> Result<()> {
        let Entry { index, value, key } = entry;
        let parent = scalar(pass.path, value, key)?;
        match self.by_id.get(parent) {
            Some(&p) => {
                if self.defs[p].backend == Some(Backend::OpenVSwitch) {
                    self.defs[index].backend = Some(Backend::OpenVSwitch);
                }
                self.defs[index].vlan_link = Some(parent.to_string());
            }
            None => pass.add_missing_node(parent, index, value.mark, key),
        }
        Ok(())
    }
}

/// `handle_network_version()`: `strtol()` of the text must be 2.
fn handle_network_version(pass: &Pass<'_>, value: &Node, key: &str) -> Result<()> {
    let text = scalar(pass.path, value, key)?;
    if strtol(text) != 2 {
        return Err(invalid(
            pass.path,
            value.mark,
            key,
            "Only version 2 is supported".to_string(),
        ));
    }
    Ok(())
}
