#!/bin/bash
# tests/setup-deps.sh -- install what the DNS integration tests need (idempotent; run as root).
#
#  * dnsmasq          from `dnsmasq-base` (binary only: no unit/init script, no service is
#                     started; its postinst adds the user `dnsmasq`), when no dnsmasq exists.
#  * systemd-resolved NOT installed: `apt-get download systemd-resolved=<version of the installed
#                     libsystemd-shared>` + `dpkg -x` into a cache dir. resolved links against
#                     libsystemd-shared-NNN.so, so only the exactly matching version runs.
#
# Cache dir: $WAIT_ONLINE_RESOLVED_ROOT (default /var/cache/wait-online-tests/root-resolved);
# the tests (tests/it/common/resolved.rs) read the same variable. The downloaded .deb is kept in
# <cache dir>/../debs. Prints one line per action; exits non-zero with a message on failure.
set -euo pipefail

DEST=${WAIT_ONLINE_RESOLVED_ROOT:-/var/cache/wait-online-tests/root-resolved}
DEBS=$(dirname "$DEST")/debs

say() { echo "setup-deps: $*"; }
fail() {
	echo "setup-deps: FAILED: $*" >&2
	exit 1
}
[ "$(id -u)" = 0 ] || fail "must run as root (apt-get, dpkg -x into $DEST)"
command -v apt-get >/dev/null && command -v dpkg-query >/dev/null ||
	fail "needs apt-get and dpkg (Debian/Ubuntu)"
export DEBIAN_FRONTEND=noninteractive

# apt-get update at most once; a command that fails is retried once after it
APT_UPDATED=0
apt_update() {
	[ "$APT_UPDATED" = 1 ] && return 0
	say "apt-get update"
	apt-get update -qq || fail "apt-get update failed"
	APT_UPDATED=1
}
apt_retry() {
	if "$@"; then return 0; fi
	[ "$APT_UPDATED" = 1 ] && return 1
	say "retrying after apt-get update: $*"
	apt_update
	"$@"
}
have_lists() { compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; }

# ---- 1. dnsmasq
if command -v dnsmasq >/dev/null 2>&1 || [ -x /usr/sbin/dnsmasq ]; then
	say "dnsmasq present: $(command -v dnsmasq 2>/dev/null || echo /usr/sbin/dnsmasq)"
else
	have_lists || apt_update
	say "apt-get install dnsmasq-base"
	apt_retry apt-get install -y -q --no-install-recommends dnsmasq-base >/dev/null ||
		fail "apt-get install dnsmasq-base failed"
	[ -x /usr/sbin/dnsmasq ] || fail "dnsmasq-base installed but /usr/sbin/dnsmasq is missing"
	say "dnsmasq installed: /usr/sbin/dnsmasq"
fi

# ---- 2. systemd-resolved, unpacked (never installed)
VER=$(dpkg-query -W -f='${Version}' libsystemd-shared 2>/dev/null) ||
	fail "libsystemd-shared is not installed (is systemd installed?)"
[ -n "$VER" ] || fail "cannot determine the libsystemd-shared version"
ARCH=$(dpkg --print-architecture)
FILEVER=${VER#*:} # .deb file names carry the version without the epoch
UPSTREAM=${VER%%-*}
UPSTREAM=${UPSTREAM#*:}

resolved_ok() { # the unpacked resolved exists, runs, and reports the same version
	local dir=$1 out
	[ -x "$dir/lib/systemd/systemd-resolved" ] && [ -x "$dir/usr/bin/resolvectl" ] || return 1
	out=$("$dir/lib/systemd/systemd-resolved" --version 2>/dev/null | head -n1) || return 1
	# "systemd 252 (252.38-1~deb12u1)"
	case $out in
	*"($VER)"* | *"($FILEVER)"*) return 0 ;;
	*) return 1 ;;
	esac
}

if resolved_ok "$DEST"; then
	say "systemd-resolved $VER present: $DEST"
else
	mkdir -p "$DEBS"
	deb=$DEBS/systemd-resolved_${FILEVER}_${ARCH}.deb
	if [ -s "$deb" ] && dpkg-deb -I "$deb" >/dev/null 2>&1; then
		say "using cached $deb"
	else
		have_lists || apt_update
		tmpd=$(mktemp -d)
		# apt-get download writes into the cwd and drops privileges to _apt: world-writable dir
		chmod 0777 "$tmpd"
		say "apt-get download systemd-resolved=$VER"
		if ! (cd "$tmpd" && apt_retry apt-get download -q "systemd-resolved=$VER"); then
			rm -rf "$tmpd"
			fail "apt-get download systemd-resolved=$VER failed (no longer in the archive? put systemd-resolved_${FILEVER}_${ARCH}.deb into $DEBS)"
		fi
		got=("$tmpd"/systemd-resolved_*.deb)
		[ -s "${got[0]}" ] || {
			rm -rf "$tmpd"
			fail "apt-get download produced no .deb"
		}
		mv "${got[0]}" "$deb"
		rm -rf "$tmpd"
		say "downloaded $deb"
	fi
	pkgver=$(dpkg-deb -f "$deb" Version) || fail "$deb is not a valid .deb"
	[ "$pkgver" = "$VER" ] || fail "$deb has version $pkgver, need $VER"

	# unpack next to the destination, then swap it in (never leave a half-unpacked tree)
	parent=$(dirname "$DEST")
	mkdir -p "$parent"
	new=$(mktemp -d "$parent/.root-resolved.new.XXXXXX")
	say "dpkg -x $(basename "$deb") $DEST"
	dpkg -x "$deb" "$new" || {
		rm -rf "$new"
		fail "dpkg -x $deb failed"
	}
	chmod 0755 "$new"
	resolved_ok "$new" || {
		v=$("$new/lib/systemd/systemd-resolved" --version 2>&1 | head -n1 || true)
		rm -rf "$new"
		fail "unpacked systemd-resolved does not run or does not report $VER (got: $v)"
	}
	if [ -e "$DEST" ]; then
		old=$(mktemp -d "$parent/.root-resolved.old.XXXXXX")
		rmdir "$old"
		mv "$DEST" "$old"
		mv "$new" "$DEST"
		rm -rf "$old"
	else
		mv "$new" "$DEST"
	fi
	say "systemd-resolved $VER unpacked: $DEST"
fi

# ---- 3. base tools the tests use (report only)
missing=()
for t in ip ss nsenter unshare dbus-daemon busctl networkctl; do
	command -v "$t" >/dev/null 2>&1 || missing+=("$t")
done
[ -x /lib/systemd/systemd-networkd ] || missing+=(/lib/systemd/systemd-networkd)
[ ${#missing[@]} -eq 0 ] || fail "missing tools: ${missing[*]}"
say "ok (systemd-resolved $UPSTREAM/$VER in $DEST, $(dnsmasq --version 2>/dev/null | head -n1 | awk '{print $1, $3}'))"
