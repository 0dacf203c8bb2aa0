#!/bin/bash
# scripts/test-deb.sh -- build the Debian package from a clean copy of the tree, inspect it, and
# install and remove it in a Debian 12 chroot (never on the host). Re-runnable; run as root.
#
#   1. copy the tree (git ls-files: tracked + untracked, not ignored) to $WO_DEB_DIR/wait-online-VER
#   2. dpkg-buildpackage -us -uc -b          -> $WO_DEB_DIR/wait-online_VER-REV_ARCH.deb
#   3. dpkg-deb -c / -I, the expected files (the three shell completions too), lintian (reported,
#      never fatal)
#   4. chroot A: minimal bookworm (debootstrap --variant=minbase, cached by lib-deb.sh in
#      /var/cache/wait-online-tests/debootstrap-bookworm-YYYYMMDD):
#      dpkg -i, files present, units not enabled, wait-online --help runs, dpkg -r, dpkg -P,
#      nothing left behind
#   5. chroot B (skip with WO_SKIP_SYSTEMD=1): the same chroot plus systemd: systemd-analyze
#      verify/security on the installed units, the opt-in drop-in of wait-online(8) and its
#      undo, removal (the package wait-online-divert-upstream: scripts/test-divert.sh)
#   6. boot C (skip with WO_SKIP_BOOT=1): the chroot plus dbus and systemd-resolved, booted with
#      systemd as PID 1 (systemd-nspawn, in a network namespace of its own, dnsmasq in a peer
#      namespace at the other end of its veth: wo_boot in scripts/lib-deb.sh); the hardened
#      units run for real: networkd mode, kernel only, --dns and --dns-probe through resolved
#      on D-Bus, upstream's unit with the drop-in; the sandbox they get is printed (one
#      capability, CAP_DAC_READ_SEARCH; seccomp, user namespace, read-only /usr)
#
# Needs network access (crates.io for cargo, the Debian mirror for debootstrap/apt) and cargo on
# PATH (rustup). Installs nothing on the host: without debhelper there, the package is built in
# a chroot (scripts/lib-deb.sh). Environment: WO_DEB_DIR (/tmp/wo-deb), WO_CHROOT
# (/tmp/wo-chroot), WO_SKIP_BUILD=1 (reuse the .deb of a previous run), WO_SKIP_SYSTEMD=1,
# WO_SKIP_BOOT=1, and those of lib-deb.sh (WO_MIRROR, WO_CACHE, WO_BASE_MAX_AGE).
# The boot needs systemd-nspawn: the host's, or systemd-container of the host's systemd version
# downloaded and unpacked into $WO_CACHE/tools (never installed), and dnsmasq.
# Takes about 5 minutes (4-5 for the release build with fat LTO, under a minute for the chroot
# phases and the boot, plus about a minute for the first debootstrap): not for every CI run.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
WO_NAME=test-deb
T0=$SECONDS
# shellcheck source=scripts/lib-deb.sh
. "$SRC/scripts/lib-deb.sh"
WORK=${WO_DEB_DIR:-/tmp/wo-deb}
CHROOT=${WO_CHROOT:-/tmp/wo-chroot}

[ "$(id -u)" = 0 ] || fail "run as root (debootstrap, chroot)"
trap wo_cleanup EXIT

VERSION=$(dpkg-parsechangelog -l "$SRC/debian/changelog" -S Version)
ARCH=$(dpkg --print-architecture)
DEB=$WORK/wait-online_${VERSION}_${ARCH}.deb

# ---- 1+2. clean copy and build (lintian's report: $WORK/lintian.txt)
if [ "${WO_SKIP_BUILD:-}" = 1 ] && [ -s "$DEB" ]; then
	say "reusing $DEB"
else
	wo_build "$SRC" "$WORK"
fi
[ -s "$DEB" ] || fail "$DEB was not produced"

# ---- 3. contents
say "dpkg-deb -c $(basename "$DEB")"
dpkg-deb -c "$DEB" | tee "$WORK/contents.txt"
dpkg-deb -I "$DEB" | sed -n '/Package:/,$p'
FILES=(
	./usr/libexec/wait-online/wait-online
	./usr/bin/wait-online
	./lib/systemd/system/wait-online.service
	./lib/systemd/system/wait-online@.service
	./usr/share/wait-online/systemd-networkd-wait-online.service.d/wait-online.conf
	./usr/share/wait-online/NetworkManager-wait-online.service.d/wait-online.conf
	./usr/share/wait-online/ifupdown-wait-online.service.d/wait-online.conf
	./usr/lib/systemd/user/wait-online.service
	./usr/share/wait-online/user/podman-user-wait-network-online.service.d/wait-online.conf
	./usr/lib/sysusers.d/wait-online.conf
	./usr/share/man/man8/wait-online.8.gz
	./usr/share/doc/wait-online/README.md.gz
	./usr/share/doc/wait-online/copyright
	./usr/share/doc/wait-online/changelog.Debian.gz
	./usr/share/bash-completion/completions/wait-online
	./usr/share/zsh/vendor-completions/_wait-online
	./usr/share/fish/vendor_completions.d/wait-online.fish
)
for f in "${FILES[@]}"; do
	grep -q " $f\( ->\|$\)" "$WORK/contents.txt" || fail "the package lacks $f"
done
grep -q ' ./usr/bin/wait-online -> ../libexec/wait-online/wait-online$' "$WORK/contents.txt" ||
	fail "/usr/bin/wait-online is not a symlink to ../libexec/wait-online/wait-online"
if grep -q 'wants/' "$WORK/contents.txt"; then fail "the package ships an enablement symlink"; fi

# ---- 4. chroot A: minimal bookworm
BASE=$(wo_base bookworm "$WORK/debootstrap.log")
say "fresh chroot $CHROOT (copy of $BASE)"
wo_chroot "$BASE" "$CHROOT"
cp "$DEB" "$CHROOT/tmp/"
IN() { wo_in "$CHROOT" "$@"; }
PKG=/tmp/$(basename "$DEB")

installed_checks() {
	local f
	for f in "${FILES[@]}"; do
		[ -e "$CHROOT/${f#./}" ] || fail "after dpkg -i: ${f#.} is missing"
	done
	[ "$(readlink "$CHROOT/usr/bin/wait-online")" = ../libexec/wait-online/wait-online ] ||
		fail "/usr/bin/wait-online is not the relative symlink"
	if compgen -G "$CHROOT/etc/systemd/system/*.wants/wait-online*" >/dev/null; then
		fail "the units were enabled at installation"
	fi
	IN getent passwd wait-online >/dev/null || fail "the system user wait-online was not created"
	IN wait-online --help >"$WORK/help.txt" || fail "wait-online --help failed in the chroot"
	grep -q -- '--interface' "$WORK/help.txt" || fail "wait-online --help printed no options"
	# the shipped completions are the binary's own, and the bash one parses
	for c in bash:usr/share/bash-completion/completions/wait-online \
		zsh:usr/share/zsh/vendor-completions/_wait-online \
		fish:usr/share/fish/vendor_completions.d/wait-online.fish; do
		IN wait-online --completions="${c%%:*}" | cmp -s - "$CHROOT/${c#*:}" ||
			fail "/${c#*:} differs from wait-online --completions=${c%%:*}"
	done
	grep -q -- '--dns-probe' "$CHROOT/usr/share/bash-completion/completions/wait-online" ||
		fail "the bash completion lacks --dns-probe"
	check "bash -n rejects the bash completion" \
		IN bash -n /usr/share/bash-completion/completions/wait-online
	IN wait-online --version
	# the host's loopback, seen through rtnetlink from the chroot
	check "wait-online -i lo:carrier failed in the chroot" \
		IN /usr/libexec/wait-online/wait-online --manager=none -i lo:carrier --timeout=5
}

removed_checks() { # removed_checks STAGE
	local f
	for f in "${FILES[@]}"; do
		if [ -e "$CHROOT/${f#./}" ] || [ -L "$CHROOT/${f#./}" ]; then
			fail "after $1: ${f#.} is still there"
		fi
	done
	for d in usr/libexec/wait-online usr/share/wait-online; do
		[ ! -e "$CHROOT/$d" ] || fail "after $1: /$d is still there"
	done
}

say "chroot A (minbase, no systemd): dpkg -i"
check "dpkg -i failed" IN dpkg -i "$PKG"
installed_checks
say "chroot A: dpkg -r"
check "dpkg -r failed" IN dpkg -r wait-online
removed_checks "dpkg -r"
say "chroot A: dpkg -P"
check "dpkg -P failed" IN dpkg -P wait-online
removed_checks "dpkg -P"
# shellcheck disable=SC2016 # dpkg-query's format, not the shell's
if IN dpkg-query -W -f='${Status}\n' wait-online 2>/dev/null | grep -q installed; then
	fail "dpkg still lists wait-online after dpkg -P"
fi
[ ! -e "$CHROOT/usr/share/doc/wait-online" ] || fail "/usr/share/doc/wait-online left behind"
IN getent passwd wait-online >/dev/null || fail "the system user was removed (it is kept on purge)"
say "chroot A: install, remove and purge OK (user wait-online created with useradd, kept)"
# chroot B creates it again, with systemd-sysusers
IN userdel wait-online

# ---- 5. chroot B: with systemd
if [ "${WO_SKIP_SYSTEMD:-}" = 1 ]; then
	say "done (WO_SKIP_SYSTEMD=1), $((SECONDS - T0))s"
	exit 0
fi
say "chroot B: apt-get install systemd"
t=$SECONDS
IN env DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$WORK/chroot-apt.log" 2>&1 ||
	fail "apt-get update in the chroot failed (see $WORK/chroot-apt.log)"
IN env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd \
	>>"$WORK/chroot-apt.log" 2>&1 || fail "apt-get install systemd failed (see $WORK/chroot-apt.log)"
# shellcheck disable=SC2016 # dpkg-query's format, not the shell's
say "apt-get install systemd took $((SECONDS - t))s ($(IN dpkg-query -W -f='${Version}' systemd))"

check "dpkg -i (with systemd) failed" IN dpkg -i "$PKG"
installed_checks
say "  user: $(IN getent passwd wait-online)"
for unit in wait-online.service wait-online@.service; do
	state=$(IN systemctl is-enabled "$unit" 2>/dev/null || true)
	case $state in disabled | indirect | static) ;; *) fail "$unit is '$state' after installation, expected disabled" ;; esac
done
# the user manager's unit: no [Install], enabled for no user
state=$(IN systemctl --global is-enabled wait-online.service 2>/dev/null || true)
[ "$state" = static ] || fail "the user unit wait-online.service is '$state' for every user, expected static"

exposure() { # exposure UNIT: the overall exposure systemd-analyze gives the installed unit
	IN systemd-analyze security --offline=yes "$1" 2>&1 |
		sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p'
}
say "chroot B: systemd-analyze verify (installed paths)"
out=$(IN systemd-analyze verify --man=no wait-online.service wait-online@eth0.service 2>&1) ||
	fail "systemd-analyze verify failed: $out"
[ -z "$out" ] || fail "systemd-analyze verify printed: $out"
# the user unit at its installed path (a user manager's paths need a runtime directory)
out=$(IN env XDG_RUNTIME_DIR=/tmp systemd-analyze --user verify --man=no wait-online.service 2>&1) ||
	fail "systemd-analyze --user verify failed: $out"
[ -z "$out" ] || fail "systemd-analyze --user verify printed: $out"
for unit in wait-online.service wait-online@eth0.service; do
	e=$(exposure "$unit")
	say "  $unit: exposure $e"
	awk -v e="$e" 'BEGIN { exit !(e != "" && e <= 2.0) }' || fail "$unit: exposure '$e' > 2.0"
done

DROPIN_DIR=/etc/systemd/system/systemd-networkd-wait-online.service.d
say "chroot B: the drop-in recipe of wait-online(8)"
before=$(exposure systemd-networkd-wait-online.service)
IN mkdir -p "$DROPIN_DIR"
IN cp /usr/share/wait-online/systemd-networkd-wait-online.service.d/wait-online.conf "$DROPIN_DIR/"
after=$(exposure systemd-networkd-wait-online.service)
# (systemctl cat needs a running manager; cat-config reads the same files)
IN systemd-analyze cat-config systemd/system/systemd-networkd-wait-online.service \
	>"$WORK/upstream-with-dropin.txt" 2>&1 || true
grep -q '^ExecStart=/usr/libexec/wait-online/wait-online$' "$WORK/upstream-with-dropin.txt" ||
	fail "the drop-in does not show (see $WORK/upstream-with-dropin.txt)"
out=$(IN systemd-analyze verify --man=no systemd-networkd-wait-online.service 2>&1) ||
	fail "verify with the drop-in: $out"
say "  systemd-networkd-wait-online.service: exposure $before, with the drop-in $after"
awk -v e="$after" 'BEGIN { exit !(e != "" && e <= 2.0) }' || fail "drop-in: exposure '$after'"
IN rm "$DROPIN_DIR/wait-online.conf"
[ "$(exposure systemd-networkd-wait-online.service)" = "$before" ] || fail "drop-in undo"

say "chroot B: dpkg -r, dpkg -P"
check "dpkg -r (with systemd) failed" IN dpkg -r wait-online
removed_checks "dpkg -r"
check "dpkg -P (with systemd) failed" IN dpkg -P wait-online
removed_checks "dpkg -P"
if compgen -G "$CHROOT/var/lib/systemd/deb-systemd-helper-enabled/*wait-online*" >/dev/null ||
	compgen -G "$CHROOT/var/lib/systemd/deb-systemd-helper-enabled/*/wait-online*" >/dev/null; then
	fail "deb-systemd-helper state left after purge"
fi
say "chroot B: install, recipes, remove and purge OK"

# ---- 6. boot C: the chroot booted with systemd as PID 1 (systemd-nspawn), the units enabled
if [ "${WO_SKIP_BOOT:-}" = 1 ]; then
	say "done (WO_SKIP_BOOT=1), $((SECONDS - T0))s"
	exit 0
fi
wo_nspawn >/dev/null
mountpoint -q "$CHROOT/proc" || wo_mount -t proc proc "$CHROOT/proc"
say "boot C: apt-get install dbus systemd-resolved; dpkg -i; units enabled"
IN env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends dbus systemd-resolved \
	>>"$WORK/chroot-apt.log" 2>&1 || fail "apt-get install dbus systemd-resolved failed"
umount "$CHROOT/proc"
check "dpkg -i (boot) failed" IN dpkg -i "$PKG" >/dev/null
ETC=$CHROOT/etc/systemd/system
cat >"$CHROOT/etc/systemd/network/10-host0.network" <<'UNIT'
[Match]
Name=host0

[Network]
Address=10.78.0.2/24
Gateway=10.78.0.1
DNS=10.78.0.1
LinkLocalAddressing=no
IPv6AcceptRA=no
UNIT
# The units under test, hardened as shipped:
#  * wait-online.service, no options: networkd's state files (inotify, the forked holder)
#  * wait-online@lo:carrier.service: kernel only; its ExecStartPre= shows the sandbox
#  * systemd-networkd-wait-online.service with the opt-in drop-in of the package
#  * wo-dns.service: the hardening of wait-online.service with -i host0 --dns --dns-probe,
#    started once systemd-resolved is on D-Bus and answers (dnsmasq on the other end of the
#    veth): D-Bus, resolved and the route check of DNS servers from inside the sandbox
mkdir -p "$ETC/wait-online@lo:carrier.service.d" "$ETC/systemd-networkd-wait-online.service.d"
cat >"$ETC/wait-online@lo:carrier.service.d/sandbox.conf" <<'UNIT'
[Service]
ExecStartPre=/bin/sh -c 'grep -E "^(Uid|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):" /proc/self/status; echo "uid_map: $(cat /proc/self/uid_map | tr -s " " | tr "\\n" ";")"; touch /usr/wo-test 2>/dev/null || echo "usr: read-only"; cat /root/wo-secret >/dev/null 2>&1 || echo "home: hidden"'
UNIT
cp "$CHROOT/usr/share/wait-online/systemd-networkd-wait-online.service.d/wait-online.conf" \
	"$ETC/systemd-networkd-wait-online.service.d/"
sed -e '/^\[Install\]/,$d' -e 's/^Description=.*/Description=wait-online test: --dns and --dns-probe/' \
	-e 's/^Before=network-online.target shutdown.target$/Before=shutdown.target/' \
	-e 's#^ExecStart=/usr/libexec/wait-online/wait-online$#ExecStart=/usr/libexec/wait-online/wait-online -i host0 --dns --dns-probe=probe.wait-online.test --timeout=30#' \
	"$CHROOT/lib/systemd/system/wait-online.service" >"$ETC/wo-dns.service"
grep -q -- '--dns-probe=probe' "$ETC/wo-dns.service" || fail "cannot derive wo-dns.service"
cat >>"$ETC/wo-dns.service" <<'UNIT'

[Unit]
Wants=dbus.service
After=dbus.service systemd-resolved.service wait-online.service

[Service]
# not sandboxed (+): wait until resolved is on the bus and answers for the probe name
ExecStartPre=+/bin/sh -c 'for i in $(seq 200); do resolvectl query probe.wait-online.test >/dev/null 2>&1 && exit 0; sleep 0.1; done; echo "resolved does not answer"; exit 1'
TimeoutStartSec=60

[Install]
WantedBy=multi-user.target
UNIT
BOOT_UNITS="wait-online.service wait-online@lo:carrier.service wo-dns.service systemd-networkd-wait-online.service"
# shellcheck disable=SC2086 # BOOT_UNITS is a list: split on purpose
cat >"$ETC/wo-report.service" <<UNIT
[Unit]
Description=wait-online test: report and power off
After=$BOOT_UNITS network-online.target
Wants=network-online.target
[Service]
Type=oneshot
ExecStart=/bin/sh -c 'for u in $BOOT_UNITS; do echo "\$(systemctl show -p Id,ActiveState,Result,ExecMainStatus \$u | sort | tr "\\\\n" " ")"; done > /root/report; systemctl show -p ExecStart --value systemd-networkd-wait-online.service >> /root/report; journalctl -b --no-pager -o short-monotonic $(printf -- ' -u %s' $BOOT_UNITS) >> /root/report'
ExecStartPost=/bin/systemctl poweroff
[Install]
WantedBy=multi-user.target
UNIT
for u in systemd-networkd.service wait-online.service wait-online@lo:carrier.service \
	wo-dns.service wo-report.service; do
	IN systemctl enable "$u" >/dev/null 2>&1 || fail "systemctl enable $u failed"
done
rm -f "$CHROOT/root/report"
# a root:root 0600 file under /root: CAP_DAC_READ_SEARCH could read it, ProtectHome= hides it
echo secret >"$CHROOT/root/wo-secret"
chmod 0600 "$CHROOT/root/wo-secret"

NETNS=wo-deb-$$
wo_boot_net_up "$NETNS" "$WORK/boot-dnsmasq.log" --address=/probe.wait-online.test/10.78.0.9
say "boot C: systemd-nspawn -b (log: $WORK/boot.log)"
t=$SECONDS
rc=0
wo_boot "$CHROOT" "$NETNS" 300 "$WORK/boot.log" || rc=$?
say "boot C: the container ran $((SECONDS - t))s, systemd-nspawn exit status $rc"
wo_boot_teardown
[ -s "$CHROOT/root/report" ] || fail "no report from the booted container (see $WORK/boot.log)"
cp "$CHROOT/root/report" "$WORK/boot-report.txt"
cat "$WORK/boot-report.txt"
for u in $BOOT_UNITS; do
	grep -q "^ActiveState=active ExecMainStatus=0 Id=$u Result=success" "$WORK/boot-report.txt" ||
		fail "boot: $u did not succeed"
done
grep -q 'path=/usr/libexec/wait-online/wait-online' "$WORK/boot-report.txt" ||
	fail "boot: systemd-networkd-wait-online.service did not run wait-online (drop-in)"
# one capability, CAP_DAC_READ_SEARCH (bit 2), effective and in the bounding set
for proof in 'CapEff:[[:space:]]*0000000000000004' 'CapBnd:[[:space:]]*0000000000000004' \
	'CapAmb:[[:space:]]*0000000000000004' \
	'NoNewPrivs:[[:space:]]*1' 'Seccomp:[[:space:]]*2' 'uid_map: *0 0 1; *[0-9]+ [0-9]+ 1;' \
	'usr: read-only' 'home: hidden'; do
	grep -Eq "$proof" "$WORK/boot-report.txt" || fail "boot: the sandbox lacks '$proof'"
done
grep -q 'probe.wait-online.test' "$WORK/boot-dnsmasq.log" || fail "boot: no DNS query reached dnsmasq"
say "done: build, contents, chroot A/B install/remove/purge, boot C with the units OK, $((SECONDS - T0))s"
