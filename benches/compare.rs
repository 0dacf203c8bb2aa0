//! Side-by-side benchmark of upstream systemd-networkd-wait-online and wait-online on the same
//! scenarios, interleaved round by round, in namespaces this program creates. Run as root:
//!
//!     cargo bench --bench compare            # WAIT_ONLINE_BENCH_ROUNDS=N to change rounds
//!
//! Prints medians (and 90th percentiles) of: reaction latency (one raw RTM_NEWADDR sent by
//! this process → the waiter's exit observed by wait4), with systemd-networkd running and
//! kernel-only; startup → exit when already online; peak RSS; wakeups while idle-waiting 5 s;
//! and for `--dns` (no upstream v252 to compare with): the time from systemd-resolved publishing
//! a link's DNS server to the waiter's exit, and what `--dns` adds to startup.
//!
//! `WAIT_ONLINE_BASELINE_BIN=/path/to/an/older/wait-online` adds that build as one more tool,
//! interleaved in the same rounds, and prints baseline/ours beside upstream/ours: how a change
//! compares with the tree before it, measured in the same run (build the baseline with
//! `cargo build --release` in a worktree of the older commit).

// The integration tests' helpers; a bench uses only some of them.
#[allow(dead_code, unused_imports)]
#[path = "../tests/it/common/mod.rs"]
mod common;
#[allow(dead_code)]
#[path = "support/mod.rs"]
mod support;

use std::fs::File;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::AsFd;
use std::path::Path;
use std::thread::sleep;
use std::time::{Duration, Instant};

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage,
    NetlinkPayload,
};
use netlink_packet_route::address::{AddressAttribute, AddressMessage, AddressScope};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};
use rustix::thread::{LinkNameSpaceType, move_into_link_name_space};

use common::{Netns, NetworkdEnv, UPSTREAM_WAIT_ONLINE, wait_online_bin};
use support::{Place, median, percentile, rotated, spawn, wait};

fn enter(path: &Path, kind: LinkNameSpaceType) -> std::io::Result<()> {
    let file = File::open(path)?;
    move_into_link_name_space(file.as_fd(), Some(kind))?;
    Ok(())
}

/// A NETLINK_ROUTE socket bound inside `netns`, for triggers sent without fork/exec.
fn socket_in(netns: &Path) -> Socket {
    let netns = netns.to_path_buf();
    std::thread::spawn(move || {
        enter(&netns, LinkNameSpaceType::Network).expect("setns");
        let mut socket = Socket::new(NETLINK_ROUTE).expect("socket");
        socket.bind_auto().expect("bind");
        socket
    })
    .join()
    .unwrap()
}

fn address_request(ifindex: u32, ip: Ipv4Addr, add: bool) -> Vec<u8> {
    let mut message = AddressMessage::default();
    message.header.family = AddressFamily::Inet;
    message.header.prefix_len = 24;
    message.header.scope = AddressScope::Universe;
    message.header.index = ifindex;
    message
        .attributes
        .push(AddressAttribute::Local(IpAddr::V4(ip)));
    message
        .attributes
        .push(AddressAttribute::Address(IpAddr::V4(ip)));
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | NLM_F_ACK | if add { NLM_F_CREATE | NLM_F_EXCL } else { 0 };
    let payload = if add {
        RouteNetlinkMessage::NewAddress(message)
    } else {
        RouteNetlinkMessage::DelAddress(message)
    };
    let mut packet = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(payload));
    packet.finalize();
    let mut bytes = vec![0; packet.buffer_len()];
    packet.serialize(&mut bytes);
    bytes
}

fn send_and_ack(socket: &Socket, bytes: &[u8]) {
    socket
        .send_to(bytes, &SocketAddr::new(0, 0), 0)
        .expect("send");
    let mut reply = Vec::with_capacity(4096);
    socket.recv(&mut reply, 0).expect("ack");
}

struct Tool {
    label: &'static str,
    bin: &'static str,
    extra: &'static [&'static str],
}

fn report(name: &str, unit: &str, rows: &mut [(&str, Vec<f64>)]) {
    report_with_ratio(name, unit, rows, "upstream/ours");
}

/// Like [`report`]; with two rows or more, also prints first/second median as `ratio_label`,
/// and the baseline's median over ours when the baseline is one of the rows.
fn report_with_ratio(name: &str, unit: &str, rows: &mut [(&str, Vec<f64>)], ratio_label: &str) {
    println!("\n{name}");
    let mut medians = Vec::new();
    for (label, values) in rows.iter_mut() {
        let m = median(values);
        let p90 = percentile(values, 0.9);
        medians.push(m);
        println!(
            "  {label:<34} median {m:9.3} {unit}   p90 {p90:9.3} {unit}   (n={})",
            values.len()
        );
    }
    if medians.len() >= 2 && rows[1].0 != BASELINE_LABEL && medians[1] > 0.0 {
        println!("  ratio {ratio_label}: {:.2}x", medians[0] / medians[1]);
    }
    let ours = rows
        .iter()
        .position(|(label, _)| label.starts_with("wait-online"));
    let baseline = rows.iter().position(|(label, _)| *label == BASELINE_LABEL);
    if let (Some(ours), Some(baseline)) = (ours, baseline)
        && medians[ours] > 0.0
    {
        println!(
            "  ratio baseline/ours: {:.2}x",
            medians[baseline] / medians[ours]
        );
    }
}

/// How the baseline build (`WAIT_ONLINE_BASELINE_BIN`) is labelled in the rows.
const BASELINE_LABEL: &str = "baseline (WAIT_ONLINE_BASELINE_BIN)";

/// The baseline build, when `WAIT_ONLINE_BASELINE_BIN` names one, with `extra` arguments.
fn baseline(extra: &'static [&'static str]) -> Option<Tool> {
    let bin = std::env::var("WAIT_ONLINE_BASELINE_BIN").ok()?;
    assert!(
        Path::new(&bin).is_file(),
        "WAIT_ONLINE_BASELINE_BIN={bin}: no such file"
    );
    Some(Tool {
        label: BASELINE_LABEL,
        bin: Box::leak(bin.into_boxed_str()),
        extra,
    })
}

/// The rows of one measure: each tool's label and values, in the tools' order.
fn rows<'a>(tools: &'a [Tool], values: &mut [Vec<f64>]) -> Vec<(&'a str, Vec<f64>)> {
    tools
        .iter()
        .zip(values.iter_mut())
        .map(|(tool, values)| (tool.label, std::mem::take(values)))
        .collect()
}

/// Reaction latency: the waiter waits for `wo0:routable`; this process adds the address with
/// one netlink message and measures until wait4 returns.
fn reaction(
    place: &Place,
    socket: &Socket,
    ifindex: u32,
    tools: &[Tool],
    rounds: usize,
    settle: &dyn Fn(bool),
) -> Vec<Vec<f64>> {
    let mut results = vec![Vec::new(); tools.len()];
    let ip = Ipv4Addr::new(10, 77, 0, 2);
    for round in 0..rounds {
        for i in rotated(round, tools.len()) {
            let tool = &tools[i];
            let mut args = vec!["-i", "wo0:routable", "--timeout=20"];
            args.extend_from_slice(tool.extra);
            let (pid, start) = spawn(place, tool.bin, &args);
            sleep(Duration::from_millis(300));
            let trigger = Instant::now();
            send_and_ack(socket, &address_request(ifindex, ip, true));
            let done = wait(pid, start);
            assert_eq!(done.code, 0, "{} did not exit 0", tool.label);
            results[i].push((done.end - trigger).as_secs_f64() * 1000.0);
            send_and_ack(socket, &address_request(ifindex, ip, false));
            settle(false);
        }
    }
    results
}

fn startup(place: &Place, tools: &[Tool], rounds: usize) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
    let mut wall = vec![Vec::new(); tools.len()];
    let mut rss = vec![Vec::new(); tools.len()];
    for round in 0..rounds {
        for i in rotated(round, tools.len()) {
            let tool = &tools[i];
            let mut args = vec!["-i", "wo0:routable", "--timeout=20"];
            args.extend_from_slice(tool.extra);
            let (pid, start) = spawn(place, tool.bin, &args);
            let done = wait(pid, start);
            assert_eq!(done.code, 0, "{} did not exit 0", tool.label);
            wall[i].push(done.wall.as_secs_f64() * 1000.0);
            rss[i].push(done.max_rss_kib as f64 / 1024.0);
        }
    }
    (wall, rss)
}

fn idle_wakeups(place: &Place, tool: &Tool) -> f64 {
    let mut args = vec!["-i", "absent0:routable", "--timeout=30"];
    args.extend_from_slice(tool.extra);
    support::idle_wakeups(place, tool.bin, &args)
}

fn main() {
    if support::skipped("compare") {
        return;
    }
    let rounds = support::rounds(25);
    let upstream = Tool {
        label: "upstream systemd-networkd-wait-online",
        bin: UPSTREAM_WAIT_ONLINE,
        extra: &[],
    };
    let ours = Tool {
        label: "wait-online",
        bin: wait_online_bin(),
        extra: &[],
    };
    let ours_kernel = Tool {
        label: "wait-online --manager=none",
        bin: wait_online_bin(),
        extra: &["--manager=none"],
    };
    println!("wait-online benchmark: {rounds} rounds per measure, tools interleaved");

    // --- with systemd-networkd managing wo0 (no address in its .network) ---
    let mut env = NetworkdEnv::new();
    let peer = Netns::new();
    env.netns().add_veth("wo0", Some(&peer), "wo0p");
    peer.add_addr("wo0p", "10.77.0.1/24");
    peer.link_up("wo0p");
    env.write_network(
        "10-wo0.network",
        "[Match]\nName=wo0\n\n[Network]\nLinkLocalAddressing=no\nIPv6AcceptRA=no\nKeepConfiguration=yes\n",
    );
    env.start_networkd();
    env.wait_for_setup_state("wo0", "configured", Duration::from_secs(10));
    let holder = env.holder_pid();
    let place = Place::holder(holder);
    let ifindex = env.netns().ifindex("wo0");
    let socket = socket_in(&place.net);
    // networkd must have seen the address go before the next round (upstream reads its file).
    let settle = |_: bool| {
        let ok = common::wait_until(Duration::from_secs(5), Duration::from_millis(5), || {
            env.link_state_value("wo0", "OPER_STATE").as_deref() == Some("carrier")
        });
        assert!(ok, "networkd did not notice the address removal");
    };
    let tools: Vec<Tool> = [upstream, ours].into_iter().chain(baseline(&[])).collect();
    let mut r = reaction(&place, &socket, ifindex, &tools, rounds, &settle);
    report(
        "reaction: address added -> exit, systemd-networkd running",
        "ms",
        &mut rows(&tools, &mut r),
    );

    send_and_ack(
        &socket,
        &address_request(ifindex, Ipv4Addr::new(10, 77, 0, 2), true),
    );
    assert!(common::wait_until(
        Duration::from_secs(5),
        Duration::from_millis(5),
        || { env.link_state_value("wo0", "OPER_STATE").as_deref() == Some("routable") }
    ));
    let (mut wall, mut rss) = startup(&place, &tools, rounds);
    report(
        "startup -> exit, already routable, systemd-networkd running",
        "ms",
        &mut rows(&tools, &mut wall),
    );
    report("peak RSS, same runs", "MiB", &mut rows(&tools, &mut rss));
    send_and_ack(
        &socket,
        &address_request(ifindex, Ipv4Addr::new(10, 77, 0, 2), false),
    );
    settle(false);

    println!("\nwakeups while waiting 5 s for an absent link (context switches, all threads)");
    for tool in &tools {
        println!("  {:<34} {}", tool.label, idle_wakeups(&place, tool));
    }
    drop(socket);
    drop(env);

    dns_measures(rounds);

    // --- kernel only (upstream cannot run without networkd) ---
    let ns = Netns::new();
    ns.add_veth("wo0", None, "wo0p");
    ns.link_up("wo0");
    ns.link_up("wo0p");
    let place = Place::netns(&ns);
    let ifindex = ns.ifindex("wo0");
    let socket = socket_in(&place.net);
    let kernel_tools: Vec<Tool> = [ours_kernel]
        .into_iter()
        .chain(baseline(&["--manager=none"]))
        .collect();
    let mut r = reaction(&place, &socket, ifindex, &kernel_tools, rounds, &|_| {});
    report(
        "reaction: address added -> exit, kernel only",
        "ms",
        &mut rows(&kernel_tools, &mut r),
    );
    send_and_ack(
        &socket,
        &address_request(ifindex, Ipv4Addr::new(10, 77, 0, 2), true),
    );
    let (mut wall, mut rss) = startup(&place, &kernel_tools, rounds);
    report(
        "startup -> exit, already routable, kernel only",
        "ms",
        &mut rows(&kernel_tools, &mut wall),
    );
    report(
        "peak RSS, same runs",
        "MiB",
        &mut rows(&kernel_tools, &mut rss),
    );
    println!("\nwakeups while waiting 5 s, kernel only");
    for tool in &kernel_tools {
        println!("  {:<34} {}", tool.label, idle_wakeups(&place, tool));
    }
}

/// `--dns` with the real systemd-resolved: reaction to resolved publishing a link's server, and
/// startup cost when everything is ready.
fn dns_measures(rounds: usize) {
    use futures::StreamExt;

    let Some(_) = common::resolved_root() else {
        println!("\n--dns: skipped (run tests/setup-deps.sh to unpack systemd-resolved)");
        return;
    };
    let network = |dns: &str| {
        format!(
            "[Match]\nName=wo0\n\n[Network]\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n\
             Address=10.77.0.2/24\nDomains=test.wohx\n{dns}"
        )
    };
    let mut env = NetworkdEnv::with_resolved();
    let peer = Netns::new();
    env.netns().add_veth("wo0", Some(&peer), "wo0p");
    peer.link_up("wo0p");
    env.write_network("10-wo0.network", &network(""));
    env.start_resolved();
    env.start_networkd();
    env.wait_for_setup_state("wo0", "configured", Duration::from_secs(10));
    let holder = env.holder_pid();
    let place = Place::holder(holder);
    // This process listens on the same private bus for the moment resolved publishes.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let bus = format!("unix:path=/proc/{holder}/root/run/dbus/system_bus_socket");
    let connection = runtime.block_on(async {
        zbus::connection::Builder::address(bus.as_str())
            .build()
            .await
            .unwrap()
    });
    let rule = zbus::MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .sender("org.freedesktop.resolve1")
        .member("PropertiesChanged")
        .path("/org/freedesktop/resolve1")
        .build()
        .unwrap();
    let mut signals = runtime
        .block_on(zbus::MessageStream::for_match_rule(rule, &connection, None))
        .unwrap();

    let mut reaction = Vec::new();
    for _ in 0..rounds {
        let (pid, start) = spawn(
            &place,
            wait_online_bin(),
            &["-i", "wo0", "--dns", "--timeout=20"],
        );
        sleep(Duration::from_millis(300));
        // Drain old signals, change the configuration, wait for resolved's announcement.
        runtime.block_on(async {
            while tokio::time::timeout(Duration::from_millis(20), signals.next())
                .await
                .is_ok()
            {}
        });
        env.write_network("10-wo0.network", &network("DNS=10.77.0.1\n"));
        env.networkctl(&["reload"]);
        let published = runtime.block_on(async {
            tokio::time::timeout(Duration::from_secs(10), signals.next())
                .await
                .expect("resolved's signal");
            Instant::now()
        });
        let done = wait(pid, start);
        assert_eq!(done.code, 0, "wait-online --dns did not exit 0");
        reaction.push(done.end.saturating_duration_since(published).as_secs_f64() * 1000.0);
        env.write_network("10-wo0.network", &network(""));
        env.networkctl(&["reload"]);
        assert!(common::wait_until(
            Duration::from_secs(10),
            Duration::from_millis(10),
            || { env.link_dns("wo0").is_empty() }
        ));
    }
    report(
        "--dns reaction: resolved publishes the link's DNS server -> exit",
        "ms",
        &mut [("wait-online --dns", reaction)],
    );

    env.write_network("10-wo0.network", &network("DNS=10.77.0.1\n"));
    env.networkctl(&["reload"]);
    env.wait_for_link_dns("wo0", "10.77.0.1", Duration::from_secs(10));
    let plain = Tool {
        label: "wait-online -i wo0:routable",
        bin: wait_online_bin(),
        extra: &[],
    };
    let with_dns = Tool {
        label: "... --dns",
        bin: wait_online_bin(),
        extra: &["--dns"],
    };
    let tools = [plain, with_dns];
    let (mut wall, mut rss) = startup(&place, &tools, rounds);
    report_with_ratio(
        "startup -> exit, already routable with DNS (cost of --dns)",
        "ms",
        &mut [
            (tools[0].label, std::mem::take(&mut wall[0])),
            (tools[1].label, std::mem::take(&mut wall[1])),
        ],
        "without/with --dns",
    );
    report_with_ratio(
        "peak RSS, same runs",
        "MiB",
        &mut [
            (tools[0].label, std::mem::take(&mut rss[0])),
            (tools[1].label, std::mem::take(&mut rss[1])),
        ],
        "without/with --dns",
    );
}
