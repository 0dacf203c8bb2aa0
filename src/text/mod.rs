//! Text as the programs we stand in for read and write it, and as our messages quote it.
//!
//! - [`escape`]: control characters made visible, two ways on purpose: [`one_line`] and
//!   [`excerpt`] for our own error and log lines (readable Rust escapes, cut to a length),
//!   [`g_strescape`] for interface names written into a systemd unit exactly as Netplan writes
//!   them (GLib's octal escapes), so that our lines are byte-identical to Netplan's;
//! - [`c_number`]: decimal numbers read like C's `strtol()` family, where a file format or a
//!   command line is defined by what the C program accepts (systemd's time spans, Netplan's
//!   `version:` and prefix lengths).
//!
//! Pure: no I/O, so the decision core may use it.

mod c_number;
mod escape;

pub use c_number::{StrToLl, g_ascii_strtoull, strtol, strtoll};
pub use escape::{EXCERPT_BYTES, Excerpt, OneLine, excerpt, g_strescape, one_line};
