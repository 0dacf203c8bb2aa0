//! Netplan's wait-online requirements, computed like Netplan's systemd generator
//! (`_netplan_networkd_generate_wait_online()` in netplan 1.2 / HEAD, src/gen-networkd.c).
//!
//! - [`load`] reads `{/lib,/etc,/run}/netplan/*.yaml` and applies them in Netplan's order and
//!   with Netplan's merge rules (see there);
//! - [`present`] lists the interfaces present now (names, MACs, drivers from sysfs);
//! - [`plan`] turns both into the two lists Netplan's override waits for (pure);
//! - [`upstream_lines`] renders them as the two command lines Netplan writes;
//! - [`ubuntu_definition`] turns the plan into Ubuntu's definition of online.

pub mod config;
mod definition;
pub mod error;
pub mod load;
pub mod plan;
pub mod present;
mod yaml;

use std::path::Path;

use crate::text::g_strescape;

pub use config::{ActivationMode, Backend, DeviceType, NetDef, NetplanConfig};
pub use definition::{InvalidInterface, ubuntu_definition};
pub use error::NetplanError;
pub use load::{DEFAULT_DIRS, Loader, config_files, load_dirs, load_files};
pub use plan::{
    LinkLocalState, NetplanPlan, PresentInterface, Renderers, compute, compute_for,
    matches_interface,
};
pub use present::{SYS_CLASS_NET, discover, discover_system};

/// The binary Netplan names in its override.
pub const UPSTREAM_BINARY: &str = "/lib/systemd/systemd-networkd-wait-online";

/// Loads the configuration of `dirs` and plans it against the interfaces under
/// `sys_class_net`.
pub fn plan_from<P: AsRef<Path>>(
    dirs: &[P],
    sys_class_net: &Path,
) -> Result<NetplanPlan, NetplanError> {
    plan_renderers_from(dirs, sys_class_net, Renderers::Networkd)
}

/// [`plan_from`] for the definitions of `renderers`.
pub fn plan_renderers_from<P: AsRef<Path>>(
    dirs: &[P],
    sys_class_net: &Path,
    renderers: Renderers,
) -> Result<NetplanPlan, NetplanError> {
    let config = load_dirs(dirs)?;
    let present = discover(sys_class_net)?;
    Ok(compute_for(&config, &present, renderers))
}

/// The plan on Netplan's directories and `/sys/class/net`, for the definitions of
/// `renderers`.
pub fn plan_system(renderers: Renderers) -> Result<NetplanPlan, NetplanError> {
    plan_renderers_from(&DEFAULT_DIRS, Path::new(SYS_CLASS_NET), renderers)
}

/// The command lines Netplan's override runs (after `ExecStart=`), with `binary` in place of
/// upstream's: first `BINARY -i IF:STATE …` (every interface must reach its state), then
/// `BINARY --any [--dns] -o routable -i IF …` (any one must be routable); netplan ≥ 1.2 passes
/// `--dns`, 1.1 does not. A line with no interface is left out. Names are written as Netplan
/// writes them: C escapes for control characters (`g_strescape()`, which Netplan applies to
/// `set-name:`) and `\;` for a `;` between blanks (`_netplan_scrub_systemd_unit_contents()`).
pub fn upstream_lines(plan: &NetplanPlan, binary: &str, dns: bool) -> Vec<String> {
    let mut lines = Vec::with_capacity(2);
    if !plan.link_local.is_empty() {
        let mut line = binary.to_string();
        for (name, state) in &plan.link_local {
            line.push_str(&format!(" -i {}:{state}", g_strescape(name)));
        }
        lines.push(scrub(&line));
    }
    if !plan.routable.is_empty() {
        let mut line = format!(
            "{binary} --any{} -o routable",
            if dns { " --dns" } else { "" }
        );
        for name in &plan.routable {
            line.push_str(&format!(" -i {}", g_strescape(name)));
        }
        lines.push(scrub(&line));
    }
    lines
}

/// `_netplan_scrub_systemd_unit_contents()` for one line: a `;` with a blank on both sides
/// becomes `\;` (systemd would otherwise split the command there).
fn scrub(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let blank = |c: Option<&char>| matches!(c, Some(' ' | '\t'));
    let mut out = String::with_capacity(line.len() + 4);
    for (i, c) in chars.iter().enumerate() {
        if *c == ';' && i > 0 && blank(chars.get(i - 1)) && blank(chars.get(i + 1)) {
            out.push_str("\\;");
        } else {
            out.push(*c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use LinkLocalState::{Carrier, Degraded};

    fn sample() -> NetplanPlan {
        NetplanPlan {
            link_local: vec![("eth0".into(), Degraded), ("lo".into(), Carrier)],
            routable: vec!["eth0".into(), "wlan0".into()],
        }
    }

    #[test]
    fn both_lines_with_and_without_dns() {
        assert_eq!(
            upstream_lines(&sample(), "/usr/bin/wait-online", true),
            [
                "/usr/bin/wait-online -i eth0:degraded -i lo:carrier",
                "/usr/bin/wait-online --any --dns -o routable -i eth0 -i wlan0",
            ]
        );
        assert_eq!(
            upstream_lines(&sample(), UPSTREAM_BINARY, false)[1],
            "/lib/systemd/systemd-networkd-wait-online --any -o routable -i eth0 -i wlan0"
        );
    }

    #[test]
    fn empty_lists_leave_their_line_out() {
        let mut p = sample();
        p.routable.clear();
        assert_eq!(
            upstream_lines(&p, "w", true),
            ["w -i eth0:degraded -i lo:carrier"]
        );
        let p = NetplanPlan {
            link_local: vec![],
            routable: vec!["br0".into()],
        };
        assert_eq!(
            upstream_lines(&p, "w", true),
            ["w --any --dns -o routable -i br0"]
        );
        assert!(upstream_lines(&NetplanPlan::default(), "w", true).is_empty());
    }

    #[test]
    fn names_are_escaped_like_netplan() {
        assert_eq!(
            upstream_lines(
                &NetplanPlan {
                    link_local: vec![],
                    routable: vec!["a\tb".into()]
                },
                "w",
                false
            ),
            ["w --any -o routable -i a\\tb"]
        );
        assert_eq!(scrub("x a ; b\t;\tc ;d; e ;"), "x a \\; b\t\\;\tc ;d; e ;");
    }
}
