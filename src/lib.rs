//! wait-online: a drop-in replacement for systemd-networkd-wait-online that computes each
//! link's operational state from the kernel over rtnetlink.
//!
//! Architecture: [`core`] decides (pure, no I/O: facts and requirements in, a verdict with
//! typed reasons out). Each source of facts is an adapter of one shape,
//! [`engine::source::Source`]: a cancel-safe wait for its next event that touches no facts,
//! and an `apply` that applies it to the snapshot and says whether the facts changed:
//! [`netlink`] (the kernel's links, addresses, routes, neighbours), [`networkd`]
//! (systemd-networkd's state files), [`networkmanager`] and [`dns`] (systemd-resolved or
//! resolv.conf, and the probe; both on the one system bus connection of [`dbus`]) and
//! [`gateway`] (`--probe-gateway`) and [`timesync`] (`--require-time-sync`; the server
//! systemd-timesyncd tries comes over the same bus). [`engine`] runs the one loop with one deadline;
//! [`announce`] tells the service manager and the debug log about each decision; [`report`],
//! [`explain_view`] and [`logging`] render the outcome; [`cli`] validates the command line;
//! [`app`] wires them together for the binary.
//!
//! Adding a source: implement `Source` in its own module (its facts live in
//! [`core::Snapshot`]), and push it in `engine/sources.rs` when the goal needs it.

pub mod announce;
pub mod app;
pub mod bounded_read;
pub mod cli;
pub mod completions;
pub mod core;
pub mod dbus;
pub mod dns;
pub mod engine;
pub mod explain_view;
pub mod gateway;
pub mod logging;
pub mod netlink;
pub mod netplan;
pub mod networkd;
pub mod networkmanager;
pub mod notify;
pub mod report;
pub mod sys;
pub mod timesync;
pub mod ubuntu;
