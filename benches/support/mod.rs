//! What the benches share (`#[path = "support/mod.rs"] mod support;`, next to the integration
//! tests' `common`): waiters spawned straight into namespaces (setns in the child, no wrapper
//! process), reaped with their resource use, the order of tools turned round by round, idle
//! wake-ups, and medians.

use std::fs::File;
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use rustix::process::Signal;
use rustix::thread::{LinkNameSpaceType, move_into_link_name_space};

use crate::common::{Netns, alive, context_switches, kill};

/// Namespaces a spawned waiter joins: a network namespace, and a mount namespace when the
/// waiter must see a holder's /run (networkd's state files, a private system bus).
#[derive(Clone)]
pub struct Place {
    pub net: PathBuf,
    pub mnt: Option<PathBuf>,
}

impl Place {
    /// The network namespace `ns` only (the host's mounts).
    pub fn netns(ns: &Netns) -> Place {
        Place {
            net: ns.path(),
            mnt: None,
        }
    }

    /// The network and mount namespaces of the process `holder` (a `NetworkdEnv`'s holder).
    pub fn holder(holder: i32) -> Place {
        Place {
            net: PathBuf::from(format!("/proc/{holder}/ns/net")),
            mnt: Some(PathBuf::from(format!("/proc/{holder}/ns/mnt"))),
        }
    }
}

/// A reaped waiter.
pub struct Finished {
    pub wall: Duration,
    pub code: i32,
    pub max_rss_kib: i64,
    pub end: Instant,
}

/// Spawns `bin args` directly inside `place`; its pid and when it was spawned.
pub fn spawn(place: &Place, bin: &str, args: &[&str]) -> (libc::pid_t, Instant) {
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // Opened here: once in the holder's mount namespace, its /proc no longer shows host pids.
    let net = File::open(&place.net).expect("open netns");
    let mnt = place
        .mnt
        .as_ref()
        .map(|p| File::open(p).expect("open mount ns"));
    // SAFETY: the hook runs in the forked child before exec, and only makes syscalls.
    unsafe {
        cmd.pre_exec(move || {
            for (file, kind) in [
                (mnt.as_ref(), LinkNameSpaceType::Mount),
                (Some(&net), LinkNameSpaceType::Network),
            ] {
                if let Some(file) = file {
                    move_into_link_name_space(file.as_fd(), Some(kind))?;
                }
            }
            Ok(())
        });
    }
    let start = Instant::now();
    let child = cmd.spawn().expect("spawn waiter");
    let pid = child.id() as libc::pid_t;
    std::mem::forget(child); // reaped with wait4 in `wait`
    (pid, start)
}

/// Waits for the waiter `pid` spawned at `start`.
pub fn wait(pid: libc::pid_t, start: Instant) -> Finished {
    let mut status = 0;
    // SAFETY: zeroed rusage is a valid out-parameter.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waiting for our own child.
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let end = Instant::now();
    assert_eq!(rc, pid, "wait4");
    Finished {
        wall: end - start,
        code: if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else {
            -1
        },
        max_rss_kib: usage.ru_maxrss,
        end,
    }
}

/// Context switches of all the waiter's threads while it waits 5 s, counted from 500 ms after
/// its start (`args` must keep it waiting: an absent link); then it is stopped and reaped.
pub fn idle_wakeups(place: &Place, bin: &str, args: &[&str]) -> f64 {
    let (pid, start) = spawn(place, bin, args);
    sleep(Duration::from_millis(500));
    let before = context_switches(pid);
    sleep(Duration::from_secs(5));
    let after = context_switches(pid);
    // A waiter that exited early (a refused command line) would count as idle.
    let waiting = alive(pid);
    let _ = kill(pid, Signal::TERM);
    let done = wait(pid, start);
    assert!(
        waiting,
        "{bin} {args:?} did not wait (exit status {})",
        done.code
    );
    (after - before) as f64
}

/// The tools' indices for `round`, starting one further each round: the first run of a
/// round was measured 1-4 ms faster (benches/route_reach.rs), so no tool may always be first.
pub fn rotated(round: usize, tools: usize) -> impl Iterator<Item = usize> {
    (0..tools).map(move |k| (round + k) % tools)
}

/// `WAIT_ONLINE_BENCH_ROUNDS`, else `default`.
pub fn rounds(default: usize) -> usize {
    std::env::var("WAIT_ONLINE_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Whether this run is to be skipped: not root (namespaces), or `cargo test --benches`
/// probing (the benchmark runs only under `cargo bench`).
pub fn skipped(bench: &str) -> bool {
    if !rustix::process::geteuid().is_root() {
        eprintln!("{bench}: needs root (network namespaces); skipped");
        return true;
    }
    std::env::args().any(|a| a == "--list" || a == "--test")
}

/// Copies `from` to `dir/name`: builds run from fresh copies in one directory, since the same
/// binary starts measurably faster from a fresh copy than from cargo's hard link (about 1 ms
/// in a run of benches/route_reach.rs).
pub fn fresh_copy(dir: &Path, from: &str, name: &str) -> String {
    let to = dir.join(name);
    std::fs::copy(from, &to).unwrap_or_else(|e| panic!("copy {from}: {e}"));
    to.to_string_lossy().into_owned()
}

pub fn median(values: &mut [f64]) -> f64 {
    percentile(values, 0.5)
}

pub fn percentile(values: &mut [f64], q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let index = ((values.len() as f64 - 1.0) * q).round() as usize;
    values[index]
}
