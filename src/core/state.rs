//! The state vocabularies of systemd-networkd, spelled exactly as networkd writes them, so that
//! ranges given on the command line and values read from state files mean the same thing.

use std::fmt;
use std::str::FromStr;

/// Operational state of a link, in networkd's order (`missing` < … < `routable`); ranges compare
/// on this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OperState {
    Missing,
    Off,
    NoCarrier,
    Dormant,
    DegradedCarrier,
    Carrier,
    Degraded,
    Enslaved,
    Routable,
}

impl OperState {
    /// Every state, lowest first.
    pub const ALL: [OperState; 9] = [
        OperState::Missing,
        OperState::Off,
        OperState::NoCarrier,
        OperState::Dormant,
        OperState::DegradedCarrier,
        OperState::Carrier,
        OperState::Degraded,
        OperState::Enslaved,
        OperState::Routable,
    ];

    /// The spelling used by networkd and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            OperState::Missing => "missing",
            OperState::Off => "off",
            OperState::NoCarrier => "no-carrier",
            OperState::Dormant => "dormant",
            OperState::DegradedCarrier => "degraded-carrier",
            OperState::Carrier => "carrier",
            OperState::Degraded => "degraded",
            OperState::Enslaved => "enslaved",
            OperState::Routable => "routable",
        }
    }

    /// The names a user may type, for error messages.
    pub fn names() -> String {
        OperState::ALL.map(OperState::as_str).join(", ")
    }
}

impl fmt::Display for OperState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A word that is not one of the nine operational state names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown operational state '{0}'")]
pub struct UnknownOperState(pub String);

impl FromStr for OperState {
    type Err = UnknownOperState;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OperState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| UnknownOperState(s.to_string()))
    }
}

/// Carrier part of the operational state (networkd's `LinkCarrierState`); its values sit at the
/// same places in the order as the operational states of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CarrierState {
    Off,
    NoCarrier,
    Dormant,
    DegradedCarrier,
    Carrier,
    Enslaved,
}

impl CarrierState {
    /// The operational state with the same name.
    pub fn as_oper_state(self) -> OperState {
        match self {
            CarrierState::Off => OperState::Off,
            CarrierState::NoCarrier => OperState::NoCarrier,
            CarrierState::Dormant => OperState::Dormant,
            CarrierState::DegradedCarrier => OperState::DegradedCarrier,
            CarrierState::Carrier => OperState::Carrier,
            CarrierState::Enslaved => OperState::Enslaved,
        }
    }
}

/// Address state of a link for one family or both: the best scope among its usable addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum AddressState {
    /// No usable address, or only host-scope ones (127.0.0.1, ::1).
    #[default]
    Off,
    /// Only link- or site-scope addresses (169.254/16 or fe80::/10 with `scope link`).
    Degraded,
    /// At least one address of global scope.
    Routable,
}

impl AddressState {
    /// networkd's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AddressState::Off => "off",
            AddressState::Degraded => "degraded",
            AddressState::Routable => "routable",
        }
    }
}

impl fmt::Display for AddressState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Setup state of a link as systemd-networkd reports it (`ADMIN_STATE=` in its state file).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SetupState {
    Pending,
    Initialized,
    Configuring,
    Configured,
    Unmanaged,
    Failed,
    Linger,
    /// A value this program does not know; treated like any state that is not `configured`.
    /// Kept as an excerpt (`text::excerpt`): it is only ever shown.
    Other(String),
}

impl SetupState {
    /// networkd's spelling.
    pub fn as_str(&self) -> &str {
        match self {
            SetupState::Pending => "pending",
            SetupState::Initialized => "initialized",
            SetupState::Configuring => "configuring",
            SetupState::Configured => "configured",
            SetupState::Unmanaged => "unmanaged",
            SetupState::Failed => "failed",
            SetupState::Linger => "linger",
            SetupState::Other(s) => s,
        }
    }

    /// Parses networkd's spelling; unknown words are kept as [`SetupState::Other`].
    pub fn parse(s: &str) -> SetupState {
        match s {
            "pending" => SetupState::Pending,
            "initialized" => SetupState::Initialized,
            "configuring" => SetupState::Configuring,
            "configured" => SetupState::Configured,
            "unmanaged" => SetupState::Unmanaged,
            "failed" => SetupState::Failed,
            "linger" => SetupState::Linger,
            other => SetupState::Other(crate::text::excerpt(other)),
        }
    }
}

impl fmt::Display for SetupState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// IP address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    Ipv4,
    Ipv6,
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::Ipv4 => "IPv4",
            Family::Ipv6 => "IPv6",
        })
    }
}

/// Which address families must carry an address for a link to be online (`-4`, `-6`, or
/// networkd's `REQUIRED_FAMILY_FOR_ONLINE=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RequiredFamilies {
    pub ipv4: bool,
    pub ipv6: bool,
}

impl RequiredFamilies {
    /// No family required (`any`).
    pub const NONE: RequiredFamilies = RequiredFamilies {
        ipv4: false,
        ipv6: false,
    };

    /// True when no family is required.
    pub fn is_none(self) -> bool {
        !self.ipv4 && !self.ipv6
    }

    /// The required families, IPv4 first.
    pub fn iter(self) -> impl Iterator<Item = Family> {
        [(self.ipv4, Family::Ipv4), (self.ipv6, Family::Ipv6)]
            .into_iter()
            .filter_map(|(needed, family)| needed.then_some(family))
    }

    /// Parses networkd's `any|ipv4|ipv6|both`; `None` for anything else.
    pub fn parse_networkd(s: &str) -> Option<RequiredFamilies> {
        let (ipv4, ipv6) = match s {
            "any" => (false, false),
            "ipv4" => (true, false),
            "ipv6" => (false, true),
            "both" => (true, true),
            _ => return None,
        };
        Some(RequiredFamilies { ipv4, ipv6 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_setup_state_is_kept_short_and_on_one_line() {
        let long = format!("x\n{}", "y".repeat(50_000_000));
        let SetupState::Other(kept) = SetupState::parse(&long) else {
            panic!("not Other")
        };
        assert!(kept.starts_with("x\\nyyy") && kept.ends_with("…(50000002 bytes)"));
        assert!(kept.len() < 300, "{}", kept.len());
    }

    #[test]
    fn oper_state_names_round_trip_in_order() {
        for (i, state) in OperState::ALL.iter().enumerate() {
            assert_eq!(state.as_str().parse::<OperState>(), Ok(*state));
            if i > 0 {
                assert!(OperState::ALL[i - 1] < *state);
            }
        }
        assert_eq!(
            "routeable".parse::<OperState>(),
            Err(UnknownOperState("routeable".into()))
        );
    }

    #[test]
    fn carrier_states_map_to_same_named_oper_states() {
        assert_eq!(
            CarrierState::DegradedCarrier.as_oper_state(),
            OperState::DegradedCarrier
        );
        assert_eq!(CarrierState::Enslaved.as_oper_state(), OperState::Enslaved);
        assert!(CarrierState::Enslaved > CarrierState::Carrier);
    }

    #[test]
    fn setup_state_keeps_unknown_words() {
        assert_eq!(SetupState::parse("configured"), SetupState::Configured);
        assert_eq!(SetupState::parse("weird").as_str(), "weird");
    }

    #[test]
    fn required_families_parse_networkd_spelling() {
        assert_eq!(
            RequiredFamilies::parse_networkd("any"),
            Some(RequiredFamilies::NONE)
        );
        let both = RequiredFamilies::parse_networkd("both").unwrap();
        assert_eq!(
            both.iter().collect::<Vec<_>>(),
            vec![Family::Ipv4, Family::Ipv6]
        );
        assert_eq!(RequiredFamilies::parse_networkd("yes"), None);
    }
}
