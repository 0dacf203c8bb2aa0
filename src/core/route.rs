//! Routes as the kernel reports them, kept so that later decisions (is a DNS server
//! reachable, is there a default route through this link) can be made without asking the
//! kernel again.

use std::net::IpAddr;

use super::state::Family;

/// Routing table numbers (`RT_TABLE_*`).
pub mod table {
    pub const MAIN: u32 = 254;
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
