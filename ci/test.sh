#!/usr/bin/env bash
# The project's test command: everything CI checks, from a fresh clone.
#
# Every cargo command builds the whole workspace in release with the same
# features ($RAFT_FEATURES, from ci/env.sh): that way the dependency graph
# (and so the one expensive RocksDB build) is the same for all of them.
set -euo pipefail
cd "$(dirname "$0")/.."
# Set up first: env.sh routes C/C++ through ccache only once setup has
# installed it, and CC is part of RocksDB's build fingerprint.
ci/setup.sh
. ci/env.sh
# require_tests, and where etcd's scripts are (required unless opted out).
. ci/lib.sh

step() { printf '\n=== %s\n' "$*"; }
started=$(date +%s)

step "format"
cargo fmt --all -- --check

step "build (release, all targets: libraries, binaries, tests, benchmarks)"
cargo build --release --workspace --all-targets --features "$RAFT_FEATURES"

step "clippy, warnings denied (release, so the RocksDB build above is reused)"
cargo clippy --workspace --all-targets --release -- -D warnings

step "rustdoc, warnings denied (missing docs, broken links)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --release

step "tests"
# With every backend built, the conformance tests must run all four storage ×
# transport combinations: fewer fails instead of passing.
RAFT_ALL_BACKENDS=1 cargo test --release --workspace --features "$RAFT_FEATURES"

step "wire decoder fuzz (proptest over arbitrary bytes, longer run)"
require_tests 13 -- env PROPTEST_CASES=5000 cargo test --release --workspace --features "$RAFT_FEATURES" --lib -- codec

# raft-core's test-only fault-injection feature is off in every build above
# (raft-core/tests/default_features.rs checks it); only this build has it.
step "broken safety rules are caught (raft-core with fault-injection)"
require_tests 17 -- cargo test --release -p raft-core -p raft-sim \
  --features raft-sim/fault-injection --test fault_injection --test commit

step "etcd reference scripts, protocol level, every storage x transport"
ci/etcd-check.sh "--storage mem --transport mem" "--storage rocks --transport mem" \
  "--storage mem --transport quic" "--storage rocks --transport quic"

step "deterministic simulation"
ci/sim.sh

step "TLA+ specification (SANY + TLC)"
ci/tla.sh

step "trace validation: every script's raft-core trace replayed against the spec"
ci/trace.sh

echo
echo "ci/test.sh: all checks passed in $(( $(date +%s) - started )) s"
