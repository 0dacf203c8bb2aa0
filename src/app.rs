//! The program: parse, choose the manager, run the engine, map the outcome to an exit status.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cli::boot::Setting;
use crate::cli::{self, Command, ManagerChoice, OnlineDefinition, Options};
use crate::core::goal::Goal;
use crate::core::ifupdown::IfupdownConfig;
use crate::core::pitfalls::Pitfall;
use crate::engine::{self, Managers, PitfallScan};
use crate::error::Error;
use crate::explain_view::ExplainView;
use crate::ifupdown;
use crate::netlink::KernelSourceConfig;
use crate::netplan;
use crate::netplan::Renderers;
use crate::notify::Notifier;
use crate::outcome::{FAILURE, Outcome};
use crate::report::Report;
use crate::{networkd, networkmanager};

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
    log_settings(&options);
    if options.no_wait {
        tracing::info!("WAIT_ONLINE_METHOD=none (--ifupdown-defaults): not waiting");
        return ExitCode::SUCCESS;
    }
    // Until the engine receives them (see sys::mask_termination_signals).
    if let Err(err) = crate::sys::mask_termination_signals(true) {
        tracing::debug!("cannot block SIGTERM/SIGINT until their handlers exist: {err}");
    }
    let goal = match goal(&options) {
        Ok(Some(goal)) => goal,
        Ok(None) => return ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err}");
            return ExitCode::from(FAILURE);
        }
    };
    let notifier = Notifier::from_env();
    // Only for a timeout the unit's command line does not show: for one it shows, the unit's
    // author sets TimeoutStartSec= (and upstream's messages stay the same).
    let hidden_timeout = options
        .settings
        .iter()
        .any(|source| source.setting == Setting::Timeout && source.origin.is_hidden());
    if hidden_timeout {
        crate::announce::extend_start_timeout(notifier.as_ref(), options.timeout);
    }
    let mut view = options.explain.then(ExplainView::new);
    // Both --explain and --json show the pitfalls: the engine looks for them after each decision.
    let mut pitfalls = (options.explain || options.json).then(PitfallScan::new);
    let outcome = run(
        &goal,
        &options,
        invoked,
        notifier.as_ref(),
        view.as_mut(),
        pitfalls.as_mut(),
    );
    if let Some(view) = &mut view {
        view.finish(
            outcome
                .as_ref()
                .map_or("failed", |(outcome, _)| outcome.label()),
        );
    }
    let success = outcome
        .as_ref()
        .is_ok_and(|(outcome, _)| outcome.succeeded());
    crate::announce::finished(notifier.as_ref(), success);
    if options.json
        && let Ok((outcome, manager)) = &outcome
    {
        let pitfalls = pitfalls.as_ref().map_or(&[][..], PitfallScan::found);
        // Counted from the start, as --timeout is: a timeout reports at least its span.
        let elapsed = crate::sys::boottime_now().saturating_sub(invoked);
        print_json(&goal, outcome, manager, elapsed, pitfalls);
    }
    match outcome {
        Ok((outcome, _)) => {
            if let Some((line, verdict)) = outcome.failure() {
                tracing::error!("{line}");
                crate::logging::reasons(verdict, true);
            }
            outcome.exit_code()
        }
        Err(err) => {
            tracing::error!("{err}");
            ExitCode::from(FAILURE)
        }
    }
}

/// Where `--timeout`, `--carrier-timeout` and `--dns-grace` came from, once: at the default
/// level when the unit's command line does not show it.
fn log_settings(options: &Options) {
    for source in &options.settings {
        if source.origin.is_hidden() {
            tracing::info!("{source}");
        } else {
            tracing::debug!("{source}");
        }
    }
    match &options.kernel_command_line_unread {
        Some((why, true)) => tracing::debug!("kernel command line not read: {why}"),
        Some((why, false)) => tracing::warn!("kernel command line not read: {why}"),
        None => {}
    }
}

/// `--json`: the verdict, every judged interface and the pitfalls found, on stdout.
fn print_json(
    goal: &Goal,
    outcome: &Outcome,
    manager: &'static str,
    elapsed: std::time::Duration,
    pitfalls: &[Pitfall],
) {
    let definition = match goal {
        Goal::Upstream(_) => "upstream",
        Goal::Ubuntu(_) => "ubuntu",
    };
    let elapsed_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
    let report = Report::new(
        outcome.json_verdict(),
        elapsed_ms,
        definition,
        manager,
        outcome.verdict(),
        pitfalls,
    );
    match serde_json::to_string_pretty(&report) {
        Ok(text) => println!("{text}"),
        Err(err) => tracing::error!("failed to write the JSON report: {err}"),
    }
}

/// The goal of this run; `None` when the command line only asked to print something
/// (`--print-netplan-lines`), which is then printed.
fn goal(options: &Options) -> Result<Option<Goal>, Error> {
    let Some(OnlineDefinition::Ubuntu) = options.definition else {
        return Ok(Some(Goal::Upstream(options.requirements.clone())));
    };
    if options.print_netplan_lines {
        // Exactly what Netplan writes: its override covers networkd's definitions only.
        let plan = netplan::plan_system(Renderers::Networkd)?;
        for line in
            netplan::upstream_lines(&plan, netplan::UPSTREAM_BINARY, options.requirements.dns)
        {
            println!("{line}");
        }
        return Ok(None);
    }
    let plan = netplan::plan_system(Renderers::All)?;
    if plan.is_empty() {
        tracing::info!(
            "--online-definition=ubuntu: Netplan's configuration has no non-optional interface: nothing to wait for"
        );
    }
    Ok(Some(Goal::Ubuntu(netplan::ubuntu_definition(
        &plan,
        &options.requirements,
    )?)))
}

/// Runs the engine until `--timeout` after `invoked` (CLOCK_BOOTTIME); returns the outcome
/// and which manager's facts were used.
fn run(
    goal: &Goal,
    options: &Options,
    invoked: std::time::Duration,
    notifier: Option<&Notifier>,
    view: Option<&mut ExplainView>,
    pitfalls: Option<&mut PitfallScan>,
) -> Result<(Outcome, &'static str), Error> {
    let manager = choose_manager(options.manager, Path::new(networkd::LINKS_DIR))?;
    let connectivity = goal.connectivity();
    if connectivity.manager && connectivity.probe.is_none() && !manager.follows_networkmanager() {
        return Err(Error::NoConnectivitySource);
    }
    let finds_pitfalls = pitfalls.is_some();
    let manager_name = manager.label();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(Error::EventLoop)?;
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
                track_routes: goal.needs_routes() || finds_pitfalls,
                track_neighbours: goal.needs_neighbours() || finds_pitfalls,
                // The pitfalls concern every link (rp_filter, default routes elsewhere,
                // bridges, addresses that failed DAD).
                scope: goal.named_links().filter(|_| !finds_pitfalls),
                ..KernelSourceConfig::default()
            },
            notifier,
            view,
            pitfalls,
        ))
        .map(|outcome| (outcome, manager_name))
        .map_err(Error::from)
}

/// Resolves `--manager=`. `auto` follows NetworkManager only where it may run (its runtime
/// directory exists), so that the networkd and kernel-only paths make no bus connection.
/// Runs before the runtime exists, while the process is single-threaded.
fn choose_manager(choice: ManagerChoice, dir: &Path) -> Result<Managers, Error> {
    match choice {
        ManagerChoice::None => Ok(Managers::kernel_only()),
        ManagerChoice::Networkd => {
            let (dir, watch) = watch_networkd(dir)?;
            Ok(Managers::networkd(dir, watch))
        }
        ManagerChoice::NetworkManager => Ok(Managers::networkmanager()),
        ManagerChoice::Ifupdown => {
            let root = Path::new("/");
            let config = read_ifupdown(root)?;
            Ok(Managers::ifupdown(
                root.join(ifupdown::state::STATE_DIR),
                config,
            ))
        }
        ManagerChoice::Auto => {
            let networkd = match networkd::is_managing(dir) {
                true => Some(watch_networkd(dir)?),
                false => None,
            };
            let ifupdown = ifupdown_managing(Path::new("/"));
            let networkmanager = Path::new(networkmanager::RUN_DIR).is_dir();
            if networkmanager {
                tracing::debug!("NetworkManager may run: following it over D-Bus");
            }
            if networkmanager || ifupdown.is_some() {
                return Ok(Managers::per_link(networkd, networkmanager, ifupdown));
            }
            Ok(match networkd {
                Some((dir, watch)) => Managers::networkd(dir, watch),
                None => {
                    tracing::debug!(
                        "judging links on kernel facts alone (no systemd-networkd state files, no NetworkManager, no ifupdown)"
                    );
                    Managers::kernel_only()
                }
            })
        }
    }
}

/// ifupdown's configuration below `root` (`--manager=ifupdown`); what it skips is logged.
fn read_ifupdown(root: &Path) -> Result<IfupdownConfig, Error> {
    let path = root.join(ifupdown::INTERFACES);
    let interfaces = ifupdown::interfaces::load(&path, &ifupdown::interfaces::System)?;
    for skip in &interfaces.skipped {
        tracing::warn!("ifupdown's configuration: {skip}");
    }
    Ok(ifupdown::config(&interfaces))
}

/// `--manager=auto`: ifupdown's state directory and configuration where ifupdown manages
/// the machine: `/sbin/ifup` is executable (the condition of Debian's own
/// ifupdown-wait-online.service) and an `auto` or `allow-hotplug` line names a link other
/// than the loopback. A configuration ifup cannot read is logged and not followed (auto
/// judged such a machine without ifupdown before, and still does).
fn ifupdown_managing(root: &Path) -> Option<(PathBuf, IfupdownConfig)> {
    use std::os::unix::fs::PermissionsExt;
    let ifup = std::fs::metadata(root.join(ifupdown::IFUP)).ok()?;
    if !ifup.is_file() || ifup.permissions().mode() & 0o111 == 0 {
        return None;
    }
    if !root.join(ifupdown::INTERFACES).exists() {
        return None;
    }
    let config = match read_ifupdown(root) {
        Ok(config) => config,
        Err(err) => {
            tracing::warn!("not following ifupdown: {err}");
            return None;
        }
    };
    if !config.manages_links() {
        return None;
    }
    tracing::debug!("ifupdown brings up links: following its state per link");
    Some((root.join(ifupdown::state::STATE_DIR), config))
}

/// Starts the watch of networkd's state directory and hands a copy of it to a holder process
/// (so our exit does not wait for the inotify teardown).
fn watch_networkd(dir: &Path) -> Result<(PathBuf, crate::sys::Inotify), Error> {
    let watch = networkd::watch(dir).map_err(|source| Error::WatchNetworkd {
        dir: dir.to_owned(),
        source,
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
