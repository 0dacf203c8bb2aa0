//! Applying kernel changes to the table of links. Pure, so that the order-sensitive parts
//! (an address for a link not yet seen, a link message that carries no addresses) are tested
//! without a socket.

use std::collections::BTreeMap;

use super::link::{Address, KernelLink};

/// One change reported by the kernel, already converted from netlink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KernelEvent {
    /// RTM_NEWLINK: the link's attributes; its `addresses` are ignored.
    NewLink(KernelLink),
    /// RTM_DELLINK for this ifindex.
    DelLink(u32),
    /// RTM_NEWADDR on this ifindex.
    NewAddress(u32, Address),
    /// RTM_DELADDR on this ifindex.
    DelAddress(u32, Address),
}

/// Applies `event` to `links`. An address for an unknown ifindex is dropped: the link's own
/// RTM_NEWLINK always precedes it, and a resynchronising dump supersedes both.
pub fn apply(links: &mut BTreeMap<u32, KernelLink>, event: KernelEvent) {
    match event {
        KernelEvent::NewLink(mut link) => {
            if let Some(old) = links.get_mut(&link.ifindex) {
                link.addresses = std::mem::take(&mut old.addresses);
            } else {
                link.addresses.clear();
            }
            links.insert(link.ifindex, link);
        }
        KernelEvent::DelLink(ifindex) => {
            links.remove(&ifindex);
        }
        KernelEvent::NewAddress(ifindex, address) => {
            if let Some(link) = links.get_mut(&ifindex) {
                match link
                    .addresses
                    .iter_mut()
                    .find(|a| same_address(a, &address))
                {
                    Some(existing) => *existing = address,
                    None => link.addresses.push(address),
                }
            }
        }
        KernelEvent::DelAddress(ifindex, address) => {
            if let Some(link) = links.get_mut(&ifindex) {
                link.addresses.retain(|a| !same_address(a, &address));
            }
        }
    }
}

/// The kernel identifies an address on a link by its local address and prefix length.
fn same_address(a: &Address, b: &Address) -> bool {
    a.address == b.address && a.prefix_len == b.prefix_len
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::link::scope;
    use crate::core::state::Family;
    use std::net::{IpAddr, Ipv4Addr};

    fn link(ifindex: u32, name: &str) -> KernelLink {
        KernelLink {
            ifindex,
            name: name.into(),
            ..KernelLink::default()
        }
    }

    fn addr(last: u8, flags: u32) -> Address {
        Address {
            family: Family::Ipv4,
            address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, last)),
            prefix_len: 24,
            scope: scope::UNIVERSE,
            flags,
            valid_until: None,
        }
    }

    #[test]
    fn new_link_keeps_addresses_and_renames() {
        let mut links = BTreeMap::new();
        apply(&mut links, KernelEvent::NewLink(link(2, "eth0")));
        apply(&mut links, KernelEvent::NewAddress(2, addr(1, 0)));
        apply(&mut links, KernelEvent::NewLink(link(2, "lan0")));
        assert_eq!(links[&2].name, "lan0");
        assert_eq!(links[&2].addresses.len(), 1);
    }

    #[test]
    fn address_update_replaces_flags_and_delete_removes() {
        let mut links = BTreeMap::new();
        apply(&mut links, KernelEvent::NewLink(link(2, "eth0")));
        apply(&mut links, KernelEvent::NewAddress(2, addr(1, 0x40)));
        apply(&mut links, KernelEvent::NewAddress(2, addr(1, 0)));
        assert_eq!(links[&2].addresses, vec![addr(1, 0)]);
        apply(&mut links, KernelEvent::DelAddress(2, addr(1, 0)));
        assert!(links[&2].addresses.is_empty());
    }

    #[test]
    fn recreated_link_starts_without_addresses() {
        let mut links = BTreeMap::new();
        apply(&mut links, KernelEvent::NewLink(link(2, "eth0")));
        apply(&mut links, KernelEvent::NewAddress(2, addr(1, 0)));
        apply(&mut links, KernelEvent::DelLink(2));
        apply(&mut links, KernelEvent::NewLink(link(3, "eth0")));
        assert!(!links.contains_key(&2));
        assert!(links[&3].addresses.is_empty());
    }

    #[test]
    fn address_of_unknown_link_is_dropped() {
        let mut links = BTreeMap::new();
        apply(&mut links, KernelEvent::NewAddress(9, addr(1, 0)));
        assert!(links.is_empty());
    }
}
