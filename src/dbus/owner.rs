//! Following a service by the unique name of its current owner: only what that connection
//! sends is believed.
//!
//! Why it is needed. The system bus lets every client send any signal (Debian's stock
//! `system.conf`: `<allow send_type="signal"/>`), and a signal with a destination (unicast)
//! is delivered to that connection whatever its match rules say. The bus puts the real
//! sender's unique name in every message's header (a client cannot choose it), so the header
//! sender is the one thing to check. zbus 6.2.1 does not do it for us: `MatchRule::matches`,
//! which decides what reaches a `MessageStream` (the socket reader in
//! `connection/socket_reader.rs` runs it on every incoming message), compares a rule's sender
//! only when it is a unique name; for a well-known one (`sender='org.freedesktop.NetworkManager'`,
//! or even `sender='org.freedesktop.DBus'`) it lets every sender through ("We can't match
//! against a well-known name"). The bus resolves such rules to the owner for broadcast
//! signals only. So a unicast `PropertiesChanged` or `NameOwnerChanged` from any local user
//! lands in our streams (GLib's CVE-2024-34397 is the same class of bug).
//!
//! The rule kept here: the owner comes from `GetNameOwner` (asked after subscribing), then
//! only from `NameOwnerChanged` whose header sender is `org.freedesktop.DBus` and whose arg0
//! is the service; a signal counts only when its header sender is that owner. Method calls go
//! to the owner's unique name (which also never activates a service), and a reply counts only
//! from it ([`call_owner`]; dbus-daemon and dbus-broker already refuse replies nobody asked
//! for, this is belt and braces).
//!
//! The order, and why nothing is lost. A source subscribes first, then asks `GetNameOwner`;
//! the bus handles a connection's messages in order, so every owner change after the answer
//! reaches us after it, and every one before it is already in the answer: a
//! `NameOwnerChanged` received before the answer is stale and ignored (by position in the
//! connection's message order). Signals that arrive before the owner is known are dropped
//! unread, never held: each source reads the service's whole state from the owner *after*
//! learning it (NetworkManager's `GetManagedObjects`, resolved's properties), and that read
//! includes everything those signals said. A forged signal keeps no state: it is recognised
//! from its header alone, its body is never parsed, and only a counter remembers it.

use std::fmt;

use zbus::OwnedVariant;
use zbus::message::{Sequence, Type};
use zbus::names::{OwnedUniqueName, UniqueName};
use zbus::zvariant::DynamicType;
use zbus::{Connection, MatchRule, Message};

/// The bus itself: its name, object and interface.
pub const BUS: &str = "org.freedesktop.DBus";
const BUS_PATH: &str = "/org/freedesktop/DBus";

/// What a received signal means for a source that follows one service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The bus says the service has a new owner (`None`: nobody owns it now).
    OwnerChanged(Option<OwnedUniqueName>),
    /// Sent by the current owner: apply it.
    FromOwner,
    /// Anything else (another peer's, an old owner's, a stale owner change): drop it unread.
    Ignored,
}

/// A received signal's header, as far as owner tracking needs it.
#[derive(Debug, Clone, Copy)]
pub struct Received<'a, P> {
    pub sender: Option<&'a str>,
    pub path: Option<&'a str>,
    pub interface: Option<&'a str>,
    pub member: Option<&'a str>,
    /// Where it is in the connection's message order.
    pub position: P,
}

/// The owner of one well-known name, followed as the module documentation says. `P` is the
/// position in the connection's message order ([`Sequence`]; plain numbers in tests).
#[derive(Debug, Clone)]
pub struct NameOwner<P = Sequence> {
    service: &'static str,
    owner: Option<OwnedUniqueName>,
    /// Position of the `GetNameOwner` answer: owner changes up to it are already in it.
    /// `None` when unknown (the bus's "no owner" error carries no message to take it from).
    known_at: Option<P>,
    /// Signals dropped because they were not from the owner (logged now and then).
    dropped: u64,
}

impl<P: Ord + Copy + fmt::Debug> NameOwner<P> {
    /// `service` is owned by `owner` as of `known_at`.
    pub fn new(service: &'static str, owner: Option<OwnedUniqueName>, known_at: Option<P>) -> Self {
        NameOwner {
            service,
            owner,
            known_at,
            dropped: 0,
        }
    }

    /// The current owner's unique name; `None` when nobody owns the name.
    pub fn owner(&self) -> Option<&OwnedUniqueName> {
        self.owner.as_ref()
    }

    /// Classifies a signal by its header; `owner_change` reads a `NameOwnerChanged` body as
    /// (name, new owner), and is only called for one the bus itself sent.
    pub fn classify_with(
        &mut self,
        received: Received<'_, P>,
        owner_change: impl FnOnce() -> Option<(String, String)>,
    ) -> Verdict {
        let from_bus = received.sender == Some(BUS)
            && received.path == Some(BUS_PATH)
            && received.interface == Some(BUS)
            && received.member == Some("NameOwnerChanged");
        if from_bus {
            let Some((name, new)) = owner_change() else {
                return Verdict::Ignored;
            };
            if name != self.service || self.known_at.is_some_and(|at| received.position <= at) {
                return Verdict::Ignored;
            }
            // The bus only ever names valid unique names (or none).
            self.owner = match new.as_str() {
                "" => None,
                unique => UniqueName::try_from(unique).ok().map(Into::into),
            };
            return Verdict::OwnerChanged(self.owner.clone());
        }
        if received.sender.is_some() && received.sender == self.owner.as_deref().map(|o| o.as_str())
        {
            return Verdict::FromOwner;
        }
        self.dropped += 1;
        if self.dropped.is_power_of_two() {
            tracing::debug!(
                "dropped {} signal(s) about {} not from the current owner {:?}, latest from {:?} ({:?})",
                self.dropped,
                self.service,
                self.owner.as_deref().map(|o| o.as_str()),
                received.sender,
                received.member,
            );
        }
        Verdict::Ignored
    }
}

impl NameOwner<Sequence> {
    /// Classifies a received message (see [`NameOwner::classify_with`]); anything but a
    /// signal is ignored.
    pub fn classify(&mut self, message: &Message) -> Verdict {
        if message.message_type() != Type::Signal {
            return Verdict::Ignored;
        }
        let header = message.header();
        let received = Received {
            sender: header.sender().map(|s| s.as_str()),
            path: header.path().map(|p| p.as_str()),
            interface: header.interface().map(|i| i.as_str()),
            member: header.member().map(|m| m.as_str()),
            position: message.recv_position(),
        };
        self.classify_with(received, || {
            let (name, _old, new) = message
                .body()
                .deserialize::<(String, String, String)>()
                .ok()?;
            Some((name, new))
        })
    }
}

/// The match rule for the bus's `NameOwnerChanged` about `service` (subscribe to it before
/// [`query_owner`]). The bus honours the sender for broadcasts; [`NameOwner`] checks it for
/// the unicast ones anybody may send.
pub fn owner_changes(service: &'static str) -> zbus::Result<MatchRule<'static>> {
    MatchRule::builder()
        .msg_type(Type::Signal)
        .sender(BUS)
        .path(BUS_PATH)
        .interface(BUS)
        .member("NameOwnerChanged")
        .arg(0, service)
        .build()
}

/// Asks the bus who owns `service` now. Call it after subscribing to the service's signals
/// and to [`owner_changes`].
pub async fn query_owner(
    connection: &Connection,
    service: &'static str,
) -> zbus::Result<NameOwner<Sequence>> {
    let reply = connection
        .call_method(Some(BUS), BUS_PATH, Some(BUS), "GetNameOwner", &(service))
        .await;
    match reply {
        Ok(reply) => {
            check_sender(&reply, BUS)?;
            let owner: OwnedUniqueName = reply.body().deserialize()?;
            Ok(NameOwner::new(
                service,
                Some(owner),
                Some(reply.recv_position()),
            ))
        }
        Err(zbus::Error::FDO(err)) if matches!(*err, zbus::fdo::Error::NameHasNoOwner(_)) => {
            Ok(NameOwner::new(service, None, None))
        }
        Err(err) => Err(err),
    }
}

/// Calls `member` on `owner` (a unique name: nothing is activated) and returns the reply
/// only if the owner sent it.
pub async fn call_owner<B>(
    connection: &Connection,
    owner: &UniqueName<'_>,
    path: &str,
    interface: &str,
    member: &str,
    body: &B,
) -> zbus::Result<Message>
where
    B: serde::ser::Serialize + DynamicType,
{
    match connection
        .call_method(Some(owner), path, Some(interface), member, body)
        .await
    {
        Ok(reply) => {
            check_sender(&reply, owner.as_str())?;
            Ok(reply)
        }
        Err(zbus::Error::MethodError(name, text, reply)) => {
            check_sender(&reply, owner.as_str())?;
            Err(zbus::Error::MethodError(name, text, reply))
        }
        Err(err) => Err(err),
    }
}

/// A property of the object at `path` on `owner` (`org.freedesktop.DBus.Properties.Get`).
pub async fn get_property<T>(
    connection: &Connection,
    owner: &UniqueName<'_>,
    path: &str,
    interface: &str,
    name: &str,
) -> zbus::Result<T>
where
    T: TryFrom<OwnedVariant>,
    T::Error: Into<zbus::Error>,
{
    let reply = call_owner(
        connection,
        owner,
        path,
        "org.freedesktop.DBus.Properties",
        "Get",
        &(interface, name),
    )
    .await?;
    let value: OwnedVariant = reply.body().deserialize()?;
    T::try_from(value).map_err(Into::into)
}

fn check_sender(reply: &Message, expected: &str) -> zbus::Result<()> {
    let header = reply.header();
    let sender = header.sender().map(|s| s.as_str());
    match sender == Some(expected) {
        true => Ok(()),
        false => Err(zbus::Error::Failure(format!(
            "a reply from {sender:?}, not from {expected}: ignored"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVICE: &str = "org.freedesktop.NetworkManager";

    fn unique(name: &str) -> Option<OwnedUniqueName> {
        Some(UniqueName::try_from(name).unwrap().into())
    }

    fn signal(sender: &str, position: u32) -> Received<'_, u32> {
        Received {
            sender: Some(sender),
            path: Some("/org/freedesktop/NetworkManager"),
            interface: Some("org.freedesktop.DBus.Properties"),
            member: Some("PropertiesChanged"),
            position,
        }
    }

    fn owner_changed(sender: &str, position: u32) -> Received<'_, u32> {
        Received {
            sender: Some(sender),
            path: Some(BUS_PATH),
            interface: Some(BUS),
            member: Some("NameOwnerChanged"),
            position,
        }
    }

    fn body(name: &str, new: &str) -> impl FnOnce() -> Option<(String, String)> {
        let (name, new) = (name.to_string(), new.to_string());
        move || Some((name, new))
    }

    fn no_body() -> Option<(String, String)> {
        panic!("the body of a message not from the bus must not be read")
    }

    #[test]
    fn who_is_believed() {
        // (what arrives, the verdict, the owner afterwards), in order, starting with :1.5
        // learned from GetNameOwner's answer at position 10.
        let mut owner = NameOwner::new(SERVICE, unique(":1.5"), Some(10));
        let steps: Vec<(&str, Verdict, Option<OwnedUniqueName>)> = vec![
            // The owner's signals count, even those that came before the answer.
            ("owner before answer", Verdict::FromOwner, unique(":1.5")),
            ("owner", Verdict::FromOwner, unique(":1.5")),
            // Anybody else's, including a NameOwnerChanged it sends itself, do not.
            ("forged signal", Verdict::Ignored, unique(":1.5")),
            ("forged owner change", Verdict::Ignored, unique(":1.5")),
            ("no sender", Verdict::Ignored, unique(":1.5")),
            // The bus's owner change from before the answer is already in it.
            ("stale bus change", Verdict::Ignored, unique(":1.5")),
            // Another name's change, from the bus: not ours.
            ("other name", Verdict::Ignored, unique(":1.5")),
            // A NameOwnerChanged from the bus on the wrong object or interface is not one.
            ("bus, wrong path", Verdict::Ignored, unique(":1.5")),
            // The bus says :1.9 owns it now.
            (
                "bus change",
                Verdict::OwnerChanged(unique(":1.9")),
                unique(":1.9"),
            ),
            // The old owner's signals no longer count; the new one's do.
            ("old owner", Verdict::Ignored, unique(":1.9")),
            ("new owner", Verdict::FromOwner, unique(":1.9")),
            // It leaves: nobody's signals count.
            ("bus: gone", Verdict::OwnerChanged(None), None),
            ("after gone", Verdict::Ignored, None),
            // A body the bus sent that does not parse changes nothing.
            ("bus, bad body", Verdict::Ignored, None),
        ];
        for (what, expected, after) in steps {
            let got = match what {
                "owner before answer" => owner.classify_with(signal(":1.5", 3), no_body),
                "owner" => owner.classify_with(signal(":1.5", 11), no_body),
                "forged signal" => owner.classify_with(signal(":1.66", 12), no_body),
                "forged owner change" => owner.classify_with(owner_changed(":1.66", 13), no_body),
                "no sender" => owner.classify_with(
                    Received {
                        sender: None,
                        ..signal(":1.5", 14)
                    },
                    no_body,
                ),
                "stale bus change" => {
                    owner.classify_with(owner_changed(BUS, 9), body(SERVICE, ":1.4"))
                }
                "other name" => {
                    owner.classify_with(owner_changed(BUS, 15), body("org.example.Other", ":1.66"))
                }
                "bus, wrong path" => owner.classify_with(
                    Received {
                        path: Some("/"),
                        ..owner_changed(BUS, 16)
                    },
                    body(SERVICE, ":1.66"),
                ),
                "bus change" => owner.classify_with(owner_changed(BUS, 17), body(SERVICE, ":1.9")),
                "old owner" => owner.classify_with(signal(":1.5", 18), no_body),
                "new owner" => owner.classify_with(signal(":1.9", 19), no_body),
                "bus: gone" => owner.classify_with(owner_changed(BUS, 20), body(SERVICE, "")),
                "after gone" => owner.classify_with(signal(":1.9", 21), no_body),
                "bus, bad body" => owner.classify_with(owner_changed(BUS, 22), || None),
                _ => unreachable!(),
            };
            assert_eq!(got, expected, "{what}");
            assert_eq!(owner.owner(), after.as_ref(), "{what}: owner afterwards");
        }
    }

    #[test]
    fn without_an_owner_at_the_start_the_bus_names_the_first() {
        // "No owner" from GetNameOwner carries no position: every later change is applied.
        let mut owner: NameOwner<u32> = NameOwner::new(SERVICE, None, None);
        assert_eq!(
            owner.classify_with(signal(":1.7", 1), no_body),
            Verdict::Ignored
        );
        assert_eq!(
            owner.classify_with(owner_changed(":1.7", 2), no_body),
            Verdict::Ignored
        );
        assert_eq!(
            owner.classify_with(owner_changed(BUS, 3), body(SERVICE, ":1.7")),
            Verdict::OwnerChanged(unique(":1.7"))
        );
        assert_eq!(
            owner.classify_with(signal(":1.7", 4), no_body),
            Verdict::FromOwner
        );
    }

    #[test]
    fn real_messages_are_judged_by_their_header_sender() {
        let mut owner = NameOwner::new(SERVICE, unique(":1.5"), None);
        let properties = |sender: &str| {
            Message::signal(
                "/org/freedesktop/NetworkManager",
                "org.freedesktop.DBus.Properties",
                "PropertiesChanged",
            )
            .sender(sender)
            .build(&())
            .unwrap()
        };
        assert_eq!(owner.classify(&properties(":1.5")), Verdict::FromOwner);
        assert_eq!(owner.classify(&properties(":1.6")), Verdict::Ignored);
        let change = |sender: &str, new: &str| {
            Message::signal(BUS_PATH, BUS, "NameOwnerChanged")
                .sender(sender)
                .build(&(SERVICE, ":1.5", new))
                .unwrap()
        };
        assert_eq!(owner.classify(&change(":1.6", "")), Verdict::Ignored);
        assert_eq!(owner.owner(), unique(":1.5").as_ref());
        assert_eq!(
            owner.classify(&change(BUS, ":1.8")),
            Verdict::OwnerChanged(unique(":1.8"))
        );
        let call = Message::method_call("/", "Ping")
            .sender(":1.8")
            .build(&())
            .unwrap();
        assert_eq!(owner.classify(&call), Verdict::Ignored, "not a signal");
    }
}
