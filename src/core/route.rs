//! Routes as the kernel reports them, kept so that later decisions (is a DNS server
//! reachable, is there a default route through this link, which route would the kernel use
//! for an address: [`lookup`]) can be made without asking the kernel again.

use std::net::IpAddr;

use super::state::Family;

/// Routing table numbers (`RT_TABLE_*`).
pub mod table {
    pub const DEFAULT: u32 = 253;
    pub const MAIN: u32 = 254;
    pub const LOCAL: u32 = 255;
}

/// One route, or one next hop of a multipath route.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Route {
    pub family: Family,
    pub table: u32,
    /// `None` for the default route (prefix length 0).
    pub destination: Option<IpAddr>,
    pub prefix_len: u8,
    pub tos: u8,
    pub priority: u32,
    pub gateway: Option<IpAddr>,
    /// Output interface.
    pub oif: Option<u32>,
    /// `RTN_*` type (1 = unicast, 2 = local, …).
    pub kind: u8,
    pub scope: u8,
}

impl Route {
    /// True for a default route (`0.0.0.0/0`, `::/0`).
    pub fn is_default(&self) -> bool {
        self.prefix_len == 0
    }

    /// True when a replacement of `other` (NLM_F_REPLACE) would overwrite this route: the
    /// kernel's key is the table, the destination, the TOS and the priority.
    pub fn same_key(&self, other: &Route) -> bool {
        self.family == other.family
            && self.table == other.table
            && self.destination == other.destination
            && self.prefix_len == other.prefix_len
            && self.tos == other.tos
            && self.priority == other.priority
    }
}

/// `RTN_*` route types the decisions tell apart (unicast: a route that forwards).
pub mod kind {
    pub const UNICAST: u8 = 1;
    pub const LOCAL: u8 = 2;
    pub const BLACKHOLE: u8 = 6;
    pub const UNREACHABLE: u8 = 7;
    pub const PROHIBIT: u8 = 8;
    pub const THROW: u8 = 9;
}

/// A destination: an address and a prefix length (`ADDR` alone is the host, /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Prefix {
    pub address: IpAddr,
    pub len: u8,
}

impl Prefix {
    /// `address/len`; `None` when `len` is longer than the family's addresses.
    pub fn new(address: IpAddr, len: u8) -> Option<Prefix> {
        (len <= max_len(address)).then_some(Prefix { address, len })
    }

    /// The host route lookup of `address` (/32 or /128).
    pub fn host(address: IpAddr) -> Prefix {
        Prefix {
            address,
            len: max_len(address),
        }
    }

    pub fn family(&self) -> Family {
        match self.address {
            IpAddr::V4(_) => Family::Ipv4,
            IpAddr::V6(_) => Family::Ipv6,
        }
    }

    /// The address with the bits after the prefix cleared.
    pub fn network(&self) -> IpAddr {
        let (address, width) = bits(self.address);
        let keep = u32::from(self.len);
        let mask = match keep {
            0 => 0,
            _ => u128::MAX << (128 - keep) >> (128 - width),
        };
        match self.address {
            IpAddr::V4(_) => IpAddr::V4(std::net::Ipv4Addr::from_bits((address & mask) as u32)),
            IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::from_bits(address & mask)),
        }
    }

    /// Whether it is one address (/32, /128).
    pub fn is_host(&self) -> bool {
        self.len == max_len(self.address)
    }
}

fn max_len(address: IpAddr) -> u8 {
    match address {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

/// The address as a number and its width in bits, to compare prefixes of either family.
fn bits(address: IpAddr) -> (u128, u32) {
    match address {
        IpAddr::V4(v4) => (u128::from(v4.to_bits()), 32),
        IpAddr::V6(v6) => (v6.to_bits(), 128),
    }
}

impl Route {
    /// True when this route's destination contains every address of `prefix` (the route is
    /// as long as `prefix` or shorter, and they agree on the route's bits).
    pub fn covers(&self, prefix: &Prefix) -> bool {
        if self.family != prefix.family() || self.prefix_len > prefix.len {
            return false;
        }
        let (address, width) = bits(prefix.address);
        let network = match self.destination {
            Some(destination) => bits(destination).0,
            // A default route: every address.
            None => return true,
        };
        let shift = width - u32::from(self.prefix_len).min(width);
        // Shifting by the full width would overflow for a /0 of IPv6: every address matches.
        shift >= 128 || (network >> shift) == (address >> shift)
    }
}

/// The tables the kernel's default rules consult, in order (`ip rule`: 0 local, 32766 main,
/// 32767 default). Policy routing rules are not read: with rules of its own, a host's
/// lookup may differ.
pub const LOOKUP_ORDER: [u32; 3] = [table::LOCAL, table::MAIN, table::DEFAULT];

/// The route the kernel would choose for `prefix` from `routes`, as its FIB lookup does under
/// the default rules: the tables in [`LOOKUP_ORDER`]; in each, the most specific destination
/// that covers the whole prefix, and of its routes (TOS 0 only: a lookup without TOS) those
/// with the lowest metric — several when they are the next hops of one multipath route. A
/// `throw` route sends the lookup on to the next table; any other type ends it, also
/// `unreachable`, `blackhole` and `prohibit` (the caller tells the types apart). Empty when
/// no table has a route that covers the prefix.
pub fn lookup<'a>(routes: impl IntoIterator<Item = &'a Route>, prefix: &Prefix) -> Vec<&'a Route> {
    let covering: Vec<&Route> = routes
        .into_iter()
        .filter(|r| r.tos == 0 && r.covers(prefix))
        .collect();
    for table in LOOKUP_ORDER {
        let in_table = covering.iter().filter(|r| r.table == table);
        let Some(best) = in_table
            .clone()
            .map(|r| (std::cmp::Reverse(r.prefix_len), r.priority))
            .min()
        else {
            continue;
        };
        let chosen: Vec<&Route> = in_table
            .filter(|r| (std::cmp::Reverse(r.prefix_len), r.priority) == best)
            .copied()
            .collect();
        if chosen.iter().all(|r| r.kind == kind::THROW) {
            continue;
        }
        return chosen;
    }
    Vec::new()
}
