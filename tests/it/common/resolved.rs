//! The real systemd-resolved inside a [`NetworkdEnv`] and a real DNS server ([`DnsServer`],
//! dnsmasq) in a peer netns.
//!
//! systemd-resolved is not installed on the host: `tests/setup-deps.sh` downloads the package
//! whose version equals the installed libsystemd-shared and unpacks it (`dpkg -x`) into
//! `$WAIT_ONLINE_RESOLVED_ROOT` (default [`DEFAULT_RESOLVED_ROOT`]); it also installs
//! `dnsmasq-base`. Tests needing either panic with a hint to run that script.
//!
//! ```ignore
//! let mut env = NetworkdEnv::with_resolved();          // holder prepared for resolved
//! let peer = Netns::new();
//! env.netns().add_veth("wo0", Some(&peer), "wo0p");
//! peer.add_addr("wo0p", "10.77.0.1/24");
//! peer.link_up("wo0p");
//! let dns = DnsServer::start(&peer, "10.77.0.1", &[("host1.test.wohx", "10.77.0.10")]);
//! env.write_network("10-wo0.network", "...DNS=10.77.0.1\nDomains=~test.wohx\n");
//! env.start_resolved();                                 // bus first, then resolved, networkd
//! env.start_networkd();
//! env.wait_for_link_dns("wo0", "10.77.0.1", Duration::from_secs(10));
//! let r = env.resolve_hostname("host1.test.wohx", 0, Duration::from_secs(5)).unwrap();
//! ```
//!
//! Facts (systemd 252.38, measured by `tests/it/dns_env_selftest.rs` on a 2-vCPU VM):
//! * resolved learns per-link DNS/domains from networkd's state files
//!   (`/run/systemd/netif/links/<ifindex>`, via sd-network + inotify); networkd never calls
//!   resolve1 (no `SetLinkDNS`). After a restart of resolved alone the link's DNS is back at
//!   once (within ~10 ms of resolve1 reappearing); no `networkctl reload/reconfigure` needed.
//!   The same holds when resolved starts after networkd.
//! * A link with only `Domains=~zone` is not a default route (`DefaultRoute` b false, log: "has
//!   only route-only domains, not using as global name server").
//! * The Link `CurrentDNSServer` property stays empty (`(iay) 0 0`) until the first lookup that
//!   uses the link; the Link `DNS` and Manager `DNS` properties are set right away.
//! * dnsmasq answers `--host-record`s with TTL 0 (`--local-ttl` default), so resolved does not
//!   cache them: every lookup reaches the server ([`DnsServer::queries`]).
//! * [`DnsServer::stop`] (port closed, ICMP port unreachable): the next lookup fails in ~10 ms
//!   ("Lookup failed due to system error: Connection refused"); after
//!   [`DnsServer::start_again`] lookups work again at once.
//! * [`DnsServer::pause`] (silent server): resolved's first lookup fails only after its 120 s
//!   query timeout ("Query timed out"), the next one after ~6 s ("All attempts to contact name
//!   servers or networks failed"): bound the client side ([`NetworkdEnv::resolve_hostname`]'s
//!   timeout).
//! * resolved also reads `/etc/resolv.conf` and imports its `nameserver`s (except its own stub
//!   127.0.0.53) as global servers: [`NetworkdEnv::set_resolv_conf`] affects resolved too.
//! * Calling resolve1 while resolved is not running fails at once ("The name
//!   org.freedesktop.resolve1 was not provided by any .service files").

use std::collections::BTreeSet;
use std::fs::OpenOptions;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use rustix::process::Signal;

use super::netns::{Netns, TempDir};
use super::networkd::{NetworkdEnv, reap};
use super::process::{RunResult, kill, run_wait_online, wait_until};

/// Environment variable naming the unpacked systemd-resolved package (see `tests/setup-deps.sh`).
pub const RESOLVED_ROOT_ENV: &str = "WAIT_ONLINE_RESOLVED_ROOT";
/// Where `tests/setup-deps.sh` unpacks systemd-resolved by default.
pub const DEFAULT_RESOLVED_ROOT: &str = "/var/cache/wait-online-tests/root-resolved";
/// `ResolveHostname` flag: do not answer from the cache (`SD_RESOLVED_NO_CACHE`, systemd 252).
pub const SD_RESOLVED_NO_CACHE: u64 = 1 << 12;
/// Reply flag: the answer came from the network (`SD_RESOLVED_FROM_NETWORK`).
pub const SD_RESOLVED_FROM_NETWORK: u64 = 1 << 23;
/// Name of the drop-in written to the holder's /run/systemd/resolved.conf.d/ (sorts last, so
/// it overrides any host drop-in in /etc/systemd/resolved.conf.d/).
pub const RESOLVED_DROPIN: &str = "zz-wait-online-tests.conf";
/// The default contents of [`RESOLVED_DROPIN`]: no global/fallback servers (nothing can leave
/// the namespaces), LLMNR/mDNS/DNSSEC/DoT off, stub listener on 127.0.0.53.
pub const RESOLVED_CONF: &str = "[Resolve]\nDNS=\nFallbackDNS=\nDomains=\nLLMNR=no\n\
     MulticastDNS=no\nDNSSEC=no\nDNSOverTLS=no\nDNSStubListener=yes\n";

const SETUP_HINT: &str = "run `sudo tests/setup-deps.sh` once (installs dnsmasq-base and \
     unpacks systemd-resolved matching the installed libsystemd-shared)";

/// The unpacked systemd-resolved package (`lib/systemd/systemd-resolved`, `usr/bin/resolvectl`)
/// from `$WAIT_ONLINE_RESOLVED_ROOT` or [`DEFAULT_RESOLVED_ROOT`]; None if it is not there.
pub fn resolved_root() -> Option<PathBuf> {
    let root = std::env::var_os(RESOLVED_ROOT_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_RESOLVED_ROOT));
    let ok = ["lib/systemd/systemd-resolved", "usr/bin/resolvectl"]
        .iter()
        .all(|p| is_executable(&root.join(p)));
    ok.then_some(root)
}

/// [`resolved_root`] or a panic telling the user to run `tests/setup-deps.sh`.
pub fn require_resolved_root() -> PathBuf {
    resolved_root().unwrap_or_else(|| {
        panic!(
            "systemd-resolved is not unpacked in ${RESOLVED_ROOT_ENV} (default \
             {DEFAULT_RESOLVED_ROOT}): {SETUP_HINT}"
        )
    })
}

/// Path of the dnsmasq binary or a panic telling the user to run `tests/setup-deps.sh`.
pub fn require_dnsmasq() -> PathBuf {
    ["/usr/sbin/dnsmasq", "/usr/bin/dnsmasq", "/sbin/dnsmasq"]
        .iter()
        .map(PathBuf::from)
        .find(|p| is_executable(p))
        .unwrap_or_else(|| panic!("dnsmasq is not installed: {SETUP_HINT}"))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Whether `name` is a user in the host's /etc/passwd.
fn host_user_exists(name: &str) -> bool {
    std::fs::read_to_string("/etc/passwd")
        .is_ok_and(|t| t.lines().any(|l| l.split(':').next() == Some(name)))
}

/// Writes `<dir>/etc/{passwd,group}` (host copies + the `systemd-resolve` user/group with a
/// free id) and `<dir>/resolved.conf` for the holder script.
pub(super) fn write_private_etc(dir: &Path) {
    let passwd = std::fs::read_to_string("/etc/passwd").expect("read /etc/passwd");
    let group = std::fs::read_to_string("/etc/group").expect("read /etc/group");
    let (mut passwd, mut group) = (passwd, group);
    let has = |t: &str| t.lines().any(|l| l.starts_with("systemd-resolve:"));
    if !has(&passwd) || !has(&group) {
        let used: BTreeSet<u32> = passwd
            .lines()
            .chain(group.lines())
            .filter_map(|l| l.split(':').nth(2)?.parse().ok())
            .collect();
        let id = (100..=990)
            .rev()
            .find(|i| !used.contains(i))
            .expect("no free system uid/gid for systemd-resolve");
        for t in [&mut passwd, &mut group] {
            if !t.is_empty() && !t.ends_with('\n') {
                t.push('\n');
            }
        }
        if !has(&passwd) {
            passwd.push_str(&format!(
                "systemd-resolve:x:{id}:{id}:systemd Resolver:/:/usr/sbin/nologin\n"
            ));
        }
        if !has(&group) {
            group.push_str(&format!("systemd-resolve:x:{id}:\n"));
        }
    }
    std::fs::write(dir.join("etc/passwd"), passwd).expect("write private passwd");
    std::fs::write(dir.join("etc/group"), group).expect("write private group");
    std::fs::write(dir.join("resolved.conf"), RESOLVED_CONF).expect("write resolved.conf");
}

/// One answer of [`NetworkdEnv::resolve_hostname`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// (ifindex, address) pairs as returned by resolved
    pub addrs: Vec<(i32, IpAddr)>,
    /// canonical name
    pub name: String,
    /// SD_RESOLVED_* reply flags (e.g. [`SD_RESOLVED_FROM_NETWORK`])
    pub flags: u64,
}

impl Resolved {
    pub fn ips(&self) -> Vec<IpAddr> {
        self.addrs.iter().map(|(_, a)| *a).collect()
    }
}

/// Parses busctl's `a(iiay)st N (ifindex family len bytes...)... "name" flags`.
pub fn parse_resolve_hostname(out: &str) -> Option<Resolved> {
    let out = out.trim();
    let rest = out.strip_prefix("a(iiay)st ")?;
    let q = rest.find('"')?;
    let (nums, tail) = rest.split_at(q);
    let mut it = nums.split_whitespace().map(|t| t.parse::<i64>().ok());
    let n = it.next()??;
    let mut addrs = Vec::new();
    for _ in 0..n {
        let ifindex = it.next()?? as i32;
        let family = it.next()??;
        let len = it.next()?? as usize;
        let bytes: Vec<u8> = (0..len)
            .map(|_| it.next().flatten().map(|b| b as u8))
            .collect::<Option<_>>()?;
        let ip = match (family, len) {
            (2, 4) => IpAddr::from(<[u8; 4]>::try_from(bytes).ok()?),
            (10, 16) => IpAddr::from(<[u8; 16]>::try_from(bytes).ok()?),
            _ => return None,
        };
        addrs.push((ifindex, ip));
    }
    let tail = &tail[1..];
    let end = tail.find('"')?;
    let name = tail[..end].to_owned();
    let flags = tail[end + 1..].trim().parse().ok()?;
    Some(Resolved { addrs, name, flags })
}

impl NetworkdEnv {
    /// Like [`NetworkdEnv::new`], but prepared for the real systemd-resolved: private
    /// passwd/group with `systemd-resolve`, /run/systemd/resolve, the resolved.conf drop-in
    /// [`RESOLVED_CONF`], the resolve1 bus policy, and /etc/resolv.conf =
    /// `nameserver 127.0.0.53`. resolved is NOT started ([`NetworkdEnv::start_resolved`]).
    /// Panics (with a hint to run `tests/setup-deps.sh`) when resolved is not unpacked.
    pub fn with_resolved() -> NetworkdEnv {
        let root = require_resolved_root();
        NetworkdEnv::build(Some(root))
    }

    fn require_resolved_env(&self) -> &Path {
        self.resolved_root.as_deref().expect(
            "this NetworkdEnv was not prepared for resolved: use NetworkdEnv::with_resolved()",
        )
    }

    /// Starts the real systemd-resolved (as root; it drops to `systemd-resolve` itself) and
    /// waits until it owns `org.freedesktop.resolve1` on the private bus (bounded: 15 s).
    /// Start it before networkd if a test depends on networkd's first state-file write being
    /// seen; either order works (resolved reads the state files at start-up and on change).
    pub fn start_resolved(&mut self) {
        let root = self.require_resolved_env().to_owned();
        assert!(self.resolved.is_none(), "resolved already running");
        let _ = OpenOptions::new()
            .append(true)
            .create(true)
            .open(self.log_dir().join("resolved.log"))
            .and_then(|mut f| writeln!(f, "===== start_resolved ====="));
        let prog = root.join("lib/systemd/systemd-resolved");
        let d = self.spawn_daemon("resolved", prog.to_str().expect("utf-8 path"), &[]);
        self.resolved = Some(d);
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if self.bus_has("org.freedesktop.resolve1") {
                return;
            }
            let d = self.resolved.as_mut().unwrap();
            if !matches!(d.nsenter.try_wait(), Ok(None)) {
                self.resolved = None;
                panic!(
                    "systemd-resolved exited during start-up (wrong version for this \
                     libsystemd-shared? re-run tests/setup-deps.sh)\n{}",
                    self.logs_tail(40)
                );
            }
            if Instant::now() >= deadline {
                panic!(
                    "org.freedesktop.resolve1 did not appear on the bus\n{}",
                    self.logs_tail(40)
                );
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGTERMs resolved and waits (bounded) until it exited and its bus name is gone.
    pub fn stop_resolved(&mut self) {
        if let Some(mut d) = self.resolved.take() {
            let _ = kill(d.pid, Signal::TERM);
            reap(&mut d.nsenter, Some(d.pid), Duration::from_secs(5));
            let gone = wait_until(Duration::from_secs(5), Duration::from_millis(10), || {
                !self.bus_has("org.freedesktop.resolve1")
            });
            assert!(
                gone,
                "org.freedesktop.resolve1 still owned after stopping resolved"
            );
        }
    }

    /// [`NetworkdEnv::stop_resolved`] + [`NetworkdEnv::start_resolved`].
    pub fn restart_resolved(&mut self) {
        self.stop_resolved();
        self.start_resolved();
    }

    /// Host pid of the running resolved.
    pub fn resolved_pid(&self) -> Option<i32> {
        self.resolved.as_ref().map(|d| d.pid)
    }

    /// Replaces the drop-in /run/systemd/resolved.conf.d/[`RESOLVED_DROPIN`] (default
    /// [`RESOLVED_CONF`]); effective at the next start of resolved.
    pub fn set_resolved_conf(&self, contents: &str) {
        self.require_resolved_env();
        let p = self.holder_path(&format!("/run/systemd/resolved.conf.d/{RESOLVED_DROPIN}"));
        std::fs::write(&p, contents).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
    }

    /// Rewrites the holder's private /etc/resolv.conf in place (the bind mount keeps the inode).
    /// Note: a running resolved imports its `nameserver`s as global DNS servers too.
    pub fn set_resolv_conf(&self, contents: &str) {
        let p = self.dir.0.join("etc/resolv.conf");
        std::fs::write(&p, contents).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
        let seen =
            std::fs::read_to_string(self.holder_path("/etc/resolv.conf")).unwrap_or_default();
        assert_eq!(
            seen, contents,
            "the holder's /etc/resolv.conf is not the private file (see holder.log)"
        );
    }

    /// `resolvectl --no-pager ARGS` (the unpacked one) inside the holder, with a hard limit.
    pub fn try_resolvectl(&self, args: &[&str]) -> RunResult {
        let root = self.require_resolved_env();
        let prog = root.join("usr/bin/resolvectl");
        let mut a = vec!["--no-pager"];
        a.extend_from_slice(args);
        run_wait_online(
            self.run(prog.to_str().expect("utf-8 path"), &a),
            Duration::from_secs(40),
        )
    }

    /// [`NetworkdEnv::try_resolvectl`]; panics (with logs) unless it exits 0. Returns stdout.
    pub fn resolvectl(&self, args: &[&str]) -> String {
        let r = self.try_resolvectl(args);
        if !r.success() {
            panic!(
                "resolvectl {args:?} failed: {}\n{}",
                r.describe(),
                self.logs_tail(40)
            );
        }
        r.stdout
    }

    /// `busctl --timeout=<timeout> ARGS` inside the holder (hard limit: timeout + 10 s).
    pub fn busctl(&self, timeout: Duration, args: &[&str]) -> RunResult {
        let t = format!("--timeout={}ms", timeout.as_millis().max(1));
        let mut a = vec!["--system", t.as_str()];
        a.extend_from_slice(args);
        run_wait_online(self.run("busctl", &a), timeout + Duration::from_secs(10))
    }

    /// `org.freedesktop.resolve1.Manager.ResolveHostname(0, name, AF_INET, flags)` through
    /// busctl with a D-Bus call timeout of `timeout`. Err = the failed busctl run (stderr has
    /// resolved's error, e.g. "All attempts to contact name servers or networks failed").
    pub fn resolve_hostname(
        &self,
        name: &str,
        flags: u64,
        timeout: Duration,
    ) -> Result<Resolved, RunResult> {
        let flags = flags.to_string();
        let r = self.busctl(
            timeout,
            &[
                "call",
                "org.freedesktop.resolve1",
                "/org/freedesktop/resolve1",
                "org.freedesktop.resolve1.Manager",
                "ResolveHostname",
                "isit",
                "0",
                name,
                "2",
                &flags,
            ],
        );
        if !r.success() {
            return Err(r);
        }
        Ok(parse_resolve_hostname(&r.stdout)
            .unwrap_or_else(|| panic!("cannot parse ResolveHostname reply: {}", r.describe())))
    }

    /// The DNS servers resolved has for `ifname` (`resolvectl dns <ifname>`, e.g.
    /// "Link 2 (wo0): 10.77.0.1" -> ["10.77.0.1"]); empty if none or the call failed.
    pub fn link_dns(&self, ifname: &str) -> Vec<String> {
        let r = self.try_resolvectl(&["dns", ifname]);
        if !r.success() {
            return Vec::new();
        }
        r.stdout
            .lines()
            .filter_map(|l| l.split_once("):"))
            .flat_map(|(_, s)| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
            .collect()
    }

    /// Waits until resolved lists `server` as DNS server of `ifname`; panics with
    /// `resolvectl status` and the logs after `timeout`. Returns how long it took.
    pub fn wait_for_link_dns(&self, ifname: &str, server: &str, timeout: Duration) -> Duration {
        let t0 = Instant::now();
        let ok = wait_until(timeout, Duration::from_millis(20), || {
            self.link_dns(ifname).iter().any(|s| s == server)
        });
        if !ok {
            let st = self.try_resolvectl(&["status"]);
            panic!(
                "resolved did not list {server} for {ifname} within {timeout:?}\n\
                 resolvectl status:\n{}\n{}",
                st.describe(),
                self.logs_tail(40)
            );
        }
        t0.elapsed()
    }
}

/// dnsmasq serving `--host-record`s in a (peer) netns, authoritative for their zones
/// (`--local=/zone/`: other names there are NXDOMAIN, nothing is forwarded). Logs queries to
/// `<tmp>/wot-<pid>-<n>/dnsmasq.log` ([`DnsServer::log`], [`DnsServer::queries`]).
/// Drop kills it.
#[derive(Debug)]
pub struct DnsServer {
    netns: String,
    listen: String,
    args: Vec<String>,
    child: Option<Child>,
    dir: TempDir,
}

impl DnsServer {
    /// Starts dnsmasq in `peer` on `listen` (an address already configured there) port 53,
    /// answering `records` (name, IPv4 or IPv6 address) with TTL 0, and waits (bounded: 10 s)
    /// until it listens on UDP 53.
    pub fn start(peer: &Netns, listen: &str, records: &[(&str, &str)]) -> DnsServer {
        Self::start_with(peer, listen, records, &[])
    }

    /// [`DnsServer::start`] with extra dnsmasq options (e.g. `"--local-ttl=300"`).
    pub fn start_with(
        peer: &Netns,
        listen: &str,
        records: &[(&str, &str)],
        extra: &[&str],
    ) -> DnsServer {
        let bin = require_dnsmasq();
        let user = if host_user_exists("dnsmasq") {
            "dnsmasq"
        } else {
            "root"
        };
        let mut args: Vec<String> = vec![
            bin.to_string_lossy().into_owned(),
            "--keep-in-foreground".into(),
            "--conf-file=/dev/null".into(),
            "--no-resolv".into(),
            "--no-hosts".into(),
            "--bind-interfaces".into(),
            format!("--listen-address={listen}"),
            "--pid-file=".into(),
            format!("--user={user}"),
            "--log-queries".into(),
            "--log-facility=-".into(),
        ];
        let zones: BTreeSet<&str> = records
            .iter()
            .filter_map(|(name, _)| name.split_once('.').map(|(_, z)| z))
            .collect();
        args.extend(zones.iter().map(|z| format!("--local=/{z}/")));
        args.extend(
            records
                .iter()
                .map(|(name, addr)| format!("--host-record={name},{addr}")),
        );
        args.extend(extra.iter().map(|s| s.to_string()));
        let dir = TempDir::new();
        let mut s = DnsServer {
            netns: peer.name().to_owned(),
            listen: listen.to_owned(),
            args,
            child: None,
            dir,
        };
        s.start_again();
        s
    }

    /// (Re)starts dnsmasq with the same arguments; waits until it listens (bounded: 10 s).
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "dnsmasq already running");
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("open dnsmasq.log");
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.netns])
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup"))
            .stderr(log);
        let child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if self.listening() {
                return;
            }
            let c = self.child.as_mut().unwrap();
            if !matches!(c.try_wait(), Ok(None)) {
                self.child = None;
                panic!("dnsmasq exited during start-up:\n{}", self.log());
            }
            if Instant::now() >= deadline {
                panic!(
                    "dnsmasq does not listen on {}:53 after 10 s:\n{}",
                    self.listen,
                    self.log()
                );
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Whether something listens on `<listen>:53/udp` in the netns (`ss -Hlun`).
    pub fn listening(&self) -> bool {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.netns, "ss", "-Hlun", "sport = :53"]);
        let r = run_wait_online(cmd, Duration::from_secs(10));
        let want = if self.listen.contains(':') {
            format!("[{}]:53", self.listen)
        } else {
            format!("{}:53", self.listen)
        };
        r.success()
            && r.stdout.lines().any(|l| {
                l.split_whitespace()
                    .any(|t| t == want || t.starts_with(&format!("{want}%")))
            })
    }

    /// SIGTERMs dnsmasq and waits (bounded; SIGKILL after 5 s). The port is then closed:
    /// queries get ICMP port unreachable.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = kill(c.id() as i32, Signal::TERM);
            reap(&mut c, None, Duration::from_secs(5));
        }
    }

    /// SIGSTOP: the socket stays bound but nothing answers (a silent/unresponsive server).
    pub fn pause(&self) {
        self.signal(Signal::STOP);
    }

    /// SIGCONT after [`DnsServer::pause`].
    pub fn resume(&self) {
        self.signal(Signal::CONT);
    }

    fn signal(&self, sig: Signal) {
        let c = self.child.as_ref().expect("dnsmasq not running");
        let _ = kill(c.id() as i32, sig);
    }

    /// Host pid of dnsmasq (it runs directly under `ip netns exec`'s exec).
    pub fn pid(&self) -> Option<i32> {
        self.child.as_ref().map(|c| c.id() as i32)
    }

    fn log_path(&self) -> PathBuf {
        self.dir.0.join("dnsmasq.log")
    }

    /// The whole dnsmasq log (all starts).
    pub fn log(&self) -> String {
        std::fs::read(self.log_path())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// Queries dnsmasq logged, as "A host1.test.wohx" / "AAAA x.test.wohx" strings.
    pub fn queries(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter_map(|l| {
                let q = &l[l.find("query[")? + 6..];
                let (ty, rest) = q.split_once("] ")?;
                let name = rest.split_whitespace().next()?;
                Some(format!("{ty} {name}"))
            })
            .collect()
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            reap(&mut c, None, Duration::from_secs(3));
        }
        if thread::panicking() {
            eprintln!("dnsmasq log ({}):\n{}", self.netns, self.log());
        }
    }
}
