#!/usr/bin/env bash
# The project's run command: a local 3-node cluster in one process (RocksDB
# logs in a temporary directory, QUIC on 127.0.0.1 with development
# certificates) replicates 100,000 entries, loses its leader, and checks that
# nothing committed was lost. Arguments go to raft-cluster (see --help).
set -euo pipefail
cd "$(dirname "$0")/.."
# Set up first: env.sh routes C/C++ through ccache only once setup has
# installed it, and CC is part of RocksDB's build fingerprint.
ci/setup.sh
. ci/env.sh
# Built with the workspace and the feature set every ci/ step uses, so that
# the one RocksDB build is shared with the test command.
cargo build --release --workspace --features "$RAFT_FEATURES" --bin raft-cluster
exec target/release/raft-cluster "$@"
