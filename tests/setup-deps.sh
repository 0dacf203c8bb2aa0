#!/bin/bash
# tests/setup-deps.sh -- install what the DNS and NetworkManager integration tests need
# (idempotent; run as root).
#
#  * dnsmasq          from `dnsmasq-base` (binary only: no unit/init script, no service is
#                     started; its postinst adds the user `dnsmasq`), when no dnsmasq exists.
#  * systemd-resolved NOT installed: `apt-get download systemd-resolved=<version of the installed
#                     libsystemd-shared>` + `dpkg -x` into a cache dir. resolved links against
#                     libsystemd-shared-NNN.so, so only the exactly matching version runs.
#  * NetworkManager   NOT installed: `apt-get download network-manager=<apt's candidate>` +
#                     `dpkg -x` into a cache dir, plus the library packages whose sonames `ldd`
#                     finds missing for NetworkManager, nmcli and nm-online (on Debian 12: libnm0,
#                     libndp0), unpacked into the same tree. Nothing there is ever started here;
#                     the tests run it only inside namespaces they create
#                     (tests/it/common/networkmanager.rs).
#  * ifupdown         NOT installed: `apt-get download ifupdown` + `dpkg -x` into
#                     $WAIT_ONLINE_IFUPDOWN_ROOT (default /var/cache/wait-online-tests/root-ifupdown);
#                     tests/it/ifupdown.rs runs its ifup inside namespaces it creates.
#  * isc-dhcp-client  NOT installed: `apt-get download isc-dhcp-client` + `dpkg -x` into
#                     $WAIT_ONLINE_DHCLIENT_ROOT (default /var/cache/wait-online-tests/root-dhclient;
#                     its dhclient needs only libc); tests/it/ifupdown_dhcp.rs overlays its sbin on
#                     /usr/sbin in namespaces it creates, where ifup's `inet dhcp` runs it.
#
# Cache dirs: $WAIT_ONLINE_RESOLVED_ROOT (default /var/cache/wait-online-tests/root-resolved) and
# $WAIT_ONLINE_NM_ROOT (default /var/cache/wait-online-tests/root-networkmanager); the tests
# (tests/it/common/resolved.rs, networkmanager.rs) read the same variables. Downloaded .debs are
# kept in <cache dir>/../debs. Prints one line per action; exits non-zero with a message on failure.
set -euo pipefail

DEST=${WAIT_ONLINE_RESOLVED_ROOT:-/var/cache/wait-online-tests/root-resolved}
NM_DEST=${WAIT_ONLINE_NM_ROOT:-/var/cache/wait-online-tests/root-networkmanager}
DEBS=$(dirname "$DEST")/debs
NM_DEBS=$(dirname "$NM_DEST")/debs
# binaries of the network-manager package the tests run
NM_BINS=(usr/sbin/NetworkManager usr/bin/nmcli usr/bin/nm-online)
# records what an unpacked NetworkManager tree was made from
NM_STAMP=.wait-online-packages

say() { echo "setup-deps: $*"; }
fail() {
	echo "setup-deps: FAILED: $*" >&2
	exit 1
}
[ "$(id -u)" = 0 ] || fail "must run as root (apt-get, dpkg -x into $DEST and $NM_DEST)"
command -v apt-get >/dev/null && command -v dpkg-query >/dev/null ||
	fail "needs apt-get and dpkg (Debian/Ubuntu)"
export DEBIAN_FRONTEND=noninteractive
ARCH=$(dpkg --print-architecture)

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

# fetch_deb DIR PKG VERSION: sets DEB to DIR/PKG_<version>_<arch>.deb, downloading it with
# `apt-get download PKG=VERSION` unless a valid copy is cached; checks its version.
DEB=
fetch_deb() {
	local dir=$1 pkg=$2 ver=$3 deb tmpd got pkgver
	mkdir -p "$dir"
	deb=$dir/${pkg}_${ver#*:}_${ARCH}.deb # file names carry the version without the epoch
	if [ -s "$deb" ] && dpkg-deb -I "$deb" >/dev/null 2>&1; then
		say "using cached $deb"
	else
		have_lists || apt_update
		tmpd=$(mktemp -d)
		# apt-get download writes into the cwd and drops privileges to _apt: world-writable dir
		chmod 0777 "$tmpd"
		say "apt-get download $pkg=$ver"
		if ! (cd "$tmpd" && apt_retry apt-get download -qq "$pkg=$ver"); then
			rm -rf "$tmpd"
			fail "apt-get download $pkg=$ver failed (no longer in the archive? put $(basename "$deb") into $dir)"
		fi
		got=("$tmpd"/"${pkg}"_*.deb)
		[ -s "${got[0]}" ] || {
			rm -rf "$tmpd"
			fail "apt-get download $pkg=$ver produced no .deb"
		}
		mv "${got[0]}" "$deb"
		rm -rf "$tmpd"
		say "downloaded $deb"
	fi
	pkgver=$(dpkg-deb -f "$deb" Version) || fail "$deb is not a valid .deb"
	[ "$pkgver" = "$ver" ] || fail "$deb has version $pkgver, need $ver"
	DEB=$deb
}

# new_tree DEST: an empty directory next to DEST to unpack into (see swap_in)
new_tree() {
	local parent
	parent=$(dirname "$1")
	mkdir -p "$parent"
	mktemp -d "$parent/.$(basename "$1").new.XXXXXX"
}

# swap_in NEW DEST: replaces DEST by the complete tree NEW (never leaves a half-unpacked tree)
swap_in() {
	local new=$1 dest=$2 old
	chmod 0755 "$new"
	if [ -e "$dest" ]; then
		old=$(mktemp -d "$(dirname "$dest")/.$(basename "$dest").old.XXXXXX")
		rmdir "$old"
		mv "$dest" "$old"
		mv "$new" "$dest"
		rm -rf "$old"
	else
		mv "$new" "$dest"
	fi
}

# unpack DEB DIR: dpkg -x, removing DIR on failure
unpack() {
	say "dpkg -x $(basename "$1") $2"
	dpkg -x "$1" "$2" || {
		rm -rf "$2"
		fail "dpkg -x $1 failed"
	}
}

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
FILEVER=${VER#*:}
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
	fetch_deb "$DEBS" systemd-resolved "$VER"
	new=$(new_tree "$DEST")
	unpack "$DEB" "$new"
	resolved_ok "$new" || {
		v=$("$new/lib/systemd/systemd-resolved" --version 2>&1 | head -n1 || true)
		rm -rf "$new"
		fail "unpacked systemd-resolved does not run or does not report $VER (got: $v)"
	}
	swap_in "$new" "$DEST"
	say "systemd-resolved $VER unpacked: $DEST"
fi

# ---- 3. NetworkManager, unpacked (never installed, never started here)
NM_VER=
nm_candidate() { apt-cache policy network-manager 2>/dev/null | awk '/Candidate:/ {print $2}'; }
have_lists || apt_update
NM_VER=$(nm_candidate)
if [ -z "$NM_VER" ] || [ "$NM_VER" = "(none)" ]; then
	apt_update
	NM_VER=$(nm_candidate)
fi
[ -n "$NM_VER" ] && [ "$NM_VER" != "(none)" ] ||
	fail "apt offers no network-manager package (check the apt sources)"
NM_UPSTREAM=${NM_VER%%-*}
NM_UPSTREAM=${NM_UPSTREAM#*:}
MULTIARCH=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch 2>/dev/null ||
	echo "$(uname -m)-linux-gnu")

nm_env() { # run "$@" with the unpacked tree's libraries first
	local dir=$1
	shift
	LD_LIBRARY_PATH=$dir/usr/lib/$MULTIARCH:$dir/lib/$MULTIARCH "$@"
}

nm_missing_sonames() { # sonames that ldd cannot find for the tested binaries of tree $1
	local dir=$1 b
	for b in "${NM_BINS[@]}"; do
		nm_env "$dir" ldd "$dir/$b" 2>/dev/null | awk '$2 == "=>" && $3 == "not" {print $1}'
	done | sort -u
}

# soname_package SONAME: the Debian library package name for it (policy 8.1: libfoo.so.N ->
# libfooN, libfoo1.so.2 -> libfoo1-2)
soname_package() {
	local base=${1%%.so.*} ver=${1#*.so.}
	[ "$base" != "$1" ] || return 1
	case $base in
	*[0-9]) echo "${base,,}-$ver" ;;
	*) echo "${base,,}$ver" ;;
	esac
}

nm_ok() { # tree $1 was made from network-manager $NM_VER, runs, and lacks no library
	local dir=$1 b out
	for b in "${NM_BINS[@]}"; do [ -x "$dir/$b" ] || return 1; done
	[ "$(head -n1 "$dir/$NM_STAMP" 2>/dev/null)" = "network-manager=$NM_VER" ] || return 1
	[ -z "$(nm_missing_sonames "$dir")" ] || return 1
	out=$(nm_env "$dir" "$dir/usr/sbin/NetworkManager" --version 2>/dev/null) || return 1
	[ "$out" = "$NM_UPSTREAM" ] || return 1
	out=$(nm_env "$dir" "$dir/usr/bin/nmcli" --version 2>/dev/null) || return 1
	[[ $out == *" $NM_UPSTREAM" ]]
}

if nm_ok "$NM_DEST"; then
	say "network-manager $NM_VER present: $NM_DEST ($(tail -n +2 "$NM_DEST/$NM_STAMP" | paste -sd " "))"
else
	fetch_deb "$NM_DEBS" network-manager "$NM_VER"
	new=$(new_tree "$NM_DEST")
	unpack "$DEB" "$new"
	echo "network-manager=$NM_VER" >"$new/$NM_STAMP"
	# only the libraries the host lacks; repeat for libraries those need in turn
	for _round in 1 2 3 4; do
		missing=$(nm_missing_sonames "$new")
		[ -n "$missing" ] || break
		for so in $missing; do
			pkg=$(soname_package "$so") || {
				rm -rf "$new"
				fail "cannot derive a package name for the missing library $so"
			}
			pver=$(apt-cache policy "$pkg" 2>/dev/null | awk '/Candidate:/ {print $2}')
			[ -n "$pver" ] && [ "$pver" != "(none)" ] || {
				rm -rf "$new"
				fail "NetworkManager needs $so, but apt offers no package $pkg"
			}
			say "the host lacks $so: fetching $pkg"
			fetch_deb "$NM_DEBS" "$pkg" "$pver"
			unpack "$DEB" "$new"
			echo "$pkg=$pver" >>"$new/$NM_STAMP"
		done
	done
	missing=$(nm_missing_sonames "$new")
	[ -z "$missing" ] || {
		rm -rf "$new"
		fail "libraries still missing for NetworkManager/nmcli/nm-online: $missing"
	}
	nm_ok "$new" || {
		v=$(nm_env "$new" "$new/usr/sbin/NetworkManager" --version 2>&1 | head -n1 || true)
		rm -rf "$new"
		fail "unpacked NetworkManager does not run or does not report $NM_UPSTREAM (got: $v)"
	}
	swap_in "$new" "$NM_DEST"
	say "network-manager $NM_VER unpacked: $NM_DEST ($(tail -n +2 "$NM_DEST/$NM_STAMP" | paste -sd " "))"
fi

# ---- 3b. ifupdown, unpacked (never installed): tests/it/ifupdown.rs runs its ifup in namespaces
IFUPDOWN_DEST=${WAIT_ONLINE_IFUPDOWN_ROOT:-/var/cache/wait-online-tests/root-ifupdown}
IFUPDOWN_VER=$(apt-cache policy ifupdown 2>/dev/null | awk '/Candidate:/ {print $2}')
if [ -z "$IFUPDOWN_VER" ] || [ "$IFUPDOWN_VER" = "(none)" ]; then
	apt_update
	IFUPDOWN_VER=$(apt-cache policy ifupdown 2>/dev/null | awk '/Candidate:/ {print $2}')
fi
[ -n "$IFUPDOWN_VER" ] && [ "$IFUPDOWN_VER" != "(none)" ] || fail "apt offers no ifupdown"
if [ -x "$IFUPDOWN_DEST/sbin/ifup" ] && [ "$(cat "$IFUPDOWN_DEST/$NM_STAMP" 2>/dev/null)" = "ifupdown=$IFUPDOWN_VER" ]; then
	say "ifupdown $IFUPDOWN_VER present: $IFUPDOWN_DEST"
else
	fetch_deb "$(dirname "$IFUPDOWN_DEST")/debs" ifupdown "$IFUPDOWN_VER"
	new=$(new_tree "$IFUPDOWN_DEST")
	unpack "$DEB" "$new"
	echo "ifupdown=$IFUPDOWN_VER" >"$new/$NM_STAMP"
	swap_in "$new" "$IFUPDOWN_DEST"
	say "ifupdown $IFUPDOWN_VER unpacked: $IFUPDOWN_DEST"
fi

# ---- 3c. isc-dhcp-client, unpacked (never installed): ifup runs its dhclient in the tests' namespaces
DHCLIENT_DEST=${WAIT_ONLINE_DHCLIENT_ROOT:-/var/cache/wait-online-tests/root-dhclient}
DHCLIENT_VER=$(apt-cache policy isc-dhcp-client 2>/dev/null | awk '/Candidate:/ {print $2}')
[ -n "$DHCLIENT_VER" ] && [ "$DHCLIENT_VER" != "(none)" ] || fail "apt offers no isc-dhcp-client"
if [ -x "$DHCLIENT_DEST/sbin/dhclient" ] &&
	[ "$(cat "$DHCLIENT_DEST/$NM_STAMP" 2>/dev/null)" = "isc-dhcp-client=$DHCLIENT_VER" ]; then
	say "isc-dhcp-client $DHCLIENT_VER present: $DHCLIENT_DEST"
else
	fetch_deb "$(dirname "$DHCLIENT_DEST")/debs" isc-dhcp-client "$DHCLIENT_VER"
	new=$(new_tree "$DHCLIENT_DEST")
	unpack "$DEB" "$new"
	"$new/sbin/dhclient" --version >/dev/null 2>&1 || {
		rm -rf "$new"
		fail "the unpacked dhclient does not run"
	}
	echo "isc-dhcp-client=$DHCLIENT_VER" >"$new/$NM_STAMP"
	swap_in "$new" "$DHCLIENT_DEST"
	say "isc-dhcp-client $DHCLIENT_VER unpacked: $DHCLIENT_DEST"
fi

# ---- 4. base tools the tests use (report only)
missing=()
for t in ip ss nsenter unshare dbus-daemon busctl networkctl; do
	command -v "$t" >/dev/null 2>&1 || missing+=("$t")
done
[ -x /lib/systemd/systemd-networkd ] || missing+=(/lib/systemd/systemd-networkd)
[ ${#missing[@]} -eq 0 ] || fail "missing tools: ${missing[*]}"
say "ok (systemd-resolved $UPSTREAM/$VER in $DEST, NetworkManager $NM_VER in $NM_DEST, $(dnsmasq --version 2>/dev/null | head -n1 | awk '{print $1, $3}'))"
