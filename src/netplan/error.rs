//! Errors of the Netplan reader: each one a single line that names the file (and the line and
//! column where the YAML says them), so that a broken configuration is fixed, never guessed at.

use std::io;
use std::path::{Path, PathBuf};

use crate::bounded_read::ReadError;
use crate::text::{Excerpt, one_line};

/// Why Netplan's configuration could not be turned into wait-online requirements.
#[derive(Debug, thiserror::Error)]
pub enum NetplanError {
    /// A configuration directory exists but cannot be listed.
    #[error("{}: cannot list directory: {source}", show_path(path))]
    ReadDir { path: PathBuf, source: io::Error },

    /// A `*.yaml` file was found but cannot be read: an I/O error, not a regular file, or
    /// larger than [`crate::bounded_read::NETPLAN_FILE_CAP`]. Permission denied says what
    /// can read it: Netplan's files are 0600 root, unreadable to a user service.
    #[error("{}{}", .0, permission_hint(.0))]
    Read(ReadError),

    /// The `*.yaml` files together are larger than
    /// [`crate::bounded_read::NETPLAN_TOTAL_CAP`]; `path` is the first one not read.
    #[error(
        "{}: the Netplan files read up to this one are larger than {} MiB together; not reading it",
        show_path(path),
        cap >> 20
    )]
    TooMuch { path: PathBuf, cap: usize },

    /// The file is not well-formed YAML (or not UTF-8).
    #[error("{}:{line}:{column}: {message}", show_path(path))]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },

    /// Well-formed YAML that Netplan refuses: a wrong type or value, an undefined reference.
    /// `key` is the dotted path of the offending key, e.g. `network.ethernets.eth0.dhcp4`.
    #[error("{}:{line}:{column}: {}: {message}", show_path(path), Excerpt(key))]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        key: String,
        message: String,
    },

    /// The list of present interfaces (normally `/sys/class/net`) cannot be read.
    #[error("{}: cannot list network interfaces: {source}", show_path(path))]
    Interfaces { path: PathBuf, source: io::Error },
}

impl NetplanError {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            NetplanError::Read(err) => err.path(),
            NetplanError::ReadDir { path, .. }
            | NetplanError::TooMuch { path, .. }
            | NetplanError::Syntax { path, .. }
            | NetplanError::Invalid { path, .. }
            | NetplanError::Interfaces { path, .. } => path,
        }
    }
}

/// Netplan writes its files 0600 root: a process without root or `CAP_DAC_READ_SEARCH` (a
/// user service, the user manager's wait-online.service) cannot read them, and no fallback
/// would decide as Netplan's definition does.
const PERMISSION_HINT: &str = " (Netplan's files are readable by root only: run as root, or from the \
system's wait-online.service, which has CAP_DAC_READ_SEARCH; a user service cannot use \
--online-definition=ubuntu)";

fn permission_hint(err: &ReadError) -> &'static str {
    match err {
        ReadError::Io { source, .. } if source.kind() == io::ErrorKind::PermissionDenied => {
            PERMISSION_HINT
        }
        _ => "",
    }
}

fn show_path(path: &Path) -> String {
    one_line(&path.to_string_lossy())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_line_and_name_the_file() {
        let e = NetplanError::Invalid {
            path: PathBuf::from("/etc/netplan/01\n.yaml"),
            line: 3,
            column: 14,
            key: "network.ethernets.eth0.dhcp4".into(),
            message: crate::text::excerpt("invalid boolean value 'a\nb'"),
        };
        let text = e.to_string();
        assert_eq!(
            text,
            "/etc/netplan/01\\n.yaml:3:14: network.ethernets.eth0.dhcp4: invalid boolean value 'a\\nb'"
        );
        assert_eq!(e.path(), Path::new("/etc/netplan/01\n.yaml"));
        let e = NetplanError::Read(ReadError::Io {
            path: PathBuf::from("/etc/netplan/x.yaml"),
            source: io::Error::from(io::ErrorKind::PermissionDenied),
        });
        assert!(
            e.to_string()
                .starts_with("/etc/netplan/x.yaml: cannot read: ")
        );
        assert!(e.to_string().ends_with(PERMISSION_HINT), "{e}");
        assert!(!e.to_string().contains('\n'));
        // other errors get no hint
        let e = NetplanError::Read(ReadError::Io {
            path: PathBuf::from("/etc/netplan/x.yaml"),
            source: io::Error::from(io::ErrorKind::InvalidData),
        });
        assert!(!e.to_string().contains("root only"), "{e}");
    }
}
