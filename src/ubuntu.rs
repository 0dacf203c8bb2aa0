//! `--online-definition=ubuntu`: Ubuntu's definition of online, with the interfaces and
//! states Netplan would write into its wait-online override, refined by the command line.

use crate::core::glob::Glob;
use crate::core::goal::UbuntuDefinition;
use crate::core::{IfName, InterfaceRequirement, OperStateRange, Requirements};
use crate::netplan::{LinkLocalState, NetplanPlan};

/// Builds the definition from Netplan's plan and the command line's refinements: `-i IF[:MIN]`
/// adds an interface to condition (2) or changes its state, `--ignore` drops interfaces from
/// every condition, `-4`/`-6` apply to every condition, `--dns=no` drops condition (4),
/// `--dns-probe` adds a name that must resolve to it, `--require-default-route` and
/// `--require-gateway` refine condition (3), `--carrier-timeout` conditions (2) and (3),
/// `--dns-grace` condition (4).
pub fn definition(
    plan: &NetplanPlan,
    refinements: &Requirements,
) -> Result<UbuntuDefinition, String> {
    let ignored = |name: &str| {
        refinements
            .ignore
            .iter()
            .any(|glob: &Glob| glob.matches(name))
    };
    let valid = |name: &str| {
        // The name comes from YAML (`set-name: "a\nb"`): IfName's error quotes it as one line.
        IfName::new(name).map_err(|err| {
            format!("Netplan configuration names an interface wait-online cannot wait for: {err}")
        })
    };
    let mut link_local = Vec::new();
    for (name, state) in &plan.link_local {
        if ignored(name) {
            continue;
        }
        let min = match state {
            LinkLocalState::Carrier => "carrier",
            LinkLocalState::Degraded => "degraded",
        };
        link_local.push(InterfaceRequirement {
            name: valid(name)?,
            range: min.parse::<OperStateRange>().ok(),
        });
    }
    for wanted in &refinements.interfaces {
        let range = wanted.range.or_else(|| "degraded".parse().ok());
        match link_local.iter_mut().find(|r| r.name == wanted.name) {
            Some(existing) => existing.range = range,
            None => link_local.push(InterfaceRequirement {
                name: wanted.name.clone(),
                range,
            }),
        }
    }
    let routable = plan
        .routable
        .iter()
        .filter(|name| !ignored(name))
        .map(|name| {
            Ok(InterfaceRequirement {
                name: valid(name)?,
                range: None,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(UbuntuDefinition {
        link_local: Requirements {
            interfaces: link_local,
            families: refinements.families,
            carrier_timeout: refinements.carrier_timeout,
            ..Requirements::default()
        },
        routable: Requirements {
            interfaces: routable,
            any: true,
            oper_range: "routable".parse().ok(),
            families: refinements.families,
            dns: refinements.dns,
            dns_probe: refinements.dns_probe.clone(),
            route: refinements.route,
            // No interface left that could become routable: (3) cannot hold.
            carrier_timeout: refinements.carrier_timeout,
            // (4) is the only condition that needs a DNS server.
            dns_grace: refinements.dns_grace,
            ..Requirements::default()
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by fuzz/fuzz_targets/netplan_yaml.rs from tests/fixtures/netplan's escaping case:
    /// a `set-name:` with a line break gave a two-line error.
    #[test]
    fn an_invalid_name_from_netplan_gives_one_line() {
        let plan = NetplanPlan {
            link_local: vec![(
                "a ; b\t; c\t; d \n 123 ; echo ".to_string(),
                LinkLocalState::Carrier,
            )],
            routable: vec![],
        };
        let err = definition(&plan, &Requirements::default()).unwrap_err();
        assert!(!err.chars().any(char::is_control), "{err:?}");
        assert!(err.contains(r"'a ; b\t; c\t; d \n 123 ; echo '"), "{err}");
    }
}
