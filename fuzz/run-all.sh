#!/bin/sh
# Runs every target for $1 seconds (default 180), one process each, one after the other; the
# summary lines go to stdout. Needs cargo-fuzz and RUSTC_BOOTSTRAP=1 on a stable toolchain.
set -u
seconds=${1:-180}
cd "$(dirname "$0")"
for target in state_file resolv_conf netplan_yaml timespan command_line nm_objects netlink ifupdown_interfaces; do
    mkdir -p "corpus/$target"
    RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
        >"logs/$target.log" 2>&1
    echo "$target rc=$? $(grep -E '^#[0-9]+' "logs/$target.log" | tail -1)"
done
