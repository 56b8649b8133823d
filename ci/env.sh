# Sourced by the ci/ scripts: the environment every build here uses, so that
# all of them share one set of fingerprints in target/ (a different CC alone
# makes cargo rebuild RocksDB).
#
# C/C++ of build scripts (RocksDB, lz4, ring) go through ccache when it is
# installed, so RocksDB's C++ is compiled once per machine even when cargo
# rebuilds librocksdb-sys under a new hash. Values without paths keep the
# fingerprints the same in every clone.
if command -v ccache >/dev/null 2>&1; then
  export CC="${CC:-ccache cc}" CXX="${CXX:-ccache c++}"
fi
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

# One feature set for every cargo command in ci/: the optional backends of
# raft-conformance (RocksDB storage, QUIC transport) and raft-sim (RocksDB
# disks). With the same features everywhere, the dependency graph, and so
# the one RocksDB build, is the same for every step. Pass it as
# `--features "$RAFT_FEATURES"`.
export RAFT_FEATURES="${RAFT_FEATURES:-raft-conformance/rocks,raft-conformance/quic,raft-sim/rocks}"
