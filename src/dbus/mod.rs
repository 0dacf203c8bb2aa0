//! What the D-Bus sources share: one system bus connection ([`SystemBus`]) and following a
//! service by its owner's unique name ([`follow`], [`owner`]).

pub mod owner;

use std::cell::RefCell;
use std::rc::Rc;

use futures::FutureExt;
use futures::future::{LocalBoxFuture, Shared};
use futures::stream::SelectAll;
use zbus::{Connection, MatchRule, MessageStream};

use owner::NameOwner;

type Connecting = Shared<LocalBoxFuture<'static, zbus::Result<Connection>>>;

/// The system bus connection the D-Bus sources share: made when the first of them asks, and
/// every ask gets the same result (the connection, or why there is none). A source that stops
/// waiting for it (its own time limit) loses nothing: asking again awaits the same attempt.
#[derive(Clone, Default)]
pub struct SystemBus(Rc<RefCell<Option<Connecting>>>);

impl SystemBus {
    pub fn new() -> SystemBus {
        SystemBus::default()
    }

    /// The connection; the first call starts connecting.
    pub fn connection(&self) -> Connecting {
        self.0
            .borrow_mut()
            .get_or_insert_with(|| Connection::system().boxed_local().shared())
            .clone()
    }
}

/// What [`connect_and_follow`] yields: the connection, the subscribed signals and who owns
/// the service.
pub type Followed = (Connection, SelectAll<MessageStream>, NameOwner);

/// Waits for the shared connection of `bus`, then [`follow`]s `service` with the rules
/// `rules` makes.
pub async fn connect_and_follow(
    bus: Connecting,
    service: &'static str,
    rules: fn() -> zbus::Result<Vec<MatchRule<'static>>>,
) -> zbus::Result<Followed> {
    let connection = bus.await?;
    let (signals, owner) = follow(&connection, service, rules()?).await?;
    Ok((connection, signals, owner))
}

/// Starts following `service` on `connection`: subscribes to the signals `rules` select and to
/// the bus's news about the name's owner, then asks who owns it. Subscribing first loses no
/// change in between. The rules may name the service's well-known name, which the bus honours
/// for broadcasts only: the returned [`NameOwner`] decides which signals count.
pub async fn follow(
    connection: &Connection,
    service: &'static str,
    rules: Vec<MatchRule<'static>>,
) -> zbus::Result<(SelectAll<MessageStream>, NameOwner)> {
    let mut streams = SelectAll::new();
    for rule in rules.into_iter().chain([owner::owner_changes(service)?]) {
        streams.push(MessageStream::for_match_rule(rule, connection, None).await?);
    }
    let owner = owner::query_owner(connection, service).await?;
    Ok((streams, owner))
}
