//! Self-tests of the integration-test infrastructure (tests/it/common), using the real upstream
//! systemd-networkd-wait-online as the program under test.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::{self, Netns, NetworkdEnv, UPSTREAM_WAIT_ONLINE, Upstream, run_wait_online};

/// env + peer netns, veth wo0 (env) <-> wo0p (peer, 10.77.0.1/24, up); networkd NOT started.
fn env_with_peer(network_extra: &str) -> (NetworkdEnv, Netns) {
    let env = NetworkdEnv::new();
    let peer = env.netns().add_peer();
    env.write_network("10-wo0.network", &common::network("wo0", network_extra));
    (env, peer)
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn kernel_only_netns_veth_addresses_and_teardown() {
    let _root = common::require_root();
    let a = Netns::new();
    let b = Netns::new();
    let (na, nb) = (a.name().to_owned(), b.name().to_owned());
    assert_ne!(na, nb);
    a.add_veth("wv0", Some(&b), "wv1");
    a.add_addr("wv0", "10.78.0.1/24");
    b.add_addr("wv1", "10.78.0.2/24");
    a.add_addr("wv0", "fd00:78::1/64");
    a.link_up("wv0");
    b.link_up("wv1");

    let j = a.ip(&["-j", "addr", "show", "dev", "wv0"]);
    assert!(j.contains(r#""local":"10.78.0.1","prefixlen":24"#), "{j}");
    assert!(j.contains(r#""local":"fd00:78::1","prefixlen":64"#), "{j}");
    let j = b.ip(&["-j", "addr"]);
    assert!(j.contains(r#""local":"10.78.0.2","prefixlen":24"#), "{j}");
    assert!(!j.contains("10.78.0.1"), "{j}");
    let global = |ns: &Netns, dev: &str| -> Vec<String> {
        ns.addrs(dev)
            .into_iter()
            .filter(|a| !a.starts_with("fe80:"))
            .collect()
    };
    assert_eq!(global(&a, "wv0"), ["10.78.0.1/24", "fd00:78::1/64"]);

    // exec/output really run inside the netns (and see its sysfs)
    let r = a.output("cat", &["/sys/class/net/wv0/ifindex"]);
    assert!(r.success(), "{}", r.describe());
    assert_eq!(r.stdout.trim().parse::<u32>().unwrap(), a.ifindex("wv0"));

    a.del_addr("wv0", "10.78.0.1/24");
    assert_eq!(global(&a, "wv0"), ["fd00:78::1/64"]);
    a.set_name("wv0", "wv9");
    a.link_down("wv9");
    assert!(a.ip(&["-br", "link"]).contains("wv9"));

    // bridge + stacked device in one netns
    a.add_veth("bp0", None, "bp1");
    a.add_bridge("wbr0", &["bp0"]);
    a.add_macvlan("bp1", "mv0");
    a.link_up("wbr0");
    let l = a.ip(&["-br", "link"]);
    assert!(l.contains("wbr0") && l.contains("mv0@bp1"), "{l}");
    assert!(
        a.ip(&["-d", "link", "show", "dev", "bp0"])
            .contains("master wbr0")
    );

    // the probe for device kinds (bond and vlan: kernel::bond_losing_and_regaining_a_port and
    // kernel::vlan_on_veth, ignored where the kernel lacks them)
    assert!(common::kernel_supports("veth") && common::kernel_supports("bridge"));
    assert!(!common::kernel_supports("no-such-kind"));

    // a process left running in the netns is killed by Drop
    let mut child = a.spawn("sleep", &["600"]);
    let pid = child.id() as i32;
    assert!(common::wait_until(
        Duration::from_secs(5),
        Duration::from_millis(5),
        || a.pids().contains(&pid)
    ));
    drop(a);
    drop(b);
    let st = child
        .try_wait()
        .expect("wait")
        .expect("sleep killed by Netns::drop");
    assert!(!st.success());
    common::assert_gone(&na, &[pid]);
    common::assert_gone(&nb, &[]);
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn networkd_env_upstream_routable_with_static_address() {
    let _root = common::require_root();
    let (mut env, peer) = env_with_peer("Address=10.77.0.2/24\n");
    env.start_networkd();
    let r = run_wait_online(
        env.run(
            UPSTREAM_WAIT_ONLINE,
            &["-i", "wo0:routable", "--timeout=10"],
        ),
        Duration::from_secs(20),
    );
    assert_eq!(r.code, Some(0), "{}\n{}", r.describe(), env.logs_tail(40));
    assert!(r.elapsed < Duration::from_secs(5), "{}", r.describe());

    env.wait_for_setup_state("wo0", "configured", Duration::from_secs(10));
    assert_eq!(
        env.link_state_value("wo0", "OPER_STATE").as_deref(),
        Some("routable")
    );
    assert!(
        env.netns()
            .addrs("wo0")
            .contains(&"10.77.0.2/24".to_owned())
    );
    let list = env.networkctl(&["list"]);
    assert!(list.contains("wo0") && list.contains("routable"), "{list}");
    // the private /etc/systemd/network is what networkd sees
    let r = env.output("ls", &["/etc/systemd/network"]);
    assert_eq!(r.stdout.trim(), "10-wo0.network", "{}", r.describe());

    // stop/start networkd again
    env.stop_networkd();
    assert!(!env.networkd_running());
    env.start_networkd();
    env.wait_for_setup_state("wo0", "configured", Duration::from_secs(10));

    let name = env.netns().name().to_owned();
    let mut pids = env.netns().pids();
    pids.push(env.holder_pid());
    assert!(
        pids.len() >= 4,
        "holder, dbus, networkd, nsenters: {pids:?}"
    );
    drop(peer);
    drop(env);
    common::assert_gone(&name, &pids);
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn networkd_env_upstream_times_out_without_address() {
    let _root = common::require_root();
    let (mut env, _peer) = env_with_peer("");
    env.start_networkd();
    env.wait_for_setup_state("wo0", "configured", Duration::from_secs(10));
    let r = run_wait_online(
        env.run(UPSTREAM_WAIT_ONLINE, &["-i", "wo0:routable", "--timeout=2"]),
        Duration::from_secs(15),
    );
    assert_eq!(r.code, Some(1), "{}\n{}", r.describe(), env.logs_tail(40));
    assert!(
        r.stderr
            .contains("Timeout occurred while waiting for network connectivity."),
        "{}",
        r.describe()
    );
    assert!(
        r.elapsed >= Duration::from_millis(1900) && r.elapsed < Duration::from_secs(6),
        "{}",
        r.describe()
    );
    assert_eq!(
        env.link_state_value("wo0", "OPER_STATE").as_deref(),
        Some("carrier")
    );
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn run_wait_online_enforces_deadline() {
    let _root = common::require_root();
    // plain command
    let mut c = Command::new("sh");
    c.args(["-c", "echo out; echo err >&2; exec sleep 30"]);
    let r = run_wait_online(c, Duration::from_millis(300));
    assert!(
        r.timed_out && r.code.is_none() && r.signal == Some(9),
        "{}",
        r.describe()
    );
    assert!(r.elapsed < Duration::from_secs(3), "{}", r.describe());
    assert_eq!((r.stdout.as_str(), r.stderr.as_str()), ("out\n", "err\n"));

    // through nsenter into the holder: the forked child inside the PID ns must die too
    let env = NetworkdEnv::new();
    let r = run_wait_online(env.run("sleep", &["30"]), Duration::from_millis(300));
    assert!(
        r.timed_out && r.elapsed < Duration::from_secs(3),
        "{}",
        r.describe()
    );
    assert!(common::wait_until(
        Duration::from_secs(3),
        Duration::from_millis(10),
        || {
            let ps = env.output("ps", &["-eo", "comm="]);
            !ps.stdout.lines().any(|l| l.trim() == "sleep")
        }
    ));
    let r = run_wait_online(env.run("sh", &["-c", "exit 7"]), Duration::from_secs(10));
    assert_eq!(r.code, Some(7), "{}", r.describe());
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn networkd_env_is_torn_down_when_the_test_panics() {
    let _root = common::require_root();
    let mut seen = None;
    let mut bg = None;
    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let (mut env, _peer) = env_with_peer("");
        env.start_networkd();
        let mut pids = env.netns().pids();
        pids.push(env.holder_pid());
        seen = Some((env.netns().name().to_owned(), pids));
        // a background command inside the holder that would outlive a sloppy teardown
        bg = Some(env.run("sleep", &["600"]).spawn().unwrap());
        panic!("deliberate panic inside a NetworkdEnv test");
    }));
    assert!(res.is_err());
    let (name, pids) = seen.expect("env was set up");
    common::assert_gone(&name, &pids);
    // its host-side nsenter exited (killed with the PID namespace); reap it
    let st = bg.unwrap().try_wait().unwrap();
    assert!(st.is_some_and(|s| !s.success()), "{st:?}");
}

/// A chrooted upstream: its own daemons and tools run (networkctl works: the holder is
/// chrooted too), ours runs inside as well, and nothing is left behind: no netns, temp dir,
/// process, or mount on the host (the overlay lives only in the holder's mount namespace).
fn chrooted_upstream_runs_its_own_binaries_and_leaves_nothing(upstream: Upstream) {
    let t0 = Instant::now();
    let mut env = NetworkdEnv::for_upstream_with_resolved(upstream);
    let ready = t0.elapsed();
    let peer = env.netns().add_peer();
    env.write_network(
        "10-wo0.network",
        &common::network("wo0", "Address=10.77.0.2/24\nDNS=10.77.0.1\n"),
    );
    env.start_resolved();
    env.start_networkd();
    eprintln!(
        "{upstream}: holder + bus in {ready:?}, + resolved + networkd in {:?}",
        t0.elapsed()
    );
    let version = format!("systemd {} (", upstream.major());
    for tool in [UPSTREAM_WAIT_ONLINE, "networkctl", "resolvectl", "busctl"] {
        let r = env.output(tool, &["--version"]);
        assert!(
            r.success() && r.stdout.starts_with(&version),
            "{tool} --version in the {upstream} root: {}",
            r.describe()
        );
    }
    env.wait_for_setup_state("wo0", "configured", Duration::from_secs(10));
    let list = env.networkctl(&["list"]);
    assert!(list.contains("wo0") && list.contains("routable"), "{list}");
    env.wait_for_link_dns("wo0", "10.77.0.1", Duration::from_secs(10));
    let r = env.wait_online(&["-i", "wo0:routable", "--dns", "--timeout=10"]);
    env.assert_code(&r, 0);

    let name = env.netns().name().to_owned();
    let mut pids = env.netns().pids();
    pids.push(env.holder_pid());
    drop(peer);
    drop(env);
    common::assert_gone(&name, &pids);
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    assert!(
        !mounts.contains(&name),
        "mounts of {name} left on the host:\n{mounts}"
    );
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn chrooted_upstream_257_runs_its_own_binaries_and_leaves_nothing() {
    let _root = common::require_root();
    chrooted_upstream_runs_its_own_binaries_and_leaves_nothing(Upstream::V257);
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn chrooted_upstream_262_runs_its_own_binaries_and_leaves_nothing() {
    let _root = common::require_root();
    chrooted_upstream_runs_its_own_binaries_and_leaves_nothing(Upstream::V262);
}
