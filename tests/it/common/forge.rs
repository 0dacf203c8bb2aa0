//! Forged D-Bus signals, sent as a local unprivileged user would: `busctl emit` run as
//! nobody/nogroup (`setpriv`, no groups, no capabilities) inside the holder, unicast to the
//! connections of the processes under test (`--destination=` their unique name).
//!
//! The private bus loads the stock `/usr/share/dbus-1/system.conf` (see `networkd.rs`), whose
//! `<allow send_type="signal"/>` lets every user send any signal, and whose default policy
//! lets every user connect: exactly what a local attacker has on a Debian system.
//!
//! Every helper takes the environment's `run` (`NmEnv::run`, `NetworkdEnv::run`): a
//! `Command` inside the holder, with the private bus as the system bus.

use std::process::Command;
use std::time::Duration;

use super::process::{RunResult, run_wait_online, wait_until};

/// How a command is run inside the environment's holder.
pub type RunIn<'a> = &'a dyn Fn(&str, &[&str]) -> Command;

/// One `busctl emit` line: `PATH INTERFACE MEMBER SIGNATURE ARGS...`, each word already
/// quoted for `sh` where needed (see [`sh_quote`]).
pub struct Forged(pub String);

impl Forged {
    pub fn new(path: &str, interface: &str, member: &str, signature: &str, args: &[&str]) -> Self {
        let mut line = format!(
            "{} {} {} {}",
            sh_quote(path),
            sh_quote(interface),
            sh_quote(member),
            sh_quote(signature)
        );
        for a in args {
            line.push(' ');
            line.push_str(&sh_quote(a));
        }
        Forged(line)
    }

    /// `PropertiesChanged(interface, {name: value...}, [])` on `path`; `props` are busctl's
    /// `NAME TYPE VALUE` triples (a container's VALUE is busctl's words, space-separated).
    pub fn properties_changed(path: &str, interface: &str, props: &[(&str, &str, &str)]) -> Self {
        let count = props.len().to_string();
        let mut args = vec![interface, count.as_str()];
        for (name, ty, value) in props {
            args.extend([*name, *ty]);
            args.extend(value.split_whitespace());
        }
        args.push("0");
        Forged::new(
            path,
            "org.freedesktop.DBus.Properties",
            "PropertiesChanged",
            "sa{sv}as",
            &args,
        )
    }

    /// `NameOwnerChanged(name, old, new)` as if from the bus (it is not: the bus puts the
    /// sender's own unique name in the header).
    pub fn name_owner_changed(name: &str, old: &str, new: &str) -> Self {
        Forged::new(
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "NameOwnerChanged",
            "sss",
            &[name, old, new],
        )
    }
}

/// `s` as one `sh` word.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The unique names of the bus connections of processes whose name (`comm`) is `process`,
/// from `busctl list --unique` (PID and process as the bus daemon sees them).
pub fn unique_names_of(run: RunIn<'_>, process: &str) -> Vec<String> {
    let r = run_wait_online(
        run(
            "busctl",
            &["--system", "list", "--unique", "--no-legend", "--no-pager"],
        ),
        Duration::from_secs(15),
    );
    r.stdout
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let name = words.next()?;
            let _pid = words.next()?;
            (words.next()? == process).then(|| name.to_owned())
        })
        .collect()
}

/// Waits (bounded by `timeout`) until `count` connections of `process` are on the bus; returns
/// their unique names, or panics.
pub fn wait_for_connections(
    run: RunIn<'_>,
    process: &str,
    count: usize,
    timeout: Duration,
) -> Vec<String> {
    let mut names = Vec::new();
    let ok = wait_until(timeout, Duration::from_millis(20), || {
        names = unique_names_of(run, process);
        names.len() >= count
    });
    assert!(
        ok,
        "{count} bus connection(s) of {process} did not appear within {timeout:?}: {names:?}"
    );
    names
}

/// Sends `signals` `repeat` times to every connection in `destinations` as nobody (one `sh`
/// running the `busctl emit`s, with the round in `$i`; `prelude` is `sh` run first, e.g. to
/// build a long name in `$N`). Panics unless every `busctl` succeeded: a test must not pass
/// because nothing was sent.
pub fn emit_as_nobody(
    run: RunIn<'_>,
    prelude: &str,
    signals: &[Forged],
    destinations: &[String],
    repeat: usize,
    limit: Duration,
) -> RunResult {
    let mut script =
        format!("set -e\n{prelude}\ni=0\nwhile [ $i -lt {repeat} ]; do\nfor d in \"$@\"; do\n");
    for Forged(line) in signals {
        script.push_str(&format!(
            "busctl --system emit --destination=\"$d\" {line}\n"
        ));
    }
    script.push_str("done\ni=$((i + 1))\ndone\n");
    let mut args = vec![
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--inh-caps=-all",
        "--bounding-set=-all",
        "--",
        "sh",
        "-c",
        script.as_str(),
        "forge",
    ];
    args.extend(destinations.iter().map(String::as_str));
    let r = run_wait_online(run("setpriv", &args), limit);
    assert!(r.success(), "forging signals failed: {}", r.describe());
    r
}

/// `VmRSS` and `VmHWM` of `pid` in KiB.
pub fn memory_kib(pid: i32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("/proc/{pid}/status: {e}"));
    let field = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no {key} in /proc/{pid}/status"))
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Host pids of the processes named `process` in the PID namespace of `holder_pid` (the
/// holder's: where `run` puts them).
pub fn pids_in_holder(holder_pid: i32, process: &str) -> Vec<i32> {
    let ns = |pid: i32| std::fs::read_link(format!("/proc/{pid}/ns/pid")).ok();
    let holder_ns = ns(holder_pid).expect("the holder's PID namespace");
    let mut pids: Vec<i32> = std::fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .filter(|&pid: &i32| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim_end() == process)
                && ns(pid).as_ref() == Some(&holder_ns)
        })
        .collect();
    pids.sort_unstable();
    pids
}
