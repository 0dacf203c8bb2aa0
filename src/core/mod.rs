//! The pure decision core: requirements and a snapshot of kernel (and networkd) facts in, a
//! verdict with a reason per link out. No I/O, no clock, no logging, no unsafe code. The
//! reasons, problems and pitfalls are typed values; [`crate::report`] says them in words.

#![forbid(unsafe_code)]

pub mod connectivity;
pub mod default_route;
pub mod dns;
pub mod evaluate;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod goal;
pub mod ifname;
pub mod ifupdown;
pub mod link;
pub mod machine;
pub mod name_pattern;
pub mod neighbour;
pub mod networkmanager;
pub mod pitfalls;
pub mod range;
pub mod reach;
pub mod reason;
pub mod route;
pub mod route_to;
pub mod snapshot;
pub mod state;
pub mod timesync;
pub mod update;

pub use evaluate::{
    IgnoreReason, InterfaceRequirement, LinkOutcome, LinkReport, Requirements, Verdict, evaluate,
};
pub use ifname::IfName;
pub use link::{Address, KernelLink, KernelOperState, LinkStatus};
pub use name_pattern::NamePattern;
pub use range::OperStateRange;
pub use route::Route;
pub use snapshot::{LinkManager, ManagerKind, ManagerPolicy, NetworkdLink, Snapshot};
pub use state::{AddressState, CarrierState, Family, OperState, RequiredFamilies, SetupState};
