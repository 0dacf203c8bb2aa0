//! `--online-definition=ubuntu` and Netplan's override lines end to end: Netplan YAML in the
//! private /run/netplan of a namespace (never the host's), the real systemd-networkd and
//! systemd-resolved, dnsmasq as the DNS server. The lines `--print-netplan-lines` prints are
//! also run verbatim by upstream's systemd-networkd-wait-online 252, 257 and 262, each with its
//! own networkd and resolved (`ubuntu::v262::<scenario>`), next to ours with the same
//! arguments.

use std::time::Duration;

use crate::common::{self, DnsServer, Netns, NetworkdEnv, UPSTREAM_WAIT_ONLINE, Upstream};
use crate::networkd::{same_verdict, start_both};

/// Netplan's view: wo0 static with a name server, wo9 optional (never appears), bond member
/// handling is covered by the plan's table tests.
const NETPLAN_YAML: &str = "network:\n  version: 2\n  renderer: networkd\n  ethernets:\n    wo0:\n      addresses: [10.77.0.2/24]\n      nameservers:\n        addresses: [10.77.0.1]\n        search: [test.wohx]\n    wo9:\n      dhcp4: true\n      optional: true\n";

/// What networkd would be given for that YAML (`netplan generate` is not installed here).
fn network(dns: bool) -> String {
    let dns = if dns {
        "DNS=10.77.0.1\nDomains=test.wohx\n"
    } else {
        ""
    };
    format!(
        "[Match]\nName=wo0\n\n[Network]\nLinkLocalAddressing=ipv6\nIPv6AcceptRA=no\nAddress=10.77.0.2/24\n{dns}"
    )
}

fn setup(dns: bool) -> (NetworkdEnv, Netns, DnsServer) {
    setup_on(Upstream::V252, dns)
}

/// [`setup`] with `upstream`'s networkd and resolved.
fn setup_on(upstream: Upstream, dns: bool) -> (NetworkdEnv, Netns, DnsServer) {
    let mut env = NetworkdEnv::for_upstream_with_resolved(upstream);
    let peer = env.netns().add_peer();
    let server = DnsServer::start(&peer, "10.77.0.1", &[("host1.test.wohx", "10.77.0.10")]);
    let netplan = env.holder_path("/run/netplan");
    std::fs::create_dir_all(&netplan).unwrap();
    std::fs::write(netplan.join("50-test.yaml"), NETPLAN_YAML).unwrap();
    env.write_network("10-wo0.network", &network(dns));
    env.start_resolved();
    env.start_networkd();
    env.wait_for_setup_state("wo0", "configured", Duration::from_secs(10));
    (env, peer, server)
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn ubuntu_definition_from_netplan_yaml_all_four_conditions() {
    let _root = common::require_root();
    let (env, _peer, _server) = setup(true);
    // wo0 needs its IPv6 link-local address (degraded) before anything else.
    let r = env.wait_online(&["--online-definition=ubuntu", "--timeout=15"]);
    env.assert_code(&r, 0);
    let r = env.wait_online(&[
        "--online-definition=ubuntu",
        "--dns-probe=host1.test.wohx",
        "--timeout=15",
    ]);
    env.assert_code(&r, 0);
    // Refinements: an extra interface that does not exist blocks condition (2).
    let r = env.wait_online(&[
        "--online-definition=ubuntu",
        "-i",
        "wo7",
        "--timeout=1500ms",
    ]);
    env.assert_code(&r, 1);
    assert!(
        r.stderr.contains("(2) wo7: not present"),
        "{}",
        r.describe()
    );
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn print_netplan_lines_and_run_them_line_by_line() {
    let _root = common::require_root();
    let (env, _peer, _server) = setup(true);
    let r = env.wait_online(&["--online-definition=ubuntu", "--print-netplan-lines"]);
    env.assert_code(&r, 0);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            format!("{UPSTREAM_WAIT_ONLINE} -i wo0:degraded"),
            format!("{UPSTREAM_WAIT_ONLINE} --any --dns -o routable -i wo0"),
        ],
        "the optional wo9 is not waited for"
    );
    let r = env.wait_online(&[
        "--online-definition=ubuntu",
        "--dns=no",
        "--print-netplan-lines",
    ]);
    assert_eq!(
        r.stdout.lines().nth(1),
        Some(format!("{UPSTREAM_WAIT_ONLINE} --any -o routable -i wo0").as_str())
    );
    // Netplan 1.1's and 1.2's override lines, with wait-online in place of upstream's binary,
    // run one after the other like ExecStart= lines.
    for line in [
        "-i wo0:degraded --timeout=15",
        "--any -o routable -i wo0 --timeout=15",
        "--any --dns -o routable -i wo0 --timeout=15",
    ] {
        let args: Vec<&str> = line.split_whitespace().collect();
        let r = env.wait_online(&args);
        env.assert_code(&r, 0);
    }
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn missing_dns_server_fails_condition_four_only() {
    let _root = common::require_root();
    let (env, _peer, _server) = setup(false);
    let r = env.wait_online(&["--online-definition=ubuntu", "--timeout=3"]);
    env.assert_code(&r, 1);
    assert!(
        r.stderr
            .contains("(4) domain name resolution does not work on a routable interface:"),
        "{}",
        r.describe()
    );
    assert!(
        !r.stderr.contains("(2)") && !r.stderr.contains("(3)"),
        "{}",
        r.describe()
    );
    let r = env.wait_online(&["--online-definition=ubuntu", "--dns=no", "--timeout=10"]);
    env.assert_code(&r, 0);
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn malformed_netplan_yaml_is_a_clear_error() {
    let _root = common::require_root();
    let env = NetworkdEnv::new();
    let netplan = env.holder_path("/run/netplan");
    std::fs::create_dir_all(&netplan).unwrap();
    std::fs::write(
        netplan.join("01-broken.yaml"),
        "network:\n  ethernets:\n    eth0: [\n",
    )
    .unwrap();
    let r = env.wait_online(&["--online-definition=ubuntu", "--timeout=5"]);
    assert_eq!(r.code, Some(1), "{}", r.describe());
    assert!(
        r.stderr.contains("/run/netplan/01-broken.yaml:"),
        "{}",
        r.describe()
    );
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.describe());
}

/// The lines ours prints for the YAML (with `extra` options), split into words, the binary
/// (upstream's path) first.
fn netplan_lines(env: &NetworkdEnv, extra: &[&str]) -> Vec<Vec<String>> {
    let mut args = vec!["--online-definition=ubuntu", "--print-netplan-lines"];
    args.extend_from_slice(extra);
    let r = env.wait_online(&args);
    env.assert_code(&r, 0);
    let lines: Vec<Vec<String>> = r
        .stdout
        .lines()
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .collect();
    assert!(
        lines.len() == 2 && lines.iter().all(|l| l[0] == UPSTREAM_WAIT_ONLINE),
        "{}",
        r.describe()
    );
    lines
}

/// One printed line as arguments for both binaries: its words after the binary, `timeout`.
fn line_args<'a>(line: &'a [String], timeout: &'a str) -> Vec<&'a str> {
    let mut args: Vec<&str> = line[1..].iter().map(String::as_str).collect();
    args.push(timeout);
    args
}

/// Netplan's two lines, run by upstream like `ExecStart=` lines (the printed binary, next to
/// ours with the same arguments), give the verdict of `--online-definition=ubuntu`: first
/// without any name server (line 2's `--dns` waits: both fail), then with wo0's server from a
/// `networkctl reload` (both succeed). 252 and 257 reject line 2's `--dns` as an unknown
/// option, at once: a deliberate difference (README), ours takes it on every version because
/// Netplan writes it whatever systemd runs. Their line 2 is the one `--dns=no` prints.
fn netplan_lines_run_by_upstream_agree_with_the_ubuntu_definition(upstream: Upstream) {
    let (env, _peer, _server) = setup_on(upstream, false);
    let lines = netplan_lines(&env, &[]);
    assert!(lines[1].iter().any(|w| w == "--dns"), "{:?}", lines[1]);
    let knows_dns = upstream.major() >= 262;
    let second = if knows_dns {
        lines[1].clone()
    } else {
        let (rejected, ours) = start_both(&env, &line_args(&lines[1], "--timeout=2")).join();
        assert!(
            rejected.code == Some(1)
                && rejected.elapsed < Duration::from_secs(1)
                && rejected.stderr.contains("unrecognized option '--dns'"),
            "{upstream}: {}",
            rejected.describe()
        );
        env.assert_code(&ours, 1);
        netplan_lines(&env, &["--dns=no"]).swap_remove(1)
    };
    // without a name server: line 2 fails where it has --dns
    for (line, timeout, code) in [
        (&lines[0], "--timeout=10", 0),
        (&second, "--timeout=2", if knows_dns { 1 } else { 0 }),
    ] {
        same_verdict(&env, start_both(&env, &line_args(line, timeout)), code);
    }
    let r = env.wait_online(&["--online-definition=ubuntu", "--timeout=2"]);
    env.assert_code(&r, 1);

    env.write_network("10-wo0.network", &network(true));
    env.networkctl(&["reload"]);
    env.wait_for_link_dns("wo0", "10.77.0.1", Duration::from_secs(10));
    for line in [&lines[0], &second] {
        same_verdict(&env, start_both(&env, &line_args(line, "--timeout=10")), 0);
    }
    let r = env.wait_online(&["--online-definition=ubuntu", "--timeout=10"]);
    env.assert_code(&r, 0);
}

against_each_upstream!(netplan_lines_run_by_upstream_agree_with_the_ubuntu_definition);
