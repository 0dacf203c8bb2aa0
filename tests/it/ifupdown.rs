//! `--manager=ifupdown` end to end: the binary runs in private mount and network namespaces
//! (`unshare --mount --net`, as root). /etc is an overlay on the host's (the host's is never
//! written) with this test's `etc-network` bind-mounted on /etc/network; /run is a tmpfs with
//! this test's `run-network` bind-mounted on /run/network, where the test writes ifupdown
//! 0.8's state files in ifup's order. In the namespace: loopback, and the veth pair wo0
//! (routable, on an `auto` line) and wo0p (on no line). Runs with Debian's real ifup are
//! still to come (see the report of issue 21).

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
    let script = r#"set -e
d=$1; shift
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$d/upper,workdir=$d/work" /etc
mkdir -p /etc/network
mount --bind "$d/etc-network" /etc/network
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir /run/network
mount --bind "$d/run-network" /run/network
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
        .args(["--manager=ifupdown", "-o", "routable"])
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
    let wo0 = json["interfaces"]
        .as_array()
        .expect("interfaces")
        .iter()
        .find(|i| i["name"] == "wo0")
        .expect("wo0");
    assert_eq!(
        (&wo0["outcome"], &wo0["manager"]),
        (&"failed".into(), &"ifupdown".into())
    );
    // wo0p is on no line: not ifupdown's (listed as blocking only because no link is
    // online, as upstream lists every considered link then).
    let wo0p = json["interfaces"]
        .as_array()
        .expect("interfaces")
        .iter()
        .find(|i| i["name"] == "wo0p")
        .expect("wo0p");
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
