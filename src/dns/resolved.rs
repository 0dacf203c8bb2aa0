//! systemd-resolved over D-Bus (zbus on tokio): its global and per-link DNS configuration, the
//! signals that say it changed, and name resolution for `--dns-probe`.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use futures::StreamExt;
use zbus::proxy::CacheProperties;
use zbus::{Connection, MatchRule, MessageStream, OwnedObjectPath};

use crate::core::dns::ProbeFailure;

/// resolved's well-known bus name.
pub const SERVICE: &str = "org.freedesktop.resolve1";

#[zbus::proxy(
    interface = "org.freedesktop.resolve1.Manager",
    default_service = "org.freedesktop.resolve1",
    default_path = "/org/freedesktop/resolve1"
)]
trait Manager {
    fn get_link(&self, ifindex: i32) -> zbus::Result<OwnedObjectPath>;

    fn resolve_hostname(
        &self,
        ifindex: i32,
        name: &str,
        family: i32,
        flags: u64,
    ) -> zbus::Result<(Vec<(i32, i32, Vec<u8>)>, String, u64)>;

    #[zbus(property, name = "DNS")]
    fn dns(&self) -> zbus::Result<Vec<(i32, i32, Vec<u8>)>>;

    #[zbus(property, name = "CurrentDNSServer")]
    fn current_dns_server(&self) -> zbus::Result<(i32, i32, Vec<u8>)>;

    #[zbus(property)]
    fn domains(&self) -> zbus::Result<Vec<(i32, String, bool)>>;
}

#[zbus::proxy(
    interface = "org.freedesktop.resolve1.Link",
    default_service = "org.freedesktop.resolve1"
)]
trait Link {
    #[zbus(property)]
    fn default_route(&self) -> zbus::Result<bool>;

    #[zbus(property, name = "CurrentDNSServer")]
    fn current_dns_server(&self) -> zbus::Result<(i32, Vec<u8>)>;
}

/// resolved's configuration of one scope, as read over the bus (before accessibility).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeConfig {
    pub servers: Vec<IpAddr>,
    pub current: Option<IpAddr>,
    pub default_route: bool,
    pub domains: Vec<String>,
}

/// resolved's whole configuration for the links asked about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolvedConfig {
    pub global: ScopeConfig,
    /// Links resolved knows (absent: resolved has no configuration for it).
    pub links: BTreeMap<u32, ScopeConfig>,
}

/// A connection to the system bus for talking to resolved (cheap to clone).
#[derive(Clone)]
pub struct ResolvedClient {
    connection: Connection,
    manager: ManagerProxy<'static>,
}

impl ResolvedClient {
    /// Connects to the system bus (`$DBUS_SYSTEM_BUS_ADDRESS` or the default socket).
    pub async fn connect() -> zbus::Result<ResolvedClient> {
        let connection = Connection::system().await?;
        let manager = ManagerProxy::builder(&connection)
            .cache_properties(CacheProperties::No)
            .build()
            .await?;
        Ok(ResolvedClient {
            connection,
            manager,
        })
    }

    /// Subscribes to everything that means resolved's configuration may have changed: its
    /// property changes and its name appearing, moving or vanishing. Subscribe before reading,
    /// so that no change is lost in between.
    pub async fn changes(&self) -> zbus::Result<futures::stream::SelectAll<MessageStream>> {
        let properties = MatchRule::builder()
            .msg_type(zbus::message::Type::Signal)
            .sender(SERVICE)
            .interface("org.freedesktop.DBus.Properties")
            .member("PropertiesChanged")
            .path_namespace("/org/freedesktop/resolve1")
            .build()?;
        let owner = MatchRule::builder()
            .msg_type(zbus::message::Type::Signal)
            .sender("org.freedesktop.DBus")
            .interface("org.freedesktop.DBus")
            .member("NameOwnerChanged")
            .arg(0, SERVICE)
            .build()?;
        let mut streams = futures::stream::SelectAll::new();
        streams.push(MessageStream::for_match_rule(properties, &self.connection, None).await?);
        streams.push(MessageStream::for_match_rule(owner, &self.connection, None).await?);
        Ok(streams)
    }

    /// Reads the global configuration and that of each link in `ifindexes`; the calls run
    /// concurrently on the one connection.
    pub async fn fetch(&self, ifindexes: &[u32]) -> zbus::Result<ResolvedConfig> {
        let (servers, current, domains, links) = tokio::join!(
            self.manager.dns(),
            self.manager.current_dns_server(),
            self.manager.domains(),
            futures::future::join_all(ifindexes.iter().map(|&i| self.fetch_link(i))),
        );
        let mut config = ResolvedConfig::default();
        let mut per_link: BTreeMap<u32, ScopeConfig> = BTreeMap::new();
        for (ifindex, family, bytes) in servers? {
            let Some(address) = ip(family, &bytes) else {
                continue;
            };
            match u32::try_from(ifindex).ok().filter(|&i| i > 0) {
                None => config.global.servers.push(address),
                Some(i) => per_link.entry(i).or_default().servers.push(address),
            }
        }
        let (_, family, bytes) = current?;
        config.global.current = ip(family, &bytes);
        for (ifindex, domain, _route_only) in domains? {
            match u32::try_from(ifindex).ok().filter(|&i| i > 0) {
                None => config.global.domains.push(domain),
                Some(i) => per_link.entry(i).or_default().domains.push(domain),
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
        let path = match self.manager.get_link(index).await {
            Ok(path) => path,
            Err(zbus::Error::MethodError(..)) => return Ok(None),
            Err(err) => return Err(err),
        };
        let link = LinkProxy::builder(&self.connection)
            .path(path)
            .cache_properties(CacheProperties::No)
            .build()
            .await?;
        let (default_route, current) =
            tokio::join!(link.default_route(), link.current_dns_server());
        let (family, bytes) = current?;
        Ok(Some((default_route?, ip(family, &bytes))))
    }

    /// Resolves `name` through resolved (A and AAAA). Errors are mapped to what they mean
    /// for a probe.
    pub async fn resolve(&self, name: &str) -> Result<Vec<IpAddr>, ProbeFailure> {
        match self
            .manager
            .resolve_hostname(0, name, libc::AF_UNSPEC, 0)
            .await
        {
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

/// Waits for the next change notification; `None` when the bus connection ended.
pub async fn next_change(streams: &mut futures::stream::SelectAll<MessageStream>) -> Option<()> {
    streams.next().await.map(|_| ())
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
        other => ProbeFailure::Other(format!(
            "systemd-resolved: {}",
            message.filter(|m| !m.is_empty()).unwrap_or(other)
        )),
    }
}

/// An address from resolved's `(family, bytes)` pair.
fn ip(family: i32, bytes: &[u8]) -> Option<IpAddr> {
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
