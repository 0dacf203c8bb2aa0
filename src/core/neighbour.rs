//! Neighbour (ARP/NDP) cache entries, kept so that `--require-gateway` and `--explain` can
//! tell whether the default gateway answers, from the kernel's own bookkeeping: reading the
//! cache sends no packet.

use std::fmt;

/// The kernel's neighbour states (`NUD_*`). An entry carries exactly one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NeighbourState {
    /// Resolution in progress: a request was sent, no answer yet.
    Incomplete,
    /// Confirmed recently.
    Reachable,
    /// Known but not confirmed lately; used as is, checked on next use.
    Stale,
    /// Used while stale; confirmation awaited from upper layers.
    Delay,
    /// Being re-confirmed with unicast requests.
    Probe,
    /// Resolution failed: nothing answered.
    Failed,
    /// No resolution needed (point-to-point, multicast).
    NoArp,
    /// Configured statically.
    Permanent,
    /// No state (an entry being created or removed).
    None,
    /// A state value this program does not know.
    Other(u16),
}

impl NeighbourState {
    /// From the `ndm_state` bits.
    pub fn from_bits(bits: u16) -> NeighbourState {
        match bits {
            0x01 => NeighbourState::Incomplete,
            0x02 => NeighbourState::Reachable,
            0x04 => NeighbourState::Stale,
            0x08 => NeighbourState::Delay,
            0x10 => NeighbourState::Probe,
            0x20 => NeighbourState::Failed,
            0x40 => NeighbourState::NoArp,
            0x80 => NeighbourState::Permanent,
            0x00 => NeighbourState::None,
            other => NeighbourState::Other(other),
        }
    }

    /// The gateway answered (or needs no answer): REACHABLE, STALE, DELAY, PROBE (a known
    /// entry being re-confirmed), PERMANENT or NOARP.
    pub fn is_usable(self) -> bool {
        matches!(
            self,
            NeighbourState::Reachable
                | NeighbourState::Stale
                | NeighbourState::Delay
                | NeighbourState::Probe
                | NeighbourState::Permanent
                | NeighbourState::NoArp
        )
    }

    /// Resolution was tried and nothing has answered: FAILED or INCOMPLETE.
    pub fn is_unanswered(self) -> bool {
        matches!(self, NeighbourState::Failed | NeighbourState::Incomplete)
    }
}

impl fmt::Display for NeighbourState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            NeighbourState::Incomplete => "INCOMPLETE",
            NeighbourState::Reachable => "REACHABLE",
            NeighbourState::Stale => "STALE",
            NeighbourState::Delay => "DELAY",
            NeighbourState::Probe => "PROBE",
            NeighbourState::Failed => "FAILED",
            NeighbourState::NoArp => "NOARP",
            NeighbourState::Permanent => "PERMANENT",
            NeighbourState::None => "NONE",
            NeighbourState::Other(bits) => return write!(f, "state 0x{bits:02x}"),
        };
        f.write_str(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_from_bits_and_classify() {
        let usable = [0x02, 0x04, 0x08, 0x10, 0x40, 0x80];
        let unanswered = [0x01, 0x20];
        for bits in 0..=0xffu16 {
            let state = NeighbourState::from_bits(bits);
            assert_eq!(state.is_usable(), usable.contains(&bits), "{bits:#x}");
            assert_eq!(
                state.is_unanswered(),
                unanswered.contains(&bits),
                "{bits:#x}"
            );
            assert!(!(state.is_usable() && state.is_unanswered()));
        }
        assert_eq!(NeighbourState::from_bits(0x20).to_string(), "FAILED");
        assert_eq!(NeighbourState::from_bits(0x03).to_string(), "state 0x03");
    }
}
