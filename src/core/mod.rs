//! The pure decision core: requirements and a snapshot of kernel (and networkd) facts in, a
//! verdict with a reason per link out. No I/O, no clock, no logging, no unsafe code.

#![forbid(unsafe_code)]

pub mod boolean;
pub mod default_route;
pub mod dns;
pub mod evaluate;
pub mod explain;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod glob;
pub mod goal;
pub mod holdup;
pub mod ifname;
pub mod link;
pub mod neighbour;
pub mod networkmanager;
pub mod pitfalls;
pub mod quote;
pub mod range;
pub mod reason;
pub mod route;
pub mod snapshot;
pub mod state;
pub mod timespan;
pub mod timesync;
pub mod update;
pub mod view;

pub use evaluate::{
    IgnoreReason, InterfaceRequirement, LinkOutcome, LinkReport, Requirements, Verdict, evaluate,
};
pub use ifname::IfName;
pub use link::{Address, KernelLink, KernelOperState, LinkStatus};
pub use range::OperStateRange;
pub use route::Route;
pub use snapshot::{LinkManager, ManagerKind, ManagerPolicy, NetworkdLink, Snapshot};
pub use state::{AddressState, CarrierState, Family, OperState, RequiredFamilies, SetupState};
