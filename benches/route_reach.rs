//! What `--require-route` and `--reach` cost, and that they cost nothing unused. Run as root:
//!
//!     cargo bench --bench route_reach        # WAIT_ONLINE_BENCH_ROUNDS=N to change rounds
//!
//! In namespaces this program creates (`wo0` 10.77.0.2/24 with carrier, its peer 10.77.0.1
//! with a TCP listener on port 8080), interleaved round by round, medians of:
//! - startup → exit when already online (`-i wo0:routable`), without the options, with
//!   `--require-route=10.77.0.1` (met) and with `--reach=10.77.0.1:8080` (met); with
//!   `WAIT_ONLINE_BASELINE_BIN=/path/to/wait-online` also another build (main's) without
//!   them, so that "nothing added unused" is a measured difference;
//! - wakeups (context switches of all threads) while waiting 5 s for an absent link: without
//!   the options, with an unmet `--require-route` (route events only), and with `--reach` (no
//!   attempt before the interfaces' requirements hold).

// The integration tests' helpers; a bench uses only some of them.
#[allow(dead_code, unused_imports)]
#[path = "../tests/it/common/mod.rs"]
mod common;
#[allow(dead_code)]
#[path = "support/mod.rs"]
mod support;

use std::net::TcpListener;
use std::thread::sleep;
use std::time::Duration;

use common::{Netns, wait_online_bin};
use support::{Place, fresh_copy, idle_wakeups, median, rotated, spawn, wait};

fn main() {
    if support::skipped("route_reach") {
        return;
    }
    let rounds = support::rounds(25);
    let baseline = std::env::var("WAIT_ONLINE_BASELINE_BIN").ok();

    let ns = Netns::new();
    let peer = ns.add_peer();
    ns.add_addr("wo0", "10.77.0.2/24");
    ns.link_up("wo0");
    sleep(Duration::from_millis(300));
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let listener = peer.spawn_thread(move || {
        let listener = TcpListener::bind("10.77.0.1:8080").expect("bind");
        // Accept (and close) what comes, so that the backlog never fills.
        listener.set_nonblocking(true).unwrap();
        while stop_rx.try_recv().is_err() {
            match listener.accept() {
                Ok(_) => {}
                Err(_) => sleep(Duration::from_millis(5)),
            }
        }
    });

    // Both builds run from fresh copies in one directory (support::fresh_copy).
    let copies = common::TempDir::new();
    let ours = fresh_copy(&copies.0, wait_online_bin(), "wait-online");
    let baseline = baseline.map(|other| fresh_copy(&copies.0, &other, "wait-online-baseline"));
    let place = Place::netns(&ns);
    let bin = ours.as_str();
    let mut tools: Vec<(String, &str, Vec<&str>)> = vec![
        ("without the options".into(), bin, vec![]),
        (
            "--require-route=10.77.0.1".into(),
            bin,
            vec!["--require-route=10.77.0.1"],
        ),
        (
            "--reach=10.77.0.1:8080".into(),
            bin,
            vec!["--reach=10.77.0.1:8080"],
        ),
    ];
    if let Some(other) = &baseline {
        tools.insert(
            0,
            (
                "baseline (WAIT_ONLINE_BASELINE_BIN)".into(),
                other.as_str(),
                vec![],
            ),
        );
    }
    let mut wall = vec![Vec::new(); tools.len()];
    for round in 0..rounds {
        // The order turns each round: the first run of a round is measured faster (the same
        // binary by 2 to 4 ms in a run of this bench), which would favour one tool.
        for i in rotated(round, tools.len()) {
            let (label, bin, extra) = &tools[i];
            let mut args = vec!["--manager=none", "-i", "wo0:routable", "--timeout=20"];
            args.extend(extra.iter().copied());
            let (pid, start) = spawn(&place, bin, &args);
            let done = wait(pid, start);
            assert_eq!(done.code, 0, "{label} did not exit 0");
            wall[i].push(done.wall.as_secs_f64() * 1000.0);
        }
    }
    println!("startup → exit, already online ({rounds} rounds, median)");
    for ((label, ..), times) in tools.iter().zip(&mut wall) {
        println!("  {label:<40} {:.2} ms", median(times));
    }

    println!("wakeups while waiting 5 s for an absent link (context switches, all threads)");
    let idle: [(&str, Vec<&str>); 3] = [
        ("without the options", vec![]),
        (
            "--require-route=192.0.2.1 (unmet)",
            vec!["--require-route=192.0.2.1"],
        ),
        ("--reach=10.77.0.1:8080", vec!["--reach=10.77.0.1:8080"]),
    ];
    for (label, extra) in idle {
        let mut args = vec!["--manager=none", "-i", "absent0:routable", "--timeout=30"];
        args.extend(extra);
        println!("  {label:<40} {}", idle_wakeups(&place, bin, &args));
    }
    stop_tx.send(()).unwrap();
    listener.join().unwrap();
}
