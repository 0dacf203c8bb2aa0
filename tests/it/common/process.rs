//! Running child processes with a hard deadline.

use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process, kill_process_group};

/// Outcome of [`run_wait_online`].
#[derive(Debug, Clone)]
pub struct RunResult {
    /// Exit code; `None` when the process was killed by a signal (e.g. on timeout).
    pub code: Option<i32>,
    /// Terminating signal, if any.
    pub signal: Option<i32>,
    /// True when the hard deadline expired and the process group was SIGKILLed.
    pub timed_out: bool,
    pub stdout: String,
    pub stderr: String,
    /// From just before `spawn()` until the exit was observed.
    pub elapsed: Duration,
    /// When the exit was observed (for "exited N ms after event X").
    pub finished: Instant,
}

impl RunResult {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// One-paragraph description for assertion messages.
    pub fn describe(&self) -> String {
        format!(
            "code={:?} signal={:?} timed_out={} elapsed={:.3}s\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code,
            self.signal,
            self.timed_out,
            self.elapsed.as_secs_f64(),
            self.stdout.trim_end(),
            self.stderr.trim_end()
        )
    }
}

/// Sends `signal` to process `pid`, as kill(2). A process already gone is an error that the
/// callers who only clean up ignore.
pub fn kill(pid: i32, signal: Signal) -> rustix::io::Result<()> {
    kill_process(
        Pid::from_raw(pid).expect("a process id is positive"),
        signal,
    )
}

/// Sends `signal` to every process of the group `pgid`, as kill(2) with `-pgid`.
pub fn kill_group(pgid: i32, signal: Signal) -> rustix::io::Result<()> {
    kill_process_group(Pid::from_raw(pgid).expect("a group id is positive"), signal)
}

/// Host pids whose process group is `pgid`.
fn group_members(pgid: i32) -> Vec<i32> {
    let mut v = Vec::new();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return v;
    };
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "pid (comm) state ppid pgrp ..." -- comm may contain spaces and parentheses
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        if rest
            .split_whitespace()
            .nth(2)
            .and_then(|g| g.parse::<i32>().ok())
            == Some(pgid)
        {
            v.push(pid);
        }
    }
    v
}

/// Reads `r` to its end on a thread; the receiver gets everything (nothing for `None`).
pub fn reader<R: Read + Send + 'static>(r: Option<R>) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut r) = r {
            let _ = r.read_to_end(&mut buf);
        }
        let _ = tx.send(buf);
    });
    rx
}

/// Runs `cmd` (stdin = /dev/null, stdout/stderr captured) in its own process group and
/// SIGKILLs the whole group when `timeout` expires. Never blocks much longer than `timeout`.
///
/// The process group covers the forked child of `nsenter -p` / `unshare --fork` as well, so a
/// command started through [`super::NetworkdEnv::run`] really dies on timeout.
pub fn run_wait_online(mut cmd: Command, timeout: Duration) -> RunResult {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot spawn {cmd:?}: {e}"));
    let pgid = child.id() as i32;
    let out_rx = reader(child.stdout.take());
    let err_rx = reader(child.stderr.take());

    let (tx, rx) = mpsc::channel::<(std::io::Result<ExitStatus>, Instant)>();
    thread::spawn(move || {
        let st = child.wait();
        let _ = tx.send((st, Instant::now()));
    });
    let (status, end, timed_out) = match rx.recv_timeout(timeout) {
        Ok((st, t)) => (st, t, false),
        Err(_) => {
            // Kill the group members other than the leader first: a leader like `nsenter -p`
            // then reaps its child and exits by itself. Killing both at once would orphan the
            // child to the host's PID 1 (which reaps lazily here) or to a PID-ns init.
            let others: Vec<_> = group_members(pgid)
                .into_iter()
                .filter(|&p| p != pgid)
                .collect();
            for &p in &others {
                let _ = kill(p, Signal::KILL);
            }
            let grace = if others.is_empty() {
                Duration::ZERO
            } else {
                Duration::from_millis(500)
            };
            let res = rx.recv_timeout(grace).or_else(|_| {
                let _ = kill_group(pgid, Signal::KILL);
                rx.recv_timeout(Duration::from_secs(10))
            });
            let (st, t) = res.unwrap_or_else(|_| panic!("{cmd:?} did not die after SIGKILL"));
            (st, t, true)
        }
    };
    let status = status.unwrap_or_else(|e| panic!("wait for {cmd:?}: {e}"));

    // Left-over group members (background grandchildren) may keep the pipes open.
    let collect = |rx: mpsc::Receiver<Vec<u8>>| -> String {
        let data = match rx.recv_timeout(Duration::from_secs(2)) {
            Ok(d) => d,
            Err(_) => {
                let _ = kill_group(pgid, Signal::KILL);
                rx.recv_timeout(Duration::from_secs(5)).unwrap_or_default()
            }
        };
        String::from_utf8_lossy(&data).into_owned()
    };
    let stdout = collect(out_rx);
    let stderr = collect(err_rx);
    RunResult {
        code: status.code(),
        signal: status.signal(),
        timed_out,
        stdout,
        stderr,
        elapsed: end.duration_since(start),
        finished: end,
    }
}

/// [`run_wait_online`] in a background thread: start waiting, change the network, then
/// `.join().unwrap()` the result.
pub fn run_wait_online_bg(cmd: Command, timeout: Duration) -> thread::JoinHandle<RunResult> {
    thread::spawn(move || run_wait_online(cmd, timeout))
}

/// Runs a helper command with a deadline and panics (with its output) unless it exits 0.
/// Returns stdout.
pub fn run_checked(cmd: Command, timeout: Duration) -> String {
    let desc = format!("{cmd:?}");
    let r = run_wait_online(cmd, timeout);
    if !r.success() {
        panic!("command failed: {desc}\n{}", r.describe());
    }
    r.stdout
}

/// Host pids of the children of `pid`, oldest first.
pub fn children_of(pid: i32) -> Vec<i32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// Alive = exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rfind(')')
                .map(|i| !matches!(s[i + 1..].trim_start().chars().next(), Some('Z' | 'X')))
        })
        .unwrap_or(false)
}

/// Polls `cond` every `interval` until it returns true or `timeout` expires.
/// Returns whether the condition was met.
pub fn wait_until(timeout: Duration, interval: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(interval);
    }
}

/// `setpriv` arguments that run `bin args` as nobody/nogroup, without supplementary groups, any
/// capability or new privileges: what the units' User=, CapabilityBoundingSet=,
/// AmbientCapabilities= and NoNewPrivileges= give the service.
pub fn setpriv_args<'a>(bin: &'a str, args: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec![
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--no-new-privs",
        "--inh-caps=-all",
        "--ambient-caps=-all",
        "--bounding-set=-all",
        "--",
        bin,
    ];
    all.extend_from_slice(args);
    all
}

/// Context switches of every thread of `pid` so far (the benchmarks' wake-up count).
#[allow(dead_code)] // for the benches only
pub fn context_switches(pid: i32) -> u64 {
    let mut total = 0;
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.flatten() {
            let status = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
            for line in status.lines() {
                if line.starts_with("voluntary_ctxt_switches")
                    || line.starts_with("nonvoluntary_ctxt_switches")
                {
                    total += line
                        .split_whitespace()
                        .last()
                        .and_then(|v| v.parse::<u64>().ok())
                        .unwrap_or(0);
                }
            }
        }
    }
    total
}
