//! Which files, in which order (`netplan_parser_load_yaml_hierarchy()`,
//! `_netplan_find_yaml_glob()` in src/util.c): the glob `{lib,etc,run}/netplan/*.yaml` (so no
//! hidden files), keyed by file name so that a name in a later directory overrides the same
//! name in an earlier one, then applied in `strcmp()` order of the file names, whatever their
//! directory. Each file is read whole, bounded, and must be UTF-8.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::super::error::NetplanError;
use crate::bounded_read::{self, NETPLAN_FILE_CAP, NETPLAN_TOTAL_CAP, ReadError};

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

/// The text of `path`, after `already_read` bytes of earlier files: a regular file of at most
/// [`NETPLAN_FILE_CAP`], all files together at most [`NETPLAN_TOTAL_CAP`], and UTF-8.
pub(super) fn read(path: &Path, already_read: usize) -> Result<String, NetplanError> {
    let remaining = NETPLAN_TOTAL_CAP.saturating_sub(already_read);
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
    String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let valid = String::from_utf8_lossy(&bytes[..e.utf8_error().valid_up_to()]);
        let line = valid.matches('\n').count() + 1;
        let column = valid.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        NetplanError::Syntax {
            path: path.to_path_buf(),
            line,
            column,
            message: "invalid UTF-8".to_string(),
        }
    })
}
