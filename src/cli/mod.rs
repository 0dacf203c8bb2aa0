//! The command line: upstream systemd-networkd-wait-online's options, spelled the same, plus
//! `--manager=`. Bad input becomes one line on stderr and exit status 1, never a panic.
//!
//! Its vocabulary lives beside it, outside the decision core: systemd's time spans
//! ([`timespan`]) and booleans ([`boolean`]), shell globs through glibc ([`glob`]), and the
//! completion scripts generated from the same clap command ([`completions`]).

use std::ffi::OsString;
use std::time::Duration;

use std::error::Error as _;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{CommandFactory, Parser};

pub mod boolean;
pub mod boot;
pub mod completions;
pub mod glob;
pub mod http_probe;
pub mod ifupdown_defaults;
pub mod timespan;

use self::boolean::parse_boolean;
use self::boot::{
    Credentials, DEFAULT_TIMEOUT, KernelCommandLine, Origin, Setting, SettingSource, resolve,
};
use self::glob::Glob;
use self::timespan::{TimeSpan, parse_timespan};
use crate::core::connectivity::{ConnectivityRequirement, HttpProbe};
use crate::core::default_route::{RouteFamily, RouteRequirement};
use crate::core::reach::{Host, ReachTarget};
use crate::core::route::Prefix;
use crate::core::{IfName, InterfaceRequirement, OperStateRange, RequiredFamilies, Requirements};
use crate::text::{EXCERPT_BYTES, excerpt, one_line as one_line_text};

/// Block until network is configured.
///
/// Waits until the requested links are online, computing each link's operational state from the
/// kernel over rtnetlink, and reading systemd-networkd's per-link state files when
/// systemd-networkd manages the machine. Exits 0 when the requirements hold, 1 on timeout.
#[derive(Debug, Parser)]
#[command(
    name = "wait-online",
    version,
    args_override_self = true,
    max_term_width = 98,
    after_help = "See the wait-online(8) man page for details."
)]
struct Args {
    /// Do not show status information
    #[arg(short, long)]
    quiet: bool,

    /// Block until at least these interfaces have appeared (repeatable)
    #[arg(
        short = 'i',
        long = "interface",
        value_name = "INTERFACE[:MIN_OPERSTATE[:MAX_OPERSTATE]]",
        value_parser = parse_interface,
        action = clap::ArgAction::Append
    )]
    interfaces: Vec<InterfaceRequirement>,

    /// Don't take these interfaces into account (shell glob, repeatable)
    #[arg(long, value_name = "INTERFACE", action = clap::ArgAction::Append)]
    ignore: Vec<String>,

    /// Required operational state
    #[arg(
        short = 'o',
        long = "operational-state",
        value_name = "MIN_OPERSTATE[:MAX_OPERSTATE]",
        value_parser = parse_range
    )]
    operational_state: Option<OperStateRange>,

    /// Requires at least one IPv4 address
    #[arg(short = '4', long)]
    ipv4: bool,

    /// Requires at least one IPv6 address
    #[arg(short = '6', long)]
    ipv6: bool,

    /// Wait until at least one of the interfaces is online
    #[arg(long)]
    any: bool,

    /// Maximum time to wait for network connectivity (0 or infinity: forever; default:
    /// 120s, or the credential wait-online.timeout, or wait_online.timeout= on the kernel
    /// command line)
    #[arg(long, value_name = "SECS", value_parser = parse_timeout)]
    timeout: Option<TimeSpan>,

    /// Stop waiting for a link that has had no carrier for this long since the wait began
    /// (an unplugged cable); give up at once when no link is left (default: off, or
    /// $WAIT_ONLINE_CARRIER_TIMEOUT, the credential wait-online.carrier-timeout,
    /// wait_online.carrier_timeout= on the kernel command line)
    #[arg(long, value_name = "SECS", value_parser = parse_timeout)]
    carrier_timeout: Option<TimeSpan>,

    /// Require at least one DNS server to be accessible
    #[arg(
        long,
        value_name = "BOOL",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "yes",
        value_parser = parse_dns_boolean
    )]
    dns: Option<bool>,

    /// With --dns or --online-definition=ubuntu: give up at once (exit 1) when every other
    /// condition has held for this long and no DNS server is configured anywhere (default:
    /// off, or $WAIT_ONLINE_DNS_GRACE, the credential wait-online.dns-grace,
    /// wait_online.dns_grace= on the kernel command line)
    #[arg(long, value_name = "SECS", value_parser = parse_timeout)]
    dns_grace: Option<TimeSpan>,

    /// Also require that NAME resolves (through systemd-resolved, or the servers of
    /// /etc/resolv.conf when resolved is absent)
    #[arg(long, value_name = "NAME", value_parser = parse_probe_name)]
    dns_probe: Option<String>,

    /// Check a whole definition of "online" (ubuntu: Netplan's interfaces, four conditions,
    /// one deadline) instead of the requirements above
    #[arg(long, value_name = "NAME", value_enum)]
    online_definition: Option<OnlineDefinition>,

    /// With --online-definition=ubuntu: print the equivalent upstream command lines and exit
    #[arg(long)]
    print_netplan_lines: bool,
    /// At exit, print one JSON document with the verdict and every judged interface
    #[arg(long)]
    json: bool,

    /// Show what is awaited and why, live while waiting, and a summary with known pitfalls at exit
    #[arg(long)]
    explain: bool,

    /// Also require a default route (IPv4, IPv6 or either) through an online interface
    #[arg(
        long,
        value_name = "4|6|any",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "any",
        value_parser = parse_route_family
    )]
    require_default_route: Option<RouteFamily>,

    /// Also require that the default gateway has answered (its neighbour entry is
    /// REACHABLE, STALE, DELAY or PROBE); sends no packets
    #[arg(long)]
    require_gateway: bool,

    /// Like --require-gateway, and make an unanswered gateway answer: send it an empty UDP
    /// datagram (discard port) from the route's interface, again every 3 s while it does not
    #[arg(long)]
    probe_gateway: bool,

    /// Also require the system clock to be synchronised (the kernel's NTP status, or
    /// systemd-timesyncd's marker in /run/systemd/timesync)
    #[arg(long)]
    require_time_sync: bool,

    /// Also require that the kernel's route to ADDR (to all of ADDR/LEN) goes through an online
    /// interface (repeatable)
    #[arg(
        long,
        value_name = "ADDR[/LEN]",
        value_parser = parse_route_target,
        action = clap::ArgAction::Append
    )]
    require_route: Vec<Prefix>,

    /// Also require that a TCP connection to HOST:PORT succeeds (a name or an address, IPv6
    /// in brackets; repeatable); tried once the interfaces are online, with backoff
    #[arg(
        long,
        value_name = "HOST:PORT",
        value_parser = parse_reach_target,
        action = clap::ArgAction::Append
    )]
    reach: Vec<ReachTarget>,

    /// Also require that the Internet works, as the network manager judges it
    /// (NetworkManager's connectivity FULL; else --http-probe decides)
    #[arg(long)]
    require_connectivity: bool,

    /// Also require that a plain HTTP GET of URL gets a 2xx answer with no redirect (as
    /// NetworkManager's connectivity check)
    #[arg(long, value_name = "URL", value_parser = http_probe::parse_http_probe)]
    http_probe: Option<HttpProbe>,

    /// With --http-probe: the body must also start with TEXT (NetworkManager's response=)
    #[arg(long, value_name = "TEXT", value_parser = http_probe::parse_expect)]
    http_probe_expect: Option<String>,

    /// Where link setup states come from: auto, networkd, networkmanager, ifupdown or none
    #[arg(long, value_name = "MANAGER", value_enum, default_value_t = ManagerChoice::Auto)]
    manager: ManagerChoice,

    /// Wait as Debian's ifupdown-wait-online.service would, with WAIT_ONLINE_METHOD,
    /// WAIT_ONLINE_IFACE, WAIT_ONLINE_ADDRESS and WAIT_ONLINE_TIMEOUT read from PATH
    /// (/etc/default/networking; read, never run); sets --manager=ifupdown
    #[arg(long, value_name = "PATH")]
    ifupdown_defaults: Option<std::path::PathBuf>,

    /// Print a completion script for SHELL (bash, zsh, fish) and exit
    #[arg(long, value_name = "SHELL", value_enum)]
    completions: Option<completions::Shell>,

    /// Not options: the environment variables, credentials and kernel command line that set
    /// `--timeout`, `--carrier-timeout` and `--dns-grace` when the command line does not.
    #[arg(skip)]
    environment: Environment,
}

/// The clap command the parser uses (option names for messages, shell completions).
fn command() -> clap::Command {
    Args::command()
}

/// Which network manager's per-link state to honour (`--manager=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ManagerChoice {
    /// Per link: systemd-networkd when its state file manages the link, else NetworkManager
    /// when it runs and manages the device, else kernel facts.
    Auto,
    /// Always read systemd-networkd's state files.
    Networkd,
    /// Always follow NetworkManager over D-Bus (waiting for it when it is not running).
    #[value(name = "networkmanager")]
    NetworkManager,
    /// Judge links on kernel facts alone.
    None,
    /// Debian's ifupdown: the interfaces /etc/network/interfaces brings up, by ifupdown's
    /// state in /run/network.
    Ifupdown,
}

/// A whole definition of "online" (`--online-definition=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnlineDefinition {
    /// Ubuntu's: optional interfaces never waited for, every other one link-local or better,
    /// one globally routable, DNS working on a routable one.
    Ubuntu,
}

/// Everything the program was asked to do, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub requirements: Requirements,
    /// `None` waits forever.
    pub timeout: Option<Duration>,
    pub quiet: bool,
    pub manager: ManagerChoice,
    /// `--online-definition=`: `requirements` then refine the definition's own.
    pub definition: Option<OnlineDefinition>,
    /// `--print-netplan-lines`.
    pub print_netplan_lines: bool,
    /// `--json`: a JSON report on stdout at exit.
    pub json: bool,
    /// `--explain`: live view while waiting, summary and pitfalls at exit.
    pub explain: bool,
    /// `--ifupdown-defaults` says `WAIT_ONLINE_METHOD=none`: exit 0 at once, as Debian's
    /// script does.
    pub no_wait: bool,
    /// Where `--timeout`, `--carrier-timeout` and `--dns-grace` came from (those that are
    /// set, in that order), to be logged once.
    pub settings: Vec<SettingSource>,
    /// Why the kernel command line could not be read, and whether that is expected (it does
    /// not exist or is hidden, as PID 1's arguments are from a sandboxed service in a container).
    pub kernel_command_line_unread: Option<(String, bool)>,
}

/// What the command line asks for: run, or print text (help, version) and exit 0.
#[derive(Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "one command per run, built once: boxing would only add indirection"
)]
pub enum Command {
    Run(Options),
    Print(String),
}

/// A command line that cannot be run; the message is one line.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Sets `--carrier-timeout` when the command line does not. Command lines owned by someone
/// else (Netplan's override of systemd-networkd-wait-online.service) are then reached by one
/// `Environment=` line in a drop-in; an empty value is the same as unset.
pub const CARRIER_TIMEOUT_ENV: &str = "WAIT_ONLINE_CARRIER_TIMEOUT";

/// Sets `--dns-grace` when the command line does not, as [`CARRIER_TIMEOUT_ENV`] does
/// `--carrier-timeout`; ignored by a command line that requires no DNS server (Netplan's
/// first line), as one `Environment=` line reaches both of Netplan's.
pub const DNS_GRACE_ENV: &str = "WAIT_ONLINE_DNS_GRACE";

/// What sets `--timeout`, `--carrier-timeout` and `--dns-grace` when the command line does
/// not, highest precedence first: the environment variables (`None`: unset), the credentials
/// and the kernel command line ([`boot`]).
#[derive(Debug, Default)]
pub struct Environment {
    /// [`CARRIER_TIMEOUT_ENV`].
    pub carrier_timeout: Option<OsString>,
    /// [`DNS_GRACE_ENV`].
    pub dns_grace: Option<OsString>,
    /// `$CREDENTIALS_DIRECTORY/wait-online.*`.
    pub credentials: Credentials,
    /// `wait_online.*=` on the kernel command line.
    pub kernel: KernelCommandLine,
}

impl Environment {
    /// This process's: its environment variables, its service's credentials and the kernel
    /// command line.
    pub fn of_this_process() -> Environment {
        Environment {
            carrier_timeout: std::env::var_os(CARRIER_TIMEOUT_ENV),
            dns_grace: std::env::var_os(DNS_GRACE_ENV),
            credentials: Credentials::of_this_service(),
            kernel: KernelCommandLine::of_this_system(),
        }
    }
}

/// Parses `args` (including the program name), with the environment of this process
/// ([`Environment::of_this_process`]).
pub fn parse<I, T>(args: I) -> Result<Command, UsageError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    parse_in_environment(args, Environment::of_this_process())
}

/// [`parse`] with the value of [`CARRIER_TIMEOUT_ENV`] given (`None`: unset), and
/// [`DNS_GRACE_ENV`] unset.
pub fn parse_with_environment<I, T>(
    args: I,
    carrier_timeout_env: Option<OsString>,
) -> Result<Command, UsageError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let environment = Environment {
        carrier_timeout: carrier_timeout_env,
        ..Environment::default()
    };
    parse_in_environment(args, environment)
}

/// [`parse`] with the environment given.
pub fn parse_in_environment<I, T>(args: I, environment: Environment) -> Result<Command, UsageError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    if let Some(message) = non_utf8_argument(&args) {
        return Err(UsageError(message));
    }
    let mut parsed = match Args::try_parse_from(&args) {
        Ok(parsed) => parsed,
        Err(err) => {
            return match err.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                    Ok(Command::Print(err.to_string()))
                }
                _ => Err(usage_error(&err, &args)),
            };
        }
    };
    if let Some(shell) = parsed.completions {
        return Ok(Command::Print(completions::script(shell, command())));
    }
    parsed.environment = environment;
    Options::try_from(parsed).map(Command::Run)
}

/// The options clap parsed, validated together: what no single value parser can judge.
impl TryFrom<Args> for Options {
    type Error = UsageError;

    fn try_from(mut args: Args) -> Result<Options, UsageError> {
        let ifupdown_defaults = ifupdown_defaults::apply(&mut args)?;
        let mut seen: Vec<&IfName> = Vec::new();
        for wanted in &args.interfaces {
            if seen.contains(&&wanted.name) {
                return Err(UsageError(format!(
                    "interface '{}' is given more than once with -i/--interface; give it once, with the range it needs",
                    wanted.name
                )));
            }
            seen.push(&wanted.name);
        }
        // Each of the three: the command line, else the environment, a credential, the kernel
        // command line (the first that gives a value wins; the others are not even judged).
        let environment = &args.environment;
        let timeout = resolve(Setting::Timeout, args.timeout, environment)?
            .or_else(|| ifupdown_defaults.as_ref().map(|(file, _)| file.clone()))
            .unwrap_or(SettingSource {
                setting: Setting::Timeout,
                value: DEFAULT_TIMEOUT,
                origin: Origin::Default,
            });
        let carrier_timeout = resolve(Setting::CarrierTimeout, args.carrier_timeout, environment)?;
        // Ubuntu's definition includes DNS (condition 4) unless --dns=no.
        let dns = args.dns.unwrap_or(args.online_definition.is_some());
        let dns_grace = match args.dns_grace {
            Some(_) if !dns => {
                return Err(UsageError(
                    "--dns-grace needs --dns or --online-definition=ubuntu: it ends a wait for a DNS server"
                        .to_string(),
                ));
            }
            // Netplan's first line has no --dns: the variable, credential and kernel
            // parameter, which reach both of Netplan's lines, do not concern it.
            None if !dns => None,
            explicit => resolve(Setting::DnsGrace, explicit, environment)?,
        };
        let requirements = Requirements {
            interfaces: args.interfaces.clone(),
            ignore: args
                .ignore
                .iter()
                .map(|glob| Glob::new(glob).into())
                .collect(),
            oper_range: args.operational_state,
            families: RequiredFamilies {
                ipv4: args.ipv4,
                ipv6: args.ipv6,
            },
            any: args.any,
            dns,
            dns_probe: args.dns_probe.clone(),
            route: RouteRequirement {
                default_route: args.require_default_route,
                gateway: args.require_gateway,
                probe: args.probe_gateway,
            },
            // 0 and infinity: never give up on a link, like --timeout's forever.
            carrier_timeout: carrier_timeout.as_ref().and_then(SettingSource::finite),
            // 0 and infinity: off, as for --carrier-timeout.
            dns_grace: dns_grace.as_ref().and_then(SettingSource::finite),
            time_sync: args.require_time_sync,
            routes: args.require_route.clone(),
            reach: args.reach.clone(),
            connectivity: ConnectivityRequirement {
                manager: args.require_connectivity,
                probe: args.http_probe.clone().map(|probe| {
                    Box::new(HttpProbe {
                        expect: args.http_probe_expect.clone(),
                        ..probe
                    })
                }),
            },
        };
        if args.http_probe_expect.is_some() && args.http_probe.is_none() {
            return Err(UsageError(
                "--http-probe-expect needs --http-probe=URL: it is what that URL's body starts with"
                    .to_string(),
            ));
        }
        if args.online_definition.is_some() {
            let conflicting = [
                (args.any, "--any"),
                (args.operational_state.is_some(), "-o/--operational-state"),
            ];
            if let Some((_, option)) = conflicting.iter().find(|(given, _)| *given) {
                return Err(UsageError(format!(
                    "{option} cannot be combined with --online-definition=ubuntu, which sets the states itself; \
                     use -i IF:STATE to change one interface's state"
                )));
            }
        } else if args.print_netplan_lines {
            return Err(UsageError(
                "--print-netplan-lines needs --online-definition=ubuntu".to_string(),
            ));
        }
        let settings = [Some(timeout.clone()), carrier_timeout, dns_grace]
            .into_iter()
            .flatten()
            .collect();
        Ok(Options {
            requirements,
            timeout: timeout.finite(),
            quiet: args.quiet,
            manager: args.manager,
            definition: args.online_definition,
            print_netplan_lines: args.print_netplan_lines,
            json: args.json,
            explain: args.explain,
            no_wait: ifupdown_defaults.is_some_and(|(_, none)| none),
            settings,
            kernel_command_line_unread: args
                .environment
                .kernel
                .unread
                .as_ref()
                .map(|err| (err.to_string(), err.is_not_found())),
        })
    }
}

/// The time span of the environment variable `name` ([`CARRIER_TIMEOUT_ENV`],
/// [`DNS_GRACE_ENV`]); unset or empty: `None`.
fn span_from_environment(
    name: &str,
    value: Option<OsString>,
) -> Result<Option<TimeSpan>, UsageError> {
    let Some(value) = value.filter(|value| !value.is_empty()) else {
        return Ok(None);
    };
    let text = value.to_string_lossy();
    parse_timespan(&text).map(Some).map_err(|err| {
        UsageError(format!(
            "{name}='{}': {err}; set it to a time span such as 5s, or unset it",
            excerpt(&text)
        ))
    })
}

/// The one line for a command line clap refused: clap's message in clap's words, long
/// arguments quoted as excerpts ([`crate::text::excerpt`]), and where to look for help.
fn usage_error(err: &clap::Error, args: &[OsString]) -> UsageError {
    let message = excerpt_arguments(clap_message(err), args);
    UsageError(format!(
        "{} (see 'wait-online --help')",
        one_line_text(&message)
    ))
}

/// clap's message for `err` from its kind and context, without the usage and tips clap adds
/// after it; worded as clap 4 words it (clap_builder's `error/format.rs`) for every kind this
/// command line can produce, so that the messages upstream's users know stay the same.
fn clap_message(err: &clap::Error) -> String {
    let text = |kind| match err.get(kind) {
        Some(ContextValue::String(text)) => Some(text.as_str()),
        _ => None,
    };
    let arg = text(ContextKind::InvalidArg);
    let value = text(ContextKind::InvalidValue);
    let mut message = match (err.kind(), arg, value) {
        (ErrorKind::UnknownArgument, Some(arg), _) => format!("unexpected argument '{arg}' found"),
        (ErrorKind::InvalidValue, Some(arg), Some("")) => {
            format!("a value is required for '{arg}' but none was supplied")
        }
        (ErrorKind::InvalidValue, Some(arg), Some(value)) => {
            format!("invalid value '{value}' for '{arg}'")
        }
        (ErrorKind::ValueValidation, Some(arg), Some(value)) => match err.source() {
            Some(why) => format!("invalid value '{value}' for '{arg}': {why}"),
            None => format!("invalid value '{value}' for '{arg}'"),
        },
        (ErrorKind::TooManyValues, Some(arg), Some(value)) => {
            format!("unexpected value '{value}' for '{arg}' found; no more were expected")
        }
        (kind, ..) => kind.as_str().unwrap_or("invalid command line").to_string(),
    };
    if let (ErrorKind::InvalidValue, Some(ContextValue::Strings(valid))) =
        (err.kind(), err.get(ContextKind::ValidValue))
        && !valid.is_empty()
    {
        // clap puts the list on a line of its own, which one_line then shows as `\n`.
        message.push_str(&format!("\n  [possible values: {}]", valid.join(", ")));
    }
    message
}

/// `message` with every argument longer than [`EXCERPT_BYTES`] that it quotes cut to an
/// excerpt: clap quotes an argument whole, or the value after `--option=` or `-i`.
fn excerpt_arguments(mut message: String, args: &[OsString]) -> String {
    let mut long: Vec<&str> = args
        .iter()
        .skip(1)
        .filter_map(|arg| arg.to_str())
        .flat_map(|arg| {
            let value = arg.split_once('=').map(|(_, value)| value);
            let attached = (arg.starts_with('-') && !arg.starts_with("--")).then(|| arg.get(2..));
            [Some(arg), value, attached.flatten()]
        })
        .flatten()
        .filter(|text| text.len() > EXCERPT_BYTES)
        .collect();
    long.sort_by_key(|text| std::cmp::Reverse(text.len()));
    for text in long {
        if message.contains(text) {
            message = message.replace(text, &excerpt(text));
        }
    }
    message
}

/// The error for the first argument that is not UTF-8, naming its option (clap only says
/// that one of them is not).
fn non_utf8_argument(args: &[OsString]) -> Option<String> {
    let (index, bad) = args
        .iter()
        .enumerate()
        .skip(1)
        .find(|(_, arg)| arg.to_str().is_none())?;
    let lossy = bad.to_string_lossy();
    let option = if lossy.starts_with("--") {
        lossy.split('=').next().map(str::to_string)
    } else if lossy.starts_with('-') {
        Some(lossy.chars().take(2).collect())
    } else {
        args.get(index - 1)
            .and_then(|previous| previous.to_str())
            .filter(|previous| previous.starts_with('-') && !previous.contains('='))
            .map(str::to_string)
    };
    let value = excerpt(&lossy);
    let option = option.map(|o| excerpt(&long_option_name(&o)));
    Some(match option {
        Some(option) => format!(
            "invalid value '{value}' for '{option}': not valid UTF-8 (see 'wait-online --help')"
        ),
        None => format!("argument '{value}' is not valid UTF-8 (see 'wait-online --help')"),
    })
}

/// `-i` as `--interface`; long options as given.
fn long_option_name(option: &str) -> String {
    let short = option
        .strip_prefix('-')
        .filter(|rest| !rest.starts_with('-'))
        .and_then(|rest| rest.chars().next());
    let long = short.and_then(|short| {
        command()
            .get_arguments()
            .find(|arg| arg.get_short() == Some(short))
            .and_then(|arg| arg.get_long())
            .map(|long| format!("--{long}"))
    });
    long.unwrap_or_else(|| option.to_string())
}

/// `IF[:MIN[:MAX]]`: split at the first colon like upstream.
fn parse_interface(text: &str) -> Result<InterfaceRequirement, String> {
    let (name, range) = match text.split_once(':') {
        Some((name, range)) => (name, Some(range)),
        None => (text, None),
    };
    let name = IfName::new(name).map_err(|e| e.to_string())?;
    let range = range
        .map(|r| r.parse::<OperStateRange>())
        .transpose()
        .map_err(|e| e.to_string())?;
    Ok(InterfaceRequirement { name, range })
}

fn parse_range(text: &str) -> Result<OperStateRange, String> {
    text.parse()
        .map_err(|e: crate::core::range::RangeError| e.to_string())
}

fn parse_timeout(text: &str) -> Result<TimeSpan, String> {
    parse_timespan(text).map_err(|e| e.to_string())
}

/// A DNS name to probe: 1–253 bytes of letters, digits, `-`, `_` and dots, labels ≤ 63 bytes.
fn parse_probe_name(text: &str) -> Result<String, String> {
    let name = text.strip_suffix('.').unwrap_or(text);
    let labels_ok = name.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    });
    if name.is_empty() || name.len() > 253 || !labels_ok {
        return Err(
            "expected a DNS name such as example.com (letters, digits, '-', '_' and dots)".into(),
        );
    }
    Ok(name.to_string())
}

/// `--require-route=`: an address, or a prefix whose host bits are zero (as `ip route`
/// requires of a route's destination).
fn parse_route_target(text: &str) -> Result<Prefix, String> {
    const EXPECTED: &str = "expected an IPv4 or IPv6 address with an optional prefix length, such as 192.0.2.1, 192.0.2.0/24 or ::/0";
    let (address, len) = match text.split_once('/') {
        Some((address, len)) => (address, Some(len)),
        None => (text, None),
    };
    let address: std::net::IpAddr = address.parse().map_err(|_| EXPECTED.to_string())?;
    let Some(len) = len else {
        return Ok(Prefix::host(address));
    };
    let len: u8 = len
        .parse()
        .ok()
        .filter(|l: &u8| l.to_string() == len)
        .ok_or_else(|| EXPECTED.to_string())?;
    let prefix = Prefix::new(address, len)
        .ok_or_else(|| format!("the prefix length is at most {}", Prefix::host(address).len))?;
    let network = prefix.network();
    if network != address {
        return Err(format!("host bits are set; the network is {network}/{len}"));
    }
    Ok(prefix)
}

/// `--reach=`: `HOST:PORT`, HOST a DNS name or an IPv4 address, or `[IPv6]:PORT`.
fn parse_reach_target(text: &str) -> Result<ReachTarget, String> {
    const EXPECTED: &str =
        "expected HOST:PORT, such as example.org:443, 192.0.2.1:22 or [2001:db8::1]:80";
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (address, port) = rest.split_once("]:").ok_or_else(|| EXPECTED.to_string())?;
        let address: std::net::Ipv6Addr = address
            .parse()
            .map_err(|_| format!("'{}' is not an IPv6 address; {EXPECTED}", excerpt(address)))?;
        (Host::Address(address.into()), port)
    } else {
        let (host, port) = text.rsplit_once(':').ok_or_else(|| EXPECTED.to_string())?;
        if host.contains(':') {
            return Err(format!(
                "write an IPv6 address in brackets: [{}]:{}",
                excerpt(host),
                excerpt(port)
            ));
        }
        let host = match host.parse::<std::net::Ipv4Addr>() {
            Ok(address) => Host::Address(address.into()),
            Err(_) => Host::Name(parse_probe_name(host).map_err(|e| format!("{e}, then :PORT"))?),
        };
        (host, port)
    };
    let port = port
        .parse::<u16>()
        .ok()
        .filter(|&p| p > 0 && p.to_string() == port)
        .ok_or_else(|| format!("the port must be a number from 1 to 65535; {EXPECTED}"))?;
    Ok(ReachTarget { host, port })
}

/// `--require-default-route=`: `4`, `6` or `any` (also `ipv4`, `ipv6`).
fn parse_route_family(text: &str) -> Result<RouteFamily, String> {
    match text.to_ascii_lowercase().as_str() {
        "4" | "ipv4" => Ok(RouteFamily::Ipv4),
        "6" | "ipv6" => Ok(RouteFamily::Ipv6),
        "any" => Ok(RouteFamily::Any),
        _ => Err("expected 4, 6 or any".to_string()),
    }
}

/// `--dns=`: systemd's `parse_boolean()`.
fn parse_dns_boolean(text: &str) -> Result<bool, String> {
    parse_boolean(text)
        .ok_or_else(|| "expected a boolean: yes/no, true/false, on/off or 1/0".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::OperState;

    fn run(args: &[&str]) -> Result<Options, String> {
        run_with_environment(args, None)
    }

    fn run_with_environment(
        args: &[&str],
        carrier_timeout: Option<&str>,
    ) -> Result<Options, String> {
        let argv = std::iter::once("wait-online").chain(args.iter().copied());
        match parse_with_environment(argv, carrier_timeout.map(OsString::from)) {
            Ok(Command::Run(options)) => Ok(options),
            Ok(Command::Print(text)) => Err(format!("printed: {text}")),
            Err(UsageError(message)) => Err(message),
        }
    }

    #[test]
    fn defaults_match_upstream() {
        let options = run(&[]).unwrap();
        assert_eq!(options.timeout, Some(Duration::from_secs(120)));
        assert_eq!(options.requirements, Requirements::default());
        assert!(!options.requirements.dns && !options.quiet);
        assert_eq!(options.manager, ManagerChoice::Auto);
    }

    #[test]
    fn connectivity_and_the_http_probe_are_asked_only_when_given() {
        assert!(!run(&[]).unwrap().requirements.connectivity.is_required());
        let options = run(&["--require-connectivity"]).unwrap();
        assert!(options.requirements.connectivity.manager);
        let options = run(&[
            "--http-probe=http://10.0.0.1/nm",
            "--http-probe-expect=NetworkManager is online",
        ])
        .unwrap();
        let probe = options.requirements.connectivity.probe.unwrap();
        assert_eq!(probe.target, "/nm");
        assert_eq!(probe.expect.as_deref(), Some("NetworkManager is online"));
        let err = run(&["--http-probe-expect=OK"]).unwrap_err().to_string();
        assert!(err.contains("needs --http-probe=URL"), "{err}");
        let err = run(&["--http-probe=https://example.com/"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("use an http:// URL"), "{err}");
    }

    #[test]
    fn time_sync_is_required_only_when_asked() {
        assert!(!run(&[]).unwrap().requirements.time_sync);
        let options = run(&["--require-time-sync", "-i", "eth0"]).unwrap();
        assert!(options.requirements.time_sync);
    }

    #[test]
    fn routes_and_targets_to_reach_are_required_only_when_asked() {
        let none = run(&[]).unwrap().requirements;
        assert!(none.routes.is_empty() && none.reach.is_empty());
        let options = run(&[
            "--require-route=192.0.2.1",
            "--require-route",
            "2001:db8::/32",
            "--require-route=0.0.0.0/0",
            "--reach=example.org:443",
            "--reach=192.0.2.1:22",
            "--reach",
            "[2001:db8::1]:80",
        ])
        .unwrap();
        let routes: Vec<String> = options
            .requirements
            .routes
            .iter()
            .map(|p| format!("{}/{}", p.address, p.len))
            .collect();
        assert_eq!(routes, ["192.0.2.1/32", "2001:db8::/32", "0.0.0.0/0"]);
        let reach: Vec<String> = options
            .requirements
            .reach
            .iter()
            .map(|t| t.to_string())
            .collect();
        assert_eq!(
            reach,
            ["example.org:443", "192.0.2.1:22", "[2001:db8::1]:80"]
        );
        assert_eq!(
            options.requirements.reach[0].host,
            Host::Name("example.org".into())
        );
    }

    #[test]
    fn bad_routes_and_targets_are_one_line_naming_the_fix() {
        let cases = [
            (
                "--require-route=192.0.2.1/24",
                "invalid value '192.0.2.1/24' for '--require-route <ADDR[/LEN]>': host bits are set; the network is 192.0.2.0/24",
            ),
            (
                "--require-route=192.0.2.0/33",
                "invalid value '192.0.2.0/33' for '--require-route <ADDR[/LEN]>': the prefix length is at most 32",
            ),
            (
                "--require-route=default",
                "invalid value 'default' for '--require-route <ADDR[/LEN]>': expected an IPv4 or IPv6 address with an optional prefix length, such as 192.0.2.1, 192.0.2.0/24 or ::/0",
            ),
            (
                "--reach=2001:db8::1:80",
                "invalid value '2001:db8::1:80' for '--reach <HOST:PORT>': write an IPv6 address in brackets: [2001:db8::1]:80",
            ),
            (
                "--reach=example.org",
                "invalid value 'example.org' for '--reach <HOST:PORT>': expected HOST:PORT, such as example.org:443, 192.0.2.1:22 or [2001:db8::1]:80",
            ),
            (
                "--reach=example.org:0",
                "invalid value 'example.org:0' for '--reach <HOST:PORT>': the port must be a number from 1 to 65535; expected HOST:PORT, such as example.org:443, 192.0.2.1:22 or [2001:db8::1]:80",
            ),
            (
                "--reach=bad name:80",
                "invalid value 'bad name:80' for '--reach <HOST:PORT>': expected a DNS name such as example.com (letters, digits, '-', '_' and dots), then :PORT",
            ),
            (
                "--reach=[192.0.2.1]:80",
                "invalid value '[192.0.2.1]:80' for '--reach <HOST:PORT>': '192.0.2.1' is not an IPv6 address; expected HOST:PORT, such as example.org:443, 192.0.2.1:22 or [2001:db8::1]:80",
            ),
        ];
        for (arg, expected) in cases {
            let message = run(&[arg]).unwrap_err();
            assert_eq!(
                message,
                format!("{expected} (see 'wait-online --help')"),
                "{arg}"
            );
            assert!(!message.contains('\n'));
        }
    }

    #[test]
    fn netplan_override_lines_parse() {
        let first = run(&[
            "-i",
            "lo:carrier",
            "-i",
            "eth0:degraded",
            "-i",
            "eth1:carrier",
        ])
        .unwrap();
        let names: Vec<_> = first
            .requirements
            .interfaces
            .iter()
            .map(|i| i.name.to_string())
            .collect();
        assert_eq!(names, ["lo", "eth0", "eth1"]);
        let second = run(&[
            "--any", "--dns", "-o", "routable", "-i", "eth0", "-i", "br0",
        ])
        .unwrap();
        assert!(second.requirements.any && second.requirements.dns);
        assert_eq!(second.requirements.interfaces[0].range, None);
        assert_eq!(
            second.requirements.oper_range,
            Some(OperStateRange {
                min: OperState::Routable,
                max: OperState::Routable
            })
        );
    }

    #[test]
    fn interface_ranges_split_at_first_colon() {
        let options = run(&["-i", "bond0:carrier:routable", "--interface=eth0:degraded"]).unwrap();
        let ranges: Vec<_> = options
            .requirements
            .interfaces
            .iter()
            .map(|i| i.range)
            .collect();
        assert_eq!(
            ranges,
            [
                Some(OperStateRange {
                    min: OperState::Carrier,
                    max: OperState::Routable
                }),
                Some(OperStateRange {
                    min: OperState::Degraded,
                    max: OperState::Routable
                })
            ]
        );
    }

    #[test]
    fn timeout_zero_and_infinity_wait_forever() {
        assert_eq!(run(&["--timeout=0"]).unwrap().timeout, None);
        assert_eq!(run(&["--timeout=infinity"]).unwrap().timeout, None);
        assert_eq!(
            run(&["--timeout", "1min 30s"]).unwrap().timeout,
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            run(&["--timeout=500ms"]).unwrap().timeout,
            Some(Duration::from_millis(500))
        );
    }

    #[test]
    fn dns_grace_from_the_command_line_or_the_environment() {
        let span = |args: &[&str], env: Option<&str>| {
            let argv = std::iter::once("wait-online").chain(args.iter().copied());
            let environment = Environment {
                dns_grace: env.map(OsString::from),
                ..Environment::default()
            };
            match parse_in_environment(argv, environment) {
                Ok(Command::Run(options)) => Ok(options.requirements.dns_grace),
                Ok(Command::Print(text)) => Err(format!("printed: {text}")),
                Err(UsageError(message)) => Err(message),
            }
        };
        let secs = |n| Ok(Some(Duration::from_secs(n)));
        let netplans_line = ["--any", "--dns", "-o", "routable", "-i", "eth0"];
        assert_eq!(span(&netplans_line, None), Ok(None));
        assert_eq!(span(&netplans_line, Some("")), Ok(None), "empty is unset");
        assert_eq!(span(&netplans_line, Some("2s")), secs(2));
        assert_eq!(span(&["--dns", "--dns-grace=5s"], None), secs(5));
        assert_eq!(
            span(&["--online-definition=ubuntu", "--dns-grace=1min"], None),
            secs(60)
        );
        // the command line wins, and an environment it overrides is not judged
        assert_eq!(span(&["--dns", "--dns-grace=2s"], Some("bogus")), secs(2));
        assert_eq!(span(&["--dns", "--dns-grace=0"], Some("5s")), Ok(None));
        assert_eq!(span(&["--dns"], Some("infinity")), Ok(None), "off");
        // Netplan's first line needs no DNS server: the variable does not concern it.
        assert_eq!(span(&["-i", "eth0:degraded"], Some("bogus")), Ok(None));
        assert_eq!(
            span(&["--online-definition=ubuntu", "--dns=no"], Some("2s")),
            Ok(None)
        );
        let message = span(&["--dns"], Some("5 parsecs")).unwrap_err();
        assert!(
            message.starts_with("WAIT_ONLINE_DNS_GRACE='5 parsecs': ")
                && message.ends_with("set it to a time span such as 5s, or unset it")
                && !message.contains('\n'),
            "{message}"
        );
        let message = span(&["--dns-grace=5s"], None).unwrap_err();
        assert_eq!(
            message,
            "--dns-grace needs --dns or --online-definition=ubuntu: it ends a wait for a DNS server"
        );
        assert!(span(&["--dns", "--dns-grace=soon"], None).is_err());
    }

    #[test]
    fn carrier_timeout_from_the_command_line_or_the_environment() {
        let span = |args: &[&str], env: Option<&str>| {
            run_with_environment(args, env).map(|options| options.requirements.carrier_timeout)
        };
        assert_eq!(span(&[], None), Ok(None));
        assert_eq!(span(&[], Some("")), Ok(None), "empty is unset");
        assert_eq!(
            span(&["--carrier-timeout=5s"], None),
            Ok(Some(Duration::from_secs(5)))
        );
        assert_eq!(span(&[], Some("5s")), Ok(Some(Duration::from_secs(5))));
        assert_eq!(
            span(&[], Some("1min 30s")),
            Ok(Some(Duration::from_secs(90)))
        );
        // the command line wins, and an environment it overrides is not judged
        assert_eq!(
            span(&["--carrier-timeout=2s"], Some("5s")),
            Ok(Some(Duration::from_secs(2)))
        );
        assert_eq!(
            span(&["--carrier-timeout=2s"], Some("bogus")),
            Ok(Some(Duration::from_secs(2)))
        );
        assert_eq!(span(&["--carrier-timeout=0"], Some("5s")), Ok(None));
        assert_eq!(
            span(&[], Some("infinity")),
            Ok(None),
            "off, like --timeout's forever"
        );
        let message = span(&[], Some("5 parsecs")).unwrap_err();
        assert!(
            message.starts_with("WAIT_ONLINE_CARRIER_TIMEOUT='5 parsecs': ")
                && message.ends_with("set it to a time span such as 5s, or unset it"),
            "{message}"
        );
        assert!(!message.contains('\n'), "{message}");
        let message = span(&[], Some("5\u{7}s")).unwrap_err();
        assert!(message.contains("'5\\u{7}s'"), "{message}");
    }

    #[test]
    fn dns_takes_an_optional_boolean() {
        assert!(run(&["--dns"]).unwrap().requirements.dns);
        assert!(run(&["--dns=yes"]).unwrap().requirements.dns);
        assert!(!run(&["--dns=no"]).unwrap().requirements.dns);
        assert!(!run(&["--dns=off"]).unwrap().requirements.dns);
        let probe = run(&["--dns-probe=example.test."]).unwrap();
        assert_eq!(
            probe.requirements.dns_probe.as_deref(),
            Some("example.test")
        );
    }

    #[test]
    fn ubuntu_definition_turns_dns_on_unless_told_otherwise() {
        let options = run(&["--online-definition=ubuntu"]).unwrap();
        assert_eq!(options.definition, Some(OnlineDefinition::Ubuntu));
        assert!(options.requirements.dns);
        assert!(
            !run(&["--online-definition=ubuntu", "--dns=no"])
                .unwrap()
                .requirements
                .dns
        );
        assert!(
            run(&["--online-definition=ubuntu", "--print-netplan-lines"])
                .unwrap()
                .print_netplan_lines
        );
    }

    #[test]
    fn repeated_options_last_wins_like_getopt() {
        let options = run(&["-o", "carrier", "-o", "routable", "-4", "-4"]).unwrap();
        assert_eq!(
            options.requirements.oper_range.map(|r| r.min),
            Some(OperState::Routable)
        );
        assert!(options.requirements.families.ipv4);
    }

    #[test]
    fn bad_input_is_one_line_naming_the_text() {
        let cases = [
            (&["-i", "eth0:bogus"][..], "'bogus'"),
            (&["-i", "eth0:"], "empty operational state range"),
            (&["-i", "eth0:routable:carrier"], "above maximum"),
            (&["-i", "a/b"], "'a/b'"),
            (&["-i", "12345"], "'12345'"),
            (&["-i", "abcdefghijklmnop"], "longer than 15"),
            (&["--timeout=abc"], "'abc'"),
            (&["--dns=maybe"], "'maybe'"),
            (&["--frobnicate"], "'--frobnicate'"),
            (&["stray"], "'stray'"),
            (&["-o", "up"], "'up'"),
            (
                &["-i", "eth0", "-i", "eth0:carrier"],
                "'eth0' is given more than once",
            ),
            (&["-i"], "-i"),
            (&["--dns-probe=a..b"], "'a..b'"),
            (&["--online-definition=debian"], "'debian'"),
            (
                &["--online-definition=ubuntu", "--any"],
                "--any cannot be combined",
            ),
            (
                &["--online-definition=ubuntu", "-o", "carrier"],
                "-o/--operational-state cannot be combined",
            ),
            (
                &["--print-netplan-lines"],
                "needs --online-definition=ubuntu",
            ),
            (&["--dns-probe=bad name"], "'bad name'"),
        ];
        for (args, needle) in cases {
            let message = run(args).expect_err(&format!("{args:?} must fail"));
            assert!(!message.contains('\n'), "{args:?}: {message}");
            assert!(message.contains(needle), "{args:?}: {message}");
        }
    }

    #[test]
    fn long_values_are_quoted_as_excerpts() {
        let long = format!("{}\n{}", "a".repeat(100), "b".repeat(100_000));
        let cases = [
            vec!["-i".to_string(), long.clone()],
            vec![format!("--timeout={long}")],
            vec![format!("--dns-probe={long}")],
            vec!["-o".to_string(), long.clone()],
            vec!["-o".to_string(), format!("routable:{long}")],
            vec![long.clone()],
            vec![format!("-i{long}")],
        ];
        for args in cases {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let message = run(&args).expect_err("must fail");
            assert!(message.len() < 1000, "{}: {message}", message.len());
            assert!(!message.contains('\n'), "{message}");
            assert!(message.contains("…(100101 bytes)"), "{message}");
        }
        let message = run_with_environment(&[], Some(&long)).expect_err("must fail");
        assert!(
            message.len() < 1000 && message.contains("…(100101 bytes)"),
            "{message}"
        );
    }

    #[test]
    fn the_completions_option_prints_the_script() {
        for (name, shell) in [
            ("bash", completions::Shell::Bash),
            ("zsh", completions::Shell::Zsh),
            ("fish", completions::Shell::Fish),
        ] {
            let argv = ["wait-online".to_string(), format!("--completions={name}")];
            match parse(argv) {
                Ok(Command::Print(text)) => assert_eq!(text, completions::script(shell, command())),
                other => panic!("--completions={name}: {other:?}"),
            }
        }
        let bad = parse(["wait-online", "--completions=tcsh"]);
        assert!(matches!(bad, Err(UsageError(m)) if m.contains("'tcsh'")));
    }

    #[test]
    fn help_and_version_are_printed() {
        assert!(
            matches!(parse(["wait-online", "--help"]), Ok(Command::Print(text)) if text.contains("--interface"))
        );
        assert!(
            matches!(parse(["wait-online", "--version"]), Ok(Command::Print(text)) if text.starts_with("wait-online "))
        );
    }
}
