//! The protocol as tables of steps: messages as the socket reads them (encoded by
//! netlink-packet-route, decoded by `wire`), overflows, and the table expected meanwhile;
//! then the requests sent and the table installed. Scoped mode's tables pair each step with
//! the request it must ask for.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use netlink_packet_core::{
    DefaultNla, DoneMessage, NLM_F_DUMP_INTR, NLM_F_MULTIPART, NetlinkHeader, NetlinkMessage,
    NetlinkPayload,
};
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{LinkAttribute, LinkMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::*;
use crate::netlink::wire;

/// Our socket's port in these tests.
const PORT: u32 = 4242;

fn config(track_routes: bool) -> KernelSourceConfig {
    KernelSourceConfig {
        track_routes,
        ..KernelSourceConfig::default()
    }
}
const NOW: Duration = Duration::from_secs(100);

/// `message` as the socket layer hands it over: serialized, then decoded by the wire module.
fn decoded(message: NetlinkMessage<RouteNetlinkMessage>) -> Message {
    let mut messages = Vec::new();
    wire::decode(&serialized(&message), NOW, |m| messages.push(m));
    assert_eq!(messages.len(), 1, "one message decoded");
    messages.pop().unwrap()
}

/// Feeds every message of `datagram`, as the socket layer does, collecting the requests.
fn handle_datagram(
    protocol: &mut Protocol,
    datagram: &[u8],
    tables: &mut KernelTables,
    requests: &mut Vec<Request>,
) -> io::Result<()> {
    let mut messages = Vec::new();
    wire::decode(datagram, NOW, |m| messages.push(m));
    for message in messages {
        requests.extend(protocol.handle_message(message, tables)?);
    }
    Ok(())
}

fn message(
    port: u32,
    seq: u32,
    flags: u16,
    payload: NetlinkPayload<RouteNetlinkMessage>,
) -> NetlinkMessage<RouteNetlinkMessage> {
    let mut header = NetlinkHeader::default();
    header.port_number = port;
    header.sequence_number = seq;
    header.flags = flags;
    let mut message = NetlinkMessage::new(header, payload);
    message.finalize();
    message
}

/// A multicast notification (port 0, seq 0).
fn notify(inner: RouteNetlinkMessage) -> Step {
    Step::Message(message(0, 0, 0, NetlinkPayload::InnerMessage(inner)))
}

/// One reply of our dump `seq`.
fn reply(seq: u32, inner: RouteNetlinkMessage) -> Step {
    Step::Message(message(
        PORT,
        seq,
        NLM_F_MULTIPART,
        NetlinkPayload::InnerMessage(inner),
    ))
}

/// One reply of our dump `seq`, flagged NLM_F_DUMP_INTR.
fn reply_interrupted(seq: u32, inner: RouteNetlinkMessage) -> Step {
    Step::Message(message(
        PORT,
        seq,
        NLM_F_MULTIPART | NLM_F_DUMP_INTR,
        NetlinkPayload::InnerMessage(inner),
    ))
}

/// NLMSG_DONE ending our dump `seq`.
fn done(seq: u32) -> Step {
    Step::Message(message(
        PORT,
        seq,
        NLM_F_MULTIPART,
        NetlinkPayload::Done(DoneMessage::default()),
    ))
}

fn link(ifindex: u32) -> LinkMessage {
    let mut link = LinkMessage::default();
    link.header.index = ifindex;
    link.attributes
        .push(LinkAttribute::IfName(format!("if{ifindex}")));
    link
}

fn new_link(ifindex: u32) -> RouteNetlinkMessage {
    RouteNetlinkMessage::NewLink(link(ifindex))
}

fn del_link(ifindex: u32) -> RouteNetlinkMessage {
    RouteNetlinkMessage::DelLink(link(ifindex))
}

/// 192.0.2.`last`/24 on `ifindex`.
fn address(ifindex: u32, last: u8) -> AddressMessage {
    let mut address = AddressMessage::default();
    address.header.family = AddressFamily::Inet;
    address.header.prefix_len = 24;
    address.header.index = ifindex;
    address
        .attributes
        .push(AddressAttribute::Local(IpAddr::V4(Ipv4Addr::new(
            192, 0, 2, last,
        ))));
    address
}

fn new_addr(ifindex: u32, last: u8) -> RouteNetlinkMessage {
    RouteNetlinkMessage::NewAddress(address(ifindex, last))
}

fn del_addr(ifindex: u32, last: u8) -> RouteNetlinkMessage {
    RouteNetlinkMessage::DelAddress(address(ifindex, last))
}

fn links_dump(seq: u32) -> Request {
    Request {
        query: Query::Dump(DumpKind::Links),
        seq,
    }
}

fn addresses_dump(seq: u32) -> Request {
    Request {
        query: Query::Dump(DumpKind::Addresses),
        seq,
    }
}

/// The table as ifindex → last octets of its addresses, in table order.
type Table = Vec<(u32, Vec<u8>)>;

fn summary(tables: &KernelTables) -> Table {
    tables
        .links
        .iter()
        .map(|(ifindex, link)| {
            assert_eq!(link.name, format!("if{ifindex}"));
            let octets = link
                .addresses
                .iter()
                .map(|a| match a.address {
                    IpAddr::V4(ip) => ip.octets()[3],
                    IpAddr::V6(_) => panic!("unexpected IPv6 address"),
                })
                .collect();
            (*ifindex, octets)
        })
        .collect()
}

enum Step {
    /// Feed this message, as read from the socket.
    Message(NetlinkMessage<RouteNetlinkMessage>),
    /// The receive buffer overflowed.
    Overflow,
    /// The installed table is this, and whether it is synced.
    Expect(Table, bool),
}

struct Case {
    name: &'static str,
    steps: Vec<Step>,
    /// Every request sent, the initial one included.
    requests: Vec<Request>,
    table: Table,
    dumps: u64,
}

/// Runs `steps` from a fresh `Protocol` and returns the requests sent and the table.
fn run(name: &str, steps: Vec<Step>) -> (Protocol, Vec<Request>, KernelTables) {
    let mut protocol = Protocol::new(PORT, config(false));
    let mut links = KernelTables::default();
    let mut requests = vec![protocol.start()];
    for (index, step) in steps.into_iter().enumerate() {
        match step {
            Step::Message(message) => {
                let request = protocol
                    .handle_message(decoded(message), &mut links)
                    .unwrap_or_else(|err| panic!("{name}: step {index}: {err}"));
                requests.extend(request);
            }
            Step::Overflow => requests.extend(protocol.overflowed()),
            Step::Expect(table, synced) => {
                assert_eq!(summary(&links), table, "{name}: table at step {index}");
                assert_eq!(
                    protocol.resync.is_none(),
                    synced,
                    "{name}: synced at step {index}"
                );
            }
        }
    }
    (protocol, requests, links)
}

/// Runs `case` and checks its requests, final table and dump count.
fn check(case: Case) {
    let (protocol, requests, links) = run(case.name, case.steps);
    assert_eq!(requests, case.requests, "{}: requests", case.name);
    assert_eq!(summary(&links), case.table, "{}: table", case.name);
    assert!(protocol.resync.is_none(), "{}: not synced", case.name);
    assert_eq!(protocol.dumps, case.dumps, "{}: dumps", case.name);
}

#[test]
fn initial_sync_discards_events_before_first_reply() {
    check(Case {
        name: "initial sync discards events queued before each dump's first reply",
        steps: vec![
            // Queued between subscribing and the link dump's first reply.
            notify(new_link(9)),
            notify(new_addr(1, 9)),
            reply(1, new_link(1)),
            reply(1, new_link(2)),
            Step::Expect(vec![], false),
            done(1),
            // Address event before the address dump's first reply: superseded.
            notify(new_addr(1, 5)),
            reply(2, new_addr(1, 10)),
            reply(2, new_addr(2, 20)),
            Step::Expect(vec![], false),
            done(2),
            Step::Expect(vec![(1, vec![10]), (2, vec![20])], true),
            // Synced: events apply directly.
            notify(new_addr(2, 21)),
        ],
        requests: vec![links_dump(1), addresses_dump(2)],
        table: vec![(1, vec![10]), (2, vec![20, 21])],
        dumps: 1,
    });
}

#[test]
fn stale_events_after_overflow_do_not_resurrect() {
    check(Case {
        name: "after an overflow stale events do not resurrect what the dump lacks",
        steps: vec![
            reply(1, new_link(1)),
            reply(1, new_link(2)),
            done(1),
            reply(2, new_addr(1, 10)),
            reply(2, new_addr(2, 20)),
            done(2),
            // Events queued before the overflow; the deletion of link 2 and of
            // address .10 were among those lost.
            notify(new_addr(1, 11)),
            Step::Overflow,
            Step::Expect(vec![(1, vec![10, 11]), (2, vec![20])], false),
            // Still queued ahead of the link dump's first reply: stale.
            notify(new_link(2)),
            notify(new_addr(2, 20)),
            notify(new_addr(1, 10)),
            reply(3, new_link(1)),
            done(3),
            // Ahead of the address dump's first reply: stale.
            notify(new_addr(1, 10)),
            reply(4, new_addr(1, 11)),
            Step::Expect(vec![(1, vec![10, 11]), (2, vec![20])], false),
            done(4),
        ],
        requests: vec![
            links_dump(1),
            addresses_dump(2),
            links_dump(3),
            addresses_dump(4),
        ],
        table: vec![(1, vec![11])],
        dumps: 2,
    });
}

#[test]
fn events_between_dump_replies_apply_in_order() {
    check(Case {
        name: "events between dump replies are applied in order",
        steps: vec![
            reply(1, new_link(1)),
            // After the link dump's first reply: newer than the dump.
            notify(new_link(2)),
            notify(new_addr(2, 29)), // superseded by the address dump
            reply(1, new_link(3)),
            notify(del_link(3)),
            done(1),
            // Link events during the address dump are always newer.
            notify(new_link(4)),
            reply(2, new_addr(1, 10)),
            reply(2, new_addr(1, 12)),
            // Between two address-dump chunks.
            notify(del_addr(1, 10)),
            notify(new_addr(1, 11)),
            notify(del_addr(1, 11)),
            notify(new_addr(2, 20)),
            reply(2, new_addr(4, 40)),
            notify(new_link(5)),
            notify(del_link(5)),
            done(2),
        ],
        requests: vec![links_dump(1), addresses_dump(2)],
        table: vec![(1, vec![12]), (2, vec![20]), (4, vec![40])],
        dumps: 1,
    });
}

#[test]
fn overflow_during_dump_finishes_it_and_restarts() {
    check(Case {
        name: "an overflow during a dump finishes it and starts over",
        steps: vec![
            reply(1, new_link(1)),
            Step::Overflow,
            Step::Overflow,
            reply(1, new_link(2)),
            done(1),
            Step::Expect(vec![], false),
            reply(2, new_link(1)),
            done(2),
            reply(3, new_addr(1, 10)),
            Step::Overflow,
            done(3),
            Step::Expect(vec![], false),
            reply(4, new_link(1)),
            done(4),
            reply(5, new_addr(1, 11)),
            done(5),
        ],
        requests: vec![
            links_dump(1),
            links_dump(2),
            addresses_dump(3),
            links_dump(4),
            addresses_dump(5),
        ],
        table: vec![(1, vec![11])],
        dumps: 1,
    });
}

#[test]
fn dump_intr_finishes_dump_and_restarts() {
    check(Case {
        name: "NLM_F_DUMP_INTR finishes the dump and starts over",
        steps: vec![
            reply_interrupted(1, new_link(1)),
            done(1),
            reply(2, new_link(1)),
            done(2),
            reply(3, new_addr(1, 10)),
            reply_interrupted(3, new_addr(1, 12)),
            done(3),
            Step::Expect(vec![], false),
            reply(4, new_link(1)),
            done(4),
            reply(5, new_addr(1, 11)),
            done(5),
        ],
        requests: vec![
            links_dump(1),
            links_dump(2),
            addresses_dump(3),
            links_dump(4),
            addresses_dump(5),
        ],
        table: vec![(1, vec![11])],
        dumps: 1,
    });
}

#[test]
fn replies_to_abandoned_seq_are_ignored() {
    check(Case {
        name: "replies to an abandoned seq are ignored",
        steps: vec![
            reply(1, new_link(1)),
            Step::Overflow,
            done(1),
            // Dump 2 is current; late replies to dump 1 do not count.
            reply(1, new_link(7)),
            done(1),
            reply(2, new_link(1)),
            reply(1, new_link(8)),
            done(2),
            reply(1, new_addr(1, 17)),
            reply(2, new_addr(1, 18)),
            done(2),
            done(1),
            reply(3, new_addr(1, 10)),
            done(3),
            // Synced: replies to finished dumps are ignored too.
            reply(3, new_link(9)),
            done(3),
        ],
        requests: vec![links_dump(1), links_dump(2), addresses_dump(3)],
        table: vec![(1, vec![10])],
        dumps: 1,
    });
}

#[test]
fn addresses_for_unknown_ifindex_are_dropped() {
    check(Case {
        name: "addresses for unknown ifindexes are dropped",
        steps: vec![
            reply(1, new_link(1)),
            notify(new_addr(5, 55)),
            done(1),
            reply(2, new_addr(1, 10)),
            reply(2, new_addr(5, 50)),
            notify(new_addr(6, 66)),
            done(2),
            notify(new_addr(6, 60)),
            notify(new_link(6)),
            notify(new_addr(6, 61)),
        ],
        requests: vec![links_dump(1), addresses_dump(2)],
        table: vec![(1, vec![10]), (6, vec![61])],
        dumps: 1,
    });
}

#[test]
fn dump_error_is_reported() {
    let mut protocol = Protocol::new(PORT, config(false));
    let mut links = KernelTables::default();
    protocol.start();
    let mut error = netlink_packet_core::ErrorMessage::default();
    error.code = std::num::NonZeroI32::new(-libc::EPERM);
    let message = message(PORT, 1, 0, NetlinkPayload::Error(error));
    assert!(
        protocol
            .handle_message(decoded(message), &mut links)
            .is_err()
    );
}

#[test]
fn datagram_with_several_messages() {
    let mut protocol = Protocol::new(PORT, config(false));
    let mut links = KernelTables::default();
    assert_eq!(protocol.start(), links_dump(1));
    let mut datagram = Vec::new();
    for step in [reply(1, new_link(1)), reply(1, new_link(2)), done(1)] {
        let Step::Message(message) = step else {
            unreachable!()
        };
        let mut bytes = vec![0; message.buffer_len()];
        message.serialize(&mut bytes);
        bytes.resize((bytes.len() + 3) & !3, 0);
        datagram.extend(bytes);
    }
    let mut requests = Vec::new();
    handle_datagram(&mut protocol, &datagram, &mut links, &mut requests).expect("datagram handled");
    assert_eq!(requests, vec![addresses_dump(2)]);
    let fresh = protocol
        .resync
        .as_ref()
        .map(|resync| summary(&resync.fresh));
    assert_eq!(fresh, Some(vec![(1, vec![]), (2, vec![])]));
}

fn serialized(message: &NetlinkMessage<RouteNetlinkMessage>) -> Vec<u8> {
    let mut bytes = vec![0; message.buffer_len()];
    message.serialize(&mut bytes);
    bytes
}

/// A realistic link notification with many attributes, to truncate and corrupt.
fn rich_link_event() -> Vec<u8> {
    use netlink_packet_route::link::{LinkFlags, LinkInfo, Prop, State};
    let mut link = LinkMessage::default();
    link.header.index = 7;
    link.header.flags = LinkFlags::Up | LinkFlags::Running | LinkFlags::LowerUp;
    link.attributes = vec![
        LinkAttribute::IfName("br-lan0".into()),
        LinkAttribute::OperState(State::Up),
        LinkAttribute::Controller(3),
        LinkAttribute::PropList(vec![Prop::AltIfName("uplink-with-long-name".into())]),
        LinkAttribute::LinkInfo(vec![LinkInfo::Kind(
            netlink_packet_route::link::InfoKind::Bridge,
        )]),
        LinkAttribute::Mtu(1500),
    ];
    let payload = NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(link));
    serialized(&message(0, 0, 0, payload))
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]

    /// Arbitrary bytes, as if the kernel sent garbage: never a panic, whatever the state.
    #[test]
    fn arbitrary_datagrams_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
        let mut protocol = Protocol::new(PORT, config(true));
        let mut tables = KernelTables::default();
        let _ = protocol.start();
        let mut requests = Vec::new();
        let _ = handle_datagram(&mut protocol, &bytes, &mut tables, &mut requests);
    }

    /// A valid message cut short or with bytes flipped: never a panic, and a cut message
    /// is never applied half-read.
    #[test]
    fn truncated_or_corrupted_messages_never_panic(
        cut in 0usize..400, flips in proptest::collection::vec((0usize..400, proptest::prelude::any::<u8>()), 0..4)
    ) {
        let full = rich_link_event();
        let mut bytes = full[..cut.min(full.len())].to_vec();
        for (at, value) in flips {
            if let Some(byte) = bytes.get_mut(at) {
                *byte = value;
            }
        }
        let mut protocol = Protocol::new(PORT, config(false));
        let _ = protocol.start();
        protocol.resync = None; // synced: events apply directly
        let mut tables = KernelTables::default();
        let mut requests = Vec::new();
        let _ = handle_datagram(&mut protocol, &bytes, &mut tables, &mut requests);
        if cut < full.len() && bytes.len() >= 4 && u32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize == full.len() {
            proptest::prop_assert!(tables.links.is_empty(), "a truncated message was applied");
        }
    }
}

#[test]
fn rich_link_event_converts_every_attribute() {
    let mut protocol = Protocol::new(PORT, config(false));
    let _ = protocol.start();
    protocol.resync = None;
    let mut tables = KernelTables::default();
    let mut requests = Vec::new();
    handle_datagram(
        &mut protocol,
        &rich_link_event(),
        &mut tables,
        &mut requests,
    )
    .expect("handled");
    let link = &tables.links[&7];
    assert_eq!(link.name, "br-lan0");
    assert_eq!(link.altnames, ["uplink-with-long-name"]);
    assert_eq!(link.master, Some(3));
    assert_eq!(link.kind.as_deref(), Some("bridge"));
    assert!(link.has_carrier());
}

mod scoped {
    use super::*;
    use netlink_packet_core::ErrorMessage;

    fn named_link(ifindex: u32, name: &str) -> RouteNetlinkMessage {
        let mut link = LinkMessage::default();
        link.header.index = ifindex;
        link.attributes.push(LinkAttribute::IfName(name.into()));
        RouteNetlinkMessage::NewLink(link)
    }

    /// The kernel's answer to a request by name: the link, not multipart.
    fn answer(seq: u32, inner: RouteNetlinkMessage) -> NetlinkMessage<RouteNetlinkMessage> {
        message(PORT, seq, 0, NetlinkPayload::InnerMessage(inner))
    }

    fn part(seq: u32, inner: RouteNetlinkMessage) -> NetlinkMessage<RouteNetlinkMessage> {
        message(
            PORT,
            seq,
            NLM_F_MULTIPART,
            NetlinkPayload::InnerMessage(inner),
        )
    }

    fn error(seq: u32, errno: i32) -> NetlinkMessage<RouteNetlinkMessage> {
        let mut error = ErrorMessage::default();
        error.code = std::num::NonZeroI32::new(-errno);
        message(PORT, seq, 0, NetlinkPayload::Error(error))
    }

    fn end(seq: u32) -> NetlinkMessage<RouteNetlinkMessage> {
        message(
            PORT,
            seq,
            NLM_F_MULTIPART,
            NetlinkPayload::Done(DoneMessage::default()),
        )
    }

    fn event(inner: RouteNetlinkMessage) -> NetlinkMessage<RouteNetlinkMessage> {
        message(0, 0, 0, NetlinkPayload::InnerMessage(inner))
    }

    fn ask(query: Query, seq: u32) -> Option<Request> {
        Some(Request { query, seq })
    }

    fn by_name(name: &str, seq: u32) -> Option<Request> {
        ask(Query::LinkNamed(name.into()), seq)
    }

    /// One step of a scoped case.
    enum Scoped {
        /// Feed this message; it must ask for this request (`None`: for none).
        Feed(NetlinkMessage<RouteNetlinkMessage>, Option<Request>),
        /// Feeding this message is an error: the dump failed.
        Fails(NetlinkMessage<RouteNetlinkMessage>),
        /// The receive buffer overflowed; it must ask for this request.
        Overflow(Option<Request>),
        /// This holds of the protocol and the installed table now.
        Holds(&'static str, fn(&Protocol, &KernelTables) -> bool),
    }
    use Scoped::{Fails, Feed, Holds, Overflow};

    /// Starts a protocol scoped to `names`, checks its first request, then runs `steps`.
    fn check_scoped(names: &[&str], first: Option<Request>, steps: Vec<Scoped>) {
        let mut protocol = Protocol::new(
            PORT,
            KernelSourceConfig {
                scope: Some(names.iter().map(|n| n.to_string()).collect()),
                ..KernelSourceConfig::default()
            },
        );
        let mut tables = KernelTables::default();
        assert_eq!(Some(protocol.start()), first, "first request");
        for (index, step) in steps.into_iter().enumerate() {
            match step {
                Feed(message, request) => assert_eq!(
                    protocol
                        .handle_message(decoded(message), &mut tables)
                        .unwrap_or_else(|err| panic!("step {index}: {err}")),
                    request,
                    "request after step {index}"
                ),
                Fails(message) => assert!(
                    protocol
                        .handle_message(decoded(message), &mut tables)
                        .is_err(),
                    "step {index} did not fail"
                ),
                Overflow(request) => {
                    assert_eq!(protocol.overflowed(), request, "request after step {index}");
                }
                Holds(what, holds) => assert!(holds(&protocol, &tables), "step {index}: {what}"),
            }
        }
    }

    /// The whole scoped fetch of `wo0` = ifindex 2 with one address, from request `seq`.
    fn sync_wo0(seq: u32) -> Vec<Scoped> {
        vec![
            Feed(answer(seq, named_link(2, "wo0")), None),
            Feed(error(seq, 0), ask(Query::PortsOf(2), seq + 1)),
            Feed(end(seq + 1), ask(Query::AddressesOf(2), seq + 2)),
            Feed(part(seq + 2, new_addr(2, 7)), None),
            Feed(end(seq + 2), None),
        ]
    }

    #[test]
    fn fetches_only_the_named_links_their_ports_and_addresses() {
        let mut port = LinkMessage::default();
        port.header.index = 4;
        port.attributes.push(LinkAttribute::IfName("port0".into()));
        port.attributes.push(LinkAttribute::Controller(2));
        check_scoped(
            &["wo0", "gone0"],
            by_name("wo0", 1),
            vec![
                Feed(answer(1, named_link(2, "wo0")), None),
                // The ACK ends the request; the next name is asked for.
                Feed(error(1, 0), by_name("gone0", 2)),
                // No such link: absent, not an error.
                Feed(error(2, libc::ENODEV), ask(Query::PortsOf(2), 3)),
                Feed(part(3, RouteNetlinkMessage::NewLink(port)), None),
                Feed(end(3), ask(Query::AddressesOf(2), 4)),
                Holds("still fetching, nothing installed", |p, t| {
                    !p.is_synced() && t.links.is_empty()
                }),
                Feed(part(4, new_addr(2, 7)), None),
                Feed(end(4), None),
                Holds("synced", |p, _| p.is_synced()),
                Holds("wo0 and its port", |_, t| {
                    t.links.keys().copied().eq([2, 4])
                }),
                Holds("wo0's address", |_, t| t.links[&2].addresses.len() == 1),
                Holds("the port's master", |_, t| t.links[&4].master == Some(2)),
                Holds("one dump", |p, _| p.dumps == 1),
            ],
        );
    }

    #[test]
    fn a_link_renamed_to_an_awaited_name_is_fetched_again() {
        let mut delete = LinkMessage::default();
        delete.header.index = 2;
        let mut steps = sync_wo0(1);
        steps.extend([
            // Unrelated links come and go through events without a refetch.
            Feed(event(named_link(9, "other")), None),
            // An update of a fetched link needs no refetch.
            Feed(event(named_link(2, "wo0")), None),
            // wo0 deleted and another link (with addresses we never fetched) renamed to it.
            Feed(event(RouteNetlinkMessage::DelLink(delete)), None),
            Feed(event(named_link(9, "wo0")), by_name("wo0", 4)),
            Holds("no decision until refetched", |p, _| !p.is_synced()),
        ]);
        check_scoped(&["wo0"], by_name("wo0", 1), steps);
    }

    #[test]
    fn an_awaited_link_appearing_while_its_name_is_still_queued_needs_no_restart() {
        check_scoped(
            &["wo0", "wo1"],
            by_name("wo0", 1),
            vec![
                Feed(answer(1, named_link(2, "wo0")), None),
                // wo1 created while wo0's request is answered: it is asked for next anyway.
                Feed(event(named_link(3, "wo1")), None),
                Holds("no restart", |p, _| !p.resync.as_ref().unwrap().restart),
                // A rename to wo0 after wo0 was fetched does need a restart.
                Feed(event(named_link(5, "wo0")), None),
                Holds("a restart", |p, _| p.resync.as_ref().unwrap().restart),
                // Started over at the end of the current request.
                Feed(error(1, 0), by_name("wo0", 2)),
            ],
        );
    }

    #[test]
    fn an_overflow_while_asking_by_name_resyncs_with_full_dumps() {
        check_scoped(
            &["wo0"],
            by_name("wo0", 1),
            vec![
                // The reply to the request by name may have been dropped: full dumps at once.
                Overflow(ask(Query::Dump(DumpKind::Links), 2)),
                Feed(part(2, named_link(2, "wo0")), None),
                Feed(part(2, named_link(3, "other")), None),
                // No ports or per-link queries in a full resync.
                Feed(end(2), ask(Query::Dump(DumpKind::Addresses), 3)),
                Feed(end(3), None),
                Holds("synced", |p, _| p.is_synced()),
                Holds("both links", |_, t| t.links.len() == 2),
                Holds("wo0 fetched", |p, _| p.fetched == BTreeSet::from([2])),
                Holds("still scoped", |p, _| {
                    p.scope == Some(vec!["wo0".to_string()])
                }),
                // Later, a rename onto the awaited name is fetched by name again.
                Feed(event(named_link(3, "wo0")), by_name("wo0", 4)),
            ],
        );
    }

    #[test]
    fn an_overflow_during_a_dump_makes_the_next_resync_full() {
        check_scoped(
            &["wo0"],
            by_name("wo0", 1),
            vec![
                Feed(answer(1, named_link(2, "wo0")), None),
                Feed(error(1, 0), ask(Query::PortsOf(2), 2)),
                // The dump is finished first.
                Overflow(None),
                Feed(end(2), ask(Query::Dump(DumpKind::Links), 3)),
            ],
        );
    }

    #[test]
    fn a_refused_filtered_request_falls_back_to_full_dumps() {
        check_scoped(
            &["wo0"],
            by_name("wo0", 1),
            vec![
                Feed(error(1, libc::EINVAL), ask(Query::Dump(DumpKind::Links), 2)),
                Holds("no longer scoped", |p, _| p.scope.is_none()),
                // …and then a failing dump is an error again.
                Fails(error(2, libc::EPERM)),
            ],
        );
    }
}

#[test]
fn bridge_port_notifications_are_not_link_changes() {
    let mut protocol = Protocol::new(PORT, config(false));
    let mut tables = KernelTables::default();
    protocol.start();
    for step in [reply(1, new_link(2)), done(1), done(2)] {
        let Step::Message(message) = step else {
            unreachable!()
        };
        protocol
            .handle_message(decoded(message), &mut tables)
            .unwrap();
    }
    let mut port = link(2);
    port.header.interface_family = AddressFamily::Bridge;
    let Step::Message(delete) = notify(RouteNetlinkMessage::DelLink(port)) else {
        unreachable!()
    };
    protocol
        .handle_message(decoded(delete), &mut tables)
        .unwrap();
    assert!(
        tables.links.contains_key(&2),
        "a port leaving its bridge is not deleted"
    );
}

#[test]
fn a_link_whose_name_is_not_utf8_is_decoded_leniently() {
    let mut link = link(7);
    link.attributes.clear();
    link.attributes.push(LinkAttribute::Other(DefaultNla::new(
        3,
        b"w\xff0\0".to_vec(),
    )));
    let Step::Message(message) = notify(RouteNetlinkMessage::NewLink(link)) else {
        unreachable!()
    };
    let mut bytes = vec![0; message.buffer_len()];
    message.serialize(&mut bytes);
    assert!(
        NetlinkMessage::<RouteNetlinkMessage>::deserialize(&bytes).is_err(),
        "the strict decoder refuses it"
    );
    let mut protocol = Protocol::new(PORT, config(false));
    let mut tables = KernelTables::default();
    protocol.start();
    for step in [done(1), done(2)] {
        let Step::Message(message) = step else {
            unreachable!()
        };
        protocol
            .handle_message(decoded(message), &mut tables)
            .unwrap();
    }
    let mut requests = Vec::new();
    handle_datagram(&mut protocol, &bytes, &mut tables, &mut requests).unwrap();
    assert_eq!(tables.links[&7].name, "w\u{fffd}0");
}
