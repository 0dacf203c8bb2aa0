//! Every file wait-online reads is read through [`read`]: opened non-blocking (a FIFO cannot
//! hold the wait past `--timeout`), refused unless it is a regular file (a device such as
//! `/dev/zero` would never end), and read up to a cap per kind of file. A symbolic link to a
//! regular file is followed (resolv.conf often is one): what counts is the type of the file
//! opened. Each refusal is a one-line message naming the file and, for the cap, the limit.

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use rustix::fs::{FileType, Mode, OFlags};

use crate::text::OneLine;

/// systemd-networkd's per-link state files: a few hundred bytes in practice; systemd's own
/// reader refuses lines above 1 MiB (`LONG_LINE_MAX`).
pub const STATE_FILE_CAP: usize = 1 << 20;
/// /etc/resolv.conf: a few hundred bytes in practice. glibc reads the whole file line by line
/// without a limit; 1 MiB keeps every real file while bounding what a bad one costs.
pub const RESOLV_CONF_CAP: usize = 1 << 20;
/// One Netplan YAML file (real ones are rarely above 100 KiB).
pub const NETPLAN_FILE_CAP: usize = 1 << 20;
/// All Netplan YAML files together.
pub const NETPLAN_TOTAL_CAP: usize = 16 << 20;
/// A value under /proc/sys or /sys (the kernel never gives more than a page).
pub const KERNEL_VALUE_CAP: usize = 4096;

/// Why a file was not read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Opening or reading failed (`NotFound` included: see [`ReadError::is_not_found`]).
    #[error("{}: cannot read: {source}", OneLine(&.path.to_string_lossy()))]
    Io { path: PathBuf, source: io::Error },

    /// Not a regular file (a FIFO, a device, a socket, a directory).
    #[error(
        "{}: is {kind}, not a regular file; not reading it",
        OneLine(&.path.to_string_lossy())
    )]
    NotRegular { path: PathBuf, kind: &'static str },

    /// Larger than the cap for its kind of file.
    #[error(
        "{}: larger than {}, the most read of such a file; not reading it",
        OneLine(&.path.to_string_lossy()),
        Size(*.cap)
    )]
    TooLarge { path: PathBuf, cap: usize },
}

impl ReadError {
    /// The file does not exist (or a directory on its path does not).
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReadError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
    }

    /// The file this error is about.
    pub fn path(&self) -> &Path {
        match self {
            ReadError::Io { path, .. }
            | ReadError::NotRegular { path, .. }
            | ReadError::TooLarge { path, .. } => path,
        }
    }
}

/// The contents of the regular file at `path`, at most `cap` bytes (a larger file is an
/// error, not a prefix). Never blocks on a FIFO or a device, and never opens a file that
/// `stat()` already shows is not a regular one (opening a device can have effects).
pub fn read(path: &Path, cap: usize) -> Result<Vec<u8>, ReadError> {
    let io_error = |source: io::Error| ReadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let not_regular = |kind: FileType| ReadError::NotRegular {
        path: path.to_path_buf(),
        kind: describe(kind),
    };
    let before = rustix::fs::stat(path).map_err(|e| io_error(e.into()))?;
    let kind = FileType::from_raw_mode(before.st_mode);
    if kind != FileType::RegularFile {
        return Err(not_regular(kind));
    }
    let fd = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY,
        Mode::empty(),
    )
    .map_err(|e| io_error(e.into()))?;
    // The path may have been replaced between stat() and open(): the opened file decides.
    let opened = rustix::fs::fstat(&fd).map_err(|e| io_error(e.into()))?;
    let kind = FileType::from_raw_mode(opened.st_mode);
    if kind != FileType::RegularFile {
        return Err(not_regular(kind));
    }
    // /proc and /sys report size 0 (or a page): the size only sizes the first allocation.
    let expected = usize::try_from(opened.st_size).unwrap_or(usize::MAX);
    let mut bytes = Vec::with_capacity(expected.min(cap).saturating_add(1).min(64 << 10));
    std::fs::File::from(fd)
        .take(u64::try_from(cap).unwrap_or(u64::MAX).saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io_error)?;
    if bytes.len() > cap {
        return Err(ReadError::TooLarge {
            path: path.to_path_buf(),
            cap,
        });
    }
    Ok(bytes)
}

/// [`read`], then the contents as text: invalid UTF-8 is replaced (for files whose readers
/// skip what they do not understand).
pub fn read_lossy(path: &Path, cap: usize) -> Result<String, ReadError> {
    read(path, cap).map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
}

/// A file type with its article, for messages.
fn describe(kind: FileType) -> &'static str {
    match kind {
        FileType::RegularFile => "a regular file",
        FileType::Directory => "a directory",
        FileType::Fifo => "a FIFO",
        FileType::CharacterDevice => "a character device",
        FileType::BlockDevice => "a block device",
        FileType::Socket => "a socket",
        FileType::Symlink => "a symbolic link",
        FileType::Unknown => "of an unknown type",
    }
}

/// A byte count in the largest binary unit that divides it.
struct Size(usize);

impl std::fmt::Display for Size {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            n if n >= 1 << 20 && n % (1 << 20) == 0 => write!(f, "{} MiB", n >> 20),
            n if n >= 1 << 10 && n % (1 << 10) == 0 => write!(f, "{} KiB", n >> 10),
            n => write!(f, "{n} bytes"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;
    use std::time::{Duration, Instant};

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("wait-online-bounded-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        dir
    }

    #[test]
    fn reads_a_regular_file_up_to_and_including_its_cap() {
        let dir = scratch("regular");
        let file = dir.join("state");
        std::fs::write(&file, b"ADMIN_STATE=configured\n").unwrap();
        assert_eq!(read(&file, 23).unwrap(), b"ADMIN_STATE=configured\n");
        let err = read(&file, 22).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{}: larger than 22 bytes, the most read of such a file; not reading it",
                file.display()
            )
        );
        // A symbolic link to a regular file is followed.
        std::os::unix::fs::symlink(&file, dir.join("link")).unwrap();
        assert_eq!(read(&dir.join("link"), 100).unwrap().len(), 23);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn refuses_fifos_devices_sockets_and_directories_at_once() {
        let dir = scratch("special");
        let fifo = dir.join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            FileType::Fifo,
            Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let socket = dir.join("socket");
        let _listener = UnixListener::bind(&socket).unwrap();
        std::os::unix::fs::symlink("/dev/zero", dir.join("zero")).unwrap();
        let started = Instant::now();
        let cases = [
            (fifo, "a FIFO"),
            (dir.join("zero"), "a character device"),
            (socket, "a socket"),
            (dir.clone(), "a directory"),
        ];
        for (path, kind) in cases {
            let err = read(&path, 1 << 20).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "{}: is {kind}, not a regular file; not reading it",
                    path.display()
                )
            );
        }
        // Liveness: none of them waited (a blocking open of the FIFO would hang here).
        assert!(started.elapsed() < Duration::from_secs(5));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn proc_and_sys_values_are_read_although_their_size_is_zero() {
        let value = read(Path::new("/proc/sys/net/ipv4/ip_forward"), KERNEL_VALUE_CAP).unwrap();
        assert!(matches!(value.as_slice(), b"0\n" | b"1\n"), "{value:?}");
    }

    #[test]
    fn missing_files_are_told_apart() {
        let err = read(Path::new("/nonexistent/wait-online"), 10).unwrap_err();
        assert!(err.is_not_found(), "{err}");
        assert_eq!(err.path(), Path::new("/nonexistent/wait-online"));
        assert!(
            err.to_string()
                .starts_with("/nonexistent/wait-online: cannot read: "),
            "{err}"
        );
    }

    #[test]
    fn sizes_are_shown_in_binary_units() {
        assert_eq!(Size(1 << 20).to_string(), "1 MiB");
        assert_eq!(Size(16 << 20).to_string(), "16 MiB");
        assert_eq!(Size(4096).to_string(), "4 KiB");
        assert_eq!(Size(1000).to_string(), "1000 bytes");
    }
}
