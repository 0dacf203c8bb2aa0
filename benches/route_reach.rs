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

use std::fs::File;
use std::net::TcpListener;
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use rustix::process::Signal;
use rustix::thread::{LinkNameSpaceType, move_into_link_name_space};

use common::{Netns, context_switches, kill, wait_online_bin};

/// Spawns `bin --manager=none args` inside `ns` (setns in the child, no wrapper process).
fn spawn(ns: &Netns, bin: &str, args: &[&str]) -> (libc::pid_t, Instant) {
    let mut cmd = Command::new(bin);
    cmd.arg("--manager=none")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let net = File::open(ns.path()).expect("open netns");
    // SAFETY: the hook runs in the forked child before exec, and only makes a syscall.
    unsafe {
        cmd.pre_exec(move || {
            move_into_link_name_space(net.as_fd(), Some(LinkNameSpaceType::Network))?;
            Ok(())
        });
    }
    let start = Instant::now();
    let child = cmd.spawn().expect("spawn waiter");
    let pid = child.id() as libc::pid_t;
    std::mem::forget(child); // reaped with waitpid below
    (pid, start)
}

/// Waits for `pid`; its exit status and the time since `start`.
fn wait(pid: libc::pid_t, start: Instant) -> (i32, Duration) {
    let mut status = 0;
    // SAFETY: waiting for our own child.
    let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(rc, pid, "waitpid");
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    (code, start.elapsed())
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("route_reach: needs root (network namespaces); skipped");
        return;
    }
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return; // `cargo test --benches` probes; the benchmark runs only under `cargo bench`
    }
    let rounds: usize = std::env::var("WAIT_ONLINE_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(25);
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

    // Both builds run from fresh copies in one directory: the same binary starts measurably
    // faster from a fresh copy than from cargo's hard link (about 1 ms in a run of this bench).
    let copies = common::TempDir::new();
    let copy = |from: &str, name: &str| {
        let to = copies.0.join(name);
        std::fs::copy(from, &to).unwrap_or_else(|e| panic!("copy {from}: {e}"));
        to.to_string_lossy().into_owned()
    };
    let ours = copy(wait_online_bin(), "wait-online");
    let baseline = baseline.map(|other| copy(&other, "wait-online-baseline"));
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
        for i in (0..tools.len()).map(|k| (k + round) % tools.len()) {
            let (label, bin, extra) = &tools[i];
            let mut args = vec!["-i", "wo0:routable", "--timeout=20"];
            args.extend(extra.iter().copied());
            let (pid, start) = spawn(&ns, bin, &args);
            let (code, elapsed) = wait(pid, start);
            assert_eq!(code, 0, "{label} did not exit 0");
            wall[i].push(elapsed.as_secs_f64() * 1000.0);
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
        let mut args = vec!["-i", "absent0:routable", "--timeout=30"];
        args.extend(extra);
        let (pid, start) = spawn(&ns, bin, &args);
        sleep(Duration::from_millis(500));
        let before = context_switches(pid);
        sleep(Duration::from_secs(5));
        let after = context_switches(pid);
        let _ = kill(pid, Signal::TERM);
        wait(pid, start);
        println!("  {label:<40} {}", after - before);
    }
    stop_tx.send(()).unwrap();
    listener.join().unwrap();
}
