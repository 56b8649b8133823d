#!/usr/bin/env bash
# The project's run command: a local 3-node cluster in one process (RocksDB
# logs in a temporary directory, QUIC on 127.0.0.1 with development
# certificates) replicates 100,000 entries, loses its leader, and checks that
# nothing committed was lost. Arguments go to raft-cluster (see --help).
set -euo pipefail
cd "$(dirname "$0")/.."
. ci/env.sh
ci/setup.sh
cargo run --release --bin raft-cluster -- "$@"
