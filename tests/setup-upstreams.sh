#!/bin/bash
# tests/setup-upstreams.sh -- the newer upstreams the differential tests compare with
# (tests/it/common/upstream.rs): for each suite, a cached root
#   $WO_CACHE/upstream-SUITE-YYYYMMDD   (date of making; default WO_CACHE=/var/cache/wait-online-tests)
# = a copy of the suite's minbase root (scripts/lib-deb.sh wo_base) with systemd (+ systemd-networkd
# where it is a package of its own), systemd-resolved, dbus and iproute2 installed by apt in the
# chroot. A root is reused while it is not older than WO_BASE_MAX_AGE days (14) and its stamp
# file .wait-online-upstream says what it holds ("systemd=VERSION"). Nothing is installed on the
# host, nothing in a root is ever started here; the tests overlay it per test and chroot into
# the overlay inside their namespaces. Idempotent; one line per action; run as root.
#
# Usage: tests/setup-upstreams.sh [SUITE...]   (default: trixie forky)
set -euo pipefail
cd "$(dirname "$0")/.."
WO_NAME=setup-upstreams
T0=$SECONDS
# shellcheck source=scripts/lib-deb.sh
. scripts/lib-deb.sh
trap wo_cleanup EXIT

[ "$(id -u)" = 0 ] || fail "must run as root (debootstrap, chroot, $WO_CACHE)"
STAMP=.wait-online-upstream
LOGS=$WO_CACHE/logs
mkdir -p "$LOGS"
SUITES=("$@")
[ ${#SUITES[@]} -gt 0 ] || SUITES=(trixie forky)

# upstream_ok DIR: DIR holds the binaries the tests run and a stamp naming its systemd version
upstream_ok() {
	local f
	for f in usr/lib/systemd/systemd-networkd usr/lib/systemd/systemd-networkd-wait-online \
		usr/lib/systemd/systemd-resolved usr/bin/networkctl usr/bin/resolvectl usr/bin/busctl \
		usr/bin/dbus-daemon usr/bin/ip; do
		[ -x "$1/$f" ] || return 1
	done
	grep -q '^systemd=' "$1/$STAMP" 2>/dev/null
}

# newest_upstream SUITE: the newest usable cached root of SUITE not older than WO_BASE_MAX_AGE days
newest_upstream() {
	local dir newest='' today age
	today=$(date +%Y%m%d)
	for dir in "$WO_CACHE"/upstream-"$1"-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]; do
		upstream_ok "$dir" && newest=$dir
	done
	[ -n "$newest" ] || return 1
	age=$((($(date -d "$today" +%s) - $(date -d "${newest##*-}" +%s)) / 86400))
	[ "$age" -le "${WO_BASE_MAX_AGE:-14}" ] && echo "$newest"
}

make_upstream() {
	local suite=$1 base dir log pkgs t
	t=$SECONDS
	base=$(wo_base "$suite" "$LOGS/debootstrap-$suite.log")
	dir=$WO_CACHE/upstream-$suite-$(date +%Y%m%d)
	log=$LOGS/upstream-$suite.log
	say "$suite: copying $base to $dir.tmp"
	wo_rm_root "$dir.tmp"
	wo_chroot "$base" "$dir.tmp"
	say "$suite: apt-get update (log: $log)"
	# a mirror snapshot may carry a testing Release file past its Valid-Until (days): the
	# packages are what matters here, signed as ever
	wo_in "$dir.tmp" apt-get -o Acquire::Check-Valid-Until=false update -q >"$log" 2>&1 ||
		fail "$suite: apt-get update failed (see $log)"
	pkgs=(systemd systemd-resolved dbus iproute2)
	# systemd-networkd is a package of its own in newer suites
	if wo_in "$dir.tmp" apt-cache show systemd-networkd >/dev/null 2>&1; then
		pkgs+=(systemd-networkd)
	fi
	say "$suite: apt-get install ${pkgs[*]}"
	wo_in "$dir.tmp" apt-get install -y -q --no-install-recommends "${pkgs[@]}" >>"$log" 2>&1 ||
		fail "$suite: apt-get install ${pkgs[*]} failed (see $log)"
	wo_in "$dir.tmp" apt-get clean
	wo_in "$dir.tmp" dpkg-query -W -f='systemd=${Version}\n' systemd >"$dir.tmp/$STAMP" ||
		fail "$suite: cannot read the installed systemd version"
	wo_in "$dir.tmp" dpkg-query -W -f='${Package}=${Version}\n' "${pkgs[@]}" >>"$dir.tmp/$STAMP"
	umount "$dir.tmp/proc" || fail "$suite: cannot unmount $dir.tmp/proc"
	WO_MOUNTS=()
	upstream_ok "$dir.tmp" || fail "$suite: the binaries the tests run are missing in $dir.tmp"
	wo_rm_root "$dir"
	mv "$dir.tmp" "$dir"
	for old in "$WO_CACHE"/upstream-"$suite"-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]; do
		[ "$old" = "$dir" ] || wo_rm_root "$old"
	done
	say "$suite: made $dir ($(head -n1 "$dir/$STAMP")) in $((SECONDS - t))s"
}

for suite in "${SUITES[@]}"; do
	if dir=$(newest_upstream "$suite"); then
		say "$suite: $dir present ($(head -n1 "$dir/$STAMP"))"
	else
		make_upstream "$suite"
	fi
done
