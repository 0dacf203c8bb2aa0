//! `--ifupdown-defaults=PATH`: the settings of Debian's `/lib/ifupdown/wait-online.sh`, read
//! from the file it sources (`/etc/default/networking`), so that the opt-in drop-in for
//! `ifupdown-wait-online.service` runs wait-online with the administrator's choices:
//!
//! - `WAIT_ONLINE_METHOD`: `ifup` (also `iface`, `interface`; the default) waits for ifupdown
//!   (`--manager=ifupdown`); `route` also for a route to `WAIT_ONLINE_ADDRESS`
//!   (`--require-route`), or a default route when it is unset (`--require-default-route`);
//!   `ping` and `ping6` also for a route to `WAIT_ONLINE_ADDRESS`, which must then be an
//!   address (wait-online sends no ICMP: see [`Method::Ping`]); `no` and `none`: no wait.
//! - `WAIT_ONLINE_IFACE` (method `ifup`): one of these interfaces (`-i` each, `--any`), as
//!   Debian's script waits until `ifquery --state` lists any of them.
//! - `WAIT_ONLINE_TIMEOUT`: seconds, for `--timeout` when nothing else sets it (Debian's
//!   default, 300 s, when unset).
//!
//! The file is a shell script that Debian's script sources; here it is read, never run: a
//! line is empty, a comment, or `[export ]NAME=VALUE` with VALUE one word, or quoted in `'…'`
//! or `"…"` without `$`, `` ` `` or `\` inside. Anything else (a command, an expansion) is an
//! error naming the line, rather than a value guessed. Other variables (`CONFIGURE_INTERFACES`,
//! `EXCLUDE_INTERFACES`, `VERBOSE`) are not wait-online's and are ignored.

use std::path::Path;

use super::boot::{Origin, Setting, SettingSource};
use super::timespan::TimeSpan;
use super::{Args, ManagerChoice, UsageError};

/// How Debian's script decides, by `WAIT_ONLINE_METHOD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    /// `ifup`, `iface`, `interface`: ifupdown brought its interfaces up.
    Ifup,
    /// `route`: a route to `WAIT_ONLINE_ADDRESS` exists (a default route when unset).
    Route,
    /// `ping` (`ping6`): `WAIT_ONLINE_ADDRESS` answers ICMP echo. wait-online sends no ICMP
    /// (it needs a raw socket: CAP_NET_RAW, which the drop-in does not grant); the closest
    /// condition it can check without is that the kernel routes the address through an
    /// online interface: the ping would leave, its answer is not awaited.
    Ping,
    /// `no`, `none`: no wait.
    None,
}

/// What the file says, the defaults of Debian's script where it says nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfupdownDefaults {
    pub method: Method,
    /// `WAIT_ONLINE_IFACE`, split on blanks.
    pub interfaces: Vec<String>,
    /// `WAIT_ONLINE_ADDRESS`, when not empty.
    pub address: Option<String>,
    /// `WAIT_ONLINE_TIMEOUT` in seconds.
    pub timeout: u64,
}

/// Debian's script's `WAIT_ONLINE_TIMEOUT`.
pub const DEBIAN_TIMEOUT: u64 = 300;

/// Bound of the file read (Debian's is under 1 KiB).
const FILE_CAP: usize = 64 * 1024;

/// Reads `path` (bounded); a missing file is Debian's defaults, as its script only sources
/// the file when it exists. Errors are one line naming the file (and the line).
pub fn read(path: &Path) -> Result<IfupdownDefaults, String> {
    match crate::bounded_read::read(path, FILE_CAP) {
        Ok(bytes) => parse(&bytes).map_err(|err| format!("{}: {err}", path.display())),
        Err(err) if err.is_not_found() => parse(b"").map_err(|err| err.to_string()),
        Err(err) => Err(format!("--ifupdown-defaults: {err}")),
    }
}

/// Sets `args` from the file `--ifupdown-defaults` names, where the command line does not
/// say otherwise. Returns the file's timeout (for `--timeout` when nothing else sets it) and
/// whether the method asks for no wait at all.
pub(super) fn apply(args: &mut Args) -> Result<Option<(SettingSource, bool)>, UsageError> {
    let Some(path) = args.ifupdown_defaults.clone() else {
        return Ok(None);
    };
    let shown = crate::text::excerpt(&path.to_string_lossy());
    let defaults = read(&path).map_err(|err| UsageError(format!("--ifupdown-defaults: {err}")))?;
    if args.manager != ManagerChoice::Auto {
        return Err(UsageError(
            "--ifupdown-defaults sets --manager=ifupdown itself: drop --manager".to_string(),
        ));
    }
    args.manager = ManagerChoice::Ifupdown;
    let route = |address: &str| {
        super::parse_route_target(address).map_err(|why| {
            UsageError(format!(
                "--ifupdown-defaults: {shown}: WAIT_ONLINE_ADDRESS={}: {why} (wait-online sends no ICMP nor resolves names here: it requires a route to an address)",
                crate::text::excerpt(address)
            ))
        })
    };
    match (&defaults.method, &defaults.address) {
        (Method::Ifup, _) if defaults.interfaces.is_empty() => {}
        (Method::Ifup, _) => {
            if !args.interfaces.is_empty() {
                return Err(UsageError(format!(
                    "--ifupdown-defaults: {shown} names WAIT_ONLINE_IFACE: give it or -i, not both"
                )));
            }
            for name in &defaults.interfaces {
                let wanted = super::parse_interface(name).map_err(|why| {
                    UsageError(format!(
                        "--ifupdown-defaults: {shown}: WAIT_ONLINE_IFACE: {why}"
                    ))
                })?;
                args.interfaces.push(wanted);
            }
            // Debian's script waits until any of them is listed.
            args.any = true;
        }
        (Method::Route, None) => {
            // Debian's script greps both families' tables for `default`.
            args.require_default_route
                .get_or_insert(crate::core::default_route::RouteFamily::Any);
        }
        (Method::Route | Method::Ping, Some(address)) => args.require_route.push(route(address)?),
        // parse() refuses ping without an address.
        (Method::Ping, None) | (Method::None, _) => {}
    }
    let timeout = SettingSource {
        setting: Setting::Timeout,
        value: TimeSpan::Finite(std::time::Duration::from_secs(defaults.timeout)),
        origin: Origin::File {
            path,
            variable: "WAIT_ONLINE_TIMEOUT",
        },
    };
    Ok(Some((timeout, defaults.method == Method::None)))
}

/// Parses the file's text (see the module's documentation).
pub fn parse(text: &[u8]) -> Result<IfupdownDefaults, String> {
    let text = std::str::from_utf8(text).map_err(|_| "not UTF-8 text".to_string())?;
    let mut method = "ifup".to_string();
    let mut interfaces = String::new();
    let mut address = String::new();
    let mut timeout = None;
    for (number, line) in text.lines().enumerate() {
        let at = |why: &str| format!("line {}: {why}", number + 1);
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let assignment = line.strip_prefix("export ").unwrap_or(line).trim_start();
        let Some((name, value)) = assignment.split_once('=') else {
            return Err(at(
                "not NAME=VALUE (wait-online reads this file, never runs it)",
            ));
        };
        if name.is_empty() || !name.chars().all(|c| c == '_' || c.is_ascii_alphanumeric()) {
            return Err(at("not NAME=VALUE (a shell variable name)"));
        }
        let value = value_of(value).map_err(&at)?;
        match name {
            "WAIT_ONLINE_METHOD" => method = value,
            "WAIT_ONLINE_IFACE" => interfaces = value,
            "WAIT_ONLINE_ADDRESS" => address = value,
            "WAIT_ONLINE_TIMEOUT" => {
                let seconds = value.parse::<u64>().map_err(|_| {
                    at("WAIT_ONLINE_TIMEOUT is not a number of seconds (as `seq` needs)")
                })?;
                timeout = Some(seconds);
            }
            _ => {}
        }
    }
    let method = match method.as_str() {
        "ifup" | "iface" | "interface" => Method::Ifup,
        "route" => Method::Route,
        "ping" | "ping6" => Method::Ping,
        "no" | "none" => Method::None,
        other => {
            return Err(format!(
                "WAIT_ONLINE_METHOD={other}: unknown (ifup, route, ping, ping6 or none)"
            ));
        }
    };
    let address = (!address.is_empty()).then_some(address);
    if method == Method::Ping && address.is_none() {
        // Debian's script's words.
        return Err("WAIT_ONLINE_METHOD=ping: No WAIT_ONLINE_ADDRESS specified".to_string());
    }
    Ok(IfupdownDefaults {
        method,
        interfaces: interfaces.split_whitespace().map(str::to_owned).collect(),
        address,
        timeout: timeout.unwrap_or(DEBIAN_TIMEOUT),
    })
}

/// The value of `NAME=VALUE`: one word, or one quoted string, with nothing a shell would
/// expand or run.
fn value_of(value: &str) -> Result<String, &'static str> {
    const EXPANDS: &[char] = &['$', '`', '\\'];
    const SPECIAL: &[char] = &[
        '$', '`', '\\', '"', '\'', ' ', '\t', ';', '&', '|', '<', '>', '(', ')', '*', '?', '[',
        '~', '#',
    ];
    for quote in ['\'', '"'] {
        if let Some(inner) = value.strip_prefix(quote) {
            let Some(inner) = inner.strip_suffix(quote) else {
                return Err("a quoted value that does not end at the end of the line");
            };
            if inner.contains(quote) || (quote == '"' && inner.contains(EXPANDS)) {
                return Err("a value with quotes, `$`, backquotes or backslashes inside");
            }
            return Ok(inner.to_owned());
        }
    }
    if value.contains(SPECIAL) {
        return Err("a value a shell would split or expand: quote it, without `$` or backquotes");
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (text, method, interfaces, address, timeout)
    type Row<'a> = (&'a str, Method, &'a [&'a str], Option<&'a str>, u64);

    #[test]
    fn debians_file_and_each_method() {
        // Debian's /etc/default/networking, every line commented out: its defaults.
        let debian = b"# Configuration for networking init script being run during\n\
            # the boot sequence\n\n#CONFIGURE_INTERFACES=yes\n#WAIT_ONLINE_METHOD=ifup\n\
            #WAIT_ONLINE_TIMEOUT=300\n";
        let got = parse(debian).expect("Debian's file");
        assert_eq!(
            got,
            IfupdownDefaults {
                method: Method::Ifup,
                interfaces: Vec::new(),
                address: None,
                timeout: DEBIAN_TIMEOUT,
            }
        );
        // (text, method, interfaces, address, timeout)
        let table: [Row; 9] = [
            ("WAIT_ONLINE_METHOD=iface\n", Method::Ifup, &[], None, 300),
            ("WAIT_ONLINE_METHOD=interface", Method::Ifup, &[], None, 300),
            (
                "WAIT_ONLINE_IFACE=\"eth0  eth1\"\nWAIT_ONLINE_TIMEOUT=30\n",
                Method::Ifup,
                &["eth0", "eth1"],
                None,
                30,
            ),
            ("WAIT_ONLINE_METHOD=route", Method::Route, &[], None, 300),
            (
                "export WAIT_ONLINE_METHOD='route'\nWAIT_ONLINE_ADDRESS=10.0.0.0/8",
                Method::Route,
                &[],
                Some("10.0.0.0/8"),
                300,
            ),
            (
                "WAIT_ONLINE_METHOD=ping\nWAIT_ONLINE_ADDRESS=192.0.2.1\n",
                Method::Ping,
                &[],
                Some("192.0.2.1"),
                300,
            ),
            (
                "WAIT_ONLINE_METHOD=ping6\r\nWAIT_ONLINE_ADDRESS=2001:db8::1\r\n",
                Method::Ping,
                &[],
                Some("2001:db8::1"),
                300,
            ),
            ("WAIT_ONLINE_METHOD=none", Method::None, &[], None, 300),
            (
                "  CONFIGURE_INTERFACES=no\nVERBOSE=yes\nWAIT_ONLINE_METHOD=no\n",
                Method::None,
                &[],
                None,
                300,
            ),
        ];
        for (text, method, interfaces, address, timeout) in table {
            let got = parse(text.as_bytes()).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            assert_eq!(
                got,
                IfupdownDefaults {
                    method,
                    interfaces: interfaces.iter().map(|s| s.to_string()).collect(),
                    address: address.map(str::to_owned),
                    timeout,
                },
                "{text:?}"
            );
        }
    }

    #[test]
    fn anything_a_shell_would_run_or_expand_is_an_error_naming_the_line() {
        // (text, the error's start)
        let table = [
            ("# c\n. /etc/other\n", "line 2: not NAME=VALUE"),
            ("WAIT_ONLINE_TIMEOUT=$T\n", "line 1: a value a shell would"),
            (
                "WAIT_ONLINE_TIMEOUT=\"$T\"\n",
                "line 1: a value with quotes",
            ),
            ("WAIT_ONLINE_IFACE=`ls`\n", "line 1: a value a shell would"),
            (
                "WAIT_ONLINE_IFACE=eth0 eth1\n",
                "line 1: a value a shell would",
            ),
            ("WAIT_ONLINE_IFACE='eth0\n", "line 1: a quoted value"),
            ("WAIT_ONLINE-X=1\n", "line 1: not NAME=VALUE (a shell"),
            (
                "\n\nWAIT_ONLINE_TIMEOUT=5m\n",
                "line 3: WAIT_ONLINE_TIMEOUT is not",
            ),
            (
                "WAIT_ONLINE_METHOD=icmp\n",
                "WAIT_ONLINE_METHOD=icmp: unknown",
            ),
            (
                "WAIT_ONLINE_METHOD=ping\n",
                "WAIT_ONLINE_METHOD=ping: No WAIT_ONLINE_ADDRESS specified",
            ),
        ];
        for (text, want) in table {
            let err = parse(text.as_bytes()).expect_err(text);
            assert!(err.starts_with(want), "{text:?}: {err}");
            assert!(!err.contains('\n'), "{err}");
        }
    }

    #[test]
    fn bytes_that_are_not_utf8_are_an_error() {
        assert_eq!(
            parse(b"WAIT_ONLINE_METHOD=\xff\n"),
            Err("not UTF-8 text".to_string())
        );
    }

    #[test]
    fn a_missing_file_is_debians_defaults() {
        let got = read(Path::new("/nonexistent/wait-online-test/networking")).expect("missing");
        assert_eq!(got.method, Method::Ifup);
        assert_eq!(got.timeout, DEBIAN_TIMEOUT);
    }

    /// The options a command line gives with a file of `text` (`None`: no such file).
    fn options(text: Option<&str>, extra: &[&str]) -> Result<super::super::Options, String> {
        let dir = std::env::temp_dir().join(format!(
            "wait-online-ifupdown-defaults-{}-{}",
            std::process::id(),
            crate::sys::boottime_now().as_nanos()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("networking");
        if let Some(text) = text {
            std::fs::write(&path, text).expect("write");
        }
        let flag = format!("--ifupdown-defaults={}", path.display());
        let first = ["wait-online", flag.as_str()];
        let args = first.iter().chain(extra);
        let parsed = super::super::parse_in_environment(args, Default::default());
        std::fs::remove_dir_all(&dir).expect("remove temp dir");
        match parsed {
            Ok(super::super::Command::Run(options)) => Ok(options),
            Ok(super::super::Command::Print(text)) => Err(format!("printed {text}")),
            Err(err) => Err(err.0),
        }
    }

    #[test]
    fn the_file_sets_options_the_command_line_does_not() {
        use crate::core::default_route::RouteFamily;
        let secs = |n| Some(std::time::Duration::from_secs(n));
        // No file: Debian's defaults (method ifup, 300 s).
        let got = options(None, &[]).expect("no file");
        assert_eq!(got.manager, ManagerChoice::Ifupdown);
        assert_eq!(got.timeout, secs(300));
        assert!(matches!(got.settings[0].origin, Origin::File { .. }));
        assert!(!got.no_wait);
        // An explicit --timeout wins over the file's.
        let got = options(Some("WAIT_ONLINE_TIMEOUT=30\n"), &["--timeout=5"]).expect("timeout");
        assert_eq!(got.timeout, secs(5));
        let got = options(Some("WAIT_ONLINE_TIMEOUT=30\n"), &[]).expect("timeout");
        assert_eq!(got.timeout, secs(30));
        // ifup with interfaces: any of them.
        let got = options(Some("WAIT_ONLINE_IFACE='eth0 eth1'\n"), &[]).expect("iface");
        let names: Vec<_> = got
            .requirements
            .interfaces
            .iter()
            .map(|i| i.name.to_string())
            .collect();
        assert_eq!(names, ["eth0", "eth1"]);
        assert!(got.requirements.any);
        // route: a default route of either family, or a route to the address.
        let got = options(Some("WAIT_ONLINE_METHOD=route\n"), &[]).expect("route");
        assert_eq!(got.requirements.route.default_route, Some(RouteFamily::Any));
        assert!(got.requirements.routes.is_empty());
        let text = "WAIT_ONLINE_METHOD=route\nWAIT_ONLINE_ADDRESS=10.0.0.0/8\n";
        let got = options(Some(text), &[]).expect("route to");
        assert_eq!(got.requirements.routes.len(), 1);
        assert_eq!(got.requirements.route.default_route, None);
        // ping: a route to the address.
        let text = "WAIT_ONLINE_METHOD=ping\nWAIT_ONLINE_ADDRESS=192.0.2.1\n";
        let got = options(Some(text), &[]).expect("ping");
        assert_eq!(got.requirements.routes.len(), 1);
        assert_eq!(got.manager, ManagerChoice::Ifupdown);
        // none: no wait.
        let got = options(Some("WAIT_ONLINE_METHOD=none\n"), &[]).expect("none");
        assert!(got.no_wait);
    }

    #[test]
    fn what_cannot_be_honoured_is_a_usage_error() {
        // (file, extra arguments, the error contains)
        let table: [(&str, &[&str], &str); 5] = [
            ("", &["--manager=networkd"], "drop --manager"),
            (
                "WAIT_ONLINE_IFACE=eth0\n",
                &["-i", "eth1"],
                "give it or -i, not both",
            ),
            (
                "WAIT_ONLINE_METHOD=ping\nWAIT_ONLINE_ADDRESS=example.org\n",
                &[],
                "WAIT_ONLINE_ADDRESS=example.org",
            ),
            (
                "WAIT_ONLINE_TIMEOUT=$(x)\n",
                &[],
                "line 1: a value a shell would",
            ),
            ("WAIT_ONLINE_IFACE=\"a:b:c:d\"\n", &[], "WAIT_ONLINE_IFACE"),
        ];
        for (text, extra, want) in table {
            let err = options(Some(text), extra).expect_err(text);
            assert!(err.contains(want), "{text:?} {extra:?}: {err}");
            assert!(
                err.starts_with("--ifupdown-defaults") || err.contains("--manager"),
                "{err}"
            );
            assert!(!err.contains('\n'), "{err}");
        }
    }
}
