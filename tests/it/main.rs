//! The integration tests, one crate: one binary to build and link instead of one per file,
//! and one copy of the helpers in `common/`. Each module was a test file of its own before;
//! its tests keep their names under the module's path (`kernel::vlan_on_veth`).
//!
//! Run one module with `cargo test --test it kernel::`. The tests that need root (network
//! namespaces, real daemons) say so first: see `common` for how to run without root.

/// One `#[test]` per scenario and upstream: `networkd::v262::<scenario>` says which failed.
/// Defined before the modules, so that every module comparing with upstream can use it.
macro_rules! against {
    ($module:ident, $upstream:expr, $($scenario:ident),* $(,)?) => {
        mod $module {
            $(
                #[test]
                #[cfg_attr(wait_online_no_root, ignore = "needs root")]
                fn $scenario() {
                    let _root = crate::common::require_root();
                    super::$scenario($upstream);
                }
            )*
        }
    };
}

macro_rules! against_each_upstream {
    ($($scenario:ident),* $(,)?) => {
        against!(v252, crate::common::Upstream::V252, $($scenario),*);
        against!(v257, crate::common::Upstream::V257, $($scenario),*);
        against!(v262, crate::common::Upstream::V262, $($scenario),*);
    };
}

mod common;

mod boot_parameters;
mod bus_trust;
mod cli;
mod connectivity;
mod differential;
mod dns;
mod dns_env_selftest;
mod dns_grace;
mod dns_upstream;
mod explain;
mod faults;
mod flood;
mod glob_fnmatch;
mod harness_selftest;
mod ifupdown;
mod ifupdown_dhcp;
mod journald;
mod kernel;
mod machine;
mod man_page;
mod netlink_source;
mod netplan_plan;
mod networkd;
mod networkmanager;
mod nm_harness;
mod parsers_proptest;
mod pitfalls;
mod route_reach;
mod time_sync;
mod ubuntu;
mod units;
mod untrusted_files;
mod user_unit;
