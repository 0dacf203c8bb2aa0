//! Real systemd-networkd + a private system bus inside a private netns / mount ns / PID ns.
//!
//! Layout (nothing on the host is modified):
//! ```text
//! netns wot-<pid>-<n>  +  "holder" = PID 1 of a new PID ns in a new private mount ns
//!    /run                  private tmpfs (/run/dbus, /run/systemd/netif owned by systemd-network)
//!    /sys                  the netns' sysfs, READ-ONLY (=> networkd assumes "no udev")
//!    /sys/fs/cgroup        the host cgroupfs moved back (busctl creds need it)
//!    /etc/systemd/network  bind mount of <tmp>/wot-<pid>-<n>/network
//!    dbus-daemon           private system bus at /run/dbus/system_bus_socket
//!    systemd-networkd      started as root, drops to systemd-network itself
//!    /etc/resolv.conf      bind mount of <tmp>/wot-<pid>-<n>/etc/resolv.conf (a copy of the
//!                          host's; NetworkdEnv::set_resolv_conf rewrites it)
//! ```
//! [`NetworkdEnv::with_resolved`] (see `resolved.rs`) additionally bind-mounts a private
//! /etc/passwd + /etc/group with the `systemd-resolve` user, creates /run/systemd/resolve and
//! /run/systemd/resolved.conf.d/zz-wait-online-tests.conf, and lets the bus load the resolve1
//! policy of the unpacked systemd-resolved package. [`super::networkmanager::NmEnv`]
//! bind-mounts a private copy of /etc over /etc, puts a tmpfs on /var/lib and lets the bus load
//! NetworkManager's policy from the unpacked network-manager package.
//!
//! Logs: `<tmp>/wot-<pid>-<n>/logs/{holder,dbus,networkd,resolved}.log`, printed (tail) when a
//! wait fails or the test panics. `WAIT_ONLINE_TEST_KEEP=1` keeps the directory.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use rustix::process::Signal;

use super::netns::{Netns, TempDir, kill_netns_procs};
use super::process::{
    RunResult, children_of, kill, run_wait_online, run_wait_online_bg, wait_until,
};
use super::upstream::Upstream;

pub const NETWORKD: &str = "/lib/systemd/systemd-networkd";
const CMD_TIMEOUT: Duration = Duration::from_secs(20);
/// Hard limit of [`NetworkdEnv::wait_online`] (each test asks for a shorter `--timeout`).
const WAIT_LIMIT: Duration = Duration::from_secs(30);

/// Shell script run as PID 1 of the private PID namespace. Keeps the namespaces alive until its
/// stdin (a pipe held by the test process) reaches EOF, i.e. also when the test process dies.
const HOLDER_SCRIPT: &str = r#"set -e
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
mkdir -p /run/dbus /run/systemd/netif /run/wot/cg
# the sysfs mount below hides the host cgroupfs; keep it (sd-bus credentials need it)
mount --rbind /sys/fs/cgroup /run/wot/cg
# the netns' own sysfs, READ-ONLY: networkd then does not wait for udev (there is none)
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs /sys
mount --move /run/wot/cg /sys/fs/cgroup || echo "warning: cannot move cgroupfs back" >&2
rmdir /run/wot/cg 2>/dev/null || true
if [ -n "${WOT_NM:-}" ]; then
	# NetworkManager (networkmanager.rs): a private copy of /etc, so the host's is never
	# written, and private state in /var/lib; the binds below then land on the copy
	cp -a /etc/. "$WOT_DIR/etc-copy/"
	# resolv.conf: a regular file in the copy, as NetworkManager replaces it by rename
	rm -f "$WOT_DIR/etc-copy/resolv.conf"
	cp "$WOT_DIR/etc/resolv.conf" "$WOT_DIR/etc-copy/resolv.conf"
	mount --bind "$WOT_DIR/etc-copy" /etc
	mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /var/lib
	mkdir -p /etc/systemd/network /var/lib/NetworkManager /run/NetworkManager/system-connections
fi
mount --bind "$WOT_DIR/network" /etc/systemd/network
chown systemd-network:systemd-network /run/systemd/netif
# private /etc/resolv.conf (a symlink into /run points into our empty tmpfs: create the target)
if [ -z "${WOT_NM:-}" ]; then
	t=$(readlink -f /etc/resolv.conf || true)
	case $t in /run/*) [ -e "$t" ] || { mkdir -p "${t%/*}"; : > "$t"; } ;; esac
	mount --bind "$WOT_DIR/etc/resolv.conf" /etc/resolv.conf ||
		echo "warning: cannot bind-mount a private /etc/resolv.conf" >&2
fi
if [ -n "${WOT_RESOLVED:-}" ]; then
	# the systemd-resolve user exists only in this mount namespace
	mount --bind "$WOT_DIR/etc/passwd" /etc/passwd
	mount --bind "$WOT_DIR/etc/group" /etc/group
	mkdir -p /run/systemd/resolve /run/systemd/resolved.conf.d
	chown systemd-resolve:systemd-resolve /run/systemd/resolve
	cp "$WOT_DIR/resolved.conf" /run/systemd/resolved.conf.d/zz-wait-online-tests.conf
fi
touch "$WOT_DIR/ready"
read -r _ || true
"#;

/// `.network` for `name`: no link-local addressing, no router advertisements, plus `extra`.
pub fn network(name: &str, extra: &str) -> String {
    format!("[Match]\nName={name}\n\n[Network]\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n{extra}")
}

/// A daemon started through `nsenter` into the holder.
#[derive(Debug)]
pub(super) struct Daemon {
    /// the host-side `nsenter` process (parent of the daemon)
    pub(super) nsenter: Child,
    /// host pid of the daemon itself
    pub(super) pid: i32,
}

/// See the module documentation.
pub struct NetworkdEnv {
    // field order = drop order after Drop::drop: daemons, holder, netns, then the directory
    networkd: Option<Daemon>,
    pub(super) resolved: Option<Daemon>,
    dbus: Option<Daemon>,
    /// Some = prepared for systemd-resolved ([`NetworkdEnv::with_resolved`]): its unpacked root
    pub(super) resolved_root: Option<PathBuf>,
    /// the systemd whose daemons and tools run here
    upstream: Upstream,
    /// Some = everything runs chrooted in an overlay of this upstream root (`upstream.rs`)
    chroot: Option<PathBuf>,
    holder_stdin: Option<ChildStdin>,
    holder: Child,
    holder_pid: i32,
    ns: Netns,
    pub(super) dir: TempDir,
    /// a helper already put the log tails into a panic message
    logs_reported: AtomicBool,
}

fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Waits up to `timeout` for `child` to exit; SIGKILLs `also_kill` (if any) and the child after
/// that. Never blocks longer than `timeout` + 5 s.
pub(super) fn reap(child: &mut Child, also_kill: Option<i32>, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(_)) | Err(_) => return,
            Ok(None) => {}
        }
        if Instant::now() >= deadline {
            if let Some(p) = also_kill {
                let _ = kill(p, Signal::KILL);
            }
            let _ = child.kill();
            let end = Instant::now() + Duration::from_secs(5);
            while Instant::now() < end {
                if !matches!(child.try_wait(), Ok(None)) {
                    return;
                }
                thread::sleep(Duration::from_millis(10));
            }
            eprintln!("warning: pid {} did not exit", child.id());
            return;
        }
        thread::sleep(Duration::from_millis(5));
    }
}

impl NetworkdEnv {
    /// Creates the netns, the holder namespaces and the private bus. networkd is NOT started.
    pub fn new() -> NetworkdEnv {
        Self::build(None)
    }

    /// `resolved_root`: Some(unpacked systemd-resolved package) = prepare the holder for it.
    pub(super) fn build(resolved_root: Option<PathBuf>) -> NetworkdEnv {
        Self::build_with(resolved_root, None)
    }

    /// [`NetworkdEnv::build`]; `nm_root`: Some(unpacked network-manager package) = prepare the
    /// holder for NetworkManager (private /etc copy and /var/lib, its bus policy).
    pub(super) fn build_with(
        resolved_root: Option<PathBuf>,
        nm_root: Option<&Path>,
    ) -> NetworkdEnv {
        Self::build_in(resolved_root, nm_root, Upstream::V252)
    }

    /// [`NetworkdEnv::build_with`] for `upstream`: other than the host's, the daemons, tools
    /// and waiters run chrooted in a per-test overlay of its root (see `upstream.rs`), and
    /// `resolved_root` is a path inside it.
    pub(super) fn build_in(
        resolved_root: Option<PathBuf>,
        nm_root: Option<&Path>,
        upstream: Upstream,
    ) -> NetworkdEnv {
        let chroot = upstream.root();
        let base = chroot.clone().unwrap_or_else(|| PathBuf::from("/"));
        for tool in [NETWORKD, "/usr/bin/dbus-daemon", "/usr/bin/busctl"] {
            let p = base.join(tool.trim_start_matches('/'));
            assert!(p.exists(), "NetworkdEnv needs {}", p.display());
        }
        for tool in ["/usr/bin/nsenter", "/usr/bin/unshare"] {
            assert!(Path::new(tool).exists(), "NetworkdEnv needs {tool}");
        }
        let ns = Netns::new();
        let dir = TempDir::named(ns.name());
        std::fs::create_dir_all(dir.0.join("network")).expect("mkdir network");
        std::fs::create_dir_all(dir.0.join("logs")).expect("mkdir logs");
        let resolved_policy = match &resolved_root {
            // the root's own policies are in its system.conf's includedirs
            Some(_) if chroot.is_some() => String::new(),
            Some(root) => format!(
                "  <!-- org.freedesktop.resolve1 policy of the unpacked systemd-resolved package -->\n  \
                 <includedir>{}</includedir>\n",
                root.join("usr/share/dbus-1/system.d").display()
            ),
            None => String::new(),
        };
        let nm_policy = match nm_root {
            Some(root) => format!(
                "  <!-- org.freedesktop.NetworkManager policy of the unpacked network-manager package -->\n  \
                 <includedir>{}</includedir>\n",
                root.join("usr/share/dbus-1/system.d").display()
            ),
            None => String::new(),
        };
        std::fs::write(
            dir.0.join("dbus.conf"),
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <!-- stock system bus: unix:path=/run/dbus/system_bus_socket (private /run), stock policies -->
  <include>/usr/share/dbus-1/system.conf</include>
{resolved_policy}{nm_policy}  <!-- tests: root may own any name (mock services) -->
  <policy user="root"><allow own="*"/><allow send_type="method_call"/></policy>
</busconfig>
"#
            ),
        )
        .expect("write dbus.conf");
        std::fs::create_dir_all(dir.0.join("etc")).expect("mkdir etc");
        let resolv_conf = if resolved_root.is_some() {
            // the stub of our resolved (resolved itself ignores its own stub address here)
            b"nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch .\n".to_vec()
        } else {
            std::fs::read("/etc/resolv.conf").unwrap_or_default()
        };
        std::fs::write(dir.0.join("etc/resolv.conf"), resolv_conf).expect("write resolv.conf");
        if chroot.is_some() {
            // the root has the users itself: only the resolved.conf drop-in
            std::fs::write(dir.0.join("resolved.conf"), super::RESOLVED_CONF)
                .expect("write resolved.conf");
        } else if resolved_root.is_some() {
            super::resolved::write_private_etc(&dir.0);
        }
        if nm_root.is_some() {
            std::fs::create_dir_all(dir.0.join("etc-copy")).expect("mkdir etc-copy");
        }

        let holder_log = File::create(dir.0.join("logs/holder.log")).expect("holder.log");
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--net={}", ns.path().display()))
            .args([
                "--",
                "unshare",
                "--mount",
                "--pid",
                "--fork",
                "--mount-proc",
            ])
            .args([
                "--propagation",
                "private",
                "--kill-child",
                "--",
                "sh",
                "-c",
                if chroot.is_some() {
                    super::upstream::CHROOT_HOLDER_SCRIPT
                } else {
                    HOLDER_SCRIPT
                },
            ])
            .env("WOT_DIR", &dir.0)
            .env(
                "WOT_RESOLVED",
                if resolved_root.is_some() { "1" } else { "" },
            )
            .env("WOT_NM", if nm_root.is_some() { "1" } else { "" })
            .env("WOT_UPSTREAM", chroot.as_deref().unwrap_or(Path::new("")))
            .env("WOT_BIN", super::wait_online_bin())
            // keep libmount from writing /run/mount/utab on the host before our tmpfs is there
            .env("LIBMOUNT_UTAB", dir.0.join("utab"))
            .stdin(Stdio::piped())
            .stdout(holder_log.try_clone().expect("dup"))
            .stderr(holder_log);
        let mut holder = cmd.spawn().unwrap_or_else(|e| panic!("spawn holder: {e}"));
        let holder_stdin = holder.stdin.take();

        // From here on, a panic must still tear everything down: build the guard first.
        let mut env = NetworkdEnv {
            networkd: None,
            resolved: None,
            dbus: None,
            resolved_root,
            upstream,
            chroot,
            holder_stdin,
            holder,
            holder_pid: 0,
            ns,
            dir,
            logs_reported: AtomicBool::new(false),
        };
        let ready = env.dir.0.join("ready");
        let unshare_pid = env.holder.id();
        let mut exited = false;
        let ok = wait_until(Duration::from_secs(10), Duration::from_millis(5), || {
            exited = !matches!(env.holder.try_wait(), Ok(None));
            exited || ready.exists()
        });
        if !ok || exited {
            panic!(
                "holder namespaces not ready (exited={exited})\n{}",
                env.logs_tail(30)
            );
        }
        env.holder_pid = children_of(unshare_pid as i32)
            .first()
            .copied()
            .unwrap_or_else(|| panic!("cannot find holder pid (child of {unshare_pid})"));

        let conf = env.inner_dir().join("dbus.conf");
        env.dbus = Some(env.spawn_daemon(
            "dbus",
            "dbus-daemon",
            &[
                &format!("--config-file={}", conf.display()),
                "--nofork",
                "--nopidfile",
                "--nosyslog",
            ],
        ));
        let sock = env.holder_path("/run/dbus/system_bus_socket");
        let ok = wait_until(Duration::from_secs(10), Duration::from_millis(5), || {
            UnixStream::connect(&sock).is_ok()
        });
        if !ok {
            panic!("private system bus did not come up\n{}", env.logs_tail(30));
        }
        env
    }

    /// The underlying network namespace (for `ip` commands, veths to peers, ...).
    pub fn netns(&self) -> &Netns {
        &self.ns
    }

    /// The systemd whose daemons and tools run here.
    pub fn upstream(&self) -> Upstream {
        self.upstream
    }

    /// Host pid of the holder (PID 1 of the private PID namespace).
    pub fn holder_pid(&self) -> i32 {
        self.holder_pid
    }

    /// A path as seen inside the holder's mount namespace, reachable from the host
    /// (`/proc/<holder>/root/...`), e.g. `holder_path("/run/systemd/netif/links/2")`.
    pub fn holder_path(&self, p: &str) -> PathBuf {
        PathBuf::from(format!("/proc/{}/root", self.holder_pid)).join(p.trim_start_matches('/'))
    }

    /// The private directory mounted on /etc/systemd/network inside the holder.
    pub fn config_dir(&self) -> PathBuf {
        self.dir.0.join("network")
    }

    /// The per-test log directory.
    pub fn log_dir(&self) -> PathBuf {
        self.dir.0.join("logs")
    }

    /// Writes (atomically) a file into the private /etc/systemd/network.
    /// networkd picks changes up on `start_networkd()` or `networkctl(&["reload"])`.
    pub fn write_network(&self, filename: &str, contents: &str) {
        let tmp = self.dir.0.join(format!(".{filename}.tmp"));
        std::fs::write(&tmp, contents).expect("write .network");
        std::fs::rename(&tmp, self.config_dir().join(filename)).expect("rename .network");
    }

    /// The per-test directory as the holder sees it (bind-mounted at `/run/wot` in a chroot).
    fn inner_dir(&self) -> PathBuf {
        match self.chroot {
            Some(_) => PathBuf::from("/run/wot"),
            None => self.dir.0.clone(),
        }
    }

    /// `nsenter -t <holder> -m -n -p -- CMD ARGS`: runs inside the private netns, mount ns
    /// (private /run, bus, config) and PID ns, and in the holder's chroot if it has one (`-r
    /// -w`). Use with [`super::run_wait_online`].
    pub fn run(&self, cmd: &str, args: &[&str]) -> Command {
        let mut c = Command::new("nsenter");
        c.args(["-t", &self.holder_pid.to_string(), "-m", "-n", "-p"]);
        if self.chroot.is_some() {
            c.args(["-r", "-w"]);
        }
        c.arg("--").arg(cmd).args(args);
        c
    }

    /// Runs inside the holder with a hard limit of 20 s.
    pub fn output(&self, cmd: &str, args: &[&str]) -> RunResult {
        run_wait_online(self.run(cmd, args), CMD_TIMEOUT)
    }

    /// This crate's `wait-online ARGS` inside the holder (hard limit 30 s).
    pub fn wait_online(&self, args: &[&str]) -> RunResult {
        run_wait_online(self.run(super::wait_online_bin(), args), WAIT_LIMIT)
    }

    /// [`Self::wait_online`] on a thread, for tests that change things while it waits.
    pub fn wait_online_bg(&self, args: &[&str]) -> thread::JoinHandle<RunResult> {
        run_wait_online_bg(self.run(super::wait_online_bin(), args), WAIT_LIMIT)
    }

    /// Panics with the run and the daemons' logs unless `r` exited with `code`.
    pub fn assert_code(&self, r: &RunResult, code: i32) {
        assert_eq!(
            r.code,
            Some(code),
            "{}\n{}",
            r.describe(),
            self.logs_tail(30)
        );
    }

    pub(super) fn spawn_daemon(&self, name: &str, prog: &str, args: &[&str]) -> Daemon {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_dir().join(format!("{name}.log")))
            .expect("open daemon log");
        let mut cmd = self.run(prog, args);
        cmd.env("SYSTEMD_LOG_LEVEL", "debug")
            .env("SYSTEMD_LOG_TARGET", "console")
            .env("SYSTEMD_LOG_COLOR", "0")
            .env("SYSTEMD_LOG_TIME", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup"))
            .stderr(log);
        let mut nsenter = cmd.spawn().unwrap_or_else(|e| panic!("spawn {name}: {e}"));
        let npid = nsenter.id();
        let mut pid = None;
        wait_until(Duration::from_secs(5), Duration::from_millis(2), || {
            pid = children_of(npid as i32).first().copied();
            pid.is_some() || !matches!(nsenter.try_wait(), Ok(None))
        });
        match pid {
            Some(pid) => Daemon { nsenter, pid },
            None => {
                reap(&mut nsenter, None, Duration::ZERO);
                panic!("{name} did not start\n{}", self.logs_tail(30));
            }
        }
    }

    pub(super) fn bus_has(&self, name: &str) -> bool {
        let r = self.output(
            "busctl",
            &[
                "--system",
                "call",
                "org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus",
                "NameHasOwner",
                "s",
                name,
            ],
        );
        r.success() && r.stdout.trim() == "b true"
    }

    /// Starts the real systemd-networkd (as root; it drops privileges itself) and waits until
    /// it owns `org.freedesktop.network1` on the private bus (bounded: 15 s).
    pub fn start_networkd(&mut self) {
        assert!(self.networkd.is_none(), "networkd already running");
        let _ = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(self.log_dir().join("networkd.log"))
            .and_then(|mut f| writeln!(f, "===== start_networkd ====="));
        let d = self.spawn_daemon("networkd", NETWORKD, &[]);
        self.networkd = Some(d);
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if self.bus_has("org.freedesktop.network1") {
                return;
            }
            let d = self.networkd.as_mut().unwrap();
            if !matches!(d.nsenter.try_wait(), Ok(None)) {
                self.networkd = None;
                panic!(
                    "systemd-networkd exited during start-up\n{}",
                    self.logs_tail(40)
                );
            }
            if Instant::now() >= deadline {
                panic!(
                    "org.freedesktop.network1 did not appear on the bus\n{}",
                    self.logs_tail(40)
                );
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGTERMs networkd and waits (bounded) until it exited.
    pub fn stop_networkd(&mut self) {
        if let Some(mut d) = self.networkd.take() {
            let _ = kill(d.pid, Signal::TERM);
            reap(&mut d.nsenter, Some(d.pid), Duration::from_secs(5));
        }
    }

    pub fn networkd_running(&mut self) -> bool {
        match &mut self.networkd {
            Some(d) => matches!(d.nsenter.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// `networkctl --no-pager ARGS` inside the holder; panics (with logs) unless it exits 0.
    pub fn networkctl(&self, args: &[&str]) -> String {
        let mut a = vec!["--no-pager"];
        a.extend_from_slice(args);
        let r = self.output("networkctl", &a);
        if !r.success() {
            panic!(
                "networkctl {args:?} failed: {}\n{}",
                r.describe(),
                self.logs_tail(30)
            );
        }
        r.stdout
    }

    /// Contents of `/run/systemd/netif/links/<ifindex>` for `ifname` as key/value pairs
    /// (None if the link or the state file does not exist).
    pub fn link_state(&self, ifname: &str) -> Option<Vec<(String, String)>> {
        let idx =
            std::fs::read_to_string(self.holder_path(&format!("/sys/class/net/{ifname}/ifindex")))
                .ok()?;
        let text = std::fs::read_to_string(
            self.holder_path(&format!("/run/systemd/netif/links/{}", idx.trim())),
        )
        .ok()?;
        Some(
            text.lines()
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        )
    }

    /// One key of [`NetworkdEnv::link_state`], e.g. `"ADMIN_STATE"` (= setup state),
    /// `"OPER_STATE"`, `"ONLINE_STATE"`.
    pub fn link_state_value(&self, ifname: &str, key: &str) -> Option<String> {
        self.link_state(ifname)?
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// Waits until networkd's setup state of `ifname` (the `SETUP` column of `networkctl`,
    /// stored as `ADMIN_STATE=` in the link state file) equals `state` (e.g. "configured");
    /// panics after `timeout` with the state file, `networkctl list` and the daemon logs.
    pub fn wait_for_setup_state(&self, ifname: &str, state: &str, timeout: Duration) {
        let ok = wait_until(timeout, Duration::from_millis(10), || {
            self.link_state_value(ifname, "ADMIN_STATE").as_deref() == Some(state)
        });
        if !ok {
            let list = self.output("networkctl", &["--no-pager", "list"]);
            panic!(
                "{ifname} did not reach ADMIN_STATE(setup state)={state} within {timeout:?}; state file: {:?}\n\
                 networkctl list:\n{}\n{}",
                self.link_state(ifname),
                list.describe(),
                self.logs_tail(40)
            );
        }
    }

    /// The last `lines` lines of every log in the per-test log dir. (Calling it suppresses the
    /// automatic log dump on panic in Drop: include the result in your panic message.)
    pub fn logs_tail(&self, lines: usize) -> String {
        self.logs_reported.store(true, Ordering::Relaxed);
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.log_dir())
            .map(|rd| rd.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        names.sort();
        let mut s = format!("logs in {}:", self.log_dir().display());
        for p in names {
            s.push_str(&format!(
                "\n==> {} <==\n{}",
                p.file_name().unwrap_or_default().to_string_lossy(),
                log_tail(&p, lines)
            ));
        }
        s
    }
}

impl Drop for NetworkdEnv {
    fn drop(&mut self) {
        if thread::panicking() && !self.logs_reported.load(Ordering::Relaxed) {
            eprintln!(
                "NetworkdEnv {}: test panicked\n{}",
                self.ns.name(),
                self.logs_tail(40)
            );
        }
        // Order matters. Kill only the PID-ns init first: the kernel then SIGKILLs everything in
        // the PID ns, and the host-side `nsenter` parents reap their children and exit. Killing
        // the nsenters at the same time would orphan the daemons to the host's PID 1, which
        // reaps lazily here, and the dying init would wait for those zombies.
        drop(self.holder_stdin.take());
        if self.holder_pid > 0 {
            let _ = kill(self.holder_pid, Signal::KILL);
        }
        for d in [self.networkd.take(), self.resolved.take(), self.dbus.take()]
            .into_iter()
            .flatten()
        {
            let mut d = d;
            reap(&mut d.nsenter, Some(d.pid), Duration::from_secs(3));
        }
        reap(&mut self.holder, None, Duration::from_secs(3));
        // whatever else is left in the netns (e.g. started through Netns::exec)
        kill_netns_procs(&self.ns.path(), Duration::from_secs(5));
        // then: self.ns (deletes the netns), self.dir (removes the temp dir)
    }
}
