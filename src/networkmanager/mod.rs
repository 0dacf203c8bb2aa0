//! The NetworkManager adapter: its view of each device, read over D-Bus (zbus) once through
//! the ObjectManager's `GetManagedObjects` and then followed through `PropertiesChanged`,
//! `InterfacesAdded`/`InterfacesRemoved` and `NameOwnerChanged`. Nothing is polled, and
//! NetworkManager is never started through bus activation: it is only called by the unique
//! name of its current owner, which cannot activate anything.
//!
//! Only that owner is believed ([`crate::dbus::owner`]): a signal from any other connection
//! (any local user may send one) is dropped unread, and what even the owner can make us hold
//! is bounded ([`objects`]).
//!
//! Like the DNS adapter, it keeps its own bus exchanges in flight; the engine only applies
//! the events it yields. A restart drops every fact (nothing is judged on stale ones) until
//! the objects have been read again.

pub mod objects;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use futures::StreamExt;
use futures::stream::SelectAll;
use zbus::message::Sequence;
use zbus::names::OwnedUniqueName;
use zbus::{Connection, MatchRule, Message, MessageStream, OwnedObjectPath};

use crate::core::Snapshot;
use crate::core::goal::Goal;
use crate::core::networkmanager::NetworkManagerFacts;
use crate::dbus::owner::{self, NameOwner, Verdict};
use crate::dbus::{self, SystemBus};
use crate::engine::EngineError;
use crate::engine::source::{Facts, Source, or_pending};
use objects::{Objects, Properties};

/// NetworkManager's well-known bus name.
pub const SERVICE: &str = "org.freedesktop.NetworkManager";
/// NetworkManager's runtime directory: it exists once NetworkManager has run in this boot.
pub const RUN_DIR: &str = "/run/NetworkManager";
/// Where its ObjectManager lives.
const OBJECT_MANAGER_PATH: &str = "/org/freedesktop";
/// Most signals held while the objects are read; past it they are dropped and the objects
/// read again (the owner is believed, but not without bounds).
const MAX_HELD: usize = 4096;

type ExchangeFuture = Pin<Box<dyn Future<Output = Exchange>>>;
type ManagedObjects = HashMap<OwnedObjectPath, HashMap<String, Properties>>;

/// A bus exchange that finished.
pub enum Exchange {
    /// Connected to the bus and subscribed to NetworkManager's signals; who owns its name
    /// right now.
    Connected(zbus::Result<dbus::Followed>),
    /// `GetManagedObjects`' reply (or why there is none).
    Read(zbus::Result<Message>),
}

/// What woke the NetworkManager adapter up.
pub enum NetworkManagerEvent {
    Exchange(Exchange),
    /// A signal that may be from NetworkManager or about its name (or forged).
    Signal(Message),
    /// The bus connection ended.
    BusGone,
}

/// Follows NetworkManager; see the module documentation.
pub struct NetworkManagerSource {
    connection: Option<Connection>,
    signals: Option<SelectAll<MessageStream>>,
    /// Who owns NetworkManager's name, once asked.
    owner: Option<NameOwner>,
    exchange: Option<ExchangeFuture>,
    /// The objects, once read.
    objects: Option<Objects>,
    /// Where in the connection's message order the objects were read: older signals are
    /// already in them.
    read_at: Option<Sequence>,
    /// Signals that arrived while the objects were being read.
    held: Vec<Message>,
    /// Whether a failed connection should only be logged at debug level (`--manager=auto`,
    /// where kernel facts are a normal fallback).
    optional: bool,
}

impl NetworkManagerSource {
    /// Starts following NetworkManager on the shared system bus. `optional`: NetworkManager
    /// may well be absent.
    pub fn start(bus: &SystemBus, optional: bool) -> NetworkManagerSource {
        let connection = bus.connection();
        let connect = async {
            Exchange::Connected(dbus::connect_and_follow(connection, SERVICE, match_rules).await)
        };
        NetworkManagerSource {
            connection: None,
            signals: None,
            owner: None,
            exchange: Some(Box::pin(connect)),
            objects: None,
            read_at: None,
            held: Vec::new(),
            optional,
        }
    }

    /// Waits for the next event. Cancel-safe.
    async fn next_event(&mut self) -> NetworkManagerEvent {
        let signal = or_pending(self.signals.as_mut().map(|signals| async {
            loop {
                match signals.next().await {
                    Some(Ok(message)) => break NetworkManagerEvent::Signal(message),
                    Some(Err(err)) => tracing::debug!("malformed D-Bus message ignored: {err}"),
                    None => break NetworkManagerEvent::BusGone,
                }
            }
        }));
        tokio::select! {
            exchange = or_pending(self.exchange.as_mut()) => NetworkManagerEvent::Exchange(exchange),
            event = signal => event,
        }
    }

    /// Applies an event to `facts`; returns whether they changed.
    fn apply_event(&mut self, event: NetworkManagerEvent, facts: &mut NetworkManagerFacts) -> bool {
        match event {
            NetworkManagerEvent::Exchange(Exchange::Connected(Ok((
                connection,
                signals,
                owner,
            )))) => {
                self.exchange = None;
                self.connection = Some(connection);
                self.signals = Some(signals);
                let running = owner.owner().cloned();
                self.owner = Some(owner);
                if let Some(running) = running {
                    self.read_objects(running);
                    return false;
                }
                tracing::info!("NetworkManager is not on the system bus: waiting for it");
                facts.known = true;
                true
            }
            NetworkManagerEvent::Exchange(Exchange::Connected(Err(err))) => {
                self.exchange = None;
                match self.optional {
                    true => tracing::info!(
                        "no system bus ({err}): links are judged without NetworkManager"
                    ),
                    false => tracing::warn!(
                        "cannot connect to the system bus ({err}): NetworkManager's view of the links is unknown"
                    ),
                }
                facts.known = true;
                true
            }
            NetworkManagerEvent::Exchange(Exchange::Read(reply)) => {
                self.exchange = None;
                self.objects_read(reply, facts)
            }
            NetworkManagerEvent::Signal(message) => self.signal(message, facts),
            NetworkManagerEvent::BusGone => {
                tracing::warn!("the system bus connection ended: NetworkManager's view is gone");
                self.signals = None;
                self.owner = None;
                self.objects = None;
                let changed = facts.running;
                facts.forget();
                changed
            }
        }
    }

    /// Starts reading every object from `owner`, the current owner of the name.
    fn read_objects(&mut self, owner: OwnedUniqueName) {
        let Some(connection) = self.connection.clone() else {
            return;
        };
        self.objects = None;
        self.read_at = None;
        self.held.clear();
        self.exchange = Some(Box::pin(async move {
            let read = owner::call_owner(
                &connection,
                &owner,
                OBJECT_MANAGER_PATH,
                "org.freedesktop.DBus.ObjectManager",
                "GetManagedObjects",
                &(),
            );
            Exchange::Read(read.await)
        }));
    }

    fn objects_read(
        &mut self,
        reply: zbus::Result<Message>,
        facts: &mut NetworkManagerFacts,
    ) -> bool {
        let managed = reply.and_then(|message| {
            let body: ManagedObjects = message.body().deserialize()?;
            Ok((message.recv_position(), body))
        });
        match managed {
            Ok((position, managed)) => {
                let by_path: HashMap<String, HashMap<String, Properties>> = managed
                    .into_iter()
                    .map(|(path, interfaces)| (path.as_str().to_string(), interfaces))
                    .collect();
                let mut objects = Objects::from_managed(&by_path);
                for message in std::mem::take(&mut self.held) {
                    if message.recv_position() > position {
                        apply_signal(&mut objects, &message);
                    }
                }
                let changed = objects.apply_to(facts);
                tracing::debug!(devices = ?facts.devices, startup = facts.startup, "NetworkManager read");
                self.objects = Some(objects);
                self.read_at = Some(position);
                changed
            }
            Err(err) => {
                // It went away in between (its NameOwnerChanged follows), or does not answer.
                tracing::debug!("reading NetworkManager's objects failed: {err}");
                self.held.clear();
                let changed = !facts.known;
                facts.known = true;
                changed
            }
        }
    }

    fn signal(&mut self, message: Message, facts: &mut NetworkManagerFacts) -> bool {
        // Before the owner is known nothing is applied: the objects are read from it after.
        let Some(owner) = &mut self.owner else {
            return false;
        };
        match owner.classify(&message) {
            Verdict::Ignored => false,
            Verdict::OwnerChanged(new) => {
                let changed = facts.running || !facts.known;
                facts.forget();
                self.objects = None;
                match new {
                    None => {
                        tracing::info!(
                            "NetworkManager left the system bus: waiting for it to come back"
                        );
                        self.exchange = None;
                        self.held.clear();
                        facts.known = true;
                    }
                    Some(new) => {
                        tracing::debug!(
                            "NetworkManager is on the system bus ({new}): reading its objects"
                        );
                        self.read_objects(new);
                        facts.known = false;
                    }
                }
                changed
            }
            Verdict::FromOwner => self.owner_signal(message, facts),
        }
    }

    /// A signal from NetworkManager's current owner.
    fn owner_signal(&mut self, message: Message, facts: &mut NetworkManagerFacts) -> bool {
        match &mut self.objects {
            Some(objects) => {
                if self
                    .read_at
                    .is_some_and(|read| message.recv_position() <= read)
                {
                    return false;
                }
                apply_signal(objects, &message);
                objects.apply_to(facts)
            }
            None => {
                if self.exchange.is_some() {
                    self.held.push(message);
                }
                if self.held.len() > MAX_HELD
                    && let Some(running) = self.owner.as_ref().and_then(|o| o.owner()).cloned()
                {
                    tracing::warn!(
                        "NetworkManager sent more than {MAX_HELD} signals while its objects were read: reading them again"
                    );
                    self.read_objects(running);
                }
                false
            }
        }
    }
}

impl Source for NetworkManagerSource {
    type Event = NetworkManagerEvent;
    const FACTS: Facts = Facts::NetworkManager;

    async fn next(&mut self) -> Result<NetworkManagerEvent, EngineError> {
        Ok(self.next_event().await)
    }

    fn apply(&mut self, event: NetworkManagerEvent, snapshot: &mut Snapshot, _: &Goal) -> bool {
        match snapshot.networkmanager.as_mut() {
            Some(facts) => self.apply_event(event, facts),
            None => false,
        }
    }
}

/// Applies one of NetworkManager's object signals to `objects`.
fn apply_signal(objects: &mut Objects, message: &Message) {
    let header = message.header();
    let Some(path) = header.path().map(|p| p.as_str().to_string()) else {
        return;
    };
    match header.member().map(|m| m.as_str()) {
        Some("PropertiesChanged") => {
            if let Ok((interface, changed, _invalidated)) =
                message
                    .body()
                    .deserialize::<(String, Properties, Vec<String>)>()
            {
                objects.change(&path, &interface, &changed);
            }
        }
        Some("InterfacesAdded") => {
            if let Ok((object, interfaces)) = message
                .body()
                .deserialize::<(OwnedObjectPath, HashMap<String, Properties>)>()
            {
                objects.add(object.as_str(), &interfaces);
            }
        }
        Some("InterfacesRemoved") => {
            if let Ok((object, interfaces)) = message
                .body()
                .deserialize::<(OwnedObjectPath, Vec<String>)>()
            {
                objects.remove(object.as_str(), &interfaces);
            }
        }
        _ => {}
    }
}

/// The signals that change NetworkManager's view.
fn match_rules() -> zbus::Result<Vec<MatchRule<'static>>> {
    let properties = MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .sender(SERVICE)
        .interface("org.freedesktop.DBus.Properties")
        .member("PropertiesChanged")
        .path_namespace("/org/freedesktop/NetworkManager")
        .build()?;
    let object_manager = MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .sender(SERVICE)
        .interface("org.freedesktop.DBus.ObjectManager")
        .path(OBJECT_MANAGER_PATH)
        .build()?;
    Ok(vec![properties, object_manager])
}
