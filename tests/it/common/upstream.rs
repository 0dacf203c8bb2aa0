//! Which upstream systemd a [`NetworkdEnv`] runs: the host's (Debian 12, systemd 252) or a
//! newer one from a root that `tests/setup-upstreams.sh` debootstrapped and cached
//! (`/var/cache/wait-online-tests/upstream-<suite>-YYYYMMDD`: Debian 13 = 257, testing = 262).
//!
//! The newer binaries need their own libc, so everything runs chrooted there: the holder
//! (PID 1 of the private PID namespace) mounts an overlay of the cached root (lower, never
//! written) with a per-test upper directory, prepares it like the host layout of `networkd.rs`
//! and then chroots itself, so that every process entered with `nsenter -r -w` (dbus-daemon,
//! networkd, resolved, networkctl, resolvectl, busctl, both waiters) shares its root, mount,
//! network and PID namespaces:
//! ```text
//! <tmp>/wot-<pid>-<n>/root   overlay: lower = the cached root, upper/work = <tmp>/.../{upper,work}
//!    /run                    private tmpfs; /run/wot = bind of <tmp>/wot-<pid>-<n> (dbus.conf, ...)
//!    /proc /sys /dev         the PID ns' proc, the netns' sysfs READ-ONLY (+ host cgroupfs), /dev
//!    /etc/systemd/network    bind of <tmp>/wot-<pid>-<n>/network
//!    /etc/resolv.conf        bind of <tmp>/wot-<pid>-<n>/etc/resolv.conf
//!    <wait_online_bin()>     bind of this crate's binary at the same path (built against the
//!                            host's older glibc, it runs on the newer one)
//! ```
//! Why the holder itself is chrooted: networkctl 257+ refuses to run when its root differs
//! from PID 1's ("Running in chroot, ignoring command"); and a varlink monitor subscriber
//! (upstream 262's `--dns`) must share resolved's PID namespace, or resolved fails with
//! "Failed to acquire peer credentials". An overlay costs one mount per test instead of a
//! copy of the root (~300 MB); tests run in parallel on the same lower directory.

use std::path::PathBuf;

use super::networkd::NetworkdEnv;

/// Where `tests/setup-upstreams.sh` caches the roots (its `WO_CACHE`).
pub const UPSTREAM_CACHE_ENV: &str = "WO_CACHE";
const DEFAULT_CACHE: &str = "/var/cache/wait-online-tests";
/// The file in a root that records its package versions (first line `systemd=VERSION`).
const STAMP: &str = ".wait-online-packages";

/// One upstream systemd to compare with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upstream {
    /// The host's systemd (Debian 12), no chroot.
    V252,
    /// Debian 13 (trixie).
    V257,
    /// Debian testing (forky); the first with `--dns` (resolved's varlink monitor).
    V262,
}

impl Upstream {
    /// The Debian suite of a cached root; None for the host.
    pub fn suite(self) -> Option<&'static str> {
        match self {
            Upstream::V252 => None,
            Upstream::V257 => Some("trixie"),
            Upstream::V262 => Some("forky"),
        }
    }

    /// The systemd major version.
    pub fn major(self) -> u32 {
        match self {
            Upstream::V252 => 252,
            Upstream::V257 => 257,
            Upstream::V262 => 262,
        }
    }

    /// The newest cached root of this upstream (None for the host); panics with the way out
    /// when there is none or it holds another systemd version.
    pub fn root(self) -> Option<PathBuf> {
        let suite = self.suite()?;
        let cache = std::env::var_os(UPSTREAM_CACHE_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_CACHE));
        let prefix = format!("upstream-{suite}-");
        let mut roots: Vec<PathBuf> = std::fs::read_dir(&cache)
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.path())
                    .filter(|p| {
                        p.file_name()
                            .and_then(|n| n.to_str())
                            .and_then(|n| n.strip_prefix(&prefix))
                            .is_some_and(|d| d.len() == 8 && d.bytes().all(|b| b.is_ascii_digit()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        roots.sort();
        let root = roots.pop().unwrap_or_else(|| {
            panic!(
                "no cached {suite} root in {}: run `sudo tests/setup-upstreams.sh` once",
                cache.display()
            )
        });
        let stamp = std::fs::read_to_string(root.join(STAMP)).unwrap_or_default();
        let version = stamp
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("systemd="))
            .unwrap_or_else(|| {
                panic!(
                    "{} has no {STAMP}: re-run `sudo tests/setup-upstreams.sh`",
                    root.display()
                )
            });
        assert!(
            version.starts_with(&format!("{}.", self.major()))
                || version.starts_with(&format!("{}-", self.major())),
            "{} holds systemd {version}, the tests expect {}: update tests/it/common/upstream.rs",
            root.display(),
            self.major()
        );
        Some(root)
    }
}

impl std::fmt::Display for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "upstream {}", self.major())
    }
}

impl NetworkdEnv {
    /// [`NetworkdEnv::new`] running `upstream`'s networkd, bus and tools.
    pub fn for_upstream(upstream: Upstream) -> NetworkdEnv {
        NetworkdEnv::build_in(None, None, upstream)
    }

    /// [`NetworkdEnv::with_resolved`] running `upstream`'s networkd, resolved, bus and tools.
    pub fn for_upstream_with_resolved(upstream: Upstream) -> NetworkdEnv {
        match upstream {
            Upstream::V252 => NetworkdEnv::with_resolved(),
            _ => NetworkdEnv::build_in(Some(PathBuf::from("/")), None, upstream),
        }
    }
}

/// PID 1 of the private PID namespace when chrooted (see the module documentation); the
/// unchrooted variant is `networkd.rs`' HOLDER_SCRIPT. Runs on the host's sh until the `exec`.
pub(super) const CHROOT_HOLDER_SCRIPT: &str = r#"set -e
R=$WOT_DIR/root
mkdir -p "$R" "$WOT_DIR/upper" "$WOT_DIR/work"
mount -t overlay overlay -o "lowerdir=$WOT_UPSTREAM,upperdir=$WOT_DIR/upper,workdir=$WOT_DIR/work" "$R"
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$R/run"
mkdir -p "$R/run/dbus" "$R/run/systemd/netif" "$R/run/wot"
mount --bind "$WOT_DIR" "$R/run/wot"
mount -t proc -o nosuid,nodev,noexec proc "$R/proc"
# the netns' own sysfs, READ-ONLY: networkd then does not wait for udev (there is none)
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$R/sys"
# sd-bus credentials need the cgroupfs
mount --rbind /sys/fs/cgroup "$R/sys/fs/cgroup"
mount --rbind /dev "$R/dev"
mount --bind "$WOT_DIR/network" "$R/etc/systemd/network"
rm -f "$R/etc/resolv.conf"
: > "$R/etc/resolv.conf"
mount --bind "$WOT_DIR/etc/resolv.conf" "$R/etc/resolv.conf"
mkdir -p "$R${WOT_BIN%/*}"
: > "$R$WOT_BIN"
mount --bind "$WOT_BIN" "$R$WOT_BIN"
chroot "$R" chown systemd-network:systemd-network /run/systemd/netif
if [ -n "${WOT_RESOLVED:-}" ]; then
	mkdir -p "$R/run/systemd/resolve" "$R/run/systemd/resolved.conf.d"
	chroot "$R" chown systemd-resolve:systemd-resolve /run/systemd/resolve
	cp "$WOT_DIR/resolved.conf" "$R/run/systemd/resolved.conf.d/zz-wait-online-tests.conf"
fi
# ready only once chrooted: `nsenter -r` takes the holder's root as it is at that moment
exec chroot "$R" /bin/sh -c ': > /run/wot/ready; read -r _ || true'
"#;
