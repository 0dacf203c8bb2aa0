//! The kernel adapter: the kernel's links and addresses (and routes and neighbours when
//! asked), read from one rtnetlink socket subscribed to their changes *before* the dumps, and
//! resynchronised exactly after the receive buffer overflowed. Three layers:
//!
//! - [`wire`]: rtnetlink encoding and decoding, without I/O (requests out, the core's kernel
//!   facts in);
//! - `protocol`: the dump/event bookkeeping, without I/O, fed messages in socket order;
//! - `socket`: the socket, which sends what the protocol asks for and reads what the kernel
//!   sends. [`KernelSource::next`] reads; [`KernelSource::apply`] applies.

mod protocol;
mod socket;
pub mod wire;

pub use socket::{KernelMessages, KernelSource, route_to};

use crate::core::Snapshot;
use crate::core::goal::Goal;
use crate::engine::EngineError;
use crate::engine::source::{Facts, Source};
use crate::sys::boottime_now;

/// Receive buffer asked for: large, so that boot-time event storms fit.
const DEFAULT_RECEIVE_BUFFER: usize = 8 << 20;

/// How to open the kernel source.
#[derive(Debug, Clone)]
pub struct KernelSourceConfig {
    /// Socket receive buffer in bytes (tests use a tiny one to force ENOBUFS).
    pub receive_buffer: usize,
    /// Also keep the routing tables (costs a dump and memory; only decisions that look at
    /// routes ask for it).
    pub track_routes: bool,
    /// Also keep the IPv4/IPv6 neighbour caches (for `--require-gateway` and `--explain`).
    pub track_neighbours: bool,
    /// Only fetch these links (by name or alternative name), their ports and their
    /// addresses, instead of every link: when the decision looks at named links only, a
    /// host with thousands of links starts as fast as one with ten. Other links still
    /// appear through events, without their addresses. Measured by `benches/scale.rs`
    /// (2-core VM, 4,000 links): synced in 1.6 ms scoped, 63 ms fetching every link.
    pub scope: Option<Vec<String>>,
}

impl Default for KernelSourceConfig {
    fn default() -> Self {
        KernelSourceConfig {
            receive_buffer: DEFAULT_RECEIVE_BUFFER,
            track_routes: false,
            track_neighbours: false,
            scope: None,
        }
    }
}

/// Counters for tests and benchmarks.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct KernelSourceStats {
    /// Receive-buffer overflows seen (each one triggers a resynchronisation).
    pub overruns: u64,
    /// Completed resynchronisations (the initial one included).
    pub dumps: u64,
}

/// The engine's view of the kernel: [`KernelSource::next`] reads, [`KernelSource::apply`]
/// applies, and a decision waits while the tables are being read again.
impl Source for KernelSource {
    type Event = KernelMessages;
    const FACTS: Facts = Facts::Kernel;

    async fn next(&mut self) -> Result<KernelMessages, EngineError> {
        KernelSource::next(self).await.map_err(EngineError::Netlink)
    }

    fn apply(&mut self, messages: KernelMessages, snapshot: &mut Snapshot, _: &Goal) -> bool {
        if !KernelSource::apply(self, messages, &mut snapshot.kernel) {
            return false;
        }
        snapshot.now = boottime_now();
        snapshot.note_carrier();
        true
    }

    fn settled(&self) -> bool {
        self.is_synced()
    }
}
