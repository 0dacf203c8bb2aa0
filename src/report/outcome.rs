//! A link's outcome in plain words: `eth0: operational state is carrier, needs routable (no
//! global IPv4/IPv6 address)`. The reasons of a whole verdict are in [`super::reason`].

use std::fmt;

use super::seconds;
use crate::core::ifupdown::Progress;
use crate::core::link::LinkStatus;
use crate::core::networkmanager::NmPending;
use crate::core::snapshot::ManagerKind;
use crate::core::{
    AddressState, CarrierState, IgnoreReason, LinkOutcome, LinkReport, OperState, OperStateRange,
};

/// `eth0: operational state is carrier, needs routable (no global IPv4/IPv6 address)`.
impl fmt::Display for LinkReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name, OutcomeWords(self))
    }
}

/// A link's outcome in words, without its name.
pub struct OutcomeWords<'a>(pub &'a LinkReport);

impl fmt::Display for OutcomeWords<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let report = self.0;
        match &report.outcome {
            LinkOutcome::Online => f.write_str("online"),
            LinkOutcome::Absent => f.write_str("not present"),
            LinkOutcome::AbsentAllowed => f.write_str("not present, which the range allows"),
            LinkOutcome::Ignored(reason) => write!(f, "ignored ({reason})"),
            LinkOutcome::NotProcessed { setup: None } => {
                f.write_str("not yet processed by systemd-networkd (no usable state file)")
            }
            LinkOutcome::NotProcessed { setup: Some(state) } => write!(
                f,
                "not yet processed by systemd-networkd (setup state is {state})"
            ),
            LinkOutcome::Configuring(state) => write!(
                f,
                "still being configured by systemd-networkd (setup state is {state})"
            ),
            LinkOutcome::Unmanaged => match report.manager {
                Some(ManagerKind::NetworkManager) => f.write_str(
                    "not managed by NetworkManager (unmanaged, or configured outside it)",
                ),
                Some(ManagerKind::Ifupdown) => f.write_str(
                    "not brought up by ifupdown (no auto or allow-hotplug line names it)",
                ),
                _ => f.write_str("not managed by systemd-networkd"),
            },
            LinkOutcome::Ifup(Progress::NotStarted) => {
                f.write_str("not brought up by ifupdown yet (no ifup has run on it)")
            }
            LinkOutcome::Ifup(Progress::Running | Progress::Up) => {
                f.write_str("ifup is still bringing it up")
            }
            LinkOutcome::Ifup(Progress::Failed) => {
                f.write_str("ifup failed to bring it up (it exited with an error)")
            }
            LinkOutcome::Ifup(Progress::Interrupted) => {
                f.write_str("ifup died while bringing it up")
            }
            LinkOutcome::NetworkManagerPending(NmPending::NotRead) => f.write_str(
                "NetworkManager's view of it is not read yet (the system bus has not answered)",
            ),
            LinkOutcome::NetworkManagerPending(NmPending::NotRunning) => {
                f.write_str("NetworkManager is not running (waiting for it on the system bus)")
            }
            LinkOutcome::NetworkManagerPending(NmPending::NotListed) => {
                f.write_str("NetworkManager is starting and does not list it yet")
            }
            LinkOutcome::NetworkManagerPending(NmPending::Starting(state)) => {
                write!(
                    f,
                    "{state}{} while NetworkManager is starting",
                    carrier_hint(report)
                )
            }
            LinkOutcome::NoCarrier(lacking) => write!(
                f,
                "no carrier for {}, not waited for (--carrier-timeout)",
                seconds(*lacking)
            ),
            LinkOutcome::Activating(state) => {
                write!(f, "NetworkManager is still activating it ({state})")
            }
            LinkOutcome::Disconnected(state) => write!(f, "{state}{}", carrier_hint(report)),
            LinkOutcome::FamilyNotReady(family) => write!(
                f,
                "NetworkManager activated it without completing its {family} configuration"
            ),
            LinkOutcome::OutOfRange { state, range } => {
                write!(
                    f,
                    "operational state is {state}, needs {}",
                    RangeWords(*range)
                )?;
                if let Some(hint) = report.status.and_then(|s| out_of_range_hint(&s, *range)) {
                    write!(f, " ({hint})")?;
                }
                Ok(())
            }
            LinkOutcome::Dns(problem) => write!(f, "{problem}"),
            LinkOutcome::MissingAddress { family, need, have } => {
                let wanted = match need {
                    AddressState::Routable => "routable",
                    _ => "routable or link-local",
                };
                write!(
                    f,
                    "no {wanted} {family} address (its {family} address state is {have})"
                )
            }
        }
    }
}

impl fmt::Display for IgnoreReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IgnoreReason::Loopback => f.write_str("loopback"),
            IgnoreReason::Pattern(glob) => write!(f, "matches --ignore={glob}"),
            IgnoreReason::NotRequiredForOnline => f.write_str("RequiredForOnline=no"),
            IgnoreReason::AdministrativelyDown => f.write_str("administratively down"),
        }
    }
}

struct RangeWords(OperStateRange);

impl fmt::Display for RangeWords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let OperStateRange { min, max } = self.0;
        if max == OperState::Routable {
            write!(f, "{min}")
        } else if min == max {
            write!(f, "exactly {min}")
        } else {
            write!(f, "between {min} and {max}")
        }
    }
}

/// ` (no carrier)` when the kernel says so: NetworkManager's reason for an unavailable device
/// is generic.
fn carrier_hint(report: &LinkReport) -> &'static str {
    match report.status {
        Some(status) if status.carrier <= CarrierState::NoCarrier => " (no carrier)",
        _ => "",
    }
}

/// What is missing for a link that is below its range.
fn out_of_range_hint(status: &LinkStatus, range: OperStateRange) -> Option<&'static str> {
    if status.oper > range.max {
        return None;
    }
    Some(match status.carrier {
        CarrierState::Off => "interface is down",
        CarrierState::NoCarrier => "no carrier",
        CarrierState::Dormant => "interface is dormant",
        CarrierState::DegradedCarrier if range.min > OperState::DegradedCarrier => {
            match range.min {
                OperState::Routable => {
                    "a port lacks carrier and there is no global IPv4/IPv6 address"
                }
                _ => "a port lacks carrier and there is no address",
            }
        }
        _ => match range.min {
            OperState::Routable => "no global IPv4/IPv6 address",
            OperState::Degraded => "no IPv4/IPv6 address",
            OperState::Enslaved => "not a port of a bond or bridge",
            _ => return None,
        },
    })
}
