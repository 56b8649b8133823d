#!/usr/bin/env bash
# Deterministic simulation (raft-sim): 2000 seeds on in-memory disks, 20
# shorter ones on RocksDB (each open of a RocksStorage preallocates a 73 MB
# WAL, which dominates a crash-heavy seed), and the RocksDB differential
# test. Any violation fails, printing the seed, the property, a shortened
# event sequence and the replay command. SIM_START shifts the seed range
# (default 0, so that CI is reproducible).
set -euo pipefail
cd "$(dirname "$0")/.."
start="${SIM_START:-0}"
cargo build --release -p raft-sim --features rocks
target/release/raft-sim --seeds 2000 --start "$start"
target/release/raft-sim --seeds 20 --start "$start" --storage rocks --ticks 300
cargo test --release -p raft-sim --features rocks --test rocks
