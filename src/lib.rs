//! wait-online: a drop-in replacement for systemd-networkd-wait-online that computes each
//! link's operational state from the kernel over rtnetlink.
//!
//! Architecture: [`core`] decides (pure, no I/O); [`netlink`] and [`networkd`] turn the outside
//! world into core facts; [`engine`] runs the one event loop; [`cli`] validates the command
//! line; [`app`] wires them together for the binary.

pub mod app;
pub mod cli;
pub mod completions;
pub mod core;
pub mod dns;
pub mod engine;
pub mod explain_view;
pub mod gateway;
pub mod logging;
pub mod netlink;
pub mod netplan;
pub mod networkd;
pub mod notify;
pub mod report;
pub mod sys;
pub mod ubuntu;
