//! Goals and snapshots for the report's unit tests.

use crate::core::goal::Goal;
use crate::core::{
    IfName, InterfaceRequirement, KernelLink, OperStateRange, Requirements, Snapshot,
};

/// Upstream's goal for `-i` specifications (`eth0`, `eth0:routable`).
pub fn upstream(specs: &[&str]) -> Goal {
    Goal::Upstream(Requirements {
        interfaces: specs
            .iter()
            .map(|spec| {
                let (name, range) = spec.split_once(':').unwrap_or((spec, ""));
                InterfaceRequirement {
                    name: IfName::new(name).unwrap(),
                    range: (!range.is_empty()).then(|| range.parse::<OperStateRange>().unwrap()),
                }
            })
            .collect(),
        ..Requirements::default()
    })
}

/// The kernel's links, without a network manager.
pub fn kernel_only(links: Vec<KernelLink>) -> Snapshot {
    let mut snap = Snapshot::kernel_only();
    snap.kernel.links = links.into_iter().map(|l| (l.ifindex, l)).collect();
    snap
}
