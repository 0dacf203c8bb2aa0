//! The pitfalls in words: what is wrong and what to do about it, as `--explain` warns and
//! `--json` details them.

use std::fmt;

use crate::core::Family;
use crate::core::ManagerKind;
use crate::core::dns::NetworkdDns;
use crate::core::machine::Waiters;
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
            Pitfall::TwoWaiters { idle } => {
                let unit = waiter_unit(*idle);
                write!(
                    f,
                    "{} and {} are both enabled, and {} manages no {}: the boot waits for both, \
                     and {unit} waits for nothing",
                    Waiters::NETWORKD_UNIT,
                    Waiters::NETWORKMANAGER_UNIT,
                    manager_name(*idle),
                    managed_noun(*idle),
                )?;
                if *idle == ManagerKind::Networkd {
                    f.write_str(" (upstream's until its timeout, 2 minutes)")?;
                }
                write!(
                    f,
                    "; disable it (systemctl disable {unit}), or enable wait-online.service \
                     (--manager=auto judges each link by its own manager) in place of both"
                )
            }
            Pitfall::ManagerManagesNothing { manager, links } => {
                write!(
                    f,
                    "{} manages none of the {links} {} here (loopback aside): nothing can be \
                     online by its rules; ",
                    manager_name(*manager),
                    match links {
                        1 => "link",
                        _ => "links",
                    },
                )?;
                match manager {
                    ManagerKind::Networkd => f.write_str(
                        "give the links a .network file (or Netplan: renderer: networkd), ",
                    )?,
                    _ => f.write_str("let it manage them (nmcli device set IF managed yes), ")?,
                }
                f.write_str(
                    "or judge them on kernel facts (--manager=none), or disable this waiter if \
                     the machine needs none",
                )
            }
            Pitfall::ContainerHostLink {
                interface,
                container,
                manager,
            } => write!(
                f,
                "{interface}: in a container ({}), {interface} has addresses while {} in the \
                 container does not manage it: they were configured from outside, by the host \
                 most likely, and {}'s rules ignore {interface}; name it (-i {interface}) to \
                 wait for it on kernel facts, or let the container configure it",
                container_name(container),
                manager_name(*manager),
                manager_name(*manager),
            ),
            Pitfall::ContainerTentativeIpv6 {
                interface,
                address,
                prefix_len,
                container,
            } => write!(
                f,
                "{interface}: in a container ({}), {address}/{prefix_len} is still tentative \
                 (IPv6 duplicate address detection): until it ends, what starts after \
                 network-online.target sends from the link-local address and reaches nothing \
                 beyond the link (systemd/systemd#39784); wait until it is usable (-6 with \
                 -o routable; networkd: RequiredFamilyForOnline=ipv6 and \
                 RequiredForOnline=routable), or, on a link to the host alone (nspawn's host0), \
                 turn duplicate address detection off there \
                 (net.ipv6.conf.{interface}.accept_dad=0)",
                container_name(container),
            ),
        }
    }
}

/// The manager as its documentation names it.
fn manager_name(manager: ManagerKind) -> &'static str {
    match manager {
        ManagerKind::Networkd => "systemd-networkd",
        ManagerKind::NetworkManager => "NetworkManager",
        ManagerKind::Ifupdown => "ifupdown",
        ManagerKind::Kernel => "no manager",
    }
}

/// What the manager calls what it manages.
fn managed_noun(manager: ManagerKind) -> &'static str {
    match manager {
        ManagerKind::NetworkManager => "device",
        _ => "link",
    }
}

/// The wait-online unit of a manager.
fn waiter_unit(manager: ManagerKind) -> &'static str {
    match manager {
        ManagerKind::NetworkManager => Waiters::NETWORKMANAGER_UNIT,
        _ => Waiters::NETWORKD_UNIT,
    }
}

/// The container manager `/run/systemd/container` names, quoted as an excerpt (any text
/// may be there); `unknown manager` when it is empty.
fn container_name(name: &str) -> String {
    match name.trim() {
        "" => "unknown manager".to_owned(),
        name => crate::text::excerpt(name),
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

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv6Addr};

    use super::*;

    /// The machine's pitfalls name the units, the manager and the fix (compared with the
    /// commands that fix each: systemctl disable of the idle manager's unit, -i, accept_dad).
    #[test]
    fn the_machine_pitfalls_name_the_units_and_the_fix() {
        let two = Pitfall::TwoWaiters {
            idle: ManagerKind::Networkd,
        }
        .to_string();
        assert!(two.starts_with(
            "systemd-networkd-wait-online.service and NetworkManager-wait-online.service are \
             both enabled, and systemd-networkd manages no link"
        ));
        assert!(two.contains("systemctl disable systemd-networkd-wait-online.service"));
        assert!(two.contains("2 minutes"));
        let two_nm = Pitfall::TwoWaiters {
            idle: ManagerKind::NetworkManager,
        }
        .to_string();
        assert!(two_nm.contains("NetworkManager manages no device"));
        assert!(two_nm.contains("systemctl disable NetworkManager-wait-online.service"));
        assert!(!two_nm.contains("2 minutes"));

        let nothing = Pitfall::ManagerManagesNothing {
            manager: ManagerKind::Networkd,
            links: 1,
        }
        .to_string();
        assert!(nothing.starts_with("systemd-networkd manages none of the 1 link here"));
        assert!(nothing.contains(".network file"));

        let host = Pitfall::ContainerHostLink {
            interface: "eth0".into(),
            container: "lxc".into(),
            manager: ManagerKind::Networkd,
        }
        .to_string();
        assert!(
            host.starts_with(
                "eth0: in a container (lxc), eth0 has addresses while systemd-networkd"
            )
        );
        assert!(host.contains("-i eth0"));

        let tentative = Pitfall::ContainerTentativeIpv6 {
            interface: "host0".into(),
            address: IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2)),
            prefix_len: 64,
            container: "\u{1b}[31mnspawn".into(),
        }
        .to_string();
        assert!(tentative.starts_with(
            "host0: in a container (\\u{1b}[31mnspawn), 2001:db8::2/64 is still tentative"
        ));
        assert!(tentative.contains("systemd/systemd#39784"));
        assert!(tentative.contains("net.ipv6.conf.host0.accept_dad=0"));
        let unnamed = Pitfall::ContainerTentativeIpv6 {
            interface: "host0".into(),
            address: IpAddr::V6(Ipv6Addr::LOCALHOST),
            prefix_len: 128,
            container: String::new(),
        }
        .to_string();
        assert!(unnamed.contains("in a container (unknown manager)"));
    }
}
