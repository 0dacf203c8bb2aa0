//! Reading Netplan's YAML files the way `netplan generate` does, built like Netplan's parser
//! (src/parse.c) so that each part can be read beside it:
//!
//! - `files`: which files, in which order, which override which;
//! - this module: the parser state ([`Loader`]) and its passes over each file
//!   (`process_document()`, `process_missing_ids()`, the checks of `validate_netdef_grammar()`);
//! - `handlers`: one function per key, named after the `handle_*` function of parse.c it
//!   mirrors, and the tables that say which keys each device type has;
//! - `values`: the value parsers and the errors they give.
//!
//! How files combine: Netplan does not merge YAML trees. `netplan_parser_load_yaml()` applies
//! each file in turn to one parser state, so a later file amends the definitions of earlier
//! ones key by key, and each key's handler decides what "again" means. For the keys read here:
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

mod files;
mod handlers;
#[cfg(test)]
mod tests;
mod values;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::config::{Backend, DeviceType, NetDef, NetplanConfig};
use super::error::NetplanError;
use super::yaml::{self, Mark, Node};
use crate::text::{Excerpt, excerpt};
use values::invalid;

pub use files::{DEFAULT_DIRS, config_files};

type Result<T, E = NetplanError> = std::result::Result<T, E>;

/// Reads and merges the configuration of `dirs` (see [`config_files`]).
pub fn load_dirs<P: AsRef<Path>>(dirs: &[P]) -> Result<NetplanConfig> {
    load_files(&config_files(dirs)?)
}

/// Reads and merges `files`, in this order.
pub fn load_files<P: AsRef<Path>>(files: &[P]) -> Result<NetplanConfig> {
    let mut loader = Loader::new();
    for file in files {
        loader.add_file(file.as_ref())?;
    }
    Ok(loader.finish())
}

/// Applies Netplan files one after the other, like Netplan's parser state (`NetplanParser`).
#[derive(Debug, Default)]
pub struct Loader {
    defs: Vec<RawDef>,
    by_id: HashMap<String, usize>,
    global_backend: Option<Backend>,
    files: Vec<PathBuf>,
    /// Bytes of all files read so far (bounded by [`crate::bounded_read::NETPLAN_TOTAL_CAP`]).
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
    /// Netplan's `missing_id`: the ids referred to but not defined yet, by name.
    missing: &'a mut HashMap<String, Missing>,
    /// Netplan's `missing_ids_found`: how many of them this pass defined.
    found: usize,
    /// The definitions this file defined or amended, in order, for the checks after the
    /// passes.
    touched: &'a mut Vec<usize>,
}

impl Pass<'_> {
    /// `add_missing_node()`: definition `referrer` names `id` (at `mark` of `key`), which is
    /// not defined yet.
    fn add_missing_node(&mut self, id: &str, referrer: usize, mark: Mark, key: &str) {
        self.missing.insert(
            id.to_string(),
            Missing {
                referrer,
                mark,
                key: key.to_string(),
            },
        );
    }
}

impl Loader {
    /// An empty configuration.
    pub fn new() -> Loader {
        Loader::default()
    }

    /// Reads `path` and applies it. The file must be a regular one of at most
    /// [`crate::bounded_read::NETPLAN_FILE_CAP`], and all files read at most
    /// [`crate::bounded_read::NETPLAN_TOTAL_CAP`] together.
    pub fn add_file(&mut self, path: &Path) -> Result<()> {
        let text = files::read(path, self.bytes_read)?;
        self.bytes_read += text.len();
        self.add_str(path, &text)
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
        self.process_document(path, &root)
    }

    /// The merged configuration, with every definition's renderer resolved
    /// (`finish_iterator()`).
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
    fn process_document(&mut self, path: &Path, root: &Node) -> Result<()> {
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
            self.handle_root(&mut pass, root)?;
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
            self.validate_netdef_grammar(path, &self.defs[index])?;
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
                let index = self.netplan_netdef_new(
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

    /// The checks of `validate_netdef_grammar()` (src/validation.c) that concern the keys read
    /// here, once the file's references are resolved.
    fn validate_netdef_grammar(&self, path: &Path, raw: &RawDef) -> Result<()> {
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
        Ok(())
    }

    /// `netplan_netdef_new()`: a new definition with Netplan's defaults, last in the order.
    fn netplan_netdef_new(
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
}
