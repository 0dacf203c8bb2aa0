//! wait-online beside NetworkManager's own `nm-online -s` on the same scenarios, with the real
//! NetworkManager 1.42.4 (unpacked by `tests/setup-deps.sh`) in namespaces this program
//! creates, interleaved round by round. Run as root:
//!
//!     cargo bench --bench networkmanager     # WAIT_ONLINE_BENCH_ROUNDS=N to change rounds
//!
//! Prints medians (and 90th percentiles) of:
//! - activation: both waiters wait while NetworkManager is not running; it is started with a
//!   static profile for wo0; the time from its exec to each waiter's exit;
//! - startup: wo0 already activated; the time from spawning each waiter to its exit, for
//!   wait-online following NetworkManager, with `--manager=auto`, on kernel facts alone, and
//!   `nm-online -s`.
//!
//! Every waiter runs through the same `nsenter` wrapper, whose cost is in every figure.

#[path = "../tests/it/common/mod.rs"]
#[allow(dead_code, unused_imports)]
mod common;

use std::time::{Duration, Instant};

use common::networkmanager::{DEVICE_STATE_ACTIVATED, NmEnv, nm_online_bin, static_profile};
use common::{Netns, run_wait_online, run_wait_online_bg, wait_online_bin};

fn percentile(values: &mut [f64], q: f64) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    let index = ((values.len() as f64 - 1.0) * q).round() as usize;
    values[index]
}

/// Prints one row per tool; with `ratio`, also the first median over the second.
fn report(name: &str, rows: &mut [(&str, Vec<f64>)], ratio: Option<&str>) {
    println!("\n{name}");
    let mut medians = Vec::new();
    for (label, values) in rows.iter_mut() {
        let median = percentile(values, 0.5);
        let p90 = percentile(values, 0.9);
        medians.push(median);
        println!(
            "  {label:<44} median {median:8.2} ms   p90 {p90:8.2} ms   (n={})",
            values.len()
        );
    }
    if let (Some(label), [first, second, ..]) = (ratio, medians.as_slice())
        && *second > 0.0
    {
        println!("  ratio {label}: {:.2}x", first / second);
    }
}

fn main() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("networkmanager bench: needs root (network namespaces); skipped");
        return;
    }
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return; // `cargo test --benches` probes; the benchmark runs only under `cargo bench`
    }
    let rounds: usize = std::env::var("WAIT_ONLINE_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(15);
    let mut env = NmEnv::new();
    let peer = Netns::new();
    env.netns().add_veth("wo0", Some(&peer), "wo0p");
    peer.add_addr("wo0p", "10.77.0.1/24");
    peer.link_up("wo0p");
    env.write_profile("wo0", &static_profile("wo0", "10.77.0.2/24"));
    let limit = Duration::from_secs(30);
    let ours_args = [
        "--manager=networkmanager",
        "-i",
        "wo0:routable",
        "--timeout=20",
    ];
    let nm_args = ["-s", "-q", "-t", "20"];

    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    for _ in 0..rounds {
        env.netns().ip(&["addr", "flush", "dev", "wo0"]);
        let spawned_ours = Instant::now();
        let ours_waiter = run_wait_online_bg(env.run(wait_online_bin(), &ours_args), limit);
        let spawned_nm = Instant::now();
        let nm_waiter = run_wait_online_bg(env.run(&nm_online_bin(), &nm_args), limit);
        std::thread::sleep(Duration::from_millis(300));
        let exec = Instant::now();
        env.start_networkmanager();
        let (a, b) = (ours_waiter.join().unwrap(), nm_waiter.join().unwrap());
        assert_eq!(a.code, Some(0), "wait-online: {}", a.describe());
        assert_eq!(b.code, Some(0), "nm-online -s: {}", b.describe());
        // A waiter exited at spawn + elapsed; measured here from NetworkManager's exec.
        let after_exec = |r: &common::RunResult, spawned: Instant| {
            let waited_before = exec.duration_since(spawned);
            r.elapsed.saturating_sub(waited_before).as_secs_f64() * 1000.0
        };
        ours.push(after_exec(&a, spawned_ours));
        theirs.push(after_exec(&b, spawned_nm));
        env.kill_networkmanager();
    }
    report(
        "NetworkManager exec -> waiter exit (static profile activated)",
        &mut [
            ("nm-online -s", theirs),
            ("wait-online --manager=networkmanager -i wo0", ours),
        ],
        Some("nm-online/wait-online"),
    );

    env.start_networkmanager();
    env.wait_for_device_state("wo0", DEVICE_STATE_ACTIVATED, Duration::from_secs(10));
    env.wait_for_startup_complete(Duration::from_secs(10));
    let tools: [(&str, String, Vec<&str>); 4] = [
        ("nm-online -s", nm_online_bin(), nm_args.to_vec()),
        (
            "wait-online --manager=networkmanager -i wo0",
            wait_online_bin().to_string(),
            ours_args.to_vec(),
        ),
        (
            "wait-online (auto) -i wo0",
            wait_online_bin().to_string(),
            vec!["-i", "wo0:routable", "--timeout=20"],
        ),
        (
            "wait-online --manager=none -i wo0",
            wait_online_bin().to_string(),
            vec!["--manager=none", "-i", "wo0:routable", "--timeout=20"],
        ),
    ];
    let mut startup: Vec<(&str, Vec<f64>)> = tools.iter().map(|t| (t.0, Vec::new())).collect();
    for _ in 0..rounds {
        for (i, (label, bin, args)) in tools.iter().enumerate() {
            let r = run_wait_online(env.run(bin, args), limit);
            assert_eq!(r.code, Some(0), "{label}: {}", r.describe());
            startup[i].1.push(r.elapsed.as_secs_f64() * 1000.0);
        }
    }
    report(
        "startup -> exit, wo0 already activated, NetworkManager on the bus",
        &mut startup,
        Some("nm-online/wait-online"),
    );
}
