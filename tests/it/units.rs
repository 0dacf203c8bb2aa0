//! The systemd units in `units/`: `systemd-analyze verify` finds nothing to say, `systemd-analyze
//! security --offline=yes` of systemd 252 (the host's), 257 and 262 (the cached roots of
//! tests/setup-upstreams.sh) rates each at most 2.0 (upstream's unit: 9.5), upstream's units
//! with the hardening drop-in of wait-online-divert-upstream too, the files share one
//! hardening block, and the program still works under the restrictions that can be
//! reproduced without systemd as PID 1: no capability at all, an unprivileged user, no new
//! privileges (setpriv), inside a network namespace; and with the units' one capability,
//! CAP_DAC_READ_SEARCH, in a user namespace mapped like PrivateUsers=yes, it reads Netplan's
//! 0600 root files (and nothing more: not /etc/shadow).
//!
//! The units are checked on temporary copies whose ExecStart= points at the binary cargo built
//! (verify wants an executable there), with the man page on MANPATH (for Documentation=).
//! Needs `systemd-analyze` (package systemd); the unprivileged runs need root (to create the
//! namespaces before dropping everything) and dnsmasq for the DNS run (tests/setup-deps.sh).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::common::{
    self, DnsServer, Netns, NetworkdEnv, RunResult, TempDir, Upstream, run_wait_online,
    run_wait_online_bg, setpriv_args,
};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// Where the package installs the binary; the units name it.
const INSTALLED: &str = "/usr/libexec/wait-online/wait-online";
const UPSTREAM_UNIT: &str = "/lib/systemd/system/systemd-networkd-wait-online.service";
const DROP_IN: &str = "systemd-networkd-wait-online.service.d/wait-online.conf";
const NM_DROP_IN: &str = "NetworkManager-wait-online.service.d/wait-online.conf";
const IFUPDOWN_DROP_IN: &str = "ifupdown-wait-online.service.d/wait-online.conf";
/// The hardening drop-in wait-online-divert-upstream installs for upstream's units.
const DIVERT_DROP_IN: &str = "divert-upstream/wait-online-hardening.conf";
const UPSTREAM_TEMPLATE: &str = "/lib/systemd/system/systemd-networkd-wait-online@.service";
const MAX_EXPOSURE: f64 = 2.0;
const LIMIT: Duration = Duration::from_secs(30);

fn read(path: impl AsRef<Path>) -> String {
    let path = path.as_ref();
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn write(path: impl AsRef<Path>, text: &str) {
    let path = path.as_ref();
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

/// Copies of our units and of upstream's unit with our drop-in, ExecStart= pointing at the
/// test binary, plus `man/man8/wait-online.8`.
fn stage_units() -> TempDir {
    let bin = env!("CARGO_BIN_EXE_wait-online");
    assert!(
        !bin.contains(char::is_whitespace),
        "the test binary path must not contain whitespace (it goes into ExecStart=): {bin}"
    );
    assert!(
        Path::new(UPSTREAM_UNIT).exists(),
        "{UPSTREAM_UNIT} is missing: install systemd"
    );
    let dir = TempDir::new();
    let rewrite = |text: String| {
        assert!(
            text.contains(INSTALLED),
            "no ExecStart={INSTALLED} in:\n{text}"
        );
        text.replace(INSTALLED, bin)
    };
    for unit in ["wait-online.service", "wait-online@.service", DROP_IN] {
        write(
            dir.0.join(unit),
            &rewrite(read(Path::new(ROOT).join("units").join(unit))),
        );
    }
    write(
        dir.0.join("systemd-networkd-wait-online.service"),
        &read(UPSTREAM_UNIT),
    );
    write_man_page(&dir);
    dir
}

/// `man/man8/wait-online.8` in `dir`, for the units' Documentation= (see [`systemd_analyze_of`]).
fn write_man_page(dir: &TempDir) {
    write(
        dir.0.join("man/man8/wait-online.8"),
        &read(Path::new(ROOT).join("man/wait-online.8")),
    );
}

/// The unit names to check, as `systemd-analyze` is given them (relative to the staged dir).
const CHECKED: [&str; 3] = [
    "./wait-online.service",
    "./wait-online@eth0.service",
    // upstream's unit with our drop-in from the same directory
    "./systemd-networkd-wait-online.service",
];

fn systemd_analyze(dir: &TempDir, args: &[&str]) -> RunResult {
    systemd_analyze_of(Upstream::V252, dir, args)
}

/// `systemd-analyze ARGS` of `upstream`: the host's, or a cached root's run by that root's own
/// dynamic loader and libraries (its glibc is newer than the host's).
fn systemd_analyze_of(upstream: Upstream, dir: &TempDir, args: &[&str]) -> RunResult {
    let mut cmd = match upstream.root() {
        None => Command::new("systemd-analyze"),
        Some(root) => {
            let mut cmd = Command::new(root.join("usr/lib64/ld-linux-x86-64.so.2"));
            let libs = [
                "usr/lib/x86_64-linux-gnu",
                "usr/lib/x86_64-linux-gnu/systemd",
            ]
            .map(|l| root.join(l).display().to_string())
            .join(":");
            cmd.arg("--library-path")
                .arg(libs)
                .arg(root.join("usr/bin/systemd-analyze"));
            cmd
        }
    };
    if args.contains(&"--user") {
        // the user manager's paths need a runtime directory, none other than the staged one
        let runtime = dir.0.join("runtime");
        std::fs::create_dir_all(&runtime).expect("mkdir runtime");
        cmd.env("XDG_RUNTIME_DIR", runtime);
    }
    cmd.args(args)
        .current_dir(&dir.0)
        // our page first, then the system's (the trailing colon), for Documentation=
        .env("MANPATH", format!("{}:", dir.0.join("man").display()))
        .env_remove("SYSTEMD_LOG_LEVEL")
        .env("SYSTEMD_COLORS", "0")
        .env("SYSTEMD_PAGER", "cat");
    let result = run_wait_online(cmd, Duration::from_secs(60));
    assert!(
        result.code.is_some() || result.signal.is_some(),
        "systemd-analyze did not run: install systemd"
    );
    result
}

/// The number on `→ Overall exposure level for NAME: 1.1 OK 🙂`.
fn overall_exposure(output: &str) -> Option<f64> {
    let line = output
        .lines()
        .find(|l| l.contains("Overall exposure level for"))?;
    let after = line.rsplit_once(": ")?.1;
    after.split_whitespace().next()?.parse().ok()
}

/// `systemd-analyze verify UNITS` of 252 and 257 says nothing. (262's also loads the host's
/// 252 units that ours order after, and warns about their `!!` prefixes.)
fn assert_verify_silent(dir: &TempDir, units: &[&str]) {
    let mut args = vec!["verify"];
    args.extend(units);
    for upstream in [Upstream::V252, Upstream::V257] {
        let result = systemd_analyze_of(upstream, dir, &args);
        assert!(
            result.success() && result.stdout.trim().is_empty() && result.stderr.trim().is_empty(),
            "systemd-analyze verify of {upstream:?} must pass silently:\n{}",
            result.describe()
        );
    }
}

#[test]
fn units_pass_systemd_analyze_verify() {
    assert_verify_silent(&stage_units(), &CHECKED);
}

/// `systemd-analyze security` of `upstream` for each of `units` in `dir`: each at most
/// [`MAX_EXPOSURE`].
fn assert_exposure_at_most_2(upstream: Upstream, dir: &TempDir, units: &[&str]) {
    for unit in units {
        let result = systemd_analyze_of(
            upstream,
            dir,
            &["security", "--offline=yes", "--no-pager", unit],
        );
        assert!(
            result.success(),
            "{upstream:?} {unit}:\n{}",
            result.describe()
        );
        let exposure = overall_exposure(&result.stdout).unwrap_or_else(|| {
            panic!(
                "{upstream:?} {unit}: no overall exposure level:\n{}",
                result.describe()
            )
        });
        assert!(
            exposure <= MAX_EXPOSURE,
            "{upstream:?} {unit}: exposure {exposure} > {MAX_EXPOSURE}:\n{}",
            result.stdout
        );
        eprintln!(
            "systemd {} {unit}: overall exposure {exposure}",
            upstream.major()
        );
    }
}

#[test]
fn units_are_hardened_to_exposure_at_most_2() {
    let dir = stage_units();
    for upstream in [Upstream::V252, Upstream::V257, Upstream::V262] {
        assert_exposure_at_most_2(upstream, &dir, &CHECKED);
    }
    // the baseline: upstream's unit alone, from its own directory, is far worse
    let upstream = systemd_analyze(&dir, &["security", "--offline=yes", UPSTREAM_UNIT]);
    let exposure = overall_exposure(&upstream.stdout).unwrap_or_else(|| {
        panic!(
            "upstream's unit: no overall exposure level:\n{}",
            upstream.describe()
        )
    });
    assert!(exposure > 5.0, "upstream's unit rated {exposure}?");
}

/// Upstream's two units as the host's systemd ships them, each with the hardening drop-in of
/// wait-online-divert-upstream (and nothing else) in its `.d` directory.
fn stage_divert_units() -> TempDir {
    let dir = TempDir::new();
    let drop_in = read(Path::new(ROOT).join("units").join(DIVERT_DROP_IN));
    for unit in [UPSTREAM_UNIT, UPSTREAM_TEMPLATE] {
        let name = Path::new(unit).file_name().expect("file name");
        let name = name.to_str().expect("utf-8");
        write(dir.0.join(name), &read(unit));
        write(
            dir.0.join(format!("{name}.d/wait-online-hardening.conf")),
            &drop_in,
        );
    }
    write_man_page(&dir);
    dir
}

const DIVERT_CHECKED: [&str; 2] = [
    "./systemd-networkd-wait-online.service",
    "./systemd-networkd-wait-online@eth0.service",
];

/// Netplan machines: upstream's units (whose command lines Netplan's override owns) get the
/// units' exposure from the drop-in alone, which changes no command line.
#[test]
fn divert_drop_in_hardens_upstreams_units_to_exposure_at_most_2() {
    let dir = stage_divert_units();
    assert_verify_silent(&dir, &DIVERT_CHECKED);
    for upstream in [Upstream::V252, Upstream::V257, Upstream::V262] {
        assert_exposure_at_most_2(upstream, &dir, &DIVERT_CHECKED);
    }
    let drop_in = read(Path::new(ROOT).join("units").join(DIVERT_DROP_IN));
    for key in [
        "ExecStart",
        "ExecStartPre",
        "ExecStartPost",
        "TimeoutStartSec",
        "Type",
    ] {
        assert!(
            !drop_in.lines().any(|l| l.starts_with(&format!("{key}="))),
            "{DIVERT_DROP_IN} must leave {key}= to the unit and Netplan's override"
        );
    }
}

/// Every shipped file that runs wait-online imports the boot parameters' credentials, and
/// those with a start timeout let the program push it past a longer timeout from them.
#[test]
fn units_import_the_boot_parameter_credentials() {
    let units = Path::new(ROOT).join("units");
    for file in [
        "wait-online.service",
        "wait-online@.service",
        DROP_IN,
        NM_DROP_IN,
        IFUPDOWN_DROP_IN,
        DIVERT_DROP_IN,
    ] {
        let text = read(units.join(file));
        let has = |line: &str| text.lines().any(|l| l == line);
        for credential in ["timeout", "carrier-timeout", "dns-grace"] {
            let line = format!("LoadCredential=wait-online.{credential}");
            assert!(has(&line), "{file}: {line}");
        }
        if text.lines().any(|l| l.starts_with("TimeoutStartSec=")) {
            assert!(
                has("NotifyAccess=main"),
                "{file}: EXTEND_TIMEOUT_USEC= needs it"
            );
        }
    }
}

/// The `ExecStart=` lines of a unit or drop-in.
fn exec_starts(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| l.starts_with("ExecStart="))
        .collect()
}

/// The `# Hardening.` block up to `[Install]` or the end, without comments.
fn hardening(text: &str) -> Vec<&str> {
    text.lines()
        .skip_while(|l| !l.starts_with("# Hardening."))
        .take_while(|l| !l.starts_with("[Install]"))
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

#[test]
fn units_share_one_hardening_block_and_the_upstream_shape() {
    let units = Path::new(ROOT).join("units");
    let main = read(units.join("wait-online.service"));
    let template = read(units.join("wait-online@.service"));
    let drop_in = read(units.join(DROP_IN));
    let divert_drop_in = read(units.join(DIVERT_DROP_IN));
    let block = hardening(&main);
    assert!(
        block.len() > 20,
        "no hardening block in wait-online.service"
    );
    assert_eq!(hardening(&template), block, "wait-online@.service drifted");
    assert_eq!(hardening(&drop_in), block, "{DROP_IN} drifted");
    assert_eq!(
        hardening(&divert_drop_in),
        block,
        "{DIVERT_DROP_IN} drifted"
    );
    for needed in [
        "User=wait-online",
        "PrivateUsers=yes",
        // one capability, to read Netplan's 0600 root files (the user namespace of
        // PrivateUsers= limits it to root:root files, see capability_reads_only_root_files)
        "CapabilityBoundingSet=CAP_DAC_READ_SEARCH",
        "AmbientCapabilities=CAP_DAC_READ_SEARCH",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "PrivateDevices=yes",
        // /proc/sys readable (the pitfalls' sysctls), not writable
        "ProtectKernelTunables=yes",
        "RestrictAddressFamilies=AF_UNIX AF_NETLINK AF_INET AF_INET6",
        "SystemCallFilter=@system-service",
        "TasksMax=16",
    ] {
        assert!(block.contains(&needed), "hardening lacks {needed}");
    }
    assert!(
        !block.iter().any(|l| l.starts_with("ProcSubset=")),
        "ProcSubset=pid hides /proc/sys/net from the pitfalls"
    );
    let memory_max = block
        .iter()
        .find_map(|l| l.strip_prefix("MemoryMax="))
        .expect("hardening lacks MemoryMax=");
    let mib: u64 = memory_max
        .strip_suffix('M')
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("MemoryMax={memory_max}: expected a size in M"));
    assert!((32..=1024).contains(&mib), "MemoryMax={memory_max}");
    // The start timeout is a backstop above --timeout's default (120 s, cli/mod.rs) where the
    // unit owns the command line; none where NetworkManager's or Netplan's lines carry it.
    for (name, text) in [
        ("wait-online.service", &main),
        ("wait-online@.service", &template),
        (DROP_IN, &drop_in),
    ] {
        let timeouts: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("TimeoutStartSec="))
            .collect();
        assert_eq!(timeouts, ["150"], "{name}: TimeoutStartSec=");
    }
    for (text, exec) in [
        (&main, format!("ExecStart={INSTALLED}")),
        (&template, format!("ExecStart={INSTALLED} -i %i")),
    ] {
        for line in [
            "Documentation=man:wait-online(8)",
            "DefaultDependencies=no",
            "Conflicts=shutdown.target",
            "Before=network-online.target shutdown.target",
            "Type=oneshot",
            "RemainAfterExit=yes",
            &exec,
            "WantedBy=network-online.target",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in:\n{text}"
            );
        }
    }
    assert!(template.contains("Description=") && template.contains("%i to be Configured"));
    // the user of User= is created by the package from this sysusers.d file
    let sysusers = read(units.join("sysusers.d/wait-online.conf"));
    assert!(
        sysusers
            .lines()
            .any(|l| l.split_whitespace().take(2).eq(["u", "wait-online"])),
        "units/sysusers.d/wait-online.conf does not declare the user wait-online:\n{sysusers}"
    );
    // the drop-in resets upstream's ExecStart= before adding ours
    let execs: Vec<&str> = drop_in
        .lines()
        .filter(|l| l.starts_with("ExecStart="))
        .collect();
    assert_eq!(execs, ["ExecStart=", &format!("ExecStart={INSTALLED}")]);
    // NetworkManager-wait-online's drop-in: the same hardening; nm-online replaced, with
    // NetworkManager's own timeout
    let nm_drop_in = read(units.join(NM_DROP_IN));
    assert_eq!(hardening(&nm_drop_in), block, "{NM_DROP_IN} drifted");
    assert!(
        !nm_drop_in.contains("\nTimeoutStartSec="),
        "{NM_DROP_IN}: $NM_ONLINE_TIMEOUT bounds it"
    );
    let execs = exec_starts(&nm_drop_in);
    assert_eq!(
        execs,
        [
            "ExecStart=",
            &format!(
                "ExecStart={INSTALLED} --manager=networkmanager --timeout=${{NM_ONLINE_TIMEOUT}}"
            )
        ]
    );
}

/// NetworkManager-wait-online.service from the unpacked network-manager package (with the
/// NetworkManager.service it requires and nm-online's page) and our drop-in, ExecStart=
/// pointing at the test binary.
fn stage_networkmanager_unit() -> TempDir {
    let root = crate::common::networkmanager::require_nm_root();
    let units = root.join("lib/systemd/system");
    let dir = TempDir::new();
    for unit in [
        "NetworkManager-wait-online.service",
        "NetworkManager.service",
    ] {
        write(dir.0.join(unit), &read(units.join(unit)));
    }
    let drop_in = read(Path::new(ROOT).join("units").join(NM_DROP_IN));
    write(
        dir.0.join(NM_DROP_IN),
        &drop_in.replace(INSTALLED, env!("CARGO_BIN_EXE_wait-online")),
    );
    write_man_page(&dir);
    let page = root.join("usr/share/man/man1/nm-online.1.gz");
    std::fs::create_dir_all(dir.0.join("man/man1")).expect("mkdir man1");
    std::fs::copy(&page, dir.0.join("man/man1/nm-online.1.gz"))
        .unwrap_or_else(|e| panic!("copy {}: {e}", page.display()));
    dir
}

/// `systemd-analyze security` of the staged `unit` rates it at most [`MAX_EXPOSURE`].
fn assert_exposure(dir: &TempDir, unit: &str) {
    let security = systemd_analyze(dir, &["security", "--offline=yes", "--no-pager", unit]);
    let exposure = overall_exposure(&security.stdout)
        .unwrap_or_else(|| panic!("no overall exposure level:\n{}", security.describe()));
    assert!(
        exposure <= MAX_EXPOSURE,
        "{unit}: exposure {exposure} > {MAX_EXPOSURE}:\n{}",
        security.stdout
    );
    eprintln!("{unit}: overall exposure {exposure}");
}

#[test]
fn networkmanager_drop_in_passes_verify_and_is_hardened() {
    let dir = stage_networkmanager_unit();
    let unit = "./NetworkManager-wait-online.service";
    assert_verify_silent(&dir, &[unit]);
    assert_exposure(&dir, unit);
}

/// ifupdown-wait-online.service from the unpacked ifupdown package and our drop-in, ExecStart=
/// pointing at the test binary.
fn stage_ifupdown_unit() -> TempDir {
    let root = crate::ifupdown::ifupdown_root();
    let unit = "ifupdown-wait-online.service";
    let shipped = Path::new(&root).join("lib/systemd/system").join(unit);
    assert!(
        shipped.exists(),
        "{} is missing: run tests/setup-deps.sh",
        shipped.display()
    );
    let dir = TempDir::new();
    write(dir.0.join(unit), &read(&shipped));
    let drop_in = read(Path::new(ROOT).join("units").join(IFUPDOWN_DROP_IN));
    write(
        dir.0.join(IFUPDOWN_DROP_IN),
        &drop_in.replace(INSTALLED, env!("CARGO_BIN_EXE_wait-online")),
    );
    write_man_page(&dir);
    dir
}

#[test]
fn ifupdown_drop_in_passes_verify_and_is_hardened() {
    let units = Path::new(ROOT).join("units");
    let drop_in = read(units.join(IFUPDOWN_DROP_IN));
    let main = read(units.join("wait-online.service"));
    assert_eq!(
        hardening(&drop_in),
        hardening(&main),
        "{IFUPDOWN_DROP_IN} drifted"
    );
    assert_eq!(
        exec_starts(&drop_in),
        [
            "ExecStart=",
            &format!("ExecStart={INSTALLED} --ifupdown-defaults=/etc/default/networking")
        ]
    );
    let dir = stage_ifupdown_unit();
    let unit = "./ifupdown-wait-online.service";
    assert_verify_silent(&dir, &[unit]);
    assert_exposure(&dir, unit);
}

#[test]
fn exposure_parser() {
    let sample =
        "✗ PrivateNetwork= …\n\n→ Overall exposure level for wait-online.service: 1.1 OK 🙂\n";
    assert_eq!(overall_exposure(sample), Some(1.1));
    assert_eq!(overall_exposure("nothing"), None);
}

// ---- the user manager's unit and podman's drop-in (units/user/)

const USER_UNIT: &str = "user/wait-online.service";
const PODMAN_UNIT: &str = "podman-user-wait-network-online.service";
const PODMAN_DROP_IN: &str = "user/podman-user-wait-network-online.service.d/wait-online.conf";
/// The first line of the user units' hardening block.
const USER_HARDENING: &str = "# Hardening (user manager).";
/// `systemd-analyze --user security` rates the user unit 6.4 (252), 6.2 (257), 5.8 (262): it
/// counts the capabilities a user manager's service never has (252 even calls it root) and
/// the namespace settings the unit leaves out on purpose (see its comment). The bound keeps
/// what the unit sets from being lost.
const MAX_USER_EXPOSURE: f64 = 6.5;

/// The user units' hardening block: from its first line to the end, without comments.
fn user_hardening(text: &str) -> Vec<&str> {
    text.lines()
        .skip_while(|l| !l.starts_with(USER_HARDENING))
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

/// The user unit and, beside it, a unit of the shape of podman's
/// podman-user-wait-network-online.service (5.3 and later) with our drop-in; ExecStart=
/// pointing at the test binary.
fn stage_user_units() -> TempDir {
    let bin = env!("CARGO_BIN_EXE_wait-online");
    let dir = TempDir::new();
    for (from, to) in [
        (USER_UNIT, "wait-online.service"),
        (
            PODMAN_DROP_IN,
            "podman-user-wait-network-online.service.d/wait-online.conf",
        ),
    ] {
        let text = read(Path::new(ROOT).join("units").join(from));
        assert!(text.contains(INSTALLED), "no {INSTALLED} in {from}");
        write(dir.0.join(to), &text.replace(INSTALLED, bin));
    }
    write(
        dir.0.join(PODMAN_UNIT),
        "[Unit]\nDescription=Wait for system level network-online.target as user.\n\n\
         [Service]\nType=oneshot\nTimeoutStartSec=90s\n\
         ExecStart=/bin/sh -c 'until systemctl is-active network-online.target; do sleep 0.5; done'\n\
         RemainAfterExit=yes\n",
    );
    write_man_page(&dir);
    dir
}

/// `systemd-analyze --user verify` (a user manager's unit paths, no manager needed: run as
/// root with a private XDG_RUNTIME_DIR) of 252 and 257 says nothing about either; `--user
/// security --offline=yes` of 252, 257 and 262 finds every setting of the block applied.
#[test]
fn user_units_pass_verify_and_keep_their_sandbox() {
    let dir = stage_user_units();
    let units = ["./wait-online.service", &format!("./{PODMAN_UNIT}")];
    for upstream in [Upstream::V252, Upstream::V257] {
        let mut args = vec!["--user", "verify"];
        args.extend(units);
        let result = systemd_analyze_of(upstream, &dir, &args);
        assert!(
            result.success() && result.stdout.trim().is_empty() && result.stderr.trim().is_empty(),
            "systemd-analyze --user verify of {upstream:?} must pass silently:\n{}",
            result.describe()
        );
    }
    for upstream in [Upstream::V252, Upstream::V257, Upstream::V262] {
        for unit in units {
            let result = systemd_analyze_of(
                upstream,
                &dir,
                &["--user", "security", "--offline=yes", "--no-pager", unit],
            );
            let exposure = overall_exposure(&result.stdout).unwrap_or_else(|| {
                panic!(
                    "{upstream:?} {unit}: no exposure level:\n{}",
                    result.describe()
                )
            });
            eprintln!(
                "systemd {} --user {unit}: overall exposure {exposure}",
                upstream.major()
            );
            assert!(
                exposure <= MAX_USER_EXPOSURE,
                "{upstream:?} {unit}: {exposure}:\n{}",
                result.stdout
            );
            for setting in [
                "NoNewPrivileges=",
                "LockPersonality=",
                "MemoryDenyWriteExecute=",
                "RestrictRealtime=",
                "RestrictSUIDSGID=",
                "RestrictNamespaces=",
                "SystemCallArchitectures=",
                "SystemCallFilter=",
                "UMask=",
                "RestrictAddressFamilies=~AF_PACKET",
                "RestrictAddressFamilies=~…",
            ] {
                assert!(
                    !result
                        .stdout
                        .lines()
                        .any(|l| l.starts_with(&format!("✗ {setting}"))),
                    "{upstream:?} {unit}: {setting} not applied:\n{}",
                    result.stdout
                );
            }
        }
    }
}

/// The user unit's block is the system unit's without what a user manager cannot apply
/// everywhere (namespaces, capabilities, a user); podman's drop-in carries the same block and
/// replaces podman's command; neither is enabled by anything.
#[test]
fn user_units_share_the_system_units_namespace_free_settings() {
    let units = Path::new(ROOT).join("units");
    let system = read(units.join("wait-online.service"));
    let user = read(units.join(USER_UNIT));
    let podman = read(units.join(PODMAN_DROP_IN));
    let system_block = hardening(&system);
    let block = user_hardening(&user);
    assert!(block.len() > 10, "no hardening block in {USER_UNIT}");
    for line in &block {
        assert!(
            system_block.contains(line),
            "{USER_UNIT}: {line} is not the system unit's"
        );
    }
    for needed in [
        "NoNewPrivileges=yes",
        "RestrictAddressFamilies=AF_UNIX AF_NETLINK AF_INET AF_INET6",
        "SystemCallFilter=@system-service",
        "MemoryMax=256M",
        "TasksMax=16",
    ] {
        assert!(block.contains(&needed), "{USER_UNIT} lacks {needed}");
    }
    // what needs a user namespace in a user manager, or privilege it does not have
    for key in [
        "User=",
        "Group=",
        "PrivateUsers=",
        "CapabilityBoundingSet=",
        "AmbientCapabilities=",
        "ProtectSystem=",
        "ProtectHome=",
        "PrivateTmp=",
        "PrivateDevices=",
        "ProtectKernel",
        "ProtectProc=",
        "PrivateIPC=",
        "PrivateMounts=",
        "ProtectClock=",
        "ProtectHostname=",
        "ProtectControlGroups=",
    ] {
        assert!(
            !block.iter().any(|l| l.starts_with(key)),
            "{USER_UNIT}: {key} needs a user namespace (see its comment)"
        );
    }
    for line in [
        "Type=oneshot",
        "RemainAfterExit=yes",
        &format!("ExecStart={INSTALLED}"),
        "TimeoutStartSec=150",
        "Documentation=man:wait-online(8)",
    ] {
        assert!(user.lines().any(|l| l == line), "{USER_UNIT} lacks {line}");
    }
    assert!(
        !user.lines().any(|l| l.trim() == "[Install]"),
        "{USER_UNIT}: pulled in by what needs it, never enabled"
    );
    assert_eq!(user_hardening(&podman), block, "{PODMAN_DROP_IN} drifted");
    let execs: Vec<&str> = podman
        .lines()
        .filter(|l| l.starts_with("ExecStart="))
        .collect();
    assert_eq!(execs, ["ExecStart=", &format!("ExecStart={INSTALLED}")]);
}

// ---- real runs without any privilege ----

/// A world-readable copy of the binary (the build tree may not be traversable by nobody).
pub(crate) fn unprivileged_copy() -> (TempDir, String) {
    let dir = TempDir::new();
    let bin = dir.0.join("wait-online");
    std::fs::copy(env!("CARGO_BIN_EXE_wait-online"), &bin).expect("copy binary");
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let bin = bin.to_str().expect("utf-8 path").to_string();
    (dir, bin)
}

/// `setpriv` really drops everything (so that a passing run below means something).
fn assert_setpriv_drops_everything(ns: &Netns) {
    let args = setpriv_args("/bin/cat", &["/proc/self/status"]);
    let status = run_wait_online(ns.exec("setpriv", &args), LIMIT);
    assert!(status.success(), "{}", status.describe());
    assert_status_fields(
        &status,
        &[
            ("Uid:", "65534\t65534\t65534\t65534"),
            ("Gid:", "65534\t65534\t65534\t65534"),
            ("CapPrm:", "0000000000000000"),
            ("CapEff:", "0000000000000000"),
            ("CapBnd:", "0000000000000000"),
            ("CapAmb:", "0000000000000000"),
            ("NoNewPrivs:", "1"),
        ],
    );
}

/// `status` (the output of `cat /proc/self/status`) has each `(key, value)` line.
fn assert_status_fields(status: &RunResult, fields: &[(&str, &str)]) {
    for (key, value) in fields {
        assert!(
            status
                .stdout
                .lines()
                .any(|l| l.starts_with(key) && l[key.len()..].trim() == *value),
            "the sandbox lacks {key} {value}:\n{}",
            status.describe()
        );
    }
}

/// `--require-time-sync` reads the kernel's NTP status with no privilege at all (`adjtimex()`
/// with no modes only reads), so its reason never says the status cannot be read.
#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn unprivileged_run_reads_the_clocks_ntp_status() {
    let _root = common::require_root();
    let (_dir, bin) = unprivileged_copy();
    let ns = Netns::new();
    let args = [
        "--manager=none",
        "-i",
        "lo:off",
        "--require-time-sync",
        "--timeout=1",
        "--json",
    ];
    let r = run_wait_online(ns.exec("setpriv", &setpriv_args(&bin, &args)), LIMIT);
    let json: serde_json::Value = serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("no JSON ({e}): {}", r.describe()));
    let reason = json["conditions"][0]["reason"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("system clock")
            && !reason.contains("cannot be read")
            && !reason.contains("forbids"),
        "{}",
        r.describe()
    );
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn unprivileged_run_in_a_netns() {
    let _root = common::require_root();
    let (_dir, bin) = unprivileged_copy();
    let ns = Netns::new();
    assert_setpriv_drops_everything(&ns);
    let run = |args: &[&str]| run_wait_online(ns.exec("setpriv", &setpriv_args(&bin, args)), LIMIT);

    // the brief's check: the loopback has a carrier
    let r = run(&["--manager=none", "-i", "lo:carrier", "--timeout=2"]);
    assert_eq!(r.code, Some(0), "{}", r.describe());

    // a timeout still explains itself
    let r = run(&["--manager=none", "-i", "lo:routable", "--timeout=1"]);
    assert_eq!(r.code, Some(1), "{}", r.describe());
    assert!(
        r.stderr.contains("Timeout occurred") && r.stderr.contains("lo"),
        "{}",
        r.describe()
    );

    // events: start waiting, then the link comes up with a global address
    let _peer = ns.add_peer();
    let waiting = run_wait_online_bg(
        ns.exec(
            "setpriv",
            &setpriv_args(
                &bin,
                &["--manager=none", "-i", "wo0:routable", "--timeout=20"],
            ),
        ),
        LIMIT,
    );
    std::thread::sleep(Duration::from_millis(300));
    ns.add_addr("wo0", "10.77.0.2/24");
    ns.link_up("wo0");
    let r = waiting.join().expect("join");
    assert_eq!(r.code, Some(0), "{}", r.describe());
    assert!(r.elapsed < Duration::from_secs(15), "{}", r.describe());

    // every link that is up, without -i
    let r = run(&["--manager=none", "--timeout=10"]);
    assert_eq!(r.code, Some(0), "{}", r.describe());
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn unprivileged_dns_in_a_netns() {
    let _root = common::require_root();
    let (_dir, bin) = unprivileged_copy();
    // The holder's private /etc/resolv.conf; networkd is not started (--manager=none).
    let env = NetworkdEnv::new();
    let peer = env.netns().add_peer();
    env.netns().add_addr("wo0", "10.77.0.2/24");
    env.netns().link_up("wo0");
    env.netns()
        .ip(&["route", "add", "default", "via", "10.77.0.1"]);
    env.set_resolv_conf("nameserver 10.77.0.1\n");
    let _server = DnsServer::start(
        &peer,
        "10.77.0.1",
        &[("probe.wait-online.test", "10.77.0.9")],
    );
    // UDP sockets to the server (--dns), a real query (--dns-probe), without privilege
    let r = run_wait_online(
        env.run(
            "setpriv",
            &setpriv_args(
                &bin,
                &[
                    "--manager=none",
                    "-i",
                    "wo0:routable",
                    "--dns",
                    "--dns-probe=probe.wait-online.test",
                    "--timeout=15",
                ],
            ),
        ),
        LIMIT,
    );
    env.assert_code(&r, 0);
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn unprivileged_run_with_networkd() {
    let _root = common::require_root();
    let (_dir, bin) = unprivileged_copy();
    // inotify on /run/systemd/netif/links/, the forked inotify holder, the state files
    let mut env = NetworkdEnv::new();
    let peer = Netns::new();
    env.netns().add_veth("wo0", Some(&peer), "wo0p");
    peer.add_addr("wo0p", "10.77.0.1/24");
    env.write_network(
        "10-wo0.network",
        &common::network("wo0", "Address=10.77.0.2/24\n"),
    );
    // networkd runs (its state directory exists), wo0 has no carrier until the peer is up
    env.start_networkd();
    let waiting = run_wait_online_bg(
        env.run(
            "setpriv",
            &setpriv_args(
                &bin,
                &["--manager=networkd", "-i", "wo0:routable", "--timeout=20"],
            ),
        ),
        LIMIT,
    );
    std::thread::sleep(Duration::from_millis(300));
    peer.link_up("wo0p");
    let r = waiting.join().expect("join");
    assert_eq!(r.code, Some(0), "{}\n{}", r.describe(), env.logs_tail(30));
    // without -i: networkd's view of every link, loopback unmanaged
    let r = run_wait_online(
        env.run(
            "setpriv",
            &setpriv_args(&bin, &["--manager=networkd", "--timeout=10"]),
        ),
        LIMIT,
    );
    assert_eq!(r.code, Some(0), "{}\n{}", r.describe(), env.logs_tail(30));
}

// ---- the units' one capability, CAP_DAC_READ_SEARCH, in a user namespace like theirs

/// Netplan YAML for the capability test: `lo` is the one interface that exists wherever the
/// test runs (Netplan's lines name present interfaces only).
const LO_NETPLAN_YAML: &str =
    "network:\n  version: 2\n  renderer: networkd\n  ethernets:\n    lo:\n      dhcp4: true\n";

/// `sh -c USERNS_SCRIPT sh CAPS YAML PROGRAM ARGS...`, run in a private mount namespace:
/// writes YAML to /run/netplan/50-test.yaml (a private /run), 0600 root:root as Netplan wants
/// it; then runs PROGRAM as root (CAPS `root`), or as uid/gid 65534 with CAPS (setpriv's
/// spelling: "" or ",+dac_read_search") as its only capabilities, ambient, and no new
/// privileges, in a new user namespace that maps only root and 65534 to themselves, as
/// PrivateUsers=yes maps root and the unit's user (the maps are written from outside: a
/// process cannot map more than itself).
const USERNS_SCRIPT: &str = r#"set -e
caps=$1 yaml=$2
shift 2
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir /run/netplan
printf '%s' "$yaml" >/run/netplan/50-test.yaml
chown 0:0 /run/netplan/50-test.yaml
chmod 0600 /run/netplan/50-test.yaml
[ "$caps" != root ] || exec "$@"
mkfifo /run/go
unshare --user -- sh -c 'read -r _ </run/go; exec "$@"' sh setpriv --reuid=65534 --regid=65534 \
	--clear-groups --no-new-privs --inh-caps="-all$caps" --ambient-caps="-all$caps" \
	--bounding-set="-all$caps" -- "$@" &
pid=$!
while [ "$(readlink /proc/$pid/ns/user)" = "$(readlink /proc/self/ns/user)" ]; do sleep 0.01; done
printf '0 0 1\n65534 65534 1\n' >/proc/$pid/uid_map
printf '0 0 1\n65534 65534 1\n' >/proc/$pid/gid_map
echo go >/run/go
wait $pid
"#;

fn in_unit_like_userns(caps: &str, program: &str, args: &[&str]) -> RunResult {
    let mut cmd = Command::new("unshare");
    cmd.args([
        "-m",
        "--propagation",
        "private",
        "sh",
        "-c",
        USERNS_SCRIPT,
        "sh",
    ])
    .args([caps, LO_NETPLAN_YAML, program])
    .args(args);
    run_wait_online(cmd, LIMIT)
}

/// Compared with root's run: `--online-definition=ubuntu` reads Netplan's 0600 root file with
/// the units' capability as it does as root, fails without it (the finding the units had), and
/// the capability reads no root-owned file whose group the namespace does not map
/// (/etc/shadow, root:shadow 0640), as the units' comment says.
#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn capability_reads_netplan_files_and_only_root_files() {
    let _root = common::require_root();
    let (_dir, bin) = unprivileged_copy();
    let args = ["--online-definition=ubuntu", "--print-netplan-lines"];
    let as_root = in_unit_like_userns("root", &bin, &args);
    assert_eq!(as_root.code, Some(0), "{}", as_root.describe());
    assert!(as_root.stdout.contains("-i lo:"), "{}", as_root.describe());

    let with_cap = in_unit_like_userns(",+dac_read_search", &bin, &args);
    assert_eq!(with_cap.code, Some(0), "{}", with_cap.describe());
    assert_eq!(with_cap.stdout, as_root.stdout, "{}", with_cap.describe());

    let without = in_unit_like_userns("", &bin, &args);
    assert_eq!(without.code, Some(1), "{}", without.describe());
    assert!(
        without.stderr.contains("/run/netplan/50-test.yaml")
            && without.stderr.contains("denied")
            // what can read it, for the user unit's users
            && without.stderr.contains("a user service cannot use --online-definition=ubuntu"),
        "{}",
        without.describe()
    );

    // the sandbox itself: the capability, and what it reaches
    let status = in_unit_like_userns(",+dac_read_search", "/bin/cat", &["/proc/self/status"]);
    assert_status_fields(
        &status,
        &[
            ("Uid:", "65534\t65534\t65534\t65534"),
            ("CapEff:", "0000000000000004"),
            ("CapBnd:", "0000000000000004"),
            ("CapAmb:", "0000000000000004"),
            ("NoNewPrivs:", "1"),
        ],
    );
    let shadow = std::fs::metadata("/etc/shadow").expect("/etc/shadow");
    assert!(
        std::os::unix::fs::MetadataExt::gid(&shadow) != 0
            && std::os::unix::fs::MetadataExt::mode(&shadow) & 0o004 == 0,
        "the check below needs /etc/shadow in a group other than root's, not world-readable"
    );
    let r = in_unit_like_userns(",+dac_read_search", "/bin/head", &["-c1", "/etc/shadow"]);
    assert_eq!(r.code, Some(1), "{}", r.describe());
    assert!(r.stderr.contains("Permission denied"), "{}", r.describe());
}
