//! The service manager notification protocol (sd_notify(3)) without libsystemd: one datagram
//! per message to `$NOTIFY_SOCKET`, as upstream sends READY=1 and STATUS= lines.

use std::io;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

/// A connection to the service manager, when it asked for notifications.
pub struct Notifier {
    socket: UnixDatagram,
    address: SocketAddr,
}

impl Notifier {
    /// From `$NOTIFY_SOCKET` (a path, or `@name` for an abstract socket); `None` when unset
    /// or unusable, which is normal outside a `Type=notify` service.
    pub fn from_env() -> Option<Notifier> {
        let target = std::env::var_os("NOTIFY_SOCKET")?;
        let target = target.to_str()?;
        let address = match target.strip_prefix('@') {
            Some(name) => SocketAddr::from_abstract_name(name.as_bytes()).ok()?,
            None if target.starts_with('/') => SocketAddr::from_pathname(target).ok()?,
            None => return None,
        };
        let socket = UnixDatagram::unbound().ok()?;
        Some(Notifier { socket, address })
    }

    /// How often to send `WATCHDOG=1`: half of `$WATCHDOG_USEC` when the service manager
    /// enabled the watchdog for this process (`$WATCHDOG_PID` unset or ours), like
    /// `sd_watchdog_enabled()` and sd-event's automatic pings.
    pub fn watchdog_interval(&self) -> Option<Duration> {
        watchdog_interval_from(
            std::env::var("WATCHDOG_USEC").ok().as_deref(),
            std::env::var("WATCHDOG_PID").ok().as_deref(),
            std::process::id(),
        )
    }

    /// Sends `state` (newline-separated `KEY=VALUE` assignments).
    pub fn send(&self, state: &str) -> io::Result<()> {
        self.socket
            .send_to_addr(state.as_bytes(), &self.address)
            .map(|_| ())
    }
}

/// Sends `state` if a notifier exists; failures are logged at debug level only, as a missing
/// service manager must never change the verdict.
pub fn notify(notifier: Option<&Notifier>, state: &str) {
    if let Some(notifier) = notifier
        && let Err(err) = notifier.send(state)
    {
        tracing::debug!("failed to notify the service manager: {err}");
    }
}

/// The ping interval for these environment values (pure, for tests).
fn watchdog_interval_from(usec: Option<&str>, pid: Option<&str>, own_pid: u32) -> Option<Duration> {
    let usec: u64 = usec?.trim().parse().ok().filter(|&u| u > 0)?;
    if let Some(pid) = pid
        && pid.trim().parse::<u32>().ok()? != own_pid
    {
        return None;
    }
    Some(Duration::from_micros(usec / 2).max(Duration::from_millis(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watchdog_interval_is_half_the_timeout_for_this_process_only() {
        assert_eq!(
            watchdog_interval_from(Some("3000000"), None, 7),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            watchdog_interval_from(Some("3000000"), Some("7"), 7),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(watchdog_interval_from(Some("3000000"), Some("8"), 7), None);
        assert_eq!(watchdog_interval_from(Some("0"), None, 7), None);
        assert_eq!(watchdog_interval_from(Some("soon"), None, 7), None);
        assert_eq!(watchdog_interval_from(None, None, 7), None);
    }
}
