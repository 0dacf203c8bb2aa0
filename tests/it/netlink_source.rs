//! The kernel source against the real kernel, compared with what `ip` reports at the same
//! moment: receive-buffer overflow (ENOBUFS) with a tiny socket buffer and a burst of changes
//! the reader does not drain in time (the source must notice, re-dump, replay only what is
//! newer than the dump, and end up with exactly the kernel's links and addresses), and route
//! tracking, including the IPv4 routes the kernel flushes without telling when a link goes
//! down.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::common::{self, Netns, in_netns, process, synced_source};
use wait_online::core::Family;
use wait_online::core::update::KernelTables;
use wait_online::netlink::{KernelSource, KernelSourceConfig};

/// (ifindex, "address/prefix") of every address, as `ip -o addr` shows them.
fn kernel_addresses(ns: &Netns) -> BTreeSet<(u32, String)> {
    ns.ip(&["-o", "address", "show"])
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let ifindex = words.next()?.trim_end_matches(':').parse().ok()?;
            let _name = words.next()?;
            let _family = words.next()?;
            Some((ifindex, words.next()?.to_string()))
        })
        .collect()
}

/// (ifindex, name) of every link, as `ip -o link` shows them.
fn kernel_links(ns: &Netns) -> BTreeSet<(u32, String)> {
    ns.ip(&["-o", "link", "show"])
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let ifindex = words.next()?.trim_end_matches(':').parse().ok()?;
            let name = words.next()?.trim_end_matches(':');
            Some((ifindex, name.split('@').next()?.to_string()))
        })
        .collect()
}

fn our_addresses(tables: &KernelTables) -> BTreeSet<(u32, String)> {
    tables
        .links
        .values()
        .flat_map(|l| {
            l.addresses
                .iter()
                .map(move |a| (l.ifindex, format!("{}/{}", a.address, a.prefix_len)))
        })
        .collect()
}

/// Reads until nothing arrives for `quiet`.
async fn drain(source: &mut KernelSource, tables: &mut KernelTables, quiet: Duration) {
    while let Ok(result) = tokio::time::timeout(quiet, process(source, tables)).await {
        result.expect("netlink read");
    }
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn overflow_triggers_an_exact_resynchronisation() {
    let _root = common::require_root();
    let ns = Netns::new();
    let mut batch = String::new();
    for i in 0..20 {
        batch.push_str(&format!(
            "link add name v{i} type veth peer name p{i}\nlink set v{i} up\nlink set p{i} up\n"
        ));
    }
    ns.ip_batch(&batch);

    // The burst: many adds and deletes, ending with a known set of addresses left.
    let mut burst = String::new();
    for round in 0..30 {
        // Links that come and go: a stale RTM_NEWLINK replayed after the dump would resurrect one.
        burst.push_str(&format!(
            "link add name t{round} type veth peer name tp{round}\n"
        ));
        if round > 0 {
            burst.push_str(&format!("link del t{}\n", round - 1));
        }
        for i in 0..20 {
            burst.push_str(&format!("address add 10.{i}.{round}.1/24 dev v{i}\n"));
        }
        for i in 0..20 {
            if round % 3 != 0 {
                burst.push_str(&format!("address del 10.{i}.{round}.1/24 dev v{i}\n"));
            }
        }
    }
    let burst_file = std::env::temp_dir().join(format!("{}-burst", ns.name()));
    std::fs::write(&burst_file, &burst).unwrap();

    let burst_copy = burst_file.clone();
    let (stats, ours, our_links) = in_netns(&ns, move || {
        Box::pin(async move {
            let config = KernelSourceConfig {
                receive_buffer: 4096,
                ..KernelSourceConfig::default()
            };
            let (mut source, mut tables) = synced_source(config).await;
            // Not reading while the burst runs: the tiny buffer must overflow.
            let status = std::process::Command::new("ip")
                .args(["-batch", burst_file.to_str().unwrap()])
                .status()
                .unwrap();
            assert!(status.success());
            drain(&mut source, &mut tables, Duration::from_millis(300)).await;
            assert!(source.is_synced(), "resynchronisation did not finish");
            let names: BTreeSet<(u32, String)> = tables
                .links
                .values()
                .map(|l| (l.ifindex, l.name.clone()))
                .collect();
            (source.stats(), our_addresses(&tables), names)
        })
    });
    std::fs::remove_file(&burst_copy).ok();

    assert!(
        stats.overruns >= 1,
        "the burst did not overflow a 4 KiB buffer: {stats:?}"
    );
    assert!(stats.dumps >= 2, "no re-dump after the overflow: {stats:?}");
    assert_eq!(
        our_links,
        kernel_links(&ns),
        "links after resync ({stats:?})"
    );
    let kernel = kernel_addresses(&ns);
    assert_eq!(
        ours, kernel,
        "after resync our addresses must equal the kernel's ({stats:?})"
    );
    let kept = ours.iter().filter(|(_, a)| a.starts_with("10.")).count();
    assert_eq!(kept, 20 * 10, "every third round's addresses are kept");
}

/// A route as `ip -j route show table all` prints it: (table, destination, gateway, device
/// ifindex, metric).
type RouteKey = (u32, String, Option<String>, Option<u32>, u32);

fn kernel_routes(ns: &Netns, family: &str) -> BTreeSet<RouteKey> {
    let ifindex: std::collections::BTreeMap<String, u32> = ns
        .ip(&["-o", "link", "show"])
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let index = words.next()?.trim_end_matches(':').parse().ok()?;
            let name = words
                .next()?
                .trim_end_matches(':')
                .split('@')
                .next()?
                .to_string();
            Some((name, index))
        })
        .collect();
    let json = ns.ip(&["-j", family, "route", "show", "table", "all"]);
    let routes: Vec<serde_json::Value> = serde_json::from_str(&json).expect("ip -j route");
    routes
        .iter()
        .map(|r| {
            let table = match r["table"].as_str() {
                None | Some("main") => 254,
                Some("local") => 255,
                Some("default") => 253,
                Some(number) => number.parse().unwrap(),
            };
            let dev = r["dev"].as_str().map(|d| ifindex[d]);
            let metric = r["metric"].as_u64().unwrap_or(0) as u32;
            let gateway = r["gateway"].as_str().map(str::to_string);
            (
                table,
                r["dst"].as_str().unwrap().to_string(),
                gateway,
                dev,
                metric,
            )
        })
        .collect()
}

fn our_routes(tables: &KernelTables, family: Family) -> BTreeSet<RouteKey> {
    tables
        .routes
        .iter()
        .filter(|r| r.family == family)
        .map(|r| {
            let full = if family == Family::Ipv4 { 32 } else { 128 };
            let destination = match r.destination {
                None => "default".to_string(),
                Some(ip) if r.prefix_len == full => ip.to_string(),
                Some(ip) => format!("{ip}/{}", r.prefix_len),
            };
            let gateway = r.gateway.map(|g| g.to_string());
            (r.table, destination, gateway, r.oif, r.priority)
        })
        .collect()
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn routes_are_tracked_and_silently_flushed_ipv4_routes_forgotten() {
    let _root = common::require_root();
    let ns = Netns::new();
    ns.add_veth("v0", None, "v1");
    ns.link_up("v0");
    ns.link_up("v1");
    ns.add_veth("w0", None, "w1");
    ns.link_up("w0");
    ns.link_up("w1");
    ns.add_addr("v0", "192.0.2.2/24");
    ns.add_addr("w0", "198.51.100.2/24");
    ns.ip(&[
        "-6",
        "address",
        "add",
        "2001:db8::2/64",
        "dev",
        "v0",
        "nodad",
    ]);
    ns.ip(&["route", "add", "default", "via", "192.0.2.1", "dev", "v0"]);
    ns.ip(&[
        "route",
        "add",
        "default",
        "via",
        "198.51.100.1",
        "dev",
        "w0",
        "metric",
        "200",
    ]);
    ns.ip(&[
        "route",
        "add",
        "203.0.113.0/24",
        "via",
        "192.0.2.1",
        "table",
        "100",
    ]);
    ns.ip(&[
        "-6",
        "route",
        "add",
        "default",
        "via",
        "2001:db8::1",
        "dev",
        "v0",
    ]);

    let script = format!(
        "ip -n {ns} route replace 203.0.113.0/24 via 192.0.2.9 table 100 && ip -n {ns} link set v0 down",
        ns = ns.name()
    );
    let (before, after) = in_netns(&ns, move || {
        Box::pin(async move {
            let config = KernelSourceConfig {
                track_routes: true,
                ..KernelSourceConfig::default()
            };
            let (mut source, mut tables) = synced_source(config).await;
            let before = (
                our_routes(&tables, Family::Ipv4),
                our_routes(&tables, Family::Ipv6),
            );
            let status = std::process::Command::new("sh")
                .args(["-c", &script])
                .status()
                .unwrap();
            assert!(status.success());
            drain(&mut source, &mut tables, Duration::from_millis(300)).await;
            let after = (
                our_routes(&tables, Family::Ipv4),
                our_routes(&tables, Family::Ipv6),
            );
            (before, after)
        })
    });
    // The dump saw the configured routes (the kernel has moved on since, so check by content).
    assert!(
        before
            .0
            .iter()
            .any(|r| r.1 == "default" && r.3.is_some() && r.4 == 0)
    );
    assert!(
        before
            .0
            .iter()
            .any(|r| r.0 == 100 && r.2.as_deref() == Some("192.0.2.1"))
    );
    assert!(
        before
            .1
            .iter()
            .any(|r| r.1 == "default" && r.2.as_deref() == Some("2001:db8::1"))
    );
    assert_eq!(
        after.0,
        kernel_routes(&ns, "-4"),
        "IPv4 routes after replace and link down"
    );
    assert_eq!(
        after.1,
        kernel_routes(&ns, "-6"),
        "IPv6 routes after link down"
    );
    let v0 = ns.ifindex("v0");
    assert!(
        !after.0.iter().any(|r| r.3 == Some(v0) && r.0 != 255),
        "the down link's routes are gone, but for its local-table address route"
    );
    assert!(
        after.0.iter().any(|r| r.1 == "default" && r.4 == 200),
        "w0's default route stays"
    );
}

/// Addresses of the link `name`, as `ip -o addr show dev` shows them.
fn kernel_addresses_of(ns: &Netns, name: &str) -> BTreeSet<String> {
    ns.ip(&["-o", "address", "show", "dev", name])
        .lines()
        .filter_map(|line| Some(line.split_whitespace().nth(3)?.to_string()))
        .collect()
}

fn our_addresses_of(tables: &KernelTables, name: &str) -> BTreeSet<String> {
    tables
        .links
        .values()
        .filter(|l| l.has_name(name))
        .flat_map(|l| {
            l.addresses
                .iter()
                .map(|a| format!("{}/{}", a.address, a.prefix_len))
        })
        .collect()
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn scoped_source_fetches_only_the_named_links_and_follows_a_rename_onto_a_name() {
    let _root = common::require_root();
    let ns = Netns::new();
    let mut batch = String::new();
    for i in 0..30 {
        batch.push_str(&format!(
            "link add name v{i} type veth peer name p{i}\nlink set v{i} up\nlink set p{i} up\n\
             address add 10.1.{i}.1/24 dev v{i}\n"
        ));
    }
    batch.push_str("link property add dev v5 altname an-alternative-name-longer-than-15\n");
    batch.push_str("address add 10.7.7.7/24 dev p7\naddress add 10.7.8.7/24 dev p7\n");
    ns.ip_batch(&batch);
    let p7 = ns.ifindex("p7");

    let script = format!(
        "ip -n {ns} link del v3 && ip -n {ns} link set p7 down && ip -n {ns} link set p7 name v3 && ip -n {ns} link set v3 up",
        ns = ns.name()
    );
    let (first, after) = in_netns(&ns, move || {
        Box::pin(async move {
            let config = KernelSourceConfig {
                scope: Some(vec![
                    "v3".into(),
                    "an-alternative-name-longer-than-15".into(),
                    "absent0".into(),
                ]),
                ..KernelSourceConfig::default()
            };
            let (mut source, mut tables) = synced_source(config).await;
            let first = tables.clone();
            let status = std::process::Command::new("sh")
                .args(["-c", &script])
                .status()
                .unwrap();
            assert!(status.success());
            drain(&mut source, &mut tables, Duration::from_millis(300)).await;
            assert!(source.is_synced());
            (first, tables)
        })
    });
    let names: Vec<&str> = first.links.values().map(|l| l.name.as_str()).collect();
    assert_eq!(
        names.len(),
        2,
        "only the named links were fetched: {names:?}"
    );
    assert!(names.contains(&"v3") && names.contains(&"v5"), "{names:?}");
    assert_eq!(
        our_addresses_of(&first, "v5"),
        kernel_addresses_of(&ns, "v5"),
        "a link found by its alternative name, with its addresses"
    );
    // After the rename: the link now called v3 is the old p7, with the addresses it already
    // had (which no event announced).
    let v3 = after.links.values().find(|l| l.name == "v3").expect("v3");
    assert_eq!(v3.ifindex, p7);
    let ours = our_addresses_of(&after, "v3");
    assert!(
        ours.contains("10.7.7.7/24") && ours.contains("10.7.8.7/24"),
        "{ours:?}"
    );
    assert_eq!(ours, kernel_addresses_of(&ns, "v3"));
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn neighbour_entries_are_tracked() {
    let _root = common::require_root();
    let ns = Netns::new();
    ns.add_veth("v0", None, "v1");
    ns.link_up("v0");
    ns.link_up("v1");
    ns.add_addr("v0", "192.0.2.2/24");
    ns.ip(&[
        "neigh",
        "add",
        "192.0.2.50",
        "lladdr",
        "02:00:00:00:00:50",
        "dev",
        "v0",
        "nud",
        "permanent",
    ]);
    let script = format!(
        "ip -n {ns} neigh add 192.0.2.51 lladdr 02:00:00:00:00:51 dev v0 nud stale && \
         ip -n {ns} neigh del 192.0.2.50 dev v0 && \
         ip -n {ns} neigh replace 192.0.2.51 lladdr 02:00:00:00:00:51 dev v0 nud reachable",
        ns = ns.name()
    );
    let v0 = ns.ifindex("v0");
    let (first, after) = in_netns(&ns, move || {
        Box::pin(async move {
            let config = KernelSourceConfig {
                track_neighbours: true,
                ..KernelSourceConfig::default()
            };
            let (mut source, mut tables) = synced_source(config).await;
            let first = tables.neighbours.clone();
            let status = std::process::Command::new("sh")
                .args(["-c", &script])
                .status()
                .unwrap();
            assert!(status.success());
            drain(&mut source, &mut tables, Duration::from_millis(300)).await;
            (first, tables.neighbours)
        })
    });
    use wait_online::core::neighbour::NeighbourState;
    let at = |ip: &str| (v0, ip.parse::<std::net::IpAddr>().unwrap());
    assert_eq!(
        first.get(&at("192.0.2.50")),
        Some(&NeighbourState::Permanent)
    );
    assert_eq!(after.get(&at("192.0.2.50")), None, "deleted");
    assert_eq!(
        after.get(&at("192.0.2.51")),
        Some(&NeighbourState::Reachable)
    );
    let kernel = ns.ip(&["neigh", "show", "dev", "v0"]);
    assert!(
        kernel.contains("192.0.2.51") && kernel.contains("REACHABLE"),
        "{kernel}"
    );
}
