#!/bin/bash
# scripts/test-divert.sh -- tests the package wait-online-divert-upstream (the dpkg diversion of
# systemd's systemd-networkd-wait-online) in chroots of Debian 12 (bookworm: systemd ships
# /lib/systemd/...) and Debian 13 (trixie: /usr/lib/systemd/...), both with merged /usr, where
# /lib/systemd/X and /usr/lib/systemd/X are one file under two names. Never on the host; run as
# root. For each suite, in a fresh copy of a cached minimal root (scripts/lib-deb.sh):
#
#   1. apt-get install systemd: the oldest version the suite, -updates and -security offer,
#      so that step 3 is a real upgrade when a newer one exists; the sha256 of upstream's binary
#      in the systemd .deb is the reference for every later comparison
#   2. dpkg -i wait-online and wait-online-divert-upstream: both spellings run wait-online
#      (--version, and a real wait for lo), the unit's ExecStart= path too, dpkg-divert --list
#      shows exactly the two diversions, upstream's binary sits at the divert-to name of the
#      spelling systemd registers (sha256 equal), nothing else is left in /usr/lib/systemd;
#      the hardening drop-in is in place for upstream's unit and its @ template: the suite's
#      systemd-analyze security rates both at most 2.0 (9.x without it), verify is silent, and
#      the unit keeps its one ExecStart= line, upstream's
#   3. apt-get install systemd (upgrade to the candidate, when newer), then
#      apt-get install --reinstall systemd: the same checks, against the new .deb's sha256
#   4. dpkg -r wait-online-divert-upstream: no diversion left, upstream's binary back under
#      its name (sha256 equal), no divert-to file left, dpkg --verify systemd clean, the
#      hardening drop-in gone (upstream's binary never runs under it) and the exposure back
#   5. dpkg -i again, dpkg -i over itself (preinst upgrade), dpkg -P: the same checks
#
# And "bookworm-to-trixie": both packages installed on Debian 12, then apt-get dist-upgrade to
# Debian 13, whose systemd moves the binary from /lib/systemd to /usr/lib/systemd: the same
# checks before and after (against 257's .deb), then dpkg -r and -P restore 257's binary.
#
# Environment: WO_DEB_DIR (/tmp/wo-divert: build, logs, chroots), WO_SUITES ("bookworm
# trixie bookworm-to-trixie"), WO_DEBS (a directory with the two .debs to use instead of
# building them), WO_SKIP_BUILD=1 (reuse the .debs of a previous run), and those of lib-deb.sh
# (WO_MIRROR, WO_SECURITY_MIRROR, WO_CACHE, WO_BASE_MAX_AGE). Needs network access (crates.io,
# the Debian mirrors) and cargo on PATH (rustup). Measured on a 2-core VM: 406 s, of which
# 374 s the build (release with fat LTO, then the unit tests) and 22 s both suites; about 90 s
# more per suite (and 30 s for the build root) when the cached roots are missing.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
WO_NAME=test-divert
T0=$SECONDS
# shellcheck source=scripts/lib-deb.sh
. "$SRC/scripts/lib-deb.sh"
trap wo_cleanup EXIT

WORK=${WO_DEB_DIR:-/tmp/wo-divert}
mkdir -p "$WORK"
SUITES=${WO_SUITES:-bookworm trixie bookworm-to-trixie}
[ "$(id -u)" = 0 ] || fail "run as root (debootstrap, chroot)"

VERSION=$(dpkg-parsechangelog -l "$SRC/debian/changelog" -S Version)
ARCH=$(dpkg --print-architecture)
DEBS=${WO_DEBS:-$WORK}
DEB=$DEBS/wait-online_${VERSION}_${ARCH}.deb
PKG=wait-online-divert-upstream
DIVERT_DEB=$DEBS/${PKG}_${VERSION}_all.deb
ALIASED=/lib/systemd/systemd-networkd-wait-online
CANONICAL=/usr/lib/systemd/systemd-networkd-wait-online
declare -A DIVERT_TO=(
	[$ALIASED]=$ALIASED.upstream
	[$CANONICAL]=$CANONICAL.upstream.usr-is-merged
)

# ---- build and contents
if [ -n "${WO_DEBS:-}" ] || { [ "${WO_SKIP_BUILD:-}" = 1 ] && [ -s "$DEB" ] && [ -s "$DIVERT_DEB" ]; }; then
	say "using $DEB and $DIVERT_DEB"
else
	wo_build "$SRC" "$WORK"
fi
[ -s "$DEB" ] || fail "$DEB was not produced"
[ -s "$DIVERT_DEB" ] || fail "$DIVERT_DEB was not produced"
say "dpkg-deb -c / -I $(basename "$DIVERT_DEB")"
dpkg-deb -c "$DIVERT_DEB" | tee "$WORK/divert-contents.txt"
dpkg-deb -I "$DIVERT_DEB" | sed -n '/Package:/,$p' | tee "$WORK/divert-info.txt"
grep -q " ./usr/lib/systemd/systemd-networkd-wait-online -> ../../libexec/wait-online/wait-online$" \
	"$WORK/divert-contents.txt" || fail "the package lacks the symlink to ../../libexec/wait-online/wait-online"
if grep -q ' ./lib/' "$WORK/divert-contents.txt"; then fail "the package ships a file under /lib (aliased)"; fi
for unit in systemd-networkd-wait-online.service systemd-networkd-wait-online@.service; do
	grep -q " ./usr/lib/systemd/system/$unit.d/wait-online-hardening.conf$" "$WORK/divert-contents.txt" ||
		fail "the package lacks the hardening drop-in for $unit"
done
for script in preinst postrm; do
	dpkg-deb --info "$DIVERT_DEB" "$script" >/dev/null 2>&1 || fail "the package has no $script"
done
grep -q "^ Depends: wait-online (>= $VERSION), wait-online (<< $VERSION.1~), systemd" "$WORK/divert-info.txt" ||
	fail "unexpected Depends: $(grep Depends: "$WORK/divert-info.txt")"

# deb_sha256 ROOT DEB PATH: sha256 of PATH as shipped in DEB (in the chroot ROOT)
deb_sha256() {
	dpkg-deb --fsys-tarfile "$1$2" | tar -xOf - ".$3" | sha256sum | cut -d' ' -f1
}
# sha256 FILE
sha256() { sha256sum "$1" | cut -d' ' -f1; }
# same WHAT EXPECTED ACTUAL: prints the comparison, fails when they differ
same() {
	if [ "$2" = "$3" ]; then
		say "  ok: $1: $3"
	else
		fail "$1: expected '$2', got '$3'"
	fi
}

# The checks below use the caller's suite, R (the chroot), shipped (the spelling systemd
# registers), other (the other spelling) and ref (sha256 of upstream's binary in the .deb).
IN() { wo_in "$R" "$@"; }

# sysdeb VERSION: the systemd .deb of VERSION in the chroot's apt cache
sysdeb() {
	local f
	f=$(cd "$R" && { compgen -G "var/cache/apt/archives/systemd_${1/:/%3a}_*.deb" || true; } | head -n1)
	[ -n "$f" ] || fail "$suite: systemd $1 is not in the chroot's apt cache"
	echo "/$f"
}

UNITS=(systemd-networkd-wait-online.service systemd-networkd-wait-online@eth0.service)
DROP_INS=(/usr/lib/systemd/system/systemd-networkd-wait-online.service.d/wait-online-hardening.conf
	/usr/lib/systemd/system/systemd-networkd-wait-online@.service.d/wait-online-hardening.conf)
# exposure UNIT: the overall exposure the chroot's systemd-analyze gives UNIT
exposure() {
	IN systemd-analyze security --offline=yes "$1" 2>&1 |
		sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p'
}

# hardened STAGE: the drop-in for both units, each rated at most 2.0, verify silent, upstream's
# one ExecStart= line kept
hardened() {
	local stage=$1 f u e out
	for f in "${DROP_INS[@]}"; do
		[ -f "$R$f" ] || fail "$stage: $f is missing"
	done
	for u in "${UNITS[@]}"; do
		e=$(exposure "$u")
		say "  $stage: $u: exposure $e with the hardening drop-in"
		awk -v e="$e" 'BEGIN { exit !(e != "" && e <= 2.0) }' || fail "$stage: $u: exposure '$e' > 2.0"
	done
	out=$(IN systemd-analyze verify --man=no "${UNITS[@]}" 2>&1) || fail "$stage: verify: $out"
	[ -z "$out" ] || fail "$stage: systemd-analyze verify printed: $out"
	IN systemd-analyze cat-config systemd/system/systemd-networkd-wait-online.service >"$WORK/cat-config.txt" 2>&1 || true
	grep -q '^User=wait-online$' "$WORK/cat-config.txt" || fail "$stage: the drop-in does not show (see $WORK/cat-config.txt)"
	same "$stage: ExecStart= lines of upstream's unit" \
		"ExecStart=$(sed -n 's/^ExecStart=//p' "$R/lib/systemd/system/systemd-networkd-wait-online.service")" \
		"$(grep '^ExecStart=' "$WORK/cat-config.txt")"
}

# unhardened STAGE: no drop-in left, upstream's unit rated as without it
unhardened() {
	local stage=$1 f e
	for f in "${DROP_INS[@]}"; do
		[ ! -e "$R$f" ] || fail "$stage: $f is still there"
		[ ! -e "$R${f%/*}" ] || fail "$stage: ${f%/*} is still there"
	done
	e=$(exposure "${UNITS[0]}")
	say "  $stage: ${UNITS[0]}: exposure $e"
	awk -v e="$e" 'BEGIN { exit !(e > 5.0) }' || fail "$stage: ${UNITS[0]}: exposure '$e', expected upstream's own"
}

# diverted STAGE: both spellings (and the unit's ExecStart=) run wait-online, two diversions,
# upstream's binary (sha256 $ref) at the divert-to name of $shipped only
diverted() {
	local stage=$1 p line exec_path
	say "$suite: checks after $stage"
	for p in "$ALIASED" "$CANONICAL"; do
		same "$stage: readlink -f $p" /usr/libexec/wait-online/wait-online "$(IN readlink -f "$p")"
		same "$stage: $p --version" "wait-online ${VERSION%-*}" "$(IN "$p" --version | head -n1)"
		check "$stage: $p -i lo:carrier --timeout=5 failed" IN "$p" -i lo:carrier --timeout=5 -q
	done
	exec_path=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' \
		"$R/lib/systemd/system/systemd-networkd-wait-online.service")
	[ -n "$exec_path" ] || fail "no ExecStart= in systemd-networkd-wait-online.service"
	same "$stage: the unit's ExecStart=$exec_path --version" "wait-online ${VERSION%-*}" \
		"$(IN "$exec_path" --version | head -n1)"
	IN dpkg-divert --list '*systemd-networkd-wait-online*' | sort >"$WORK/diversions.txt"
	sed "s/^/$WO_NAME:     /" "$WORK/diversions.txt"
	same "$stage: dpkg-divert --list" \
		"diversion of $ALIASED to ${DIVERT_TO[$ALIASED]} by $PKG|diversion of $CANONICAL to ${DIVERT_TO[$CANONICAL]} by $PKG|" \
		"$(tr '\n' '|' <"$WORK/diversions.txt")"
	for p in "$ALIASED" "$CANONICAL"; do
		same "$stage: dpkg-divert --truename $p" "${DIVERT_TO[$p]}" "$(IN dpkg-divert --truename "$p")"
	done
	if [ ! -f "$R${DIVERT_TO[$shipped]}" ] || [ -L "$R${DIVERT_TO[$shipped]}" ]; then
		fail "$stage: upstream's binary is not at ${DIVERT_TO[$shipped]}"
	fi
	same "$stage: ${DIVERT_TO[$shipped]} (sha256)" "$ref" "$(sha256 "$R${DIVERT_TO[$shipped]}")"
	[ ! -e "$R${DIVERT_TO[$other]}" ] || fail "$stage: ${DIVERT_TO[$other]} exists too"
	line=$(cd "$R/usr/lib/systemd" && echo systemd-networkd-wait-online*)
	same "$stage: ls /usr/lib/systemd/systemd-networkd-wait-online*" \
		"systemd-networkd-wait-online systemd-networkd-wait-online${DIVERT_TO[$shipped]#"$shipped"}" "$line"
	IN dpkg --verify systemd >"$WORK/verify.txt" 2>&1 || true
	same "$stage: dpkg --verify systemd" "" "$(cat "$WORK/verify.txt")"
	hardened "$stage"
}

# restored STAGE: no diversion, upstream's binary back under its name (sha256 $ref)
restored() {
	local stage=$1 line
	say "$suite: checks after $stage"
	same "$stage: dpkg-divert --list" "" "$(IN dpkg-divert --list '*systemd-networkd-wait-online*')"
	if [ ! -f "$R$shipped" ] || [ -L "$R$shipped" ]; then fail "$stage: $shipped is not a regular file"; fi
	same "$stage: $shipped (sha256)" "$ref" "$(sha256 "$R$shipped")"
	same "$stage: $other (sha256, the same file)" "$ref" "$(sha256 "$R$other")"
	IN "$shipped" --version | head -n1 | grep -q '^systemd ' || fail "$stage: $shipped is not upstream's"
	line=$(cd "$R/usr/lib/systemd" && echo systemd-networkd-wait-online*)
	same "$stage: ls /usr/lib/systemd/systemd-networkd-wait-online*" systemd-networkd-wait-online "$line"
	IN dpkg --verify systemd >"$WORK/verify.txt" 2>&1 || true
	same "$stage: dpkg --verify systemd" "" "$(cat "$WORK/verify.txt")"
	[ -x "$R/usr/libexec/wait-online/wait-online" ] || fail "$stage: wait-online itself went too"
	unhardened "$stage"
}

test_suite() {
	local suite=$1 base R log versions old new v pins dep shipped other ref
	R=$WORK/chroot-$suite
	log=$WORK/apt-$suite.log
	base=$(wo_base "$suite" "$WORK/debootstrap-$suite.log")
	say "$suite: fresh chroot $R (copy of $base)"
	wo_chroot "$base" "$R"
	cat >"$R/etc/apt/sources.list" <<-EOF
		deb $(wo_mirror) $suite main
		deb $(wo_mirror) $suite-updates main
		deb $(wo_security_mirror) $suite-security main
	EOF
	check "apt-get update in the $suite chroot failed (see $log)" IN apt-get update -q >"$log" 2>&1

	# ---- 1. systemd, the oldest version on offer
	mapfile -t versions < <(IN apt-cache madison systemd | awk -F' *[|] *' '{print $2}' | sort -u)
	[ "${#versions[@]}" -gt 0 ] || fail "$suite: apt-cache madison systemd lists no version"
	# shellcheck disable=SC2016 # apt-cache's output, not the shell's
	new=$(IN apt-cache policy systemd | sed -n 's/^ *Candidate: //p')
	old=$new
	for v in "${versions[@]}"; do
		if dpkg --compare-versions "$v" lt "$old"; then old=$v; fi
	done
	say "$suite: systemd versions on offer: ${versions[*]} (candidate $new)"
	pins=("systemd=$old")
	if [ "$old" != "$new" ]; then
		# the packages systemd=OLD needs in exactly its version (libsystemd-shared, libsystemd0)
		for dep in $(IN apt-cache show "systemd=$old" | sed -n 's/^Depends: //p' | tr ',' '\n' |
			sed -n "s/^ *\([^ ]*\) (= $old)\$/\1/p"); do
			pins+=("$dep=$old")
		done
	fi
	say "$suite: apt-get install ${pins[*]}"
	check "apt-get install systemd failed (see $log)" \
		IN apt-get install -y -q --no-install-recommends --allow-downgrades "${pins[@]}" >>"$log" 2>&1

	shipped=$(IN dpkg -L systemd | grep -x -e "$ALIASED" -e "$CANONICAL" || true)
	case $suite:$shipped in
	bookworm:"$ALIASED" | trixie:"$CANONICAL") ;;
	*) fail "$suite: systemd ships '$shipped', expected the Debian 12 /lib or Debian 13 /usr/lib spelling" ;;
	esac
	if [ "$shipped" = "$ALIASED" ]; then other=$CANONICAL; else other=$ALIASED; fi
	[ -L "$R/lib" ] || fail "$suite: /lib is not a symlink (merged /usr expected)"
	[ "$R$ALIASED" -ef "$R$CANONICAL" ] || fail "$suite: $ALIASED and $CANONICAL are not one file"
	say "$suite: systemd $old ships $shipped (and $other is the same file through /lib -> usr/lib)"

	ref=$(deb_sha256 "$R" "$(sysdeb "$old")" "$shipped")
	say "$suite: reference: sha256 of $shipped in systemd_$old.deb = $ref"
	same "$suite: installed $shipped (sha256)" "$ref" "$(sha256 "$R$shipped")"
	IN "$shipped" --version | head -n1 | grep -q '^systemd ' || fail "$suite: upstream's $shipped --version"

	# ---- 2. install
	cp "$DEB" "$DIVERT_DEB" "$R/tmp/"
	say "$suite: dpkg -i $(basename "$DEB") $(basename "$DIVERT_DEB")"
	check "$suite: dpkg -i failed" IN dpkg -i "/tmp/$(basename "$DEB")" "/tmp/$(basename "$DIVERT_DEB")"
	diverted "dpkg -i"

	# ---- 3. upgrade and reinstall of systemd
	if [ "$old" != "$new" ]; then
		say "$suite: apt-get install systemd (upgrade $old -> $new)"
		check "$suite: the upgrade of systemd failed (see $log)" \
			IN apt-get install -y -q --no-install-recommends systemd >>"$log" 2>&1
		# shellcheck disable=SC2016 # dpkg-query's format, not the shell's
		same "$suite: systemd version after the upgrade" "$new" "$(IN dpkg-query -W -f='${Version}' systemd)"
		ref=$(deb_sha256 "$R" "$(sysdeb "$new")" "$shipped")
		say "$suite: reference now: sha256 of $shipped in systemd_$new.deb = $ref"
		diverted "the upgrade of systemd to $new"
	else
		say "$suite: no newer systemd in $suite-updates or $suite-security than $old:" \
			"the reinstall below is the upgrade path"
	fi
	say "$suite: apt-get install --reinstall systemd"
	check "$suite: the reinstall of systemd failed (see $log)" \
		IN apt-get install -y -q --reinstall systemd >>"$log" 2>&1
	diverted "apt-get install --reinstall systemd"

	# ---- 4. remove
	say "$suite: dpkg -r $PKG"
	check "$suite: dpkg -r $PKG failed" IN dpkg -r "$PKG"
	restored "dpkg -r $PKG"

	# ---- 5. install again, over itself, purge
	say "$suite: dpkg -i $(basename "$DIVERT_DEB") (again)"
	check "$suite: dpkg -i (again) failed" IN dpkg -i "/tmp/$(basename "$DIVERT_DEB")"
	diverted "dpkg -i (again)"
	say "$suite: dpkg -i $(basename "$DIVERT_DEB") (over itself: preinst upgrade)"
	check "$suite: dpkg -i (over itself) failed" IN dpkg -i "/tmp/$(basename "$DIVERT_DEB")"
	diverted "dpkg -i (over itself)"
	say "$suite: dpkg -P $PKG"
	check "$suite: dpkg -P $PKG failed" IN dpkg -P "$PKG"
	restored "dpkg -P $PKG"
	# shellcheck disable=SC2016 # dpkg-query's format, not the shell's
	if IN dpkg-query -W -f='${Status}\n' "$PKG" 2>/dev/null | grep -q installed; then
		fail "$suite: dpkg still lists $PKG after dpkg -P"
	fi
	check "$suite: dpkg -P wait-online failed" IN dpkg -P wait-online
	wo_cleanup
	say "$suite: install, upgrade/reinstall of systemd, remove, reinstall and purge OK"
}

# ---- Debian 12 -> 13 with the diversion in place: systemd's file moves from /lib/systemd to
# /usr/lib/systemd in that upgrade, the case DEP17's two diversions exist for. dpkg unpacks
# 257's binary under the /usr/lib diversion's target, then deletes 252's through the /lib
# diversion's target (another name): the real binary must end up at the /usr/lib target, the
# symlink to wait-online must stay, and removal must bring back 257's binary byte for byte.
test_dist_upgrade() {
	local suite=bookworm-to-trixie base R log shipped other ref v
	R=$WORK/chroot-$suite
	log=$WORK/apt-$suite.log
	base=$(wo_base bookworm "$WORK/debootstrap-bookworm.log")
	say "$suite: fresh chroot $R (copy of $base)"
	wo_chroot "$base" "$R"
	sources() { # sources SUITE: apt's sources in the chroot, then apt-get update
		cat >"$R/etc/apt/sources.list" <<-EOF
			deb $(wo_mirror) $1 main
			deb $(wo_mirror) $1-updates main
			deb $(wo_security_mirror) $1-security main
		EOF
		check "$suite: apt-get update ($1) failed (see $log)" IN apt-get update -q >>"$log" 2>&1
	}
	sources bookworm
	check "$suite: apt-get install systemd failed (see $log)" \
		IN apt-get install -y -q --no-install-recommends systemd >"$log" 2>&1
	# shellcheck disable=SC2016 # dpkg-query's format, not the shell's
	v=$(IN dpkg-query -W -f='${Version}' systemd)
	shipped=$ALIASED other=$CANONICAL
	same "$suite: systemd $v ships" "$shipped" "$(IN dpkg -L systemd | grep -x -e "$ALIASED" -e "$CANONICAL")"
	ref=$(deb_sha256 "$R" "$(sysdeb "$v")" "$shipped")
	cp "$DEB" "$DIVERT_DEB" "$R/tmp/"
	say "$suite: dpkg -i $(basename "$DEB") $(basename "$DIVERT_DEB") (Debian 12, systemd $v)"
	check "$suite: dpkg -i failed" IN dpkg -i "/tmp/$(basename "$DEB")" "/tmp/$(basename "$DIVERT_DEB")"
	diverted "dpkg -i on Debian 12"

	sources trixie
	say "$suite: apt-get dist-upgrade to trixie (log: $log)"
	local t=$SECONDS
	check "$suite: apt-get dist-upgrade failed (see $log)" \
		IN apt-get dist-upgrade -y -q -o Dpkg::Options::=--force-confdef \
		-o Dpkg::Options::=--force-confold >>"$log" 2>&1
	# shellcheck disable=SC2016 # dpkg-query's format, not the shell's
	v=$(IN dpkg-query -W -f='${Version}' systemd)
	say "$suite: dist-upgrade took $((SECONDS - t))s; systemd is now $v"
	# shellcheck disable=SC2016 # dpkg-query's format, not the shell's
	same "$suite: $PKG still installed" "install ok installed" \
		"$(IN dpkg-query -W -f='${Status}' "$PKG")"
	shipped=$CANONICAL other=$ALIASED
	same "$suite: systemd $v ships" "$shipped" "$(IN dpkg -L systemd | grep -x -e "$ALIASED" -e "$CANONICAL")"
	ref=$(deb_sha256 "$R" "$(sysdeb "$v")" "$shipped")
	say "$suite: reference now: sha256 of $shipped in systemd_$v.deb = $ref"
	diverted "the dist-upgrade to Debian 13"
	[ ! -e "$R${DIVERT_TO[$ALIASED]}" ] || fail "$suite: 252's binary is left at ${DIVERT_TO[$ALIASED]}"

	say "$suite: dpkg -r $PKG"
	check "$suite: dpkg -r $PKG failed" IN dpkg -r "$PKG"
	restored "dpkg -r $PKG after the dist-upgrade"
	check "$suite: dpkg -P $PKG failed" IN dpkg -P "$PKG"
	restored "dpkg -P $PKG after the dist-upgrade"
	wo_cleanup
	say "$suite: the diversion followed systemd from /lib to /usr/lib; removal restored 257's binary"
}

for suite in $SUITES; do
	case $suite in
	bookworm-to-trixie) test_dist_upgrade ;;
	*) test_suite "$suite" ;;
	esac
done
say "done: $SUITES OK, $((SECONDS - T0))s"
