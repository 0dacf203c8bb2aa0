//! Shared integration-test helpers (`mod common;` in `tests/*.rs`).
//!
//! Everything happens in namespaces created per test (`wot-<pid>-<n>`) and torn down by Drop
//! guards, also on panic. Stale namespaces/dirs of killed runs are removed on first use.
//!
//! * [`require_root`]: `if !common::require_root() { return; }`
//! * [`Netns`]: kernel-only named netns with `ip` helpers and topology builders.
//! * [`NetworkdEnv`]: netns + private mount/PID ns + private system bus + real systemd-networkd.
//! * [`run_wait_online`]: run a command with a hard kill deadline, capture output and elapsed.
//! * `resolved.rs`: [`NetworkdEnv::with_resolved`] + `start_resolved()`, `resolvectl()`,
//!   `resolve_hostname()`, `set_resolv_conf()`; [`DnsServer`] (dnsmasq in a peer netns).
//!   Needs `tests/setup-deps.sh` to have run once (dnsmasq-base, unpacked systemd-resolved).
//!
//! ```ignore
//! if !common::require_root() { return; }
//! let mut env = NetworkdEnv::new();                    // netns + holder + private bus
//! let peer = Netns::new();
//! env.netns().add_veth("wo0", Some(&peer), "wo0p");
//! peer.add_addr("wo0p", "10.77.0.1/24");
//! peer.link_up("wo0p");
//! env.write_network("10-wo0.network", "[Match]\nName=wo0\n[Network]\nLinkLocalAddressing=no\n\
//!                   IPv6AcceptRA=no\nAddress=10.77.0.2/24\n");
//! env.start_networkd();
//! let r = run_wait_online(env.run(common::wait_online_bin(), &["-i", "wo0:routable", "--timeout=10"]),
//!                         Duration::from_secs(20));
//! assert_eq!(r.code, Some(0), "{}\n{}", r.describe(), env.logs_tail(40));
//! // background: let h = run_wait_online_bg(env.run(..), t); /* change things */ h.join().unwrap()
//! ```
//!
//! Kernel note: the test kernel has no modules; veth, bridge, macvlan, vxlan, tuntap work,
//! dummy/bond/vlan may not (`kernel_supports("bond")`). Set `WAIT_ONLINE_TEST_KEEP=1` to keep
//! the per-test directories (`$TMPDIR/wot-<pid>-<n>/{network,logs}`).
#![allow(dead_code, unused_imports)]

mod netns;
mod networkd;
mod process;
mod resolved;

pub use netns::{Netns, kernel_supports, unique_name};
pub use networkd::{NETWORKD, NetworkdEnv};
pub use process::{RunResult, run_checked, run_wait_online, run_wait_online_bg, wait_until};
pub use resolved::{
    DEFAULT_RESOLVED_ROOT, DnsServer, RESOLVED_CONF, RESOLVED_DROPIN, RESOLVED_ROOT_ENV, Resolved,
    SD_RESOLVED_FROM_NETWORK, SD_RESOLVED_NO_CACHE, parse_resolve_hostname, require_dnsmasq,
    require_resolved_root, resolved_root,
};

/// The upstream binary (systemd 252) used as the reference implementation.
pub const UPSTREAM_WAIT_ONLINE: &str = "/lib/systemd/systemd-networkd-wait-online";

/// Path of this crate's `wait-online` binary (built by cargo for integration tests).
pub fn wait_online_bin() -> &'static str {
    env!("CARGO_BIN_EXE_wait-online")
}

/// True = proceed. Panics with an explanation when not root, unless
/// `WAIT_ONLINE_SKIP_ROOT_TESTS=1` is set, in which case it returns false and the caller
/// should `return` early.
pub fn require_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    if std::env::var("WAIT_ONLINE_SKIP_ROOT_TESTS").as_deref() == Ok("1") {
        eprintln!("skipped: needs root (WAIT_ONLINE_SKIP_ROOT_TESTS=1)");
        return false;
    }
    panic!(
        "this test must run as root (it creates network, mount and PID namespaces); \
         run `sudo -E cargo test` or set WAIT_ONLINE_SKIP_ROOT_TESTS=1 to skip such tests"
    );
}
