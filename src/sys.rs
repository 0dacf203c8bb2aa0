//! The few system calls without a safe wrapper in our dependencies: CLOCK_BOOTTIME, a
//! boottime timerfd for the deadline, inotify, glibc's `fnmatch()`, and the holder process that
//! keeps the inotify instance alive after we exit. All `unsafe` of the crate is here.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::time::Duration;

use tokio::io::unix::AsyncFd;

/// CLOCK_BOOTTIME now: like CLOCK_MONOTONIC, but it keeps counting during suspend.
pub fn boottime_now() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec to a valid pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) };
    Duration::new(
        u64::try_from(ts.tv_sec).unwrap_or(0),
        u32::try_from(ts.tv_nsec).unwrap_or(0),
    )
}

/// glibc's `fnmatch(pattern, name, 0) == 0`: the very call upstream makes for `--ignore=`, so
/// matching is exact by construction. The process never calls `setlocale()`, like upstream,
/// so matching is per byte in the C locale, and `[^…]` negates unless POSIXLY_CORRECT is set.
/// A pure function of its arguments and that variable.
pub fn fnmatch(pattern: &CStr, name: &CStr) -> bool {
    // SAFETY: both pointers are NUL-terminated strings that outlive the call, which only
    // reads them.
    unsafe { libc::fnmatch(pattern.as_ptr(), name.as_ptr(), 0) == 0 }
}

fn check(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// Registers an fd with the tokio reactor for readability. Needs a tokio runtime.
pub fn register_readable<T: AsRawFd>(inner: T) -> io::Result<AsyncFd<T>> {
    // SAFETY: every `T` used here (OwnedFd, netlink_sys::Socket) owns its fd, keeps it open
    // for its whole life and always returns the same fd from `as_raw_fd`.
    unsafe { AsyncFd::register_with_interest(inner, tokio::io::Interest::READABLE) }
        .map_err(io::Error::from)
}

/// A one-shot timer on CLOCK_BOOTTIME, so that time spent in suspend counts towards the
/// deadline, as upstream's.
pub struct BoottimeTimer {
    fd: AsyncFd<OwnedFd>,
}

impl BoottimeTimer {
    /// Arms a timer that expires `after` from now. Needs a tokio runtime.
    pub fn new(after: Duration) -> io::Result<BoottimeTimer> {
        BoottimeTimer::with_interval(after, Duration::ZERO)
    }

    /// A timer that expires every `interval` (first after one interval).
    pub fn periodic(interval: Duration) -> io::Result<BoottimeTimer> {
        BoottimeTimer::with_interval(interval, interval)
    }

    fn with_interval(after: Duration, interval: Duration) -> io::Result<BoottimeTimer> {
        // SAFETY: plain syscall; the returned fd is owned below.
        let raw = check(unsafe {
            libc::timerfd_create(libc::CLOCK_BOOTTIME, libc::TFD_NONBLOCK | libc::TFD_CLOEXEC)
        })?;
        // SAFETY: `raw` is a fresh fd we own.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let spec = libc::itimerspec {
            it_interval: timespec(interval),
            it_value: timespec(after.max(Duration::from_nanos(1))),
        };
        // SAFETY: valid fd and itimerspec pointer; old value not requested.
        check(unsafe { libc::timerfd_settime(fd.as_raw_fd(), 0, &spec, std::ptr::null_mut()) })?;
        Ok(BoottimeTimer {
            fd: register_readable(fd)?,
        })
    }

    /// Completes when the timer has expired (again, for a periodic one).
    pub async fn expired(&self) -> io::Result<()> {
        loop {
            let mut guard = self.fd.readable().await?;
            let mut count = [0u8; 8];
            // SAFETY: reads at most 8 bytes into a live 8-byte buffer.
            let n = unsafe { libc::read(self.fd.as_raw_fd(), count.as_mut_ptr().cast(), 8) };
            if n == 8 {
                return Ok(());
            }
            guard.clear_ready();
        }
    }
}

fn timespec(span: Duration) -> libc::timespec {
    libc::timespec {
        tv_sec: libc::time_t::try_from(span.as_secs()).unwrap_or(libc::time_t::MAX),
        tv_nsec: libc::c_long::from(span.subsec_nanos() as i32),
    }
}

/// Columns of the terminal on standard error, when it is one (`TIOCGWINSZ`).
pub fn stderr_columns() -> Option<usize> {
    // SAFETY: TIOCGWINSZ writes one `winsize` into the zeroed struct we own.
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::ioctl(libc::STDERR_FILENO, libc::TIOCGWINSZ, &raw mut size) };
    (rc == 0 && size.ws_col > 0).then_some(usize::from(size.ws_col))
}

/// Restricts a socket to one interface (SO_BINDTOIFINDEX), as resolved does for a link's
/// own DNS servers.
pub fn bind_to_ifindex(socket: BorrowedFd<'_>, ifindex: u32) -> io::Result<()> {
    let value =
        libc::c_int::try_from(ifindex).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: setsockopt reads one c_int from a live value.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_BINDTOIFINDEX,
            (&raw const value).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    check(rc).map(|_| ())
}

/// Inotify event bits we use.
pub mod in_mask {
    pub const CLOSE_WRITE: u32 = 0x8;
    pub const MOVED_FROM: u32 = 0x40;
    pub const MOVED_TO: u32 = 0x80;
    pub const CREATE: u32 = 0x100;
    pub const DELETE: u32 = 0x200;
    pub const Q_OVERFLOW: u32 = 0x4000;
    pub const ONLYDIR: u32 = 0x0100_0000;
}

/// One inotify event: its mask and the file name it concerns (empty for the watched
/// directory itself or an overflow).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InotifyEvent {
    pub mask: u32,
    pub name: String,
}

/// An inotify instance created before the runtime exists (so the holder can be forked).
pub struct Inotify {
    fd: OwnedFd,
}

impl Inotify {
    /// Creates the instance and watches `dir` for `mask`.
    pub fn watch(dir: &Path, mask: u32) -> io::Result<Inotify> {
        // SAFETY: plain syscall; the returned fd is owned below.
        let raw = check(unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) })?;
        // SAFETY: `raw` is a fresh fd we own.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let path = CString::new(dir.as_os_str().as_encoded_bytes())
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: valid fd and NUL-terminated path.
        check(unsafe { libc::inotify_add_watch(fd.as_raw_fd(), path.as_ptr(), mask) })?;
        Ok(Inotify { fd })
    }

    /// Registers with the tokio runtime.
    pub fn into_async(self) -> io::Result<AsyncInotify> {
        Ok(AsyncInotify {
            fd: register_readable(self.fd)?,
        })
    }
}

impl AsFd for Inotify {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// An inotify instance registered with tokio.
pub struct AsyncInotify {
    fd: AsyncFd<OwnedFd>,
}

impl AsyncInotify {
    /// Waits for events and returns all that are queued.
    pub async fn events(&self) -> io::Result<Vec<InotifyEvent>> {
        let mut buffer = [0u8; 8192];
        loop {
            let mut guard = self.fd.readable().await?;
            // SAFETY: reads into a live buffer of the given length.
            let n = unsafe {
                libc::read(
                    self.fd.as_raw_fd(),
                    buffer.as_mut_ptr().cast(),
                    buffer.len(),
                )
            };
            if n > 0 {
                return Ok(parse_inotify(&buffer[..n as usize]));
            }
            let err = io::Error::last_os_error();
            if n < 0 && err.kind() != io::ErrorKind::WouldBlock {
                return Err(err);
            }
            guard.clear_ready();
        }
    }
}

/// Splits a read of `struct inotify_event` records (wd, mask, cookie, len, name[len]).
fn parse_inotify(mut bytes: &[u8]) -> Vec<InotifyEvent> {
    let mut events = Vec::new();
    while bytes.len() >= 16 {
        let word =
            |i: usize| u32::from_ne_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        let mask = word(4);
        let len = word(12) as usize;
        let Some(raw_name) = bytes.get(16..16 + len) else {
            break;
        };
        let name_end = raw_name
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(raw_name.len());
        events.push(InotifyEvent {
            mask,
            name: String::from_utf8_lossy(&raw_name[..name_end]).into_owned(),
        });
        bytes = &bytes[16 + len..];
    }
    events
}

/// Forks a process that holds a copy of `fd` until this process dies.
///
/// Closing the last reference to an inotify instance makes the kernel wait for an SRCU grace
/// period (0–20 ms). When a second process holds a reference, our exit only drops ours and
/// the wait happens in the holder, after our exit status has been delivered. Must be called
/// while the process is single-threaded (before the runtime starts).
pub fn hold_in_child(fd: BorrowedFd<'_>) -> io::Result<()> {
    let keep: RawFd = fd.as_raw_fd();
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    // SAFETY: the process is single-threaded here (documented precondition), so the child may
    // run arbitrary code; it only calls async-signal-safe functions anyway.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid > 0 {
        return Ok(());
    }
    // Child: die with the parent, keep nothing else open, wait.
    // SAFETY: async-signal-safe calls only; never returns.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        if libc::getppid() != parent {
            libc::_exit(0);
        }
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        for std_fd in 0..3 {
            if std_fd != keep {
                libc::dup2(null, std_fd);
            }
        }
        for other in 3..1024 {
            if other != keep {
                libc::close(other);
            }
        }
        loop {
            libc::pause();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inotify_records_are_split() {
        let mut bytes = Vec::new();
        for (mask, name) in [(in_mask::MOVED_TO, "12"), (in_mask::DELETE, "7")] {
            bytes.extend_from_slice(&1i32.to_ne_bytes());
            bytes.extend_from_slice(&mask.to_ne_bytes());
            bytes.extend_from_slice(&0u32.to_ne_bytes());
            bytes.extend_from_slice(&16u32.to_ne_bytes());
            let mut padded = name.as_bytes().to_vec();
            padded.resize(16, 0);
            bytes.extend_from_slice(&padded);
        }
        let events = parse_inotify(&bytes);
        assert_eq!(events.len(), 2);
        assert_eq!(
            events[0],
            InotifyEvent {
                mask: in_mask::MOVED_TO,
                name: "12".into()
            }
        );
        assert_eq!(events[1].name, "7");
        assert!(
            parse_inotify(&bytes[..20]).is_empty(),
            "a truncated record is not an event"
        );
    }

    #[test]
    fn fnmatch_is_glibcs_with_flags_0() {
        assert!(fnmatch(c"eth*", c"eth0"));
        assert!(!fnmatch(c"eth*", c"wlan0"));
        // Flags 0: `*` crosses `/` and leading dots, a backslash escapes.
        assert!(fnmatch(c"*", c".a/b"));
        assert!(fnmatch(c"\\*", c"*"));
        assert!(!fnmatch(c"\\*", c"a"));
    }

    #[test]
    fn boottime_advances() {
        let a = boottime_now();
        let b = boottime_now();
        assert!(b >= a && a > Duration::ZERO);
    }
}
