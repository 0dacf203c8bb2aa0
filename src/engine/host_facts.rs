//! The adapter behind [`HostFacts`]: `/proc/sys/net` of this network namespace, the kernel's
//! own route lookup (RTM_GETROUTE, which sends nothing), and when each address was first
//! seen tentative (remembered here, between decisions, so the core stays a pure function).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use crate::bounded_read::{self, KERNEL_VALUE_CAP};
use crate::core::Snapshot;
use crate::core::link::ifa;
use crate::core::pitfalls::{HostFacts, RouteChoice};

/// Reads what the pitfalls need from the running system.
#[derive(Debug, Default)]
pub struct HostReader {
    /// (ifindex, address) → CLOCK_BOOTTIME of the first decision that saw it tentative.
    tentative: BTreeMap<(u32, IpAddr), Duration>,
}

impl HostReader {
    /// Notes the addresses of `snapshot` that are tentative (and forgets the others). A
    /// decision follows every address change, so "first seen" is when it was added.
    pub fn observe(&mut self, snapshot: &Snapshot) {
        let mut still = BTreeMap::new();
        for link in snapshot.kernel.links.values() {
            for address in &link.addresses {
                if address.flags & ifa::TENTATIVE != 0 && address.flags & ifa::DADFAILED == 0 {
                    let key = (link.ifindex, address.address);
                    let since = self.tentative.get(&key).copied().unwrap_or(snapshot.now);
                    still.insert(key, since);
                }
            }
        }
        self.tentative = still;
    }
}

impl HostFacts for HostReader {
    fn sysctl(&self, key: &str) -> Option<i64> {
        // A key is a relative path of plain names (an interface name never holds a '/').
        if key
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..")
        {
            return None;
        }
        let path = format!("/proc/sys/net/{key}");
        bounded_read::read_lossy(std::path::Path::new(&path), KERNEL_VALUE_CAP)
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    fn route_to(&self, destination: IpAddr) -> Option<RouteChoice> {
        match crate::netlink::route_to(destination) {
            Ok(route) => route.map(|route| RouteChoice {
                table: route.table,
                oif: route.oif,
                gateway: route.gateway,
            }),
            Err(err) => {
                tracing::debug!("route lookup for {destination} failed: {err}");
                None
            }
        }
    }

    fn tentative_since(&self, ifindex: u32, address: IpAddr) -> Option<Duration> {
        self.tentative.get(&(ifindex, address)).copied()
    }
}
