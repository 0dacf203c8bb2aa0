//! Scale benchmark: startup-to-decision and peak RSS for an already-satisfied
//! `-i X:routable` in a namespace with 10, 400 and 4,000 links (veth pairs, half of the links
//! with a global address), and for `--any -o routable`, which fetches and judges every link.
//! Then, in process, what the scoped fetch (`KernelSourceConfig::scope`, which `-i` turns on)
//! saves: the kernel source's open-to-synced time with the scope `a0` and without, the same
//! rounds interleaved. Run as root: `cargo bench --bench scale` (`WAIT_ONLINE_BENCH_ROUNDS=N`
//! to change the rounds, `WAIT_ONLINE_SCALE=10,400` the sizes). With
//! `WAIT_ONLINE_BASELINE_BIN=/path/to/an/older/wait-online`, that build runs the same `-i`
//! case in the same rounds, and its medians are printed beside ours.

// The integration tests' helpers; a bench uses only some of them.
#[allow(dead_code, unused_imports)]
#[path = "../tests/it/common/mod.rs"]
mod common;

use std::fs::File;
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rustix::thread::{LinkNameSpaceType, move_into_link_name_space};

use common::{Netns, in_netns, synced_source, wait_online_bin};
use wait_online::netlink::KernelSourceConfig;

/// Runs wait-online inside `ns` (setns in the child, no wrapper) and returns wall time and
/// peak RSS in KiB.
fn run_once(ns: &Netns, args: &[&str]) -> (Duration, i64, i32) {
    run_bin_once(ns, wait_online_bin(), args)
}

/// [`run_once`] with the binary `bin`.
fn run_bin_once(ns: &Netns, bin: &str, args: &[&str]) -> (Duration, i64, i32) {
    let netns = File::open(ns.path()).expect("open netns");
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: the hook runs in the forked child before exec, and only makes syscalls.
    unsafe {
        cmd.pre_exec(move || {
            move_into_link_name_space(netns.as_fd(), Some(LinkNameSpaceType::Network))?;
            Ok(())
        });
    }
    let start = Instant::now();
    let child = cmd.spawn().expect("spawn");
    let pid = child.id() as libc::pid_t;
    std::mem::forget(child);
    let mut status = 0;
    // SAFETY: zeroed rusage is a valid out-parameter; waiting for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    (start.elapsed(), usage.ru_maxrss, code)
}

/// Milliseconds from opening a kernel source with `config` inside `ns` to its first complete
/// fetch.
fn time_to_sync(ns: &Netns, config: KernelSourceConfig) -> f64 {
    in_netns(ns, move || {
        Box::pin(async move {
            let start = Instant::now();
            let (source, tables) = synced_source(config).await;
            let elapsed = start.elapsed().as_secs_f64() * 1000.0;
            drop((source, tables));
            elapsed
        })
    })
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap());
    values[values.len() / 2]
}

fn main() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("scale: needs root (network namespaces); skipped");
        return;
    }
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return;
    }
    let rounds: usize = std::env::var("WAIT_ONLINE_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(15);
    let sizes: Vec<usize> = std::env::var("WAIT_ONLINE_SCALE")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![10, 400, 4000]);
    println!(
        "scale benchmark: {rounds} rounds per size; -i a0:routable, already satisfied, --manager=none"
    );
    println!(
        "{:>6} {:>12} {:>12} {:>14} {:>14} {:>16}",
        "links", "median ms", "peak RSS MiB", "us per link", "KiB per link", "--any median ms"
    );
    let mut baseline: Option<(f64, f64, usize)> = None;
    let mut fetch_times = Vec::new();
    let older = std::env::var("WAIT_ONLINE_BASELINE_BIN").ok();
    let mut older_medians = Vec::new();
    for links in sizes {
        let ns = Netns::new();
        let pairs = links / 2;
        let mut batch = String::new();
        for i in 0..pairs {
            batch.push_str(&format!(
                "link add name a{i} type veth peer name b{i}\nlink set a{i} up\nlink set b{i} up\n"
            ));
            batch.push_str(&format!(
                "address add 10.{}.{}.1/32 dev a{i}\n",
                (i / 250) % 250,
                i % 250
            ));
        }
        let file = std::env::temp_dir().join(format!("{}-scale", ns.name()));
        std::fs::write(&file, batch).unwrap();
        let created = Instant::now();
        ns.ip(&["-batch", file.to_str().unwrap()]);
        std::fs::remove_file(&file).ok();
        // Let IPv6 link-locals and routes settle before measuring.
        std::thread::sleep(Duration::from_millis(500 + links as u64));
        let setup = created.elapsed();
        let mut times = Vec::new();
        let mut rss = Vec::new();
        let mut every_link = Vec::new();
        let (mut scoped, mut full) = (Vec::new(), Vec::new());
        let (mut older_times, mut older_rss) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            if let Some(bin) = &older {
                let args = ["--manager=none", "-i", "a0:routable", "--timeout=30"];
                let (wall, max_rss, code) = run_bin_once(&ns, bin, &args);
                assert_eq!(code, 0, "{bin} did not exit 0 with {links} links");
                older_times.push(wall.as_secs_f64() * 1000.0);
                older_rss.push(max_rss as f64 / 1024.0);
            }
            let (wall, max_rss, code) = run_once(
                &ns,
                &["--manager=none", "-i", "a0:routable", "--timeout=30"],
            );
            assert_eq!(code, 0, "wait-online did not exit 0 with {links} links");
            times.push(wall.as_secs_f64() * 1000.0);
            rss.push(max_rss as f64 / 1024.0);
            // Without -i every link is fetched and judged (here: one routable is enough).
            let (wall, _, code) = run_once(
                &ns,
                &["--manager=none", "--any", "-o", "routable", "--timeout=30"],
            );
            assert_eq!(code, 0, "--any did not exit 0 with {links} links");
            every_link.push(wall.as_secs_f64() * 1000.0);
            let scope = Some(vec!["a0".to_string()]);
            scoped.push(time_to_sync(
                &ns,
                KernelSourceConfig {
                    scope,
                    ..KernelSourceConfig::default()
                },
            ));
            full.push(time_to_sync(&ns, KernelSourceConfig::default()));
        }
        fetch_times.push((links, median(scoped), median(full)));
        let (t, m, all) = (median(times), median(rss), median(every_link));
        if older.is_some() {
            older_medians.push((links, median(older_times), median(older_rss), t, m));
        }
        let (per_link_us, per_link_kib) = match baseline {
            Some((t0, m0, n0)) if links > n0 => (
                (t - t0) * 1000.0 / (links - n0) as f64,
                (m - m0) * 1024.0 / (links - n0) as f64,
            ),
            _ => (f64::NAN, f64::NAN),
        };
        println!(
            "{links:>6} {t:>12.2} {m:>12.2} {per_link_us:>14.2} {per_link_kib:>14.3} {all:>16.2}   (setup {setup:.1?})"
        );
        if baseline.is_none() {
            baseline = Some((t, m, links));
        }
        drop(ns);
    }
    println!("per-link figures are the growth over the smallest size");
    println!("{}", scoped_fetch_report(&fetch_times));
    if let Some(bin) = &older {
        println!("baseline {bin}, -i a0:routable, same rounds");
        println!(
            "{:>6} {:>12} {:>12} {:>12} {:>12} {:>10}",
            "links", "base ms", "ours ms", "base MiB", "ours MiB", "base/ours"
        );
        for (links, t0, m0, t, m) in older_medians {
            println!(
                "{links:>6} {t0:>12.2} {t:>12.2} {m0:>12.2} {m:>12.2} {:>9.2}x",
                t0 / t
            );
        }
    }
}

/// The kernel source's open-to-synced medians per size, scoped to `a0` and not.
fn scoped_fetch_report(times: &[(usize, f64, f64)]) -> String {
    let mut report = format!(
        "kernel source, open -> synced, in process\n{:>6} {:>16} {:>16} {:>10}",
        "links", "scoped (a0) ms", "every link ms", "saved ms"
    );
    for (links, scoped, full) in times {
        report.push_str(&format!(
            "\n{links:>6} {scoped:>16.2} {full:>16.2} {:>10.2}",
            full - scoped
        ));
    }
    report
}
