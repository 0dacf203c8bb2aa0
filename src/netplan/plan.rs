//! Which interfaces Netplan's generator makes systemd-networkd-wait-online wait for, and how:
//! `_netplan_networkd_generate_wait_online()` (src/gen-networkd.c, netplan 1.2 / HEAD; the rules
//! are the same in 1.1's `_netplan_networkd_write_wait_online()`). Pure: the configuration and
//! the interfaces present now in, two lists out.
//!
//! 1. Only definitions rendered by networkd; `optional: true` or any `activation-mode` skips a
//!    definition.
//! 2. routable = static addresses, `dhcp4`, `dhcp6` or `accept-ra: true`;
//!    degraded = `link-local` not empty and not a bond or bridge member.
//! 3. Names: a definition without `match:` whose id is present now, and every virtual device
//!    (bridge, bond, VLAN, tunnel, VRF, dummy, veth), by id (a later definition of the same
//!    name replaces the earlier one); `match:` with `set-name:` adds the set-name when an
//!    interface not listed yet matches; `match:` alone adds every matching interface not listed
//!    yet, by its current name. A physical device that is absent and has no `match:` is
//!    dropped.
//! 4. Lists: `lo` (by name) waits for `carrier` and is never routable; otherwise degraded ⇒
//!    `degraded`, else `carrier` unless `ignore-carrier: true` (then not in the link-local list
//!    at all); routable names go to the `--any -o routable` list.
//!
//! Netplan emits both lists in hash-table order; here both are sorted by interface name, so
//! that the same configuration always gives the same lines.

use std::collections::BTreeMap;
use std::fmt;

use super::config::{Backend, NetDef, NetplanConfig};
use crate::cli::glob::Glob;
use crate::core::OperState;

/// An interface present on the system when the plan is made.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PresentInterface {
    /// Current kernel name.
    pub name: String,
    /// `/sys/class/net/NAME/address`, trimmed.
    pub mac: Option<String>,
    /// Basename of the `/sys/class/net/NAME/device/driver` link.
    pub driver: Option<String>,
}

impl PresentInterface {
    /// An interface with only a name (no MAC, no driver), e.g. `lo` in tests.
    pub fn named(name: &str) -> PresentInterface {
        PresentInterface {
            name: name.to_string(),
            mac: None,
            driver: None,
        }
    }
}

/// The minimum state of an interface in Netplan's first (link-local) line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LinkLocalState {
    /// `-i IF:carrier`
    Carrier,
    /// `-i IF:degraded`
    Degraded,
}

impl LinkLocalState {
    /// The state's name as written after `IF:`.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkLocalState::Carrier => "carrier",
            LinkLocalState::Degraded => "degraded",
        }
    }
}

impl fmt::Display for LinkLocalState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<LinkLocalState> for OperState {
    fn from(state: LinkLocalState) -> OperState {
        match state {
            LinkLocalState::Carrier => OperState::Carrier,
            LinkLocalState::Degraded => OperState::Degraded,
        }
    }
}

/// What Netplan's override makes wait-online wait for: every interface of `link_local` must
/// reach its state (first `ExecStart=`, without `--any`), and any one of `routable` must be
/// routable (second `ExecStart=`, `--any -o routable`). Both sorted by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetplanPlan {
    pub link_local: Vec<(String, LinkLocalState)>,
    pub routable: Vec<String>,
}

impl NetplanPlan {
    /// True when Netplan would wait for nothing: it then creates no enablement link and its
    /// override's `ConditionPathIsSymbolicLink=` skips the service.
    pub fn is_empty(&self) -> bool {
        self.link_local.is_empty() && self.routable.is_empty()
    }
}

/// Netplan's `WaitOnlineData`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct WaitData {
    ignore_carrier: bool,
    degraded: bool,
    routable: bool,
}

/// Which renderers' definitions a plan covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Renderers {
    /// systemd-networkd's only: exactly what Netplan writes into its override.
    Networkd,
    /// NetworkManager's too, planned by the same rules: Ubuntu's definition of online on every
    /// renderer. NetworkManager itself ignores `optional:`; the plan honours it.
    All,
}

/// Computes the plan Netplan writes for `config` with the interfaces `present` now.
pub fn compute(config: &NetplanConfig, present: &[PresentInterface]) -> NetplanPlan {
    compute_for(config, present, Renderers::Networkd)
}

/// Computes the plan for the definitions of `renderers`.
pub fn compute_for(
    config: &NetplanConfig,
    present: &[PresentInterface],
    renderers: Renderers,
) -> NetplanPlan {
    // Netplan's `non_optional_interfaces` hash table; sorted here.
    let mut table: BTreeMap<String, WaitData> = BTreeMap::new();
    for def in &config.defs {
        let rendered = def.backend == Backend::Networkd || renderers == Renderers::All;
        if !rendered || def.optional || def.activation_mode.is_some() {
            continue;
        }
        let member = def.bond.is_some() || def.bridge.is_some();
        let data = WaitData {
            ignore_carrier: def.ignore_carrier,
            routable: !def.addresses.is_empty()
                || def.dhcp4
                || def.dhcp6
                || def.accept_ra == Some(true),
            degraded: (def.link_local_ipv4 || def.link_local_ipv6) && !member,
        };
        let present_by_id = present.iter().any(|p| p.name == def.id);
        if (!def.has_match && present_by_id) || def.device_type.is_virtual() {
            table.insert(def.id.clone(), data);
        } else {
            enumerate(def, present, &mut table, def.set_name.as_deref(), data);
        }
    }

    let mut plan = NetplanPlan::default();
    for (name, data) in table {
        if data.routable && name != "lo" {
            plan.routable.push(name.clone());
        }
        if name == "lo" {
            plan.link_local.push((name, LinkLocalState::Carrier));
        } else if data.degraded {
            plan.link_local.push((name, LinkLocalState::Degraded));
        } else if !data.ignore_carrier {
            plan.link_local.push((name, LinkLocalState::Carrier));
        }
    }
    plan
}

/// `_netplan_enumerate_interfaces()`: adds the matching present interfaces that are not listed
/// yet, under `set_name` when given (then only once).
fn enumerate(
    def: &NetDef,
    present: &[PresentInterface],
    table: &mut BTreeMap<String, WaitData>,
    set_name: Option<&str>,
    data: WaitData,
) {
    for iface in present {
        if table.contains_key(&iface.name) || set_name.is_some_and(|s| table.contains_key(s)) {
            continue;
        }
        if matches_interface(def, iface) {
            let key = set_name.unwrap_or(&iface.name).to_string();
            table.insert(key, data);
        }
    }
}

/// `netplan_netdef_match_interface()` (src/util.c): without `match:` the name must equal the
/// id; with it, every given criterion must hold: MAC (ASCII case-insensitive), name (shell
/// glob, `fnmatch()` flags 0), driver (any of the globs).
pub fn matches_interface(def: &NetDef, iface: &PresentInterface) -> bool {
    if !def.has_match {
        return iface.name == def.id;
    }
    if let Some(mac) = &def.match_macaddress
        && !mac.eq_ignore_ascii_case(iface.mac.as_deref().unwrap_or(""))
    {
        return false;
    }
    if let Some(pattern) = &def.match_name
        && !Glob::new(pattern).matches(&iface.name)
    {
        return false;
    }
    if !def.match_driver.is_empty() {
        let Some(driver) = &iface.driver else {
            return false;
        };
        return def
            .match_driver
            .iter()
            .any(|pattern| Glob::new(pattern).matches(driver));
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netplan::config::DeviceType;
    use LinkLocalState::{Carrier, Degraded};

    fn def(id: &str, device_type: DeviceType) -> NetDef {
        NetDef::new(id, device_type, Backend::Networkd)
    }

    fn plan(defs: Vec<NetDef>, present: &[&str]) -> NetplanPlan {
        let present: Vec<PresentInterface> =
            present.iter().map(|n| PresentInterface::named(n)).collect();
        compute(
            &NetplanConfig {
                defs,
                ..NetplanConfig::default()
            },
            &present,
        )
    }

    fn ll(pairs: &[(&str, LinkLocalState)]) -> Vec<(String, LinkLocalState)> {
        pairs.iter().map(|(n, s)| (n.to_string(), *s)).collect()
    }

    #[test]
    fn plain_ethernet_is_degraded_and_dhcp_makes_it_routable() {
        let mut eth0 = def("eth0", DeviceType::Ethernet);
        eth0.dhcp4 = true;
        let p = plan(vec![eth0], &["eth0"]);
        assert_eq!(p.link_local, ll(&[("eth0", Degraded)]));
        assert_eq!(p.routable, ["eth0"]);
    }

    #[test]
    fn networkmanager_definitions_only_in_the_plan_for_every_renderer() {
        let mut desktop = NetDef::new("eth1", DeviceType::Ethernet, Backend::NetworkManager);
        desktop.dhcp4 = true;
        let mut spare = NetDef::new("eth2", DeviceType::Ethernet, Backend::NetworkManager);
        spare.optional = true;
        let config = NetplanConfig {
            defs: vec![def("eth0", DeviceType::Ethernet), desktop, spare],
            ..NetplanConfig::default()
        };
        let present: Vec<PresentInterface> = ["eth0", "eth1", "eth2"]
            .iter()
            .map(|n| PresentInterface::named(n))
            .collect();
        // Netplan's own override: networkd's definitions only.
        let networkd = compute(&config, &present);
        assert_eq!(networkd.link_local, ll(&[("eth0", Degraded)]));
        assert!(networkd.routable.is_empty());
        // Ubuntu's definition on every renderer; `optional` honoured for NetworkManager too.
        let all = compute_for(&config, &present, Renderers::All);
        assert_eq!(
            all.link_local,
            ll(&[("eth0", Degraded), ("eth1", Degraded)])
        );
        assert_eq!(all.routable, ["eth1"]);
    }

    #[test]
    fn accept_ra_counts_only_when_explicitly_true() {
        let mut a = def("a", DeviceType::Ethernet);
        a.accept_ra = Some(true);
        let mut b = def("b", DeviceType::Ethernet);
        b.accept_ra = Some(false);
        let p = plan(vec![a, b], &["a", "b"]);
        assert_eq!(p.routable, ["a"]);
    }

    #[test]
    fn absent_physical_device_is_dropped_virtual_is_kept() {
        let p = plan(
            vec![
                def("eth9", DeviceType::Ethernet),
                def("br0", DeviceType::Bridge),
            ],
            &[],
        );
        assert_eq!(p.link_local, ll(&[("br0", Degraded)]));
    }

    #[test]
    fn loopback_is_carrier_and_never_routable() {
        let mut lo = def("lo", DeviceType::Ethernet);
        lo.addresses.push("127.0.0.1/8".into());
        let p = plan(vec![lo], &["lo"]);
        assert_eq!(p.link_local, ll(&[("lo", Carrier)]));
        assert!(p.routable.is_empty());
    }

    #[test]
    fn ignore_carrier_without_link_local_leaves_the_first_list() {
        let mut v = def("v", DeviceType::Vlan);
        v.link_local_ipv6 = false;
        v.ignore_carrier = true;
        v.addresses.push("10.0.0.3/24".into());
        let p = plan(vec![v], &[]);
        assert!(p.link_local.is_empty());
        assert_eq!(p.routable, ["v"]);
    }

    #[test]
    fn members_are_carrier_even_with_link_local() {
        let mut m = def("m", DeviceType::Ethernet);
        m.link_local_ipv4 = true;
        m.bond = Some("bond0".into());
        let mut n = def("n", DeviceType::Ethernet);
        n.bridge = Some("br0".into());
        let p = plan(vec![m, n], &["m", "n"]);
        assert_eq!(p.link_local, ll(&[("m", Carrier), ("n", Carrier)]));
    }

    #[test]
    fn optional_activation_mode_and_other_renderers_are_skipped() {
        let mut a = def("a", DeviceType::Ethernet);
        a.optional = true;
        let mut b = def("b", DeviceType::Ethernet);
        b.activation_mode = Some(crate::netplan::config::ActivationMode::Off);
        let mut c = def("c", DeviceType::Ethernet);
        c.backend = Backend::NetworkManager;
        let mut d = def("d", DeviceType::Bridge);
        d.backend = Backend::OpenVSwitch;
        let p = plan(vec![a, b, c, d], &["a", "b", "c"]);
        assert!(p.is_empty(), "{p:?}");
    }

    #[test]
    fn later_definition_of_the_same_name_replaces_by_id_but_not_by_match() {
        // A matched interface already listed is not listed again by a later match.
        let mut first = def("eth0", DeviceType::Ethernet);
        first.dhcp4 = true;
        let mut second = def("any", DeviceType::Ethernet);
        second.has_match = true;
        second.match_name = Some("eth*".into());
        second.link_local_ipv6 = false;
        let p = plan(vec![first, second], &["eth0", "eth1"]);
        assert_eq!(p.link_local, ll(&[("eth0", Degraded), ("eth1", Carrier)]));
        assert_eq!(p.routable, ["eth0"]);
    }

    #[test]
    fn set_name_is_listed_once_when_anything_matches() {
        let mut d = def("lan", DeviceType::Ethernet);
        d.has_match = true;
        d.match_name = Some("en*".into());
        d.set_name = Some("lan0".into());
        assert_eq!(
            plan(vec![d.clone()], &["enp1s0", "enp2s0"]).link_local,
            ll(&[("lan0", Degraded)])
        );
        assert!(plan(vec![d], &["eth0"]).is_empty());
    }

    #[test]
    fn matching_rules() {
        let iface = PresentInterface {
            name: "enp3s0".into(),
            mac: Some("52:54:00:AB:cd:01".into()),
            driver: Some("virtio_net".into()),
        };
        let mut d = def("x", DeviceType::Ethernet);
        assert!(!matches_interface(&d, &iface));
        d.has_match = true;
        assert!(matches_interface(&d, &iface), "empty match matches all");
        d.match_macaddress = Some("52:54:00:ab:CD:01".into());
        assert!(matches_interface(&d, &iface));
        d.match_name = Some("enp[0-9]s*".into());
        assert!(matches_interface(&d, &iface));
        d.match_driver = vec!["e1000".into(), "virtio*".into()];
        assert!(matches_interface(&d, &iface));
        d.match_driver = vec!["e1000".into()];
        assert!(!matches_interface(&d, &iface));
        d.match_driver.clear();
        d.match_name = Some("eth*".into());
        assert!(!matches_interface(&d, &iface));
        d.match_name = None;
        d.match_macaddress = Some("52:54:00:ab:cd:02".into());
        assert!(!matches_interface(&d, &iface));
        let no_driver = PresentInterface::named("enp3s0");
        let mut d = def("x", DeviceType::Ethernet);
        d.has_match = true;
        d.match_driver = vec!["*".into()];
        assert!(!matches_interface(&d, &no_driver));
    }

    #[test]
    fn link_local_state_names_and_oper_states() {
        assert_eq!(Carrier.to_string(), "carrier");
        assert_eq!(Degraded.as_str(), "degraded");
        assert_eq!(OperState::from(Carrier), OperState::Carrier);
        assert_eq!(OperState::from(Degraded), OperState::Degraded);
    }
}
