//! The real NetworkManager (1.42.4, Debian 12's `network-manager`) inside a private netns /
//! mount ns / PID ns with a private system bus: [`NmEnv`]. DHCP/DNS for it comes from dnsmasq
//! in a peer netns ([`dhcp_server`]).
//!
//! NetworkManager is not installed on the host: `tests/setup-deps.sh` unpacks the package
//! (`dpkg -x`) and the libraries the host lacks into `$WAIT_ONLINE_NM_ROOT` (default
//! [`DEFAULT_NM_ROOT`]); tests needing it panic with a hint to run that script.
//!
//! Layout, on top of the holder of [`NetworkdEnv`] (nothing on the host is modified):
//! ```text
//! /etc                 bind mount of a private copy of the host's /etc (<tmp>/wot-<pid>-<n>/etc-copy)
//! /etc/resolv.conf     a regular file in the copy (set_resolv_conf; NetworkManager replaces
//!                      it with rc-manager=file, see set_dns)
//! /var/lib             private tmpfs (/var/lib/NetworkManager: state, leases, timestamps)
//! /sys                 READ-ONLY: NetworkManager then runs without udev and manages veths;
//!                      with a writable /sys every device stays unmanaged, startup never ends
//! /run/NetworkManager/system-connections/   keyfile profiles (write_profile, mode 0600)
//! <tmp>/wot-<pid>-<n>/nm/NetworkManager.conf + conf.d/   its configuration (write_config)
//! dbus-daemon          loads the NetworkManager policy of the unpacked package
//! ```
//! NetworkManager runs as `NetworkManager --debug --log-level=DEBUG` (log: `logs/nm.log`).
//!
//! ```ignore
//! let mut env = NmEnv::new();
//! let peer = Netns::new();
//! env.netns().add_veth("wo0", Some(&peer), "wo0p");
//! peer.add_addr("wo0p", "10.77.0.1/24");
//! peer.link_up("wo0p");
//! env.write_profile("wo0", &static_profile("wo0", "10.77.0.2/24"));
//! env.start_networkmanager();
//! env.wait_for_device_state("wo0", DEVICE_STATE_ACTIVATED, Duration::from_secs(10));
//! let r = run_wait_online(env.run(&nm_online_bin(), &["-s", "-q", "-t", "10"]), ..);
//! ```
//!
//! Timings measured by `tests/nm_harness.rs` (2-vCPU VM shared with other builds, 1.42.4):
//! * NetworkManager owns its bus name 25–125 ms after exec; a static profile is activated
//!   (device 20 → 30 → 40 → 50 → 70 → 80 → 90 → 100 within ~10 ms) 50–200 ms after exec and
//!   `Startup` turns false ~2 ms after that.
//! * DHCPv4 (internal client) against [`dhcp_server`] (`--no-ping`; dnsmasq's default ping
//!   check delays every first offer by ~3 s): server already up → lease 0.15–2.5 s after exec
//!   (the first DISCOVER, sent while the link comes up, is sometimes lost and resent ~2 s later);
//!   server started while the device waits in ip-config → lease 0.5–4 s after dnsmasq started
//!   (at the client's next retransmission).
//! * A profile whose device has no carrier: unavailable (20), `Startup` false 6.06–6.10 s
//!   after exec (carrier-wait); when the carrier comes, activated 20–30 ms later.
//! * SIGKILL: the bus name is gone at once (no InterfacesRemoved). A new NetworkManager assumes
//!   the previous activation from `/run/NetworkManager/devices/<ifindex>` (same profile, not
//!   external) and reports activated 50–115 ms after its exec; object paths restart at 1.
//! * A profile added at runtime: activated 25–60 ms after [`NmEnv::reload_connections`].
//! * `method=auto` + `address1=`: the static address is on the kernel link ~0.1 s after exec,
//!   the device stays in ip-config (70) and `Startup` true until the lease.
//!
//! D-Bus signal captures of these cases: `tests/fixtures/networkmanager/`.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use rustix::process::Signal;
use serde_json::Value;

use super::netns::Netns;
use super::networkd::{Daemon, NetworkdEnv, reap};
use super::process::{RunResult, kill, run_wait_online, wait_until};
use super::resolved::DnsServer;

/// Environment variable naming the unpacked network-manager package (see `tests/setup-deps.sh`).
pub const NM_ROOT_ENV: &str = "WAIT_ONLINE_NM_ROOT";
/// Where `tests/setup-deps.sh` unpacks network-manager by default.
pub const DEFAULT_NM_ROOT: &str = "/var/cache/wait-online-tests/root-networkmanager";
/// NetworkManager's bus name.
pub const NM_BUS_NAME: &str = "org.freedesktop.NetworkManager";
/// The Manager object.
pub const NM_PATH: &str = "/org/freedesktop/NetworkManager";
/// The private system bus inside the holder (also the default address).
pub const SYSTEM_BUS: &str = "unix:path=/run/dbus/system_bus_socket";
const MANAGER_IFACE: &str = "org.freedesktop.NetworkManager";
pub const DEVICE_IFACE: &str = "org.freedesktop.NetworkManager.Device";
const ACTIVE_IFACE: &str = "org.freedesktop.NetworkManager.Connection.Active";

/// Device `State` values (NMDeviceState).
pub const DEVICE_STATE_UNMANAGED: u32 = 10;
pub const DEVICE_STATE_UNAVAILABLE: u32 = 20;
pub const DEVICE_STATE_DISCONNECTED: u32 = 30;
pub const DEVICE_STATE_IP_CONFIG: u32 = 70;
pub const DEVICE_STATE_ACTIVATED: u32 = 100;
pub const AC_FLAG_IP4_READY: u32 = 0x8;
pub const AC_FLAG_EXTERNAL: u32 = 0x80;
/// ActiveConnection `State` value "activated" (NMActiveConnectionState).
pub const AC_STATE_ACTIVATED: u32 = 2;

/// The `[main]` settings of the default configuration except `dns=`/`rc-manager=`
/// ([`NmEnv::set_dns`]): nothing outside the namespaces is touched or asked.
const MAIN_CONF: &str = "plugins=keyfile\nsystemd-resolved=false\nhostname-mode=none\n\
     auth-polkit=false\nno-auto-default=*\n";
const NM_BINS: [&str; 3] = [
    "usr/sbin/NetworkManager",
    "usr/bin/nmcli",
    "usr/bin/nm-online",
];
const SETUP_HINT: &str = "run `sudo tests/setup-deps.sh` once (unpacks network-manager and the \
     libraries the host lacks)";
const BUS_TIMEOUT: Duration = Duration::from_secs(15);

/// The unpacked network-manager package from `$WAIT_ONLINE_NM_ROOT` or [`DEFAULT_NM_ROOT`];
/// None if it is not there.
pub fn nm_root() -> Option<PathBuf> {
    let root = std::env::var_os(NM_ROOT_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_NM_ROOT));
    let ok = NM_BINS.iter().all(|b| {
        std::fs::metadata(root.join(b))
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    });
    ok.then_some(root)
}

/// [`nm_root`] or a panic telling the user to run `tests/setup-deps.sh`.
pub fn require_nm_root() -> PathBuf {
    nm_root().unwrap_or_else(|| {
        panic!(
            "NetworkManager is not unpacked in ${NM_ROOT_ENV} (default {DEFAULT_NM_ROOT}): \
             {SETUP_HINT}"
        )
    })
}

/// The unpacked `nm-online` (run it through [`NmEnv::run`], which sets its library path).
pub fn nm_online_bin() -> String {
    require_nm_root()
        .join("usr/bin/nm-online")
        .to_string_lossy()
        .into_owned()
}

/// The unpacked `nmcli` (run it through [`NmEnv::run`] or [`NmEnv::nmcli`]).
pub fn nmcli_bin() -> String {
    require_nm_root()
        .join("usr/bin/nmcli")
        .to_string_lossy()
        .into_owned()
}

/// A keyfile profile for `ifname` with the static IPv4 address `cidr` and IPv6 off.
pub fn static_profile(ifname: &str, cidr: &str) -> String {
    format!(
        "[connection]\nid={ifname}-static\ntype=ethernet\ninterface-name={ifname}\n\
         [ipv4]\nmethod=manual\naddress1={cidr}\n[ipv6]\nmethod=ignore\n"
    )
}

/// A keyfile profile for `ifname` with DHCPv4 (`method=auto`; plus the static addresses in
/// `addresses`, like Netplan's `dhcp4: true` + `addresses:`) and IPv6 off.
pub fn dhcp_profile(ifname: &str, addresses: &[&str]) -> String {
    let mut s = format!(
        "[connection]\nid={ifname}-dhcp\ntype=ethernet\ninterface-name={ifname}\n\
         [ipv4]\nmethod=auto\n"
    );
    for (i, a) in addresses.iter().enumerate() {
        s.push_str(&format!("address{}={a}\n", i + 1));
    }
    s.push_str("[ipv6]\nmethod=ignore\n");
    s
}

/// dnsmasq in `peer` listening on `server` (an address already configured there): DHCPv4
/// for `first..=last` (/24, 1 h leases kept in memory, itself as router and DNS server) and
/// DNS for `records` like [`DnsServer::start`]. Drop stops it.
pub fn dhcp_server(
    peer: &Netns,
    server: &str,
    (first, last): (&str, &str),
    records: &[(&str, &str)],
) -> DnsServer {
    let range = format!("--dhcp-range={first},{last},255.255.255.0,1h");
    DnsServer::start_with(
        peer,
        server,
        records,
        &[range.as_str(), "--leasefile-ro", "--no-ping"],
    )
}

/// See the module documentation.
pub struct NmEnv {
    nm: Option<Daemon>,
    env: NetworkdEnv,
    root: PathBuf,
    /// `[main]` `dns=` and `rc-manager=` ([`NmEnv::set_dns`])
    dns: (String, String),
}

impl NmEnv {
    /// Creates the netns, the holder namespaces and the private bus, and writes the default
    /// configuration (`dns=none`, `rc-manager=unmanaged`). NetworkManager is NOT started.
    pub fn new() -> NmEnv {
        let root = require_nm_root();
        let env = NetworkdEnv::build_with(None, Some(&root));
        let nm = NmEnv {
            nm: None,
            env,
            root,
            dns: ("none".to_owned(), "unmanaged".to_owned()),
        };
        std::fs::create_dir_all(nm.config_dir()).expect("mkdir nm/conf.d");
        std::fs::create_dir_all(nm.env.dir.0.join("nm/system-conf.d")).expect("mkdir nm");
        nm.write_main_config();
        nm
    }

    /// The underlying network namespace (for `ip` commands, veths to peers, ...).
    pub fn netns(&self) -> &Netns {
        self.env.netns()
    }

    /// Host pid of the holder (its PID namespace is where [`NmEnv::run`] puts processes).
    pub fn holder_pid(&self) -> i32 {
        self.env.holder_pid()
    }

    /// A path as seen inside the holder's mount namespace, reachable from the host.
    pub fn holder_path(&self, p: &str) -> PathBuf {
        self.env.holder_path(p)
    }

    /// The drop-in directory given as `--config-dir` ([`NmEnv::write_config`]).
    pub fn config_dir(&self) -> PathBuf {
        self.env.dir.0.join("nm/conf.d")
    }

    fn main_config(&self) -> PathBuf {
        self.env.dir.0.join("nm/NetworkManager.conf")
    }

    fn write_main_config(&self) {
        let (dns, rc) = &self.dns;
        let text = format!(
            "[main]\n{MAIN_CONF}dns={dns}\nrc-manager={rc}\n[connectivity]\nenabled=false\n"
        );
        std::fs::write(self.main_config(), text).expect("write NetworkManager.conf");
    }

    /// Sets `[main] dns=` and `rc-manager=` (default `none`/`unmanaged`; e.g. `default`/`file`
    /// makes NetworkManager write the servers it learns into the private /etc/resolv.conf).
    /// Effective at the next start.
    pub fn set_dns(&mut self, dns: &str, rc_manager: &str) {
        self.dns = (dns.to_owned(), rc_manager.to_owned());
        self.write_main_config();
    }

    /// Replaces the holder's /etc/resolv.conf (a regular file in the private /etc copy; not a
    /// bind mount, which NetworkManager's rename could not replace).
    pub fn set_resolv_conf(&self, contents: &str) {
        let etc = self.env.dir.0.join("etc-copy");
        let tmp = etc.join(".resolv.conf.wot-tmp");
        std::fs::write(&tmp, contents).expect("write resolv.conf");
        std::fs::rename(&tmp, etc.join("resolv.conf")).expect("rename resolv.conf");
        assert_eq!(
            self.resolv_conf(),
            contents,
            "the holder's /etc is not the private copy (see holder.log)"
        );
    }

    /// The holder's /etc/resolv.conf as NetworkManager and wait-online see it.
    pub fn resolv_conf(&self) -> String {
        std::fs::read_to_string(self.holder_path("/etc/resolv.conf")).unwrap_or_default()
    }

    /// Writes `conf.d/<name>.conf` (e.g. `[device-x]\nmatch-device=interface-name:X\n
    /// managed=0\n`); effective at the next start.
    pub fn write_config(&self, name: &str, contents: &str) {
        std::fs::write(self.config_dir().join(format!("{name}.conf")), contents)
            .unwrap_or_else(|e| panic!("write conf.d/{name}.conf: {e}"));
    }

    /// A device configuration that leaves `ifname` unmanaged (`managed=0`).
    pub fn set_unmanaged(&self, ifname: &str) {
        self.write_config(
            &format!("50-unmanaged-{ifname}"),
            &format!(
                "[device-unmanaged-{ifname}]\nmatch-device=interface-name:{ifname}\nmanaged=0\n"
            ),
        );
    }

    /// Writes `/run/NetworkManager/system-connections/<name>.nmconnection` (mode 0600, atomic).
    /// NetworkManager reads it at start or on [`NmEnv::reload_connections`].
    pub fn write_profile(&self, name: &str, contents: &str) {
        let dir = self.holder_path("/run/NetworkManager/system-connections");
        let tmp = dir.join(format!(".{name}.tmp"));
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .mode(0o600) // NetworkManager ignores keyfiles that others may read
            .open(&tmp)
            .unwrap_or_else(|e| panic!("create {}: {e}", tmp.display()));
        f.write_all(contents.as_bytes()).expect("write profile");
        drop(f);
        std::fs::rename(&tmp, dir.join(format!("{name}.nmconnection"))).expect("rename profile");
    }

    /// Removes a profile written by [`NmEnv::write_profile`].
    pub fn remove_profile(&self, name: &str) {
        let p = self.holder_path(&format!(
            "/run/NetworkManager/system-connections/{name}.nmconnection"
        ));
        std::fs::remove_file(&p).unwrap_or_else(|e| panic!("remove {}: {e}", p.display()));
    }

    /// `Settings.ReloadConnections()`: NetworkManager re-reads the profiles (and activates new
    /// ones that may autoconnect). Panics (with logs) unless it succeeds.
    pub fn reload_connections(&self) {
        let r = self.busctl(&[
            "call",
            NM_BUS_NAME,
            "/org/freedesktop/NetworkManager/Settings",
            "org.freedesktop.NetworkManager.Settings",
            "ReloadConnections",
        ]);
        if r.stdout.trim() != "b true" {
            panic!(
                "ReloadConnections failed: {}\n{}",
                r.describe(),
                self.logs_tail(40)
            );
        }
    }

    /// `nsenter` into the holder (netns, mount ns with the private /run, /etc, bus; PID ns)
    /// running `cmd ARGS` with `DBUS_SYSTEM_BUS_ADDRESS` set; commands of the unpacked package
    /// also get its library path. Use with [`super::run_wait_online`].
    pub fn run(&self, cmd: &str, args: &[&str]) -> Command {
        let mut c = self.env.run(cmd, args);
        c.env("DBUS_SYSTEM_BUS_ADDRESS", SYSTEM_BUS);
        if Path::new(cmd).starts_with(&self.root) {
            c.env("LD_LIBRARY_PATH", self.library_path());
        }
        c
    }

    /// [`NmEnv::run`] to completion with a hard limit of 20 s.
    pub fn output(&self, cmd: &str, args: &[&str]) -> RunResult {
        run_wait_online(self.run(cmd, args), Duration::from_secs(20))
    }

    /// `usr/lib/<multiarch>` and `lib/<multiarch>` of the unpacked tree, `:`-separated.
    fn library_path(&self) -> String {
        let mut dirs = Vec::new();
        for base in ["usr/lib", "lib"] {
            let Ok(rd) = std::fs::read_dir(self.root.join(base)) else {
                continue;
            };
            for e in rd.flatten() {
                if e.file_name().to_string_lossy().contains("-linux-") {
                    dirs.push(e.path().to_string_lossy().into_owned());
                }
            }
        }
        dirs.join(":")
    }

    /// Starts the unpacked NetworkManager and waits until it owns its bus name (15 s bound).
    /// Returns the time from exec to the bus name.
    pub fn start_networkmanager(&mut self) -> Duration {
        assert!(self.nm.is_none(), "NetworkManager already running");
        let _ = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(self.env.log_dir().join("nm.log"))
            .and_then(|mut f| writeln!(f, "===== start_networkmanager ====="));
        let nm = self.root.join("usr/sbin/NetworkManager");
        let lib = format!("LD_LIBRARY_PATH={}", self.library_path());
        let config = format!("--config={}", self.main_config().display());
        let config_dir = format!("--config-dir={}", self.config_dir().display());
        let system_dir = format!(
            "--system-config-dir={}",
            self.env.dir.0.join("nm/system-conf.d").display()
        );
        let t0 = Instant::now();
        let d = self.env.spawn_daemon(
            "nm",
            "env",
            &[
                &lib,
                nm.to_str().expect("utf-8 path"),
                "--debug",
                "--log-level=DEBUG",
                &config,
                &config_dir,
                &system_dir,
            ],
        );
        self.nm = Some(d);
        let deadline = t0 + BUS_TIMEOUT;
        loop {
            if self.env.bus_has(NM_BUS_NAME) {
                return t0.elapsed();
            }
            if !self.networkmanager_running() {
                self.nm = None;
                panic!(
                    "NetworkManager exited during start-up\n{}",
                    self.logs_tail(40)
                );
            }
            if Instant::now() >= deadline {
                panic!(
                    "{NM_BUS_NAME} did not appear on the bus\n{}",
                    self.logs_tail(40)
                );
            }
            thread::sleep(Duration::from_millis(5));
        }
    }

    fn signal_and_wait(&mut self, sig: Signal) {
        if let Some(mut d) = self.nm.take() {
            let _ = kill(d.pid, sig);
            reap(&mut d.nsenter, Some(d.pid), Duration::from_secs(10));
            let gone = wait_until(Duration::from_secs(5), Duration::from_millis(5), || {
                !self.env.bus_has(NM_BUS_NAME)
            });
            assert!(gone, "{NM_BUS_NAME} still owned after it exited");
        }
    }

    /// SIGTERMs NetworkManager and waits (bounded) until it exited and its bus name is gone.
    pub fn stop_networkmanager(&mut self) {
        self.signal_and_wait(Signal::TERM);
    }

    /// SIGKILLs NetworkManager (a crash) and waits until its bus name is gone.
    pub fn kill_networkmanager(&mut self) {
        self.signal_and_wait(Signal::KILL);
    }

    /// [`NmEnv::stop_networkmanager`] + [`NmEnv::start_networkmanager`].
    pub fn restart_networkmanager(&mut self) -> Duration {
        self.stop_networkmanager();
        self.start_networkmanager()
    }

    pub fn networkmanager_running(&mut self) -> bool {
        match &mut self.nm {
            Some(d) => matches!(d.nsenter.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Whether `name` has an owner on the private bus.
    pub fn bus_has(&self, name: &str) -> bool {
        self.env.bus_has(name)
    }

    /// `busctl --system --timeout=5 ARGS` inside the holder (hard limit 15 s).
    pub fn busctl(&self, args: &[&str]) -> RunResult {
        let mut a = vec!["--system", "--timeout=5"];
        a.extend_from_slice(args);
        run_wait_online(self.run("busctl", &a), Duration::from_secs(15))
    }

    /// A property of a NetworkManager object as JSON (`data` of `busctl --json=short
    /// get-property`); None if the call fails (no such object, NetworkManager not running).
    pub fn property(&self, path: &str, iface: &str, prop: &str) -> Option<Value> {
        let r = self.busctl(&[
            "--json=short",
            "get-property",
            NM_BUS_NAME,
            path,
            iface,
            prop,
        ]);
        if !r.success() {
            return None;
        }
        let mut v: Value = serde_json::from_str(r.stdout.trim()).ok()?;
        Some(v.get_mut("data")?.take())
    }

    fn property_u32(&self, path: &str, iface: &str, prop: &str) -> Option<u32> {
        u32::try_from(self.property(path, iface, prop)?.as_u64()?).ok()
    }

    /// Manager `Startup` (true while NetworkManager is still starting devices up).
    pub fn startup(&self) -> Option<bool> {
        self.property(NM_PATH, MANAGER_IFACE, "Startup")?.as_bool()
    }

    /// The Device object of `ifname` (`GetDeviceByIpIface`), None if NetworkManager has none.
    pub fn device_path(&self, ifname: &str) -> Option<String> {
        let r = self.busctl(&[
            "--json=short",
            "call",
            NM_BUS_NAME,
            NM_PATH,
            MANAGER_IFACE,
            "GetDeviceByIpIface",
            "s",
            ifname,
        ]);
        if !r.success() {
            return None;
        }
        let v: Value = serde_json::from_str(r.stdout.trim()).ok()?;
        Some(v.get("data")?.get(0)?.as_str()?.to_owned())
    }

    /// A property of `ifname`'s Device object.
    pub fn device_property(&self, ifname: &str, prop: &str) -> Option<Value> {
        self.property(&self.device_path(ifname)?, DEVICE_IFACE, prop)
    }

    /// Device `State` of `ifname` (see the `DEVICE_STATE_*` constants).
    pub fn device_state(&self, ifname: &str) -> Option<u32> {
        self.property_u32(&self.device_path(ifname)?, DEVICE_IFACE, "State")
    }

    /// The ActiveConnection object of `ifname`'s device, None when it has none ("/").
    pub fn active_connection(&self, ifname: &str) -> Option<String> {
        let v = self.device_property(ifname, "ActiveConnection")?;
        v.as_str().filter(|p| *p != "/").map(str::to_owned)
    }

    /// A property of `ifname`'s ActiveConnection (e.g. `Id`, `Uuid`, `Default`).
    pub fn active_property(&self, ifname: &str, prop: &str) -> Option<Value> {
        self.property(&self.active_connection(ifname)?, ACTIVE_IFACE, prop)
    }

    /// ActiveConnection `State` of `ifname` (1 activating, 2 activated, ...).
    pub fn active_state(&self, ifname: &str) -> Option<u32> {
        self.property_u32(&self.active_connection(ifname)?, ACTIVE_IFACE, "State")
    }

    /// ActiveConnection `StateFlags` of `ifname` (see the `AC_FLAG_*` constants).
    pub fn active_state_flags(&self, ifname: &str) -> Option<u32> {
        self.property_u32(&self.active_connection(ifname)?, ACTIVE_IFACE, "StateFlags")
    }

    /// `GetManagedObjects` of the ObjectManager at `/org/freedesktop`: object path →
    /// interface → property → `{"type", "data"}`.
    pub fn managed_objects(&self) -> Option<Value> {
        let r = self.busctl(&[
            "--json=short",
            "call",
            NM_BUS_NAME,
            "/org/freedesktop",
            "org.freedesktop.DBus.ObjectManager",
            "GetManagedObjects",
        ]);
        if !r.success() {
            return None;
        }
        let mut v: Value = serde_json::from_str(r.stdout.trim()).ok()?;
        Some(v.get_mut("data")?.get_mut(0)?.take())
    }

    /// The unpacked `nmcli ARGS` inside the holder (20 s hard limit).
    pub fn nmcli(&self, args: &[&str]) -> RunResult {
        self.output(&nmcli_bin(), args)
    }

    /// Waits until `ifname`'s Device `State` is `state`; panics after `timeout` with
    /// `nmcli device` and the logs. Returns how long it took.
    pub fn wait_for_device_state(&self, ifname: &str, state: u32, timeout: Duration) -> Duration {
        let t0 = Instant::now();
        let mut last = None;
        let ok = wait_until(timeout, Duration::from_millis(10), || {
            last = self.device_state(ifname);
            last == Some(state)
        });
        if !ok {
            self.fail_with_status(&format!(
                "{ifname} did not reach device state {state} within {timeout:?} (last: {last:?})"
            ));
        }
        t0.elapsed()
    }

    /// Waits until the Manager's `Startup` is false; panics after `timeout` with `nmcli
    /// device` and the logs. Returns how long it took.
    pub fn wait_for_startup_complete(&self, timeout: Duration) -> Duration {
        let t0 = Instant::now();
        let ok = wait_until(timeout, Duration::from_millis(10), || {
            self.startup() == Some(false)
        });
        if !ok {
            self.fail_with_status(&format!("Startup still not false after {timeout:?}"));
        }
        t0.elapsed()
    }

    fn fail_with_status(&self, what: &str) -> ! {
        let dev = self.nmcli(&["-t", "device"]);
        panic!(
            "{what}\nnmcli -t device:\n{}\n{}",
            dev.describe(),
            self.logs_tail(60)
        );
    }

    /// The last `lines` lines of every log (NetworkManager's --debug log `nm.log`, `dbus.log`,
    /// `holder.log`). Calling it suppresses the automatic dump on panic: put it in the message.
    pub fn logs_tail(&self, lines: usize) -> String {
        self.env.logs_tail(lines)
    }
}

impl Drop for NmEnv {
    fn drop(&mut self) {
        // NetworkManager first (its nsenter parent is reaped), then the holder (NetworkdEnv).
        if let Some(mut d) = self.nm.take() {
            let _ = kill(d.pid, Signal::KILL);
            reap(&mut d.nsenter, Some(d.pid), Duration::from_secs(3));
        }
    }
}
