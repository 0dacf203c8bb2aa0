//! Parser for systemd-networkd's per-link state files (`/run/systemd/netif/links/<ifindex>`),
//! an env-file of `KEY=VALUE` lines. Pure and total: garbage lines are skipped, and every key
//! falls back to what upstream assumes when it is missing or unreadable.

use crate::cli::boolean::parse_boolean;
use crate::core::{NetworkdLink, OperStateRange, RequiredFamilies, SetupState};

/// Parses the file's text. Upstream's fallbacks: a missing or unparsable
/// `REQUIRED_FOR_ONLINE` means required; a missing or unparsable range means the default; a
/// missing family means none; an empty `ADMIN_STATE` means unknown.
/// A file with a NUL byte is refused whole, as upstream's env-file reader does (`EBADMSG`):
/// the link then counts as not yet processed.
pub fn parse(text: &str) -> NetworkdLink {
    let mut link = NetworkdLink::default();
    if text.contains('\0') {
        return link;
    }
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = unquote(value.trim());
        if value.is_empty() {
            continue;
        }
        match key.trim() {
            "ADMIN_STATE" => link.setup = Some(SetupState::parse(value)),
            "REQUIRED_FOR_ONLINE" => {
                link.required_for_online = parse_boolean(value).unwrap_or(true)
            }
            "REQUIRED_OPER_STATE_FOR_ONLINE" => {
                link.required_range = value.parse::<OperStateRange>().ok();
            }
            "REQUIRED_FAMILY_FOR_ONLINE" => {
                link.required_families =
                    RequiredFamilies::parse_networkd(value).unwrap_or(RequiredFamilies::NONE);
            }
            "DNS" => link.dns_servers = true,
            "DHCP_LEASE" => link.dhcp_lease = true,
            "CAPTIVE_PORTAL" => link.captive_portal = Some(value.to_string()),
            _ => {}
        }
    }
    link
}

fn unquote(value: &str) -> &str {
    for quote in ['"', '\''] {
        if let Some(inner) = value
            .strip_prefix(quote)
            .and_then(|v| v.strip_suffix(quote))
        {
            return inner;
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captive_portal_from_networkd_257() {
        let text = "ADMIN_STATE=configured\nOPER_STATE=routable\n\
                    CAPTIVE_PORTAL=http://10.77.0.1/portal\nDHCP_LEASE=/run/systemd/netif/leases/2\n";
        let link = parse(text);
        assert_eq!(
            link.captive_portal.as_deref(),
            Some("http://10.77.0.1/portal")
        );
        assert!(link.dhcp_lease);
        assert_eq!(parse("ADMIN_STATE=configured\n").captive_portal, None);
    }

    #[test]
    fn a_nul_byte_makes_the_whole_file_unusable_like_upstream() {
        let link = parse("ADMIN_STATE=configured\nOPER_STATE=routable\0\n");
        assert_eq!(link, NetworkdLink::default());
        assert_eq!(link.setup, None);
    }
    use crate::core::OperState;
    use proptest::prelude::*;

    #[test]
    fn managed_link_file_from_networkd_252() {
        let text = "# This is private data. Do not parse.\nADMIN_STATE=configured\nOPER_STATE=routable\n\
                    CARRIER_STATE=carrier\nADDRESS_STATE=routable\nIPV4_ADDRESS_STATE=routable\n\
                    IPV6_ADDRESS_STATE=off\nONLINE_STATE=online\nREQUIRED_FOR_ONLINE=yes\n\
                    REQUIRED_OPER_STATE_FOR_ONLINE=degraded\nREQUIRED_FAMILY_FOR_ONLINE=any\n\
                    ACTIVATION_POLICY=up\nNETWORK_FILE=/etc/systemd/network/10-wo0.network\nDNS=10.77.0.1\n";
        let link = parse(text);
        assert_eq!(link.setup, Some(SetupState::Configured));
        assert!(link.required_for_online);
        assert_eq!(
            link.required_range,
            Some(OperStateRange {
                min: OperState::Degraded,
                max: OperState::Routable
            })
        );
        assert_eq!(link.required_families, RequiredFamilies::NONE);
        assert!(link.dns_servers && !link.dhcp_lease);
    }

    #[test]
    fn dns_servers_and_a_dhcp_lease_are_noted() {
        let lease = parse("ADMIN_STATE=configured\nDHCP_LEASE=/run/systemd/netif/leases/2\n");
        assert!(lease.dhcp_lease && !lease.dns_servers);
        let empty = parse("DNS=\nDHCP_LEASE=\n");
        assert!(!empty.dhcp_lease && !empty.dns_servers, "empty is missing");
    }

    #[test]
    fn unmanaged_link_file_has_no_required_keys() {
        let link = parse("ADMIN_STATE=unmanaged\nOPER_STATE=carrier\n");
        assert_eq!(link.setup, Some(SetupState::Unmanaged));
        assert!(
            link.required_for_online,
            "missing REQUIRED_FOR_ONLINE means required"
        );
        assert_eq!(link.required_range, None);
    }

    #[test]
    fn explicit_values() {
        let link = parse(
            "ADMIN_STATE=configuring\nREQUIRED_FOR_ONLINE=no\n\
             REQUIRED_OPER_STATE_FOR_ONLINE=enslaved:enslaved\nREQUIRED_FAMILY_FOR_ONLINE=both\n",
        );
        assert_eq!(link.setup, Some(SetupState::Configuring));
        assert!(!link.required_for_online);
        assert_eq!(
            link.required_range,
            Some(OperStateRange {
                min: OperState::Enslaved,
                max: OperState::Enslaved
            })
        );
        assert!(link.required_families.ipv4 && link.required_families.ipv6);
    }

    #[test]
    fn garbage_truncated_and_empty_files_fall_back() {
        assert_eq!(parse(""), NetworkdLink::default());
        assert_eq!(
            parse("\0\0garbage\n=\nADMIN_STATE=\n"),
            NetworkdLink::default()
        );
        let truncated = parse("ADMIN_STATE=configured\nREQUIRED_FOR_ONLINE=ma");
        assert_eq!(truncated.setup, Some(SetupState::Configured));
        assert!(truncated.required_for_online);
        assert_eq!(
            parse("REQUIRED_OPER_STATE_FOR_ONLINE=bogus").required_range,
            None
        );
    }

    proptest! {
        #[test]
        fn never_panics(text in "\\PC{0,200}") {
            let _ = parse(&text);
        }

        #[test]
        fn lines_of_known_keys_with_random_values_never_panic(
            values in proptest::collection::vec("[a-z:=\\-\"' ]{0,20}", 4)
        ) {
            let text = format!(
                "ADMIN_STATE={}\nREQUIRED_FOR_ONLINE={}\nREQUIRED_OPER_STATE_FOR_ONLINE={}\nREQUIRED_FAMILY_FOR_ONLINE={}\n",
                values[0], values[1], values[2], values[3]
            );
            let _ = parse(&text);
        }
    }
}
