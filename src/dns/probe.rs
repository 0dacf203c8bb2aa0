//! One `--dns-probe` attempt: through systemd-resolved when it runs, otherwise straight to
//! the configured servers with hickory-resolver; always bounded by its own time limit.

use std::net::IpAddr;
use std::time::Duration;

use hickory_resolver::Resolver;
use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts};
use hickory_resolver::net::NetError;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::op::ResponseCode;

use super::resolved::ResolvedClient;
use crate::core::dns::ProbeFailure;

/// Who answers the probe.
#[derive(Clone)]
pub enum ProbeRoute {
    Resolved(ResolvedClient),
    /// These servers directly (from /etc/resolv.conf).
    Servers(Vec<IpAddr>),
}

/// Resolves `name` once, within `limit`.
pub async fn attempt(
    name: String,
    route: ProbeRoute,
    limit: Duration,
) -> Result<Vec<IpAddr>, ProbeFailure> {
    let lookup = async move {
        match route {
            ProbeRoute::Resolved(client) => client.resolve(&name).await,
            ProbeRoute::Servers(servers) => resolve_directly(&name, &servers, limit).await,
        }
    };
    match tokio::time::timeout(limit, lookup).await {
        Ok(result) => result,
        Err(_) => Err(ProbeFailure::Timeout),
    }
}

async fn resolve_directly(
    name: &str,
    servers: &[IpAddr],
    limit: Duration,
) -> Result<Vec<IpAddr>, ProbeFailure> {
    if servers.is_empty() {
        return Err(ProbeFailure::NoServers);
    }
    let config = ResolverConfig::from_name_servers(
        servers
            .iter()
            .map(|ip| NameServerConfig::udp_and_tcp(*ip))
            .collect(),
    );
    let mut options = ResolverOpts::default();
    options.timeout = limit;
    options.attempts = 1;
    options.cache_size = 0;
    options.use_hosts_file = ResolveHosts::Never;
    let resolver = Resolver::builder_with_config(config, TokioRuntimeProvider::default())
        .with_options(options)
        .build()
        .map_err(|err| ProbeFailure::Other(format!("cannot set up the resolver: {err}")))?;
    // A fully qualified name: no search domains.
    let fqdn = format!("{}.", name.trim_end_matches('.'));
    match resolver.lookup_ip(fqdn.as_str()).await {
        Ok(lookup) => Ok(lookup.iter().collect()),
        Err(err) => Err(failure(&err)),
    }
}

fn failure(err: &NetError) -> ProbeFailure {
    if err.is_nx_domain() {
        return ProbeFailure::NxDomain;
    }
    match err {
        NetError::Dns(hickory_resolver::net::DnsError::ResponseCode(
            ResponseCode::ServFail | ResponseCode::Refused,
        )) => ProbeFailure::ServFail,
        NetError::Timeout => ProbeFailure::Timeout,
        other if other.is_no_records_found() => {
            ProbeFailure::Other("the name exists but has no A or AAAA record".into())
        }
        other => ProbeFailure::Other(other.to_string()),
    }
}
