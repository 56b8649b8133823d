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
