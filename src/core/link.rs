//! What the kernel says about a link, and networkd's rules for turning that into carrier,
//! address and operational states (`link_update_operstate()` in networkd-link.c).

use std::net::IpAddr;
use std::time::Duration;

use super::state::{AddressState, CarrierState, Family, OperState};

/// Interface flags (`IFF_*` from `<linux/if.h>`) that the state computation reads.
pub mod iff {
    pub const UP: u32 = libc::IFF_UP as u32;
    pub const LOOPBACK: u32 = libc::IFF_LOOPBACK as u32;
    pub const RUNNING: u32 = libc::IFF_RUNNING as u32;
    pub const SLAVE: u32 = libc::IFF_SLAVE as u32;
    pub const LOWER_UP: u32 = libc::IFF_LOWER_UP as u32;
    pub const DORMANT: u32 = libc::IFF_DORMANT as u32;
}

/// Address flags (`IFA_F_*`, 32-bit `IFA_FLAGS`).
pub mod ifa {
    /// Deprecated addresses count like others: only tests name the flag.
    #[cfg(test)]
    pub use libc::IFA_F_DEPRECATED as DEPRECATED;
    pub use libc::{IFA_F_DADFAILED as DADFAILED, IFA_F_TENTATIVE as TENTATIVE};
}

/// Address scopes (`RT_SCOPE_*`).
pub mod scope {
    pub use libc::{
        RT_SCOPE_HOST as HOST, RT_SCOPE_LINK as LINK, RT_SCOPE_SITE as SITE,
        RT_SCOPE_UNIVERSE as UNIVERSE,
    };
}

/// RFC 2863 operational state as the kernel reports it in `IFLA_OPERSTATE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum KernelOperState {
    #[default]
    Unknown,
    NotPresent,
    Down,
    LowerLayerDown,
    Testing,
    Dormant,
    Up,
}

/// One address of a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub family: Family,
    pub address: IpAddr,
    pub prefix_len: u8,
    pub scope: u8,
    /// `IFA_F_*` flags (the 32-bit attribute when present).
    pub flags: u32,
    /// End of the valid lifetime on CLOCK_BOOTTIME; `None` when it is infinite.
    pub valid_until: Option<Duration>,
}

impl Address {
    /// networkd's `address_is_ready()` for addresses it sees from the kernel: not tentative
    /// (which also covers DAD failure); deprecated addresses count. One deliberate
    /// difference: an address whose valid lifetime has ended no longer counts, where networkd
    /// counts it until the kernel removes it (within about a second): it can no longer be
    /// used, and the verdict must never be "online" on its strength.
    pub fn is_ready(&self, now: Duration) -> bool {
        self.flags & (ifa::TENTATIVE | ifa::DADFAILED) == 0
            && self.valid_until.is_none_or(|end| end > now)
    }
}

/// networkd's mapping from the best (lowest) scope to an address state.
pub fn address_state_from_scope(scope: u8) -> AddressState {
    if scope < scope::SITE {
        AddressState::Routable
    } else if scope < scope::HOST {
        AddressState::Degraded
    } else {
        AddressState::Off
    }
}

/// Everything the kernel reports about one link that the decision needs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KernelLink {
    pub ifindex: u32,
    pub name: String,
    pub altnames: Vec<String>,
    /// `IFF_*` flags.
    pub flags: u32,
    pub kernel_oper: KernelOperState,
    /// ifindex of the bond/bridge/VRF this link is a port of.
    pub master: Option<u32>,
    /// `IFLA_INFO_KIND` (`bond`, `bridge`, `veth`, `vlan`, …).
    pub kind: Option<String>,
    pub addresses: Vec<Address>,
}

impl KernelLink {
    /// True when the name or one of the alternative names equals `name`.
    pub fn has_name(&self, name: &str) -> bool {
        self.name == name || self.altnames.iter().any(|alt| alt == name)
    }

    /// True for the loopback device.
    pub fn is_loopback(&self) -> bool {
        self.flags & iff::LOOPBACK != 0
    }

    /// True when the link is administratively up.
    pub fn is_up(&self) -> bool {
        self.flags & iff::UP != 0
    }

    /// systemd's `netif_has_carrier()`: operstate UP, or UNKNOWN (driver without operstate
    /// support) with LOWER_UP and RUNNING and not DORMANT.
    pub fn has_carrier(&self) -> bool {
        match self.kernel_oper {
            KernelOperState::Up => true,
            KernelOperState::Unknown => {
                self.flags & (iff::LOWER_UP | iff::RUNNING) == iff::LOWER_UP | iff::RUNNING
                    && self.flags & iff::DORMANT == 0
            }
            _ => false,
        }
    }

    /// Carrier state from this link's own flags, before its ports are looked at.
    pub fn own_carrier_state(&self) -> CarrierState {
        if self.kernel_oper == KernelOperState::Dormant {
            CarrierState::Dormant
        } else if self.has_carrier() {
            if self.flags & iff::SLAVE != 0 || self.master.is_some() {
                CarrierState::Enslaved
            } else {
                CarrierState::Carrier
            }
        } else if self.is_up() {
            CarrierState::NoCarrier
        } else {
            CarrierState::Off
        }
    }

    /// Address state of one family over the usable addresses.
    pub fn address_state(&self, family: Family, now: Duration) -> AddressState {
        self.best_scope(Some(family), now)
            .map_or(AddressState::Off, address_state_from_scope)
    }

    fn best_scope(&self, family: Option<Family>, now: Duration) -> Option<u8> {
        self.addresses
            .iter()
            .filter(|a| family.is_none_or(|f| a.family == f) && a.is_ready(now))
            .map(|a| a.scope)
            .min()
    }

    /// All states of this link. `has_port_without_carrier` says whether some port enslaved
    /// to it lacks carrier (which makes a bond or bridge `degraded-carrier`).
    pub fn status(&self, has_port_without_carrier: bool, now: Duration) -> LinkStatus {
        let mut carrier = self.own_carrier_state();
        if carrier >= CarrierState::Carrier && has_port_without_carrier {
            carrier = CarrierState::DegradedCarrier;
        }
        let ipv4 = self.address_state(Family::Ipv4, now);
        let ipv6 = self.address_state(Family::Ipv6, now);
        let address = self
            .best_scope(None, now)
            .map_or(AddressState::Off, address_state_from_scope);
        LinkStatus {
            carrier,
            ipv4,
            ipv6,
            oper: oper_state(carrier, address),
        }
    }
}

/// The computed states of one link, as networkd would write them to its state file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinkStatus {
    pub carrier: CarrierState,
    pub ipv4: AddressState,
    pub ipv6: AddressState,
    pub oper: OperState,
}

impl LinkStatus {
    /// Address state of `family`.
    pub fn address(&self, family: Family) -> AddressState {
        match family {
            Family::Ipv4 => self.ipv4,
            Family::Ipv6 => self.ipv6,
        }
    }
}

/// networkd's table from carrier state and address state to operational state:
///
/// ```text
///                  off  no-carrier  dormant  degraded-carrier  carrier   enslaved
/// address off      off  no-carrier  dormant  degraded-carrier  carrier   enslaved
/// address degraded off  no-carrier  dormant  degraded          degraded  enslaved
/// address routable off  no-carrier  dormant  routable          routable  routable
/// ```
pub fn oper_state(carrier: CarrierState, address: AddressState) -> OperState {
    match (carrier, address) {
        (CarrierState::DegradedCarrier, AddressState::Routable) => OperState::Routable,
        (CarrierState::DegradedCarrier, AddressState::Degraded) => OperState::Degraded,
        (c, _) if c < CarrierState::Carrier => c.as_oper_state(),
        (c, AddressState::Off) => c.as_oper_state(),
        (_, AddressState::Routable) => OperState::Routable,
        (CarrierState::Carrier, AddressState::Degraded) => OperState::Degraded,
        (_, AddressState::Degraded) => OperState::Enslaved,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn addr(scope: u8, flags: u32) -> Address {
        Address {
            family: Family::Ipv4,
            address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            prefix_len: 24,
            scope,
            flags,
            valid_until: None,
        }
    }

    fn link(flags: u32, kernel_oper: KernelOperState) -> KernelLink {
        KernelLink {
            ifindex: 2,
            name: "eth0".into(),
            flags,
            kernel_oper,
            ..KernelLink::default()
        }
    }

    const NOW: Duration = Duration::from_secs(100);

    #[test]
    fn oper_state_table_matches_networkd() {
        use AddressState as A;
        use CarrierState as C;
        use OperState as O;
        let rows = [
            (
                A::Off,
                [
                    O::Off,
                    O::NoCarrier,
                    O::Dormant,
                    O::DegradedCarrier,
                    O::Carrier,
                    O::Enslaved,
                ],
            ),
            (
                A::Degraded,
                [
                    O::Off,
                    O::NoCarrier,
                    O::Dormant,
                    O::Degraded,
                    O::Degraded,
                    O::Enslaved,
                ],
            ),
            (
                A::Routable,
                [
                    O::Off,
                    O::NoCarrier,
                    O::Dormant,
                    O::Routable,
                    O::Routable,
                    O::Routable,
                ],
            ),
        ];
        let columns = [
            C::Off,
            C::NoCarrier,
            C::Dormant,
            C::DegradedCarrier,
            C::Carrier,
            C::Enslaved,
        ];
        for (address, expected) in rows {
            for (carrier, want) in columns.iter().zip(expected) {
                assert_eq!(
                    oper_state(*carrier, address),
                    want,
                    "{carrier:?} {address:?}"
                );
            }
        }
    }

    #[test]
    fn carrier_from_kernel_operstate_and_flags() {
        use KernelOperState as K;
        let up_running = iff::UP | iff::RUNNING | iff::LOWER_UP;
        assert_eq!(
            link(up_running, K::Up).own_carrier_state(),
            CarrierState::Carrier
        );
        // loopback: operstate UNKNOWN with LOWER_UP|RUNNING counts as carrier
        assert_eq!(
            link(up_running | iff::LOOPBACK, K::Unknown).own_carrier_state(),
            CarrierState::Carrier
        );
        assert_eq!(
            link(up_running | iff::DORMANT, K::Unknown).own_carrier_state(),
            CarrierState::NoCarrier
        );
        assert_eq!(
            link(iff::UP, K::LowerLayerDown).own_carrier_state(),
            CarrierState::NoCarrier
        );
        assert_eq!(link(0, K::Down).own_carrier_state(), CarrierState::Off);
        assert_eq!(
            link(up_running, K::Dormant).own_carrier_state(),
            CarrierState::Dormant
        );
        let mut port = link(up_running, K::Up);
        port.master = Some(7);
        assert_eq!(port.own_carrier_state(), CarrierState::Enslaved);
        assert_eq!(
            link(up_running | iff::SLAVE, K::Up).own_carrier_state(),
            CarrierState::Enslaved
        );
    }

    #[test]
    fn master_with_port_lacking_carrier_is_degraded_carrier() {
        let bridge = link(iff::UP | iff::RUNNING | iff::LOWER_UP, KernelOperState::Up);
        assert_eq!(bridge.status(true, NOW).oper, OperState::DegradedCarrier);
        assert_eq!(bridge.status(false, NOW).oper, OperState::Carrier);
        let down = link(0, KernelOperState::Down);
        assert_eq!(down.status(true, NOW).oper, OperState::Off);
    }

    #[test]
    fn address_readiness() {
        assert!(addr(scope::UNIVERSE, 0).is_ready(NOW));
        assert!(addr(scope::UNIVERSE, ifa::DEPRECATED).is_ready(NOW));
        assert!(!addr(scope::UNIVERSE, ifa::TENTATIVE).is_ready(NOW));
        assert!(!addr(scope::UNIVERSE, ifa::DADFAILED | ifa::TENTATIVE).is_ready(NOW));
        let mut expiring = addr(scope::UNIVERSE, 0);
        expiring.valid_until = Some(NOW);
        assert!(!expiring.is_ready(NOW));
        expiring.valid_until = Some(NOW + Duration::from_secs(1));
        assert!(expiring.is_ready(NOW));
    }

    #[test]
    fn scope_decides_address_state_not_prefix() {
        assert_eq!(
            address_state_from_scope(scope::UNIVERSE),
            AddressState::Routable
        );
        assert_eq!(
            address_state_from_scope(scope::SITE),
            AddressState::Degraded
        );
        assert_eq!(
            address_state_from_scope(scope::LINK),
            AddressState::Degraded
        );
        assert_eq!(address_state_from_scope(scope::HOST), AddressState::Off);
        let mut l = link(iff::UP | iff::RUNNING | iff::LOWER_UP, KernelOperState::Up);
        l.addresses = vec![addr(scope::LINK, 0), addr(scope::UNIVERSE, ifa::TENTATIVE)];
        let status = l.status(false, NOW);
        assert_eq!(
            (status.ipv4, status.oper),
            (AddressState::Degraded, OperState::Degraded)
        );
        l.addresses.push(addr(scope::UNIVERSE, 0));
        assert_eq!(l.status(false, NOW).oper, OperState::Routable);
    }

    #[test]
    fn address_without_carrier_does_not_make_routable() {
        let mut l = link(iff::UP, KernelOperState::LowerLayerDown);
        l.addresses = vec![addr(scope::UNIVERSE, 0)];
        let status = l.status(false, NOW);
        assert_eq!(
            (status.oper, status.ipv4),
            (OperState::NoCarrier, AddressState::Routable)
        );
    }
}
