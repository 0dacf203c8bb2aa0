#!/bin/bash
# scripts/check-rust-version.sh -- checks that the crate builds, tests and benches included,
# with the oldest Rust it declares (`rust-version` in Cargo.toml): installs that toolchain with
# rustup (minimal profile) when it is missing, then runs `cargo +VERSION check --locked
# --all-targets`. Exit status: 0 when it builds, 1 when it does not (the declaration is wrong),
# 2 when rustup is missing or cannot fetch the toolchain (no route to static.rust-lang.org):
# the declaration is then unchecked, which the caller must say out loud.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "check-rust-version: $*"; }
fail() {
	echo "check-rust-version: FAILED: $*" >&2
	exit 1
}

version=$(sed -n 's/^rust-version *= *"\([0-9.]*\)"$/\1/p' Cargo.toml)
[ -n "$version" ] || fail "no rust-version in Cargo.toml"
unchecked() {
	echo "check-rust-version: UNCHECKED: $*" >&2
	exit 2
}
command -v rustup >/dev/null || unchecked "needs rustup to install Rust $version"
if ! rustup run "$version" rustc --version >/dev/null 2>&1; then
	say "installing Rust $version (rustup, minimal profile)"
	rustup toolchain install "$version" --profile minimal --no-self-update ||
		unchecked "cannot install Rust $version with rustup (is static.rust-lang.org reachable?)"
fi
say "$(rustup run "$version" rustc --version)"
cargo "+$version" check --locked --all-targets || fail "Rust $version does not build every target"
say "rust-version $version builds every target"
