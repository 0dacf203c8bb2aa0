//! The pitfalls in words: what is wrong and what to do about it, as `--explain` warns and
//! `--json` details them.

use std::fmt;

use crate::core::Family;
use crate::core::dns::NetworkdDns;
use crate::core::pitfalls::{Pitfall, TENTATIVE_LIMIT};
use crate::core::route::table;

impl fmt::Display for Pitfall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pitfall::LinkLocalOnly { interface } => write!(
                f,
                "{interface}: counts as online, but its only addresses are link-local \
                 (169.254.0.0/16, fe80::/10): nothing beyond the link is reachable; \
                 require routable (-i {interface}:routable) if it needs more"
            ),
            Pitfall::NoDefaultRoute { family, interface } => write!(
                f,
                "{interface} has a global {family} address but there is no {family} default route: \
                 only directly connected networks are reachable"
            ),
            Pitfall::DefaultRouteElsewhere {
                family,
                interfaces,
                via,
            } => write!(
                f,
                "the {family} default route goes through {via}, not through {}: \
                 traffic to other networks does not use the awaited interface",
                interfaces.join(", ")
            ),
            Pitfall::StrictReversePath { interface, via } => write!(
                f,
                "{interface}: rp_filter=1 (strict) while the IPv4 default route goes through {via}: \
                 packets reaching {interface} from other networks are dropped; \
                 set net.ipv4.conf.{interface}.rp_filter=2 (loose) if it must accept them"
            ),
            Pitfall::GatewayUnanswered {
                family,
                gateway,
                interface,
                state,
            } => write!(
                f,
                "the {family} default gateway {gateway} on {interface} does not answer \
                 (neighbour entry {state})"
            ),
            Pitfall::ForwardingOff {
                family,
                bridge,
                ports,
                via,
                key,
            } => write!(
                f,
                "{bridge}: {family} forwarding is off ({}=0) while it has ports ({}) and the \
                 {family} default route goes through {via}: what is behind {bridge} cannot \
                 reach other networks; set {}=1 (and keep it in /etc/sysctl.d)",
                sysctl_name(key),
                ports.join(", "),
                forwarding_fix(*family),
            ),
            Pitfall::TiedDefaultRoutes {
                family,
                table,
                metric,
                routes,
                in_use,
            } => {
                let listed: Vec<String> = routes
                    .iter()
                    .map(|(name, gateway)| match gateway {
                        Some(gateway) => format!("{name} (via {gateway})"),
                        None => name.clone(),
                    })
                    .collect();
                let table = match *table {
                    table::MAIN => String::new(),
                    other => format!(" in table {other}"),
                };
                write!(
                    f,
                    "{} {family} default routes{table} with metric {metric}: {}; ",
                    routes.len(),
                    listed.join(", ")
                )?;
                match in_use {
                    Some(name) => write!(f, "the kernel uses {name} now")?,
                    None => write!(f, "the kernel's lookup did not pick one of them")?,
                }
                write!(
                    f,
                    ", and which one depends on the order they were added: \
                     give each a distinct metric"
                )
            }
            Pitfall::DadFailed {
                interface,
                address,
                prefix_len,
            } => write!(
                f,
                "{interface}: duplicate address detection failed for {address}/{prefix_len}: \
                 another host on the link has it, and the kernel will never use it; \
                 give {interface} a unique address"
            ),
            Pitfall::StillTentative {
                interface,
                address,
                prefix_len,
            } => write!(
                f,
                "{interface}: {address}/{prefix_len} is still tentative after more than {}s: \
                 duplicate address detection has not finished and nothing can use it",
                TENTATIVE_LIMIT.as_secs()
            ),
            Pitfall::NoDnsServer {
                interface,
                networkd,
            } => {
                write!(
                    f,
                    "{interface}: DNS is required, and no DNS server is configured on any link \
                     nor globally: waiting will not configure one; "
                )?;
                match networkd {
                    Some(NetworkdDns::LeaseWithout) => f.write_str(
                        "its DHCP server hands out none (option 6): make it send one, or give \
                         one in its .network file (DNS=)",
                    )?,
                    Some(NetworkdDns::NotConfigured) => f.write_str(
                        "systemd-networkd configured none for it: give one in its .network file \
                         (DNS=), or have its DHCP server hand one out (option 6)",
                    )?,
                    None => f.write_str(
                        "configure one for it, or globally (resolved.conf's DNS=, or \
                         /etc/resolv.conf without systemd-resolved)",
                    )?,
                }
                f.write_str(
                    " (Netplan: nameservers: addresses: [...]); or do not require DNS (--dns=no), \
                     or end such waits early with --dns-grace=SPAN (WAIT_ONLINE_DNS_GRACE=)",
                )
            }
        }
    }
}

/// `ipv4/ip_forward` as sysctl(8) names it: `net.ipv4.ip_forward`.
fn sysctl_name(key: &str) -> String {
    format!("net.{}", key.replace('/', "."))
}

/// The setting that turns forwarding of `family` on for every interface.
fn forwarding_fix(family: Family) -> &'static str {
    match family {
        Family::Ipv4 => "net.ipv4.ip_forward",
        Family::Ipv6 => "net.ipv6.conf.all.forwarding",
    }
}
