//! With a real systemd-networkd (and dbus-daemon) in private namespaces: run upstream's
//! systemd-networkd-wait-online and ours on the same scenario, at the same moment, and require
//! the same verdict. Every scenario runs against each upstream with its own networkd: the
//! host's 252 and, chrooted in cached roots (`tests/setup-upstreams.sh`), Debian 13's 257 and
//! Debian testing's 262 (`networkd::v257::<scenario>`).

use std::thread::{JoinHandle, sleep};
use std::time::{Duration, Instant};

use crate::common::{
    Netns, NetworkdEnv, RunResult, UPSTREAM_WAIT_ONLINE, Upstream, network, run_wait_online_bg,
    wait_online_bin,
};

const SETTLE: Duration = Duration::from_millis(500);
const STATIC: &str = "Address=10.77.0.2/24\n";

/// networkd managing `wo0` (veth to a peer namespace that is up), with `extra` in its
/// `.network`; `lo` is unmanaged.
fn managed(upstream: Upstream, extra: &str) -> (NetworkdEnv, Netns) {
    let mut env = NetworkdEnv::for_upstream(upstream);
    let peer = env.netns().add_peer();
    env.write_network("10-wo0.network", &network("wo0", extra));
    env.start_networkd();
    (env, peer)
}

/// Both binaries, started at the same moment with the same arguments.
pub(crate) struct Both {
    args: Vec<String>,
    upstream: JoinHandle<RunResult>,
    ours: JoinHandle<RunResult>,
}

impl Both {
    /// Waits for both: (upstream's run, ours).
    pub(crate) fn join(self) -> (RunResult, RunResult) {
        let upstream = self.upstream.join().unwrap();
        let ours = self.ours.join().unwrap();
        (upstream, ours)
    }
}

pub(crate) fn start_both(env: &NetworkdEnv, args: &[&str]) -> Both {
    start_both_env(env, &[], args)
}

/// [`start_both`] with environment variables `vars` for both (e.g. `SYSTEMD_LOG_LEVEL`).
pub(crate) fn start_both_env(env: &NetworkdEnv, vars: &[(&str, &str)], args: &[&str]) -> Both {
    let limit = Duration::from_secs(30);
    let cmd = |bin: &str| {
        let mut c = env.run(bin, args);
        c.envs(vars.iter().copied());
        run_wait_online_bg(c, limit)
    };
    Both {
        args: args.iter().map(|a| a.to_string()).collect(),
        upstream: cmd(UPSTREAM_WAIT_ONLINE),
        ours: cmd(wait_online_bin()),
    }
}

/// Joins both and requires both to exit with `expected`.
pub(crate) fn same_verdict(env: &NetworkdEnv, both: Both, expected: i32) -> (RunResult, RunResult) {
    let args = both.args.clone();
    let (upstream, ours) = both.join();
    assert_eq!(
        (upstream.code, ours.code),
        (Some(expected), Some(expected)),
        "{} {:?}:\n{}\nours:\n{}\n{}",
        env.upstream(),
        args,
        upstream.describe(),
        ours.describe(),
        env.logs_tail(30)
    );
    (upstream, ours)
}

pub(crate) fn compare(env: &NetworkdEnv, args: &[&str], expected: i32) -> (RunResult, RunResult) {
    let both = start_both(env, args);
    same_verdict(env, both, expected)
}

fn managed_link_with_and_without_address(upstream: Upstream) {
    let (env, _peer) = managed(upstream, STATIC);
    env.wait_for_setup_state("wo0", "configured", Duration::from_secs(10));
    compare(&env, &["-i", "wo0:routable", "--timeout=5"], 0);
    compare(&env, &["--timeout=5"], 0);
    let (env, _peer) = managed(upstream, "");
    env.wait_for_setup_state("wo0", "configured", Duration::from_secs(10));
    let (_, ours) = compare(&env, &["-i", "wo0:routable", "--timeout=1"], 1);
    assert!(
        ours.stderr
            .contains("wo0: operational state is carrier, needs routable"),
        "{}",
        ours.describe()
    );
    // Mode B: a configured but offline link does not block, but none is online (#27822).
    compare(&env, &["-o", "routable", "--timeout=1"], 1);
    compare(&env, &["--timeout=1"], 1);
    compare(&env, &["-o", "carrier", "--timeout=5"], 0);
}

fn address_from_networkctl_reload_ends_both_waits(upstream: Upstream) {
    let (env, _peer) = managed(upstream, "");
    env.wait_for_setup_state("wo0", "configured", Duration::from_secs(10));
    let both = start_both(&env, &["-i", "wo0:routable", "--timeout=15"]);
    sleep(SETTLE);
    env.write_network("10-wo0.network", &network("wo0", STATIC));
    let reloaded = Instant::now();
    env.networkctl(&["reload"]);
    let (upstream, ours) = same_verdict(&env, both, 0);
    assert!(upstream.finished >= reloaded && ours.finished >= reloaded);
}

fn foreign_address_added_while_waiting(upstream: Upstream) {
    let (env, _peer) = managed(upstream, "");
    env.wait_for_setup_state("wo0", "configured", Duration::from_secs(10));
    let both = start_both(&env, &["-i", "wo0:routable", "--timeout=15"]);
    sleep(SETTLE);
    let added = Instant::now();
    env.netns().add_addr("wo0", "10.77.0.2/24");
    let (upstream, ours) = same_verdict(&env, both, 0);
    assert!(upstream.finished >= added && ours.finished >= added);
}

fn unmanaged_links_named_with_i_and_missing_interfaces(upstream: Upstream) {
    let (env, _peer) = managed(upstream, STATIC);
    env.wait_for_setup_state("wo0", "configured", Duration::from_secs(10));
    env.wait_for_setup_state("lo", "unmanaged", Duration::from_secs(10));
    // Netplan's first line: loopback is unmanaged, named with -i, judged on its state.
    compare(
        &env,
        &["-i", "lo:carrier", "-i", "wo0:degraded", "--timeout=5"],
        0,
    );
    compare(&env, &["-i", "lo:routable", "--timeout=1"], 1);
    compare(&env, &["-i", "nosuch0:routable", "--timeout=1"], 1);
    compare(&env, &["-i", "nosuch0:missing", "--timeout=5"], 0);
    compare(
        &env,
        &["-i", "nosuch0", "-i", "wo0", "--any", "--timeout=5"],
        0,
    );
}

fn configuring_link_blocks_unless_ignored_or_any(upstream: Upstream) {
    let mut env = NetworkdEnv::for_upstream(upstream);
    let peer = Netns::new();
    env.netns().add_veth("wo0", Some(&peer), "wo0p");
    env.netns().add_veth("wo1", Some(&peer), "wo1p");
    peer.add_addr("wo0p", "10.77.0.1/24");
    for dev in ["wo0p", "wo1p"] {
        peer.link_up(dev);
    }
    env.write_network("10-wo0.network", &network("wo0", STATIC));
    // DHCP that nobody answers: wo1 stays "configuring" although it has carrier.
    env.write_network("11-wo1.network", &network("wo1", "DHCP=ipv4\n"));
    env.start_networkd();
    env.wait_for_setup_state("wo0", "configured", Duration::from_secs(10));
    env.wait_for_setup_state("wo1", "configuring", Duration::from_secs(10));
    let (_, ours) = compare(&env, &["--timeout=1"], 1);
    assert!(
        ours.stderr.contains(
            "wo1: still being configured by systemd-networkd (setup state is configuring)"
        ),
        "{}",
        ours.describe()
    );
    compare(&env, &["-i", "wo1:carrier", "--timeout=1"], 1);
    compare(&env, &["--ignore=wo1", "--timeout=5"], 0);
    compare(&env, &["--ignore=wo[0-9]", "--timeout=1"], 1);
    compare(&env, &["--any", "--timeout=5"], 0);
    compare(&env, &["-i", "wo0", "-i", "wo1", "--any", "--timeout=5"], 0);
    compare(&env, &["-i", "wo0", "-i", "wo1", "--timeout=1"], 1);
}

fn required_for_online_no_and_required_family(upstream: Upstream) {
    let mut env = NetworkdEnv::for_upstream(upstream);
    let peer = Netns::new();
    env.netns().add_veth("wo0", Some(&peer), "wo0p");
    env.netns().add_veth("wo1", Some(&peer), "wo1p");
    for dev in ["wo0p", "wo1p"] {
        peer.link_up(dev);
    }
    env.write_network(
        "10-wo0.network",
        &format!("[Match]\nName=wo0\n\n[Link]\nRequiredForOnline=no\n\n[Network]\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n{STATIC}"),
    );
    env.write_network(
        "11-wo1.network",
        "[Match]\nName=wo1\n\n[Link]\nRequiredFamilyForOnline=ipv6\n\n[Network]\nLinkLocalAddressing=no\nIPv6AcceptRA=no\nAddress=10.77.1.2/24\n",
    );
    env.start_networkd();
    env.wait_for_setup_state("wo0", "configured", Duration::from_secs(10));
    env.wait_for_setup_state("wo1", "configured", Duration::from_secs(10));
    // wo0 is not required; wo1 lacks the IPv6 address its family requirement asks for.
    compare(&env, &["--timeout=1"], 1);
    compare(&env, &["--any", "--timeout=1"], 1);
    compare(&env, &["-i", "wo0", "--timeout=5"], 0);
    compare(&env, &["-i", "wo1", "--timeout=1"], 1);
    compare(&env, &["-i", "wo1", "-4", "--timeout=5"], 0);
}

fn networkd_started_after_the_wait_began(upstream: Upstream) {
    let (mut env, _peer) = managed(upstream, STATIC);
    env.wait_for_setup_state("wo0", "configured", Duration::from_secs(10));
    env.stop_networkd();
    env.netns().del_addr("wo0", "10.77.0.2/24");
    // networkd removed its state files but left the directory: ours must be told.
    let args = ["--manager=networkd", "-i", "wo0:routable", "--timeout=15"];
    let ours = env.wait_online_bg(&args);
    sleep(SETTLE);
    let started = Instant::now();
    env.start_networkd();
    let ours = ours.join().unwrap();
    assert_eq!(
        ours.code,
        Some(0),
        "{}\n{}",
        ours.describe(),
        env.logs_tail(30)
    );
    assert!(ours.finished >= started);
    // In auto mode with networkd running, the state files are used.
    let r = env.wait_online(&["-i", "wo0:routable", "--timeout=5"]);
    assert_eq!(r.code, Some(0), "{}", r.describe());
}

against_each_upstream!(
    managed_link_with_and_without_address,
    address_from_networkctl_reload_ends_both_waits,
    foreign_address_added_while_waiting,
    unmanaged_links_named_with_i_and_missing_interfaces,
    configuring_link_blocks_unless_ignored_or_any,
    required_for_online_no_and_required_family,
    networkd_started_after_the_wait_began,
);
