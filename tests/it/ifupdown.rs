//! `--manager=ifupdown` end to end: the binary runs in private mount and network namespaces
//! (`unshare --mount --net`, as root). /etc is an overlay on the host's (the host's is never
//! written) with this test's `etc-network` bind-mounted on /etc/network; /run is a tmpfs with
//! this test's `run-network` bind-mounted on /run/network, where the test writes ifupdown
//! 0.8's state files in ifup's order. In the namespace: loopback, and the veth pair wo0
//! (routable, on an `auto` line) and wo0p (on no line). The `real_ifup_` tests run Debian's
//! own ifup (unpacked by tests/setup-deps.sh, never installed) beside Debian's
//! `/lib/ifupdown/wait-online.sh` on the same scenario: where that waiter takes "listed" for
//! "up", we wait for ifup's lock; where it polls silently to its timeout, we name the failure.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::common::{self, RunResult, TempDir, run_wait_online, run_wait_online_bg};

/// Hard limit of one run (each asks for a shorter `--timeout`).
const LIMIT: Duration = Duration::from_secs(30);

const INTERFACES: &str = "auto lo\niface lo inet loopback\nsource interfaces.d/*\n";
const INCLUDED: &str = "auto wo0\niface wo0 inet static\n address 192.0.2.1/24\n";

fn dir() -> TempDir {
    let dir = TempDir::new();
    let etc = dir.0.join("etc-network");
    std::fs::create_dir_all(etc.join("interfaces.d")).expect("etc-network");
    std::fs::write(etc.join("interfaces"), INTERFACES).expect("interfaces");
    std::fs::write(etc.join("interfaces.d/wo0"), INCLUDED).expect("included");
    std::fs::create_dir_all(dir.0.join("run-network")).expect("run-network");
    for sub in ["upper", "work"] {
        std::fs::create_dir_all(dir.0.join(sub)).expect("overlay dirs");
    }
    dir
}

fn command(dir: &TempDir, args: &[&str]) -> Command {
    command_as(dir, "--manager=ifupdown", args)
}

/// [`command`] with another `--manager=`; a `sbin` directory in `dir` is overlaid on
/// /usr/sbin (= /sbin), for an `ifup` there.
fn command_as(dir: &TempDir, manager: &str, args: &[&str]) -> Command {
    let script = r#"set -e
d=$1; shift
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$d/upper,workdir=$d/work" /etc
mkdir -p /etc/network
mount --bind "$d/etc-network" /etc/network
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir /run/network
mount --bind "$d/run-network" /run/network
if [ -d "$d/sbin" ]; then mount -t overlay overlay -o "lowerdir=$d/sbin:/usr/sbin" /usr/sbin; fi
ip link set lo up
ip link add wo0 type veth peer name wo0p
ip link set wo0p up
ip link set wo0 up
ip addr add 192.0.2.1/24 dev wo0
exec "$@""#;
    let mut command = Command::new("unshare");
    command
        .args([
            "--mount",
            "--net",
            "--propagation",
            "private",
            "sh",
            "-c",
            script,
            "sh",
        ])
        .arg(&dir.0)
        .arg(common::wait_online_bin())
        .args([manager, "-o", "routable"])
        .args(args);
    command
}

fn state(dir: &TempDir, name: &str, text: &str) {
    let run = dir.0.join("run-network");
    // ifupdown renames a temporary file into place.
    let tmp = run.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, text).expect("write state");
    std::fs::rename(&tmp, run.join(name)).expect("rename state");
}

/// The entry of `--json`'s `interfaces` named `name`.
fn interface<'j>(json: &'j serde_json::Value, name: &str) -> &'j serde_json::Value {
    json["interfaces"]
        .as_array()
        .expect("interfaces")
        .iter()
        .find(|i| i["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {json}"))
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn a_failed_ifup_is_named_with_the_interface() {
    let _root = common::require_root();
    let dir = dir();
    // ifup tried wo0 (its lock file exists) and removed it from the listing: it failed.
    state(&dir, "ifstate", "lo=lo\n");
    state(&dir, "ifstate.lo", "lo\n");
    state(&dir, "ifstate.wo0", "\n");
    let r: RunResult = run_wait_online(command(&dir, &["--timeout=2", "--json"]), LIMIT);
    assert_eq!(r.code, Some(1), "{}", r.describe());
    assert!(
        r.stderr
            .contains("wo0: ifup failed to bring it up (it exited with an error)"),
        "{}",
        r.describe()
    );
    let json: serde_json::Value = serde_json::from_str(&r.stdout).expect("JSON on stdout");
    assert_eq!(json["manager"], "ifupdown", "{}", r.stdout);
    let wo0 = interface(&json, "wo0");
    assert_eq!(
        (&wo0["outcome"], &wo0["manager"]),
        (&"failed".into(), &"ifupdown".into())
    );
    // wo0p is on no line: not ifupdown's (listed as blocking only because no link is
    // online, as upstream lists every considered link then).
    let wo0p = interface(&json, "wo0p");
    assert_eq!(wo0p["outcome"], "unmanaged", "{}", r.stdout);
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn the_wait_follows_ifups_writes_and_ends_when_it_lists_and_unlocks() {
    let _root = common::require_root();
    let dir = dir();
    state(&dir, "ifstate", "lo=lo\n");
    let waiting = run_wait_online_bg(command(&dir, &["--timeout=20"]), LIMIT);
    // The kernel alone would be online at once (wo0 is routable): ifupdown holds it.
    std::thread::sleep(Duration::from_millis(1500));
    assert!(!waiting.is_finished(), "online before ifup ran");
    state(&dir, "ifstate.wo0", "wo0\n");
    state(&dir, "ifstate", "lo=lo\nwo0=wo0\n");
    let r = waiting.join().expect("waiter");
    assert_eq!(r.code, Some(0), "{}", r.describe());
    assert!(r.elapsed < Duration::from_secs(15), "{}", r.describe());
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn auto_follows_ifupdown_where_ifup_is_installed_and_names_a_link() {
    let _root = common::require_root();
    let dir = dir();
    state(&dir, "ifstate", "lo=lo\n");
    // No /sbin/ifup (the host has none; no networkd nor NetworkManager in the namespace):
    // auto judges wo0 on kernel facts, routable at once (`--any`: wo0p, on no line and
    // without an address, is judged on kernel facts in both runs).
    assert!(
        !Path::new("/usr/sbin/ifup").exists(),
        "the host has ifupdown installed: this test shows auto without it"
    );
    let r = run_wait_online(
        command_as(&dir, "--manager=auto", &["--any", "--timeout=10"]),
        LIMIT,
    );
    assert_eq!(r.code, Some(0), "{}", r.describe());
    // With an executable /sbin/ifup, auto follows ifupdown for wo0 (on an `auto` line).
    let sbin = dir.0.join("sbin");
    std::fs::create_dir_all(&sbin).expect("sbin");
    std::fs::write(sbin.join("ifup"), "#!/bin/sh\nexit 1\n").expect("ifup");
    std::fs::set_permissions(
        sbin.join("ifup"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    let waiting = run_wait_online_bg(
        command_as(&dir, "--manager=auto", &["--any", "--timeout=20", "--json"]),
        LIMIT,
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert!(!waiting.is_finished(), "online before ifup ran");
    state(&dir, "ifstate.wo0", "wo0\n");
    state(&dir, "ifstate", "lo=lo\nwo0=wo0\n");
    let r = waiting.join().expect("waiter");
    assert_eq!(r.code, Some(0), "{}", r.describe());
    let json: serde_json::Value = serde_json::from_str(&r.stdout).expect("JSON on stdout");
    assert_eq!(json["manager"], "auto", "{}", r.stdout);
    // wo0 is ifupdown's; wo0p, on no line, is judged on kernel facts as before.
    assert_eq!(
        interface(&json, "wo0")["manager"],
        "ifupdown",
        "{}",
        r.stdout
    );
    assert_eq!(interface(&json, "wo0p")["manager"], "none", "{}", r.stdout);
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn ifupdown_defaults_are_read_from_etc_default_networking() {
    let _root = common::require_root();
    let dir = dir();
    let default = dir.0.join("upper/default");
    std::fs::create_dir_all(&default).expect("upper/default");
    let run = |text: &str| {
        std::fs::write(default.join("networking"), text).expect("default/networking");
        let defaults = "--ifupdown-defaults=/etc/default/networking";
        run_wait_online(command_as(&dir, defaults, &["--json"]), LIMIT)
    };
    // none: no wait, though ifup has not run.
    let r = run("WAIT_ONLINE_METHOD=none\n");
    assert_eq!(r.code, Some(0), "{}", r.describe());
    assert!(r.elapsed < Duration::from_secs(5), "{}", r.describe());
    state(&dir, "ifstate.wo0", "wo0\n");
    state(&dir, "ifstate", "lo=lo\nwo0=wo0\n");
    // route to an address wo0's prefix covers: online.
    let r = run("WAIT_ONLINE_METHOD=route\nWAIT_ONLINE_ADDRESS=192.0.2.0/24\n");
    assert_eq!(r.code, Some(0), "{}", r.describe());
    let json: serde_json::Value = serde_json::from_str(&r.stdout).expect("JSON on stdout");
    assert_eq!(json["manager"], "ifupdown", "{}", r.stdout);
    // route to an address nothing routes: the file's timeout (2 s) ends the wait, named.
    let r = run(
        "# as Debian ships it, then set\nexport WAIT_ONLINE_METHOD=route\n\
         WAIT_ONLINE_ADDRESS=198.51.100.7\nWAIT_ONLINE_TIMEOUT='2'\n",
    );
    assert_eq!(r.code, Some(1), "{}", r.describe());
    assert!(r.stderr.contains("198.51.100.7"), "{}", r.describe());
    assert!(
        r.elapsed >= Duration::from_secs(2) && r.elapsed < Duration::from_secs(15),
        "{}",
        r.describe()
    );
    // A line a shell would run is an error naming it.
    let r = run("WAIT_ONLINE_METHOD=route\n. /etc/other\n");
    assert_eq!(r.code, Some(1), "{}", r.describe());
    assert!(
        r.stderr
            .contains("/etc/default/networking: line 2: not NAME=VALUE"),
        "{}",
        r.describe()
    );
}

/// Debian's ifupdown, unpacked by tests/setup-deps.sh (never installed).
pub(crate) fn ifupdown_root() -> String {
    std::env::var("WAIT_ONLINE_IFUPDOWN_ROOT")
        .unwrap_or_else(|_| "/var/cache/wait-online-tests/root-ifupdown".to_string())
}

/// Runs, in the namespaces of [`command`], wait-online and Debian's
/// `/lib/ifupdown/wait-online.sh` (its default method, `ifup`), both started before the
/// real `ifup -a`; each writes its exit status and the time it ended at (`date +%s.%N`)
/// into `dir`, as does ifup.
fn race_with_real_ifup(dir: &TempDir, timeout: &str) -> RunResult {
    let root = ifupdown_root();
    assert!(
        Path::new(&root).join("sbin/ifup").exists(),
        "{root}/sbin/ifup is missing: run tests/setup-deps.sh"
    );
    for hooks in ["if-pre-up.d", "if-up.d", "if-down.d", "if-post-down.d"] {
        std::fs::create_dir_all(dir.0.join("etc-network").join(hooks)).expect("hook dir");
    }
    // Debian's waiter reads its timeout from /etc/default/networking (here in the overlay).
    let default = dir.0.join("upper/default");
    std::fs::create_dir_all(&default).expect("upper/default");
    std::fs::write(
        default.join("networking"),
        format!("WAIT_ONLINE_TIMEOUT={timeout}\n"),
    )
    .expect("default/networking");
    let race = r#"d=$1; root=$2; bin=$3; timeout=$4
export PATH="$root/sbin:$PATH"
{ "$bin" --manager=ifupdown --timeout="$timeout" >"$d/ours.out" 2>"$d/ours.err"; echo $? >"$d/ours.rc"; date +%s.%N >"$d/ours.end"; } &
{ sh "$root/lib/ifupdown/wait-online.sh" >"$d/theirs.out" 2>&1; echo $? >"$d/theirs.rc"; date +%s.%N >"$d/theirs.end"; } &
sleep 0.3
date +%s.%N >"$d/ifup.start"
ifup -a >"$d/ifup.log" 2>&1; echo $? >"$d/ifup.rc"; date +%s.%N >"$d/ifup.end"
wait"#;
    let command = command(dir, &[]);
    // Replace the program run at the end of the setup with the race.
    let args: Vec<_> = command
        .get_args()
        .map(|a| a.to_owned())
        .take_while(|a| a != common::wait_online_bin())
        .collect();
    let mut raced = Command::new("unshare");
    raced
        .args(&args)
        .args(["sh", "-c", race, "sh"])
        .arg(&dir.0)
        .arg(&root)
        .arg(common::wait_online_bin())
        .arg(timeout);
    run_wait_online(raced, LIMIT)
}

pub(crate) fn read(dir: &TempDir, name: &str) -> String {
    std::fs::read_to_string(dir.0.join(name))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .trim()
        .to_string()
}

pub(crate) fn seconds(dir: &TempDir, name: &str) -> f64 {
    read(dir, name).parse().expect("date +%s.%N")
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn real_ifup_listed_is_not_up_where_debians_waiter_stops_early() {
    let _root = common::require_root();
    let dir = dir();
    // A slow ifup: its `up` command takes 3 s, during which ifstate already lists wo0.
    std::fs::write(
        dir.0.join("etc-network/interfaces.d/wo0"),
        "auto wo0\niface wo0 inet static\n address 192.0.2.2/24\n up sleep 3\n",
    )
    .expect("config");
    let r = race_with_real_ifup(&dir, "20");
    assert!(r.success(), "{}", r.describe());
    assert_eq!(read(&dir, "ifup.rc"), "0", "{}", read(&dir, "ifup.log"));
    assert_eq!(read(&dir, "ours.rc"), "0", "{}", read(&dir, "ours.err"));
    assert_eq!(read(&dir, "theirs.rc"), "0", "{}", read(&dir, "theirs.out"));
    let start = seconds(&dir, "ifup.start");
    let ifup = seconds(&dir, "ifup.end");
    let ours = seconds(&dir, "ours.end");
    let theirs = seconds(&dir, "theirs.end");
    eprintln!(
        "ifup ran {:.3} s; ours ended {:.3} s after ifup's exit, Debian's {:.3} s",
        ifup - start,
        ours - ifup,
        theirs - ifup
    );
    // ifup held the lock until its commands (3 s) ended: we waited for that. (It releases
    // the lock just before it exits: ours may end a hair before its exit is noted.)
    assert!(ours >= start + 3.0, "ours {ours}, ifup started {start}");
    // Debian's ifup method took "listed" for "up", while the `up` command still ran.
    assert!(
        theirs < start + 2.5,
        "Debian's {theirs}, ifup started {start}"
    );
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn real_ifup_failure_is_named_where_debians_waiter_polls_silently() {
    let _root = common::require_root();
    let dir = dir();
    // A pre-up command that fails: ifup fails on wo0 and removes it from ifstate.
    std::fs::write(
        dir.0.join("etc-network/interfaces.d/wo0"),
        "auto wo0\niface wo0 inet static\n address 192.0.2.2/24\n pre-up false\n",
    )
    .expect("config");
    let r = race_with_real_ifup(&dir, "3");
    assert!(r.success(), "{}", r.describe());
    assert_ne!(read(&dir, "ifup.rc"), "0", "{}", read(&dir, "ifup.log"));
    assert_eq!(read(&dir, "ours.rc"), "1");
    // Debian's waiter polls `ifquery --state` to its timeout and says nothing.
    assert_eq!(read(&dir, "theirs.rc"), "1");
    assert_eq!(read(&dir, "theirs.out"), "");
    assert!(
        read(&dir, "ours.err")
            .contains("wo0: ifup failed to bring it up (it exited with an error)"),
        "{}",
        read(&dir, "ours.err")
    );
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn real_ifup_an_auto_interface_it_creates_is_waited_for() {
    let _root = common::require_root();
    let dir = dir();
    // wo0 comes up at once; wo1, on the next `auto` line, does not exist until ifup's
    // pre-up command makes it (as ifup makes bridges and VLANs), 2 s later.
    std::fs::write(
        dir.0.join("etc-network/interfaces.d/wo0"),
        "auto wo0\niface wo0 inet static\n address 192.0.2.2/24\n\n\
         auto wo1\niface wo1 inet static\n address 198.51.100.1/24\n \
         pre-up sleep 2\n pre-up ip link add wo1 type veth peer name wo1p\n \
         pre-up ip link set wo1p up\n",
    )
    .expect("config");
    let r = race_with_real_ifup(&dir, "20");
    assert!(r.success(), "{}", r.describe());
    assert_eq!(read(&dir, "ifup.rc"), "0", "{}", read(&dir, "ifup.log"));
    assert_eq!(read(&dir, "ours.rc"), "0", "{}", read(&dir, "ours.err"));
    let start = seconds(&dir, "ifup.start");
    let ifup = seconds(&dir, "ifup.end");
    let ours = seconds(&dir, "ours.end");
    eprintln!(
        "ifup ran {:.3} s; ours ended {:.3} s after ifup's exit",
        ifup - start,
        ours - ifup
    );
    // Not at wo0 (up within a second): once ifup had made and brought up wo1.
    assert!(ours >= start + 2.0, "ours {ours}, ifup started {start}");
    assert!(ours > ifup - 0.5, "ours {ours}, ifup's exit {ifup}");
}
