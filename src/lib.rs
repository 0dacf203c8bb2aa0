//! wait-online: a drop-in replacement for systemd-networkd-wait-online that computes each
//! link's operational state from the kernel over rtnetlink.
//!
//! Architecture: [`core`] decides (pure, no I/O: facts and requirements in, a verdict with
//! typed reasons out). Each source is an adapter of one shape, a future that yields its next
//! event and a method that applies it to the snapshot: [`netlink`] (the kernel's links,
//! addresses, routes, neighbours), [`networkd`] (systemd-networkd's state files), [`dns`]
//! (systemd-resolved over D-Bus or resolv.conf, and the probe; it keeps its own exchanges in
//! flight) and [`gateway`] (`--probe-gateway`). [`engine`] runs the one loop with one deadline;
//! [`announce`] tells the service manager and the debug log about each decision; [`report`],
//! [`explain_view`] and [`logging`] render the outcome; [`cli`] validates the command line;
//! [`app`] wires them together for the binary.

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
pub mod ubuntu;
