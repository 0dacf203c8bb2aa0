//! Randomized differential test (issue #7): random sequences of link and address operations
//! in a namespace; after each step, once the kernel has settled, the library's view and
//! decisions are compared with an independent oracle computed from `ip -json addr show` of
//! the same moment.
//!
//! Library side: a fresh `KernelSource` synced in the namespace (a full dump), plus a
//! long-lived one kept current by events since the sequence began; the core computes each
//! link's carrier, address and operational states and `evaluate`s random requirements given
//! as command lines to `cli::parse`.
//!
//! Oracle side (this file, no library code): systemd-networkd's rules re-implemented from
//! upstream (`link_update_operstate()`, `netif_has_carrier()`, `address_state_from_scope()`,
//! `manager_link_is_online()`/`manager_configured()`) and the kernel-only rules of the man
//! page (`--manager=none`: without `-i`, every link that is up, not loopback and not
//! `--ignore`d must be online, and at least one).
//!
//! Checked after every step: same links (ifindex, name, altnames, master), same addresses
//! (address/prefix, scope, tentative, dadfailed), same per-link states, same verdict for each
//! random requirement set, and the event-driven table equal to the fresh dump.
//!
//! The seed is printed; `WAIT_ONLINE_DIFF_SEED=<seed>` replays a run,
//! `WAIT_ONLINE_DIFF_SEQUENCES` (default 4) and `WAIT_ONLINE_DIFF_STEPS` (default 60) size it.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread::{self, sleep};
use std::time::Duration;

use crate::common::{
    self, Netns, Rng, env_number, process, run_checked, seed_from_env, spawn_in_netns,
    synced_source, wait_online_bin,
};
use serde_json::Value;
use wait_online::core::update::KernelTables;
use wait_online::core::{Family, KernelLink, Snapshot, evaluate};
use wait_online::netlink::KernelSourceConfig;
use wait_online::sys::boottime_now;

// ---------------------------------------------------------------------------------------------
// The oracle: networkd's rules over `ip -json` output, written independently of src/.

/// Operational states in networkd's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Oper {
    Missing,
    Off,
    NoCarrier,
    Dormant,
    DegradedCarrier,
    Carrier,
    Degraded,
    Enslaved,
    Routable,
}

const OPERS: [Oper; 9] = [
    Oper::Missing,
    Oper::Off,
    Oper::NoCarrier,
    Oper::Dormant,
    Oper::DegradedCarrier,
    Oper::Carrier,
    Oper::Degraded,
    Oper::Enslaved,
    Oper::Routable,
];

fn oper_name(state: Oper) -> &'static str {
    match state {
        Oper::Missing => "missing",
        Oper::Off => "off",
        Oper::NoCarrier => "no-carrier",
        Oper::Dormant => "dormant",
        Oper::DegradedCarrier => "degraded-carrier",
        Oper::Carrier => "carrier",
        Oper::Degraded => "degraded",
        Oper::Enslaved => "enslaved",
        Oper::Routable => "routable",
    }
}

/// Carrier states: the first six operational states' names, in the same order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum CarrierState {
    Off,
    NoCarrier,
    Dormant,
    DegradedCarrier,
    Carrier,
    Enslaved,
}

fn carrier_name(state: CarrierState) -> &'static str {
    match state {
        CarrierState::Off => "off",
        CarrierState::NoCarrier => "no-carrier",
        CarrierState::Dormant => "dormant",
        CarrierState::DegradedCarrier => "degraded-carrier",
        CarrierState::Carrier => "carrier",
        CarrierState::Enslaved => "enslaved",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum AddrState {
    Off,
    Degraded,
    Routable,
}

fn addr_state_name(state: AddrState) -> &'static str {
    match state {
        AddrState::Off => "off",
        AddrState::Degraded => "degraded",
        AddrState::Routable => "routable",
    }
}

/// networkd's operational state table (rows: address state off/degraded/routable; columns:
/// carrier off, no-carrier, dormant, degraded-carrier, carrier, enslaved).
const OPER_TABLE: [[Oper; 6]; 3] = [
    [
        Oper::Off,
        Oper::NoCarrier,
        Oper::Dormant,
        Oper::DegradedCarrier,
        Oper::Carrier,
        Oper::Enslaved,
    ],
    [
        Oper::Off,
        Oper::NoCarrier,
        Oper::Dormant,
        Oper::Degraded,
        Oper::Degraded,
        Oper::Enslaved,
    ],
    [
        Oper::Off,
        Oper::NoCarrier,
        Oper::Dormant,
        Oper::Routable,
        Oper::Routable,
        Oper::Routable,
    ],
];

/// One address as `ip -json addr show` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct IpAddress {
    inet6: bool,
    local: IpAddr,
    prefix_len: u8,
    scope: u8,
    tentative: bool,
    dadfailed: bool,
    /// Remaining valid lifetime 0: expired, about to be removed by the kernel.
    expired: bool,
}

/// One link as `ip -json addr show` prints it.
#[derive(Debug, Clone)]
struct IpLink {
    ifindex: u32,
    name: String,
    altnames: Vec<String>,
    flags: BTreeSet<String>,
    operstate: String,
    master: Option<String>,
    addresses: Vec<IpAddress>,
}

/// The scope numbers behind iproute2's names (`/etc/iproute2/rt_scopes`).
fn scope_number(text: &str) -> u8 {
    match text {
        "global" => 0,
        "site" => 200,
        "link" => 253,
        "host" => 254,
        "nowhere" => 255,
        other => other
            .parse()
            .unwrap_or_else(|_| panic!("unknown scope {other:?}")),
    }
}

fn parse_ip_json(json: &Value) -> Vec<IpLink> {
    let links = json.as_array().expect("ip -json prints an array");
    links
        .iter()
        .map(|l| {
            let strings = |key: &str| -> Vec<String> {
                l[key]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let addresses = l["addr_info"]
                .as_array()
                .map(|a| a.as_slice())
                .unwrap_or_default()
                .iter()
                .filter(|a| matches!(a["family"].as_str(), Some("inet" | "inet6")))
                .map(|a| IpAddress {
                    inet6: a["family"] == "inet6",
                    local: a["local"]
                        .as_str()
                        .expect("local")
                        .parse()
                        .expect("address"),
                    prefix_len: a["prefixlen"].as_u64().expect("prefixlen") as u8,
                    scope: scope_number(a["scope"].as_str().unwrap_or("global")),
                    tentative: a["tentative"].as_bool().unwrap_or(false),
                    dadfailed: a["dadfailed"].as_bool().unwrap_or(false),
                    expired: a["valid_life_time"].as_u64() == Some(0),
                })
                .collect();
            IpLink {
                ifindex: l["ifindex"].as_u64().expect("ifindex") as u32,
                name: l["ifname"].as_str().expect("ifname").to_string(),
                altnames: strings("altnames"),
                flags: strings("flags").into_iter().collect(),
                operstate: l["operstate"].as_str().unwrap_or("UNKNOWN").to_string(),
                master: l["master"].as_str().map(str::to_string),
                addresses,
            }
        })
        .collect()
}

impl IpLink {
    fn flag(&self, name: &str) -> bool {
        self.flags.contains(name)
    }

    /// `netif_has_carrier()`: operstate UP; or UNKNOWN (no operstate support) with LOWER_UP
    /// and RUNNING but not DORMANT. iproute2 does not print RUNNING: it prints NO-CARRIER
    /// for an up link without it, and the kernel sets it only on up links.
    fn has_carrier(&self) -> bool {
        let running = self.flag("UP") && !self.flag("NO-CARRIER");
        match self.operstate.as_str() {
            "UP" => true,
            "UNKNOWN" => self.flag("LOWER_UP") && running && !self.flag("DORMANT"),
            _ => false,
        }
    }

    /// The carrier state from this link alone (`link_update_operstate()`, first part).
    fn own_carrier(&self) -> CarrierState {
        if self.operstate == "DORMANT" {
            CarrierState::Dormant
        } else if self.has_carrier() {
            if self.flag("SLAVE") || self.master.is_some() {
                CarrierState::Enslaved
            } else {
                CarrierState::Carrier
            }
        } else if self.flag("UP") {
            CarrierState::NoCarrier
        } else {
            CarrierState::Off
        }
    }

    /// Best scope of the ready addresses of a family (`None`: both families). Ready:
    /// neither tentative nor DAD-failed (networkd's `address_is_ready()`), and, as the
    /// library documents, not expired: networkd counts an address until the kernel deletes
    /// it, up to a second after its valid lifetime ended; the library no longer does.
    fn best_scope(&self, inet6: Option<bool>) -> Option<u8> {
        self.addresses
            .iter()
            .filter(|a| inet6.is_none_or(|six| a.inet6 == six))
            .filter(|a| !a.tentative && !a.dadfailed && !a.expired)
            .map(|a| a.scope)
            .min()
    }
}

fn addr_state(scope: Option<u8>) -> AddrState {
    match scope {
        Some(s) if s < 200 => AddrState::Routable,
        Some(s) if s < 254 => AddrState::Degraded,
        _ => AddrState::Off,
    }
}

/// What the oracle computes for one link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Expected {
    carrier: CarrierState,
    ipv4: AddrState,
    ipv6: AddrState,
    oper: Oper,
}

fn expected_states(link: &IpLink, all: &[IpLink]) -> Expected {
    let mut carrier = link.own_carrier();
    if carrier >= CarrierState::Carrier
        && all.iter().any(|port| {
            port.master.as_deref() == Some(&link.name) && port.own_carrier() < CarrierState::Carrier
        })
    {
        carrier = CarrierState::DegradedCarrier;
    }
    let ipv4 = addr_state(link.best_scope(Some(false)));
    let ipv6 = addr_state(link.best_scope(Some(true)));
    let address = addr_state(link.best_scope(None));
    let row = address as usize;
    let column = carrier as usize;
    Expected {
        carrier,
        ipv4,
        ipv6,
        oper: OPER_TABLE[row][column],
    }
}

/// A random requirement set, kept structured for the oracle and rendered as a command line
/// for the library.
#[derive(Debug, Clone)]
struct Wanted {
    name: String,
    /// (min, max) after applying the defaults of the spelling used.
    range: Option<(Oper, Oper)>,
    spelling: String,
}

#[derive(Debug, Clone, Default)]
struct Req {
    wanted: Vec<Wanted>,
    operational: Option<((Oper, Oper), String)>,
    ipv4: bool,
    ipv6: bool,
    any: bool,
    ignore: Vec<String>,
}

impl Req {
    fn argv(&self) -> Vec<String> {
        let mut argv = vec!["wait-online".to_string(), "--manager=none".to_string()];
        for w in &self.wanted {
            argv.push("-i".into());
            argv.push(w.spelling.clone());
        }
        if let Some((_, text)) = &self.operational {
            argv.push("-o".into());
            argv.push(text.clone());
        }
        if self.ipv4 {
            argv.push("-4".into());
        }
        if self.ipv6 {
            argv.push("-6".into());
        }
        if self.any {
            argv.push("--any".into());
        }
        for g in &self.ignore {
            argv.push(format!("--ignore={g}"));
        }
        argv
    }
}

/// A random range in one of the four spellings; returns ((min, max), text).
fn random_range(rng: &mut Rng, allow_open_min: bool) -> ((Oper, Oper), String) {
    let a = rng.below(OPERS.len());
    let b = rng.below(OPERS.len());
    let (min, max) = (OPERS[a.min(b)], OPERS[a.max(b)]);
    match rng.below(if allow_open_min { 4 } else { 3 }) {
        0 => ((min, Oper::Routable), oper_name(min).to_string()),
        1 => ((min, Oper::Routable), format!("{}:", oper_name(min))),
        2 => ((min, max), format!("{}:{}", oper_name(min), oper_name(max))),
        _ => ((Oper::Missing, max), format!(":{}", oper_name(max))),
    }
}

/// fnmatch with `*` and `?` only (the test generates no other metacharacters).
fn glob_matches(pattern: &[u8], name: &[u8]) -> bool {
    match (pattern.first(), name.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            glob_matches(&pattern[1..], name)
                || (!name.is_empty() && glob_matches(pattern, &name[1..]))
        }
        (Some(b'?'), Some(_)) => glob_matches(&pattern[1..], &name[1..]),
        (Some(p), Some(n)) if p == n => glob_matches(&pattern[1..], &name[1..]),
        _ => false,
    }
}

/// Upstream's `manager_link_is_online()` for a link without networkd state (kernel only).
fn oracle_link_online(
    req: &Req,
    link: &IpLink,
    range: Option<(Oper, Oper)>,
    all: &[IpLink],
) -> bool {
    let (min, max) = range
        .or(req.operational.as_ref().map(|(r, _)| *r))
        .unwrap_or((Oper::Degraded, Oper::Routable));
    let states = expected_states(link, all);
    if states.oper < min || states.oper > max {
        return false;
    }
    let need = if min < Oper::Routable {
        AddrState::Degraded
    } else {
        AddrState::Routable
    };
    !(req.ipv4 && states.ipv4 < need || req.ipv6 && states.ipv6 < need)
}

/// Upstream's `manager_configured()` with the kernel-only rules for the no-`-i` case.
fn oracle_online(req: &Req, links: &[IpLink]) -> bool {
    if !req.wanted.is_empty() {
        let satisfied: Vec<bool> = req
            .wanted
            .iter()
            .map(|w| {
                match links
                    .iter()
                    .find(|l| l.name == w.name || l.altnames.contains(&w.name))
                {
                    None => w.range.is_some_and(|(min, _)| min == Oper::Missing),
                    Some(link) => oracle_link_online(req, link, w.range, links),
                }
            })
            .collect();
        return if req.any {
            satisfied.iter().any(|s| *s)
        } else {
            satisfied.iter().all(|s| *s)
        };
    }
    let considered: Vec<bool> = links
        .iter()
        .filter(|l| !l.flag("LOOPBACK") && l.flag("UP"))
        .filter(|l| {
            !req.ignore.iter().any(|g| {
                std::iter::once(&l.name)
                    .chain(&l.altnames)
                    .any(|n| glob_matches(g.as_bytes(), n.as_bytes()))
            })
        })
        .map(|l| oracle_link_online(req, l, None, links))
        .collect();
    let has_online = considered.iter().any(|o| *o);
    if req.any {
        has_online
    } else {
        has_online && considered.iter().all(|o| *o)
    }
}

// ---------------------------------------------------------------------------------------------
// The library side: a worker thread inside the namespace.

enum Ask {
    /// Open a fresh source, sync it, return its table and CLOCK_BOOTTIME.
    Fresh,
    /// Read the long-lived source until it is synced and quiet for a while.
    Drain,
}

enum Answer {
    Fresh(KernelTables, Duration),
    Drained(KernelTables),
}

struct Worker {
    ask: mpsc::Sender<Ask>,
    answer: mpsc::Receiver<Answer>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Worker {
    fn start(ns: &Netns) -> Worker {
        let (ask_tx, ask_rx) = mpsc::channel::<Ask>();
        let (answer_tx, answer_rx) = mpsc::channel::<Answer>();
        let thread = spawn_in_netns(ns, move || {
            Box::pin(async move {
                let (mut live, mut live_tables) =
                    synced_source(KernelSourceConfig::default()).await;
                while let Ok(ask) = ask_rx.recv() {
                    let answer = match ask {
                        Ask::Fresh => {
                            let (_, tables) = tokio::time::timeout(
                                Duration::from_secs(10),
                                synced_source(KernelSourceConfig::default()),
                            )
                            .await
                            .expect("a fresh dump finishes");
                            Answer::Fresh(tables, boottime_now())
                        }
                        Ask::Drain => {
                            loop {
                                let quiet = Duration::from_millis(40);
                                match tokio::time::timeout(
                                    quiet,
                                    process(&mut live, &mut live_tables),
                                )
                                .await
                                {
                                    Ok(result) => result.unwrap(),
                                    Err(_) if live.is_synced() => break,
                                    Err(_) => {}
                                }
                            }
                            Answer::Drained(live_tables.clone())
                        }
                    };
                    if answer_tx.send(answer).is_err() {
                        break;
                    }
                }
            })
        });
        Worker {
            ask: ask_tx,
            answer: answer_rx,
            thread: Some(thread),
        }
    }

    fn fresh(&self) -> (KernelTables, Duration) {
        self.ask.send(Ask::Fresh).unwrap();
        match self.answer.recv_timeout(Duration::from_secs(20)) {
            Ok(Answer::Fresh(tables, now)) => (tables, now),
            _ => panic!("library worker did not answer"),
        }
    }

    fn drained(&self) -> KernelTables {
        self.ask.send(Ask::Drain).unwrap();
        match self.answer.recv_timeout(Duration::from_secs(20)) {
            Ok(Answer::Drained(tables)) => tables,
            _ => panic!("library worker did not answer"),
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let (dead, _) = mpsc::channel();
        self.ask = dead;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Observation and comparison

/// `ip -json addr show` as JSON (names that are not UTF-8 read lossily).
fn ip_json(ns: &Netns) -> Value {
    let mut cmd = std::process::Command::new("ip");
    cmd.args(["-n", ns.name(), "-json", "addr", "show"]);
    let out = run_checked(cmd, Duration::from_secs(15));
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("ip -json: {e}: {out}"))
}

/// The JSON with the lifetimes, which count down by themselves, reduced to whether they
/// ended.
fn without_lifetimes(mut json: Value) -> Value {
    if let Some(links) = json.as_array_mut() {
        for link in links {
            if let Some(addrs) = link.get_mut("addr_info").and_then(Value::as_array_mut) {
                for a in addrs {
                    if let Some(a) = a.as_object_mut() {
                        for key in ["valid_life_time", "preferred_life_time"] {
                            if let Some(v) = a.get_mut(key) {
                                *v = Value::Bool(v.as_u64() == Some(0));
                            }
                        }
                    }
                }
            }
        }
    }
    json
}

/// One settled moment: what `ip` shows, a fresh dump with its CLOCK_BOOTTIME, and the
/// event-driven table.
struct Observation {
    ip: Vec<IpLink>,
    dump: KernelTables,
    now: Duration,
    events: KernelTables,
}

/// Observes while the kernel is settled: `ip` reads the same state (lifetimes aside) before
/// the fresh dump, after it, and after the event-driven table has caught up.
fn observe(ns: &Netns, worker: &Worker) -> Observation {
    for _ in 0..200 {
        let first = without_lifetimes(ip_json(ns));
        let (dump, now) = worker.fresh();
        let second = ip_json(ns);
        let events = worker.drained();
        let third = without_lifetimes(ip_json(ns));
        if first == third && without_lifetimes(second.clone()) == third {
            return Observation {
                ip: parse_ip_json(&second),
                dump,
                now,
                events,
            };
        }
        sleep(Duration::from_millis(25));
    }
    panic!("the kernel state never settled");
}

/// A table comparable across sources: address order and lifetime deadlines dropped, and
/// two things the kernel does not announce left out: tentative addresses (an automatic IPv6
/// link-local address is announced only once DAD has finished) and the alternative names of
/// a down link (`ip link property add` notifies only links that are up).
fn normalized(tables: &KernelTables) -> BTreeMap<u32, KernelLink> {
    tables
        .links
        .iter()
        .map(|(ifindex, link)| {
            let mut link = link.clone();
            link.addresses.retain(|a| a.flags & IFA_F_TENTATIVE == 0);
            for a in &mut link.addresses {
                a.valid_until = None;
            }
            if !link.is_up() {
                link.altnames.clear();
            }
            link.addresses.sort_by_key(|a| (a.address, a.prefix_len));
            link.altnames.sort();
            (*ifindex, link)
        })
        .collect()
}

fn snapshot_of(tables: KernelTables, now: Duration) -> Snapshot {
    let mut snapshot = Snapshot::kernel_only();
    snapshot.kernel = tables;
    snapshot.now = now;
    snapshot
}

/// How many verdicts the oracle gave, [offline, online], and per-link states compared.
static VERDICTS: [AtomicUsize; 2] = [AtomicUsize::new(0), AtomicUsize::new(0)];
static LINK_STATES: AtomicUsize = AtomicUsize::new(0);

const IFA_F_TENTATIVE: u32 = 0x40;
const IFA_F_DADFAILED: u32 = 0x08;

/// Every difference between the library's snapshot and the oracle, one line each.
fn compare(ip: &[IpLink], snapshot: &Snapshot, reqs: &[Req]) -> Vec<String> {
    let mut diffs = Vec::new();
    let by_name: BTreeMap<&str, u32> = ip.iter().map(|l| (l.name.as_str(), l.ifindex)).collect();
    let ours: BTreeSet<(u32, &str)> = snapshot
        .kernel
        .links
        .values()
        .map(|l| (l.ifindex, l.name.as_str()))
        .collect();
    let theirs: BTreeSet<(u32, &str)> = ip.iter().map(|l| (l.ifindex, l.name.as_str())).collect();
    if ours != theirs {
        diffs.push(format!("links: library {ours:?}, kernel (ip) {theirs:?}"));
    }
    let degraded = snapshot.masters_with_port_lacking_carrier();
    for link in ip {
        let Some(lib) = snapshot.kernel.links.get(&link.ifindex) else {
            continue;
        };
        let name = &link.name;
        let mut alt_lib = lib.altnames.clone();
        alt_lib.sort();
        let mut alt_ip = link.altnames.clone();
        alt_ip.sort();
        if alt_lib != alt_ip {
            diffs.push(format!(
                "{name}: altnames library {alt_lib:?}, ip {alt_ip:?}"
            ));
        }
        let master_ip = link.master.as_deref().map(|m| by_name.get(m).copied());
        if lib.master != master_ip.flatten() {
            diffs.push(format!(
                "{name}: master library {:?}, ip {:?}",
                lib.master, link.master
            ));
        }
        let lib_addrs: BTreeSet<(IpAddr, u8, u8, bool, bool, bool)> = lib
            .addresses
            .iter()
            .map(|a| {
                (
                    a.address,
                    a.prefix_len,
                    a.scope,
                    a.flags & IFA_F_TENTATIVE != 0,
                    a.flags & IFA_F_DADFAILED != 0,
                    a.family == Family::Ipv6,
                )
            })
            .collect();
        let ip_addrs: BTreeSet<(IpAddr, u8, u8, bool, bool, bool)> = link
            .addresses
            .iter()
            .map(|a| {
                (
                    a.local,
                    a.prefix_len,
                    a.scope,
                    a.tentative,
                    a.dadfailed,
                    a.inet6,
                )
            })
            .collect();
        if lib_addrs != ip_addrs {
            diffs.push(format!(
                "{name}: addresses (address, prefix, scope, tentative, dadfailed, ipv6) \
                 library {lib_addrs:?}, ip {ip_addrs:?}"
            ));
        }
        let status = snapshot.status(lib, &degraded);
        let want = expected_states(link, ip);
        LINK_STATES.fetch_add(1, Ordering::Relaxed);
        let got = (
            status.carrier.as_oper_state().as_str(),
            status.ipv4.as_str(),
            status.ipv6.as_str(),
            status.oper.as_str(),
        );
        let expected = (
            carrier_name(want.carrier),
            addr_state_name(want.ipv4),
            addr_state_name(want.ipv6),
            oper_name(want.oper),
        );
        if got != expected {
            diffs.push(format!(
                "{name}: (carrier, ipv4, ipv6, oper) library {got:?}, oracle {expected:?} \
                 (ip: operstate {}, flags {:?}, master {:?})",
                link.operstate, link.flags, link.master
            ));
        }
    }
    for req in reqs {
        let argv = req.argv();
        let requirements = match wait_online::cli::parse(argv.clone()) {
            Ok(wait_online::cli::Command::Run(options)) => options.requirements,
            Ok(_) => {
                diffs.push(format!("{argv:?}: parsed as a print command"));
                continue;
            }
            Err(err) => {
                diffs.push(format!("{argv:?}: refused: {err}"));
                continue;
            }
        };
        let verdict = evaluate(&requirements, snapshot);
        let oracle = oracle_online(req, ip);
        VERDICTS[usize::from(oracle)].fetch_add(1, Ordering::Relaxed);
        if verdict.online != oracle {
            diffs.push(format!(
                "{}: library says online={}, oracle online={oracle}; library explains: {:?}",
                argv[1..].join(" "),
                verdict.online,
                wait_online::report::reason::explain(&verdict)
            ));
        }
    }
    diffs
}

// ---------------------------------------------------------------------------------------------
// Operations

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Loopback,
    Veth,
    Bridge,
}

#[derive(Debug, Clone)]
struct ModelLink {
    id: u32,
    name: String,
    kind: Kind,
    peer: Option<u32>,
}

/// What the test created, to pick plausible operations (the kernel decides what holds).
#[derive(Debug, Default)]
struct Model {
    links: Vec<ModelLink>,
    /// (link id, address/prefix) added and not deleted by the test.
    addresses: Vec<(u32, String)>,
    next: u32,
    gone_names: Vec<String>,
}

impl Model {
    fn new() -> Model {
        Model {
            links: vec![ModelLink {
                id: 0,
                name: "lo".into(),
                kind: Kind::Loopback,
                peer: None,
            }],
            next: 1,
            ..Model::default()
        }
    }

    fn fresh_id(&mut self) -> u32 {
        self.next += 1;
        self.next
    }

    fn name(&self, id: u32) -> String {
        self.links
            .iter()
            .find(|l| l.id == id)
            .map(|l| l.name.clone())
            .unwrap()
    }

    fn of_kind(&self, kinds: &[Kind]) -> Vec<u32> {
        self.links
            .iter()
            .filter(|l| kinds.contains(&l.kind))
            .map(|l| l.id)
            .collect()
    }

    fn remove(&mut self, id: u32) {
        let peer = self.links.iter().find(|l| l.id == id).and_then(|l| l.peer);
        for gone in [Some(id), peer].into_iter().flatten() {
            if let Some(pos) = self.links.iter().position(|l| l.id == gone) {
                let link = self.links.remove(pos);
                self.gone_names.push(link.name);
            }
            self.addresses.retain(|(i, _)| *i != gone);
        }
    }
}

/// What to record in the model when an `ip` command succeeds.
type OnSuccess = Box<dyn FnOnce(&mut Model)>;

/// One step: `ip` commands (each with what to record in the model if it succeeds), or a
/// pause (DAD, address lifetimes and linkwatch go on meanwhile).
struct Step {
    commands: Vec<(Vec<String>, OnSuccess)>,
    pause: Option<u64>,
}

fn step(args: &[&str], on_success: impl FnOnce(&mut Model) + 'static) -> Step {
    Step {
        commands: vec![(
            args.iter().map(|a| a.to_string()).collect(),
            Box::new(on_success),
        )],
        pause: None,
    }
}

fn random_v4(rng: &mut Rng) -> (String, Vec<&'static str>) {
    let (a, b, c) = (rng.byte(), rng.byte(), rng.byte().max(1));
    match rng.below(9) {
        0 => (format!("10.{a}.{b}.{c}/24"), vec![]),
        1 => (format!("192.0.2.{c}/24"), vec![]),
        2 => (format!("169.254.{b}.{c}/16"), vec!["scope", "link"]),
        3 => (format!("169.254.{b}.{c}/16"), vec![]),
        4 => (format!("10.{a}.{b}.{c}/32"), vec!["scope", "host"]),
        5 => (format!("127.0.{b}.{c}/8"), vec![]),
        6 => (format!("10.{a}.{b}.{c}/24"), vec!["scope", "site"]),
        7 => (
            format!("10.{a}.{b}.{c}/24"),
            vec!["valid_lft", "2", "preferred_lft", "1"],
        ),
        _ => (format!("10.{a}.{b}.{c}/24"), vec!["preferred_lft", "0"]),
    }
}

fn random_v6(rng: &mut Rng) -> (String, Vec<&'static str>) {
    let (x, y) = (rng.next() as u16, (rng.next() as u16).max(1));
    match rng.below(8) {
        0 => (format!("2001:db8:{x:x}::{y:x}/64"), vec!["nodad"]),
        1 => (format!("2001:db8:{x:x}::{y:x}/64"), vec![]),
        2 => (format!("fe80::{x:x}:{y:x}/64"), vec!["nodad"]),
        3 => (format!("fe80::{x:x}:{y:x}/64"), vec![]),
        4 => (format!("fd00:{x:x}::{y:x}/64"), vec!["nodad"]),
        5 => (format!("fec0::{x:x}:{y:x}/64"), vec!["nodad"]),
        6 => (
            format!("2001:db8:{x:x}::{y:x}/64"),
            vec!["nodad", "valid_lft", "2", "preferred_lft", "1"],
        ),
        _ => (
            format!("2001:db8:{x:x}::{y:x}/64"),
            vec!["nodad", "preferred_lft", "0"],
        ),
    }
}

fn add_address(id: u32, name: &str, cidr: String, extra: &[&str]) -> Step {
    let mut args = vec!["address", "add", cidr.as_str(), "dev", name];
    args.extend_from_slice(extra);
    let kept = cidr.clone();
    step(&args, move |m| m.addresses.push((id, kept)))
}

/// Picks the next operation, weighted, from what exists.
fn random_step(rng: &mut Rng, model: &mut Model) -> Step {
    let veths = model.of_kind(&[Kind::Veth]);
    let bridges = model.of_kind(&[Kind::Bridge]);
    let all = model.of_kind(&[Kind::Veth, Kind::Bridge]);
    let with_lo = model.of_kind(&[Kind::Veth, Kind::Bridge, Kind::Loopback]);
    loop {
        let roll = rng.below(100);
        match roll {
            0..=9 if veths.len() < 10 => {
                let (a, b) = (model.fresh_id(), model.fresh_id());
                let (na, nb) = (format!("a{a}"), format!("b{b}"));
                let (ka, kb) = (na.clone(), nb.clone());
                return step(
                    &[
                        "link", "add", "name", &na, "type", "veth", "peer", "name", &nb,
                    ],
                    move |m| {
                        m.links.push(ModelLink {
                            id: a,
                            name: ka,
                            kind: Kind::Veth,
                            peer: Some(b),
                        });
                        m.links.push(ModelLink {
                            id: b,
                            name: kb,
                            kind: Kind::Veth,
                            peer: Some(a),
                        });
                    },
                );
            }
            10..=12 if bridges.len() < 2 => {
                let id = model.fresh_id();
                let name = format!("br{id}");
                let kept = name.clone();
                return step(
                    &[
                        "link",
                        "add",
                        "name",
                        &name,
                        "type",
                        "bridge",
                        "forward_delay",
                        "0",
                    ],
                    move |m| {
                        m.links.push(ModelLink {
                            id,
                            name: kept,
                            kind: Kind::Bridge,
                            peer: None,
                        })
                    },
                );
            }
            13..=16 if !all.is_empty() => {
                let id = *rng.pick(&all);
                return step(&["link", "del", "dev", &model.name(id)], move |m| {
                    m.remove(id)
                });
            }
            17..=33 => {
                let id = if rng.chance(5) {
                    0
                } else if all.is_empty() {
                    continue;
                } else {
                    *rng.pick(&all)
                };
                return step(&["link", "set", "dev", &model.name(id), "up"], |_| {});
            }
            34..=42 if !with_lo.is_empty() => {
                let id = if rng.chance(5) {
                    0
                } else if all.is_empty() {
                    continue;
                } else {
                    *rng.pick(&all)
                };
                return step(&["link", "set", "dev", &model.name(id), "down"], |_| {});
            }
            43..=49 if !veths.is_empty() && !bridges.is_empty() => {
                let port = *rng.pick(&veths);
                let bridge = *rng.pick(&bridges);
                return step(
                    &[
                        "link",
                        "set",
                        "dev",
                        &model.name(port),
                        "master",
                        &model.name(bridge),
                    ],
                    |_| {},
                );
            }
            50..=52 if !veths.is_empty() => {
                let port = *rng.pick(&veths);
                return step(
                    &["link", "set", "dev", &model.name(port), "nomaster"],
                    |_| {},
                );
            }
            53..=63 => {
                let id = *rng.pick(&with_lo);
                let (cidr, extra) = random_v4(rng);
                return add_address(id, &model.name(id), cidr, &extra);
            }
            64..=74 => {
                let id = *rng.pick(&with_lo);
                let (cidr, extra) = random_v6(rng);
                return add_address(id, &model.name(id), cidr, &extra);
            }
            75..=76 if !veths.is_empty() => {
                // The same address with DAD on both ends of a pair: duplicate detection.
                let a = *rng.pick(&veths);
                let Some(b) = model.links.iter().find(|l| l.id == a).and_then(|l| l.peer) else {
                    continue;
                };
                let cidr = format!("2001:db8:dd::{:x}/64", rng.byte().max(1));
                let mut dup = add_address(a, &model.name(a), cidr.clone(), &[]);
                dup.commands
                    .extend(add_address(b, &model.name(b), cidr, &[]).commands);
                return dup;
            }
            77..=84 if !model.addresses.is_empty() => {
                let index = rng.below(model.addresses.len());
                let (id, cidr) = model.addresses[index].clone();
                let kept = cidr.clone();
                return step(
                    &["address", "del", &cidr, "dev", &model.name(id)],
                    move |m| m.addresses.retain(|(i, c)| !(*i == id && *c == kept)),
                );
            }
            85..=86 if !all.is_empty() => {
                let id = *rng.pick(&all);
                return step(&["address", "flush", "dev", &model.name(id)], move |m| {
                    m.addresses.retain(|(i, _)| *i != id)
                });
            }
            87..=91 if !all.is_empty() => {
                let id = *rng.pick(&all);
                let new = if !model.gone_names.is_empty() && rng.chance(40) {
                    rng.pick(&model.gone_names).clone()
                } else {
                    format!("r{}", model.fresh_id())
                };
                let kept = new.clone();
                return step(
                    &["link", "set", "dev", &model.name(id), "name", &new],
                    move |m| {
                        if let Some(l) = m.links.iter_mut().find(|l| l.id == id) {
                            let old = std::mem::replace(&mut l.name, kept.clone());
                            m.gone_names.push(old);
                            m.gone_names.retain(|n| *n != kept);
                        }
                    },
                );
            }
            92..=93 if !all.is_empty() => {
                let id = *rng.pick(&all);
                let alt = format!("alt-{}", model.fresh_id());
                return step(
                    &[
                        "link",
                        "property",
                        "add",
                        "dev",
                        &model.name(id),
                        "altname",
                        &alt,
                    ],
                    |_| {},
                );
            }
            94..=96 => {
                return Step {
                    commands: Vec::new(),
                    pause: Some(800 + rng.below(1800) as u64),
                };
            }
            _ => {}
        }
    }
}

/// Random requirement sets naming links that exist, existed, or never did.
fn random_requirements(rng: &mut Rng, ip: &[IpLink], model: &Model) -> Vec<Req> {
    let mut names: Vec<String> = ip.iter().map(|l| l.name.clone()).collect();
    names.extend(ip.iter().flat_map(|l| l.altnames.clone()));
    names.extend(model.gone_names.iter().take(3).cloned());
    names.push("nosuch0".into());
    let mut reqs = Vec::new();
    for set in 0..4 {
        let mut req = Req {
            ipv4: rng.chance(20),
            ipv6: rng.chance(20),
            any: rng.chance(25),
            ..Req::default()
        };
        if rng.chance(30) {
            req.operational = Some(random_range(rng, false));
        }
        if set < 3 {
            for _ in 0..1 + rng.below(2) {
                let name = rng.pick(&names).clone();
                if req.wanted.iter().any(|w| w.name == name) {
                    continue;
                }
                let (range, spelling) = if rng.chance(60) {
                    let (range, text) = random_range(rng, true);
                    (Some(range), format!("{name}:{text}"))
                } else {
                    (None, name.clone())
                };
                req.wanted.push(Wanted {
                    name,
                    range,
                    spelling,
                });
            }
        } else {
            for _ in 0..rng.below(3) {
                let pattern = match rng.below(4) {
                    0 => rng.pick(&names).clone(),
                    1 => "a*".to_string(),
                    2 => "b?".to_string(),
                    _ => "br*".to_string(),
                };
                req.ignore.push(pattern);
            }
        }
        reqs.push(req);
    }
    reqs
}

// ---------------------------------------------------------------------------------------------
// The tests

/// The log and the kernel's state, for a mismatch report.
fn report(title: String, diffs: &[String], log: &[String], ns: &Netns) -> String {
    let mut report = title;
    for d in diffs {
        let _ = writeln!(report, "  - {d}");
    }
    let _ = writeln!(report, "  steps (in namespace {}):", ns.name());
    for line in log {
        let _ = writeln!(report, "    {line}");
    }
    let _ = writeln!(report, "  ip addr show at that moment:");
    for line in ns.ip(&["addr", "show"]).lines() {
        let _ = writeln!(report, "    {line}");
    }
    report
}

/// Differences between the event-driven table and a fresh dump, one per link, each with
/// the names of the fields that differ (its class).
fn events_vs_dump(events: &KernelTables, dump: &KernelTables) -> Vec<(String, String)> {
    let (a, b) = (normalized(events), normalized(dump));
    a.keys()
        .chain(b.keys())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter(|ifindex| a.get(ifindex) != b.get(ifindex))
        .map(|ifindex| {
            let class = match (a.get(ifindex), b.get(ifindex)) {
                (Some(x), Some(y)) => [
                    ("name", x.name != y.name),
                    ("altnames", x.altnames != y.altnames),
                    ("flags", x.flags != y.flags),
                    ("operstate", x.kernel_oper != y.kernel_oper),
                    ("master", x.master != y.master),
                    ("kind", x.kind != y.kind),
                    ("addresses", x.addresses != y.addresses),
                ]
                .iter()
                .filter(|(_, differs)| *differs)
                .map(|(field, _)| *field)
                .collect::<Vec<_>>()
                .join("+"),
                (Some(_), None) => "stale link".to_string(),
                _ => "missing link".to_string(),
            };
            let text = format!(
                "event-driven table differs ({class}) from a fresh dump for ifindex {ifindex}:\n      \
                 events: {:?}\n      dump:   {:?}",
                a.get(ifindex),
                b.get(ifindex)
            );
            (class, text)
        })
        .collect()
}

/// Runs one sequence; returns the first step where the library's snapshot disagrees with the
/// oracle, and for each class of difference (the fields that differ) the first step where
/// the event-driven table disagrees with a fresh dump. The sequence runs to its end.
fn run_sequence(seed: u64, sequence: usize, steps: usize) -> Vec<String> {
    let mut rng = Rng::new(seed ^ (sequence as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let ns = Netns::new();
    // lo is up (Netns::new); nothing else exists yet.
    let worker = Worker::start(&ns);
    let mut model = Model::new();
    let mut log: Vec<String> = Vec::new();
    let mut oracle_report = None;
    let mut events_reports: BTreeMap<String, String> = BTreeMap::new();
    for index in 0..steps {
        let step = random_step(&mut rng, &mut model);
        if let Some(ms) = step.pause {
            sleep(Duration::from_millis(ms));
            log.push(format!("{index:>3}: sleep {ms}ms"));
        }
        for (args, on_success) in step.commands {
            let argv: Vec<&str> = args.iter().map(String::as_str).collect();
            log.push(match ns.try_ip(&argv) {
                Ok(_) => {
                    on_success(&mut model);
                    format!("{index:>3}: ip {}", args.join(" "))
                }
                Err(r) => format!(
                    "{index:>3}: ip {}   # failed: {}",
                    args.join(" "),
                    r.stderr.trim().replace('\n', " ")
                ),
            });
        }
        let Observation {
            ip,
            dump,
            now,
            events,
        } = observe(&ns, &worker);
        let reqs = random_requirements(&mut rng, &ip, &model);
        if oracle_report.is_none() {
            let diffs = compare(&ip, &snapshot_of(dump.clone(), now), &reqs);
            if !diffs.is_empty() {
                let title = format!(
                    "sequence {sequence} (WAIT_ONLINE_DIFF_SEED={seed}): library and oracle \
                     disagree after step {index}:\n"
                );
                oracle_report = Some(report(title, &diffs, &log, &ns));
            }
        }
        // A carrier change reaches the flags at once but is announced by linkwatch up to a
        // second later: a difference must persist 1.1 s (and a fresh observation) to count.
        let new_classes = |events: &KernelTables, dump: &KernelTables| {
            let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for (class, text) in events_vs_dump(events, dump) {
                if !events_reports.contains_key(&class) {
                    found.entry(class).or_default().push(text);
                }
            }
            found
        };
        if !new_classes(&events, &dump).is_empty() {
            sleep(Duration::from_millis(1100));
            let again = observe(&ns, &worker);
            for (class, diffs) in new_classes(&again.events, &again.dump) {
                let title = format!(
                    "sequence {sequence} (WAIT_ONLINE_DIFF_SEED={seed}): event-driven table \
                     wrong ({class}) after step {index} (and still 1.1 s later):\n"
                );
                events_reports.insert(class, report(title, &diffs, &log, &ns));
            }
        }
    }
    oracle_report
        .into_iter()
        .chain(events_reports.into_values())
        .collect()
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn random_operations_agree_with_independent_oracle() {
    let _root = common::require_root();
    let seed = seed_from_env("WAIT_ONLINE_DIFF_SEED");
    let sequences = env_number("WAIT_ONLINE_DIFF_SEQUENCES").unwrap_or(4) as usize;
    let steps = env_number("WAIT_ONLINE_DIFF_STEPS").unwrap_or(60) as usize;
    eprintln!(
        "differential: seed {seed}, {sequences} sequences of {steps} steps \
         (replay with WAIT_ONLINE_DIFF_SEED={seed})"
    );
    let mut reports = Vec::new();
    for sequence in 0..sequences {
        let found = run_sequence(seed, sequence, steps);
        eprintln!(
            "differential: sequence {sequence}: {}",
            if found.is_empty() {
                "agrees".to_string()
            } else {
                format!("{} mismatch reports", found.len())
            }
        );
        reports.extend(found);
    }
    let [offline, online] = [0, 1].map(|i| VERDICTS[i].load(Ordering::Relaxed));
    eprintln!(
        "differential: compared {} link states and {} verdicts ({online} online, {offline} not)",
        LINK_STATES.load(Ordering::Relaxed),
        offline + online,
    );
    assert!(
        offline > 0 && online > 0,
        "the random requirements gave {online} online and {offline} offline verdicts: \
         both kinds must be compared (seed {seed})"
    );
    assert!(
        reports.is_empty(),
        "{} mismatches in {sequences} sequences (seed {seed}):\n{}",
        reports.len(),
        reports.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Deterministic cases for the mismatches the random test found

/// `ip -n NS ARGS BYTES`, with a last argument that is not UTF-8 (names and aliases are bytes
/// to Linux: anything but '/', ':', NUL and whitespace in a name, anything in an alias).
fn ip_with_bytes(ns: &Netns, args: &[&str], bytes: &[u8]) {
    let mut cmd = std::process::Command::new("ip");
    cmd.arg("-n")
        .arg(ns.name())
        .args(args)
        .arg(OsStr::from_bytes(bytes));
    run_checked(cmd, Duration::from_secs(15));
}

/// `v0` up with carrier (its peer `v1` up in the second namespace) and 192.0.2.1/24.
fn routable_v0() -> (Netns, Netns) {
    let ns = Netns::new();
    let peer = Netns::new();
    ns.add_veth("v0", Some(&peer), "v1");
    peer.link_up("v1");
    ns.link_up("v0");
    ns.add_addr("v0", "192.0.2.1/24");
    (ns, peer)
}

/// A link whose alias is not UTF-8 is still a link: `-i` must find it.
#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn link_with_non_utf8_alias_is_seen() {
    let _root = common::require_root();
    let (ns, _peer) = routable_v0();
    let ifindex = ns.ifindex("v0");
    ip_with_bytes(&ns, &["link", "set", "dev", "v0", "alias"], b"caf\xe9");

    let worker = Worker::start(&ns);
    let seen = observe(&ns, &worker);
    drop(worker);
    let r = ns.wait_online(&["-i", "v0:routable", "--timeout=2"]);
    let mut problems = Vec::new();
    if !seen.dump.links.contains_key(&ifindex) {
        problems.push("v0 is missing from a fresh dump".to_string());
    }
    if !seen.events.links.contains_key(&ifindex) {
        problems.push("v0 is missing from the event-driven table".to_string());
    }
    if r.code != Some(0) {
        problems.push(format!(
            "`wait-online -i v0:routable` must exit 0 at once (v0 is up with carrier and \
             192.0.2.1/24), it exited {:?} after {:.1}s: {}",
            r.code,
            r.elapsed.as_secs_f64(),
            r.stderr.trim()
        ));
    }
    assert!(
        problems.is_empty(),
        "v0 with alias b\"caf\\xe9\":\n  {}\n{}",
        problems.join("\n  "),
        ns.ip(&["-d", "link", "show", "dev", "v0"])
    );
}

/// A link whose name is not UTF-8 still blocks "every link online" while it is up without
/// carrier (kernel only, no `-i`): ignoring it would be a false online.
#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn link_with_non_utf8_name_still_blocks() {
    let _root = common::require_root();
    let (ns, peer) = routable_v0();
    // w0: up, its peer down: no carrier.
    ns.add_veth("w0", Some(&peer), "w1");
    ns.link_up("w0");
    let ifindex = ns.ifindex("w0");
    ip_with_bytes(&ns, &["link", "set", "dev", "w0", "name"], b"w\xff0");

    let worker = Worker::start(&ns);
    let seen = observe(&ns, &worker);
    drop(worker);
    let every = Req::default();
    let oracle = oracle_online(&every, &seen.ip);
    assert!(!oracle, "oracle: the link without carrier blocks");
    let r = ns.wait_online(&["--timeout=2"]);
    let mut problems = Vec::new();
    if !seen.dump.links.contains_key(&ifindex) {
        problems.push(format!(
            "b\"w\\xff0\" (ifindex {ifindex}) is missing from a fresh dump"
        ));
    }
    if !seen.events.links.contains_key(&ifindex) {
        problems.push(format!(
            "b\"w\\xff0\" (ifindex {ifindex}) is missing from the event-driven table"
        ));
    }
    if r.code != Some(1) {
        problems.push(format!(
            "FALSE ONLINE: `wait-online --manager=none` (no -i) must time out while \
             b\"w\\xff0\" is up without carrier; it exited {:?} after {:.1}s",
            r.code,
            r.elapsed.as_secs_f64()
        ));
    }
    assert!(
        problems.is_empty(),
        "link named b\"w\\xff0\":\n  {}\n{}",
        problems.join("\n  "),
        ns.ip(&["link", "show"])
    );
}

/// The namespace for the bridge-port cases: `p0` (altname `uplink0`, 192.0.2.10/24) and `q0`,
/// both up with carrier (peers up in `peer`), and bridge `br0`, up.
fn bridge_setup() -> (Netns, Netns) {
    let ns = Netns::new();
    let peer = Netns::new();
    for (a, b) in [("p0", "p1"), ("q0", "q1")] {
        ns.add_veth(a, Some(&peer), b);
        peer.link_up(b);
        ns.link_up(a);
    }
    ns.ip(&["link", "property", "add", "dev", "p0", "altname", "uplink0"]);
    ns.add_addr("p0", "192.0.2.10/24");
    ns.add_bridge("br0", &[]);
    ns.link_up("br0");
    (ns, peer)
}

/// Enslaving a link makes the bridge announce the port with an AF_BRIDGE RTM_NEWLINK that
/// carries no IFLA_LINKINFO and no IFLA_PROP_LIST: it must not wipe the link's kind and
/// alternative names (`-i uplink0` must still find `p0`).
#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn bridge_port_keeps_its_alternative_name() {
    let _root = common::require_root();
    let (ns, _peer) = bridge_setup();
    let worker = Worker::start(&ns);
    ns.ip(&["link", "set", "dev", "p0", "master", "br0"]);
    let seen = observe(&ns, &worker);
    drop(worker);
    let mut problems: Vec<String> = events_vs_dump(&seen.events, &seen.dump)
        .into_iter()
        .map(|(_, text)| text)
        .collect();
    ns.ip(&["link", "set", "dev", "p0", "nomaster"]);
    ns.del_addr("p0", "192.0.2.10/24");

    // The binary: waiting for the port by its alternative name.
    let waiter = common::run_wait_online_bg(
        ns.exec(
            wait_online_bin(),
            &[
                "--manager=none",
                "-i",
                "uplink0:enslaved:enslaved",
                "--timeout=3",
            ],
        ),
        Duration::from_secs(20),
    );
    sleep(Duration::from_millis(500));
    ns.ip(&["link", "set", "dev", "p0", "master", "br0"]);
    let r = waiter.join().unwrap();
    if r.code != Some(0) {
        problems.push(format!(
            "MISSED ONLINE: `wait-online -i uplink0:enslaved:enslaved` must exit 0 once p0 \
             (altname uplink0) is enslaved to br0; it exited {:?} after {:.1}s: {}",
            r.code,
            r.elapsed.as_secs_f64(),
            r.stderr.trim()
        ));
    }
    assert!(
        problems.is_empty(),
        "after `ip link set dev p0 master br0`:\n  {}",
        problems.join("\n  ")
    );
}

/// Releasing a port makes the bridge send an AF_BRIDGE RTM_DELLINK for it (the link itself
/// stays, followed by an ordinary RTM_NEWLINK): it must not delete the link and its
/// addresses.
#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn link_released_from_bridge_keeps_its_addresses() {
    let _root = common::require_root();
    let (ns, _peer) = bridge_setup();
    ns.ip(&["link", "set", "dev", "p0", "master", "br0"]);
    let worker = Worker::start(&ns);
    ns.ip(&["link", "set", "dev", "p0", "nomaster"]);
    let seen = observe(&ns, &worker);
    drop(worker);
    let mut problems: Vec<String> = events_vs_dump(&seen.events, &seen.dump)
        .into_iter()
        .map(|(_, text)| text)
        .collect();

    // The binary: p0 keeps 192.0.2.10/24 through the release; q0 gets its address after.
    ns.ip(&["link", "set", "dev", "p0", "master", "br0"]);
    let waiter = common::run_wait_online_bg(
        ns.exec(
            wait_online_bin(),
            &[
                "--manager=none",
                "-i",
                "p0:routable",
                "-i",
                "q0:routable",
                "--timeout=3",
            ],
        ),
        Duration::from_secs(20),
    );
    sleep(Duration::from_millis(500));
    ns.ip(&["link", "set", "dev", "p0", "nomaster"]);
    sleep(Duration::from_millis(200));
    ns.add_addr("q0", "198.51.100.10/24");
    let r = waiter.join().unwrap();
    if r.code != Some(0) {
        problems.push(format!(
            "MISSED ONLINE: `wait-online -i p0:routable -i q0:routable` must exit 0 once q0 \
             has its address (p0 kept 192.0.2.10/24 through `nomaster`); it exited {:?} \
             after {:.1}s: {}",
            r.code,
            r.elapsed.as_secs_f64(),
            r.stderr.trim()
        ));
    }
    assert!(
        problems.is_empty(),
        "after `ip link set dev p0 nomaster`:\n  {}\n{}",
        problems.join("\n  "),
        ns.ip(&["addr", "show", "dev", "p0"])
    );
}
