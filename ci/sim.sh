#!/usr/bin/env bash
# Deterministic simulation (raft-sim): 2000 seeds on in-memory disks, 20 on
# RocksDB, and the RocksDB differential test. Any violation fails, printing
# the seed, the property, a shortened event sequence and the replay command.
# Every seed snapshots and compacts (every 3, 10 or 30 applied entries, as
# the seed draws), so snapshot transfer, installs and restores are in all of
# them; the summary line after each range counts them. Every seed also
# schedules client reads (ReadIndex, each checked to see every write
# acknowledged before it began), leader transfers, and membership changes
# (ConfChange v1 demotions and promotions, joint v2 with automatic and
# explicit leave), each at a rate the seed draws; the second summary line
# counts reads served, transfers done and changes applied. Key-value clients
# (gets, puts, deletes, compare-and-swaps) run in every seed too, and their
# history is checked with raft-lincheck after the run; the third summary line
# counts operations checked, histories and unknown outcomes. Half the seeds
# also have spare nodes that join with an empty log (catching up by
# snapshot) and remove members for good (their process stops); the fourth
# summary line counts spares started, joins and removals.
# SIM_START shifts the seed range (default 0, so CI is reproducible).
#
# Builds with --workspace and $RAFT_FEATURES like every other step, so the
# dependency graph and the one RocksDB build stay the same.
set -euo pipefail
cd "$(dirname "$0")/.."
. ci/env.sh
start="${SIM_START:-0}"
cargo build --release --workspace --features "$RAFT_FEATURES" --bin raft-sim
target/release/raft-sim --seeds 2000 --start "$start"
target/release/raft-sim --seeds 20 --start "$start" --storage rocks --ticks 300
cargo test --release --workspace --features "$RAFT_FEATURES" --test rocks
