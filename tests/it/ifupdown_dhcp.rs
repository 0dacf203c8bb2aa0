//! `--manager=ifupdown` with `iface … inet dhcp`: Debian's real ifup runs Debian's real
//! dhclient (both unpacked by tests/setup-deps.sh, never installed), which asks dnsmasq in a
//! peer namespace for a lease. The machine is a named network namespace (wo0, the other end
//! wo0p in the peer) entered with a private mount namespace: /etc and /var/lib are overlays on
//! the host's (never written), /etc/network is this test's, /usr/sbin (= /sbin) is the unpacked
//! trees' sbin over the host's, /run a tmpfs. wait-online and Debian's
//! `/lib/ifupdown/wait-online.sh` (its default method, `ifup`) both start before ifup; each
//! notes its exit status, when it ended (`date +%s.%N`) and wo0's IPv4 addresses then.

use std::time::Duration;

use crate::common::{self, DnsServer, Netns, RunResult, TempDir, run_wait_online};
use crate::ifupdown::{ifupdown_root, read, seconds};

/// Hard limit of one race (each waiter asks for a 20 s timeout).
const LIMIT: Duration = Duration::from_secs(60);
/// dnsmasq holds every offer this long: a slow DHCP server.
const REPLY_DELAY_S: u32 = 3;
const SERVER: &str = "10.77.0.1";

fn config(dir: &TempDir, interfaces: &str) {
    let etc = dir.0.join("etc-network");
    for sub in ["if-pre-up.d", "if-up.d", "if-down.d", "if-post-down.d"] {
        std::fs::create_dir_all(etc.join(sub)).expect("hook dir");
    }
    std::fs::write(etc.join("interfaces"), interfaces).expect("interfaces");
    for sub in [
        "run-network",
        "etc/upper",
        "etc/work",
        "var/upper",
        "var/work",
    ] {
        std::fs::create_dir_all(dir.0.join(sub)).expect("dirs");
    }
    // Debian's waiter reads its method and timeout from /etc/default/networking.
    let default = dir.0.join("etc/upper/default");
    std::fs::create_dir_all(&default).expect("etc/upper/default");
    std::fs::write(default.join("networking"), "WAIT_ONLINE_TIMEOUT=20\n")
        .expect("default/networking");
}

/// Debian's isc-dhcp-client, unpacked by tests/setup-deps.sh (never installed).
fn dhclient_root() -> String {
    std::env::var("WAIT_ONLINE_DHCLIENT_ROOT")
        .unwrap_or_else(|_| "/var/cache/wait-online-tests/root-dhclient".to_string())
}

/// dnsmasq in `peer` on wo0p: leases from 10.77.0.100-150, each offer held
/// [`REPLY_DELAY_S`] seconds.
fn slow_dhcp_server(peer: &Netns) -> DnsServer {
    let delay = format!("--dhcp-reply-delay={REPLY_DELAY_S}");
    DnsServer::start_with(
        peer,
        SERVER,
        &[],
        &[
            "--dhcp-range=10.77.0.100,10.77.0.150,255.255.255.0,1h",
            "--leasefile-ro",
            "--no-ping",
            delay.as_str(),
        ],
    )
}

/// Runs, in `ns` with the mounts of the module's header, both waiters and then `ifup` (a shell
/// command that writes `ifup.start` itself, when it starts ifup).
fn race(ns: &Netns, dir: &TempDir, ifup: &str) -> RunResult {
    let root = ifupdown_root();
    let dhclient = dhclient_root();
    for (tree, program) in [(&root, "sbin/ifup"), (&dhclient, "sbin/dhclient")] {
        assert!(
            std::path::Path::new(tree).join(program).exists(),
            "{tree}/{program} is missing: run tests/setup-deps.sh"
        );
    }
    let script = r#"set -e
d=$1; root=$2; dhclient=$3; bin=$4; ifup=$5
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$d/etc/upper,workdir=$d/etc/work" /etc
mkdir -p /etc/network
mount --bind "$d/etc-network" /etc/network
cp -a "$dhclient/etc/dhcp" /etc/
mount -t overlay overlay -o "lowerdir=/var/lib,upperdir=$d/var/upper,workdir=$d/var/work" /var/lib
mkdir -p /var/lib/dhcp
mount -t overlay overlay -o "lowerdir=$root/sbin:$dhclient/sbin:/usr/sbin" /usr/sbin
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir /run/network
mount --bind "$d/run-network" /run/network
ip link set lo up
set +e
addrs() { ip -4 -o addr show dev wo0 2>/dev/null | awk '{print $4}' | paste -sd " "; }
{ "$bin" --manager=ifupdown --timeout=20 >"$d/ours.out" 2>"$d/ours.err"; echo $? >"$d/ours.rc"; date +%s.%N >"$d/ours.end"; addrs >"$d/ours.addr"; } &
{ sh "$root/lib/ifupdown/wait-online.sh" >"$d/theirs.out" 2>&1; echo $? >"$d/theirs.rc"; date +%s.%N >"$d/theirs.end"; addrs >"$d/theirs.addr"; } &
sleep 0.3
sh -c "$ifup" >"$d/ifup.log" 2>&1; echo $? >"$d/ifup.rc"; date +%s.%N >"$d/ifup.end"
wait"#;
    let mut command = ns.exec(
        "unshare",
        &[
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            script,
            "sh",
        ],
    );
    command
        .arg(&dir.0)
        .arg(&root)
        .arg(&dhclient)
        .arg(common::wait_online_bin())
        .arg(format!("d={}; {ifup}", dir.0.display()));
    run_wait_online(command, LIMIT)
}

/// The race's files, for a failed assertion.
fn files(dir: &TempDir) -> String {
    [
        "ifup.rc",
        "ifup.log",
        "ours.rc",
        "ours.err",
        "ours.addr",
        "theirs.rc",
        "theirs.out",
        "theirs.addr",
    ]
    .iter()
    .map(|name| {
        let text = std::fs::read_to_string(dir.0.join(name)).unwrap_or_default();
        format!("--- {name}\n{text}")
    })
    .collect()
}

/// Where each waiter ended, against ifup's run; asserts what the tests share: ifup brought
/// wo0 up by DHCP, we ended after its lease's address was there and ifup exited, Debian's
/// waiter before, without the address. Returns (ifup's run, ours after ifup's exit,
/// Debian's before it) in seconds.
fn assert_ours_after_the_lease_theirs_before(r: &RunResult, dir: &TempDir) -> (f64, f64, f64) {
    assert!(r.success(), "{}\n{}", r.describe(), files(dir));
    assert_eq!(read(dir, "ifup.rc"), "0", "{}", files(dir));
    assert_eq!(read(dir, "ours.rc"), "0", "{}", files(dir));
    assert_eq!(read(dir, "theirs.rc"), "0", "{}", files(dir));
    let start = seconds(dir, "ifup.start");
    let ifup = seconds(dir, "ifup.end");
    let ours = seconds(dir, "ours.end");
    let theirs = seconds(dir, "theirs.end");
    let measured = (ifup - start, ours - ifup, ifup - theirs);
    eprintln!(
        "ifup (with dhclient) ran {:.3} s; ours ended {:.3} s after ifup's exit, Debian's \
         wait-online.sh {:.3} s before it",
        measured.0, measured.1, measured.2
    );
    // dnsmasq held the offer: the lease took at least that long.
    assert!(
        ifup - start >= f64::from(REPLY_DELAY_S),
        "ifup ran {:.3} s",
        ifup - start
    );
    // The lease's address was there when we ended ...
    assert!(
        read(dir, "ours.addr").starts_with("10.77.0."),
        "{}",
        files(dir)
    );
    // ... and ifup had finished: it releases its lock just before it exits, so we may end
    // a hair before its exit is noted, never while dhclient still waited.
    assert!(ours > ifup - 0.5, "ours {ours}, ifup's exit {ifup}");
    // Debian's waiter took "listed" for "up": it ended while dhclient still waited for the
    // offer, without an address.
    assert!(
        theirs < start + f64::from(REPLY_DELAY_S),
        "Debian's {theirs}, ifup started {start}"
    );
    assert_eq!(read(dir, "theirs.addr"), "", "{}", files(dir));
    measured
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn real_dhcp_we_end_after_the_lease_debians_waiter_before_it() {
    let _root = common::require_root();
    let ns = Netns::new();
    let peer = ns.add_peer();
    let _dhcp = slow_dhcp_server(&peer);
    let dir = TempDir::new();
    config(
        &dir,
        "auto lo\niface lo inet loopback\n\nauto wo0\niface wo0 inet dhcp\n",
    );
    let r = race(&ns, &dir, "date +%s.%N >\"$d/ifup.start\"; exec ifup -a");
    assert_ours_after_the_lease_theirs_before(&r, &dir);
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn real_dhcp_allow_hotplug_is_waited_for_once_present() {
    let _root = common::require_root();
    let ns = Netns::new();
    let dir = TempDir::new();
    // wo0 comes later (as a USB NIC would) and udev runs `ifup --allow=hotplug wo0`; wo1
    // never comes: it is not waited for.
    config(
        &dir,
        "auto lo\niface lo inet loopback\n\nallow-hotplug wo0\niface wo0 inet dhcp\n\n\
         allow-hotplug wo1\niface wo1 inet dhcp\n",
    );
    let hotplug = "until ip link show wo0 >/dev/null 2>&1; do sleep 0.1; done
date +%s.%N >\"$d/ifup.start\"; exec ifup --allow=hotplug wo0";
    // The machine waits with no wo0 at all for a while, then the link and the server come.
    let waiting = std::thread::scope(|scope| {
        let racing = scope.spawn(|| race(&ns, &dir, hotplug));
        std::thread::sleep(Duration::from_millis(1500));
        let peer = Netns::new();
        peer.add_veth("wo0p", Some(&ns), "wo0");
        peer.add_addr("wo0p", "10.77.0.1/24");
        peer.link_up("wo0p");
        let _dhcp = slow_dhcp_server(&peer);
        racing.join().expect("race")
    });
    assert_ours_after_the_lease_theirs_before(&waiting, &dir);
}
