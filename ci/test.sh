#!/usr/bin/env bash
# The project's test command: everything CI checks, from a fresh clone.
set -euo pipefail
cd "$(dirname "$0")/.."
ci/setup.sh

step() { printf '\n=== %s\n' "$*"; }

step "format"
cargo fmt --all -- --check

step "build (release; the tests run in release so RocksDB is compiled once)"
cargo build --release --workspace --all-targets

step "tests"
cargo test --release --workspace

step "etcd reference scripts, protocol level"
ci/etcd-check.sh "--storage mem --transport mem"

echo
echo "ci/test.sh: all checks passed"
