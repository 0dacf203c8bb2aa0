//! The service manager notification protocol (sd_notify(3)) without libsystemd: one datagram
//! per message to `$NOTIFY_SOCKET`, as upstream sends READY=1 and STATUS= lines.

use std::io;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};

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
    if let Some(notifier) = notifier {
        if let Err(err) = notifier.send(state) {
            tracing::debug!("failed to notify the service manager: {err}");
        }
    }
}
