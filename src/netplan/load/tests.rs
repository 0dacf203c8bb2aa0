//! The loader against Netplan's rules: values, structure, references, renderers, files.

use std::fs;

use super::*;

fn load(files: &[(&str, &str)]) -> Result<NetplanConfig> {
    let mut loader = Loader::new();
    for (name, text) in files {
        loader.add_str(Path::new(name), text)?;
    }
    Ok(loader.finish())
}

fn one(text: &str) -> NetplanConfig {
    load(&[("/etc/netplan/a.yaml", text)]).unwrap()
}

fn error(text: &str) -> String {
    load(&[("/etc/netplan/a.yaml", text)])
        .unwrap_err()
        .to_string()
}

#[test]
fn booleans_are_netplans_words() {
    for (word, want) in [
        ("true", true),
        ("On", true),
        ("YES", true),
        ("y", true),
        ("\"yes\"", true),
        ("false", false),
        ("off", false),
        ("No", false),
        ("n", false),
    ] {
        let c = one(&format!(
            "network:\n  ethernets:\n    eth0:\n      dhcp4: {word}\n"
        ));
        assert_eq!(c.defs[0].dhcp4, want, "{word}");
    }
}

#[test]
fn wrong_boolean_names_file_position_and_key() {
    assert_eq!(
        error("network:\n  ethernets:\n    eth0:\n      dhcp4: maybe\n"),
        "/etc/netplan/a.yaml:4:14: network.ethernets.eth0.dhcp4: invalid boolean value 'maybe'"
    );
    assert_eq!(
        error("network:\n  ethernets:\n    eth0:\n      optional: 3\n"),
        "/etc/netplan/a.yaml:4:17: network.ethernets.eth0.optional: invalid boolean value '3'"
    );
    assert_eq!(
        error("network:\n  ethernets:\n    eth0:\n      optional: [true]\n"),
        "/etc/netplan/a.yaml:4:17: network.ethernets.eth0.optional: expected scalar, found sequence"
    );
}

#[test]
fn wrong_structure_is_refused() {
    let e = error("network:\n  ethernets: [eth0]\n");
    assert!(
        e.contains(":2:14: network.ethernets: expected mapping"),
        "{e}"
    );
    let e = error("network:\n  ethernets:\n    eth0:\n");
    assert!(
        e.contains("network.ethernets.eth0: expected mapping"),
        "{e}"
    );
    let e = error("just text\n");
    assert!(e.contains("(top level): expected mapping"), "{e}");
    let e = error("network:\n  ethernets:\n    eth0:\n      addresses: 10.0.0.1/24\n");
    assert!(
        e.contains("addresses: expected sequence, found scalar"),
        "{e}"
    );
}

#[test]
fn values_are_checked_like_netplan() {
    let cases = [
        (
            "activation-mode: sometimes",
            "Value of 'activation-mode' needs to be",
        ),
        ("renderer: systemd", "unknown renderer 'systemd'"),
        ("link-local: [ipv5]", "invalid value for link-local: 'ipv5'"),
        (
            "addresses: [10.0.0.1]",
            "address '10.0.0.1' is missing /prefixlength",
        ),
        (
            "addresses: [10.0.0.1/33]",
            "invalid prefix length in address '10.0.0.1/33'",
        ),
        ("addresses: [10.0.0.1/0]", "invalid prefix length"),
        ("addresses: [\"fe80::1/129\"]", "invalid prefix length"),
        (
            "addresses: [10.0.0.300/24]",
            "malformed address '10.0.0.300/24'",
        ),
        (
            "addresses: [[10.0.0.1/24]]",
            "expected either scalar or mapping",
        ),
        (
            "match: {macaddress: \"00:11\"}",
            "Invalid MAC address '00:11'",
        ),
        (
            "match: {driver: \"a b\"}",
            "A 'driver' glob cannot contain whitespace",
        ),
        ("match: {driver: []}", "invalid sequence for 'driver'"),
        ("match: {driver: {a: b}}", "invalid type for 'driver'"),
        ("match: {name: \"a b\"}", "Invalid name 'a b'"),
        (
            "set-name: lan0",
            "eth0: 'set-name:' requires 'match:' properties",
        ),
    ];
    for (line, want) in cases {
        let e = error(&format!(
            "network:\n  ethernets:\n    eth0:\n      {line}\n"
        ));
        assert!(e.contains(want), "{line}: {e}");
        assert!(e.starts_with("/etc/netplan/a.yaml:"), "{e}");
    }
}

#[test]
fn ids_and_version_are_checked() {
    assert!(error("network:\n  ethernets:\n    \"eth 0\": {}\n").contains("Invalid name 'eth 0'"));
    assert!(error("network:\n  ethernets:\n    eth*: {}\n").contains("must not use globbing"));
    assert!(error("network:\n  version: 3\n").contains("Only version 2 is supported"));
    assert!(error("network:\n  version: x\n").contains("Only version 2 is supported"));
    assert!(one("network:\n  version: 2\n").defs.is_empty());
}

#[test]
fn addresses_with_options_count() {
    let c = one(
        "network:\n  ethernets:\n    eth0:\n      addresses:\n        - 10.0.0.1/24:\n            label: x\n        - \"fe80::1/64\"\n",
    );
    assert_eq!(c.defs[0].addresses, ["10.0.0.1/24", "fe80::1/64"]);
}

#[test]
fn empty_and_comment_files_add_nothing() {
    let c = load(&[("/a.yaml", ""), ("/b.yaml", "# nothing\n")]).unwrap();
    assert!(c.defs.is_empty());
    assert_eq!(c.files.len(), 2);
}

#[test]
fn renderer_resolution() {
    let c = one(
        "network:\n  renderer: NetworkManager\n  ethernets:\n    a: {}\n    b: {renderer: networkd}\n",
    );
    assert_eq!(c.get("a").unwrap().backend, Backend::NetworkManager);
    assert_eq!(c.get("b").unwrap().backend, Backend::Networkd);
    // A section's renderer applies to the definitions after it only.
    let c = one("network:\n  ethernets:\n    a: {}\n    renderer: NetworkManager\n    b: {}\n");
    assert_eq!(c.get("a").unwrap().backend, Backend::Networkd);
    assert_eq!(c.get("b").unwrap().backend, Backend::NetworkManager);
    // nm-devices are always NetworkManager's.
    let c = one("network:\n  nm-devices:\n    x: {renderer: networkd}\n");
    assert_eq!(c.defs[0].backend, Backend::NetworkManager);
}

#[test]
fn global_renderer_of_a_later_file_applies_to_earlier_definitions() {
    let c = load(&[
        (
            "/etc/netplan/01.yaml",
            "network:\n  ethernets:\n    eth0: {dhcp4: true}\n",
        ),
        (
            "/etc/netplan/02.yaml",
            "network:\n  renderer: NetworkManager\n",
        ),
    ])
    .unwrap();
    assert_eq!(c.defs[0].backend, Backend::NetworkManager);
    assert_eq!(c.global_renderer, Some(Backend::NetworkManager));
}

#[test]
fn openvswitch_settings_imply_the_ovs_renderer() {
    let c = one(concat!(
        "network:\n  ethernets:\n    a: {openvswitch: {}}\n",
        "    b: {openvswitch: {other-config: {x: y}}}\n",
        "    c: {}\n",
        "  bridges:\n    br0: {interfaces: [c], openvswitch: {other-config: {x: y}}}\n",
        "  bonds:\n    bond0: {parameters: {mode: balance-tcp}}\n",
        "  vlans:\n    v1: {id: 1, link: a}\n",
    ));
    let backend = |id: &str| c.get(id).unwrap().backend;
    assert_eq!(backend("a"), Backend::OpenVSwitch);
    assert_eq!(backend("b"), Backend::Networkd);
    assert_eq!(backend("br0"), Backend::OpenVSwitch);
    assert_eq!(backend("bond0"), Backend::OpenVSwitch);
    assert_eq!(backend("v1"), Backend::OpenVSwitch);
    assert!(
        error("network:\n  bonds:\n    b: {parameters: {mode: fast}}\n")
            .contains("unknown bond mode 'fast'")
    );
}

#[test]
fn forward_references_within_a_file_resolve() {
    let c =
        one("network:\n  bonds:\n    bond0: {interfaces: [eth0]}\n  ethernets:\n    eth0: {}\n");
    assert_eq!(c.get("eth0").unwrap().bond.as_deref(), Some("bond0"));
    // Order is that of first definition.
    let ids: Vec<&str> = c.defs.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["bond0", "eth0"]);
}

#[test]
fn undefined_references_are_errors() {
    let e = error("network:\n  bonds:\n    bond0:\n      interfaces: [eth5]\n");
    assert_eq!(
        e,
        "/etc/netplan/a.yaml:4:20: network.bonds.bond0.interfaces: bond0: interface 'eth5' is not defined"
    );
    // A member defined only in a later file is undefined too (Netplan resolves per file).
    let e = load(&[
        (
            "/etc/netplan/01.yaml",
            "network:\n  bridges:\n    br0: {interfaces: [eth0]}\n",
        ),
        (
            "/etc/netplan/02.yaml",
            "network:\n  ethernets:\n    eth0: {}\n",
        ),
    ])
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("/etc/netplan/01.yaml:3:24:"), "{e}");
    let e = error("network:\n  vlans:\n    v: {id: 1, link: nope}\n");
    assert!(e.contains("v: interface 'nope' is not defined"), "{e}");
    let e = error("network:\n  vlans:\n    v: {id: 1}\n");
    assert!(e.contains("v: missing 'link' property"), "{e}");
}

#[test]
fn network_manager_vlans_may_name_undefined_parents() {
    let c = one("network:\n  renderer: NetworkManager\n  vlans:\n    v: {id: 1, link: nope}\n");
    let placeholder = c.get("nope").unwrap();
    assert_eq!(placeholder.device_type, DeviceType::NmPlaceholder);
    assert_eq!(placeholder.backend, Backend::NetworkManager);
}

#[test]
fn membership_conflicts_are_errors() {
    let e = error(concat!(
        "network:\n  ethernets:\n    eth0: {}\n",
        "  bonds:\n    bond0: {interfaces: [eth0]}\n",
        "  bridges:\n    br0: {interfaces: [eth0]}\n",
    ));
    assert!(
        e.contains("br0: interface 'eth0' is already assigned to bond bond0"),
        "{e}"
    );
    let e = error(concat!(
        "network:\n  ethernets:\n    eth0: {}\n",
        "  bonds:\n    bond0: {interfaces: [eth0]}\n    bond1: {interfaces: [eth0]}\n",
    ));
    assert!(
        e.contains("bond1: interface 'eth0' is already assigned to bond bond0"),
        "{e}"
    );
}

#[test]
fn changing_the_type_of_a_definition_is_an_error() {
    let e = load(&[
        (
            "/etc/netplan/01.yaml",
            "network:\n  ethernets:\n    x: {}\n",
        ),
        ("/etc/netplan/02.yaml", "network:\n  bridges:\n    x: {}\n"),
    ])
    .unwrap_err()
    .to_string();
    assert_eq!(
        e,
        "/etc/netplan/02.yaml:3:5: network.bridges.x: Updated definition 'x' changes device type"
    );
}

#[test]
fn invalid_utf8_names_the_position() {
    let dir = std::env::temp_dir().join(format!("netplan-utf8-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.yaml");
    fs::write(&file, b"network:\n  x: \xff\n").unwrap();
    let e = load_files(&[&file]).unwrap_err();
    fs::remove_dir_all(&dir).unwrap();
    assert_eq!(
        e.to_string(),
        format!("{}:2:6: invalid UTF-8", file.display())
    );
}

proptest::proptest! {
    #[test]
    fn loading_never_panics(
        body in "[a-z0-9:\\-\\[\\]{}, .*&/\n]{0,120}",
        section in proptest::sample::select(vec![
            "ethernets", "bonds", "bridges", "vlans", "wifis", "nm-devices", "renderer",
        ]),
    ) {
        let text = format!("network:\n  {section}:\n    {body}\n");
        let _ = load(&[("/etc/netplan/p.yaml", &text), ("/etc/netplan/q.yaml", &text)]);
    }
}
