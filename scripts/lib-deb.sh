# shellcheck shell=bash
# scripts/lib-deb.sh -- sourced by scripts/test-deb.sh and scripts/test-divert.sh: messages, the
# Debian mirror, cached debootstrapped roots, chroots with mounts that are always undone, and the
# package build. Nothing here installs a package on the host: debootstrap is unpacked from its
# .deb (apt-get download + dpkg -x) and, when the host lacks debhelper, the package is built
# (and lintian run) in a chroot of the host's suite.
#
# Booting a root with systemd as PID 1 (scripts/test-deb.sh, scripts/test-boot.sh): wo_nspawn,
# wo_boot_net_up and wo_boot. The host needs no systemd: systemd-nspawn runs with --register=no
# --keep-unit in a mount namespace of its own with a private /run, in a cgroup of its own on the
# unified hierarchy, with the network namespace the caller made (a veth host0 to a peer namespace
# running dnsmasq). wo_cleanup undoes all of it: processes, cgroups, namespaces, mounts.
#
# The caller sets WO_NAME (message prefix) and T0=$SECONDS, and calls wo_cleanup on EXIT.
# Environment: WO_MIRROR, WO_SECURITY_MIRROR (from apt's sources), WO_CACHE
# (/var/cache/wait-online-tests), WO_BASE_MAX_AGE (days a cached root is used, 14).

WO_CACHE=${WO_CACHE:-/var/cache/wait-online-tests}
WO_MOUNTS=()
WO_NETNS=()    # network namespaces made by wo_boot_net_up
WO_PIDS=()     # dnsmasq processes started by wo_boot_net_up
WO_CGROUPS=()  # cgroups made by wo_boot

say() { printf '%s [%4ss]: %s\n' "$WO_NAME" "$((SECONDS - T0))" "$*"; }
fail() {
	printf '%s: FAILED: %s\n' "$WO_NAME" "$*" >&2
	exit 1
}
check() { # check DESCRIPTION COMMAND...: runs the command, fails with the description
	local what=$1
	shift
	"$@" || fail "$what"
}

# wo_mount ARGS... TARGET: mount, and unmount at wo_cleanup (last argument is the mount point)
wo_mount() {
	mount "$@" || fail "mount $*"
	WO_MOUNTS+=("${*: -1}")
}
wo_cleanup() {
	local i
	wo_boot_teardown
	for ((i = ${#WO_MOUNTS[@]} - 1; i >= 0; i--)); do
		umount -l "${WO_MOUNTS[i]}" 2>/dev/null || true
	done
	WO_MOUNTS=()
}

# wo_rm_root DIR: rm -rf a chroot, refusing while anything is mounted below it (a bind mount of
# the host's toolchain must never be deleted through it)
wo_rm_root() {
	[ -e "$1" ] || return 0
	if findmnt -rn -o TARGET | grep -q "^$(realpath "$1")/"; then
		fail "$1 still has mounts below it (findmnt); not deleting it"
	fi
	rm -rf "$1"
}

# wo_apt_uri PATH_REGEX DEFAULT: the first URI of apt's sources (deb822 or one-line) whose
# path matches PATH_REGEX, else DEFAULT
wo_apt_uri() {
	local m
	m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources \
		2>/dev/null | grep -E '^[[:space:]]*(deb|URIs:)[[:space:]]' |
		grep -oE '(https?|file)://[^[:space:]]+' | grep -E "$1" | head -n1 || true)
	echo "${m:-$2}"
}

# The Debian mirror (WO_MIRROR, else apt's) and the security one (WO_SECURITY_MIRROR, else apt's).
wo_mirror() { echo "${WO_MIRROR:-$(wo_apt_uri '/debian/?$' http://deb.debian.org/debian)}"; }
wo_security_mirror() {
	echo "${WO_SECURITY_MIRROR:-$(wo_apt_uri '/debian-security/?$' http://deb.debian.org/debian-security)}"
}

# The host's debootstrap, or Debian's debootstrap package unpacked into $WO_CACHE/tools
# (never installed). Prints the command to run; an unpacked one needs DEBOOTSTRAP_DIR (wo_base
# sets it: an export here would be lost in the caller's command substitution).
wo_debootstrap() {
	if command -v debootstrap >/dev/null; then
		command -v debootstrap
		return
	fi
	local tool=$WO_CACHE/tools/debootstrap dl
	if [ ! -x "$tool/usr/sbin/debootstrap" ]; then
		dl=$(mktemp -d)
		chmod 0777 "$dl" # apt-get download runs as _apt
		(cd "$dl" && apt-get download -q debootstrap >/dev/null 2>&1) ||
			fail "apt-get download debootstrap failed"
		rm -rf "$tool"
		mkdir -p "$tool"
		dpkg -x "$dl"/debootstrap_*.deb "$tool"
		rm -rf "$dl"
	fi
	echo "$tool/usr/sbin/debootstrap"
}

# wo_debootstrap_script SUITE: nothing when debootstrap knows SUITE, else the path of its `sid`
# script (a suite newer than the debootstrap, e.g. forky for bookworm's, is bootstrapped like sid)
wo_debootstrap_script() {
	local scripts=${DEBOOTSTRAP_DIR:-/usr/share/debootstrap}/scripts
	[ -e "$scripts/$1" ] || echo "$scripts/sid"
}

# wo_base SUITE LOG: prints the cached minimal root of SUITE,
# $WO_CACHE/debootstrap-SUITE-YYYYMMDD (debootstrap --variant=minbase, merged /usr): the newest
# one not older than WO_BASE_MAX_AGE days, else a new one of today (older ones are removed).
# Never boot or modify it: copy it.
wo_base() {
	local suite=$1 log=$2 dir newest day today max age tool t script
	today=$(date +%Y%m%d)
	max=${WO_BASE_MAX_AGE:-14}
	newest=
	for dir in "$WO_CACHE"/debootstrap-"$suite"-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]; do
		[ -x "$dir/usr/bin/dpkg" ] && newest=$dir
	done
	if [ -n "$newest" ]; then
		day=${newest##*-}
		age=$((($(date -d "$today" +%s) - $(date -d "$day" +%s)) / 86400))
		if [ "$age" -le "$max" ]; then
			echo "$newest"
			return
		fi
	fi
	dir=$WO_CACHE/debootstrap-$suite-$today
	tool=$(wo_debootstrap) || exit 1
	# the export in wo_debootstrap is lost in the command substitution: the unpacked one needs it
	case $tool in "$WO_CACHE"/*) export DEBOOTSTRAP_DIR=${tool%/sbin/debootstrap}/share/debootstrap ;; esac
	script=$(wo_debootstrap_script "$suite")
	say "debootstrap --variant=minbase $suite $dir $(wo_mirror)${script:+ $script} (log: $log)" >&2
	mkdir -p "$WO_CACHE"
	wo_rm_root "$dir.tmp"
	t=$SECONDS
	# shellcheck disable=SC2086 # $script is empty or one path
	"$tool" --variant=minbase "$suite" "$dir.tmp" "$(wo_mirror)" $script >"$log" 2>&1 ||
		fail "debootstrap $suite failed (see $log)"
	[ -L "$dir.tmp/lib" ] || fail "debootstrap $suite: /lib is not a symlink (merged /usr expected)"
	wo_rm_root "$dir"
	mv "$dir.tmp" "$dir"
	say "debootstrap $suite took $((SECONDS - t))s" >&2
	for old in "$WO_CACHE"/debootstrap-"$suite"-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]; do
		[ "$old" = "$dir" ] || wo_rm_root "$old"
	done
	echo "$dir"
}

# wo_chroot BASE DIR: DIR becomes a fresh copy of BASE, with /proc mounted and the host's DNS
wo_chroot() {
	wo_rm_root "$2"
	mkdir -p "$(dirname "$2")"
	cp -a "$1" "$2"
	wo_mount -t proc proc "$2/proc"
	rm -f "$2/etc/resolv.conf"
	cp -L /etc/resolv.conf "$2/etc/resolv.conf"
}

# wo_in DIR COMMAND...: runs COMMAND in the chroot DIR with a clean environment
wo_in() {
	local dir=$1
	shift
	chroot "$dir" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 HOME=/root \
		DEBIAN_FRONTEND=noninteractive "$@"
}

# The host's Debian suite (the build chroot's, so the binary runs where the host's would).
wo_host_suite() {
	# shellcheck disable=SC1091 # the host's
	(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
}

# The file in a derived root that lists its PACKAGEs as PACKAGE=VERSION lines, in the order given
WO_PACKAGES_STAMP=.wait-online-packages

# wo_derived_root NAME SUITE LOGDIR CHECK PACKAGE...: prints a cached root of SUITE with PACKAGEs
# installed (apt-get --no-install-recommends), $WO_CACHE/NAME-SUITE-YYYYMMDD (the date of its
# base, so it ages with it), made when missing, when the file CHECK (absolute, in the root) is
# not executable or when its $WO_PACKAGES_STAMP is missing. Older ones of NAME-SUITE are
# removed. Never boot or modify it: copy it.
wo_derived_root() {
	local name=$1 suite=$2 logdir=$3 check=$4 base dir t old
	shift 4
	# (command substitutions run without set -e: a failure must stop here, not go on)
	base=$(wo_base "$suite" "$logdir/debootstrap-$suite.log") || exit 1
	dir=$WO_CACHE/$name-${base##*/debootstrap-}
	if [ ! -x "$dir$check" ] || [ ! -s "$dir/$WO_PACKAGES_STAMP" ]; then
		say "$dir: apt-get install $* (log: $logdir/$name-$suite.log)" >&2
		t=$SECONDS
		wo_rm_root "$dir.tmp"
		wo_chroot "$base" "$dir.tmp"
		# Debian testing's Release file on a mirror can be past its Valid-Until by days: the
		# packages are what matters here, their signatures are checked as ever
		{ wo_in "$dir.tmp" apt-get -o Acquire::Check-Valid-Until=false update -q &&
			wo_in "$dir.tmp" apt-get install -y -q --no-install-recommends "$@"; } \
			>"$logdir/$name-$suite.log" 2>&1 || fail "making $dir failed (see $logdir/$name-$suite.log)"
		[ -x "$dir.tmp$check" ] || fail "$dir: $check is missing after the installation"
		# shellcheck disable=SC2016 # the chroot's shell and dpkg-query's format, not this shell's
		wo_in "$dir.tmp" sh -c 'for p; do dpkg-query -W -f="\${Package}=\${Version}\n" "$p"; done' sh "$@" \
			>"$dir.tmp/$WO_PACKAGES_STAMP" || fail "$dir: cannot list the installed versions"
		wo_in "$dir.tmp" apt-get clean
		umount "$dir.tmp/proc"
		wo_rm_root "$dir"
		mv "$dir.tmp" "$dir"
		for old in "$WO_CACHE/$name-$suite"-*; do
			[ "$old" = "$dir" ] || wo_rm_root "$old"
		done
		say "$dir made in $((SECONDS - t))s" >&2
	fi
	echo "$dir"
}

# wo_build_root LOGDIR: prints a cached root of the host's suite with debhelper, build-essential
# and lintian installed ($WO_CACHE/buildroot-SUITE-YYYYMMDD). Used when the host has no
# debhelper: nothing is installed on the host.
wo_build_root() {
	wo_derived_root buildroot "$(wo_host_suite)" "$1" /usr/bin/lintian \
		debhelper build-essential lintian ca-certificates
}

# wo_build SRC WORK: copies the tree SRC (tracked and untracked files, not ignored ones) to
# WORK/wait-online-VERSION and runs dpkg-buildpackage -us -uc -b there: on the host when it has
# debhelper, else in a copy of wo_build_root with the host's cargo and rustup toolchains
# bind-mounted read-only. The .debs and .changes land in WORK; lintian's report in
# WORK/lintian.txt (never fatal).
wo_build() {
	local src=$1 work=$2 version upstream tree cargo rustup root='' t
	version=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
	upstream=${version%-*}
	tree=$work/wait-online-$upstream
	command -v cargo >/dev/null || fail "cargo is not on PATH (install rustup)"
	rm -rf "$work"
	mkdir -p "$tree"
	if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
		# tracked and untracked files, without ignored ones (target/) and deleted ones
		git -C "$src" ls-files -z --cached --others --exclude-standard |
			(cd "$src" && while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done) |
			tar -C "$src" --null -T - -cf - | tar -C "$tree" -xf -
	else
		tar -C "$src" --exclude=./target --exclude=./.git -cf - . | tar -C "$tree" -xf -
	fi
	t=$SECONDS
	if command -v dh >/dev/null && command -v dpkg-buildpackage >/dev/null; then
		say "building on the host in $tree (log: $work/build.log)"
		if ! (cd "$tree" && nice -n 10 dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1; then
			tail -40 "$work/build.log" >&2
			fail "dpkg-buildpackage failed (see $work/build.log)"
		fi
	else
		root=$(wo_build_root "$work") || exit 1
		t=$SECONDS # the build's time, without the build root's
		cargo=$(dirname "$(command -v cargo)")
		rustup=${RUSTUP_HOME:-$HOME/.rustup}
		say "building in the build root $root, tree $tree (log: $work/build.log)"
		mkdir -p "$root$work" "$root$cargo" "$root$rustup"
		wo_mount --bind "$work" "$root$work"
		for d in "$cargo" "$rustup"; do
			wo_mount --bind "$d" "$root$d"
			mount -o remount,bind,ro "$root$d" || fail "cannot make $root$d read-only"
		done
		wo_mount -t proc proc "$root/proc"
		cp -L /etc/resolv.conf "$root/etc/resolv.conf"
		# the host's CA bundle: it may hold a local CA (a TLS-inspecting proxy) that cargo needs
		cp -L "${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}" "$root/etc/ssl/certs/ca-certificates.crt"
		if ! chroot "$root" env -i PATH="$cargo:/usr/sbin:/usr/bin:/sbin:/bin" LANG=C.UTF-8 \
			HOME=/root RUSTUP_HOME="$rustup" DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-}" \
			sh -c "cd '$tree' && nice -n 10 dpkg-buildpackage -us -uc -b" >"$work/build.log" 2>&1; then
			tail -40 "$work/build.log" >&2
			wo_cleanup
			fail "dpkg-buildpackage failed in the build root (see $work/build.log)"
		fi
	fi
	say "dpkg-buildpackage took $((SECONDS - t))s"
	wo_lintian "$work" "$version" "$root"
	wo_cleanup
}

# wo_lintian WORK VERSION [BUILDROOT]: lintian --pedantic on the build's .changes, on the host or
# in the build root (whose mounts of WORK are still in place); printed and kept in
# WORK/lintian.txt, never fatal
wo_lintian() {
	local changes
	changes=$1/wait-online_${2}_$(dpkg --print-architecture).changes
	say "lintian (reported only)"
	if command -v lintian >/dev/null; then
		lintian --pedantic --info "$changes" 2>&1
	elif [ -n "${3:-}" ] && [ -x "$3/usr/bin/lintian" ]; then
		chroot "$3" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 HOME=/root \
			lintian --pedantic --info "$changes" 2>&1
	else
		echo "(no lintian on the host and no build root: skipped)"
	fi | grep -v '^running with root privileges' | tee "$1/lintian.txt" || true
}

# ---- booting a root with systemd-nspawn

# wo_nspawn: prints the host's systemd-nspawn, else that of systemd-container of the host's
# systemd version, downloaded and unpacked into $WO_CACHE/tools (never installed)
wo_nspawn() {
	local ver dir dl
	if command -v systemd-nspawn >/dev/null; then
		command -v systemd-nspawn
		return
	fi
	# shellcheck disable=SC2016 # dpkg-query's format, not the shell's
	ver=$(dpkg-query -W -f='${Version}' libsystemd-shared 2>/dev/null || true)
	[ -n "$ver" ] || fail "no systemd-nspawn and no libsystemd-shared on the host"
	dir=$WO_CACHE/tools/systemd-container-$ver
	if [ ! -x "$dir/usr/bin/systemd-nspawn" ]; then
		dl=$(mktemp -d)
		chmod 0777 "$dl" # apt-get download runs as _apt
		(cd "$dl" && apt-get download -q "systemd-container=$ver" >/dev/null 2>&1) ||
			fail "apt-get download systemd-container=$ver failed"
		rm -rf "$dir"
		mkdir -p "$dir"
		dpkg -x "$dl"/systemd-container_*.deb "$dir"
		rm -rf "$dl"
	fi
	echo "$dir/usr/bin/systemd-nspawn"
}

# wo_boot_net_up NS LOG [--unplugged=NIC]... [DNSMASQ_ARG...]: network namespace NS for a
# container and NS-p for its peer: a veth host0 (in NS) to peer0 (10.78.0.1/24, in NS-p), where
# dnsmasq serves DHCPv4 (10.78.0.100-199, no ping before an offer) and DNS (log: LOG); each
# --unplugged NIC is one more veth whose peer end stays down, so that NIC never has carrier.
# Nothing is made in the host's namespace.
wo_boot_net_up() {
	local ns=$1 log=$2 peer=$1-p dns nic
	shift 2
	dns=$(command -v dnsmasq || echo /usr/sbin/dnsmasq)
	[ -x "$dns" ] || fail "dnsmasq is missing (tests/setup-deps.sh installs dnsmasq-base)"
	ip netns del "$ns" 2>/dev/null || true
	ip netns del "$peer" 2>/dev/null || true
	WO_NETNS+=("$ns" "$peer")
	ip netns add "$ns" && ip netns add "$peer" || fail "ip netns add $ns $peer"
	ip -n "$peer" link set lo up
	ip -n "$ns" link add host0 type veth peer name peer0 netns "$peer" || fail "veth host0 in $ns"
	while [ $# -gt 0 ] && [ "${1#--unplugged=}" != "$1" ]; do
		nic=${1#--unplugged=}
		shift
		ip -n "$ns" link add "$nic" type veth peer name "p-$nic" netns "$peer" || fail "veth $nic in $ns"
	done
	ip -n "$peer" addr add 10.78.0.1/24 dev peer0
	ip -n "$peer" link set peer0 up
	nsenter --net="/run/netns/$peer" "$dns" --keep-in-foreground --conf-file=/dev/null --no-resolv \
		--no-hosts --interface=peer0 --bind-dynamic --dhcp-range=10.78.0.100,10.78.0.199,1h --no-ping \
		--dhcp-leasefile=/dev/null --user=root --pid-file= --log-dhcp --log-queries --log-facility=- \
		"$@" >"$log" 2>&1 &
	WO_PIDS+=("$!")
}

# The unified cgroup hierarchy: /sys/fs/cgroup itself, or its "unified" mount on a hybrid host
wo_cgroup2() {
	if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
		echo /sys/fs/cgroup
	elif [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
		echo /sys/fs/cgroup/unified
	else
		fail "no cgroup2 hierarchy (systemd 257 refuses to boot on cgroup v1 only)"
	fi
}

# wo_boot ROOT NS SECONDS LOG NSPAWN_ARG...: boots the directory ROOT (an overlay or a copy,
# never a cached root) with systemd as PID 1 in the network namespace NS, console to LOG,
# killed after SECONDS; returns systemd-nspawn's exit status. Its processes, its cgroup and its
# mounts (a private /run included) are gone when it returns.
wo_boot() {
	local root=$1 ns=$2 limit=$3 log=$4 cg nsfile sysdir nspawn rc=0
	shift 4
	nspawn=$(wo_nspawn) || exit 1
	cg=$(wo_cgroup2)/wo-boot-$ns
	mkdir -p "$cg" || fail "mkdir $cg"
	WO_CGROUPS+=("$cg")
	nsfile=$(mktemp)
	sysdir=$(mktemp -d)
	# The cgroup first (its own, on the unified hierarchy, for a guest that needs cgroup2), then
	# a private mount namespace where /run is a tmpfs (nspawn writes there) and the network
	# namespace is reached through a bind mount made before /run is covered.
	# With --network-namespace-path, this systemd-nspawn (252) gives the guest the host's sysfs,
	# whose /sys/class/net lists the host's interfaces, not host0 (seen: eth0 ifb0 ifb1 lo):
	# a sysfs mounted from within NS (sysfs shows the network namespace of its mounter) is
	# bound over the guest's /sys/class/net and /sys/devices/virtual/net.
	SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 timeout -k 10 "$limit" \
		unshare -m --propagation private sh -ec '
			echo $$ >"$1/cgroup.procs"
			mount --bind "/run/netns/$2" "$3"
			nsenter --net="$3" mount -t sysfs -o ro sysfs "$5"
			mount -t tmpfs -o mode=0755 tmpfs /run
			nspawn=$4
			shift 5
			exec "$nspawn" "$@"' sh "$cg" "$ns" "$nsfile" "$nspawn" "$sysdir" \
		-D "$root" -M "$ns" --register=no --keep-unit -b --console=pipe --link-journal=no \
		--resolv-conf=off --timezone=off --network-namespace-path="$nsfile" \
		--bind-ro="$sysdir/class/net:/sys/class/net" \
		--bind-ro="$sysdir/devices/virtual/net:/sys/devices/virtual/net" \
		--capability=CAP_NET_ADMIN "$@" </dev/null >"$log" 2>&1 &
	# (waited for in the background: a trapped Ctrl-C interrupts wait, and wo_cleanup kills the cgroup)
	wait "$!" || rc=$?
	wo_kill_cgroup "$cg"
	rm -f "$nsfile"
	rmdir "$sysdir"
	return "$rc"
}

# wo_kill_cgroup CG: kills every process left in CG and below it, then removes the cgroups
wo_kill_cgroup() {
	local i
	[ -d "$1" ] || return 0
	for i in $(seq 50); do
		if [ -e "$1/cgroup.kill" ]; then
			echo 1 >"$1/cgroup.kill" 2>/dev/null || true
		else
			find "$1" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -9 2>/dev/null || true
		fi
		find "$1" -depth -type d -exec rmdir {} + 2>/dev/null || true
		[ -d "$1" ] || return 0
		sleep 0.1
	done
	say "cannot remove the cgroup $1 (processes left: $(find "$1" -name cgroup.procs -exec cat {} + | xargs))" >&2
}

# Stops what wo_boot_net_up and wo_boot made (also when interrupted): dnsmasq, the cgroups with
# what is left in them, the network namespaces
wo_boot_teardown() {
	local p
	for p in "${WO_PIDS[@]}"; do
		{ kill "$p" && wait "$p"; } 2>/dev/null || true
	done
	WO_PIDS=()
	for p in "${WO_CGROUPS[@]}"; do
		wo_kill_cgroup "$p"
	done
	WO_CGROUPS=()
	for p in "${WO_NETNS[@]}"; do
		ip netns del "$p" 2>/dev/null || true
	done
	WO_NETNS=()
}
