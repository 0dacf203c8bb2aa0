//! Shared integration-test helpers (`crate::common`; the benches include this module too).
//!
//! Everything happens in namespaces created per test (`wot-<pid>-<n>`) and torn down by Drop
//! guards, also on panic. Stale namespaces/dirs of killed runs are removed on first use.
//!
//! Root. A test that needs root (namespaces, real daemons) carries two marks, and neither can
//! let it pass without running:
//!
//! ```ignore
//! #[test]
//! #[cfg_attr(wait_online_no_root, ignore = "needs root")]
//! fn name() {
//!     let _root = common::require_root();
//! ```
//!
//! Without root, [`require_root`] panics (the test fails, saying why). To run the rest
//! without root, build with `RUSTFLAGS='--cfg wait_online_no_root' cargo test`: the root tests
//! are then listed as ignored, never passed. The guard it returns also keeps the tests that
//! saturate both CPUs ([`require_root_alone`]) from running next to the timing-bound ones;
//! CPU-bound tests without root take the same guard from [`share_machine`].
//! A test that cannot run on this machine (a missing kernel driver) is `#[ignore = "why"]`
//! and fails when run anyway with `--ignored`.
//!
//! * [`Netns`]: kernel-only named netns with `ip` helpers and topology builders.
//! * [`NetworkdEnv`]: netns + private mount/PID ns + private system bus + real systemd-networkd.
//! * [`Upstream`]: [`NetworkdEnv::for_upstream`] runs systemd 257 or 262 from a cached root
//!   (`tests/setup-upstreams.sh`), chrooted inside the namespaces (`upstream.rs`).
//! * [`run_wait_online`]: run a command with a hard kill deadline, capture output and elapsed.
//! * `resolved.rs`: [`NetworkdEnv::with_resolved`] + `start_resolved()`, `resolvectl()`,
//!   `resolve_hostname()`, `set_resolv_conf()`; [`DnsServer`] (dnsmasq in a peer netns).
//!   Needs `tests/setup-deps.sh` to have run once (dnsmasq-base, unpacked systemd-resolved).
//!
//! ```ignore
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

use std::process::{Command, Output};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

pub mod forge;
pub mod http;
mod netns;
mod networkd;
pub mod networkmanager;
mod process;
mod resolved;
mod rng;
mod source;
mod upstream;

pub use netns::{Netns, TempDir, assert_gone, kernel_supports};
pub use networkd::{NetworkdEnv, network};
#[allow(unused_imports)] // for benches/compare.rs and benches/route_reach.rs
pub use process::context_switches;
pub use process::{
    RunResult, alive, children_of, kill, kill_group, reader, run_checked, run_wait_online,
    run_wait_online_bg, setpriv_args, wait_until,
};
#[allow(unused_imports)] // for benches/compare.rs
pub use resolved::resolved_root;
pub use resolved::{
    DnsServer, RESOLVED_CONF, SD_RESOLVED_FROM_NETWORK, SD_RESOLVED_NO_CACHE,
    parse_resolve_hostname,
};
pub use rng::{Rng, env_number, seed_from_env};
pub use source::{in_netns, process, spawn_in_netns, synced_source};
pub use upstream::Upstream;

/// The upstream binary used as the reference implementation (the host's systemd 252; the
/// same path in the roots of [`Upstream`]).
pub const UPSTREAM_WAIT_ONLINE: &str = "/lib/systemd/systemd-networkd-wait-online";

/// Path of this crate's `wait-online` binary (built by cargo for integration tests).
pub fn wait_online_bin() -> &'static str {
    env!("CARGO_BIN_EXE_wait-online")
}

/// Runs this crate's binary with `args` on the host, as a user would (no namespace, no
/// SYSTEMD_LOG_LEVEL from the test's environment); returns its output and how long it ran.
pub fn run_bin(args: &[&str]) -> (Output, Duration) {
    let start = Instant::now();
    let output = Command::new(wait_online_bin())
        .args(args)
        .env_remove("SYSTEMD_LOG_LEVEL")
        .output()
        .expect("run wait-online");
    (output, start.elapsed())
}

/// Process-wide: root tests and CPU-bound ones share it; a test that saturates both CPUs
/// holds it alone, so that it neither slows the timing-bound tests nor is slowed by them.
static MACHINE: RwLock<()> = RwLock::new(());

/// A test's claim on the machine ([`require_root`], [`share_machine`]): hold it until the
/// test ends.
#[must_use = "bind it (`let _root = ...`): the claim ends when it is dropped"]
pub struct Claim {
    _shared: Option<RwLockReadGuard<'static, ()>>,
    _alone: Option<RwLockWriteGuard<'static, ()>>,
}

/// Panics with the way out unless the test runs as root (see the module documentation).
fn assert_root() {
    if !rustix::process::geteuid().is_root() {
        panic!(
            "this test must run as root (it creates network, mount and PID namespaces): run \
             `sudo tests/run.sh`, or mark the root tests ignored with \
             RUSTFLAGS='--cfg wait_online_no_root' cargo test"
        );
    }
}

/// First line of every test that needs root; the test runs alongside other root tests.
pub fn require_root() -> Claim {
    assert_root();
    share_machine()
}

/// [`require_root`] for a test that saturates both CPUs: it waits until no other test with a
/// claim runs, and they wait for it.
pub fn require_root_alone() -> Claim {
    assert_root();
    Claim {
        _shared: None,
        _alone: Some(MACHINE.write().unwrap_or_else(|e| e.into_inner())),
    }
}

/// For a test without root that keeps a CPU busy for seconds (many property cases): it does
/// not run next to a [`require_root_alone`] test.
pub fn share_machine() -> Claim {
    Claim {
        _shared: Some(MACHINE.read().unwrap_or_else(|e| e.into_inner())),
        _alone: None,
    }
}
