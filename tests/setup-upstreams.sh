#!/bin/bash
# tests/setup-upstreams.sh -- the newer upstreams the differential tests compare with
# (tests/it/common/upstream.rs): for each suite, a cached root
#   $WO_CACHE/upstream-SUITE-YYYYMMDD   (default WO_CACHE=/var/cache/wait-online-tests)
# = a copy of the suite's minbase root with systemd, systemd-resolved, dbus and iproute2
# installed by apt in the chroot (scripts/lib-deb.sh wo_derived_root: the date is the minbase
# root's, both are made again when older than WO_BASE_MAX_AGE days, 14). Its stamp file
# .wait-online-packages says what it holds, systemd first ("systemd=VERSION"). Nothing is
# installed on the host, nothing in a root is ever started here; the tests overlay it per test
# and chroot into the overlay inside their namespaces. Idempotent; one line per action; run as
# root. Measured on a 2-core VM with an empty cache: both in about 60 s.
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
LOGS=$WO_CACHE/logs
mkdir -p "$LOGS"
SUITES=("$@")
[ ${#SUITES[@]} -gt 0 ] || SUITES=(trixie forky)

for suite in "${SUITES[@]}"; do
	# systemd-networkd is still part of systemd in trixie and forky: the check fails loudly
	# when a suite moves it into a package of its own, which then belongs in this list
	dir=$(wo_derived_root upstream "$suite" "$LOGS" /usr/lib/systemd/systemd-networkd \
		systemd systemd-resolved dbus iproute2) || exit 1
	for f in usr/lib/systemd/systemd-networkd-wait-online usr/lib/systemd/systemd-resolved \
		usr/bin/networkctl usr/bin/resolvectl usr/bin/busctl usr/bin/dbus-daemon usr/bin/ip; do
		[ -x "$dir/$f" ] || fail "$suite: /$f is missing in $dir"
	done
	say "$suite: $dir ($(head -n1 "$dir/$WO_PACKAGES_STAMP"))"
done
