//! The outcome in words. The core decides with typed values (a [`LinkReport`] per link, the
//! [`Reason`]s a goal does not hold, the [`Pitfall`]s found); everything a person or a program
//! reads is said here, from those values: the timeout lines and the debug log
//! ([`reason`]), `STATUS=` ([`status`]), the line on what held a slow wait up ([`holdup`]),
//! the `--explain` view ([`view`]) and the `--json` document ([`json`]). Words shared by
//! several of them — a link's outcome, the route and DNS problems, the pitfalls — are the
//! `Display` of the core's types, written in [`outcome`], [`problem`] and [`pitfall`].
//!
//! [`LinkReport`]: crate::core::LinkReport
//! [`Reason`]: crate::core::reason::Reason
//! [`Pitfall`]: crate::core::pitfalls::Pitfall

use std::time::Duration;

pub(crate) mod connectivity;
pub(crate) mod holdup;
pub(crate) mod json;
pub(crate) mod outcome;
pub(crate) mod pitfall;
pub(crate) mod problem;
pub mod reason;
pub(crate) mod route_reach;
pub(crate) mod settings;
pub(crate) mod status;
pub(crate) mod timesync;
pub(crate) mod view;

pub(crate) use json::Report;

/// A short duration for people: `12ms` below a second, `3.2s` above.
pub(crate) fn seconds(duration: Duration) -> String {
    if duration < Duration::from_secs(1) {
        format!("{}ms", duration.as_millis())
    } else {
        format!("{:.1}s", duration.as_secs_f64())
    }
}
