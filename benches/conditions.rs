//! Issue 20's conditions add nothing to start-up when unused and no wake-ups while idle. Run as
//! root, with an older build as the baseline:
//!
//!     WAIT_ONLINE_BASELINE_BIN=/path/to/older/wait-online cargo bench --bench conditions
//!
//! (`WAIT_ONLINE_BENCH_ROUNDS=N` changes the rounds of start-up, 40 by default, and
//! `WAIT_ONLINE_BENCH_IDLE_ROUNDS=N` those of the idle waits, 5 by default.) In namespaces this
//! program creates: systemd-networkd and systemd-resolved on a private bus, `wo0` 10.77.0.2/24
//! configured by networkd with no DNS server (none on any link nor globally), its peer
//! 10.77.0.1 answering HTTP with 204. Medians, in the same run, the order turned each round:
//! - startup → exit when already online (`-i wo0:routable`) without any new option: this build
//!   against the baseline (ratio baseline/ours; with no baseline, ours only);
//! - context switches of all threads while waiting 5 s for an absent link
//!   (`-i absent0:routable`) with each of `--require-time-sync`, `--require-connectivity
//!   --http-probe=http://10.77.0.1/`, `--dns` (no server anywhere) and `--dns --dns-grace=60s`,
//!   each against the same wait without the option (ratio with/without): none may wake up
//!   while the interfaces are missing; and Netplan's `--any --dns -o routable -i wo0` with and
//!   without `--dns-grace=60s`, where only the server is missing (the grace's clock armed).
//!
//! It prints; it asserts only that each wait behaves as measured (exit 0 when online).

// The integration tests' helpers; a bench uses only some of them.
#[allow(dead_code, unused_imports)]
#[path = "../tests/it/common/mod.rs"]
mod common;
#[allow(dead_code)]
#[path = "support/mod.rs"]
mod support;

use std::time::Duration;

use common::http::{Answer, HttpServer};
use common::{NetworkdEnv, TempDir, wait_online_bin};
use support::{Place, fresh_copy, idle_wakeups, median, percentile, rotated, spawn, wait};

/// The waits compared while idle: a label, the command line, and the index of the row that is
/// the same wait without the option. The first five wait for an absent link; the last two for
/// `wo0`, online but for DNS (Netplan's line with no server: the field failure, whose grace
/// clock is armed once only the server is missing).
const IDLE: [(&str, &[&str], usize); 7] = [
    (
        "absent0, without a new option",
        &[ABSENT, "--timeout=30"],
        0,
    ),
    (
        "absent0, --require-time-sync",
        &[ABSENT, "--timeout=30", "--require-time-sync"],
        0,
    ),
    (
        "absent0, --require-connectivity --http-probe=URL",
        &[
            ABSENT,
            "--timeout=30",
            "--require-connectivity",
            "--http-probe=http://10.77.0.1/",
        ],
        0,
    ),
    (
        "absent0, --dns (no server anywhere)",
        &[ABSENT, "--timeout=30", "--dns"],
        0,
    ),
    (
        "absent0, --dns --dns-grace=60s",
        &[ABSENT, "--timeout=30", "--dns", "--dns-grace=60s"],
        3,
    ),
    (
        "wo0 online but for DNS, --dns",
        &[
            "--any",
            "--dns",
            "-o",
            "routable",
            "-i",
            "wo0",
            "--timeout=30",
        ],
        5,
    ),
    (
        "wo0 online but for DNS, --dns --dns-grace=60s",
        &[
            "--any",
            "--dns",
            "-o",
            "routable",
            "-i",
            "wo0",
            "--timeout=30",
            "--dns-grace=60s",
        ],
        5,
    ),
];
/// `-i` with a link that never appears.
const ABSENT: &str = "--interface=absent0:routable";

fn main() {
    if support::skipped("conditions") {
        return;
    }
    let rounds = support::rounds(40);
    let idle_rounds: usize = std::env::var("WAIT_ONLINE_BENCH_IDLE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);

    let mut env = NetworkdEnv::with_resolved();
    let peer = env.netns().add_peer();
    env.write_network(
        "10-wo0.network",
        "[Match]\nName=wo0\n\n[Network]\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n\
         Address=10.77.0.2/24\n",
    );
    env.start_resolved();
    env.start_networkd();
    env.wait_for_setup_state("wo0", "configured", Duration::from_secs(20));
    let _http = HttpServer::start(&peer, "10.77.0.1:80", Answer::NoContent);
    let place = Place::holder(env.holder_pid());

    let copies = TempDir::new();
    let ours = fresh_copy(&copies.0, wait_online_bin(), "wait-online");
    let baseline = std::env::var("WAIT_ONLINE_BASELINE_BIN")
        .ok()
        .map(|other| fresh_copy(&copies.0, &other, "wait-online-baseline"));
    println!(
        "conditions benchmark: {rounds} rounds of start-up, {idle_rounds} of each idle wait; \
         load average {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );

    // --- startup -> exit, already online, no new option ---
    let mut tools = vec![("wait-online (this build)", ours.as_str())];
    if let Some(other) = &baseline {
        tools.push(("baseline (WAIT_ONLINE_BASELINE_BIN)", other.as_str()));
    }
    let mut wall = vec![Vec::new(); tools.len()];
    for round in 0..rounds {
        for i in rotated(round, tools.len()) {
            let (label, bin) = tools[i];
            let (pid, start) = spawn(&place, bin, &["-i", "wo0:routable", "--timeout=20"]);
            let done = wait(pid, start);
            assert_eq!(done.code, 0, "{label} did not exit 0");
            wall[i].push(done.wall.as_secs_f64() * 1000.0);
        }
    }
    println!("\nstartup -> exit, already online, without any new option");
    let medians = print_rows(tools.iter().map(|t| t.0).zip(&mut wall), "ms");
    if let [ours, baseline] = medians[..] {
        println!("  ratio baseline/ours: {:.3}x", baseline / ours);
    }

    // --- wake-ups while waiting for an absent link ---
    let mut switches = vec![Vec::new(); IDLE.len()];
    for round in 0..idle_rounds {
        for i in rotated(round, IDLE.len()) {
            switches[i].push(idle_wakeups(&place, &ours, IDLE[i].1));
        }
    }
    println!("\ncontext switches (all threads) while waiting 5 s");
    let medians = print_rows(IDLE.iter().map(|w| w.0).zip(&mut switches), "");
    for (i, (label, _, without)) in IDLE.iter().enumerate().filter(|(i, w)| w.2 != *i) {
        println!(
            "  {label} / {}: {}",
            IDLE[*without].0,
            ratio(medians[i], medians[*without])
        );
    }
}

/// One line per row (median, 90th percentile, count); the medians in the rows' order.
fn print_rows<'a>(rows: impl Iterator<Item = (&'a str, &'a mut Vec<f64>)>, unit: &str) -> Vec<f64> {
    rows.map(|(label, values)| {
        let m = median(values);
        let p90 = percentile(values, 0.9);
        println!(
            "  {label:<50} median {m:9.3} {unit:<2}  p90 {p90:9.3} {unit:<2}  (n={})",
            values.len()
        );
        m
    })
    .collect()
}

/// `with / without` as a ratio, or the difference when the waits without the option do not
/// wake up at all.
fn ratio(with: f64, without: f64) -> String {
    if without > 0.0 {
        format!("{:.2}x", with / without)
    } else {
        format!("{with} vs {without}")
    }
}
