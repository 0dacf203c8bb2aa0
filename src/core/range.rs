//! Operational state ranges (`MIN[:MAX]`), as `-i IF:RANGE`, `-o RANGE` and networkd's
//! `REQUIRED_OPER_STATE_FOR_ONLINE=` write them.

use std::fmt;
use std::str::FromStr;

use super::state::OperState;

/// An inclusive range of operational states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OperStateRange {
    pub min: OperState,
    pub max: OperState,
}

impl OperStateRange {
    /// networkd's default when nothing else is configured (`degraded:routable`).
    pub const DEFAULT: OperStateRange = OperStateRange {
        min: OperState::Degraded,
        max: OperState::Routable,
    };

    /// True when `state` lies within the range.
    pub fn contains(self, state: OperState) -> bool {
        self.min <= state && state <= self.max
    }
}

impl fmt::Display for OperStateRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.max == OperState::Routable {
            write!(f, "{}", self.min)
        } else {
            write!(f, "{}:{}", self.min, self.max)
        }
    }
}

/// Why a range string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    #[error(
        "empty operational state range (expected MIN, MIN:, MIN:MAX or :MAX with states {})",
        OperState::names()
    )]
    Empty,
    /// The text is quoted as an excerpt: `-o routable:<100 kB>` must not give a 100 kB line.
    #[error(
        "unknown operational state '{}' (expected one of: {})",
        crate::text::Excerpt(.state),
        OperState::names()
    )]
    UnknownState { state: String },
    #[error("minimum operational state '{min}' is above maximum '{max}'")]
    MinAboveMax { min: OperState, max: OperState },
}

impl FromStr for OperStateRange {
    type Err = RangeError;

    /// Accepts `min`, `min:`, `min:max` and `:max`; an empty max means `routable`, an empty min
    /// means `missing` (networkd's `parse_operational_state_range`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (min_text, max_text) = s.split_once(':').unwrap_or((s, ""));
        if min_text.is_empty() && max_text.is_empty() {
            return Err(RangeError::Empty);
        }
        let parse = |text: &str, default: OperState| {
            if text.is_empty() {
                Ok(default)
            } else {
                text.parse::<OperState>()
                    .map_err(|_| RangeError::UnknownState {
                        state: text.to_string(),
                    })
            }
        };
        let min = parse(min_text, OperState::Missing)?;
        let max = parse(max_text, OperState::Routable)?;
        if min > max {
            return Err(RangeError::MinAboveMax { min, max });
        }
        Ok(OperStateRange { min, max })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use OperState::*;
    use proptest::prelude::*;

    fn range(min: OperState, max: OperState) -> OperStateRange {
        OperStateRange { min, max }
    }

    #[test]
    fn accepted_forms() {
        let cases = [
            ("routable", range(Routable, Routable)),
            ("degraded", range(Degraded, Routable)),
            ("degraded:", range(Degraded, Routable)),
            ("carrier:routable", range(Carrier, Routable)),
            (":off", range(Missing, Off)),
            ("no-carrier:carrier", range(NoCarrier, Carrier)),
            ("missing", range(Missing, Routable)),
        ];
        for (text, want) in cases {
            assert_eq!(text.parse::<OperStateRange>(), Ok(want), "{text}");
        }
    }

    #[test]
    fn refused_forms_name_the_problem() {
        assert_eq!("".parse::<OperStateRange>(), Err(RangeError::Empty));
        assert_eq!(":".parse::<OperStateRange>(), Err(RangeError::Empty));
        assert_eq!(
            "bogus".parse::<OperStateRange>(),
            Err(RangeError::UnknownState {
                state: "bogus".into()
            })
        );
        assert_eq!(
            "routable:carrier".parse::<OperStateRange>(),
            Err(RangeError::MinAboveMax {
                min: Routable,
                max: Carrier
            })
        );
        assert_eq!(
            "carrier:routable:x".parse::<OperStateRange>(),
            Err(RangeError::UnknownState {
                state: "routable:x".into()
            })
        );
        let message = "bogus".parse::<OperStateRange>().unwrap_err().to_string();
        assert!(
            message.contains("'bogus'") && message.contains("no-carrier"),
            "{message}"
        );
    }

    #[test]
    fn contains_is_inclusive() {
        let r = range(Carrier, Degraded);
        assert!(r.contains(Carrier) && r.contains(Degraded));
        assert!(!r.contains(DegradedCarrier) && !r.contains(Routable));
    }

    proptest! {
        #[test]
        fn display_round_trips(a in 0usize..9, b in 0usize..9) {
            let (lo, hi) = (a.min(b), a.max(b));
            let r = range(OperState::ALL[lo], OperState::ALL[hi]);
            prop_assert_eq!(r.to_string().parse::<OperStateRange>(), Ok(r));
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,40}") {
            let _ = s.parse::<OperStateRange>();
        }
    }
}
