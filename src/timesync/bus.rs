//! The server systemd-timesyncd tries, for the reason a wait gives: its `ServerName` and
//! `ServerAddress` properties on `org.freedesktop.timesync1`, read from the owner of that name
//! on the shared system bus and read again when the owner says they changed
//! (`PropertiesChanged`) or the name moves. Only the owner is believed
//! ([`crate::dbus::owner`]): the body of a signal is never read, it only makes us ask the
//! owner again, and a signal from anybody else is dropped unread. Nothing is bus-activated:
//! calls go to the owner's unique name.

use std::future::Future;
use std::pin::Pin;

use futures::stream::SelectAll;
use zbus::names::OwnedUniqueName;
use zbus::{Connection, MatchRule, Message, MessageStream};

use crate::core::timesync::TimesyncdServer;
use crate::dbus::owner::{NameOwner, Verdict, get_property};
use crate::dbus::{self, SystemBus};
use crate::dns::resolved::{ip, next_signal};
use crate::engine::source::or_pending;

/// systemd-timesyncd's well-known bus name.
pub const SERVICE: &str = "org.freedesktop.timesync1";
const PATH: &str = "/org/freedesktop/timesync1";
const INTERFACE: &str = "org.freedesktop.timesync1.Manager";

type ExchangeFuture = Pin<Box<dyn Future<Output = Exchange>>>;

/// A bus exchange that finished.
pub enum Exchange {
    /// Connected and subscribed; who owns timesyncd's name now.
    Connected(zbus::Result<dbus::Followed>),
    /// The server, as the owner answered (`None`: it has none selected).
    Read(zbus::Result<Option<TimesyncdServer>>),
}

/// What woke the follower up.
pub enum BusEvent {
    Exchange(Exchange),
    /// A signal about timesyncd's properties or its name (or a forged one).
    Signal(Message),
    /// The bus connection ended.
    Gone,
}

/// Follows the server timesyncd tries; see the module documentation.
pub struct TimesyncdBus {
    connection: Option<Connection>,
    signals: Option<SelectAll<MessageStream>>,
    owner: Option<NameOwner>,
    /// The exchange in flight: connecting, or reading the properties.
    exchange: Option<ExchangeFuture>,
    /// The owner announced a change while a read was in flight: read again after it.
    stale: bool,
}

impl TimesyncdBus {
    /// Starts connecting (on the shared connection) and subscribing.
    pub fn start(bus: &SystemBus) -> TimesyncdBus {
        let connection = bus.connection();
        let connect = async {
            Exchange::Connected(dbus::connect_and_follow(connection, SERVICE, match_rules).await)
        };
        TimesyncdBus {
            connection: None,
            signals: None,
            owner: None,
            exchange: Some(Box::pin(connect)),
            stale: false,
        }
    }

    /// Waits for the next event. Cancel-safe: the exchange is kept across waits, and a
    /// signal is only taken from its stream when it is returned.
    pub async fn next(&mut self) -> BusEvent {
        let signal = or_pending(self.signals.as_mut().map(|signals| async {
            match next_signal(signals).await {
                Some(message) => BusEvent::Signal(message),
                None => BusEvent::Gone,
            }
        }));
        tokio::select! {
            exchange = or_pending(self.exchange.as_mut()) => BusEvent::Exchange(exchange),
            event = signal => event,
        }
    }

    /// Applies `event`; returns the server when what is known about it changed (`Some(None)`:
    /// nothing is known any more).
    pub fn apply(&mut self, event: BusEvent) -> Option<Option<TimesyncdServer>> {
        match event {
            BusEvent::Exchange(Exchange::Connected(Ok((connection, signals, owner)))) => {
                self.exchange = None;
                self.connection = Some(connection);
                self.signals = Some(signals);
                let running = owner.owner().cloned();
                self.owner = Some(owner);
                if let Some(unique) = running {
                    self.read(unique);
                }
                None
            }
            BusEvent::Exchange(Exchange::Connected(Err(err))) => {
                tracing::debug!("not following systemd-timesyncd on the bus: {err}");
                self.exchange = None;
                None
            }
            BusEvent::Exchange(Exchange::Read(result)) => {
                self.exchange = None;
                if std::mem::take(&mut self.stale)
                    && let Some(unique) = self.current_owner()
                {
                    self.read(unique);
                }
                match result {
                    Ok(server) => Some(server),
                    Err(err) => {
                        tracing::debug!("cannot read systemd-timesyncd's server: {err}");
                        Some(None)
                    }
                }
            }
            BusEvent::Signal(message) => {
                let verdict = self.owner.as_mut()?.classify(&message);
                match verdict {
                    Verdict::OwnerChanged(owner) => {
                        self.stale = false;
                        self.exchange = None;
                        if let Some(unique) = owner {
                            self.read(unique);
                        }
                        Some(None)
                    }
                    Verdict::FromOwner => {
                        match self.exchange.is_some() {
                            true => self.stale = true,
                            false => self.read(self.current_owner()?),
                        }
                        None
                    }
                    Verdict::Ignored => None,
                }
            }
            BusEvent::Gone => {
                tracing::debug!(
                    "the system bus connection ended: no more news of systemd-timesyncd"
                );
                self.signals = None;
                self.exchange = None;
                Some(None)
            }
        }
    }

    fn current_owner(&self) -> Option<OwnedUniqueName> {
        self.owner.as_ref()?.owner().cloned()
    }

    /// Starts reading the server from `owner` (replacing a read in flight).
    fn read(&mut self, owner: OwnedUniqueName) {
        let Some(connection) = self.connection.clone() else {
            return;
        };
        self.exchange = Some(Box::pin(async move {
            let read = async {
                let name: String =
                    get_property(&connection, &owner, PATH, INTERFACE, "ServerName").await?;
                let (family, bytes): (i32, Vec<u8>) =
                    get_property(&connection, &owner, PATH, INTERFACE, "ServerAddress").await?;
                let address = ip(family, &bytes);
                Ok((!name.is_empty() || address.is_some())
                    .then_some(TimesyncdServer { name, address }))
            };
            Exchange::Read(read.await)
        }));
    }
}

/// The signals that say timesyncd's properties changed (its name moving is followed by
/// [`crate::dbus::follow`] itself).
fn match_rules() -> zbus::Result<Vec<MatchRule<'static>>> {
    let properties = MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .sender(SERVICE)
        .path(PATH)
        .interface("org.freedesktop.DBus.Properties")
        .member("PropertiesChanged")
        .build()?;
    Ok(vec![properties])
}
