#!/bin/bash
# scripts/test-boot.sh [BOOT...] -- whole boots of Debian 13 (trixie) with Netplan, systemd as
# PID 1 in systemd-nspawn, upstream's systemd-networkd-wait-online against wait-online. Run as
# root; re-runnable; no BOOT: all of them, in this order:
#
#   upstream       Netplan YAML (renderer networkd, host0 dhcp4), upstream's binary
#   package        the same, with wait-online and wait-online-divert-upstream installed
#   hardened-ubuntu
#                  the same YAML (0600 root, as Netplan wants it), wait-online only: its hardened
#                  wait-online.service enabled with --online-definition=ubuntu, upstream's unit
#                  masked; a sandboxed ExecStartPre= probe shows what the unit's sandbox can
#                  read, and wo-pitfall.service (the unit's hardening, --json, after
#                  network-online.target) must find a strict-rp-filter pitfall in /proc/sys/net.
#                  With the units before CAP_DAC_READ_SEARCH this boot failed: "cannot read:
#                  Permission denied", the target reached 130 ms after the DHCPv4 address,
#                  before IPv6 link-local (a false online)
#   unplugged      package, plus a second NIC host1 in the YAML (not optional) without carrier:
#                  the unit waits its whole timeout (Netplan's lines: no --timeout, so 120 s)
#   unplugged-carrier-timeout
#                  the same with a drop-in Environment=WAIT_ONLINE_CARRIER_TIMEOUT=5s
#   no-dns         package, dnsmasq's lease without a DNS server (--dhcp-option=6 without a
#                  value: the option is not sent; check_boot reads what dnsmasq logged it sent,
#                  networkd's lease and resolvectl), and the override Netplan >= 1.2 writes,
#                  --any --dns -o routable -i host0 (the root's Netplan 1.1.2 writes none with
#                  --dns: the override is written as a drop-in of the same name in /etc,
#                  checked equal to 1.1.2's own but for After=systemd-resolved.service and
#                  --dns). The field failure: line 2 waits its whole timeout (120 s) and fails;
#                  the journal names the missing server, the lease and the fix. Debian 13's own
#                  systemd-networkd-wait-online (257) cannot run that line ("unrecognized option
#                  '--dns'", exit 1 at once): the package runs in its place, with upstream's
#                  (>= 258) semantics; tests/it/dns_grace.rs runs upstream 262 on the same line.
#                  Measured once (outside CI, load 5.9 on 2 cores): the unit failed 121.7 s
#                  after it started (line 2 timed out 121.7 s after host0's address),
#                  network-online.target 122.2 s after PID 1, 124 s for the container
#   no-dns-grace   the same with a drop-in Environment=WAIT_ONLINE_DNS_GRACE=3s: line 2 gives
#                  up 3 s after host0 is configured (exit 1, the unit fails; the journal's "Gave
#                  up waiting ...: no DNS server is configured on any link nor globally, and
#                  nothing else has been missing for 3.0s (--dns-grace).", --json's verdict
#                  no-dns-server), then the reason and the fix; measured (load 5.4): 4.5 s after
#                  host0's address,
#                  3.1 s after its IPv6 link-local address, network-online.target 5.3 s after
#                  PID 1 (116.9 s earlier), 6 s for the container
#   unplugged-credential
#                  unplugged, booted with systemd.set_credential=wait-online.timeout:5s on PID 1's
#                  command line (a container's kernel command line): systemd imports the
#                  credential, the hardening drop-in's LoadCredential=wait-online.timeout hands it to
#                  upstream's unit, and Netplan's line (no --timeout) gives up after 5 s, not 120 s;
#                  the journal names the credential as the timeout's origin
#   unplugged-credential-extend
#                  the same NICs, the package's hardened wait-online.service as shipped (upstream's
#                  unit masked) under a drop-in TimeoutStartSec=3s, booted with
#                  systemd.set_credential=wait-online.timeout:6s: the program's
#                  EXTEND_TIMEOUT_USEC= (NotifyAccess=main) keeps the unit from being killed at
#                  3 s, and it fails by itself after 6 s (Result=exit-code, not timeout)
#   networkmanager Netplan YAML with renderer NetworkManager, wait-online installed and its
#                  NetworkManager-wait-online drop-in copied to /etc/systemd/system/
#   lingering-user wait-online only, network-online.target masked (nothing starts it); a
#                  lingering user "wo" whose wo-user-job.service (enabled for every user,
#                  Wants=/After= the user manager's wait-online.service) records what it sees
#                  when it starts: it must start after host0's address and IPv6 link-local
#                  address, after the user unit exited 0, and the user unit's records must come
#                  from wait-online as the user's uid; a probe under its sandbox sees no new
#                  privileges, seccomp and no capability. 3 s with the .debs and root cached
#   ifupdown       no Netplan, no networkd nor NetworkManager: Debian's ifupdown brings host0 up
#                  (/etc/network/interfaces: auto host0, inet dhcp; networking.service runs ifup
#                  -a, ifup runs dhclient), its ifupdown-wait-online.service runs wait-online
#                  through the package's drop-in (copied to /etc/systemd/system/, as README says):
#                  network-online.target must come after host0's lease (dhclient's "bound to")
#                  and after ifup -a exited (networking.service's ExecMainExitTimestamp: a
#                  drop-in leaves it that one command line; its other acts only after an ifdown
#                  -a). Its own root,
#                  $WO_CACHE/bootifupdown-trixie-YYYYMMDD (systemd-sysv dbus iproute2 ifupdown
#                  isc-dhcp-client python3), made when missing. dnsmasq holds each offer 3 s
#                  (--dhcp-reply-delay=3), a slow DHCP server
#                  The unit itself must end after the lease (the target also waits for
#                  networking.service, ordered Before=network-online.target)
#   ifupdown-debian
#                  the same machine without wait-online: Debian's own /lib/ifupdown/wait-online.sh
#                  (its default method, ifup). Shown: the unit ends before host0's lease (ifup
#                  lists host0 when it starts); network-online.target still comes after it,
#                  held by networking.service's own ordering (where ifup runs outside
#                  networking.service, from udev's ifup@.service for allow-hotplug, nothing
#                  holds it)
#
# Each boot: an overlay of the cached root $WO_CACHE/boot-trixie-YYYYMMDD (the cached minimal
# trixie plus systemd-sysv, dbus, iproute2, netplan.io, systemd-resolved, network-manager; made
# when missing, see scripts/lib-deb.sh), its own network namespace with host0 on a veth to a
# peer namespace running dnsmasq (DHCPv4), a result unit ordered after network-online.target
# that writes what the checks need to a --bind directory and powers off, and a hard timeout.
# The unit that waits logs at debug level (a drop-in with SYSTEMD_LOG_LEVEL=debug, in every boot
# alike) so that its records carry INTERFACE= and show which binary ran (_EXE).
# Checks (per boot, see check_boot): network-online.target after host0's address and after the
# wait unit, and with networkd after host0's IPv6 link-local address (networkd's configured); the unit's command lines (Netplan's two) each exited 0; ExecMainStatus; which
# binary ran. Prints upstream's and the package's `systemd-analyze critical-chain
# network-online.target` side by side and a table. Everything is torn down on exit, also on
# failure or Ctrl-C, and the script checks that no namespace, mount or cgroup is left.
#
# Environment: WO_BOOT_DIR (/tmp/wo-boot: build, logs, overlays, results), WO_DEBS (a directory
# with the two .debs to use instead of building them), WO_SKIP_BUILD=1 (reuse the .debs of a
# previous run in WO_BOOT_DIR/build), and those of lib-deb.sh (WO_MIRROR, WO_CACHE,
# WO_BASE_MAX_AGE). Needs network access for the build and a missing root, dnsmasq (from
# tests/setup-deps.sh) and cargo (rustup). Measured on a 2-core VM: 138 s for the other five
# boots with the .debs and the root cached (unplugged alone waits 122 s), 3 s for
# hardened-ubuntu, 12 s each for unplugged-credential and unplugged-credential-extend (26 s for
# package, hardened-ubuntu and unplugged-credential on a loaded machine; no-dns and
# no-dns-grace: see above), 6 s each for ifupdown and ifupdown-debian (their root made once,
# with the cached debootstrap); `package` alone on a fresh
# machine 390 s (the release build 281 s, without its unit tests: DEB_BUILD_OPTIONS=nocheck
# unless set; the debootstraps and roots about 100 s).
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
WO_NAME=test-boot
T0=$SECONDS
# shellcheck source=scripts/lib-deb.sh
. "$SRC/scripts/lib-deb.sh"
WORK=${WO_BOOT_DIR:-/tmp/wo-boot}
ALL_BOOTS=(upstream package hardened-ubuntu unplugged unplugged-carrier-timeout no-dns no-dns-grace
	unplugged-credential unplugged-credential-extend networkmanager lingering-user ifupdown
	ifupdown-debian)

[ "$(id -u)" = 0 ] || fail "run as root (debootstrap, namespaces, systemd-nspawn)"
trap wo_cleanup EXIT
trap 'say "interrupted"; exit 130' INT TERM

BOOTS=("$@")
[ ${#BOOTS[@]} -gt 0 ] || BOOTS=("${ALL_BOOTS[@]}")
for b in "${BOOTS[@]}"; do
	case " ${ALL_BOOTS[*]} " in *" $b "*) ;; *) fail "unknown boot '$b' (known: ${ALL_BOOTS[*]})" ;; esac
done
mkdir -p "$WORK/logs"

# ---- the .debs: given, reused or built
VERSION=$(dpkg-parsechangelog -l "$SRC/debian/changelog" -S Version)
ARCH=$(dpkg --print-architecture)
needs_debs=no
for b in "${BOOTS[@]}"; do case $b in upstream | ifupdown-debian) ;; *) needs_debs=yes ;; esac; done
DEBS=${WO_DEBS:-$WORK/build}
DEB=$DEBS/wait-online_${VERSION}_${ARCH}.deb
DIVERT_DEB=$DEBS/wait-online-divert-upstream_${VERSION}_all.deb
if [ $needs_debs = yes ]; then
	if [ -n "${WO_DEBS:-}" ] || { [ "${WO_SKIP_BUILD:-}" = 1 ] && [ -s "$DEB" ] && [ -s "$DIVERT_DEB" ]; }; then
		say "using $DEB and $DIVERT_DEB"
	else
		# the unit tests that dpkg-buildpackage would run are tests/run.sh's: not run twice
		DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS-nocheck} wo_build "$SRC" "$DEBS"
	fi
	[ -s "$DEB" ] && [ -s "$DIVERT_DEB" ] || fail "missing $DEB or $DIVERT_DEB"
fi

ROOT=$(wo_derived_root boot trixie "$WORK/logs" /usr/sbin/NetworkManager \
	systemd-sysv dbus iproute2 netplan.io systemd-resolved network-manager)
say "boot root $ROOT"
IFUPDOWN_ROOT=
case " ${BOOTS[*]} " in *" ifupdown "* | *" ifupdown-debian "*)
	IFUPDOWN_ROOT=$(wo_derived_root bootifupdown trixie "$WORK/logs" /usr/sbin/ifup \
		systemd-sysv dbus iproute2 ifupdown isc-dhcp-client python3)
	say "ifupdown boot root $IFUPDOWN_ROOT"
	;;
esac
wo_nspawn >/dev/null

# ---- what runs in the guest: the result unit and its helper

# /usr/local/sbin/wo-result UNIT: once the boot finished, the facts the checks need, as KEY=VALUE lines in
# /wo-result/facts (timestamps: CLOCK_MONOTONIC in µs, the same clock for all of them), plus
# the raw material (systemctl show, the journal, critical-chain) next to it; then power off.
RESULT_SCRIPT='#!/bin/sh
out=/wo-result
unit=$1
# critical-chain needs the boot finished: this unit is Type=simple, so its start job is done
timeout 100 systemctl is-system-running --wait >$out/system-state
systemctl show "$unit" >$out/unit.show
systemctl show network-online.target >$out/target.show
systemctl show -p UserspaceTimestampMonotonic >$out/manager.show
systemd-analyze critical-chain --no-pager network-online.target >$out/critical-chain 2>&1
journalctl -b --no-pager -o json >$out/journal.json
journalctl -b --no-pager -o short-monotonic >$out/journal.txt
cat /run/systemd/generator.late/systemd-networkd-wait-online.service.d/*.conf \
	/run/systemd/system/systemd-networkd-wait-online.service.d/*.conf >$out/netplan-override 2>/dev/null
systemctl show networking.service >$out/networking.show
ip -o -4 addr show dev host0 >$out/host0-address
cat /run/systemd/netif/leases/* >$out/leases 2>/dev/null
resolvectl dns >$out/resolved-dns 2>&1
id -u wait-online >$out/wait-online-uid 2>/dev/null
python3 /usr/local/lib/wo-result.py "$unit" "$out" >$out/facts 2>$out/facts.err
systemctl --no-block poweroff
'
# Reads the dumps of wo-result and prints the facts (in the guest: it has python3 for Netplan).
RESULT_PY='import json, os, re, sys
unit, out = sys.argv[1], sys.argv[2]

def show(name):
    props = {}
    for line in open(f"{out}/{name}.show"):
        key, _, value = line.rstrip("\n").partition("=")
        props.setdefault(key, []).append(value)
    return props

def text(value):
    return value if isinstance(value, str) else json.dumps(value)

u, t, m, n = show("unit"), show("target"), show("manager"), show("networking")
print("target_active=" + t["ActiveEnterTimestampMonotonic"][0])
# ifupdown: when the ifup -a of networking.service exited (its one command line in that boot)
print("ifup_exit=" + n.get("ExecMainExitTimestampMonotonic", [""])[0])
print("userspace=" + m["UserspaceTimestampMonotonic"][0])
for key in ("ActiveState", "Result", "ExecMainStatus", "InactiveExitTimestampMonotonic",
            "ExecMainExitTimestampMonotonic", "User", "TimeoutStartUSec", "MemoryMax", "TasksMax"):
    print(f"unit_{key}=" + u.get(key, [""])[0])
try:
    print("wait_online_uid=" + open(f"{out}/wait-online-uid").read().strip())
except OSError:
    print("wait_online_uid=")
# one "{ path=... ; argv[]=... ; ... }" per command line (argv may hold braces: ${VAR})
lines = [x for l in u.get("ExecStart", []) for x in re.findall(r"\{ path=.*? \}(?= \{ path=|$)", l)]
print(f"exec_lines={len(lines)}")
for i, l in enumerate(lines, 1):
    argv = re.search(r"argv\[\]=([^;]*)", l)
    status = re.search(r"status=(\d+)", l)
    print(f"exec{i}_argv=" + (argv.group(1).strip() if argv else "?"))
    print(f"exec{i}_status=" + (status.group(1) if status else "not-run"))
addr, ll, activated, exes, ifaces, given_up, origin = "", "", "", set(), set(), [], []
uids, probe, pitfall = set(), [], []
dns_failure, dns_reason, dns_fix = [], [], []
user_exes, user_uids, unit_exes = set(), set(), set()
for raw in open(f"{out}/journal.json"):
    e = json.loads(raw)
    msg, ts = text(e.get("MESSAGE", "")), e.get("__MONOTONIC_TIMESTAMP", "")
    ident = e.get("SYSLOG_IDENTIFIER", "")
    if not addr and ident == "systemd-networkd" and re.match(r"host0: DHCPv4 address", msg):
        addr = ts
    if not ll and ident == "systemd-networkd" and msg == "host0: Gained IPv6LL":
        ll = ts
    if not addr and ident == "NetworkManager" and "dhcp4 (host0): state changed new lease" in msg:
        addr = ts
    if not addr and ident == "dhclient" and msg.startswith("bound to 10.78.0."):
        addr = ts
    if not activated and ident == "NetworkManager" and "device (host0): Activation: successful" in msg:
        activated = ts
    # the line that names where the timeout came from (boot parameters), once per command line
    if e.get("_SYSTEMD_UNIT") == unit and msg.startswith("timeout ") and " from the " in msg and not origin:
        origin.append(msg.replace("\n", " "))
    if e.get("_SYSTEMD_UNIT") == unit and msg.startswith("wo-probe "):
        probe.append(msg[len("wo-probe "):])
    if e.get("_SYSTEMD_UNIT") == "wo-pitfall.service" and "strict-rp-filter" in msg:
        pitfall.append("strict-rp-filter")
    if e.get("_SYSTEMD_USER_UNIT") == "wait-online.service" and msg.startswith("wo-probe "):
        probe.append("user_" + msg[len("wo-probe "):])
    if e.get("_SYSTEMD_USER_UNIT") == "wait-online.service" and "INTERFACE" in e:
        user_exes.add(text(e.get("_EXE", "?")) + "(" + text(e.get("_COMM", "?")) + ")")
        user_uids.add(text(e.get("_UID", "?")))
    # a wait for DNS that failed (no-dns*): its error line, the reason for host0 and the fix
    if e.get("_SYSTEMD_UNIT") == unit and not dns_failure and (msg.startswith("Gave up waiting")
            or msg.startswith("Timeout occurred")):
        dns_failure.append(ts + " " + msg.replace("\n", " "))
    if e.get("_SYSTEMD_UNIT") == unit and e.get("INTERFACE") == "host0" and not dns_reason and \
            msg.startswith("host0: no DNS server is configured"):
        dns_reason.append(msg.replace("\n", " "))
    if e.get("_SYSTEMD_UNIT") == unit and not dns_fix and "waiting will not configure one" in msg:
        dns_fix.append(msg.replace("\n", " "))
    # not the records of the service manager setting the unit up: systemd-executor, before it
    # execs the binary of the unit, logs e.g. each LoadCredential= credential not given (info,
    # 257); journald names its _EXE only when it reads it before that helper is gone
    if e.get("_SYSTEMD_UNIT") == unit and "_EXE" in e and \
            not text(e["_EXE"]).endswith("/systemd-executor"):
        unit_exes.add(text(e["_EXE"]) + "(" + text(e.get("_COMM", "?")) + ")")
    if e.get("_SYSTEMD_UNIT") == unit and "INTERFACE" in e:
        exes.add(text(e.get("_EXE", "?")) + "(" + text(e.get("_COMM", "?")) + ")")
        uids.add(text(e.get("_UID", "?")))
        ifaces.add(text(e["INTERFACE"]))
        # the record that names a link given up (--carrier-timeout), not the debug ones
        if e["INTERFACE"] == "host1" and "not waited for" in msg and not given_up:
            given_up.append(msg.replace("\n", " "))
print("address=" + addr)
print("ipv6ll=" + ll)
print("nm_activated=" + activated)
print("exes=" + " ".join(sorted(exes)))
print("unit_exes=" + " ".join(sorted(unit_exes)))
print("interfaces=" + " ".join(sorted(ifaces)))
print("host1_info=" + (given_up[0] if given_up else ""))
print("timeout_origin=" + (origin[0] if origin else ""))
print("uids=" + " ".join(sorted(uids)))
for line in probe:
    print("probe_" + line)
print("pitfall=" + " ".join(pitfall[:1]))
print("dns_failure_at=" + (dns_failure[0].split(" ", 1)[0] if dns_failure else ""))
print("dns_failure=" + (dns_failure[0].split(" ", 1)[1] if dns_failure else ""))
print("dns_reason=" + (dns_reason[0] if dns_reason else ""))
print("dns_fix=" + (dns_fix[0] if dns_fix else ""))
# what networkd kept of the DHCPv4 lease of host0, and the servers systemd-resolved knows
lease = open(f"{out}/leases").read().splitlines() if os.path.exists(f"{out}/leases") else []
print("lease_address=" + next((l[8:] for l in lease if l.startswith("ADDRESS=")), ""))
print("lease_dns=" + next((l[4:] for l in lease if l.startswith("DNS=")), ""))
print("resolved_dns=" + " | ".join(l.strip() for l in open(f"{out}/resolved-dns")))
print("user_exes=" + " ".join(sorted(user_exes)))
print("user_uids=" + " ".join(sorted(user_uids)))
# what the job of the lingering user recorded when it started (lingering-user)
try:
    for line in open(f"{out}/user-job"):
        print("user_" + line.rstrip("\n"))
except OSError:
    pass
'
# /usr/local/sbin/wo-probe: run as a sandboxed ExecStartPre= of the unit under test
# (hardened-ubuntu), it prints what the unit's sandbox grants, one "wo-probe KEY=VALUE" line
# each: the uid, the effective capabilities, whether Netplan's 0600 root:root file and the
# root:shadow /etc/shadow can be read, a sysctl under /proc/sys/net, and whether it is writable.
PROBE_SCRIPT='#!/bin/sh
can_read() { if head -c1 "$1" >/dev/null 2>&1; then echo readable; else echo unreadable; fi; }
echo "wo-probe uid=$(id -u)"
echo "wo-probe capeff=$(sed -n "s/^CapEff:[[:space:]]*//p" /proc/self/status)"
echo "wo-probe netplan=$(can_read /etc/netplan/10-wo-test.yaml)"
echo "wo-probe shadow=$(can_read /etc/shadow)"
echo "wo-probe rp_filter=$(cat /proc/sys/net/ipv4/conf/all/rp_filter 2>&1 | tr -d "\n")"
if (echo 0 >/proc/sys/net/ipv4/conf/all/rp_filter) 2>/dev/null; then
	echo "wo-probe sysctl=writable"
else
	echo "wo-probe sysctl=read-only"
fi
'

# The override Netplan >= 1.2 writes for the YAML of the boots (host0, dhcp4): as Netplan 1.2.2's
# generator (src/gen-networkd.c) writes it to /run/systemd/generator.late/, with After= for --dns
# (the form its tests/generator/test_args.py expects)
NETPLAN_12_OVERRIDE='[Unit]
ConditionPathIsSymbolicLink=/run/systemd/generator/network-online.target.wants/systemd-networkd-wait-online.service
After=systemd-resolved.service

[Service]
ExecStart=
ExecStart=/lib/systemd/systemd-networkd-wait-online -i host0:degraded
ExecStart=/lib/systemd/systemd-networkd-wait-online --any --dns -o routable -i host0'

# ---- one boot

# prepare_lingering_user ROOT: nothing starts network-online.target (masked, and with it
# upstream's wait unit); a user "wo" with lingering on (its user manager starts at boot, no
# login), whose wo-user-job.service orders after the user manager's wait-online.service and
# writes to /var/tmp/wo-user-job, when it starts: its uid, host0's IPv4 address then, and
# `systemctl --user show` of both units (CLOCK_MONOTONIC timestamps, the journal's clock).
# The user unit logs at debug level (its records carry INTERFACE=, _UID and _EXE).
prepare_lingering_user() {
	local r=$1
	wo_in "$r" systemctl mask network-online.target systemd-networkd-wait-online.service >/dev/null 2>&1 ||
		fail "lingering-user: systemctl mask"
	wo_in "$r" useradd --create-home --shell /bin/sh wo || fail "lingering-user: useradd wo"
	mkdir -p "$r/var/lib/systemd/linger"
	touch "$r/var/lib/systemd/linger/wo"
	# the boot root has no libpam-systemd (Debian's systemd only recommends it), whose
	# pam_systemd sets $XDG_RUNTIME_DIR for the user manager; without it "systemd --user" exits
	# at once ("$XDG_RUNTIME_DIR is not set"). user-runtime-dir@.service has made the directory.
	mkdir -p "$r/etc/systemd/system/user@.service.d"
	printf '[Service]\nEnvironment=XDG_RUNTIME_DIR=/run/user/%%i\n' \
		>"$r/etc/systemd/system/user@.service.d/50-wo-test-runtime-dir.conf"
	mkdir -p "$r/etc/systemd/user/wait-online.service.d"
	printf '[Service]\nEnvironment=SYSTEMD_LOG_LEVEL=debug\n' \
		>"$r/etc/systemd/user/wait-online.service.d/50-wo-test-debug.conf"
	# what the user unit's sandbox is, seen from inside (an ExecStartPre= runs under it): no
	# new privileges, a seccomp filter, and the cgroup limits where the controllers reach it
	printf '[Service]\nExecStartPre=/usr/local/sbin/wo-user-probe\n' \
		>"$r/etc/systemd/user/wait-online.service.d/40-wo-test-probe.conf"
	mkdir -p "$r/usr/local/sbin"
	cat >"$r/usr/local/sbin/wo-user-probe" <<-'SCRIPT'
		#!/bin/sh
		cg=/sys/fs/cgroup$(sed -n 's/^0:://p' /proc/self/cgroup)
		echo "wo-probe uid=$(id -u)"
		echo "wo-probe nnp=$(sed -n 's/^NoNewPrivs:[[:space:]]*//p' /proc/self/status)"
		echo "wo-probe seccomp=$(sed -n 's/^Seccomp:[[:space:]]*//p' /proc/self/status)"
		echo "wo-probe capeff=$(sed -n 's/^CapEff:[[:space:]]*//p' /proc/self/status)"
		echo "wo-probe memory_max=$(cat "$cg/memory.max" 2>/dev/null || echo none)"
		echo "wo-probe pids_max=$(cat "$cg/pids.max" 2>/dev/null || echo none)"
	SCRIPT
	chmod 0755 "$r/usr/local/sbin/wo-user-probe"
	cat >"$r/etc/systemd/user/wo-user-job.service" <<-'UNIT'
		[Unit]
		Description=wait-online boot test: a lingering user's service that needs the network
		Wants=wait-online.service
		After=wait-online.service
		[Service]
		Type=oneshot
		RemainAfterExit=yes
		ExecStart=/usr/local/bin/wo-user-job
		[Install]
		WantedBy=default.target
	UNIT
	mkdir -p "$r/usr/local/bin"
	cat >"$r/usr/local/bin/wo-user-job" <<-'SCRIPT'
		#!/bin/sh
		{
			echo "uid=$(id -u)"
			echo "host0_ipv4=$(ip -o -4 addr show dev host0 | wc -l)"
			systemctl --user show -p ActiveState,Result,ExecMainStatus,InactiveExitTimestampMonotonic,ExecMainExitTimestampMonotonic wait-online.service | sed 's/^/wait_/'
			systemctl --user show -p ExecMainStartTimestampMonotonic wo-user-job.service | sed 's/^/job_/'
		} >/var/tmp/wo-user-job.tmp
		mv /var/tmp/wo-user-job.tmp /var/tmp/wo-user-job
	SCRIPT
	chmod 0755 "$r/usr/local/bin/wo-user-job"
	# wo-result.service's ExecStartPre=: up to 60 s for the record of the job, copied to the results
	mkdir -p "$r/usr/local/sbin"
	cat >"$r/usr/local/sbin/wo-wait-user-job" <<-'SCRIPT'
		#!/bin/sh
		for _ in $(seq 600); do
			if [ -s /var/tmp/wo-user-job ]; then
				exec cp /var/tmp/wo-user-job /wo-result/user-job
			fi
			sleep 0.1
		done
		echo "no /var/tmp/wo-user-job after 60 s" >&2
		exit 1
	SCRIPT
	chmod 0755 "$r/usr/local/sbin/wo-wait-user-job"
	wo_in "$r" systemctl --global enable wo-user-job.service >/dev/null 2>&1 ||
		fail "lingering-user: systemctl --global enable wo-user-job.service"
	[ -s "$r/usr/lib/systemd/user/wait-online.service" ] || fail "lingering-user: the package has no user unit"
}

# prepare_boot NAME: the overlay $WORK/NAME/root of the cached root, configured for NAME
prepare_boot() {
	local name=$1 dir=$WORK/$1 r=$WORK/$1/root unit=systemd-networkd-wait-online.service renderer=networkd
	local lower=$ROOT
	case $name in ifupdown*) lower=$IFUPDOWN_ROOT ;; esac
	wo_rm_root "$dir"
	mkdir -p "$dir/upper" "$dir/work" "$r" "$dir/result"
	wo_mount -t overlay overlay -o "lowerdir=$lower,upperdir=$dir/upper,workdir=$dir/work" "$r"
	if [ "$name" != upstream ] && [ "$name" != ifupdown-debian ]; then
		cp "$DEB" "$DIVERT_DEB" "$r/tmp/"
		wo_mount -t proc proc "$r/proc"
		local pkgs=("/tmp/${DEB##*/}")
		case $name in networkmanager | hardened-ubuntu | lingering-user | ifupdown) ;; *) pkgs+=("/tmp/${DIVERT_DEB##*/}") ;; esac
		wo_in "$r" dpkg -i "${pkgs[@]}" >"$dir/dpkg.log" 2>&1 || fail "$name: dpkg -i failed (see $dir/dpkg.log)"
		umount "$r/proc"
		rm -f "$r/tmp/"*.deb
	fi
	if [[ $name == ifupdown* ]]; then
		# no Netplan: ifupdown's own configuration, networkd and NetworkManager not running
		unit=ifupdown-wait-online.service
		printf 'auto lo\niface lo inet loopback\n\nauto host0\niface host0 inet dhcp\n' \
			>"$r/etc/network/interfaces"
		wo_in "$r" systemctl mask systemd-networkd.service systemd-networkd-wait-online.service \
			NetworkManager.service NetworkManager-wait-online.service >/dev/null 2>&1
		wo_in "$r" systemctl enable networking.service ifupdown-wait-online.service >/dev/null 2>&1 ||
			fail "$name: systemctl enable networking.service ifupdown-wait-online.service"
		# ifup -a as networking.service's one command line (its second only acts after an
		# ifdown -a, never at boot), so that its ExecMainExitTimestamp is ifup's exit
		mkdir -p "$r/etc/systemd/system/networking.service.d"
		printf '[Service]\nExecStart=\nExecStart=/sbin/ifup -a --read-environment\n' \
			>"$r/etc/systemd/system/networking.service.d/50-wo-test-ifup-only.conf"
		if [ "$name" = ifupdown ]; then
			mkdir -p "$r/etc/systemd/system/$unit.d"
			cp "$r/usr/share/wait-online/$unit.d/wait-online.conf" "$r/etc/systemd/system/$unit.d/" ||
				fail "$name: the package has no drop-in for $unit"
		fi
	fi
	mkdir -p "$r/etc/netplan"
	if [[ $name == ifupdown* ]]; then
		:
	elif [ "$name" = networkmanager ]; then
		renderer=NetworkManager
		unit=NetworkManager-wait-online.service
		mkdir -p "$r/etc/systemd/system/$unit.d"
		cp "$r/usr/share/wait-online/$unit.d/wait-online.conf" "$r/etc/systemd/system/$unit.d/"
	else
		# NetworkManager is installed in the root: on a networkd machine it is not running
		wo_in "$r" systemctl mask NetworkManager.service NetworkManager-wait-online.service >/dev/null 2>&1
	fi
	if [[ $name != ifupdown* ]]; then
		{
			printf 'network:\n  version: 2\n  renderer: %s\n  ethernets:\n    host0:\n      dhcp4: true\n' "$renderer"
			case $name in unplugged*) printf '    host1:\n      dhcp4: true\n' ;; esac
		} >"$r/etc/netplan/10-wo-test.yaml"
		chmod 0600 "$r/etc/netplan/10-wo-test.yaml"
	fi
	local after_too=
	if [ "$name" = hardened-ubuntu ]; then
		# the package's unit as shipped, the Ubuntu definition on the command line; upstream's
		# unit (which Netplan's generator would pull in) masked, so only this one gates the target
		unit=wait-online.service
		wo_in "$r" systemctl mask systemd-networkd-wait-online.service >/dev/null 2>&1
		wo_in "$r" systemctl enable wait-online.service >/dev/null 2>&1 || fail "$name: systemctl enable $unit"
		mkdir -p "$r/etc/systemd/system/$unit.d" "$r/usr/local/sbin"
		printf '%s' "$PROBE_SCRIPT" >"$r/usr/local/sbin/wo-probe"
		chmod 0755 "$r/usr/local/sbin/wo-probe"
		printf '[Service]\nExecStartPre=/usr/local/sbin/wo-probe\nExecStart=\nExecStart=/usr/libexec/wait-online/wait-online --online-definition=ubuntu\n' \
			>"$r/etc/systemd/system/$unit.d/40-ubuntu.conf"
		# the pitfalls read /proc/sys/net under the unit's sandbox: the hardening of the shipped
		# unit, --json after the boot, a link with a global address and strict rp_filter (a veth
		# pair: no dummy driver needed; its rp_filter=1 from the namespace's default, set by
		# run_boot: /proc/sys is read-only in the guest) that does not carry the default route
		# (host0 does)
		sed -e '/^\[Install\]/,$d' -e 's/^Description=.*/Description=wait-online test: pitfalls under the sandbox/' \
			-e 's/^Before=network-online.target shutdown.target$/Before=shutdown.target/' \
			-e 's#^ExecStart=/usr/libexec/wait-online/wait-online$#ExecStart=/usr/libexec/wait-online/wait-online --manager=none -i host0 --json --timeout=20#' \
			"$r/lib/systemd/system/wait-online.service" >"$r/etc/systemd/system/wo-pitfall.service"
		grep -q -- '--json' "$r/etc/systemd/system/wo-pitfall.service" || fail "$name: cannot derive wo-pitfall.service"
		cat >>"$r/etc/systemd/system/wo-pitfall.service" <<-'UNIT'

			[Unit]
			Wants=network-online.target
			After=network-online.target

			[Service]
			ExecStartPre=+/bin/sh -ec 'ip link add wodummy type veth peer name wodummyp; ip link set wodummyp up; ip addr add 10.99.0.1/24 dev wodummy; ip link set wodummy up'

			[Install]
			WantedBy=multi-user.target
		UNIT
		wo_in "$r" systemctl enable wo-pitfall.service >/dev/null 2>&1 || fail "$name: systemctl enable wo-pitfall"
		after_too=wo-pitfall.service
	fi
	local pre=
	if [ "$name" = lingering-user ]; then
		prepare_lingering_user "$r"
		unit=wait-online.service
		pre=ExecStartPre=-/usr/local/sbin/wo-wait-user-job
	fi
	mkdir -p "$r/etc/systemd/system/$unit.d"
	printf '[Service]\nEnvironment=SYSTEMD_LOG_LEVEL=debug\n' >"$r/etc/systemd/system/$unit.d/50-wo-test-debug.conf"
	if [ "$name" = unplugged-carrier-timeout ]; then
		printf '[Service]\nEnvironment=WAIT_ONLINE_CARRIER_TIMEOUT=5s\n' \
			>"$r/etc/systemd/system/$unit.d/60-carrier-timeout.conf"
	fi
	case $name in no-dns*)
		# Netplan >= 1.2's override for this YAML, under the name of the one Netplan 1.1.2 (this
		# root's) generates in /run/systemd/system/, which a drop-in of the same name in /etc
		# masks; check_boot compares the two: only After= and --dns differ
		printf '%s\n' "$NETPLAN_12_OVERRIDE" >"$r/etc/systemd/system/$unit.d/10-netplan.conf"
		;;
	esac
	if [ "$name" = no-dns-grace ]; then
		printf '[Service]\nEnvironment=WAIT_ONLINE_DNS_GRACE=3s\n' >"$r/etc/systemd/system/$unit.d/60-dns-grace.conf"
	fi
	if [ "$name" = unplugged-credential-extend ]; then
		unit=wait-online.service
		wo_in "$r" systemctl mask systemd-networkd-wait-online.service >/dev/null 2>&1
		wo_in "$r" systemctl enable wait-online.service >/dev/null 2>&1 || fail "$name: systemctl enable $unit"
		mkdir -p "$r/etc/systemd/system/$unit.d"
		printf '[Service]\nEnvironment=SYSTEMD_LOG_LEVEL=debug\n' >"$r/etc/systemd/system/$unit.d/50-wo-test-debug.conf"
		# shorter than the credential's timeout: only EXTEND_TIMEOUT_USEC= lets the wait end by itself
		printf '[Service]\nTimeoutStartSec=3s\n' >"$r/etc/systemd/system/$unit.d/60-short-start-timeout.conf"
	fi
	mkdir -p "$r/usr/local/sbin" "$r/usr/local/lib"
	printf '%s' "$RESULT_SCRIPT" >"$r/usr/local/sbin/wo-result"
	chmod 0755 "$r/usr/local/sbin/wo-result"
	printf '%s' "$RESULT_PY" >"$r/usr/local/lib/wo-result.py"
	cat >"$r/etc/systemd/system/wo-result.service" <<-UNIT
		[Unit]
		Description=wait-online boot test: facts to /wo-result, then power off
		Wants=network-online.target
		After=network-online.target $unit $after_too
		[Service]
		Type=simple
		$pre
		ExecStart=/usr/local/sbin/wo-result $unit
		[Install]
		WantedBy=multi-user.target
	UNIT
	wo_in "$r" systemctl enable wo-result.service >/dev/null 2>&1 || fail "$name: systemctl enable wo-result"
}

# fact NAME KEY: a fact of the boot NAME (empty when missing)
fact() { sed -n "s/^$2=//p" "$WORK/$1/result/facts" 2>/dev/null | head -n1; }
# ms FROM TO: (TO - FROM) in ms with one decimal, from µs timestamps ("?" when one is missing)
ms() {
	if [ -n "$1" ] && [ -n "$2" ] && [ "$1" != 0 ] && [ "$2" != 0 ]; then
		awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1000 }'
	else
		echo "?"
	fi
}

declare -A WALL=() VERDICT=() ADDR_TO_ONLINE=() LL_TO_ONLINE=() WAIT=() TO_ONLINE=() NOTES=()
BOOT_N=0
# run_boot NAME: prepares, boots and checks NAME; records its row of the table
run_boot() {
	local name=$1 dir=$WORK/$1 ns limit=90 t rc=0 net_args=() init_args=()
	prepare_boot "$name"
	BOOT_N=$((BOOT_N + 1))
	ns=wo-boot-$$-$BOOT_N
	case $name in unplugged*) net_args=(--unplugged=host1) ;; ifupdown*) net_args=(--dhcp-reply-delay=3) ;; esac
	# a lease without a DNS server: option 6 given without a value is not sent (dnsmasq(8);
	# check_boot reads what dnsmasq logged it sent)
	case $name in no-dns*) net_args=(--dhcp-option=6) ;; esac
	case $name in unplugged | no-dns) limit=240 ;; esac
	# after nspawn's options: PID 1's arguments, its kernel command line in a container
	[ "$name" = unplugged-credential ] && init_args=(systemd.set_credential=wait-online.timeout:5s)
	[ "$name" = unplugged-credential-extend ] && init_args=(systemd.set_credential=wait-online.timeout:6s)
	wo_boot_net_up "$ns" "$dir/dnsmasq.log" "${net_args[@]}"
	if [ "$name" = hardened-ubuntu ]; then
		# strict reverse-path filtering for links made later (wo-pitfall.service's), not host0
		ip netns exec "$ns" sh -c 'echo 1 >/proc/sys/net/ipv4/conf/default/rp_filter' ||
			fail "$name: cannot set rp_filter in $ns"
	fi
	say "$name: booting (console: $dir/console.log, limit ${limit}s)"
	t=$SECONDS
	wo_boot "$dir/root" "$ns" "$limit" "$dir/console.log" --bind="$dir/result:/wo-result" \
		"${init_args[@]}" || rc=$?
	WALL[$name]=$((SECONDS - t))
	wo_boot_teardown
	umount "$dir/root"
	say "$name: the container ran ${WALL[$name]}s, systemd-nspawn exit status $rc"
	if [ ! -s "$dir/result/facts" ]; then
		VERDICT[$name]="FAIL: no result (see $dir/console.log)"
		return
	fi
	check_boot "$name"
}

# check_hardened NAME: the shipped hardening as it ran (adds to check_boot's bad): the unit's user,
# that of its records, what the sandbox probe saw (0600 root:root Netplan file readable through
# CAP_DAC_READ_SEARCH alone, root:shadow /etc/shadow not: the capability ends at the owners
# PrivateUsers= maps; /proc/sys/net readable, read-only), the pitfall read from /proc/sys/net
check_hardened() {
	local name=$1 uid want
	uid=$(fact "$name" wait_online_uid)
	[ "$(fact "$name" unit_User)" = wait-online ] || bad+=("the unit's User= is '$(fact "$name" unit_User)'")
	[ -n "$uid" ] && [ "$(fact "$name" uids)" = "$uid" ] ||
		bad+=("the unit's records come from uid '$(fact "$name" uids)', not wait-online's ($uid)")
	for want in "uid=$uid" capeff=0000000000000004 netplan=readable shadow=unreadable sysctl=read-only; do
		[ "$(fact "$name" "probe_${want%%=*}")" = "${want#*=}" ] ||
			bad+=("sandbox probe: ${want%%=*}=$(fact "$name" "probe_${want%%=*}"), expected ${want#*=}")
	done
	[[ $(fact "$name" probe_rp_filter) =~ ^[0-2]$ ]] ||
		bad+=("sandbox probe: /proc/sys/net/ipv4/conf/all/rp_filter: $(fact "$name" probe_rp_filter)")
	[ "$(fact "$name" pitfall)" = strict-rp-filter ] ||
		bad+=("wo-pitfall.service (--json under the same hardening) did not report strict-rp-filter")
	[ "$(fact "$name" unit_TimeoutStartUSec)" = "2min 30s" ] ||
		bad+=("TimeoutStartUSec=$(fact "$name" unit_TimeoutStartUSec), expected 2min 30s")
}

# check_lingering_user NAME: the user job of the lingering user started after host0's address and
# IPv6 link-local address (networkd's configured) and after the user manager's wait-online.service
# exited 0, whose records are wait-online's, as the user's uid; network-online.target never
# started. The table's columns count to the job's start.
check_lingering_user() {
	local name=$1 bad=() addr ll job wait_start wait_end uid
	addr=$(fact "$name" address)
	ll=$(fact "$name" ipv6ll)
	job=$(fact "$name" user_job_ExecMainStartTimestampMonotonic)
	wait_start=$(fact "$name" user_wait_InactiveExitTimestampMonotonic)
	wait_end=$(fact "$name" user_wait_ExecMainExitTimestampMonotonic)
	uid=$(fact "$name" user_uid)
	say "$name: facts:"
	sed 's/^/    /' "$WORK/$name/result/facts"
	[ -n "$job" ] && [ "$job" != 0 ] || bad+=("the user job did not run (no /var/tmp/wo-user-job)")
	[ "$(fact "$name" target_active)" = 0 ] || bad+=("network-online.target was started (masked?)")
	[ -n "$addr" ] && [ -n "$job" ] && [ "$job" -gt "$addr" ] || bad+=("the user job did not start after host0's address")
	[ -n "$ll" ] && [ -n "$job" ] && [ "$job" -gt "$ll" ] ||
		bad+=("the user job did not start after host0's IPv6 link-local address (networkd's configured)")
	[ "$(fact "$name" user_host0_ipv4)" -ge 1 ] 2>/dev/null || bad+=("host0 had no IPv4 address when the user job started")
	[ "$(fact "$name" user_wait_Result)" = success ] && [ "$(fact "$name" user_wait_ExecMainStatus)" = 0 ] ||
		bad+=("the user wait-online.service: Result=$(fact "$name" user_wait_Result), status $(fact "$name" user_wait_ExecMainStatus)")
	[ -n "$wait_end" ] && [ "$wait_end" != 0 ] && [ -n "$job" ] && [ "$job" -ge "$wait_end" ] ||
		bad+=("the user job did not start after the user wait-online.service exited")
	[ -n "$uid" ] && [ "$uid" != 0 ] && [ "$(fact "$name" user_uids)" = "$uid" ] ||
		bad+=("the user unit's records come from uid '$(fact "$name" user_uids)', not the user's ($uid)")
	for want in "uid=$uid" nnp=1 seccomp=2 capeff=0000000000000000; do
		[ "$(fact "$name" "probe_user_${want%%=*}")" = "${want#*=}" ] ||
			bad+=("user sandbox probe: ${want%%=*}=$(fact "$name" "probe_user_${want%%=*}"), expected ${want#*=}")
	done
	[[ $(fact "$name" user_exes) == "/usr/libexec/wait-online/wait-online("* ]] && [[ $(fact "$name" user_exes) != *" "* ]] ||
		bad+=("the user unit's records are not all wait-online's (_EXE: $(fact "$name" user_exes))")
	ADDR_TO_ONLINE[$name]=$(ms "$addr" "$job")
	LL_TO_ONLINE[$name]=$(ms "$ll" "$job")
	WAIT[$name]=$(ms "$wait_start" "$wait_end")
	TO_ONLINE[$name]=$(ms "$(fact "$name" userspace)" "$job")
	NOTES[$name]="user unit _EXE: $(fact "$name" user_exes), uid $uid, memory.max $(fact "$name" probe_user_memory_max), pids.max $(fact "$name" probe_user_pids_max); columns count to the user job's start"
	if [ ${#bad[@]} -eq 0 ]; then
		VERDICT[$name]=PASS
	else
		VERDICT[$name]="FAIL: $(printf '%s; ' "${bad[@]}")"
	fi
	say "$name: ${VERDICT[$name]}"
}

# check_no_dns NAME (adds to check_boot's bad): dnsmasq sent no option 6, networkd's lease has no
# DNS=, systemd-resolved knows no server; the override is Netplan 1.1.2's own plus After= and
# --dns; line 1 (-i host0:degraded) succeeded, Netplan's --dns line failed: after the whole 120 s
# (no-dns) or 3 s after everything else held (no-dns-grace, WAIT_ONLINE_DNS_GRACE=3s), and the
# journal names the missing server, where it would come from and the fix
check_no_dns() {
	local name=$1 wait addr_to_end
	grep -q 'DHCPACK(peer0)' "$WORK/$name/dnsmasq.log" || bad+=("dnsmasq sent no DHCPACK")
	! grep -q 'option:  6 ' "$WORK/$name/dnsmasq.log" || bad+=("dnsmasq sent option 6 (dns-server)")
	[ -n "$(fact "$name" lease_address)" ] && [ -z "$(fact "$name" lease_dns)" ] ||
		bad+=("networkd's lease: address '$(fact "$name" lease_address)', DNS '$(fact "$name" lease_dns)'")
	! [[ $(fact "$name" resolved_dns) =~ [0-9]\.[0-9]|:[0-9a-f]*: ]] ||
		bad+=("systemd-resolved knows a server: $(fact "$name" resolved_dns)")
	diff <(sed -e '/^After=systemd-resolved.service$/d' -e 's/ --dns / /' \
		"$WORK/$name/upper/etc/systemd/system/systemd-networkd-wait-online.service.d/10-netplan.conf") \
		"$WORK/$name/result/netplan-override" >/dev/null ||
		bad+=("the override is not Netplan 1.1.2's (result/netplan-override) with After= and --dns")
	[ "$(fact "$name" exec2_argv)" = "/lib/systemd/systemd-networkd-wait-online --any --dns -o routable -i host0" ] ||
		bad+=("line 2 is not Netplan >= 1.2's: $(fact "$name" exec2_argv)")
	[ "$(fact "$name" exec1_status)" = 0 ] || bad+=("line 1 failed (status $(fact "$name" exec1_status))")
	[ "$(fact "$name" exec2_status)" = 1 ] || bad+=("line 2 did not fail (status $(fact "$name" exec2_status))")
	[ "$status" = 1 ] && [ "$(fact "$name" unit_Result)" = exit-code ] ||
		bad+=("ExecMainStatus=$status Result=$(fact "$name" unit_Result), expected 1 and exit-code")
	[[ $(fact "$name" dns_reason) == "host0: no DNS server is configured on any link nor globally ("* ]] ||
		bad+=("no journal record for host0 names the missing DNS server")
	[[ $(fact "$name" dns_fix) == *"(option 6)"*"(Netplan: nameservers: addresses: [...])"*"--dns-grace=SPAN"* ]] ||
		bad+=("no journal record names the fix")
	wait=$(ms "$unit_start" "$unit_end")
	addr_to_end=$(ms "$(fact "$name" address)" "$(fact "$name" dns_failure_at)")
	if [ "$name" = no-dns ]; then
		[ "$(fact "$name" dns_failure)" = "Timeout occurred while waiting for network connectivity." ] ||
			bad+=("the unit did not time out: $(fact "$name" dns_failure)")
		[ "${wait%.*}" -ge 119000 ] 2>/dev/null || bad+=("the wait ($wait ms) was shorter than the 120 s timeout")
	else
		[[ $(fact "$name" dns_failure) == "Gave up waiting for network connectivity: no DNS server is configured on any link nor globally, and nothing else has been missing for 3.0s (--dns-grace)." ]] ||
			bad+=("the unit did not give up after the grace: $(fact "$name" dns_failure)")
		# the grace runs from when host0 is configured (after its address): never sooner than 3 s
		# after the address, and well before Netplan's timeout
		awk -v w="$addr_to_end" 'BEGIN { exit !(w >= 3000 && w < 15000) }' ||
			bad+=("the wait did not end 3 s to 15 s after host0's address ($addr_to_end ms)")
	fi
}

# check_boot NAME: the checks of NAME against its facts; VERDICT is PASS or the failed checks
check_boot() {
	local name=$1 bad=() target addr unit_end unit_start status lines i exes
	if [ "$name" = lingering-user ]; then
		check_lingering_user "$name"
		return
	fi
	target=$(fact "$name" target_active)
	addr=$(fact "$name" address)
	unit_start=$(fact "$name" unit_InactiveExitTimestampMonotonic)
	unit_end=$(fact "$name" unit_ExecMainExitTimestampMonotonic)
	status=$(fact "$name" unit_ExecMainStatus)
	lines=$(fact "$name" exec_lines)
	exes=$(fact "$name" exes)
	say "$name: facts:"
	sed 's/^/    /' "$WORK/$name/result/facts"
	[ -n "$addr" ] || bad+=("host0 got no DHCPv4 address")
	[ -n "$target" ] && [ "$target" != 0 ] || bad+=("network-online.target was not reached")
	[ -n "$addr" ] && [ -n "$target" ] && [ "$target" -gt "$addr" ] ||
		bad+=("network-online.target not after host0's address")
	case $name in
	ifupdown)
		# the wait itself ended after the lease (the target also waits for networking.service,
		# which is Before=network-online.target: this is what the unit alone guarantees)
		[ -n "$unit_end" ] && [ "$unit_end" -gt "$addr" ] ||
			bad+=("ifupdown-wait-online.service ended before host0's lease")
		;;
	ifupdown-debian)
		# shown, not ours: Debian's waiter takes "listed" for "up" and ends before the lease
		[ -n "$unit_end" ] && [ "$unit_end" -lt "$addr" ] ||
			bad+=("Debian's wait-online.sh did not end before host0's lease (shown: its ifup method stops at listed)")
		;;
	esac
	[ -n "$unit_end" ] && [ "$unit_end" != 0 ] && [ "$target" -ge "$unit_end" ] ||
		bad+=("network-online.target not after the wait unit finished")
	if [ "$name" = ifupdown ]; then
		local ifup
		ifup=$(fact "$name" ifup_exit)
		[ -n "$ifup" ] && [ "$ifup" != 0 ] && [ -n "$target" ] && [ "$target" -ge "$ifup" ] ||
			bad+=("network-online.target not after networking.service's ifup -a exited")
		[ "$lines" = 1 ] && [ "$(fact "$name" exec1_argv)" = "/usr/libexec/wait-online/wait-online --ifupdown-defaults=/etc/default/networking" ] ||
			bad+=("ifupdown-wait-online.service did not run wait-online --ifupdown-defaults")
		IFUP_TO_ONLINE=$(ms "$ifup" "$target")
	elif [ "$name" = ifupdown-debian ]; then
		[ "$lines" = 1 ] && [[ $(fact "$name" exec1_argv) == */ifupdown/wait-online.sh ]] ||
			bad+=("ifupdown-wait-online.service did not run Debian's wait-online.sh")
	elif [ "$name" = networkmanager ]; then
		local act
		act=$(fact "$name" nm_activated)
		[ -n "$act" ] && [ "$target" -gt "$act" ] || bad+=("network-online.target not after NM activated host0")
		[ "$lines" = 1 ] && [[ $(fact "$name" exec1_argv) == /usr/libexec/wait-online/wait-online\ --manager=networkmanager* ]] ||
			bad+=("NetworkManager-wait-online.service did not run wait-online")
	else
		# networkd calls host0 configured only once its IPv6 link-local address is there too
		# (Netplan leaves link-local addressing on): a wait that judged the kernel's routable
		# state alone would end at the DHCPv4 address, about a second earlier
		local ll
		ll=$(fact "$name" ipv6ll)
		[ -n "$ll" ] && [ -n "$target" ] && [ "$target" -gt "$ll" ] ||
			bad+=("network-online.target not after host0's IPv6 link-local address (networkd's configured state)")
		if [ "$name" = hardened-ubuntu ]; then
			[ "$lines" = 1 ] && [ "$(fact "$name" exec1_argv)" = "/usr/libexec/wait-online/wait-online --online-definition=ubuntu" ] ||
				bad+=("wait-online.service did not run wait-online --online-definition=ubuntu")
		elif [ "$name" = unplugged-credential-extend ]; then
			[ "$lines" = 1 ] && [ "$(fact "$name" exec1_argv)" = "/usr/libexec/wait-online/wait-online" ] ||
				bad+=("wait-online.service did not run its own command line")
		else
			[ "$lines" = 2 ] || bad+=("the unit has $lines command lines, not Netplan's two")
			for ((i = 1; i <= lines; i++)); do
				[[ $(fact "$name" "exec${i}_argv") == /lib/systemd/systemd-networkd-wait-online\ * ]] ||
					bad+=("command line $i is not Netplan's")
			done
		fi
	fi
	if [ "$name" = hardened-ubuntu ]; then
		check_hardened "$name"
	fi
	case $name in
	unplugged)
		[ "$(fact "$name" exec1_status)" = 1 ] || bad+=("line 1 did not fail (status $(fact "$name" exec1_status))")
		[ "$status" = 1 ] || bad+=("ExecMainStatus=$status, expected 1 (timeout)")
		[ "$(ms "$unit_start" "$unit_end" | cut -d. -f1)" -ge 119000 ] 2>/dev/null ||
			bad+=("the wait was shorter than the 120 s timeout")
		;;
	no-dns | no-dns-grace)
		check_no_dns "$name"
		;;
	unplugged-credential)
		[ "$(fact "$name" exec1_status)" = 1 ] || bad+=("line 1 did not fail (status $(fact "$name" exec1_status))")
		[ "$status" = 1 ] || bad+=("ExecMainStatus=$status, expected 1 (the credential's timeout)")
		awk -v w="$(ms "$unit_start" "$unit_end")" 'BEGIN { exit !(w >= 5000 && w < 15000) }' ||
			bad+=("the wait was not about 5 s (the credential's timeout)")
		[[ $(fact "$name" timeout_origin) == "timeout 5s from the credential wait-online.timeout ("* ]] ||
			bad+=("no journal line names the credential as the timeout's origin")
		;;
	unplugged-credential-extend)
		[ "$(fact "$name" unit_Result)" = exit-code ] ||
			bad+=("Result=$(fact "$name" unit_Result), expected exit-code (not killed by TimeoutStartSec=3s)")
		[ "$status" = 1 ] || bad+=("ExecMainStatus=$status, expected 1 (the credential's timeout)")
		awk -v w="$(ms "$unit_start" "$unit_end")" 'BEGIN { exit !(w >= 6000 && w < 16000) }' ||
			bad+=("the wait was not about 6 s (the credential's timeout, past TimeoutStartSec=3s)")
		[[ $(fact "$name" timeout_origin) == "timeout 6s from the credential wait-online.timeout (/run/credentials/wait-online.service/"* ]] ||
			bad+=("no journal line names the credential as the timeout's origin")
		;;
	*)
		for ((i = 1; i <= lines; i++)); do
			[ "$(fact "$name" "exec${i}_status")" = 0 ] || bad+=("command line $i: status $(fact "$name" "exec${i}_status")")
		done
		[ "$status" = 0 ] || bad+=("ExecMainStatus=$status")
		;;
	esac
	case $name in
	upstream)
		[[ $exes == *"/usr/lib/systemd/systemd-networkd-wait-online("* ]] || bad+=("upstream's binary did not log")
		[[ $exes != *wait-online/wait-online* ]] || bad+=("wait-online ran in the upstream boot")
		;;
	ifupdown-debian)
		[[ $(fact "$name" unit_exes) != *wait-online/wait-online* ]] || bad+=("wait-online ran in Debian's boot")
		exes=$(fact "$name" unit_exes)
		;;
	ifupdown)
		# wait-online logs no per-link record under --manager=ifupdown when online at once
		[ "$(fact "$name" unit_exes)" = "/usr/libexec/wait-online/wait-online(wait-online)" ] ||
			bad+=("the unit's records are not all wait-online's (_EXE: $(fact "$name" unit_exes))")
		exes=$(fact "$name" unit_exes)
		;;
	*)
		[[ $exes == "/usr/libexec/wait-online/wait-online("* ]] && [[ $exes != *systemd-networkd-wait-online\(* ]] ||
			bad+=("the records with INTERFACE= are not all wait-online's (_EXE: $exes)")
		[[ " $(fact "$name" interfaces) " == *" host0 "* ]] || bad+=("no record with INTERFACE=host0")
		;;
	esac
	if [ "$name" = unplugged-carrier-timeout ]; then
		[ -n "$(fact "$name" host1_info)" ] || bad+=("no info record names the given-up host1")
		awk -v w="$(ms "$unit_start" "$unit_end")" 'BEGIN { exit !(w >= 5000 && w < 15000) }' ||
			bad+=("the wait was not about 5 s")
	fi
	ADDR_TO_ONLINE[$name]=$(ms "$addr" "$target")
	LL_TO_ONLINE[$name]=$(ms "$(fact "$name" ipv6ll)" "$target")
	WAIT[$name]=$(ms "$unit_start" "$unit_end")
	TO_ONLINE[$name]=$(ms "$(fact "$name" userspace)" "$target")
	NOTES[$name]="_EXE: ${exes:-none}"
	case $name in no-dns*)
		NOTES[$name]+="; '$(fact "$name" dns_failure)' $(ms "$addr" "$(fact "$name" dns_failure_at)") ms after host0's address"
		;;
	esac
	if [ ${#bad[@]} -eq 0 ]; then
		VERDICT[$name]=PASS
	else
		VERDICT[$name]="FAIL: $(printf '%s; ' "${bad[@]}")"
	fi
	say "$name: ${VERDICT[$name]}"
}

for b in "${BOOTS[@]}"; do
	run_boot "$b"
done

# ---- report
if [ -n "${VERDICT[upstream]:-}" ] && [ -n "${VERDICT[package]:-}" ] &&
	[ -s "$WORK/upstream/result/critical-chain" ] && [ -s "$WORK/package/result/critical-chain" ]; then
	echo
	echo "systemd-analyze critical-chain network-online.target: upstream (left), package (right)"
	# (padded by display width: the tree's characters are 3 bytes, 1 column)
	paste <(grep '@[0-9]' "$WORK/upstream/result/critical-chain") \
		<(grep '@[0-9]' "$WORK/package/result/critical-chain") |
		LC_ALL=C awk -F'\t' '{ s = $1; n = gsub(/\342\224[\200\224]/, "&", s);
			printf "%s%*s  %s\n", $1, 62 - (length($1) - 2 * n), "", $2 }'
fi
echo
# ADDR: host0's DHCPv4 address; LL: its IPv6 link-local one (networkd's boots), after which
# networkd calls it configured; PID1: userspace start
printf '%-26s %6s %12s %12s %12s %14s  %s\n' BOOT WALL_S ADDR→ONLINE LL→ONLINE WAIT_UNIT PID1→ONLINE RESULT
failed=0
for b in "${BOOTS[@]}"; do
	printf '%-26s %6s %9s ms %9s ms %9s ms %11s ms  %s\n' "$b" "${WALL[$b]:-?}" "${ADDR_TO_ONLINE[$b]:-?}" \
		"${LL_TO_ONLINE[$b]:-?}" "${WAIT[$b]:-?}" "${TO_ONLINE[$b]:-?}" "${VERDICT[$b]}"
	[ "${VERDICT[$b]}" = PASS ] || failed=1
done
for b in "${BOOTS[@]}"; do echo "  $b: ${NOTES[$b]:-}"; done
for b in ifupdown ifupdown-debian; do
	[ -n "${VERDICT[$b]:-}" ] || continue
	echo "$b: ifupdown-wait-online.service ended $(ms "$(fact "$b" address)" "$(fact "$b" unit_ExecMainExitTimestampMonotonic)") ms after dhclient's \"bound to\" (negative: before the lease), $(ms "$(fact "$b" ifup_exit)" "$(fact "$b" unit_ExecMainExitTimestampMonotonic)") ms after ifup -a exited"
done
if [ -n "${IFUP_TO_ONLINE:-}" ]; then
	echo "ifupdown: network-online.target ${IFUP_TO_ONLINE} ms after ifup -a exited, ${ADDR_TO_ONLINE[ifupdown]} ms after dhclient's \"bound to\""
fi
if [ -n "${WAIT[unplugged-credential]:-}" ]; then
	echo "unplugged-credential: $(fact unplugged-credential timeout_origin)"
fi
if [ -n "${WAIT[unplugged]:-}" ] && [ -n "${WAIT[unplugged-carrier-timeout]:-}" ]; then
	awk -v a="${TO_ONLINE[unplugged]}" -v b="${TO_ONLINE[unplugged-carrier-timeout]}" \
		'BEGIN { printf "time saved by WAIT_ONLINE_CARRIER_TIMEOUT=5s: %.1f s (network-online.target %.1f s vs %.1f s after PID 1 started)\n", (a - b) / 1000, a / 1000, b / 1000 }'
fi
if [ -n "${WAIT[no-dns]:-}" ] && [ -n "${WAIT[no-dns-grace]:-}" ]; then
	awk -v a="${TO_ONLINE[no-dns]}" -v b="${TO_ONLINE[no-dns-grace]}" \
		'BEGIN { printf "time saved by WAIT_ONLINE_DNS_GRACE=3s: %.1f s (network-online.target %.1f s vs %.1f s after PID 1 started)\n", (a - b) / 1000, a / 1000, b / 1000 }'
fi

# ---- nothing left behind
wo_cleanup
left=$(ip netns list | grep "^wo-boot-$$-" || true)
left+=$(findmnt -rn -o TARGET | grep "^$WORK/" || true)
left+=$(find "$(wo_cgroup2)" -maxdepth 1 -name "wo-boot-$$-*" || true)
[ -z "$left" ] || fail "left behind: $left"
say "no namespace, mount or cgroup left; $((SECONDS - T0))s in all"
[ $failed = 0 ] || fail "some boots failed (see the table)"
