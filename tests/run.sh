#!/bin/bash
# Runs the whole test suite: style checks, unit and property tests, and the integration tests
# that create network namespaces and start real systemd-networkd and dbus-daemon instances.
# Must run as root on Debian/Ubuntu; installs the few packages the tests need when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
	echo "tests/run.sh: the integration tests need root (network namespaces): run it with sudo" >&2
	exit 1
fi

need=()
command -v ip >/dev/null || need+=(iproute2)
command -v nsenter >/dev/null || need+=(util-linux)
command -v dbus-daemon >/dev/null || need+=(dbus-daemon)
[ -x /lib/systemd/systemd-networkd ] || need+=(systemd)
command -v networkctl >/dev/null || need+=(systemd)
command -v man >/dev/null || need+=(man-db)
command -v script >/dev/null || need+=(bsdutils) # explain::explain_redraws_in_place_on_a_terminal
if [ "${#need[@]}" -gt 0 ]; then
	echo "tests/run.sh: installing ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings
tests/setup-deps.sh # dnsmasq-base + unpacked systemd-resolved for the DNS tests
tests/setup-upstreams.sh # cached roots with systemd 257 and 262 for the differential tests
cargo test --locked --lib --bins --tests
