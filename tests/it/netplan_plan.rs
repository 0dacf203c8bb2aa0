//! Netplan configuration → wait-online requirements, table-tested against YAML fixtures in
//! `tests/fixtures/netplan/<case>/{lib,etc,run}/*.yaml`. The first cases are Netplan's own
//! generator tests (tests/generator/test_args.py, tests/integration/ethernets.py) with their
//! expected override lines; Netplan writes its lists in hash order, so lines are compared as
//! sets of arguments.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use crate::common::TempDir;
use wait_online::netplan::{
    self, Backend, LinkLocalState, NetplanConfig, NetplanError, NetplanPlan, PresentInterface,
    UPSTREAM_BINARY,
};

use LinkLocalState::{Carrier, Degraded};

fn fixture(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/netplan")
        .join(case)
}

fn dirs(case: &str) -> [PathBuf; 3] {
    let root = fixture(case);
    [root.join("lib"), root.join("etc"), root.join("run")]
}

fn load(case: &str) -> Result<NetplanConfig, NetplanError> {
    netplan::load_dirs(&dirs(case))
}

fn iface(name: &str, mac: &str, driver: Option<&str>) -> PresentInterface {
    PresentInterface {
        name: name.into(),
        mac: Some(mac.into()),
        driver: driver.map(Into::into),
    }
}

/// The interfaces present for every case unless it says otherwise (no `eth99`, like Netplan's
/// test runner).
fn present() -> Vec<PresentInterface> {
    vec![
        iface("lo", "00:00:00:00:00:00", None),
        iface("eth0", "52:54:00:00:00:01", Some("e1000e")),
        iface("eth1", "52:54:00:00:00:02", Some("e1000e")),
        iface("eth2", "52:54:00:00:00:03", Some("virtio_net")),
        iface("eth3", "52:54:00:00:00:06", Some("e1000e")),
        iface("enp3s0", "52:54:00:00:00:04", Some("igb")),
        iface("enp4s0", "52:54:00:00:00:0a", Some("igb")),
        iface("wlan0", "52:54:00:00:00:05", Some("iwlwifi")),
    ]
}

fn plan_with(case: &str, present: &[PresentInterface]) -> NetplanPlan {
    let config = load(case).unwrap_or_else(|e| panic!("{case}: {e}"));
    netplan::compute(&config, present)
}

fn plan(case: &str) -> NetplanPlan {
    plan_with(case, &present())
}

fn expect(case: &str, got: &NetplanPlan, link_local: &[(&str, LinkLocalState)], routable: &[&str]) {
    let want = NetplanPlan {
        link_local: link_local
            .iter()
            .map(|(n, s)| (n.to_string(), *s))
            .collect(),
        routable: routable.iter().map(|n| n.to_string()).collect(),
    };
    assert_eq!(*got, want, "case {case}");
}

/// `(program and options, set of "-i X" arguments)` of one command line.
fn split_line(line: &str) -> (String, BTreeSet<String>) {
    let (head, rest) = line.split_once(" -i ").unwrap_or((line, ""));
    let args = if rest.is_empty() {
        BTreeSet::new()
    } else {
        rest.split(" -i ").map(str::to_string).collect()
    };
    (head.to_string(), args)
}

/// Compares our lines with Netplan's `ExecStart=` lines, ignoring the order of `-i` options.
fn assert_same_lines(case: &str, plan: &NetplanPlan, netplan_exec_starts: &[&str]) {
    let ours: Vec<_> = netplan::upstream_lines(plan, UPSTREAM_BINARY, true)
        .iter()
        .map(|l| split_line(l))
        .collect();
    let theirs: Vec<_> = netplan_exec_starts
        .iter()
        .map(|l| split_line(l.strip_prefix("ExecStart=").unwrap()))
        .collect();
    assert_eq!(ours, theirs, "case {case}");
}

// ---- Netplan's own expected outputs (netplan-nm-peers.md §1.4) ----

#[test]
fn netplan_systemd_generator() {
    let p = plan("systemd_generator");
    expect(
        "systemd_generator",
        &p,
        &[
            ("bond0", Degraded),
            ("eth99.42", Carrier),
            ("eth99.43", Carrier),
            ("eth99.44", Degraded),
            ("lo", Carrier),
        ],
        &["bond0", "eth99.43", "eth99.45"],
    );
    assert_same_lines(
        "systemd_generator",
        &p,
        &[
            "ExecStart=/lib/systemd/systemd-networkd-wait-online -i eth99.43:carrier -i lo:carrier -i eth99.42:carrier -i eth99.44:degraded -i bond0:degraded",
            "ExecStart=/lib/systemd/systemd-networkd-wait-online --any --dns -o routable -i eth99.43 -i eth99.45 -i bond0",
        ],
    );
    // netplan 1.1 wrote the same without --dns.
    assert_eq!(
        netplan::upstream_lines(&p, UPSTREAM_BINARY, false)[1],
        "/lib/systemd/systemd-networkd-wait-online --any -o routable -i bond0 -i eth99.43 -i eth99.45"
    );
}

#[test]
fn netplan_only_routable() {
    let p = plan("only_routable");
    expect("only_routable", &p, &[("br0", Degraded)], &["br0"]);
    assert_same_lines(
        "only_routable",
        &p,
        &[
            "ExecStart=/lib/systemd/systemd-networkd-wait-online -i br0:degraded",
            "ExecStart=/lib/systemd/systemd-networkd-wait-online --any --dns -o routable -i br0",
        ],
    );
}

#[test]
fn netplan_only_non_routable() {
    let p = plan("only_non_routable");
    expect("only_non_routable", &p, &[("eth99.44", Degraded)], &[]);
    assert_same_lines(
        "only_non_routable",
        &p,
        &["ExecStart=/lib/systemd/systemd-networkd-wait-online -i eth99.44:degraded"],
    );
}

#[test]
fn netplan_all_optional() {
    let p = plan("all_optional");
    expect("all_optional", &p, &[], &[]);
    assert!(p.is_empty());
    assert!(netplan::upstream_lines(&p, UPSTREAM_BINARY, true).is_empty());
}

#[test]
fn netplan_escaping() {
    let p = plan("escaping");
    assert_eq!(
        netplan::upstream_lines(&p, UPSTREAM_BINARY, true),
        [
            "/lib/systemd/systemd-networkd-wait-online -i a \\; b\\t; c\\t; d \\n 123 \\; echo :degraded",
            "/lib/systemd/systemd-networkd-wait-online --any --dns -o routable -i a \\; b\\t; c\\t; d \\n 123 \\; echo ",
        ]
    );
    // The plan itself holds the name as configured.
    assert_eq!(p.routable, ["a ; b\t; c\t; d \n 123 ; echo "]);
}

fn integration_present() -> Vec<PresentInterface> {
    vec![
        iface("lo", "00:00:00:00:00:00", None),
        iface("eth42", "02:00:00:00:00:42", Some("veth")),
        iface("eth43", "00:01:02:03:04:05", Some("veth")),
    ]
}

#[test]
fn netplan_integration_wait_online() {
    let p = plan_with("integration_wait_online", &integration_present());
    expect(
        "integration_wait_online",
        &p,
        &[("br0", Degraded), ("eth42", Carrier), ("findme", Carrier)],
        &["br0", "eth42"],
    );
    assert_same_lines(
        "integration_wait_online",
        &p,
        &[
            "ExecStart=/lib/systemd/systemd-networkd-wait-online -i eth42:carrier -i br0:degraded -i findme:carrier",
            "ExecStart=/lib/systemd/systemd-networkd-wait-online --any --dns -o routable -i eth42 -i br0",
        ],
    );
}

#[test]
fn netplan_integration_wait_online_network_manager() {
    let p = plan_with("integration_wait_online_nm", &integration_present());
    assert!(p.is_empty(), "{p:?}");
}

// ---- One rule per test ----

macro_rules! case {
    ($name:ident, [$(($ll:literal, $st:ident)),* $(,)?], [$($r:literal),* $(,)?]) => {
        #[test]
        fn $name() {
            let case = stringify!($name);
            expect(case, &plan(case), &[$(($ll, $st)),*], &[$($r),*]);
        }
    };
}

// dhcp4, dhcp6, static addresses and accept-ra: true make a link routable;
// accept-ra: false does not.
case!(
    ethernets_addressing,
    [
        ("enp3s0", Degraded),
        ("eth0", Degraded),
        ("eth1", Degraded),
        ("eth2", Degraded),
        ("eth3", Degraded),
    ],
    ["enp3s0", "eth0", "eth1", "eth2"]
);

// Bond members wait for carrier only, even with link-local addresses configured.
case!(
    bond_members,
    [("bond0", Degraded), ("eth0", Carrier), ("eth1", Carrier)],
    ["bond0"]
);

// Bridge members too (listed before their definitions in the file); a member with IP
// configuration is still routable.
case!(
    bridge_members,
    [
        ("br0", Degraded),
        ("eth0", Carrier),
        ("eth1", Degraded),
        ("eth2", Carrier),
    ],
    ["br0", "eth0"]
);

// VLANs are virtual: listed by id even when their parent is absent (which is dropped).
case!(
    vlans,
    [
        ("eth0", Degraded),
        ("vlan10", Degraded),
        ("vlan20", Carrier),
        ("vlan30", Degraded),
    ],
    ["vlan10", "vlan30"]
);

// Wi-Fi devices are physical: listed when present, dropped when absent.
case!(wifis, [("wlan0", Degraded)], ["wlan0"]);

// optional: true (any boolean spelling) skips the definition.
case!(optional, [("eth1", Degraded)], ["eth1"]);

// Any activation-mode (manual, off) skips the definition; a member of a skipped bond stays a
// member.
case!(activation_mode, [("eth2", Carrier)], ["eth2"]);

// link-local: [] ⇒ carrier, any family ⇒ degraded (family names case-insensitive).
case!(
    link_local,
    [
        ("dm0", Carrier),
        ("eth0", Carrier),
        ("eth1", Degraded),
        ("eth2", Degraded),
    ],
    ["dm0"]
);

// ignore-carrier without link-local leaves the link-local list; with link-local it does not
// matter; routable links stay routable.
case!(ignore_carrier, [("eth1", Degraded)], ["eth2"]);

// renderer: NetworkManager globally: only definitions that ask for networkd count;
// nm-devices never count.
case!(renderer_nm_global, [("eth1", Degraded)], ["eth1"]);

// renderer: NetworkManager per definition and per section.
case!(renderer_nm_per_device, [("eth1", Degraded)], ["eth1"]);

// A global renderer in a later file applies to definitions of earlier files.
case!(renderer_later_file, [], []);

// match + set-name: the set-name, once, when something matches; nothing otherwise.
case!(match_set_name, [("lan0", Degraded)], ["lan0"]);

// match by macaddress (case-insensitive): current name, or the set-name.
case!(
    match_macaddress,
    [("eth1", Degraded), ("uplink", Degraded)],
    ["eth1"]
);

// match by driver glob (one, or a list any of which matches, combined with a name glob).
case!(
    match_driver,
    [("enp3s0", Carrier), ("enp4s0", Carrier), ("eth2", Degraded)],
    ["eth2"]
);

// match without set-name: every matching interface by its current name, except those that an
// earlier definition already listed.
case!(
    match_many,
    [
        ("eth0", Carrier),
        ("eth1", Degraded),
        ("eth2", Carrier),
        ("eth3", Carrier),
    ],
    ["eth1"]
);

// Tunnels, VRFs, dummies and veths are virtual (always listed); modems are physical.
case!(
    virtual_types,
    [
        ("dummy0", Degraded),
        ("veth0", Degraded),
        ("veth1", Carrier),
        ("vrf1", Degraded),
        ("wg0", Degraded),
    ],
    ["wg0"]
);

// Same file name: run shadows etc shadows lib; different names: applied in name order whatever
// the directory; a later file amends an earlier definition key by key.
case!(
    layered,
    [("eth0", Carrier), ("eth1", Degraded), ("eth2", Carrier)],
    ["eth0", "eth1", "eth2"]
);

// addresses append, link-local is replaced, bond members accumulate across files.
case!(
    merge_sequences,
    [
        ("bond0", Degraded),
        ("eth0", Carrier),
        ("eth1", Carrier),
        ("eth2", Carrier),
    ],
    ["eth2"]
);

// Hidden files, *.yml and other extensions are not read (each would be an error).
case!(ignored_files, [("eth0", Degraded)], []);

#[test]
fn layered_file_order_and_merged_keys() {
    let root = fixture("layered");
    let files = netplan::config_files(&dirs("layered")).unwrap();
    assert_eq!(
        files,
        [
            root.join("etc/10-base.yaml"),
            root.join("lib/20-lib.yaml"),
            root.join("run/30-site.yaml"),
            root.join("run/40-run.yaml"),
        ]
    );
    let config = load("layered").unwrap();
    assert_eq!(config.files, files);
    assert!(config.get("eth3").is_none(), "lib/10-base.yaml is shadowed");
    let eth0 = config.get("eth0").unwrap();
    assert!(!eth0.dhcp4, "lib/10-base.yaml is shadowed");
    assert_eq!(eth0.addresses, ["192.0.2.1/24"]);
    assert_eq!(eth0.file, root.join("run/40-run.yaml"));
    let eth1 = config.get("eth1").unwrap();
    assert!(eth1.dhcp6 && eth1.link_local_ipv4 && !eth1.link_local_ipv6);
    let eth2 = config.get("eth2").unwrap();
    assert!(eth2.dhcp4 && !eth2.optional, "etc/30-site.yaml is shadowed");
    let order: Vec<&str> = config.defs.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(order, ["eth0", "eth1", "eth2"]);
}

#[test]
fn merge_sequences_details() {
    let config = load("merge_sequences").unwrap();
    let eth2 = config.get("eth2").unwrap();
    assert_eq!(eth2.addresses, ["192.0.2.2/24", "192.0.2.3/24"]);
    assert!(!eth2.link_local_ipv4 && !eth2.link_local_ipv6);
    assert_eq!(config.get("eth0").unwrap().bond.as_deref(), Some("bond0"));
    assert_eq!(config.get("eth1").unwrap().bond.as_deref(), Some("bond0"));
}

#[test]
fn renderer_later_file_details() {
    let config = load("renderer_later_file").unwrap();
    assert_eq!(config.get("eth0").unwrap().backend, Backend::NetworkManager);
    assert!(!config.any_networkd());
}

// ---- Errors ----

fn error_of(case: &str) -> String {
    let message = load(case).expect_err(case).to_string();
    assert!(!message.contains('\n'), "{message}");
    message
}

#[test]
fn malformed_yaml_names_file_line_and_column() {
    let file = fixture("malformed_yaml").join("etc/50-bad.yaml");
    assert_eq!(
        error_of("malformed_yaml"),
        format!(
            "{}:7:28: mapping values are not allowed in this context",
            file.display()
        )
    );
}

#[test]
fn wrong_type_boolean() {
    let file = fixture("wrong_type_bool").join("etc/01-bad.yaml");
    assert_eq!(
        error_of("wrong_type_bool"),
        format!(
            "{}:5:14: network.ethernets.eth0.dhcp4: invalid boolean value 'maybe'",
            file.display()
        )
    );
}

#[test]
fn wrong_type_optional() {
    let file = fixture("wrong_type_optional").join("etc/01-bad.yaml");
    assert_eq!(
        error_of("wrong_type_optional"),
        format!(
            "{}:6:17: network.ethernets.eth0.optional: invalid boolean value '3'",
            file.display()
        )
    );
}

#[test]
fn wrong_type_sequence() {
    let file = fixture("wrong_type_sequence").join("run/01-bad.yaml");
    assert_eq!(
        error_of("wrong_type_sequence"),
        format!(
            "{}:4:19: network.bonds.bond0.interfaces: expected sequence, found scalar",
            file.display()
        )
    );
}

#[test]
fn unreadable_file_is_an_error_naming_it() {
    let tmp = TempDir::new();
    let etc = tmp.0.join("etc");
    fs::create_dir_all(&etc).unwrap();
    // Root reads any file, so make one that cannot be read by anyone: a dangling link, and a
    // directory with a .yaml name.
    symlink(tmp.0.join("nowhere"), etc.join("01-dangling.yaml")).unwrap();
    let e = netplan::load_dirs(&[&etc]).unwrap_err();
    let text = e.to_string();
    assert!(
        text.starts_with(&format!(
            "{}: cannot read: ",
            etc.join("01-dangling.yaml").display()
        )),
        "{text}"
    );
    fs::remove_file(etc.join("01-dangling.yaml")).unwrap();
    fs::create_dir(etc.join("02-dir.yaml")).unwrap();
    let e = netplan::load_dirs(&[&etc]).unwrap_err();
    assert!(matches!(e, NetplanError::Read(_)), "{e}");
    assert_eq!(e.path(), etc.join("02-dir.yaml"));
}

#[test]
fn unlistable_directory_is_an_error_missing_one_is_empty() {
    let tmp = TempDir::new();
    let not_a_dir = tmp.0.join("etc");
    fs::write(&not_a_dir, "").unwrap();
    let e = netplan::load_dirs(&[&not_a_dir]).unwrap_err();
    assert!(
        e.to_string()
            .starts_with(&format!("{}: cannot list directory: ", not_a_dir.display())),
        "{e}"
    );
    let config = netplan::load_dirs(&[tmp.0.join("lib"), tmp.0.join("run")]).unwrap();
    assert!(config.defs.is_empty() && config.files.is_empty());
    assert!(netplan::compute(&config, &present()).is_empty());
}

#[test]
fn plan_from_reads_config_and_sysfs() {
    let tmp = TempDir::new();
    let net = tmp.0.join("sys/class/net");
    fs::create_dir_all(net.join("eth0")).unwrap();
    fs::write(net.join("eth0/address"), "52:54:00:00:00:01\n").unwrap();
    let p = netplan::plan_from(&dirs("ethernets_addressing"), &net).unwrap();
    assert_eq!(p.link_local, [("eth0".to_string(), Degraded)]);
    assert_eq!(p.routable, ["eth0"]);
}
