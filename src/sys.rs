//! The system interfaces beyond tokio's: CLOCK_BOOTTIME and a boottime timerfd for the
//! deadline, inotify, the terminal width, `SO_BINDTOIFINDEX`, glibc's `fnmatch()` and
//! `glob()`, the `F_GETLK` query of a lock, the kernel's NTP status and a timerfd woken when
//! the clock is set, and the holder process that keeps the inotify instance alive after we
//! exit. System calls go through rustix and socket2; the `unsafe` blocks of the crate are
//! here, each with its reason: tokio's fd registration, the `fnmatch()` and `glob()` calls,
//! `fcntl(F_GETLK)` (rustix has none), the signal mask (rustix has no stable
//! `sigprocmask`), `adjtimex()` (rustix has none), `fork()` and the holder's closing of
//! inherited descriptors.

use std::ffi::CStr;
use std::io;
use std::mem::MaybeUninit;
use std::num::NonZeroU32;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::Path;
use std::time::Duration;

use rustix::fs::inotify;
use rustix::io::Errno;
use rustix::process::{Pid, Signal};
use rustix::time::{
    ClockId, Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags, Timespec,
};
use tokio::io::unix::AsyncFd;

pub use rustix::fs::inotify::{ReadFlags, WatchFlags};

/// CLOCK_BOOTTIME now: like CLOCK_MONOTONIC, but it keeps counting during suspend.
pub fn boottime_now() -> Duration {
    Duration::try_from(rustix::time::clock_gettime(ClockId::Boottime)).unwrap_or_default()
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

/// glibc's `fnmatch(pattern, name, FNM_EXTMATCH) == 0`: the call ifupdown makes for its
/// `/GLOB/` interface patterns (`@(…)`, `+(…)` and the like included).
pub fn fnmatch_extended(pattern: &CStr, name: &CStr) -> bool {
    // glibc's FNM_EXTMATCH, which the libc crate does not name.
    const FNM_EXTMATCH: libc::c_int = 1 << 5;
    // SAFETY: as in `fnmatch`.
    unsafe { libc::fnmatch(pattern.as_ptr(), name.as_ptr(), FNM_EXTMATCH) == 0 }
}

/// glibc's `glob(pattern, GLOB_NOCHECK)`: the pathname expansion `wordexp()` makes for
/// ifupdown's `source` lines (sorted; a pattern that matches nothing is returned as it is).
/// Lists directories, never reads a file.
pub fn glob(pattern: &CStr) -> Vec<Vec<u8>> {
    // SAFETY: glob_t is a plain C struct for which all zeroes is the documented initial state.
    let mut found: libc::glob_t = unsafe { std::mem::zeroed() };
    // SAFETY: `pattern` is NUL-terminated and outlives the call; `found` is a valid glob_t,
    // freed below whatever glob() returned.
    let status = unsafe { libc::glob(pattern.as_ptr(), libc::GLOB_NOCHECK, None, &mut found) };
    let mut paths = Vec::new();
    if status == 0 {
        for index in 0..found.gl_pathc {
            // SAFETY: on success gl_pathv holds gl_pathc NUL-terminated strings.
            let path = unsafe { CStr::from_ptr(*found.gl_pathv.add(index)) };
            paths.push(path.to_bytes().to_vec());
        }
    }
    // SAFETY: `found` was filled (or left zeroed) by glob(); globfree accepts both.
    unsafe { libc::globfree(&mut found) };
    paths
}

/// Whether a process holds a lock on `file` that a write lock of ours would conflict with
/// (`fcntl(F_GETLK)`): how `ifquery --state` sees that ifup is running on an interface.
pub fn is_locked(file: BorrowedFd<'_>) -> io::Result<bool> {
    // SAFETY: flock is a plain C struct; zeroes then the fields set are a valid request.
    let mut lock: libc::flock = unsafe { std::mem::zeroed() };
    lock.l_type = libc::F_WRLCK as libc::c_short;
    lock.l_whence = libc::SEEK_SET as libc::c_short;
    // SAFETY: the fd is open for the call's duration; F_GETLK only writes into `lock`.
    if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETLK, &mut lock) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(lock.l_type != libc::F_UNLCK as libc::c_short)
}

/// Registers an fd with the tokio reactor for readability. Needs a tokio runtime.
pub fn register_readable<T: AsRawFd>(inner: T) -> io::Result<AsyncFd<T>> {
    // SAFETY: tokio requires that the fd stays open and the same while registered; every `T`
    // used here (OwnedFd, netlink_sys::Socket) owns its fd for its whole life and always
    // returns that fd from `as_raw_fd`.
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
        let fd = rustix::time::timerfd_create(
            TimerfdClockId::Boottime,
            TimerfdFlags::NONBLOCK | TimerfdFlags::CLOEXEC,
        )?;
        // A zero value would disarm the timer instead of expiring it at once.
        let spec = Itimerspec {
            it_interval: timespec(interval),
            it_value: timespec(after.max(Duration::from_nanos(1))),
        };
        rustix::time::timerfd_settime(&fd, TimerfdTimerFlags::empty(), &spec)?;
        Ok(BoottimeTimer {
            fd: register_readable(fd)?,
        })
    }

    /// Completes when the timer has expired (again, for a periodic one).
    pub async fn expired(&self) -> io::Result<()> {
        loop {
            let mut guard = self.fd.readable().await?;
            let mut count = [0u8; 8];
            match rustix::io::read(self.fd.get_ref(), &mut count) {
                Ok(8) => return Ok(()),
                Err(Errno::INTR) => {}
                Ok(_) | Err(Errno::AGAIN) => guard.clear_ready(),
                Err(err) => return Err(err.into()),
            }
        }
    }
}

/// Blocks (or unblocks) SIGTERM and SIGINT for the calling thread. They are blocked from the
/// start until the streams that receive them exist: a signal that arrives in between stays
/// pending and is then received, instead of being lost between tokio's handler and its
/// listener (upstream blocks them with `sigprocmask()` before setting up its event loop).
pub fn mask_termination_signals(block: bool) -> io::Result<()> {
    let how = match block {
        true => libc::SIG_BLOCK,
        false => libc::SIG_UNBLOCK,
    };
    // SAFETY: the set lives on this stack and is initialised by sigemptyset before it is
    // used; pthread_sigmask only reads it and does not keep the pointer.
    let rc = unsafe {
        let mut set = MaybeUninit::<libc::sigset_t>::zeroed();
        libc::sigemptyset(set.as_mut_ptr());
        libc::sigaddset(set.as_mut_ptr(), libc::SIGTERM);
        libc::sigaddset(set.as_mut_ptr(), libc::SIGINT);
        libc::pthread_sigmask(how, set.as_ptr(), std::ptr::null_mut())
    };
    match rc {
        0 => Ok(()),
        errno => Err(io::Error::from_raw_os_error(errno)),
    }
}

/// Completes when `timer` expires; never when there is none (or it fails, which is logged):
/// a `select!` branch for an optional timer.
pub async fn expired(timer: Option<&BoottimeTimer>) {
    match timer {
        Some(timer) => {
            if let Err(err) = timer.expired().await {
                tracing::warn!("timer failed, waiting without it: {err}");
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending().await,
    }
}

/// Whether the kernel's NTP status marks the clock synchronised: `adjtimex()` with no
/// modes (it only reads) returns a clock state other than `TIME_ERROR`, and `STA_UNSYNC` is
/// clear, as systemd-timesyncd and systemd-time-wait-sync read it. An NTP client sets this
/// when it has synchronised; nobody does at boot.
pub fn ntp_synchronised() -> io::Result<bool> {
    // SAFETY: `timex` is plain old data for which all zeroes is valid (modes 0: read only);
    // adjtimex writes into the struct on this stack and keeps no pointer to it.
    let (state, status) = unsafe {
        let mut timex = MaybeUninit::<libc::timex>::zeroed().assume_init();
        let state = libc::adjtimex(&mut timex);
        (state, timex.status)
    };
    if state < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(state != libc::TIME_ERROR && status & libc::STA_UNSYNC == 0)
}

/// A timerfd on CLOCK_REALTIME that never expires but is cancelled whenever the clock is set
/// (`TFD_TIMER_CANCEL_ON_SET`): the event systemd-time-wait-sync waits for, since the
/// kernel's NTP status has no event of its own and an NTP client sets the clock when it
/// synchronises it.
pub struct ClockSetTimer {
    fd: AsyncFd<OwnedFd>,
}

impl ClockSetTimer {
    /// Creates and arms the timer. Needs a tokio runtime.
    pub fn new() -> io::Result<ClockSetTimer> {
        let fd = rustix::time::timerfd_create(
            TimerfdClockId::Realtime,
            TimerfdFlags::NONBLOCK | TimerfdFlags::CLOEXEC,
        )?;
        ClockSetTimer::arm(&fd)?;
        Ok(ClockSetTimer {
            fd: register_readable(fd)?,
        })
    }

    /// Arms `fd` for the end of time, cancelled when the clock is set.
    fn arm(fd: &OwnedFd) -> io::Result<()> {
        let never = Itimerspec {
            it_interval: timespec(Duration::ZERO),
            it_value: Timespec {
                tv_sec: i64::MAX,
                tv_nsec: 0,
            },
        };
        let flags = TimerfdTimerFlags::ABSTIME | TimerfdTimerFlags::CANCEL_ON_SET;
        rustix::time::timerfd_settime(fd, flags, &never)?;
        Ok(())
    }

    /// Completes when the clock was set since the timer was armed, and arms it again.
    /// Cancel-safe.
    pub async fn clock_set(&self) -> io::Result<()> {
        loop {
            let mut guard = self.fd.readable().await?;
            let mut count = [0u8; 8];
            match rustix::io::read(self.fd.get_ref(), &mut count) {
                // Armed again before the caller reads the clock's state: a later setting
                // of the clock wakes us again.
                Err(Errno::CANCELED) | Ok(8) => {
                    ClockSetTimer::arm(self.fd.get_ref())?;
                    return Ok(());
                }
                Err(Errno::INTR) => {}
                Ok(_) | Err(Errno::AGAIN) => guard.clear_ready(),
                Err(err) => return Err(err.into()),
            }
        }
    }
}

/// A span as a `timespec`; spans beyond its range saturate (they never expire anyway).
fn timespec(span: Duration) -> Timespec {
    Timespec::try_from(span).unwrap_or(Timespec {
        tv_sec: i64::MAX,
        tv_nsec: 0,
    })
}

/// Columns of the terminal on standard error, when it is one (`TIOCGWINSZ`).
pub fn stderr_columns() -> Option<usize> {
    let size = rustix::termios::tcgetwinsize(io::stderr()).ok()?;
    (size.ws_col > 0).then_some(usize::from(size.ws_col))
}

/// Restricts a socket to one interface (SO_BINDTOIFINDEX), as resolved does for a link's
/// own DNS servers.
pub fn bind_to_ifindex(socket: BorrowedFd<'_>, ifindex: u32) -> io::Result<()> {
    // On Linux the `_v4` and `_v6` variants both set SO_BINDTOIFINDEX, for any family.
    socket2::SockRef::from(&socket).bind_device_by_index_v4(NonZeroU32::new(ifindex))
}

/// One inotify event: its mask and the file name it concerns (empty for the watched
/// directory itself or an overflow).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InotifyEvent {
    pub mask: ReadFlags,
    pub name: String,
}

/// An inotify instance created before the runtime exists (so the holder can be forked).
pub struct Inotify {
    fd: OwnedFd,
}

impl Inotify {
    /// Creates the instance and watches `dir` for `mask`.
    pub fn watch(dir: &Path, mask: WatchFlags) -> io::Result<Inotify> {
        let fd = inotify::init(inotify::CreateFlags::NONBLOCK | inotify::CreateFlags::CLOEXEC)?;
        inotify::add_watch(&fd, dir, mask)?;
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
    /// An instance that watches nothing yet ([`AsyncInotify::watch`]). Needs a tokio runtime.
    pub fn new() -> io::Result<AsyncInotify> {
        let fd = inotify::init(inotify::CreateFlags::NONBLOCK | inotify::CreateFlags::CLOEXEC)?;
        Ok(AsyncInotify {
            fd: register_readable(fd)?,
        })
    }

    /// Watches `path` for `mask` too (again: replaces the mask of its watch).
    pub fn watch(&self, path: &Path, mask: WatchFlags) -> io::Result<()> {
        inotify::add_watch(self.fd.get_ref(), path, mask)?;
        Ok(())
    }

    /// Waits for events and returns all that one read delivers.
    pub async fn events(&self) -> io::Result<Vec<InotifyEvent>> {
        let mut buffer = [MaybeUninit::<u8>::uninit(); 8192];
        loop {
            let mut guard = self.fd.readable().await?;
            let mut reader = inotify::Reader::new(self.fd.get_ref(), &mut buffer);
            let mut events = Vec::new();
            loop {
                match reader.next() {
                    Ok(event) => events.push(InotifyEvent {
                        mask: event.events(),
                        name: event
                            .file_name()
                            .map(|name| name.to_string_lossy().into_owned())
                            .unwrap_or_default(),
                    }),
                    Err(Errno::INTR) => continue,
                    Err(Errno::AGAIN) => break,
                    Err(err) => return Err(err.into()),
                }
                if reader.is_buffer_empty() {
                    return Ok(events);
                }
            }
            guard.clear_ready();
        }
    }
}

/// Forks a process that holds a copy of `fd` until this process dies.
///
/// Closing the last reference to an inotify instance makes the kernel wait for an SRCU grace
/// period (0–20 ms). When a second process holds a reference, our exit only drops ours and
/// the wait happens in the holder, after our exit status has been delivered. Must be called
/// while the process is single-threaded (before the runtime starts).
pub fn hold_in_child(fd: BorrowedFd<'_>) -> io::Result<()> {
    let parent = rustix::process::getpid();
    // SAFETY: `fork()` has no safe wrapper. It is sound here because the process is
    // single-threaded (documented precondition): the child gets a consistent copy of every
    // lock and allocator, and it never returns into the parent's code (`hold` diverges).
    match unsafe { libc::fork() } {
        pid if pid < 0 => Err(io::Error::last_os_error()),
        0 => hold(fd.as_raw_fd(), parent),
        _ => Ok(()),
    }
}

/// The holder: dies with `parent`, keeps `keep` and nothing else open, waits.
fn hold(keep: RawFd, parent: Pid) -> ! {
    // SIGKILL when the parent exits; if it already has (between fork and prctl), or the
    // signal cannot be arranged, die now the same way.
    if rustix::process::set_parent_process_death_signal(Some(Signal::KILL)).is_err()
        || rustix::process::getppid() != Some(parent)
    {
        let _ = rustix::process::kill_process(rustix::process::getpid(), Signal::KILL);
    }
    for other in (3..1024).filter(|&fd| fd != keep) {
        // SAFETY: closing a raw fd is unsafe only because an owner elsewhere could still use
        // it; in this child nothing runs but this function, which uses no descriptor except
        // `keep` and the standard streams.
        unsafe { libc::close(other) };
    }
    // Standard streams on /dev/null, so that nobody waits for this process's end of a pipe.
    if let Ok(null) = rustix::fs::open(
        "/dev/null",
        rustix::fs::OFlags::RDWR | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    ) {
        if keep != 0 {
            let _ = rustix::stdio::dup2_stdin(&null);
        }
        if keep != 1 {
            let _ = rustix::stdio::dup2_stdout(&null);
        }
        if keep != 2 {
            let _ = rustix::stdio::dup2_stderr(&null);
        }
    }
    loop {
        rustix::event::pause();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boottime_advances() {
        let a = boottime_now();
        let b = boottime_now();
        assert!(b >= a && a > Duration::ZERO);
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

    #[tokio::test]
    async fn inotify_reports_names_and_masks() {
        let dir = std::env::temp_dir().join(format!("wait-online-sys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create test dir");
        let watch = Inotify::watch(&dir, WatchFlags::CLOSE_WRITE | WatchFlags::DELETE)
            .expect("watch")
            .into_async()
            .expect("register");
        std::fs::write(dir.join("12"), "x").expect("write");
        std::fs::remove_file(dir.join("12")).expect("remove");
        let mut seen = Vec::new();
        while seen.len() < 2 {
            seen.extend(watch.events().await.expect("events"));
        }
        std::fs::remove_dir(&dir).ok();
        assert_eq!(seen[0].name, "12");
        assert!(seen[0].mask.contains(ReadFlags::CLOSE_WRITE), "{seen:?}");
        assert!(seen[1].mask.contains(ReadFlags::DELETE), "{seen:?}");
    }

    #[test]
    fn the_kernels_ntp_status_is_read_without_privileges() {
        // Reads only (modes 0): never sets or adjusts the host's clock. Either answer is
        // correct here; the call itself must succeed.
        ntp_synchronised().expect("adjtimex with modes 0");
    }

    #[tokio::test]
    async fn the_clock_set_timer_waits_while_the_clock_is_not_set() {
        // Setting the clock is the only way to wake it; tests never do. It is armed and
        // does not complete by itself.
        let timer = ClockSetTimer::new().expect("timerfd with CANCEL_ON_SET");
        let waited = tokio::time::timeout(Duration::from_millis(20), timer.clock_set()).await;
        assert!(waited.is_err(), "woke without the clock being set");
    }

    #[tokio::test]
    async fn boottime_timer_expires() {
        let start = boottime_now();
        let timer = BoottimeTimer::new(Duration::from_millis(20)).expect("timer");
        timer.expired().await.expect("expired");
        assert!(boottime_now() - start >= Duration::from_millis(20));
        // A zero span still expires (it is not a disarmed timer).
        BoottimeTimer::new(Duration::ZERO)
            .expect("timer")
            .expired()
            .await
            .expect("expired");
    }
}
