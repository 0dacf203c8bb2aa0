//! Named network namespaces (`ip netns`) with automatic teardown.

use std::collections::HashMap;
use std::os::fd::AsFd;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, Once};
use std::thread;
use std::time::{Duration, Instant};

use rustix::process::Signal;
use rustix::thread::{LinkNameSpaceType, move_into_link_name_space};

use super::process::{RunResult, kill, run_checked, run_wait_online};

/// Prefix of every namespace / temp dir the helpers create: `wot-<pid>-<n>`.
pub const PREFIX: &str = "wot-";
const IP_TIMEOUT: Duration = Duration::from_secs(15);

static COUNTER: AtomicU32 = AtomicU32::new(0);
/// `ip netns add/del` mount/unmount /run/netns; serialise them within this process.
static NETNS_LOCK: Mutex<()> = Mutex::new(());
static STALE_CLEANUP: Once = Once::new();

/// A unique name `wot-<pid>-<n>` (namespaces, temp dirs).
pub fn unique_name() -> String {
    format!(
        "{PREFIX}{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// A directory `<tmp>/wot-<pid>-<n>` (mode 0755: unprivileged runs use it too), removed on
/// drop unless `WAIT_ONLINE_TEST_KEEP=1`.
#[derive(Debug)]
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        TempDir::named(&unique_name())
    }

    /// `<tmp>/<name>`, emptied first.
    pub(super) fn named(name: &str) -> TempDir {
        let dir = TempDir(std::env::temp_dir().join(name));
        let _ = std::fs::remove_dir_all(&dir.0);
        std::fs::create_dir_all(&dir.0)
            .unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.0.display()));
        std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o755))
            .unwrap_or_else(|e| panic!("chmod {}: {e}", dir.0.display()));
        dir
    }
}

impl Default for TempDir {
    fn default() -> Self {
        TempDir::new()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var("WAIT_ONLINE_TEST_KEEP").as_deref() == Ok("1") {
            eprintln!("keeping {}", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn lock() -> std::sync::MutexGuard<'static, ()> {
    NETNS_LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Host pids of all processes whose network namespace is the one bound at `ns_path`.
pub(crate) fn pids_in_netns(ns_path: &Path) -> Vec<i32> {
    let Ok(target) = std::fs::metadata(ns_path) else {
        return Vec::new();
    };
    let me = std::process::id() as i32;
    let mut pids = Vec::new();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return pids;
    };
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        if let Ok(m) = std::fs::metadata(format!("/proc/{pid}/ns/net"))
            && m.dev() == target.dev()
            && m.ino() == target.ino()
        {
            pids.push(pid);
        }
    }
    pids
}

/// SIGKILLs every process in the netns until none is left (bounded). Returns false on timeout.
pub(crate) fn kill_netns_procs(ns_path: &Path, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        let pids = pids_in_netns(ns_path);
        if pids.is_empty() {
            return true;
        }
        if Instant::now() >= deadline {
            eprintln!(
                "warning: processes still alive in {}: {pids:?}",
                ns_path.display()
            );
            return false;
        }
        for p in pids {
            let _ = kill(p, Signal::KILL);
        }
        thread::sleep(Duration::from_millis(10));
    }
}

fn delete_netns(name: &str) {
    let path = PathBuf::from("/run/netns").join(name);
    kill_netns_procs(&path, Duration::from_secs(5));
    let _g = lock();
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "del", name]);
    let r = run_wait_online(cmd, IP_TIMEOUT);
    if !r.success() && path.exists() {
        eprintln!("warning: ip netns del {name} failed: {}", r.describe());
    }
}

/// `wot-<pid>-<n>` whose pid is dead are leftovers of a killed test run. Never ours: the
/// tests of this process run in parallel threads, and any of them may have made one already.
fn is_stale(name: &str) -> bool {
    let Some(rest) = name.strip_prefix(PREFIX) else {
        return false;
    };
    let mut it = rest.splitn(2, '-');
    let (Some(pid), Some(n)) = (it.next(), it.next()) else {
        return false;
    };
    let (Ok(pid), true) = (
        pid.parse::<u32>(),
        !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()),
    ) else {
        return false;
    };
    !Path::new(&format!("/proc/{pid}")).exists()
}

/// Removes namespaces and temp dirs left behind by test processes that were killed before
/// their Drop guards could run (e.g. Ctrl-C). Runs once per process.
fn cleanup_stale() {
    if let Ok(rd) = std::fs::read_dir("/run/netns") {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if is_stale(&name) {
                eprintln!("removing stale test netns {name}");
                delete_netns(&name);
            }
        }
    }
    if let Ok(rd) = std::fs::read_dir(std::env::temp_dir()) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if is_stale(&name) && e.path().is_dir() {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
}

/// A named network namespace (`/run/netns/wot-<pid>-<n>`) with `lo` up.
/// Drop SIGKILLs every process still inside it and deletes it (veths with it).
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    pub fn new() -> Netns {
        STALE_CLEANUP.call_once(cleanup_stale);
        let name = unique_name();
        {
            let _g = lock();
            let mut cmd = Command::new("ip");
            cmd.args(["netns", "add", &name]);
            run_checked(cmd, IP_TIMEOUT);
        }
        let ns = Netns { name };
        ns.link_up("lo");
        ns
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `/run/netns/<name>` (usable with `nsenter --net=`).
    pub fn path(&self) -> PathBuf {
        PathBuf::from("/run/netns").join(&self.name)
    }

    /// `ip -n <ns> ARGS`; panics with stderr on failure, returns stdout.
    pub fn ip(&self, args: &[&str]) -> String {
        run_checked(self.ip_cmd(args), IP_TIMEOUT)
    }

    /// Like [`Netns::ip`] but returns the failure instead of panicking.
    pub fn try_ip(&self, args: &[&str]) -> Result<String, RunResult> {
        let r = run_wait_online(self.ip_cmd(args), IP_TIMEOUT);
        if r.success() { Ok(r.stdout) } else { Err(r) }
    }

    /// `ip -n <ns> -batch` of `commands` (one `ip` command a line, without the `ip`); panics
    /// with stderr on failure.
    pub fn ip_batch(&self, commands: &str) {
        let dir = TempDir::new();
        let file = dir.0.join("batch");
        std::fs::write(&file, commands).expect("write the batch file");
        self.ip(&["-batch", file.to_str().expect("a UTF-8 temp dir")]);
    }

    fn ip_cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("ip");
        cmd.arg("-n").arg(&self.name).args(args);
        cmd
    }

    /// `ip netns exec <ns> CMD ARGS` (own mount ns with the netns' sysfs on /sys).
    pub fn exec(&self, cmd: &str, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, cmd]).args(args);
        c
    }

    /// Starts `cmd` in the netns in the background (stdin null, output inherited).
    /// It is SIGKILLed at the latest when the Netns is dropped; `wait()` the Child afterwards
    /// (an unwaited Child stays a zombie until the test process exits).
    /// Runs `body` on a new thread that has entered this namespace (`setns` changes only
    /// that thread's namespace).
    pub fn spawn_thread<T: Send + 'static>(
        &self,
        body: impl FnOnce() -> T + Send + 'static,
    ) -> thread::JoinHandle<T> {
        let path = self.path();
        thread::spawn(move || {
            let netns = std::fs::File::open(&path).expect("open the namespace");
            // setns(2) moves this thread only.
            let moved = move_into_link_name_space(netns.as_fd(), Some(LinkNameSpaceType::Network));
            assert_eq!(moved, Ok(()), "setns {}", path.display());
            body()
        })
    }

    /// Runs this crate's `wait-online --manager=none ARGS` here (20 s hard limit).
    pub fn wait_online(&self, args: &[&str]) -> RunResult {
        run_wait_online(
            self.exec(super::wait_online_bin(), &kernel_only(args)),
            Duration::from_secs(20),
        )
    }

    /// [`Self::wait_online`] on a thread, for tests that change things while it waits.
    pub fn wait_online_bg(&self, args: &[&str]) -> thread::JoinHandle<RunResult> {
        super::process::run_wait_online_bg(
            self.exec(super::wait_online_bin(), &kernel_only(args)),
            Duration::from_secs(20),
        )
    }

    pub fn spawn(&self, cmd: &str, args: &[&str]) -> Child {
        let mut c = self.exec(cmd, args);
        c.stdin(Stdio::null());
        c.spawn()
            .unwrap_or_else(|e| panic!("cannot spawn {c:?}: {e}"))
    }

    /// Runs `cmd` in the netns to completion (hard limit 30 s).
    pub fn output(&self, cmd: &str, args: &[&str]) -> RunResult {
        run_wait_online(self.exec(cmd, args), Duration::from_secs(30))
    }

    /// Host pids of processes currently in this netns.
    pub fn pids(&self) -> Vec<i32> {
        pids_in_netns(&self.path())
    }

    // ---- topology helpers (devices are created DOWN, like the kernel does) ----

    /// veth pair `a` (here) <-> `b` (in `peer`, or here when `None`).
    pub fn add_veth(&self, a: &str, peer: Option<&Netns>, b: &str) {
        let mut args = vec!["link", "add", "name", a, "type", "veth", "peer", "name", b];
        if let Some(p) = peer {
            args.extend(["netns", p.name()]);
        }
        self.ip(&args);
    }

    /// The usual neighbour: a new namespace whose `wo0p` (10.77.0.1/24, up) is the other end
    /// of a veth `wo0` here (down: it has carrier as soon as it is up).
    pub fn add_peer(&self) -> Netns {
        let peer = Netns::new();
        self.add_veth("wo0", Some(&peer), "wo0p");
        peer.add_addr("wo0p", "10.77.0.1/24");
        peer.link_up("wo0p");
        peer
    }

    /// Bridge `br` (STP off, forward_delay 0) with `ports` enslaved.
    pub fn add_bridge(&self, br: &str, ports: &[&str]) {
        self.ip(&[
            "link",
            "add",
            "name",
            br,
            "type",
            "bridge",
            "forward_delay",
            "0",
        ]);
        for p in ports {
            self.ip(&["link", "set", "dev", p, "master", br]);
        }
    }

    /// Bond `bond` in `mode` (e.g. "active-backup") with `ports` (set down first, as required).
    /// Panics if the kernel lacks bonding: check [`kernel_supports`]`("bond")` first.
    pub fn add_bond(&self, bond: &str, mode: &str, ports: &[&str]) {
        self.ip(&["link", "add", "name", bond, "type", "bond", "mode", mode]);
        for p in ports {
            self.ip(&["link", "set", "dev", p, "down"]);
            self.ip(&["link", "set", "dev", p, "master", bond]);
        }
    }

    /// VLAN `name` with `id` on `parent`. Check [`kernel_supports`]`("vlan")` first.
    pub fn add_vlan(&self, parent: &str, name: &str, id: u16) {
        let id = id.to_string();
        self.ip(&[
            "link", "add", "link", parent, "name", name, "type", "vlan", "id", &id,
        ]);
    }

    /// macvlan (bridge mode) `name` on `parent`: a stacked device that works on kernels
    /// without 8021q/bonding.
    pub fn add_macvlan(&self, parent: &str, name: &str) {
        self.ip(&[
            "link", "add", "link", parent, "name", name, "type", "macvlan", "mode", "bridge",
        ]);
    }

    pub fn add_addr(&self, dev: &str, cidr: &str) {
        self.ip(&["addr", "add", cidr, "dev", dev]);
    }

    pub fn del_addr(&self, dev: &str, cidr: &str) {
        self.ip(&["addr", "del", cidr, "dev", dev]);
    }

    pub fn link_up(&self, dev: &str) {
        self.ip(&["link", "set", "dev", dev, "up"]);
    }

    pub fn link_down(&self, dev: &str) {
        self.ip(&["link", "set", "dev", dev, "down"]);
    }

    /// Renames a link (this kernel allows it while up).
    pub fn set_name(&self, dev: &str, new_name: &str) {
        self.ip(&["link", "set", "dev", dev, "name", new_name]);
    }

    pub fn del_link(&self, dev: &str) {
        self.ip(&["link", "del", "dev", dev]);
    }

    pub fn ifindex(&self, dev: &str) -> u32 {
        let out = self.ip(&["-j", "link", "show", "dev", dev]);
        let i = out
            .find("\"ifindex\":")
            .unwrap_or_else(|| panic!("no ifindex in {out}"));
        out[i + 10..]
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect::<String>()
            .parse()
            .unwrap_or_else(|e| panic!("bad ifindex in {out}: {e}"))
    }

    /// Addresses on `dev` as `"10.0.0.1/24"` strings (IPv4 and IPv6).
    pub fn addrs(&self, dev: &str) -> Vec<String> {
        let out = self.ip(&["-o", "addr", "show", "dev", dev]);
        out.lines()
            .filter_map(|l| {
                let mut it = l.split_whitespace();
                it.find(|t| *t == "inet" || *t == "inet6")?;
                it.next().map(str::to_owned)
            })
            .collect()
    }
}

impl Default for Netns {
    fn default() -> Self {
        Netns::new()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        delete_netns(&self.name);
    }
}

/// After a teardown: the namespace `ns_name`, its temp dir and every one of `pids` are gone.
pub fn assert_gone(ns_name: &str, pids: &[i32]) {
    assert!(
        !Path::new("/run/netns").join(ns_name).exists(),
        "netns {ns_name} left behind"
    );
    assert!(
        !std::env::temp_dir().join(ns_name).exists(),
        "temp dir of {ns_name} left behind"
    );
    for &p in pids {
        assert!(
            !super::process::alive(p),
            "process {p} of {ns_name} still alive: {:?}",
            std::fs::read_to_string(format!("/proc/{p}/stat"))
        );
    }
}

/// Whether `ip link add ... type <kind>` works on this kernel (cached). The test kernel has no
/// modules: `veth`, `bridge`, `macvlan` work, `dummy`, `bond`, `vlan` may not.
pub fn kernel_supports(kind: &str) -> bool {
    static CACHE: Mutex<Option<HashMap<String, bool>>> = Mutex::new(None);
    if let Some(v) = CACHE
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert_with(HashMap::new)
        .get(kind)
    {
        return *v;
    }
    let ns = Netns::new();
    let ok = match kind {
        "vlan" | "macvlan" | "ipvlan" => {
            ns.add_veth("p0", None, "p1");
            ns.try_ip(&[
                "link", "add", "link", "p0", "name", "probe0", "type", kind, "id", "5",
            ])
            .or_else(|_| ns.try_ip(&["link", "add", "link", "p0", "name", "probe0", "type", kind]))
            .is_ok()
        }
        "veth" => ns
            .try_ip(&[
                "link", "add", "name", "probe0", "type", "veth", "peer", "name", "probe1",
            ])
            .is_ok(),
        _ => ns
            .try_ip(&["link", "add", "name", "probe0", "type", kind])
            .is_ok(),
    };
    drop(ns);
    CACHE
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert_with(HashMap::new)
        .insert(kind.to_owned(), ok);
    ok
}

/// `--manager=none` followed by `args`.
fn kernel_only<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec!["--manager=none"];
    all.extend_from_slice(args);
    all
}
