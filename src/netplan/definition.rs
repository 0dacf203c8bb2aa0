//! `--online-definition=ubuntu`: Ubuntu's definition of online, with the interfaces and
//! states Netplan would write into its wait-online override ([`NetplanPlan`]), refined by the
//! command line.

use super::plan::NetplanPlan;
use crate::core::goal::UbuntuDefinition;
use crate::core::ifname::IfNameError;
use crate::core::{IfName, InterfaceRequirement, OperState, OperStateRange, Requirements};

/// Netplan's configuration names an interface that wait-online cannot wait for.
#[derive(Debug, thiserror::Error)]
#[error("Netplan configuration names an interface wait-online cannot wait for: {0}")]
pub struct InvalidInterface(#[source] IfNameError);

/// Builds the definition from Netplan's plan and the command line's refinements: `-i IF[:MIN]`
/// adds an interface to condition (2) or changes its state, `--ignore` drops interfaces from
/// every condition, `-4`/`-6` apply to every condition, `--dns=no` drops condition (4),
/// `--dns-probe` adds a name that must resolve to it, `--require-default-route` and
/// `--require-gateway` refine condition (3) (and so do `--require-route` and `--reach`),
/// `--carrier-timeout` conditions (2) and (3),
/// `--dns-grace` condition (4);
/// `--require-time-sync` adds the clock, apart from the numbered conditions.
pub fn ubuntu_definition(
    plan: &NetplanPlan,
    refinements: &Requirements,
) -> Result<UbuntuDefinition, InvalidInterface> {
    let ignored = |name: &str| {
        refinements
            .ignore
            .iter()
            .any(|pattern| pattern.matches(name))
    };
    // The name comes from YAML (`set-name: "a\nb"`): IfName's error quotes it as one line.
    let valid = |name: &str| IfName::new(name).map_err(InvalidInterface);
    let mut link_local = Vec::new();
    for (name, state) in &plan.link_local {
        if ignored(name) {
            continue;
        }
        link_local.push(InterfaceRequirement {
            name: valid(name)?,
            range: Some(at_least(OperState::from(*state))),
        });
    }
    for wanted in &refinements.interfaces {
        let range = wanted.range.or(Some(at_least(OperState::Degraded)));
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
        .collect::<Result<Vec<_>, InvalidInterface>>()?;
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
            oper_range: Some(at_least(OperState::Routable)),
            families: refinements.families,
            dns: refinements.dns,
            dns_probe: refinements.dns_probe.clone(),
            route: refinements.route,
            routes: refinements.routes.clone(),
            reach: refinements.reach.clone(),
            // No interface left that could become routable: (3) cannot hold.
            carrier_timeout: refinements.carrier_timeout,
            // (4) is the only condition that needs a DNS server.
            dns_grace: refinements.dns_grace,
            ..Requirements::default()
        },
        time_sync: refinements.time_sync,
        connectivity: refinements.connectivity.clone(),
    })
}

/// `-i IF:MIN` without a maximum: from `min` up to routable.
fn at_least(min: OperState) -> OperStateRange {
    OperStateRange {
        min,
        max: OperState::Routable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netplan::LinkLocalState;

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
        let err = ubuntu_definition(&plan, &Requirements::default())
            .unwrap_err()
            .to_string();
        assert!(!err.chars().any(char::is_control), "{err:?}");
        assert!(err.contains(r"'a ; b\t; c\t; d \n 123 ; echo '"), "{err}");
    }

    /// The states are the ones the command line's words give.
    #[test]
    fn states_are_the_command_lines() {
        assert_eq!(Ok(at_least(OperState::Carrier)), "carrier".parse());
        assert_eq!(Ok(at_least(OperState::Degraded)), "degraded".parse());
        assert_eq!(Ok(at_least(OperState::Routable)), "routable".parse());
    }
}
