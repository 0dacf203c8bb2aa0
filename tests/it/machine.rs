//! What is odd about the machine (issue 21 item 4), against a real systemd-networkd and the
//! real kernel in private namespaces: both wait-online units enabled while networkd manages no
//! link, the manager followed managing nothing, and in a container (`/run/systemd/container`
//! in a private /run) a link the host configured and an IPv6 address still tentative. Each
//! beside its control, where it must not be said. The units are "enabled" through the
//! runtime unit directory (/run/systemd/system) of the private /run, the host's /etc is
//! never written.

use std::os::unix::fs::symlink;
use std::path::Path;
use std::time::Duration;

use crate::common::networkmanager::{DEVICE_STATE_UNMANAGED, NmEnv};
use crate::common::{self, Netns, NetworkdEnv, RunResult, network, run_wait_online};
use crate::pitfalls::{pitfall_objects, sysctl, wait_for_carrier};

const NETWORKD_WAITER: &str = "systemd-networkd-wait-online.service";
const NM_WAITER: &str = "NetworkManager-wait-online.service";
const SETTLE: Duration = Duration::from_secs(10);

/// `--json`'s pitfalls as (kind, interface; `None` when null).
fn json_pitfalls(r: &RunResult) -> Vec<(String, Option<String>)> {
    pitfall_objects(r)
        .iter()
        .map(|p| {
            let kind = p["kind"].as_str().unwrap_or_else(|| panic!("kind in {p}"));
            (kind.to_owned(), p["interface"].as_str().map(str::to_owned))
        })
        .collect()
}

/// The pitfalls of the new kinds only (the others, about routes, are not this test's).
fn machine_pitfalls(r: &RunResult) -> Vec<(String, Option<String>)> {
    const KINDS: [&str; 4] = [
        "two-waiters",
        "manager-manages-nothing",
        "container-host-link",
        "container-tentative-ipv6",
    ];
    json_pitfalls(r)
        .into_iter()
        .filter(|(kind, _)| KINDS.contains(&kind.as_str()))
        .collect()
}

/// How many stderr lines (the journal's, run by hand) start with `start`.
fn said(r: &RunResult, start: &str) -> usize {
    r.stderr.lines().filter(|l| l.starts_with(start)).count()
}

fn pitfall(kind: &str, interface: Option<&str>) -> (String, Option<String>) {
    (kind.to_owned(), interface.map(str::to_owned))
}

/// `unit` enabled at runtime (`systemctl enable --runtime`'s link) under `run`, a holder's
/// private /run as the host sees it.
fn enable_at_runtime(run: &Path, unit: &str) {
    let wants = run.join("systemd/system/network-online.target.wants");
    std::fs::create_dir_all(&wants).unwrap();
    symlink(format!("/lib/systemd/system/{unit}"), wants.join(unit)).unwrap();
}

/// `systemctl mask --runtime unit`'s link under `run`.
fn mask_at_runtime(run: &Path, unit: &str) {
    symlink("/dev/null", run.join(format!("systemd/system/{unit}"))).unwrap();
}

/// Compared with networkd's own files (wo0 `unmanaged`, no .network matches it) and with
/// what upstream's waiter would do there (time out: it has nothing to wait for): with no
/// waiter enabled, "manages nothing"; with both enabled, "two waiters" instead (once, on
/// stderr as in the journal, and in --json with a null interface); with NetworkManager's
/// masked, "manages nothing" again; once networkd manages wo0, nothing.
#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn two_waiters_while_networkd_manages_no_link() {
    let _root = common::require_root();
    let mut env = NetworkdEnv::new();
    let _peer = env.netns().add_peer();
    env.netns().link_up("wo0");
    env.start_networkd();
    env.wait_for_setup_state("wo0", "unmanaged", SETTLE);
    env.wait_for_setup_state("lo", "unmanaged", SETTLE);
    let run = || {
        let r = env.wait_online(&["--manager=networkd", "--timeout=2", "--json"]);
        env.assert_code(&r, 1);
        r
    };
    let nothing = "systemd-networkd manages none of the 1 link here (loopback aside)";
    let two = "systemd-networkd-wait-online.service and NetworkManager-wait-online.service are \
               both enabled, and systemd-networkd manages no link";

    let r = run();
    assert_eq!(said(&r, nothing), 1, "{}", r.describe());
    assert_eq!(said(&r, two), 0, "{}", r.describe());
    assert_eq!(
        machine_pitfalls(&r),
        [pitfall("manager-manages-nothing", None)]
    );

    let holder_run = env.holder_path("/run");
    enable_at_runtime(&holder_run, NETWORKD_WAITER);
    enable_at_runtime(&holder_run, NM_WAITER);
    let r = run();
    assert_eq!(said(&r, two), 1, "{}", r.describe());
    assert_eq!(
        said(&r, nothing),
        0,
        "said once, as two waiters: {}",
        r.describe()
    );
    assert_eq!(machine_pitfalls(&r), [pitfall("two-waiters", None)]);

    mask_at_runtime(&holder_run, NM_WAITER);
    let r = run();
    assert_eq!(said(&r, two), 0, "{}", r.describe());
    assert_eq!(said(&r, nothing), 1, "{}", r.describe());

    env.write_network("10-wo0.network", &network("wo0", "Address=10.77.0.2/24\n"));
    env.networkctl(&["reload"]);
    env.wait_for_setup_state("wo0", "configured", SETTLE);
    let r = env.wait_online(&["--manager=networkd", "--timeout=10", "--json"]);
    env.assert_code(&r, 0);
    assert_eq!(machine_pitfalls(&r), [], "{}", r.describe());
    assert!(!r.stderr.contains("manages no"), "{}", r.describe());
}

/// Compared with who configured each link: networkd in the "container" configures wo0 from
/// its .network; the test (the host's part) put 10.78.0.2/24 on wo1, which networkd leaves
/// `unmanaged`. In a container wo1 is named, once; on a host (no /run/systemd/container),
/// nothing is said.
#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn a_link_the_host_configured_is_named_in_a_container() {
    let _root = common::require_root();
    let mut env = NetworkdEnv::new();
    let _peer = env.netns().add_peer();
    let other = Netns::new();
    env.netns().add_veth("wo1", Some(&other), "wo1p");
    other.link_up("wo1p");
    env.netns().add_addr("wo1", "10.78.0.2/24");
    env.netns().link_up("wo1");
    env.write_network("10-wo0.network", &network("wo0", "Address=10.77.0.2/24\n"));
    env.start_networkd();
    env.wait_for_setup_state("wo0", "configured", SETTLE);
    env.wait_for_setup_state("wo1", "unmanaged", SETTLE);
    let container = env.holder_path("/run/systemd/container");
    std::fs::write(&container, "systemd-nspawn\n").unwrap();

    let words = "wo1: in a container (systemd-nspawn), wo1 has addresses while systemd-networkd \
                 in the container does not manage it";
    let r = env.wait_online(&["--manager=networkd", "--timeout=10", "--json"]);
    env.assert_code(&r, 0);
    assert_eq!(said(&r, words), 1, "{}", r.describe());
    assert_eq!(
        machine_pitfalls(&r),
        [pitfall("container-host-link", Some("wo1"))]
    );

    std::fs::remove_file(&container).unwrap();
    let r = env.wait_online(&["--manager=networkd", "--timeout=10", "--json"]);
    env.assert_code(&r, 0);
    assert_eq!(machine_pitfalls(&r), [], "{}", r.describe());
    assert!(!r.stderr.contains("in a container"), "{}", r.describe());
}

/// `wait-online --manager=none ARGS` in `ns`, in a private mount namespace with a tmpfs on
/// /run (the host's /run is untouched: the mount is private to that namespace) that holds
/// /run/systemd/container naming `container`, or nothing (a host, whatever the machine
/// running the tests is).
fn wait_online_in(ns: &Netns, container: Option<&str>, args: &[&str]) -> RunResult {
    let script = "mount -t tmpfs -o mode=0755 tmpfs /run && mkdir -p /run/systemd && \
                  if [ -n \"$WOT_CONTAINER\" ]; then \
                  printf '%s\\n' \"$WOT_CONTAINER\" > /run/systemd/container; fi && exec \"$@\"";
    let mut all = vec![
        "-m",
        "--propagation",
        "private",
        "sh",
        "-c",
        script,
        "sh",
        common::wait_online_bin(),
        "--manager=none",
    ];
    all.extend_from_slice(args);
    let mut cmd = ns.exec("unshare", &all);
    cmd.env("WOT_CONTAINER", container.unwrap_or(""));
    run_wait_online(cmd, Duration::from_secs(20))
}

/// Compared with the kernel's own flags (`ip -6 address` says `tentative` before and after
/// the wait: DAD takes twenty probes a second apart): host0 is online on IPv4 at once while
/// 2001:db8:9::2/64 is tentative. In a container it is named as such (systemd/systemd#39784),
/// once; on a host, under five seconds, nothing is said (still-tentative waits 5 s).
#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn a_tentative_ipv6_address_in_a_container_is_named() {
    let _root = common::require_root();
    let a = Netns::new();
    let b = Netns::new();
    a.add_veth("host0", Some(&b), "ve-test");
    b.ip(&["addr", "add", "2001:db8:9::1/64", "dev", "ve-test", "nodad"]);
    b.link_up("ve-test");
    sysctl(&a, "net.ipv6.conf.host0.accept_dad=1");
    sysctl(&a, "net.ipv6.conf.host0.dad_transmits=20");
    sysctl(&a, "net.ipv6.neigh.host0.retrans_time_ms=1000");
    a.add_addr("host0", "10.79.0.2/24");
    a.link_up("host0");
    wait_for_carrier(&a, "host0");
    a.ip(&["addr", "add", "2001:db8:9::2/64", "dev", "host0"]);
    let tentative = || {
        a.ip(&["-6", "addr", "show", "dev", "host0"])
            .lines()
            .any(|l| l.contains("2001:db8:9::2/64") && l.contains("tentative"))
    };
    assert!(tentative(), "{}", a.ip(&["-6", "addr"]));

    let words = "host0: in a container (systemd-nspawn), 2001:db8:9::2/64 is still tentative";
    let r = wait_online_in(&a, Some("systemd-nspawn"), &["-i", "host0", "--json"]);
    assert_eq!(r.code, Some(0), "{}", r.describe());
    assert_eq!(said(&r, words), 1, "{}", r.describe());
    assert_eq!(
        machine_pitfalls(&r),
        [pitfall("container-tentative-ipv6", Some("host0"))]
    );
    assert!(
        json_pitfalls(&r)
            .iter()
            .all(|(kind, _)| kind != "still-tentative"),
        "{}",
        r.stdout
    );
    // With --explain, its view says it, and the log does not say it a second time.
    let explained = wait_online_in(&a, Some("systemd-nspawn"), &["-i", "host0", "--explain"]);
    assert_eq!(explained.code, Some(0), "{}", explained.describe());
    let summary = explained
        .stderr
        .split("; summary:")
        .nth(1)
        .unwrap_or_else(|| panic!("no summary: {}", explained.describe()));
    assert!(
        summary.contains(&format!("warning: {words}")),
        "{}",
        explained.describe()
    );
    // Every line that says it is the view's (live and summary), none the log's.
    assert!(
        explained
            .stderr
            .lines()
            .filter(|l| l.contains(words))
            .all(|l| l.starts_with("warning: ")),
        "{}",
        explained.describe()
    );
    let host = wait_online_in(&a, None, &["-i", "host0", "--json"]);
    assert_eq!(host.code, Some(0), "{}", host.describe());
    assert_eq!(machine_pitfalls(&host), [], "{}", host.describe());
    assert!(!host.stderr.contains("tentative"), "{}", host.describe());
    assert!(
        tentative(),
        "DAD ended during the test: the comparison says nothing"
    );
}

/// Compared with NetworkManager's own view (`wo0` unmanaged by its configuration, `Startup`
/// over; the test put 10.77.0.2/24 on wo0, as a container's host would): in a container,
/// `--manager=networkmanager` says it manages nothing and names wo0 as the host's; with both
/// waiters enabled, "two waiters" (NetworkManager idle) instead, for `--manager=auto` too
/// (networkd does not run here: only NetworkManager's side is known).
#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn networkmanager_managing_nothing_in_a_container() {
    let _root = common::require_root();
    let mut env = NmEnv::new();
    let peer = Netns::new();
    env.netns().add_veth("wo0", Some(&peer), "wo0p");
    peer.link_up("wo0p");
    env.netns().add_addr("wo0", "10.77.0.2/24");
    env.netns().link_up("wo0");
    env.set_unmanaged("wo0");
    env.start_networkmanager();
    env.wait_for_startup_complete(SETTLE);
    assert_eq!(env.device_state("wo0"), Some(DEVICE_STATE_UNMANAGED));
    let holder_run = env.holder_path("/run");
    std::fs::create_dir_all(holder_run.join("systemd")).unwrap();
    std::fs::write(holder_run.join("systemd/container"), "lxc\n").unwrap();
    let run = |manager: &str| {
        let r = run_wait_online(
            env.run(
                common::wait_online_bin(),
                &[manager, "-o", "routable", "--timeout=2", "--json"],
            ),
            Duration::from_secs(20),
        );
        assert_eq!(r.code, Some(1), "nothing to wait for: {}", r.describe());
        r
    };
    let host_link = "wo0: in a container (lxc), wo0 has addresses while NetworkManager in the \
                     container does not manage it";

    let r = run("--manager=networkmanager");
    assert_eq!(
        said(&r, "NetworkManager manages none of the 1 link here"),
        1,
        "{}",
        r.describe()
    );
    assert_eq!(said(&r, host_link), 1, "{}", r.describe());
    assert_eq!(
        machine_pitfalls(&r),
        [
            pitfall("manager-manages-nothing", None),
            pitfall("container-host-link", Some("wo0")),
        ]
    );

    enable_at_runtime(&holder_run, NETWORKD_WAITER);
    enable_at_runtime(&holder_run, NM_WAITER);
    let two = "systemd-networkd-wait-online.service and NetworkManager-wait-online.service are \
               both enabled, and NetworkManager manages no device";
    for manager in ["--manager=networkmanager", "--manager=auto"] {
        let r = run(manager);
        assert_eq!(said(&r, two), 1, "{manager}: {}", r.describe());
        assert_eq!(
            machine_pitfalls(&r),
            [
                pitfall("two-waiters", None),
                pitfall("container-host-link", Some("wo0")),
            ],
            "{manager}"
        );
    }
}
