//! The program: parse, choose the manager, run the engine, map the outcome to an exit status.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cli::{self, Command, ManagerChoice, OnlineDefinition, Options};
use crate::core::goal::Goal;
use crate::core::pitfalls::Pitfall;
use crate::engine::{self, Managers, Outcome};
use crate::explain_view::ExplainView;
use crate::netlink::KernelSourceConfig;
use crate::netplan::Renderers;
use crate::notify::Notifier;
use crate::report::Report;
use crate::{netplan, ubuntu};
use crate::{networkd, networkmanager};

/// Upstream's only failure status.
const FAILURE: u8 = 1;

/// Runs the program with these arguments and returns its exit status.
pub fn main(args: Vec<std::ffi::OsString>) -> ExitCode {
    // --timeout counts from here: reading Netplan's files is part of the wait.
    let invoked = crate::sys::boottime_now();
    let options = match cli::parse(args) {
        Ok(Command::Run(options)) => options,
        Ok(Command::Print(text)) => {
            print!("{text}");
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            eprintln!("wait-online: {err}");
            return ExitCode::from(FAILURE);
        }
    };
    crate::logging::init(options.quiet);
    // Until the engine receives them (see sys::mask_termination_signals).
    if let Err(err) = crate::sys::mask_termination_signals(true) {
        tracing::debug!("cannot block SIGTERM/SIGINT until their handlers exist: {err}");
    }
    let goal = match goal(&options) {
        Ok(Some(goal)) => goal,
        Ok(None) => return ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            return ExitCode::from(FAILURE);
        }
    };
    let notifier = Notifier::from_env();
    // --json lists the pitfalls too: a silent view finds them at each decision.
    let mut view = match (options.explain, options.json) {
        (true, _) => Some(ExplainView::new()),
        (false, true) => Some(ExplainView::silent()),
        (false, false) => None,
    };
    let outcome = run(&goal, &options, invoked, notifier.as_ref(), view.as_mut());
    if let Some(view) = &mut view {
        view.finish(match &outcome {
            Ok((Outcome::Online(_), _)) => "online",
            Ok((Outcome::Timeout(_), _)) => "timed out",
            Ok((Outcome::Interrupted(_), _)) => "interrupted",
            Ok((Outcome::GaveUp(_), _)) => "gave up (--carrier-timeout)",
            Ok((Outcome::NoDnsServer(_), _)) => "gave up (--dns-grace)",
            Err(_) => "failed",
        });
    }
    let success = matches!(
        outcome,
        Ok((Outcome::Online(_) | Outcome::Interrupted(_), _))
    );
    crate::announce::finished(notifier.as_ref(), success);
    if options.json {
        let pitfalls = view.as_ref().map_or(&[][..], ExplainView::pitfalls);
        // Counted from the start, as --timeout is: a timeout reports at least its span.
        let elapsed = crate::sys::boottime_now().saturating_sub(invoked);
        print_json(&goal, &outcome, elapsed, pitfalls);
    }
    match outcome {
        Ok((Outcome::Online(_) | Outcome::Interrupted(_), _)) => ExitCode::SUCCESS,
        Ok((Outcome::Timeout(verdict), _)) => {
            tracing::error!("Timeout occurred while waiting for network connectivity.");
            crate::logging::reasons(&verdict, true);
            ExitCode::from(FAILURE)
        }
        Ok((Outcome::GaveUp(verdict), _)) => {
            tracing::error!(
                "Gave up waiting for network connectivity: no interface that could come online has carrier (--carrier-timeout)."
            );
            crate::logging::reasons(&verdict, true);
            ExitCode::from(FAILURE)
        }
        Ok((Outcome::NoDnsServer(verdict), _)) => {
            let grace = goal.dns_grace().unwrap_or_default();
            tracing::error!(
                "Gave up waiting for network connectivity: no DNS server is configured on any link nor globally, and nothing else has been missing for {} (--dns-grace).",
                crate::core::view::seconds(grace)
            );
            crate::logging::reasons(&verdict, true);
            ExitCode::from(FAILURE)
        }
        Err(message) => {
            tracing::error!("{message}");
            ExitCode::from(FAILURE)
        }
    }
}

/// `--json`: the verdict, every judged interface and the pitfalls found, on stdout.
fn print_json(
    goal: &Goal,
    outcome: &Result<(Outcome, &'static str), String>,
    elapsed: std::time::Duration,
    pitfalls: &[Pitfall],
) {
    let (verdict, last, manager) = match outcome {
        Ok((Outcome::Online(v), manager)) => ("online", Some(v), *manager),
        Ok((Outcome::Timeout(v), manager)) => ("timeout", Some(v), *manager),
        Ok((Outcome::Interrupted(v), manager)) => ("interrupted", v.as_ref(), *manager),
        Ok((Outcome::GaveUp(v), manager)) => ("no-carrier", Some(v), *manager),
        Ok((Outcome::NoDnsServer(v), manager)) => ("no-dns-server", Some(v), *manager),
        Err(_) => return,
    };
    let definition = match goal {
        Goal::Upstream(_) => "upstream",
        Goal::Ubuntu(_) => "ubuntu",
    };
    let elapsed_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
    let report = Report::new(verdict, elapsed_ms, definition, manager, last, pitfalls);
    match serde_json::to_string_pretty(&report) {
        Ok(text) => println!("{text}"),
        Err(err) => tracing::error!("failed to write the JSON report: {err}"),
    }
}

/// The goal of this run; `None` when the command line only asked to print something
/// (`--print-netplan-lines`), which is then printed.
fn goal(options: &Options) -> Result<Option<Goal>, String> {
    let Some(OnlineDefinition::Ubuntu) = options.definition else {
        return Ok(Some(Goal::Upstream(options.requirements.clone())));
    };
    if options.print_netplan_lines {
        // Exactly what Netplan writes: its override covers networkd's definitions only.
        let plan = netplan::plan_system(Renderers::Networkd).map_err(|err| err.to_string())?;
        for line in
            netplan::upstream_lines(&plan, netplan::UPSTREAM_BINARY, options.requirements.dns)
        {
            println!("{line}");
        }
        return Ok(None);
    }
    let plan = netplan::plan_system(Renderers::All).map_err(|err| err.to_string())?;
    if plan.is_empty() {
        tracing::info!(
            "--online-definition=ubuntu: Netplan's configuration has no non-optional interface: nothing to wait for"
        );
    }
    ubuntu::definition(&plan, &options.requirements).map(|d| Some(Goal::Ubuntu(d)))
}

/// Runs the engine until `--timeout` after `invoked` (CLOCK_BOOTTIME); returns the outcome
/// and which manager's facts were used.
fn run(
    goal: &Goal,
    options: &Options,
    invoked: std::time::Duration,
    notifier: Option<&Notifier>,
    view: Option<&mut ExplainView>,
) -> Result<(Outcome, &'static str), String> {
    let manager = choose_manager(options.manager, Path::new(networkd::LINKS_DIR))?;
    let pitfalls = options.explain || options.json;
    let manager_name = manager.label();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(|err| format!("failed to start the event loop: {err}"))?;
    runtime
        .block_on(engine::run(
            goal,
            options.timeout.map(|timeout| {
                timeout.saturating_sub(crate::sys::boottime_now().saturating_sub(invoked))
            }),
            manager,
            KernelSourceConfig {
                // Routes decide DNS server accessibility and the default-route requirement;
                // the pitfalls (--explain, --json) are found in routes and the gateway's
                // neighbour entry.
                track_routes: goal.needs_routes() || pitfalls,
                track_neighbours: goal.needs_neighbours() || pitfalls,
                // The pitfalls concern every link (rp_filter, default routes elsewhere,
                // bridges, addresses that failed DAD).
                scope: goal.named_links().filter(|_| !pitfalls),
                ..KernelSourceConfig::default()
            },
            notifier,
            view,
        ))
        .map(|outcome| (outcome, manager_name))
        .map_err(|err| err.to_string())
}

/// Resolves `--manager=`. `auto` follows NetworkManager only where it may run (its runtime
/// directory exists), so that the networkd and kernel-only paths make no bus connection.
/// Runs before the runtime exists, while the process is single-threaded.
fn choose_manager(choice: ManagerChoice, dir: &Path) -> Result<Managers, String> {
    match choice {
        ManagerChoice::None => Ok(Managers::kernel_only()),
        ManagerChoice::Networkd => {
            let (dir, watch) = watch_networkd(dir)?;
            Ok(Managers::networkd(dir, watch))
        }
        ManagerChoice::NetworkManager => Ok(Managers::networkmanager()),
        ManagerChoice::Auto => {
            let networkd = match networkd::is_managing(dir) {
                true => Some(watch_networkd(dir)?),
                false => None,
            };
            if Path::new(networkmanager::RUN_DIR).is_dir() {
                tracing::debug!("NetworkManager may run: following it over D-Bus");
                return Ok(Managers::per_link(networkd));
            }
            Ok(match networkd {
                Some((dir, watch)) => Managers::networkd(dir, watch),
                None => {
                    tracing::debug!(
                        "judging links on kernel facts alone (no systemd-networkd state files, no NetworkManager)"
                    );
                    Managers::kernel_only()
                }
            })
        }
    }
}

/// Starts the watch of networkd's state directory and hands a copy of it to a holder process
/// (so our exit does not wait for the inotify teardown).
fn watch_networkd(dir: &Path) -> Result<(PathBuf, crate::sys::Inotify), String> {
    let watch = networkd::watch(dir).map_err(|err| {
        format!(
            "cannot watch {}: {err}; is systemd-networkd running? (use --manager=none to judge links without it)",
            dir.display()
        )
    })?;
    if let Err(err) = crate::sys::hold_in_child(std::os::fd::AsFd::as_fd(&watch)) {
        tracing::debug!("could not fork the inotify holder, exit may be slower: {err}");
    }
    tracing::debug!(
        "reading systemd-networkd's state files in {}",
        dir.display()
    );
    Ok((PathBuf::from(dir), watch))
}
