//! Reading Netplan's YAML files the way `netplan generate` does.
//!
//! Which files (`netplan_parser_load_yaml_hierarchy()`, `_netplan_find_yaml_glob()` in
//! src/util.c): the glob `{lib,etc,run}/netplan/*.yaml` (so no hidden files), keyed by file
//! name so that a name in a later directory shadows the same name in an earlier one, then
//! applied in `strcmp()` order of the file names, whatever their directory.
//!
//! How files combine: Netplan does not merge YAML trees. `netplan_parser_load_yaml()` (src/parse.c)
//! applies each file in turn to one parser state, so a later file amends the definitions of
//! earlier ones key by key, and each key's handler decides what "again" means. For the keys
//! read here:
//!
//! - scalars (`dhcp4`, `dhcp6`, `optional`, `accept-ra`, `ignore-carrier`, `activation-mode`,
//!   `set-name`, `renderer`, `match: name/macaddress`): the later value wins;
//! - `addresses`: appended, without duplicates (`handle_generic_addresses()`);
//! - bond and bridge `interfaces`: members accumulate, a member never leaves
//!   (`handle_bond_interfaces()`, `handle_bridge_interfaces()`); a member of two different
//!   bonds or bridges, or of a bond and a bridge, is an error;
//! - `link-local`: *replaced* by the later list (`handle_link_local()` resets both families),
//!   contrary to doc/netplan-generate.md's "sequences are concatenated";
//! - `match: driver`: replaced (`handle_match_driver()`); `match:` itself stays set once given;
//! - a definition keeps the device type of its first definition (another type is an error) and
//!   its place in the order of first definitions (`netdefs_ordered`);
//! - `network: renderer:` is one global value, the last one read wins, and it applies at the end
//!   to every definition without a renderer of its own (`finish_iterator()`); a section's
//!   `renderer:` (`ethernets: {renderer: …}`) applies to the definitions *created* after it in
//!   that section of that file (`handle_network_type()`).
//!
//! Within one file, references to ids defined further down are resolved by Netplan's repeated
//! passes over the document (`process_document()`); a reference to an id defined in no file
//! read so far is an error, except a VLAN `link:` of a NetworkManager-rendered VLAN
//! (`process_missing_ids()`).
//!
//! Checked like Netplan: the types and values of the keys above, definition ids, `version`,
//! VLAN `link:`, `set-name:` without `match:`. Not checked (Netplan refuses these, this reader
//! ignores them): unknown keys, and keys that do not matter for wait-online.
//!
//! One difference on purpose: Netplan's systemd generator (HEAD) parses with
//! `NETPLAN_PARSER_IGNORE_ERRORS` and skips a broken file or definition with a warning; here
//! every problem is an error that names the file.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::config::{ActivationMode, Backend, DeviceType, NetDef, NetplanConfig};
use super::error::NetplanError;
use super::yaml::{self, Mark, Node, Value};
use crate::bounded_read::{self, NETPLAN_FILE_CAP, NETPLAN_TOTAL_CAP, ReadError};
use crate::text::{Excerpt, excerpt, g_ascii_strtoull, one_line, strtol};

/// Netplan's configuration directories, lowest priority first.
pub const DEFAULT_DIRS: [&str; 3] = ["/lib/netplan", "/etc/netplan", "/run/netplan"];

/// The `*.yaml` files of `dirs` (lowest priority first) in the order Netplan applies them: a
/// file name in a later directory shadows the same name in earlier ones, and the survivors are
/// sorted by file name (bytewise, like `strcmp()`). A directory that does not exist holds no
/// files; one that cannot be listed is an error.
pub fn config_files<P: AsRef<Path>>(dirs: &[P]) -> Result<Vec<PathBuf>, NetplanError> {
    let mut by_name: BTreeMap<Vec<u8>, PathBuf> = BTreeMap::new();
    for dir in dirs {
        let dir = dir.as_ref();
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(source) => {
                return Err(NetplanError::ReadDir {
                    path: dir.to_path_buf(),
                    source,
                });
            }
        };
        for entry in entries {
            let entry = entry.map_err(|source| NetplanError::ReadDir {
                path: dir.to_path_buf(),
                source,
            })?;
            let name = entry.file_name();
            let bytes = name.as_bytes();
            // glob(3)'s `*` does not match a leading dot.
            if bytes.starts_with(b".") || !bytes.ends_with(b".yaml") {
                continue;
            }
            by_name.insert(bytes.to_vec(), dir.join(&name));
        }
    }
    Ok(by_name.into_values().collect())
}

/// Reads and merges the configuration of `dirs` (see [`config_files`]).
pub fn load_dirs<P: AsRef<Path>>(dirs: &[P]) -> Result<NetplanConfig, NetplanError> {
    load_files(&config_files(dirs)?)
}

/// Reads and merges the configuration of Netplan's directories ([`DEFAULT_DIRS`]).
pub fn load_system() -> Result<NetplanConfig, NetplanError> {
    load_dirs(&DEFAULT_DIRS)
}

/// Reads and merges `files`, in this order.
pub fn load_files<P: AsRef<Path>>(files: &[P]) -> Result<NetplanConfig, NetplanError> {
    let mut loader = Loader::new();
    for file in files {
        loader.add_file(file.as_ref())?;
    }
    Ok(loader.finish())
}

/// Applies Netplan files one after the other, like Netplan's parser state.
#[derive(Debug, Default)]
pub struct Loader {
    defs: Vec<RawDef>,
    by_id: HashMap<String, usize>,
    global_backend: Option<Backend>,
    files: Vec<PathBuf>,
    /// Bytes of all files read so far (bounded by [`NETPLAN_TOTAL_CAP`]).
    bytes_read: usize,
}

/// A definition while files are still being read: its renderer may still be unset.
#[derive(Debug)]
struct RawDef {
    def: NetDef,
    backend: Option<Backend>,
    vlan_link: Option<String>,
    /// Where the definition was last given (its id key), for validation messages.
    mark: Mark,
    key: String,
}

/// A reference to an id not (yet) defined (Netplan's `NetplanMissingNode`).
#[derive(Debug, Clone)]
struct Missing {
    referrer: usize,
    mark: Mark,
    key: String,
}

/// State of one pass over one file.
struct Pass<'a> {
    path: &'a Path,
    missing: &'a mut HashMap<String, Missing>,
    found: usize,
    touched: &'a mut Vec<usize>,
}

type Result<T, E = NetplanError> = std::result::Result<T, E>;

impl Loader {
    /// An empty configuration.
    pub fn new() -> Loader {
        Loader::default()
    }

    /// Reads `path` and applies it. The file must be a regular one of at most
    /// [`NETPLAN_FILE_CAP`], and all files read at most [`NETPLAN_TOTAL_CAP`] together.
    pub fn add_file(&mut self, path: &Path) -> Result<()> {
        let remaining = NETPLAN_TOTAL_CAP.saturating_sub(self.bytes_read);
        let bytes = match bounded_read::read(path, NETPLAN_FILE_CAP.min(remaining)) {
            Ok(bytes) => bytes,
            Err(ReadError::TooLarge { cap, .. }) if cap < NETPLAN_FILE_CAP => {
                return Err(NetplanError::TooMuch {
                    path: path.to_path_buf(),
                    cap: NETPLAN_TOTAL_CAP,
                });
            }
            Err(err) => return Err(NetplanError::Read(err)),
        };
        self.bytes_read += bytes.len();
        let text = match std::str::from_utf8(&bytes) {
            Ok(text) => text,
            Err(e) => {
                let valid = String::from_utf8_lossy(&bytes[..e.valid_up_to()]);
                let line = valid.matches('\n').count() + 1;
                let column = valid.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                return Err(NetplanError::Syntax {
                    path: path.to_path_buf(),
                    line,
                    column,
                    message: "invalid UTF-8".to_string(),
                });
            }
        };
        self.add_str(path, text)
    }

    /// Applies the YAML `text` as if read from `path` (which error messages name).
    pub fn add_str(&mut self, path: &Path, text: &str) -> Result<()> {
        self.files.push(path.to_path_buf());
        let root = yaml::parse_first_document(text).map_err(|e| NetplanError::Syntax {
            path: path.to_path_buf(),
            line: e.mark.line,
            column: e.mark.column,
            message: excerpt(&e.message),
        })?;
        let Some(root) = root else {
            return Ok(());
        };
        self.apply_document(path, &root)
    }

    /// The merged configuration, with every definition's renderer resolved.
    pub fn finish(self) -> NetplanConfig {
        let global = self.global_backend;
        let defs = self
            .defs
            .into_iter()
            .map(|raw| {
                let mut def = raw.def;
                def.backend = raw.backend.or(global).unwrap_or(Backend::Networkd);
                def
            })
            .collect();
        NetplanConfig {
            defs,
            global_renderer: global,
            files: self.files,
        }
    }

    /// `process_document()`: passes over the document until every reference is resolved or a
    /// pass makes no progress, then the checks that need the whole file.
    fn apply_document(&mut self, path: &Path, root: &Node) -> Result<()> {
        let mut missing: HashMap<String, Missing> = HashMap::new();
        let mut touched: Vec<usize> = Vec::new();
        let mut found = 0usize;
        // Every definition exists after the first pass, so the second resolves every
        // reference that can be resolved; the bound only guards the loop.
        for _ in 0..16 {
            let previously_found = found;
            let mut pass = Pass {
                path,
                missing: &mut missing,
                found: 0,
                touched: &mut touched,
            };
            self.apply_root(&mut pass, root)?;
            found = pass.found;
            let still_missing = missing.len();
            if still_missing > 0 && found == previously_found {
                break;
            }
            if still_missing == 0 && found == 0 {
                break;
            }
        }
        self.process_missing_ids(&mut missing);
        if let Some((name, m)) = missing
            .iter()
            .min_by_key(|(_, m)| (m.mark.line, m.mark.column))
        {
            return Err(invalid(
                path,
                m.mark,
                &m.key,
                format!(
                    "{}: interface '{}' is not defined",
                    Excerpt(&self.defs[m.referrer].def.id),
                    Excerpt(name)
                ),
            ));
        }
        for &index in &touched {
            let raw = &self.defs[index];
            let def = &raw.def;
            if def.set_name.is_some() && !def.has_match {
                return Err(invalid(
                    path,
                    raw.mark,
                    &raw.key,
                    format!(
                        "{}: 'set-name:' requires 'match:' properties",
                        Excerpt(&def.id)
                    ),
                ));
            }
            if def.device_type == DeviceType::Vlan && raw.vlan_link.is_none() {
                return Err(invalid(
                    path,
                    raw.mark,
                    &raw.key,
                    format!("{}: missing 'link' property", Excerpt(&def.id)),
                ));
            }
        }
        Ok(())
    }

    /// `process_missing_ids()`: a NetworkManager VLAN may name a parent nobody defines.
    fn process_missing_ids(&mut self, missing: &mut HashMap<String, Missing>) {
        let mut names: Vec<String> = missing.keys().cloned().collect();
        names.sort();
        for name in names {
            let Some(m) = missing.get(&name).cloned() else {
                continue;
            };
            let referrer = &self.defs[m.referrer];
            let backend = referrer.backend.or(self.global_backend);
            if referrer.def.device_type == DeviceType::Vlan
                && backend == Some(Backend::NetworkManager)
            {
                let file = referrer.def.file.clone();
                let index = self.create(
                    &name,
                    DeviceType::NmPlaceholder,
                    Some(Backend::NetworkManager),
                    m.mark,
                    &m.key,
                );
                self.defs[index].def.file = file;
                self.defs[m.referrer].vlan_link = Some(name.clone());
                missing.remove(&name);
            }
        }
    }

    fn create(
        &mut self,
        id: &str,
        device_type: DeviceType,
        backend: Option<Backend>,
        mark: Mark,
        key: &str,
    ) -> usize {
        let index = self.defs.len();
        self.defs.push(RawDef {
            def: NetDef::new(id, device_type, Backend::Networkd),
            backend,
            vlan_link: None,
            mark,
            key: key.to_string(),
        });
        self.by_id.insert(id.to_string(), index);
        index
    }

    fn apply_root(&mut self, pass: &mut Pass<'_>, root: &Node) -> Result<()> {
        let pairs = mapping(pass.path, root, "(top level)")?;
        for (key, value) in pairs {
            let name = key_text(pass.path, key, "(top level)")?;
            if name == "network" {
                self.apply_network(pass, value)?;
            }
        }
        Ok(())
    }

    fn apply_network(&mut self, pass: &mut Pass<'_>, node: &Node) -> Result<()> {
        let pairs = mapping(pass.path, node, "network")?;
        for (key, value) in pairs {
            let name = key_text(pass.path, key, "network")?;
            let key_path = format!("network.{name}");
            match name {
                "version" => {
                    let text = scalar(pass.path, value, &key_path)?;
                    if strtol(text) != 2 {
                        return Err(invalid(
                            pass.path,
                            value.mark,
                            &key_path,
                            "Only version 2 is supported".to_string(),
                        ));
                    }
                }
                "renderer" => {
                    self.global_backend = Some(renderer(pass.path, value, &key_path)?);
                }
                _ => {
                    if let Some((_, device_type)) = DeviceType::SECTIONS
                        .iter()
                        .find(|(section, _)| *section == name)
                    {
                        self.apply_section(pass, *device_type, value, &key_path)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// `handle_network_type()`: the definitions of one section.
    fn apply_section(
        &mut self,
        pass: &mut Pass<'_>,
        device_type: DeviceType,
        node: &Node,
        section_path: &str,
    ) -> Result<()> {
        let path = pass.path;
        let pairs = mapping(path, node, section_path)?;
        let mut section_backend: Option<Backend> = None;
        for (key, value) in pairs {
            let id = key_text(path, key, section_path)?;
            let key_path = format!("{section_path}.{id}");
            if id.is_empty() || !id.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(invalid(
                    path,
                    key.mark,
                    &key_path,
                    format!("Invalid name '{}'", excerpt(id)),
                ));
            }
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
            let def_pairs = mapping(path, value, &key_path)?;
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
                None => self.create(id, device_type, section_backend, key.mark, &key_path),
            };
            self.defs[index].def.file = path.to_path_buf();
            for (k, v) in def_pairs {
                let name = key_text(path, k, &key_path)?;
                let entry_path = format!("{key_path}.{name}");
                self.apply_key(pass, index, name, v, &entry_path)?;
            }
            if device_type == DeviceType::NmDevice {
                self.defs[index].backend = Some(Backend::NetworkManager);
            }
            if !pass.touched.contains(&index) {
                pass.touched.push(index);
            }
        }
        Ok(())
    }

    /// One key of a definition. Keys that do not matter for wait-online are not looked at.
    fn apply_key(
        &mut self,
        pass: &mut Pass<'_>,
        index: usize,
        name: &str,
        value: &Node,
        key_path: &str,
    ) -> Result<()> {
        let path = pass.path;
        let device_type = self.defs[index].def.device_type;
        let physical = device_type.is_physical() || device_type == DeviceType::NmDevice;
        match name {
            "dhcp4" => self.defs[index].def.dhcp4 = boolean(path, value, key_path)?,
            "dhcp6" => self.defs[index].def.dhcp6 = boolean(path, value, key_path)?,
            "optional" => self.defs[index].def.optional = boolean(path, value, key_path)?,
            "ignore-carrier" => {
                self.defs[index].def.ignore_carrier = boolean(path, value, key_path)?;
            }
            "accept-ra" => {
                self.defs[index].def.accept_ra = Some(boolean(path, value, key_path)?);
            }
            "activation-mode" => {
                let mode = match scalar(path, value, key_path)? {
                    "manual" => ActivationMode::Manual,
                    "off" => ActivationMode::Off,
                    _ => {
                        return Err(invalid(
                            path,
                            value.mark,
                            key_path,
                            "Value of 'activation-mode' needs to be 'manual' or 'off'".to_string(),
                        ));
                    }
                };
                self.defs[index].def.activation_mode = Some(mode);
            }
            "addresses" => {
                let items = sequence(path, value, key_path)?;
                for item in items {
                    let address = address(path, item, key_path)?;
                    let addresses = &mut self.defs[index].def.addresses;
                    if !addresses.contains(&address) {
                        addresses.push(address);
                    }
                }
            }
            "link-local" => {
                let (mut ipv4, mut ipv6) = (false, false);
                for item in sequence(path, value, key_path)? {
                    let text = scalar(path, item, key_path)?;
                    if text.eq_ignore_ascii_case("ipv4") {
                        ipv4 = true;
                    } else if text.eq_ignore_ascii_case("ipv6") {
                        ipv6 = true;
                    } else {
                        return Err(invalid(
                            path,
                            item.mark,
                            key_path,
                            format!("invalid value for link-local: '{}'", excerpt(text)),
                        ));
                    }
                }
                let def = &mut self.defs[index].def;
                def.link_local_ipv4 = ipv4;
                def.link_local_ipv6 = ipv6;
            }
            "renderer" => {
                let text = scalar(path, value, key_path)?;
                if !(device_type == DeviceType::Vlan && text == "sriov") {
                    self.defs[index].backend = Some(renderer(path, value, key_path)?);
                }
            }
            "openvswitch" => {
                // handle_ovs_backend(): bonds and bridges always, other types unless only
                // `other-config`/`external-ids` are given.
                let pairs = mapping(path, value, key_path)?;
                let mut keys = Vec::with_capacity(pairs.len());
                for (k, _) in pairs {
                    keys.push(key_text(path, k, key_path)?);
                }
                let other_config = keys.contains(&"other-config");
                let external_ids = keys.contains(&"external-ids");
                let networkd_ok = !matches!(device_type, DeviceType::Bond | DeviceType::Bridge)
                    && ((keys.len() == 1 && (other_config || external_ids))
                        || (keys.len() == 2 && other_config && external_ids));
                if !networkd_ok {
                    self.defs[index].backend = Some(Backend::OpenVSwitch);
                }
            }
            "match" if physical => {
                let pairs = mapping(path, value, key_path)?;
                self.defs[index].def.has_match = true;
                for (k, v) in pairs {
                    let name = key_text(path, k, key_path)?;
                    let match_path = format!("{key_path}.{name}");
                    self.apply_match_key(path, index, name, v, &match_path)?;
                }
            }
            "set-name" if physical => {
                self.defs[index].def.set_name = Some(scalar(path, value, key_path)?.to_string());
            }
            "interfaces" if matches!(device_type, DeviceType::Bond | DeviceType::Bridge) => {
                for item in sequence(path, value, key_path)? {
                    let member = scalar(path, item, key_path)?;
                    self.add_member(pass, index, member, item.mark, value.mark, key_path)?;
                }
            }
            "parameters" if device_type == DeviceType::Bond => {
                for (k, v) in mapping(path, value, key_path)? {
                    if key_text(path, k, key_path)? == "mode" {
                        self.bond_mode(path, index, v, &format!("{key_path}.mode"))?;
                    }
                }
            }
            "link" if device_type == DeviceType::Vlan => {
                let parent = scalar(path, value, key_path)?;
                match self.by_id.get(parent) {
                    Some(&p) => {
                        if self.defs[p].backend == Some(Backend::OpenVSwitch) {
                            self.defs[index].backend = Some(Backend::OpenVSwitch);
                        }
                        self.defs[index].vlan_link = Some(parent.to_string());
                    }
                    None => {
                        pass.missing.insert(
                            parent.to_string(),
                            Missing {
                                referrer: index,
                                mark: value.mark,
                                key: key_path.to_string(),
                            },
                        );
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn apply_match_key(
        &mut self,
        path: &Path,
        index: usize,
        name: &str,
        value: &Node,
        key_path: &str,
    ) -> Result<()> {
        let def = &mut self.defs[index].def;
        match name {
            "name" => {
                let text = scalar(path, value, key_path)?;
                if text.is_empty() || !text.bytes().all(|b| b.is_ascii_graphic()) {
                    return Err(invalid(
                        path,
                        value.mark,
                        key_path,
                        format!("Invalid name '{}'", excerpt(text)),
                    ));
                }
                def.match_name = Some(text.to_string());
            }
            "macaddress" => {
                let text = scalar(path, value, key_path)?;
                if !valid_mac(text) {
                    return Err(invalid(
                        path,
                        value.mark,
                        key_path,
                        format!(
                            "Invalid MAC address '{}', must be XX:XX:XX:XX:XX:XX or \
                             XX:XX:XX:XX:XX:XX:XX:XX:XX:XX:XX:XX:XX:XX:XX:XX:XX:XX:XX:XX",
                            excerpt(text)
                        ),
                    ));
                }
                def.match_macaddress = Some(text.to_string());
            }
            "driver" => {
                let no_space = |node: &Node, text: &str| {
                    if text.contains(' ') {
                        Err(invalid(
                            path,
                            node.mark,
                            key_path,
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
                            drivers.push(no_space(item, scalar(path, item, key_path)?)?);
                        }
                        if drivers.is_empty() {
                            return Err(invalid(
                                path,
                                value.mark,
                                key_path,
                                "invalid sequence for 'driver'".to_string(),
                            ));
                        }
                        drivers
                    }
                    Value::Mapping(_) => {
                        return Err(invalid(
                            path,
                            value.mark,
                            key_path,
                            "invalid type for 'driver': must be a scalar or a sequence of scalars"
                                .to_string(),
                        ));
                    }
                };
                def.match_driver = drivers;
            }
            _ => {}
        }
        Ok(())
    }

    /// `handle_bond_interfaces()` / `handle_bridge_interfaces()`.
    fn add_member(
        &mut self,
        pass: &mut Pass<'_>,
        parent: usize,
        member: &str,
        member_mark: Mark,
        list_mark: Mark,
        key_path: &str,
    ) -> Result<()> {
        let Some(&component) = self.by_id.get(member) else {
            pass.missing.insert(
                member.to_string(),
                Missing {
                    referrer: parent,
                    mark: member_mark,
                    key: key_path.to_string(),
                },
            );
            return Ok(());
        };
        let parent_id = self.defs[parent].def.id.clone();
        let is_bond = self.defs[parent].def.device_type == DeviceType::Bond;
        let comp = &mut self.defs[component].def;
        let conflict = |what: &str, other: &str| {
            invalid(
                pass.path,
                list_mark,
                key_path,
                format!(
                    "{}: interface '{}' is already assigned to {what} {}",
                    Excerpt(&parent_id),
                    Excerpt(member),
                    Excerpt(other)
                ),
            )
        };
        if is_bond {
            if let Some(bridge) = &comp.bridge {
                return Err(conflict("bridge", bridge));
            }
            match &comp.bond {
                Some(bond) if *bond != parent_id => return Err(conflict("bond", bond)),
                Some(_) => {}
                None => comp.bond = Some(parent_id.clone()),
            }
        } else {
            match &comp.bridge {
                Some(bridge) if *bridge != parent_id => return Err(conflict("bridge", bridge)),
                _ => {}
            }
            if let Some(bond) = &comp.bond {
                return Err(conflict("bond", bond));
            }
            comp.bridge.get_or_insert(parent_id);
        }
        if self.defs[component].backend == Some(Backend::OpenVSwitch) {
            self.defs[parent].backend = Some(Backend::OpenVSwitch);
        }
        Ok(())
    }

    /// `handle_bond_mode()`: Open vSwitch-only modes imply the Open vSwitch renderer.
    fn bond_mode(&mut self, path: &Path, index: usize, value: &Node, key_path: &str) -> Result<()> {
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
        let mode = scalar(path, value, key_path)?;
        if !MODES.contains(&mode) {
            return Err(invalid(
                path,
                value.mark,
                key_path,
                format!("unknown bond mode '{}'", excerpt(mode)),
            ));
        }
        if mode == "balance-tcp" || mode == "balance-slb" {
            self.defs[index].backend = Some(Backend::OpenVSwitch);
        }
        Ok(())
    }
}

fn invalid(path: &Path, mark: Mark, key: &str, message: String) -> NetplanError {
    NetplanError::Invalid {
        path: path.to_path_buf(),
        line: mark.line,
        column: mark.column,
        key: one_line(key),
        message: one_line(&message),
    }
}

fn type_error(path: &Path, node: &Node, key: &str, expected: &str) -> NetplanError {
    invalid(
        path,
        node.mark,
        key,
        format!("expected {expected}, found {}", node.kind()),
    )
}

fn mapping<'n>(path: &Path, node: &'n Node, key: &str) -> Result<&'n [(Node, Node)]> {
    match &node.value {
        Value::Mapping(pairs) => Ok(pairs),
        _ => Err(type_error(path, node, key, "mapping (check indentation)")),
    }
}

fn sequence<'n>(path: &Path, node: &'n Node, key: &str) -> Result<&'n [Node]> {
    match &node.value {
        Value::Sequence(items) => Ok(items),
        _ => Err(type_error(path, node, key, "sequence")),
    }
}

fn scalar<'n>(path: &Path, node: &'n Node, key: &str) -> Result<&'n str> {
    node.as_scalar()
        .ok_or_else(|| type_error(path, node, key, "scalar"))
}

/// A mapping key, which Netplan requires to be a scalar. `parent` names the mapping.
fn key_text<'n>(path: &Path, key: &'n Node, parent: &str) -> Result<&'n str> {
    key.as_scalar()
        .ok_or_else(|| type_error(path, key, parent, "scalar key"))
}

/// `handle_generic_bool()`: the scalar's text, whatever its YAML type.
fn boolean(path: &Path, node: &Node, key: &str) -> Result<bool> {
    let text = scalar(path, node, key)?;
    let is = |words: &[&str]| words.iter().any(|w| text.eq_ignore_ascii_case(w));
    if is(&["true", "on", "yes", "y"]) {
        Ok(true)
    } else if is(&["false", "off", "no", "n"]) {
        Ok(false)
    } else {
        Err(invalid(
            path,
            node.mark,
            key,
            format!("invalid boolean value '{}'", excerpt(text)),
        ))
    }
}

/// `parse_renderer()`.
fn renderer(path: &Path, node: &Node, key: &str) -> Result<Backend> {
    match scalar(path, node, key)? {
        "networkd" => Ok(Backend::Networkd),
        "NetworkManager" => Ok(Backend::NetworkManager),
        other => Err(invalid(
            path,
            node.mark,
            key,
            format!("unknown renderer '{}'", excerpt(other)),
        )),
    }
}

/// One entry of `addresses:` (`handle_generic_addresses()`): `ADDR/PREFIX` or a mapping
/// `{ADDR/PREFIX: {options}}`. Returns the address text.
fn address(path: &Path, item: &Node, key: &str) -> Result<String> {
    let (entry, options) = match &item.value {
        Value::Scalar(_) => (item, None),
        Value::Mapping(pairs) => match pairs.first() {
            Some((k, v)) => (k, Some(v)),
            None => return Err(type_error(path, item, key, "address")),
        },
        Value::Sequence(_) => {
            return Err(invalid(
                path,
                item.mark,
                key,
                "expected either scalar or mapping (check indentation)".to_string(),
            ));
        }
    };
    let text = scalar(path, entry, key)?;
    let quoted = excerpt(text);
    let Some((addr, prefix)) = text.rsplit_once('/') else {
        return Err(invalid(
            path,
            entry.mark,
            key,
            format!("address '{quoted}' is missing /prefixlength"),
        ));
    };
    let malformed = || {
        invalid(
            path,
            entry.mark,
            key,
            format!("malformed address '{quoted}', must be X.X.X.X/NN or X:X:X:X:X:X:X:X/NN"),
        )
    };
    let ipv4 = addr.parse::<Ipv4Addr>().is_ok();
    let ipv6 = !ipv4 && addr.parse::<Ipv6Addr>().is_ok();
    if let Some(options) = options {
        if !ipv4 && !ipv6 {
            return Err(malformed());
        }
        mapping(path, options, key)?;
        return Ok(text.to_string());
    }
    let prefix_len = g_ascii_strtoull(prefix);
    let bad_prefix = || {
        invalid(
            path,
            entry.mark,
            key,
            format!("invalid prefix length in address '{quoted}'"),
        )
    };
    if ipv4 {
        if prefix_len == 0 || prefix_len > 32 {
            return Err(bad_prefix());
        }
    } else if ipv6 {
        if prefix_len == 0 || prefix_len > 128 {
            return Err(bad_prefix());
        }
    } else {
        return Err(malformed());
    }
    Ok(text.to_string())
}

/// `_is_valid_macaddress()`: 6 or 20 colon-separated hex octets.
fn valid_mac(text: &str) -> bool {
    let octets: Vec<&str> = text.split(':').collect();
    (octets.len() == 6 || octets.len() == 20)
        && octets
            .iter()
            .all(|o| o.len() == 2 && o.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(files: &[(&str, &str)]) -> Result<NetplanConfig> {
        let mut loader = Loader::new();
        for (name, text) in files {
            loader.add_str(Path::new(name), text)?;
        }
        Ok(loader.finish())
    }

    fn one(text: &str) -> NetplanConfig {
        load(&[("/etc/netplan/a.yaml", text)]).unwrap()
    }

    fn error(text: &str) -> String {
        load(&[("/etc/netplan/a.yaml", text)])
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn booleans_are_netplans_words() {
        for (word, want) in [
            ("true", true),
            ("On", true),
            ("YES", true),
            ("y", true),
            ("\"yes\"", true),
            ("false", false),
            ("off", false),
            ("No", false),
            ("n", false),
        ] {
            let c = one(&format!(
                "network:\n  ethernets:\n    eth0:\n      dhcp4: {word}\n"
            ));
            assert_eq!(c.defs[0].dhcp4, want, "{word}");
        }
    }

    #[test]
    fn wrong_boolean_names_file_position_and_key() {
        assert_eq!(
            error("network:\n  ethernets:\n    eth0:\n      dhcp4: maybe\n"),
            "/etc/netplan/a.yaml:4:14: network.ethernets.eth0.dhcp4: invalid boolean value 'maybe'"
        );
        assert_eq!(
            error("network:\n  ethernets:\n    eth0:\n      optional: 3\n"),
            "/etc/netplan/a.yaml:4:17: network.ethernets.eth0.optional: invalid boolean value '3'"
        );
        assert_eq!(
            error("network:\n  ethernets:\n    eth0:\n      optional: [true]\n"),
            "/etc/netplan/a.yaml:4:17: network.ethernets.eth0.optional: expected scalar, found sequence"
        );
    }

    #[test]
    fn wrong_structure_is_refused() {
        let e = error("network:\n  ethernets: [eth0]\n");
        assert!(
            e.contains(":2:14: network.ethernets: expected mapping"),
            "{e}"
        );
        let e = error("network:\n  ethernets:\n    eth0:\n");
        assert!(
            e.contains("network.ethernets.eth0: expected mapping"),
            "{e}"
        );
        let e = error("just text\n");
        assert!(e.contains("(top level): expected mapping"), "{e}");
        let e = error("network:\n  ethernets:\n    eth0:\n      addresses: 10.0.0.1/24\n");
        assert!(
            e.contains("addresses: expected sequence, found scalar"),
            "{e}"
        );
    }

    #[test]
    fn values_are_checked_like_netplan() {
        let cases = [
            (
                "activation-mode: sometimes",
                "Value of 'activation-mode' needs to be",
            ),
            ("renderer: systemd", "unknown renderer 'systemd'"),
            ("link-local: [ipv5]", "invalid value for link-local: 'ipv5'"),
            (
                "addresses: [10.0.0.1]",
                "address '10.0.0.1' is missing /prefixlength",
            ),
            (
                "addresses: [10.0.0.1/33]",
                "invalid prefix length in address '10.0.0.1/33'",
            ),
            ("addresses: [10.0.0.1/0]", "invalid prefix length"),
            ("addresses: [\"fe80::1/129\"]", "invalid prefix length"),
            (
                "addresses: [10.0.0.300/24]",
                "malformed address '10.0.0.300/24'",
            ),
            (
                "addresses: [[10.0.0.1/24]]",
                "expected either scalar or mapping",
            ),
            (
                "match: {macaddress: \"00:11\"}",
                "Invalid MAC address '00:11'",
            ),
            (
                "match: {driver: \"a b\"}",
                "A 'driver' glob cannot contain whitespace",
            ),
            ("match: {driver: []}", "invalid sequence for 'driver'"),
            ("match: {driver: {a: b}}", "invalid type for 'driver'"),
            ("match: {name: \"a b\"}", "Invalid name 'a b'"),
            (
                "set-name: lan0",
                "eth0: 'set-name:' requires 'match:' properties",
            ),
        ];
        for (line, want) in cases {
            let e = error(&format!(
                "network:\n  ethernets:\n    eth0:\n      {line}\n"
            ));
            assert!(e.contains(want), "{line}: {e}");
            assert!(e.starts_with("/etc/netplan/a.yaml:"), "{e}");
        }
    }

    #[test]
    fn ids_and_version_are_checked() {
        assert!(
            error("network:\n  ethernets:\n    \"eth 0\": {}\n").contains("Invalid name 'eth 0'")
        );
        assert!(error("network:\n  ethernets:\n    eth*: {}\n").contains("must not use globbing"));
        assert!(error("network:\n  version: 3\n").contains("Only version 2 is supported"));
        assert!(error("network:\n  version: x\n").contains("Only version 2 is supported"));
        assert!(one("network:\n  version: 2\n").defs.is_empty());
    }

    #[test]
    fn addresses_with_options_count() {
        let c = one(
            "network:\n  ethernets:\n    eth0:\n      addresses:\n        - 10.0.0.1/24:\n            label: x\n        - \"fe80::1/64\"\n",
        );
        assert_eq!(c.defs[0].addresses, ["10.0.0.1/24", "fe80::1/64"]);
    }

    #[test]
    fn empty_and_comment_files_add_nothing() {
        let c = load(&[("/a.yaml", ""), ("/b.yaml", "# nothing\n")]).unwrap();
        assert!(c.defs.is_empty());
        assert_eq!(c.files.len(), 2);
    }

    #[test]
    fn renderer_resolution() {
        let c = one(
            "network:\n  renderer: NetworkManager\n  ethernets:\n    a: {}\n    b: {renderer: networkd}\n",
        );
        assert_eq!(c.get("a").unwrap().backend, Backend::NetworkManager);
        assert_eq!(c.get("b").unwrap().backend, Backend::Networkd);
        // A section's renderer applies to the definitions after it only.
        let c = one("network:\n  ethernets:\n    a: {}\n    renderer: NetworkManager\n    b: {}\n");
        assert_eq!(c.get("a").unwrap().backend, Backend::Networkd);
        assert_eq!(c.get("b").unwrap().backend, Backend::NetworkManager);
        // nm-devices are always NetworkManager's.
        let c = one("network:\n  nm-devices:\n    x: {renderer: networkd}\n");
        assert_eq!(c.defs[0].backend, Backend::NetworkManager);
    }

    #[test]
    fn global_renderer_of_a_later_file_applies_to_earlier_definitions() {
        let c = load(&[
            (
                "/etc/netplan/01.yaml",
                "network:\n  ethernets:\n    eth0: {dhcp4: true}\n",
            ),
            (
                "/etc/netplan/02.yaml",
                "network:\n  renderer: NetworkManager\n",
            ),
        ])
        .unwrap();
        assert_eq!(c.defs[0].backend, Backend::NetworkManager);
        assert_eq!(c.global_renderer, Some(Backend::NetworkManager));
    }

    #[test]
    fn openvswitch_settings_imply_the_ovs_renderer() {
        let c = one(concat!(
            "network:\n  ethernets:\n    a: {openvswitch: {}}\n",
            "    b: {openvswitch: {other-config: {x: y}}}\n",
            "    c: {}\n",
            "  bridges:\n    br0: {interfaces: [c], openvswitch: {other-config: {x: y}}}\n",
            "  bonds:\n    bond0: {parameters: {mode: balance-tcp}}\n",
            "  vlans:\n    v1: {id: 1, link: a}\n",
        ));
        let backend = |id: &str| c.get(id).unwrap().backend;
        assert_eq!(backend("a"), Backend::OpenVSwitch);
        assert_eq!(backend("b"), Backend::Networkd);
        assert_eq!(backend("br0"), Backend::OpenVSwitch);
        assert_eq!(backend("bond0"), Backend::OpenVSwitch);
        assert_eq!(backend("v1"), Backend::OpenVSwitch);
        assert!(
            error("network:\n  bonds:\n    b: {parameters: {mode: fast}}\n")
                .contains("unknown bond mode 'fast'")
        );
    }

    #[test]
    fn forward_references_within_a_file_resolve() {
        let c = one(
            "network:\n  bonds:\n    bond0: {interfaces: [eth0]}\n  ethernets:\n    eth0: {}\n",
        );
        assert_eq!(c.get("eth0").unwrap().bond.as_deref(), Some("bond0"));
        // Order is that of first definition.
        let ids: Vec<&str> = c.defs.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, ["bond0", "eth0"]);
    }

    #[test]
    fn undefined_references_are_errors() {
        let e = error("network:\n  bonds:\n    bond0:\n      interfaces: [eth5]\n");
        assert_eq!(
            e,
            "/etc/netplan/a.yaml:4:20: network.bonds.bond0.interfaces: bond0: interface 'eth5' is not defined"
        );
        // A member defined only in a later file is undefined too (Netplan resolves per file).
        let e = load(&[
            (
                "/etc/netplan/01.yaml",
                "network:\n  bridges:\n    br0: {interfaces: [eth0]}\n",
            ),
            (
                "/etc/netplan/02.yaml",
                "network:\n  ethernets:\n    eth0: {}\n",
            ),
        ])
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("/etc/netplan/01.yaml:3:24:"), "{e}");
        let e = error("network:\n  vlans:\n    v: {id: 1, link: nope}\n");
        assert!(e.contains("v: interface 'nope' is not defined"), "{e}");
        let e = error("network:\n  vlans:\n    v: {id: 1}\n");
        assert!(e.contains("v: missing 'link' property"), "{e}");
    }

    #[test]
    fn network_manager_vlans_may_name_undefined_parents() {
        let c = one("network:\n  renderer: NetworkManager\n  vlans:\n    v: {id: 1, link: nope}\n");
        let placeholder = c.get("nope").unwrap();
        assert_eq!(placeholder.device_type, DeviceType::NmPlaceholder);
        assert_eq!(placeholder.backend, Backend::NetworkManager);
    }

    #[test]
    fn membership_conflicts_are_errors() {
        let e = error(concat!(
            "network:\n  ethernets:\n    eth0: {}\n",
            "  bonds:\n    bond0: {interfaces: [eth0]}\n",
            "  bridges:\n    br0: {interfaces: [eth0]}\n",
        ));
        assert!(
            e.contains("br0: interface 'eth0' is already assigned to bond bond0"),
            "{e}"
        );
        let e = error(concat!(
            "network:\n  ethernets:\n    eth0: {}\n",
            "  bonds:\n    bond0: {interfaces: [eth0]}\n    bond1: {interfaces: [eth0]}\n",
        ));
        assert!(
            e.contains("bond1: interface 'eth0' is already assigned to bond bond0"),
            "{e}"
        );
    }

    #[test]
    fn changing_the_type_of_a_definition_is_an_error() {
        let e = load(&[
            (
                "/etc/netplan/01.yaml",
                "network:\n  ethernets:\n    x: {}\n",
            ),
            ("/etc/netplan/02.yaml", "network:\n  bridges:\n    x: {}\n"),
        ])
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            "/etc/netplan/02.yaml:3:5: network.bridges.x: Updated definition 'x' changes device type"
        );
    }

    #[test]
    fn invalid_utf8_names_the_position() {
        let dir = std::env::temp_dir().join(format!("netplan-utf8-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let file = dir.join("bad.yaml");
        fs::write(&file, b"network:\n  x: \xff\n").unwrap();
        let e = load_files(&[&file]).unwrap_err();
        fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            e.to_string(),
            format!("{}:2:6: invalid UTF-8", file.display())
        );
    }

    proptest::proptest! {
        #[test]
        fn loading_never_panics(
            body in "[a-z0-9:\\-\\[\\]{}, .*&/\n]{0,120}",
            section in proptest::sample::select(vec![
                "ethernets", "bonds", "bridges", "vlans", "wifis", "nm-devices", "renderer",
            ]),
        ) {
            let text = format!("network:\n  {section}:\n    {body}\n");
            let _ = load(&[("/etc/netplan/p.yaml", &text), ("/etc/netplan/q.yaml", &text)]);
        }
    }

    #[test]
    fn mac_validation() {
        assert!(valid_mac("00:11:22:aa:BB:ff"));
        assert!(valid_mac(&["0a"; 20].join(":")));
        assert!(!valid_mac("00:11:22:33:44"));
        assert!(!valid_mac("00:11:22:33:44:5g"));
        assert!(!valid_mac("001122334455"));
    }
}
