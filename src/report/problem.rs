//! The route and DNS problems in words, as the timeout lines, `--explain` and `--json` say
//! them.

use std::fmt;
use std::net::IpAddr;

use crate::core::default_route::RouteProblem;
use crate::core::dns::{DnsProblem, NetworkdDns, ProbeFailure};

impl fmt::Display for RouteProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouteProblem::NoDefaultRoute(family) => {
                write!(f, "no {family} default route in the main routing table")
            }
            RouteProblem::NotThroughOnline { family, via } => write!(
                f,
                "the {family} default route goes through {}, which is not online",
                via.join(", ")
            ),
            RouteProblem::GatewayUnanswered {
                family,
                gateway,
                interface,
                state: Some(state),
                ..
            } => write!(
                f,
                "the {family} default gateway {gateway} on {interface} has not answered \
                 (neighbour entry {state}; check the cable, VLAN or the gateway's address)"
            ),
            RouteProblem::GatewayUnanswered {
                family,
                gateway,
                interface,
                state: None,
                ..
            } => write!(
                f,
                "the {family} default gateway {gateway} on {interface} has no neighbour entry yet: \
                 nothing has talked to it (wait-online sends it nothing unless --probe-gateway is given)"
            ),
        }
    }
}

impl fmt::Display for DnsProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |servers: &[IpAddr]| {
            servers
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            DnsProblem::NoSource => f.write_str(
                "no DNS configuration known: systemd-resolved is not on the bus and /etc/resolv.conf names no usable server",
            ),
            DnsProblem::NotRead => f.write_str(
                "no DNS configuration known yet: the system bus has not answered",
            ),
            DnsProblem::NoConfiguration => f.write_str("no DNS configuration from systemd-resolved yet"),
            DnsProblem::NoAccessibleLinkServer { servers } if servers.is_empty() => {
                f.write_str("no DNS server is configured for it")
            }
            DnsProblem::NoAccessibleLinkServer { servers } => {
                write!(f, "its DNS server {} is not accessible (no route)", list(servers))
            }
            DnsProblem::NoAccessibleServer { servers } if servers.is_empty() => {
                f.write_str("no global DNS server is configured")
            }
            DnsProblem::NoAccessibleServer { servers } => {
                write!(f, "DNS server {} is not accessible (no route)", list(servers))
            }
            DnsProblem::NoServerConfigured { networkd } => {
                f.write_str("no DNS server is configured on any link nor globally")?;
                match networkd {
                    Some(NetworkdDns::LeaseWithout) => {
                        f.write_str(" (systemd-networkd's DHCP lease for it had none)")
                    }
                    Some(NetworkdDns::NotConfigured) => f.write_str(
                        " (systemd-networkd configured none for it: no DNS= in its state file)",
                    ),
                    None => Ok(()),
                }
            }
        }
    }
}

impl fmt::Display for ProbeFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProbeFailure::NxDomain => {
                f.write_str("NXDOMAIN (a server answered that the name does not exist)")
            }
            ProbeFailure::ServFail => f.write_str("SERVFAIL"),
            ProbeFailure::Timeout => f.write_str("timeout"),
            ProbeFailure::NoServers => f.write_str("no DNS server to ask"),
            ProbeFailure::Other(text) => f.write_str(text),
        }
    }
}
