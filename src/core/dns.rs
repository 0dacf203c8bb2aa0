//! DNS facts and the DNS part of the decision, with upstream v258's meaning of `--dns`: a
//! link passes only if a DNS server is *accessible* for it — one of its own servers when it
//! is a DNS default route or has the `.` search domain, otherwise a global one — plus the
//! optional `--dns-probe` that a name really resolves.

use std::collections::BTreeMap;
use std::net::IpAddr;

/// One DNS server and whether the kernel can route to it (through a link that is up).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsServer {
    pub address: IpAddr,
    pub accessible: bool,
}

/// The DNS configuration of one scope (a link, or the global one).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DnsScope {
    pub servers: Vec<DnsServer>,
    pub current: Option<DnsServer>,
    /// resolved's effective `DefaultRoute` of a link.
    pub default_route: bool,
    /// Search and routing domains, without the `~` (the catch-all routing domain is `.`).
    pub domains: Vec<String>,
}

impl DnsScope {
    /// upstream's `dns_is_accessible()`: the current server or any server is accessible.
    pub fn has_accessible_server(&self) -> bool {
        self.current.as_ref().is_some_and(|s| s.accessible)
            || self.servers.iter().any(|s| s.accessible)
    }

    /// Whether queries for every name go to this link's own servers.
    pub fn wants_own_servers(&self) -> bool {
        self.default_route || self.domains.iter().any(|d| d == ".")
    }

    /// All servers (current first), without duplicates.
    pub fn all_servers(&self) -> Vec<&DnsServer> {
        let mut all: Vec<&DnsServer> = self.current.iter().collect();
        for server in &self.servers {
            if !all.iter().any(|s| s.address == server.address) {
                all.push(server);
            }
        }
        all
    }
}

/// Where the DNS facts come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsSource {
    /// systemd-resolved over D-Bus: per-link and global configuration.
    Resolved,
    /// `nameserver` lines of /etc/resolv.conf: global configuration only.
    ResolvConf,
    /// Neither is available yet (resolved not on the bus and no usable resolv.conf).
    Unavailable,
    /// Not read yet: the system bus has not answered so far.
    NotRead,
}

/// Result of the `--dns-probe` query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeState {
    /// Not tried yet, or waiting for its next attempt.
    Pending,
    /// The name resolved to these addresses.
    Resolved(Vec<IpAddr>),
    /// The last attempt failed.
    Failed(ProbeFailure),
}

/// Why a probe attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeFailure {
    /// A server answered: the name does not exist.
    NxDomain,
    /// A server answered with SERVFAIL (or REFUSED).
    ServFail,
    /// No answer within the attempt's time limit.
    Timeout,
    /// No server to ask.
    NoServers,
    /// Anything else, in words.
    Other(String),
}

/// Everything known about DNS at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsFacts {
    pub source: DnsSource,
    pub global: DnsScope,
    /// Per-link configuration by ifindex (resolved only).
    pub links: BTreeMap<u32, DnsScope>,
    /// State of the `--dns-probe` query (`Pending` when none is asked for).
    pub probe: ProbeState,
}

impl DnsFacts {
    /// No DNS information yet.
    pub fn unavailable() -> DnsFacts {
        DnsFacts {
            source: DnsSource::Unavailable,
            global: DnsScope::default(),
            links: BTreeMap::new(),
            probe: ProbeState::Pending,
        }
    }

    /// Before the first read (the bus is being asked).
    pub fn not_read() -> DnsFacts {
        DnsFacts {
            source: DnsSource::NotRead,
            ..DnsFacts::unavailable()
        }
    }

    /// No DNS server is configured anywhere it was read: resolved has none global and none
    /// for any link asked about, or (without resolved) resolv.conf names none. Nothing that
    /// needs one can hold until one is configured (`--dns-grace`, the `no-dns-server`
    /// pitfall). Unknown before the first read.
    pub fn no_server_configured(&self) -> bool {
        let empty = |scope: &DnsScope| scope.servers.is_empty() && scope.current.is_none();
        match self.source {
            DnsSource::Unavailable => true,
            DnsSource::NotRead => false,
            DnsSource::Resolved | DnsSource::ResolvConf => {
                empty(&self.global) && self.links.values().all(empty)
            }
        }
    }
}

/// What systemd-networkd's state file of a link says about where its DNS servers come from,
/// when none is configured anywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkdDns {
    /// The link has a DHCPv4 lease (`DHCP_LEASE=`) and no `DNS=`: the lease had no server.
    LeaseWithout,
    /// No `DNS=` and no `DHCP_LEASE=` (which networkd 256 and later no longer write):
    /// networkd configured no server for it, from its `.network` file or from DHCP.
    NotConfigured,
}

/// Why the DNS condition of a link does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsProblem {
    /// Neither resolved nor resolv.conf gave any DNS information.
    NoSource,
    /// The system bus has not answered yet, so nothing was read.
    NotRead,
    /// resolved has no configuration for this link yet.
    NoConfiguration,
    /// The link must use its own servers (DNS default route or `~.`), and none is accessible.
    NoAccessibleLinkServer { servers: Vec<IpAddr> },
    /// No global server is accessible.
    NoAccessibleServer { servers: Vec<IpAddr> },
    /// resolved knows no DNS server at all, for any link or globally
    /// ([`DnsFacts::no_server_configured`]); `networkd` says why, when networkd manages the
    /// link and its state file says it.
    NoServerConfigured { networkd: Option<NetworkdDns> },
}

impl DnsProblem {
    /// No DNS server is configured anywhere (resolved's view, or resolv.conf's when resolved
    /// is absent): waiting changes nothing until one is.
    pub fn is_no_server(&self) -> bool {
        matches!(
            self,
            DnsProblem::NoSource | DnsProblem::NoServerConfigured { .. }
        )
    }
}

/// upstream's DNS check for one link (`manager_link_is_online()`, v258).
pub fn check_link(facts: &DnsFacts, ifindex: u32) -> Result<(), DnsProblem> {
    let link = match facts.source {
        DnsSource::Unavailable => return Err(DnsProblem::NoSource),
        DnsSource::NotRead => return Err(DnsProblem::NotRead),
        DnsSource::Resolved => match facts.links.get(&ifindex) {
            Some(link) => link,
            None => return Err(DnsProblem::NoConfiguration),
        },
        // resolv.conf has no per-link configuration: only the global rule applies.
        DnsSource::ResolvConf => &DnsScope::default(),
    };
    let addresses = |scope: &DnsScope| scope.all_servers().iter().map(|s| s.address).collect();
    if link.wants_own_servers() {
        if link.has_accessible_server() {
            Ok(())
        } else {
            Err(DnsProblem::NoAccessibleLinkServer {
                servers: addresses(link),
            })
        }
    } else if facts.global.has_accessible_server() {
        Ok(())
    } else {
        Err(DnsProblem::NoAccessibleServer {
            servers: addresses(&facts.global),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn server(last: u8, accessible: bool) -> DnsServer {
        DnsServer {
            address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, last)),
            accessible,
        }
    }

    fn resolved(global: DnsScope, links: Vec<(u32, DnsScope)>) -> DnsFacts {
        DnsFacts {
            source: DnsSource::Resolved,
            global,
            links: links.into_iter().collect(),
            probe: ProbeState::Pending,
        }
    }

    #[test]
    fn default_route_link_needs_its_own_accessible_server() {
        let link = DnsScope {
            servers: vec![server(53, false)],
            default_route: true,
            ..DnsScope::default()
        };
        let global = DnsScope {
            servers: vec![server(1, true)],
            ..DnsScope::default()
        };
        let facts = resolved(global, vec![(2, link.clone())]);
        assert_eq!(
            check_link(&facts, 2),
            Err(DnsProblem::NoAccessibleLinkServer {
                servers: vec![IpAddr::V4(Ipv4Addr::new(192, 0, 2, 53))]
            })
        );
        let mut fixed = facts.clone();
        fixed.links.get_mut(&2).unwrap().servers[0].accessible = true;
        assert_eq!(check_link(&fixed, 2), Ok(()));
    }

    #[test]
    fn catch_all_domain_also_requires_own_servers() {
        let link = DnsScope {
            domains: vec![".".into()],
            ..DnsScope::default()
        };
        let global = DnsScope {
            servers: vec![server(1, true)],
            ..DnsScope::default()
        };
        let facts = resolved(global, vec![(2, link)]);
        let problem = check_link(&facts, 2).unwrap_err();
        assert_eq!(problem.to_string(), "no DNS server is configured for it");
    }

    #[test]
    fn other_links_use_the_global_configuration() {
        let link = DnsScope {
            servers: vec![server(53, true)],
            domains: vec!["test.example".into()],
            ..DnsScope::default()
        };
        let facts = resolved(DnsScope::default(), vec![(2, link)]);
        assert_eq!(
            check_link(&facts, 2),
            Err(DnsProblem::NoAccessibleServer { servers: vec![] })
        );
        let mut with_global = facts.clone();
        with_global.global.current = Some(server(1, true));
        assert_eq!(check_link(&with_global, 2), Ok(()));
    }

    #[test]
    fn link_unknown_to_resolved_has_no_configuration() {
        let facts = resolved(DnsScope::default(), vec![]);
        assert_eq!(check_link(&facts, 9), Err(DnsProblem::NoConfiguration));
        assert_eq!(
            check_link(&DnsFacts::unavailable(), 9),
            Err(DnsProblem::NoSource)
        );
    }

    #[test]
    fn resolv_conf_fallback_applies_the_global_rule_to_every_link() {
        let mut facts = DnsFacts::unavailable();
        facts.source = DnsSource::ResolvConf;
        facts.global.servers = vec![server(53, false)];
        assert_eq!(
            check_link(&facts, 2).unwrap_err().to_string(),
            "DNS server 192.0.2.53 is not accessible (no route)"
        );
        facts.global.servers[0].accessible = true;
        assert_eq!(check_link(&facts, 2), Ok(()));
    }
}
