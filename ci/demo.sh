#!/usr/bin/env bash
# The project's run command. Until the node runtime and the raft-cluster demo
# exist, it replays a 3-node interaction script: an election, a proposal and
# its commit, printed the way etcd prints them.
set -euo pipefail
cd "$(dirname "$0")/.."
ci/setup.sh
cargo run --release -q -p raft-conformance --bin raft-script -- run raft-conformance/examples/three_nodes.txt
