//! The pitfalls of odd machines: two wait-online units enabled while one manager manages no
//! link, the one manager followed managing nothing, and, in a container, links the host
//! configured and IPv6 addresses still tentative. Made of the snapshot alone (its
//! [`MachineFacts`](crate::core::machine::MachineFacts) included), so the engine can look for
//! them at the end of every wait, `--explain` or not, and log them once.
//!
//! Each is said only when it is decided: a manager "manages no link" once it has said so
//! about every link there is (networkd: a state file past `pending`/`initialized` for every
//! link but loopback; NetworkManager: on the bus, read, and done with its startup
//! activations). Early in boot nothing is managed yet, and that is no pitfall.

use super::{Pitfall, is_link_local};
use crate::core::link::{KernelLink, ifa, scope};
use crate::core::snapshot::{LinkManager, ManagerKind, ManagerPolicy, Snapshot};
use crate::core::state::{Family, SetupState};

/// The pitfalls about the machine found in `snapshot`.
pub fn find(snapshot: &Snapshot) -> Vec<Pitfall> {
    let mut found = Vec::new();
    let two_waiters = two_waiters(snapshot);
    if let Some(manages_nothing) = manages_nothing(snapshot)
        && !matches!((&two_waiters, &manages_nothing),
            (Some(Pitfall::TwoWaiters { idle }), Pitfall::ManagerManagesNothing { manager, .. })
                if idle == manager)
    {
        found.push(manages_nothing);
    }
    found.extend(two_waiters);
    if let Some(container) = &snapshot.machine.container {
        found.extend(container_host_links(snapshot, container));
        found.extend(container_tentative(snapshot, container));
    }
    found
}

/// Whether systemd-networkd manages a link other than loopback: `None` while it is not known
/// (networkd's files are not read, the wait follows only some links, or a link has no state
/// file yet or one still `pending`/`initialized`, and none is managed).
pub fn networkd_manages(snapshot: &Snapshot) -> Option<bool> {
    let files = snapshot.networkd.as_ref()?;
    let mut undecided = false;
    let mut links = 0;
    for link in snapshot.kernel.links.values().filter(|l| !l.is_loopback()) {
        links += 1;
        match files
            .get(&link.ifindex)
            .and_then(|file| file.setup.as_ref())
        {
            None | Some(SetupState::Pending | SetupState::Initialized) => undecided = true,
            Some(SetupState::Unmanaged) => {}
            Some(_) => return Some(true),
        }
    }
    (!undecided && links > 0 && snapshot.machine.every_link).then_some(false)
}

/// Whether NetworkManager manages a device other than loopback (itself, not only observing
/// configuration made by someone else): `None` while it is not known (not followed, not on
/// the bus, not read yet, or still activating what it activates at startup, and none is
/// managed).
pub fn networkmanager_manages(snapshot: &Snapshot) -> Option<bool> {
    let facts = snapshot.networkmanager.as_ref()?;
    if !(facts.known && facts.running) {
        return None;
    }
    // By name too: with `-i`, loopback may not be among the links followed.
    let loopback =
        |name: &str| name == "lo" || snapshot.link_by_name(name).is_some_and(|l| l.is_loopback());
    if facts
        .devices
        .iter()
        .any(|(name, device)| device.is_managed() && !loopback(name))
    {
        return Some(true);
    }
    (!facts.startup).then_some(false)
}

/// Both waiters enabled, and one of the managers manages no link (networkd's said first when
/// both manage none).
fn two_waiters(snapshot: &Snapshot) -> Option<Pitfall> {
    if !snapshot.machine.waiters.both() {
        return None;
    }
    let idle = if networkd_manages(snapshot) == Some(false) {
        ManagerKind::Networkd
    } else if networkmanager_manages(snapshot) == Some(false) {
        ManagerKind::NetworkManager
    } else {
        return None;
    };
    Some(Pitfall::TwoWaiters { idle })
}

/// The one manager the wait follows (`--manager=networkd` or `--manager=networkmanager`)
/// manages no link. Per link (`--manager=auto`), links nobody manages are judged on kernel
/// facts: not a pitfall there.
fn manages_nothing(snapshot: &Snapshot) -> Option<Pitfall> {
    if snapshot.policy != ManagerPolicy::OneManager {
        return None;
    }
    let links = snapshot
        .kernel
        .links
        .values()
        .filter(|l| !l.is_loopback())
        .count();
    let manager = match (&snapshot.networkd, &snapshot.networkmanager) {
        (Some(_), _) if networkd_manages(snapshot) == Some(false) => ManagerKind::Networkd,
        (None, Some(_)) if networkmanager_manages(snapshot) == Some(false) => {
            ManagerKind::NetworkManager
        }
        _ => return None,
    };
    Some(Pitfall::ManagerManagesNothing { manager, links })
}

/// In a container: up links with a global address whose manager in the container said it
/// does not manage them (networkd: `unmanaged`; NetworkManager, done with its startup: not a
/// device it manages). Judged on kernel facts (no manager followed), nothing is said.
fn container_host_links(snapshot: &Snapshot, container: &str) -> Vec<Pitfall> {
    snapshot
        .kernel
        .links
        .values()
        .filter(|link| !link.is_loopback() && link.is_up() && has_global_address(link))
        .filter_map(|link| {
            let manager = match snapshot.link_manager(link) {
                LinkManager::Networkd(Some(file))
                    if file.setup.as_ref() == Some(&SetupState::Unmanaged) =>
                {
                    ManagerKind::Networkd
                }
                LinkManager::NetworkManager(facts, device)
                    if facts.known
                        && facts.running
                        && !facts.startup
                        && !device.is_some_and(|d| d.is_managed()) =>
                {
                    ManagerKind::NetworkManager
                }
                _ => return None,
            };
            Some(Pitfall::ContainerHostLink {
                interface: link.name.clone(),
                container: container.to_owned(),
                manager,
            })
        })
        .collect()
}

/// A global address (tentative or not: the host may have added it moments ago).
fn has_global_address(link: &KernelLink) -> bool {
    link.addresses
        .iter()
        .any(|a| a.scope == scope::UNIVERSE && !is_link_local(a) && a.flags & ifa::DADFAILED == 0)
}

/// In a container: global IPv6 addresses still tentative on an up link (duplicate address
/// detection unfinished), whatever for how long: what starts after network-online.target
/// sends from the link-local address meanwhile (systemd/systemd#39784).
fn container_tentative(snapshot: &Snapshot, container: &str) -> Vec<Pitfall> {
    let mut found = Vec::new();
    for link in snapshot.kernel.links.values() {
        if link.is_loopback() || !link.is_up() {
            continue;
        }
        for address in &link.addresses {
            if address.family == Family::Ipv6
                && address.scope == scope::UNIVERSE
                && !is_link_local(address)
                && address.flags & ifa::TENTATIVE != 0
                && address.flags & ifa::DADFAILED == 0
            {
                found.push(Pitfall::ContainerTentativeIpv6 {
                    interface: link.name.clone(),
                    address: address.address,
                    prefix_len: address.prefix_len,
                    container: container.to_owned(),
                });
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::net::{IpAddr, Ipv6Addr};

    use proptest::prelude::*;

    use super::*;
    use crate::core::fixtures;
    use crate::core::link::{Address, iff};
    use crate::core::machine::Waiters;
    use crate::core::networkmanager::{
        ActiveConnection, Device, DeviceState, NetworkManagerFacts, activation_flags,
    };
    use crate::core::snapshot::NetworkdLink;

    fn lo() -> KernelLink {
        let mut lo = fixtures::link(1, "lo", true, Some(scope::HOST));
        lo.flags |= iff::LOOPBACK;
        lo
    }

    /// lo plus eth0 (ifindex 2) and eth1 (3), up, each with a global IPv4 address.
    fn links() -> Vec<KernelLink> {
        vec![
            lo(),
            fixtures::link(2, "eth0", true, Some(scope::UNIVERSE)),
            fixtures::link(3, "eth1", true, Some(scope::UNIVERSE)),
        ]
    }

    fn file(setup: Option<SetupState>) -> NetworkdLink {
        NetworkdLink {
            setup,
            ..NetworkdLink::default()
        }
    }

    fn with_links(mut snap: Snapshot, links: Vec<KernelLink>) -> Snapshot {
        snap.kernel.links = links.into_iter().map(|l| (l.ifindex, l)).collect();
        snap.machine.every_link = true;
        snap
    }

    /// `--manager=networkd` with these files (lo's is always `unmanaged`).
    fn networkd(files: &[(u32, Option<SetupState>)]) -> Snapshot {
        let mut all: BTreeMap<u32, NetworkdLink> =
            BTreeMap::from([(1, file(Some(SetupState::Unmanaged)))]);
        all.extend(files.iter().map(|(i, s)| (*i, file(s.clone()))));
        with_links(Snapshot::networkd(all), links())
    }

    fn device(state: u32, managed: bool, flags: Option<u32>) -> Device {
        Device {
            state: DeviceState::from_u32(state),
            managed,
            connection: flags.map(|flags| ActiveConnection { state: 2, flags }),
        }
    }

    fn nm(
        known: bool,
        running: bool,
        startup: bool,
        devices: &[(&str, Device)],
    ) -> NetworkManagerFacts {
        NetworkManagerFacts {
            known,
            running,
            seen: running,
            startup,
            devices: devices
                .iter()
                .map(|(name, d)| ((*name).to_owned(), d.clone()))
                .collect(),
            ..NetworkManagerFacts::default()
        }
    }

    const UNMANAGED: Option<SetupState> = Some(SetupState::Unmanaged);

    /// A case: its name, the files (ifindex, setup state), every link followed, the answer.
    type Case = (
        &'static str,
        Vec<(u32, Option<SetupState>)>,
        bool,
        Option<bool>,
    );

    /// Compared with what networkd's files say (networkctl's SETUP column) and what
    /// networkd-wait-online then does: all `unmanaged` → it waits for nothing; one link
    /// configured → it manages one; a link without a file or `pending` → not decided yet.
    #[test]
    fn networkd_manages_a_link_or_not_or_not_yet_known() {
        let cases: [Case; 8] = [
            (
                "all unmanaged",
                vec![(2, UNMANAGED), (3, UNMANAGED)],
                true,
                Some(false),
            ),
            (
                "one configured",
                vec![(2, UNMANAGED), (3, Some(SetupState::Configured))],
                true,
                Some(true),
            ),
            (
                "one configuring",
                vec![(2, Some(SetupState::Configuring))],
                true,
                Some(true),
            ),
            (
                "one failed",
                vec![(2, Some(SetupState::Failed)), (3, UNMANAGED)],
                true,
                Some(true),
            ),
            ("a file missing", vec![(2, UNMANAGED)], true, None),
            (
                "one pending",
                vec![(2, UNMANAGED), (3, Some(SetupState::Pending))],
                true,
                None,
            ),
            (
                "no setup state",
                vec![(2, UNMANAGED), (3, None)],
                true,
                None,
            ),
            (
                "only some links followed",
                vec![(2, UNMANAGED), (3, UNMANAGED)],
                false,
                None,
            ),
        ];
        for (name, files, every_link, expected) in cases {
            let mut snap = networkd(&files);
            snap.machine.every_link = every_link;
            assert_eq!(networkd_manages(&snap), expected, "{name}");
        }
        let only_lo = with_links(
            Snapshot::networkd(BTreeMap::from([(1, file(UNMANAGED))])),
            vec![lo()],
        );
        assert_eq!(networkd_manages(&only_lo), None, "no link but loopback");
        assert_eq!(
            networkd_manages(&with_links(Snapshot::kernel_only(), links())),
            None
        );
    }

    /// Compared with NetworkManager's own words (nmcli device: "unmanaged", "connected
    /// (externally)", "connected"): only devices it configures itself count, lo never, and
    /// not before its startup is complete.
    #[test]
    fn networkmanager_manages_a_device_or_not_or_not_yet_known() {
        let activated = device(100, true, Some(activation_flags::IP4_READY));
        let external = device(100, true, Some(activation_flags::EXTERNAL));
        let unmanaged = device(10, false, None);
        let lo_managed = device(100, true, Some(0));
        let cases: [(&str, NetworkManagerFacts, Option<bool>); 7] = [
            (
                "activated eth0",
                nm(true, true, false, &[("eth0", activated.clone())]),
                Some(true),
            ),
            (
                "unmanaged and external",
                nm(
                    true,
                    true,
                    false,
                    &[("eth0", unmanaged.clone()), ("eth1", external.clone())],
                ),
                Some(false),
            ),
            (
                "only lo",
                nm(true, true, false, &[("lo", lo_managed)]),
                Some(false),
            ),
            (
                "still starting",
                nm(true, true, true, &[("eth0", unmanaged.clone())]),
                None,
            ),
            (
                "managed while starting",
                nm(true, true, true, &[("eth0", activated)]),
                Some(true),
            ),
            ("not running", nm(true, false, false, &[]), None),
            ("not read yet", nm(false, false, false, &[]), None),
        ];
        for (name, facts, expected) in cases {
            let snap = with_links(Snapshot::networkmanager(facts), links());
            assert_eq!(networkmanager_manages(&snap), expected, "{name}");
        }
    }

    fn kinds(snap: &Snapshot) -> Vec<String> {
        find(snap)
            .iter()
            .map(|p| format!("{}:{}", p.kind(), p.interface()))
            .collect()
    }

    /// Compared with the cases: both waiters enabled and networkd idle (Ubuntu
    /// Desktop with networkd running, canonical/autoinstall-desktop#18), or NetworkManager
    /// idle; one waiter only; the one manager followed idle (said as "manages nothing" unless
    /// the two-waiters pitfall already names it); per link, nothing.
    #[test]
    fn two_waiters_and_a_manager_managing_nothing() {
        let both = Waiters {
            networkd: true,
            networkmanager: true,
        };
        let idle_networkd = || networkd(&[(2, UNMANAGED), (3, UNMANAGED)]);
        let mut snap = idle_networkd();
        assert_eq!(kinds(&snap), ["manager-manages-nothing:"]);
        assert_eq!(
            find(&snap),
            [Pitfall::ManagerManagesNothing {
                manager: ManagerKind::Networkd,
                links: 2
            }]
        );
        snap.machine.waiters = both;
        assert_eq!(
            find(&snap),
            [Pitfall::TwoWaiters {
                idle: ManagerKind::Networkd
            }]
        );
        snap.machine.waiters.networkmanager = false;
        assert_eq!(kinds(&snap), ["manager-manages-nothing:"], "one waiter");

        // --manager=auto: networkd idle, NetworkManager manages eth0.
        let activated = device(100, true, Some(activation_flags::IP4_READY));
        let files = BTreeMap::from([
            (1, file(UNMANAGED)),
            (2, file(UNMANAGED)),
            (3, file(UNMANAGED)),
        ]);
        let mut auto = with_links(
            Snapshot::per_link(
                Some(files),
                nm(true, true, false, &[("eth0", activated.clone())]),
            ),
            links(),
        );
        assert_eq!(kinds(&auto), Vec::<String>::new(), "per link, one waiter");
        auto.machine.waiters = both;
        assert_eq!(kinds(&auto), ["two-waiters:"]);
        // NetworkManager idle, networkd manages eth1.
        let files = BTreeMap::from([
            (2, file(UNMANAGED)),
            (3, file(Some(SetupState::Configured))),
        ]);
        let mut auto = with_links(
            Snapshot::per_link(
                Some(files),
                nm(true, true, false, &[("eth0", device(10, false, None))]),
            ),
            links(),
        );
        auto.machine.waiters = both;
        assert_eq!(
            find(&auto),
            [Pitfall::TwoWaiters {
                idle: ManagerKind::NetworkManager
            }]
        );
        // Both manage something: nothing to say.
        let files = BTreeMap::from([
            (2, file(UNMANAGED)),
            (3, file(Some(SetupState::Configured))),
        ]);
        let mut busy = with_links(
            Snapshot::per_link(Some(files), nm(true, true, false, &[("eth0", activated)])),
            links(),
        );
        busy.machine.waiters = both;
        assert_eq!(kinds(&busy), Vec::<String>::new());

        // --manager=networkmanager, every device unmanaged.
        let mut nm_only = with_links(
            Snapshot::networkmanager(nm(true, true, false, &[("eth0", device(10, false, None))])),
            links(),
        );
        assert_eq!(
            find(&nm_only),
            [Pitfall::ManagerManagesNothing {
                manager: ManagerKind::NetworkManager,
                links: 2
            }]
        );
        nm_only.machine.waiters = both;
        assert_eq!(kinds(&nm_only), ["two-waiters:"]);
    }

    fn v6(address: &str, scope: u8, flags: u32) -> Address {
        Address {
            family: Family::Ipv6,
            address: IpAddr::V6(address.parse::<Ipv6Addr>().unwrap()),
            prefix_len: 64,
            scope,
            flags,
            valid_until: None,
        }
    }

    fn in_container(mut snap: Snapshot) -> Snapshot {
        snap.machine.container = Some("systemd-nspawn".into());
        snap
    }

    /// Compared with how the link got its address: networkd in the container says
    /// `unmanaged` (the host configured it) → named; networkd configures it, or no manager
    /// is followed, or not a container, or only link-local, or the link is down → nothing.
    #[test]
    fn container_links_configured_from_outside() {
        let files = |setup: SetupState| [(2, Some(setup)), (3, Some(SetupState::Configured))];
        let snap = in_container(networkd(&files(SetupState::Unmanaged)));
        assert_eq!(
            find(&snap),
            [Pitfall::ContainerHostLink {
                interface: "eth0".into(),
                container: "systemd-nspawn".into(),
                manager: ManagerKind::Networkd,
            }]
        );
        let configured = in_container(networkd(&files(SetupState::Configured)));
        assert_eq!(kinds(&configured), Vec::<String>::new(), "managed inside");
        assert_eq!(
            kinds(&networkd(&files(SetupState::Unmanaged))),
            Vec::<String>::new(),
            "a host"
        );
        let kernel = in_container(with_links(Snapshot::kernel_only(), links()));
        assert_eq!(
            kinds(&kernel),
            Vec::<String>::new(),
            "kernel facts judge it"
        );

        let mut link_local = in_container(networkd(&files(SetupState::Unmanaged)));
        let eth0 = link_local.kernel.links.get_mut(&2).unwrap();
        eth0.addresses = vec![v6("fe80::1", scope::LINK, 0)];
        assert_eq!(kinds(&link_local), Vec::<String>::new(), "only link-local");
        let mut down = in_container(networkd(&files(SetupState::Unmanaged)));
        down.kernel.links.get_mut(&2).unwrap().flags = 0;
        assert_eq!(kinds(&down), Vec::<String>::new(), "down");

        // NetworkManager done starting, not managing eth1 (it manages eth0).
        let activated = device(100, true, Some(activation_flags::IP4_READY));
        let facts = nm(
            true,
            true,
            false,
            &[("eth0", activated), ("eth1", device(10, false, None))],
        );
        let snap = in_container(with_links(Snapshot::networkmanager(facts.clone()), links()));
        assert_eq!(kinds(&snap), ["container-host-link:eth1"]);
        let mut starting = facts;
        starting.startup = true;
        let snap = in_container(with_links(Snapshot::networkmanager(starting), links()));
        assert_eq!(
            kinds(&snap),
            Vec::<String>::new(),
            "NetworkManager still starting"
        );
    }

    /// Compared with the address flags `ip -6 address` shows (tentative, dadfailed):
    /// a global tentative address on host0 in a container is named, with the container's
    /// words instead of still-tentative's; link-local, failed, settled addresses, and hosts,
    /// are not.
    #[test]
    fn container_tentative_ipv6() {
        let host0 = |addresses: Vec<Address>| {
            let mut link = fixtures::link(2, "host0", true, None);
            link.addresses = addresses;
            in_container(with_links(Snapshot::kernel_only(), vec![lo(), link]))
        };
        let tentative = v6("2001:db8::2", scope::UNIVERSE, ifa::TENTATIVE);
        assert_eq!(
            find(&host0(vec![tentative.clone()])),
            [Pitfall::ContainerTentativeIpv6 {
                interface: "host0".into(),
                address: tentative.address,
                prefix_len: 64,
                container: "systemd-nspawn".into(),
            }]
        );
        for (name, address) in [
            ("settled", v6("2001:db8::2", scope::UNIVERSE, 0)),
            ("link-local", v6("fe80::2", scope::LINK, ifa::TENTATIVE)),
            (
                "failed",
                v6(
                    "2001:db8::2",
                    scope::UNIVERSE,
                    ifa::TENTATIVE | ifa::DADFAILED,
                ),
            ),
        ] {
            assert_eq!(kinds(&host0(vec![address])), Vec::<String>::new(), "{name}");
        }
        let mut on_host = host0(vec![tentative.clone()]);
        on_host.machine.container = None;
        assert_eq!(kinds(&on_host), Vec::<String>::new(), "a host");
    }

    fn arb_setup() -> impl Strategy<Value = Option<SetupState>> {
        prop_oneof![
            Just(None),
            Just(Some(SetupState::Pending)),
            Just(Some(SetupState::Initialized)),
            Just(Some(SetupState::Configuring)),
            Just(Some(SetupState::Configured)),
            Just(Some(SetupState::Unmanaged)),
            Just(Some(SetupState::Unmanaged)),
            Just(Some(SetupState::Unmanaged)),
            Just(Some(SetupState::Failed)),
            Just(Some(SetupState::Linger)),
        ]
    }

    /// Against the files themselves: networkd is said to manage nothing exactly when every
    /// link but loopback has a file saying `unmanaged`, and to manage something as soon as
    /// one says anything past `initialized` other than `unmanaged`. Both branches are
    /// counted: each must be reached.
    #[test]
    fn networkd_idle_exactly_when_every_file_says_unmanaged() {
        let (idle, busy) = (std::cell::Cell::new(0), std::cell::Cell::new(0));
        let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
            cases: 2000,
            source_file: Some(file!()),
            ..ProptestConfig::default()
        });
        let strategy = proptest::collection::vec((arb_setup(), any::<bool>()), 1..5);
        runner
            .run(&strategy, |files| {
                let mut links = vec![lo()];
                let mut map = BTreeMap::from([(1, file(UNMANAGED))]);
                for (i, (setup, written)) in files.iter().enumerate() {
                    let ifindex = i as u32 + 2;
                    links.push(fixtures::link(ifindex, &format!("eth{i}"), true, None));
                    if *written {
                        map.insert(ifindex, file(setup.clone()));
                    }
                }
                let snap = with_links(Snapshot::networkd(map), links);
                let says = |setup: &Option<SetupState>, written: bool| {
                    written.then_some(setup.clone()).flatten()
                };
                let all_unmanaged = files
                    .iter()
                    .all(|(s, w)| says(s, *w) == Some(SetupState::Unmanaged));
                let one_managed = files.iter().any(|(s, w)| {
                    matches!(says(s, *w), Some(state) if !matches!(state,
                        SetupState::Unmanaged | SetupState::Pending | SetupState::Initialized))
                });
                let found = find(&snap);
                if all_unmanaged {
                    idle.set(idle.get() + 1);
                    prop_assert_eq!(networkd_manages(&snap), Some(false));
                    let said = matches!(found.as_slice(), [Pitfall::ManagerManagesNothing { .. }]);
                    prop_assert!(said, "found {:?}", found);
                } else if one_managed {
                    busy.set(busy.get() + 1);
                    prop_assert_eq!(networkd_manages(&snap), Some(true));
                    prop_assert!(found.is_empty());
                } else {
                    prop_assert_eq!(networkd_manages(&snap), None);
                }
                Ok(())
            })
            .unwrap();
        eprintln!("idle: {} cases, busy: {} cases", idle.get(), busy.get());
        assert!(
            idle.get() > 50 && busy.get() > 500,
            "{} {}",
            idle.get(),
            busy.get()
        );
    }
}
