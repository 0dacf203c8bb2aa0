//! systemd-resolved over D-Bus (zbus on tokio): its global and per-link DNS configuration, the
//! signals that say it changed, and name resolution for `--dns-probe`.
//!
//! Every call goes to the unique name of resolved's current owner (never to the well-known
//! name, which would activate resolved and could be answered by whoever owns it by then), and
//! only its replies count ([`crate::dbus::owner`]). What a reply can make us hold is bounded:
//! [`MAX_SERVERS`] servers and [`MAX_DOMAINS`] domains per scope (resolved's own limits),
//! domains of at most [`MAX_DOMAIN_BYTES`], and only the links asked about.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use futures::StreamExt;
use futures::stream::SelectAll;
use zbus::names::OwnedUniqueName;
use zbus::{Connection, MatchRule, Message, MessageStream, OwnedObjectPath};

use crate::core::dns::ProbeFailure;
use crate::dbus::owner::{call_owner, get_property};

/// resolved's well-known bus name.
pub const SERVICE: &str = "org.freedesktop.resolve1";
const MANAGER_PATH: &str = "/org/freedesktop/resolve1";
const MANAGER_INTERFACE: &str = "org.freedesktop.resolve1.Manager";
const LINK_INTERFACE: &str = "org.freedesktop.resolve1.Link";
/// Most servers kept per scope (resolved's own `LINK_DNS_SERVERS_MAX` and
/// `MANAGER_DNS_SERVERS_MAX`).
pub const MAX_SERVERS: usize = 256;
/// Most domains kept per scope (resolved's `LINK_SEARCH_DOMAINS_MAX`).
pub const MAX_DOMAINS: usize = 1024;
/// Longest domain kept (a DNS name has at most 253 characters).
pub const MAX_DOMAIN_BYTES: usize = 253;

/// resolved's configuration of one scope, as read over the bus (before accessibility).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeConfig {
    pub servers: Vec<IpAddr>,
    pub current: Option<IpAddr>,
    pub default_route: bool,
    pub domains: Vec<String>,
}

impl ScopeConfig {
    fn add_server(&mut self, address: IpAddr) {
        if self.servers.len() < MAX_SERVERS {
            self.servers.push(address);
        }
    }

    fn add_domain(&mut self, domain: String) {
        if self.domains.len() < MAX_DOMAINS && domain.len() <= MAX_DOMAIN_BYTES {
            self.domains.push(domain);
        }
    }
}

/// resolved's whole configuration for the links asked about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolvedConfig {
    pub global: ScopeConfig,
    /// Links resolved knows (absent: resolved has no configuration for it).
    pub links: BTreeMap<u32, ScopeConfig>,
}

/// Talks to resolved's current owner on a bus connection (cheap to clone).
#[derive(Clone)]
pub struct ResolvedClient {
    connection: Connection,
    /// resolved's unique name.
    owner: OwnedUniqueName,
}

/// The signals that mean resolved's configuration may have changed (its name appearing,
/// moving or vanishing is followed by [`crate::dbus::follow`] itself).
pub fn match_rules() -> zbus::Result<Vec<MatchRule<'static>>> {
    let properties = MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .sender(SERVICE)
        .interface("org.freedesktop.DBus.Properties")
        .member("PropertiesChanged")
        .path_namespace(MANAGER_PATH)
        .build()?;
    Ok(vec![properties])
}

impl ResolvedClient {
    /// Calls go to `owner`, resolved's unique name on `connection`.
    pub fn new(connection: Connection, owner: OwnedUniqueName) -> ResolvedClient {
        ResolvedClient { connection, owner }
    }

    async fn manager_property<T>(&self, name: &str) -> zbus::Result<T>
    where
        T: TryFrom<zbus::OwnedVariant>,
        T::Error: Into<zbus::Error>,
    {
        get_property(
            &self.connection,
            &self.owner,
            MANAGER_PATH,
            MANAGER_INTERFACE,
            name,
        )
        .await
    }

    /// Reads the global configuration and that of each link in `ifindexes`; the calls run
    /// concurrently on the one connection.
    pub async fn fetch(&self, ifindexes: &[u32]) -> zbus::Result<ResolvedConfig> {
        let (servers, current, domains, links) = tokio::join!(
            self.manager_property::<Vec<(i32, i32, Vec<u8>)>>("DNS"),
            self.manager_property::<(i32, i32, Vec<u8>)>("CurrentDNSServer"),
            self.manager_property::<Vec<(i32, String, bool)>>("Domains"),
            futures::future::join_all(ifindexes.iter().map(|&i| self.fetch_link(i))),
        );
        let mut config = ResolvedConfig::default();
        // Only the links asked about: a reply cannot make us keep others.
        let mut per_link: BTreeMap<u32, ScopeConfig> = ifindexes
            .iter()
            .map(|&i| (i, ScopeConfig::default()))
            .collect();
        for (ifindex, family, bytes) in servers? {
            let Some(address) = ip(family, &bytes) else {
                continue;
            };
            match u32::try_from(ifindex).ok().filter(|&i| i > 0) {
                None => config.global.add_server(address),
                Some(i) => {
                    if let Some(scope) = per_link.get_mut(&i) {
                        scope.add_server(address);
                    }
                }
            }
        }
        let (_, family, bytes) = current?;
        config.global.current = ip(family, &bytes);
        for (ifindex, domain, _route_only) in domains? {
            match u32::try_from(ifindex).ok().filter(|&i| i > 0) {
                None => config.global.add_domain(domain),
                Some(i) => {
                    if let Some(scope) = per_link.get_mut(&i) {
                        scope.add_domain(domain);
                    }
                }
            }
        }
        for (ifindex, link) in ifindexes.iter().zip(links) {
            // A link resolved does not know (yet) has no configuration.
            if let Some((default_route, current)) = link? {
                let mut scope = per_link.remove(ifindex).unwrap_or_default();
                scope.default_route = default_route;
                scope.current = current;
                config.links.insert(*ifindex, scope);
            }
        }
        Ok(config)
    }

    /// `DefaultRoute` and `CurrentDNSServer` of one link; `None` when resolved does not know it.
    async fn fetch_link(&self, ifindex: u32) -> zbus::Result<Option<(bool, Option<IpAddr>)>> {
        let Ok(index) = i32::try_from(ifindex) else {
            return Ok(None);
        };
        let reply = call_owner(
            &self.connection,
            &self.owner,
            MANAGER_PATH,
            MANAGER_INTERFACE,
            "GetLink",
            &(index),
        )
        .await;
        let path: OwnedObjectPath = match reply {
            Ok(reply) => reply.body().deserialize()?,
            Err(zbus::Error::MethodError(..)) => return Ok(None),
            Err(err) => return Err(err),
        };
        let property =
            |name| get_property::<bool>(&self.connection, &self.owner, &path, LINK_INTERFACE, name);
        let current = get_property::<(i32, Vec<u8>)>(
            &self.connection,
            &self.owner,
            &path,
            LINK_INTERFACE,
            "CurrentDNSServer",
        );
        let (default_route, current) = tokio::join!(property("DefaultRoute"), current);
        let (family, bytes) = current?;
        Ok(Some((default_route?, ip(family, &bytes))))
    }

    /// Resolves `name` through resolved (A and AAAA). Errors are mapped to what they mean
    /// for a probe.
    pub async fn resolve(&self, name: &str) -> Result<Vec<IpAddr>, ProbeFailure> {
        let reply = call_owner(
            &self.connection,
            &self.owner,
            MANAGER_PATH,
            MANAGER_INTERFACE,
            "ResolveHostname",
            &(0i32, name, libc::AF_UNSPEC, 0u64),
        )
        .await
        .and_then(|reply| {
            reply
                .body()
                .deserialize::<(Vec<(i32, i32, Vec<u8>)>, String, u64)>()
        });
        match reply {
            Ok((addresses, _, _)) => Ok(addresses
                .iter()
                .filter_map(|(_, family, bytes)| ip(*family, bytes))
                .collect()),
            Err(zbus::Error::MethodError(error_name, message, _)) => {
                Err(probe_failure(error_name.as_str(), message.as_deref()))
            }
            Err(err) => Err(ProbeFailure::Other(format!("systemd-resolved: {err}"))),
        }
    }
}

/// Waits for the next signal; `None` when the bus connection ended. Malformed messages are
/// skipped.
pub async fn next_signal(streams: &mut SelectAll<MessageStream>) -> Option<Message> {
    loop {
        match streams.next().await? {
            Ok(message) => return Some(message),
            Err(err) => tracing::debug!("malformed D-Bus message ignored: {err}"),
        }
    }
}

/// What a D-Bus error from `ResolveHostname` means for a probe.
pub fn probe_failure(error_name: &str, message: Option<&str>) -> ProbeFailure {
    match error_name {
        "org.freedesktop.resolve1.DnsError.NXDOMAIN" | "org.freedesktop.resolve1.NoSuchRR" => {
            ProbeFailure::NxDomain
        }
        "org.freedesktop.resolve1.DnsError.SERVFAIL"
        | "org.freedesktop.resolve1.DnsError.REFUSED" => ProbeFailure::ServFail,
        "org.freedesktop.DBus.Error.Timeout" | "org.freedesktop.DBus.Error.NoReply" => {
            ProbeFailure::Timeout
        }
        "org.freedesktop.resolve1.NoNameServers" => ProbeFailure::NoServers,
        // The text is the peer's: one line, an excerpt.
        other => ProbeFailure::Other(format!(
            "systemd-resolved: {}",
            crate::text::Excerpt(message.filter(|m| !m.is_empty()).unwrap_or(other))
        )),
    }
}

/// An address from a `(family, bytes)` pair, as resolved and systemd-timesyncd send them.
pub(crate) fn ip(family: i32, bytes: &[u8]) -> Option<IpAddr> {
    match family {
        libc::AF_INET => <[u8; 4]>::try_from(bytes)
            .ok()
            .map(|b| IpAddr::V4(Ipv4Addr::from(b))),
        libc::AF_INET6 => <[u8; 16]>::try_from(bytes)
            .ok()
            .map(|b| IpAddr::V6(Ipv6Addr::from(b))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_from_bus_pairs() {
        assert_eq!(
            ip(libc::AF_INET, &[10, 77, 0, 1]),
            Some(IpAddr::V4(Ipv4Addr::new(10, 77, 0, 1)))
        );
        assert_eq!(ip(libc::AF_INET, &[10, 77, 0]), None);
        assert_eq!(
            ip(libc::AF_INET6, &[0; 16]),
            Some(IpAddr::V6(Ipv6Addr::UNSPECIFIED))
        );
        assert_eq!(ip(0, &[]), None, "an unset CurrentDNSServer is (0, [])");
    }

    #[test]
    fn a_scope_keeps_at_most_resolveds_own_limits() {
        let mut scope = ScopeConfig::default();
        for i in 0..MAX_SERVERS + 10 {
            scope.add_server(IpAddr::V4(Ipv4Addr::from(i as u32)));
        }
        for i in 0..MAX_DOMAINS + 10 {
            scope.add_domain(format!("d{i}.example"));
        }
        scope.add_domain("x".repeat(MAX_DOMAIN_BYTES + 1));
        assert_eq!(scope.servers.len(), MAX_SERVERS);
        assert_eq!(scope.domains.len(), MAX_DOMAINS);
        let mut scope = ScopeConfig::default();
        scope.add_domain("x".repeat(MAX_DOMAIN_BYTES + 1));
        scope.add_domain("x".repeat(MAX_DOMAIN_BYTES));
        assert_eq!(scope.domains, ["x".repeat(MAX_DOMAIN_BYTES)]);
    }

    #[test]
    fn resolve_errors_map_to_probe_failures() {
        assert_eq!(
            probe_failure("org.freedesktop.resolve1.DnsError.NXDOMAIN", None),
            ProbeFailure::NxDomain
        );
        assert_eq!(
            probe_failure("org.freedesktop.resolve1.DnsError.SERVFAIL", None),
            ProbeFailure::ServFail
        );
        assert_eq!(
            probe_failure("org.freedesktop.DBus.Error.Timeout", None),
            ProbeFailure::Timeout
        );
        assert_eq!(
            probe_failure("org.freedesktop.resolve1.NoNameServers", None),
            ProbeFailure::NoServers
        );
        assert_eq!(
            probe_failure("org.example.Odd", Some("odd")),
            ProbeFailure::Other("systemd-resolved: odd".into())
        );
    }
}
