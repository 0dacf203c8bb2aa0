//! Reads the machine's facts ([`MachineFacts`]) once, when the wait starts: whether systemd
//! says it runs in a container, and which network managers' wait-online units the boot
//! starts. Nothing is asked over D-Bus (systemd may not answer yet this early in boot, and
//! the networkd and kernel-only paths make no bus connection): the files systemd itself reads
//! decide, under a root directory so that tests use a temporary tree.
//!
//! "Enabled" here is what makes the boot start the unit, as systemd loads it: a `.wants/`
//! entry of `network-online.target` (both units say `WantedBy=network-online.target`) in one
//! of the unit directories ([`UNIT_DIRS`]), `systemctl enable`'s symlink in `/etc` or
//! (`--runtime`) `/run`, or a distribution's in `/usr/lib`; and no mask (`systemctl mask`: the
//! unit's name in `/etc` or `/run` links to `/dev/null`, or is an empty file), which wins over
//! any `.wants/` entry. `systemctl is-enabled` says `enabled` or `enabled-runtime` for the
//! first two and `masked` for the last. The generator and control directories are left out:
//! no generator writes these units' `.wants/` entries.

use std::os::unix::fs::FileTypeExt;
use std::path::Path;

use crate::bounded_read::{self, KERNEL_VALUE_CAP};
use crate::core::machine::{MachineFacts, Waiters};

/// Written by systemd (PID 1) when it runs in a container: the container manager's name.
pub const CONTAINER_FILE: &str = "run/systemd/container";

/// The system unit directories, relative to the root, in systemd's order of precedence.
pub const UNIT_DIRS: [&str; 5] = [
    "etc/systemd/system",
    "run/systemd/system",
    "usr/local/lib/systemd/system",
    "usr/lib/systemd/system",
    "lib/systemd/system",
];

/// The directories where `systemctl mask` puts its `/dev/null` link (persistent, runtime).
const MASK_DIRS: [&str; 2] = ["etc/systemd/system", "run/systemd/system"];

/// The target whose `.wants/` pulls the waiters in.
const WANTED_BY: &str = "network-online.target.wants";

/// Reads the facts under `root` (`/` on a running system). `every_link` is left false: the
/// engine knows whether it follows every link.
pub fn read(root: &Path) -> MachineFacts {
    MachineFacts {
        container: container(root),
        waiters: Waiters {
            networkd: enabled(root, Waiters::NETWORKD_UNIT),
            networkmanager: enabled(root, Waiters::NETWORKMANAGER_UNIT),
        },
        every_link: false,
    }
}

/// The container manager's name from `/run/systemd/container` (its first line, trimmed), when
/// the file exists and is readable; `Some("")` when it is empty.
pub fn container(root: &Path) -> Option<String> {
    let path = root.join(CONTAINER_FILE);
    match bounded_read::read_lossy(&path, KERNEL_VALUE_CAP) {
        Ok(text) => Some(text.lines().next().unwrap_or("").trim().to_owned()),
        Err(err) if err.is_not_found() => None,
        Err(err) => {
            tracing::debug!("cannot read {}: {err}", path.display());
            None
        }
    }
}

/// Whether the boot starts `unit` through `network-online.target` (see the module's
/// documentation).
pub fn enabled(root: &Path, unit: &str) -> bool {
    let wanted = UNIT_DIRS
        .iter()
        .any(|dir| exists(&root.join(dir).join(WANTED_BY).join(unit)));
    wanted
        && !MASK_DIRS
            .iter()
            .any(|dir| masked(&root.join(dir).join(unit)))
}

/// The entry exists, a symlink (dangling or not) or a file: systemd follows the link
/// when it loads the unit, and says why it cannot when it cannot.
fn exists(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

/// The unit file at `path` is a mask: it resolves to a character device (`/dev/null`) or an
/// empty regular file, as systemd's `null_or_empty()` decides. A symlink to `/dev/null` is
/// resolved as is, whatever the root: `/dev/null` is the same everywhere.
fn masked(path: &Path) -> bool {
    if let Ok(target) = std::fs::read_link(path)
        && target == Path::new("/dev/null")
    {
        return true;
    }
    std::fs::metadata(path)
        .is_ok_and(|meta| meta.file_type().is_char_device() || (meta.is_file() && meta.len() == 0))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;
    use std::path::PathBuf;

    use super::*;

    /// A temporary root, removed when dropped.
    struct Root(PathBuf);

    impl Root {
        fn new(name: &str) -> Root {
            let path = std::env::temp_dir()
                .join(format!("wait-online-machine-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&path);
            std::fs::create_dir_all(&path).unwrap();
            Root(path)
        }

        fn link(&self, relative: &str, target: &str) {
            let path = self.0.join(relative);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            symlink(target, path).unwrap();
        }

        fn file(&self, relative: &str, text: &str) {
            let path = self.0.join(relative);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
    }

    impl Drop for Root {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// A layout: its name, the links (directory, target; `x` for the unit's own file), and
    /// whether the unit counts as enabled.
    type Layout = (&'static str, &'static [(&'static str, &'static str)], bool);

    const NETWORKD: &str = Waiters::NETWORKD_UNIT;
    const NM: &str = Waiters::NETWORKMANAGER_UNIT;

    /// Compared with what `systemctl is-enabled` says of each layout (systemd 255): enabled
    /// (/etc), enabled-runtime (/run), a distribution's .wants link in /usr/lib (started at
    /// boot), masked in /etc or /run (never started), and nothing (disabled).
    #[test]
    fn wants_links_in_any_unit_directory_enable_and_masks_win() {
        let target = |unit: &str| format!("/usr/lib/systemd/system/{unit}");
        let cases: [Layout; 7] = [
            ("none", &[], false),
            (
                "etc",
                &[("etc/systemd/system/network-online.target.wants", "x")],
                true,
            ),
            (
                "run",
                &[("run/systemd/system/network-online.target.wants", "x")],
                true,
            ),
            (
                "usr-lib",
                &[("usr/lib/systemd/system/network-online.target.wants", "x")],
                true,
            ),
            (
                "masked-etc",
                &[
                    ("etc/systemd/system/network-online.target.wants", "x"),
                    ("etc/systemd/system", "/dev/null"),
                ],
                false,
            ),
            (
                "masked-run",
                &[
                    ("usr/lib/systemd/system/network-online.target.wants", "x"),
                    ("run/systemd/system", "/dev/null"),
                ],
                false,
            ),
            (
                "other-target",
                &[("etc/systemd/system/multi-user.target.wants", "x")],
                false,
            ),
        ];
        for (name, links, expected) in cases {
            let root = Root::new(name);
            for (dir, how) in links {
                let path = format!("{dir}/{NETWORKD}");
                match *how {
                    "x" => root.link(&path, &target(NETWORKD)),
                    other => root.link(&path, other),
                }
            }
            assert_eq!(enabled(&root.0, NETWORKD), expected, "{name}");
            assert!(!enabled(&root.0, NM), "{name}: only {NETWORKD} was set up");
        }
    }

    /// An empty unit file in /etc masks too (systemd's null_or_empty()); a non-empty one
    /// does not.
    #[test]
    fn an_empty_unit_file_masks() {
        let root = Root::new("empty-mask");
        root.link(
            &format!("lib/systemd/system/network-online.target.wants/{NM}"),
            "x",
        );
        assert!(enabled(&root.0, NM));
        root.file(&format!("etc/systemd/system/{NM}"), "[Unit]\n");
        assert!(enabled(&root.0, NM), "a real unit file in /etc is no mask");
        std::fs::write(root.0.join(format!("etc/systemd/system/{NM}")), "").unwrap();
        assert!(!enabled(&root.0, NM));
    }

    /// What systemd writes (`systemd-nspawn\n`, `lxc\n`, `docker\n`), an empty file, and no
    /// file at all (a host).
    #[test]
    fn the_container_file_names_the_manager() {
        let root = Root::new("container");
        assert_eq!(container(&root.0), None);
        root.file(CONTAINER_FILE, "systemd-nspawn\n");
        assert_eq!(container(&root.0).as_deref(), Some("systemd-nspawn"));
        root.file(CONTAINER_FILE, "");
        assert_eq!(container(&root.0).as_deref(), Some(""));
        root.file(CONTAINER_FILE, "lxc\nsecond line\n");
        assert_eq!(read(&root.0).container.as_deref(), Some("lxc"));
    }
}
