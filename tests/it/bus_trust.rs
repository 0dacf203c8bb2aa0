//! Forged D-Bus signals from a local unprivileged user change nothing (issue 18): against the
//! real NetworkManager 1.42.4 and the real systemd-resolved 252 on a private system bus with
//! the stock policy, `busctl emit --destination=<wait-online's unique name>` run as nobody
//! (`common::forge`). NetworkManager's own `nm-online -s` on the same bus, which follows the
//! owner's unique name (GLib with the CVE-2024-34397 fix), is the reference: it is not fooled.
//!
//! ```text
//! holder: private bus, NetworkManager (wo0: DHCP that never comes, plus a static address)
//!   wait-online ×3, nm-online -s      <-- unicast PropertiesChanged / InterfacesAdded
//!                                          from uid 65534 (a signal any user may send)
//! ```

use std::time::{Duration, Instant};

use crate::common::forge::{
    Forged, RunIn, emit_as_nobody, memory_kib, pids_in_holder, wait_for_connections,
};
use crate::common::networkmanager::{DEVICE_STATE_IP_CONFIG, NmEnv, dhcp_profile, nm_online_bin};
use rustix::process::Signal;

use crate::common::{
    self, Netns, RunResult, kill, run_wait_online_bg, wait_online_bin, wait_until,
};

const ACTIVATE: Duration = Duration::from_secs(10);
const NM: &str = "/org/freedesktop/NetworkManager";
const NM_IFACE: &str = "org.freedesktop.NetworkManager";
const DEVICE_IFACE: &str = "org.freedesktop.NetworkManager.Device";
const ACTIVE_IFACE: &str = "org.freedesktop.NetworkManager.Connection.Active";
const FAKE_DEVICE: &str = "/org/freedesktop/NetworkManager/Devices/9999";
const FAKE_ACTIVE: &str = "/org/freedesktop/NetworkManager/ActiveConnection/9999";

/// NetworkManager with wo0 activating: DHCP (no server, so it never ends) plus a static
/// address the kernel already has, so that kernel facts alone would say routable.
fn activating() -> (NmEnv, Netns) {
    let mut env = NmEnv::new();
    let peer = env.netns().add_peer();
    env.write_profile("wo0", &dhcp_profile("wo0", &["10.77.0.2/24"]));
    env.start_networkmanager();
    env.wait_for_device_state("wo0", DEVICE_STATE_IP_CONFIG, ACTIVATE);
    assert!(
        wait_until(ACTIVATE, Duration::from_millis(50), || env
            .netns()
            .addrs("wo0")
            .iter()
            .any(|a| a == "10.77.0.2/24")),
        "the static address did not reach the kernel"
    );
    (env, peer)
}

/// Everything that would say "wo0 is activated, startup is over" if it were believed: the
/// manager's, the device's and the active connection's properties, and a new device in
/// state 100 with its own activated connection.
fn forged_online(device: &str, active: &str) -> Vec<Forged> {
    vec![
        Forged::properties_changed(
            NM,
            NM_IFACE,
            &[
                ("State", "u", "70"),
                ("Startup", "b", "false"),
                ("Connectivity", "u", "4"),
                ("ConnectivityCheckEnabled", "b", "true"),
                ("ConnectivityCheckAvailable", "b", "true"),
            ],
        ),
        Forged::properties_changed(device, DEVICE_IFACE, &[("State", "u", "100")]),
        Forged::properties_changed(
            active,
            ACTIVE_IFACE,
            &[("State", "u", "2"), ("StateFlags", "u", "28")],
        ),
        Forged::new(
            "/org/freedesktop",
            "org.freedesktop.DBus.ObjectManager",
            "InterfacesAdded",
            "oa{sa{sv}}",
            &[
                FAKE_ACTIVE,
                "1",
                ACTIVE_IFACE,
                "2",
                "State",
                "u",
                "2",
                "StateFlags",
                "u",
                "28",
            ],
        ),
        Forged::new(
            "/org/freedesktop",
            "org.freedesktop.DBus.ObjectManager",
            "InterfacesAdded",
            "oa{sa{sv}}",
            &[
                FAKE_DEVICE,
                "1",
                DEVICE_IFACE,
                "6",
                "Interface",
                "s",
                "wo0",
                "IpInterface",
                "s",
                "wo0",
                "State",
                "u",
                "100",
                "Managed",
                "b",
                "true",
                "Real",
                "b",
                "true",
                "ActiveConnection",
                "o",
                FAKE_ACTIVE,
            ],
        ),
        // And a NameOwnerChanged that is not from the bus: "NetworkManager restarted".
        Forged::name_owner_changed(NM_IFACE, "", ":1.9999"),
    ]
}

fn waiter(env: &NmEnv, args: &[&str], limit: Duration) -> std::thread::JoinHandle<RunResult> {
    let mut cmd = env.run("env", &["SYSTEMD_LOG_LEVEL=debug", wait_online_bin()]);
    cmd.args(args);
    run_wait_online_bg(cmd, limit)
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn forged_networkmanager_signals_from_nobody_do_not_make_it_online() {
    let _root = common::require_root();
    let (env, _peer) = activating();
    let device = env.device_path("wo0").expect("wo0's device object");
    let active = env
        .active_connection("wo0")
        .expect("wo0's active connection");
    let limit = Duration::from_secs(40);
    let waiters = [
        waiter(
            &env,
            &[
                "--manager=networkmanager",
                "-i",
                "wo0:routable",
                "--timeout=8",
            ],
            limit,
        ),
        waiter(&env, &["-i", "wo0:routable", "--timeout=8"], limit),
        waiter(&env, &["--manager=networkmanager", "--timeout=8"], limit),
        // A forged Connectivity=4 (FULL) must not make the Internet work either.
        waiter(
            &env,
            &[
                "--manager=networkmanager",
                "-i",
                "wo0:routable",
                "--require-connectivity",
                "--timeout=8",
            ],
            limit,
        ),
    ];
    let nm_online = run_wait_online_bg(env.run(&nm_online_bin(), &["-s", "-q", "-t", "8"]), limit);
    let run: RunIn<'_> = &|cmd, args| env.run(cmd, args);
    let mut names = wait_for_connections(run, "wait-online", 4, Duration::from_secs(5));
    names.extend(wait_for_connections(
        run,
        "nm-online",
        1,
        Duration::from_secs(5),
    ));
    let t0 = Instant::now();
    // Again and again for 3 s: whatever each waiter is doing (connecting, reading the
    // objects, following), the forged signals reach it.
    let signals = forged_online(&device, &active);
    let mut rounds = 0;
    while t0.elapsed() < Duration::from_secs(3) {
        emit_as_nobody(run, "", &signals, &names, 1, Duration::from_secs(20));
        rounds += 1;
        std::thread::sleep(Duration::from_millis(200));
    }
    eprintln!(
        "sent {rounds} rounds of {} forged signals to {names:?}",
        signals.len()
    );
    for (i, w) in waiters.into_iter().enumerate() {
        let r = w.join().unwrap();
        assert_eq!(
            r.code,
            Some(1),
            "waiter {i} was fooled: {}\n{}",
            r.describe(),
            env.logs_tail(30)
        );
        assert!(
            r.stderr.contains("not from the current owner"),
            "waiter {i} never saw a forged signal: {}",
            r.describe()
        );
        if i == 3 {
            // The reasons at the timeout, not the debug log's earlier "waiting:" lines.
            let timeout = r
                .stderr
                .rsplit_once("Timeout occurred")
                .map_or("", |(_, reasons)| reasons);
            assert!(
                timeout.contains("no Internet: NetworkManager"),
                "waiter {i} took a forged Connectivity: {}",
                r.describe()
            );
        }
        if i < 2 {
            assert!(
                r.stderr
                    .contains("wo0: NetworkManager is still activating it (ip-config)"),
                "{}",
                r.describe()
            );
        }
    }
    // The reference: nm-online -s times out too (startup is not complete).
    let reference = nm_online.join().unwrap();
    assert_eq!(
        reference.code,
        Some(1),
        "nm-online -s: {}",
        reference.describe()
    );
    assert_eq!(env.device_state("wo0"), Some(DEVICE_STATE_IP_CONFIG));
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn a_flood_of_forged_interfaces_added_costs_no_memory() {
    let _root = common::require_root();
    let (env, _peer) = activating();
    let waiter = waiter(
        &env,
        &[
            "--manager=networkmanager",
            "-i",
            "wo0:routable",
            "--timeout=120",
        ],
        Duration::from_secs(180),
    );
    let run: RunIn<'_> = &|cmd, args| env.run(cmd, args);
    let names = wait_for_connections(run, "wait-online", 1, Duration::from_secs(5));
    let pids = pids_in_holder(env.holder_pid(), "wait-online");
    assert_eq!(pids.len(), 1, "wait-online's pid: {pids:?}");
    let pid = pids[0];
    // Settled: connected, objects read.
    std::thread::sleep(Duration::from_millis(500));
    let before = memory_kib(pid);
    // 600 new devices, each with two 100,000-byte names: 120 MB if they were kept.
    const COUNT: usize = 600;
    const NAME_BYTES: usize = 100_000;
    let flood = Forged(format!(
        "/org/freedesktop org.freedesktop.DBus.ObjectManager InterfacesAdded 'oa{{sa{{sv}}}}' \
         \"/org/freedesktop/NetworkManager/Devices/$i\" 1 {DEVICE_IFACE} 5 \
         Interface s \"$N$i\" IpInterface s \"$N$i\" State u 100 Managed b true Real b true"
    ));
    let t0 = Instant::now();
    emit_as_nobody(
        run,
        &format!("N=$(head -c {NAME_BYTES} /dev/zero | tr '\\0' x)"),
        &[flood],
        &names,
        COUNT,
        Duration::from_secs(150),
    );
    let flood_time = t0.elapsed();
    // Let it drain its queue.
    std::thread::sleep(Duration::from_millis(500));
    let after = memory_kib(pid);
    let still_waiting = !waiter.is_finished();
    let _ = kill(pid, Signal::TERM);
    let r = waiter.join().unwrap();
    eprintln!(
        "memory: {COUNT} forged InterfacesAdded ({} MB of names) in {flood_time:?}: \
         VmRSS {} -> {} KiB, VmHWM {} -> {} KiB",
        COUNT * NAME_BYTES * 2 / 1_000_000,
        before.0,
        after.0,
        before.1,
        after.1
    );
    assert!(
        still_waiting,
        "wait-online exited during the flood: {}",
        r.describe()
    );
    // Generous: zbus may hold up to 64 queued messages per subscription (13 MB of them) while
    // they wait to be dropped; keeping the objects would take 120 MB.
    let grown = after.1.saturating_sub(before.1);
    assert!(
        grown < 40 * 1024,
        "VmHWM grew by {grown} KiB under forged InterfacesAdded ({before:?} -> {after:?})"
    );
}

/// resolved's signals only make wait-online read the configuration again, from resolved: a
/// forged one must not even do that (a forged signal costs nothing), and a forged "DNS" must
/// not make `--dns` pass.
#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn forged_resolved_signals_from_nobody_change_nothing_and_cost_nothing() {
    let _root = common::require_root();
    // No DNS server anywhere: `--dns` waits.
    let (env, _peer, _server) = crate::dns::setup_on(common::Upstream::V252, "", true);
    let ifindex = env.netns().ifindex("wo0");
    let link = format!("/org/freedesktop/resolve1/link/_3{ifindex}");
    let run: RunIn<'_> = &|cmd, args| env.run(cmd, args);
    let dns_waiter = |timeout: &str| {
        let mut cmd = env.run("env", &["SYSTEMD_LOG_LEVEL=debug", wait_online_bin()]);
        cmd.args(["-i", "wo0", "--dns", timeout]);
        run_wait_online_bg(cmd, Duration::from_secs(30))
    };
    let reads = |r: &RunResult| r.stderr.matches("DNS configuration").count();
    // How often it reads the configuration when nobody forges anything.
    let quiet = dns_waiter("--timeout=3").join().unwrap();
    env.assert_code(&quiet, 1);
    let waiter = dns_waiter("--timeout=5");
    let names = wait_for_connections(run, "wait-online", 1, Duration::from_secs(5));
    let signals = [
        Forged::properties_changed(
            "/org/freedesktop/resolve1",
            "org.freedesktop.resolve1.Manager",
            &[("DNS", "a(iiay)", "1 0 2 4 10 77 0 1")],
        ),
        Forged::properties_changed(
            &link,
            "org.freedesktop.resolve1.Link",
            &[
                ("DNS", "a(iay)", "1 2 4 10 77 0 1"),
                ("DefaultRoute", "b", "true"),
            ],
        ),
        Forged::name_owner_changed("org.freedesktop.resolve1", "", ":1.9999"),
    ];
    const ROUNDS: usize = 100;
    emit_as_nobody(run, "", &signals, &names, ROUNDS, Duration::from_secs(25));
    let forged = waiter.join().unwrap();
    env.assert_code(&forged, 1);
    assert!(
        forged
            .stderr
            .contains("wo0: no DNS server is configured on any link nor globally"),
        "{}",
        forged.describe()
    );
    eprintln!(
        "configuration reads: {} quiet (3 s), {} under {} forged signals (5 s)",
        reads(&quiet),
        reads(&forged),
        ROUNDS * signals.len()
    );
    assert!(
        reads(&forged) <= reads(&quiet) + 3,
        "forged signals made wait-online ask resolved again: {} reads against {} quiet",
        reads(&forged),
        reads(&quiet)
    );
    assert!(
        forged.stderr.contains("not from the current owner"),
        "the forged signals never arrived: {}",
        forged.describe()
    );
}
