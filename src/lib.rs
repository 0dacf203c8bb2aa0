//! wait-online: a drop-in replacement for systemd-networkd-wait-online that computes each
//! link's operational state from the kernel over rtnetlink.
//!
//! Architecture: [`core`] decides (pure, no I/O: facts and requirements in, a verdict with
//! typed reasons out). Each source of facts is an adapter of one shape,
//! [`engine::source::Source`]: a cancel-safe wait for its next event that touches no facts,
//! and an `apply` that applies it to the snapshot and says whether the facts changed:
//! [`netlink`] (the kernel's links, addresses, routes, neighbours), [`networkd`]
//! (systemd-networkd's state files), [`ifupdown`] (ifupdown's state in `/run/network`),
//! [`networkmanager`] and [`dns`] (systemd-resolved or
//! resolv.conf, and the probe; both on the one system bus connection of [`dbus`]) and
//! [`gateway`] (`--probe-gateway`), [`timesync`] (`--require-time-sync`; the server
//! systemd-timesyncd tries comes over the same bus), [`reach`] (`--reach`'s TCP
//! connections) and [`connectivity`] (`--http-probe`). [`engine`] runs the one loop with one
//! deadline;
//! [`announce`] tells the service manager and the debug log about each decision; [`report`],
//! [`explain_view`] and [`logging`] render the outcome ([`outcome`]: how a wait ended and
//! its exit status); [`cli`] validates the command line; [`app`] wires them together for the
//! binary, and [`error`] says why a run failed.
//!
//! Adding a source: implement `Source` in its own module (its facts live in
//! [`core::Snapshot`]), and push it in `engine/sources.rs` when the goal needs it. A decision
//! that changes with time alone needs no source of its own: a `Deadline` in
//! `engine/clock.rs` says when the one clock source rings.
//!
//! The library serves the binary: only what the integration tests, the benchmarks and the
//! fuzz targets reach is public, the rest is `pub(crate)`. Read the whole tree with
//! `cargo doc --document-private-items`, where the links to crate-private modules resolve.

#![allow(rustdoc::private_intra_doc_links)]

pub(crate) mod announce;
pub mod app;
pub(crate) mod backoff;
pub(crate) mod bounded_read;
pub mod cli;
pub(crate) mod connectivity;
pub mod core;
pub(crate) mod dbus;
pub mod dns;
pub(crate) mod engine;
pub(crate) mod error;
pub(crate) mod explain_view;
pub(crate) mod gateway;
pub mod ifupdown;
pub(crate) mod logging;
pub mod netlink;
pub mod netplan;
pub mod networkd;
pub mod networkmanager;
pub(crate) mod notify;
pub(crate) mod outcome;
pub mod reach;
pub mod report;
pub mod sys;
mod text;
pub mod timesync;
