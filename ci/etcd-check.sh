#!/usr/bin/env bash
# Compares raft-core with etcd at the protocol level: replays etcd's own
# interaction scripts with raft-script and diffs every non-log line, for each
# storage × transport combination that is built.
set -euo pipefail
cd "$(dirname "$0")/.."
. ci/env.sh

etcd_dir=${ETCD_REFERENCE:-../shared/etcd}
if [ ! -f "$etcd_dir/protocol_diff.py" ]; then
  if [ "${REQUIRE_ETCD:-0}" = 1 ]; then
    echo "etcd-check: FAILED: no etcd reference scripts at $etcd_dir" >&2
    exit 1
  fi
  echo "etcd-check: SKIPPED: no etcd reference scripts at $etcd_dir (set ETCD_REFERENCE)" >&2
  exit 0
fi

runner=target/release/raft-script
[ -x "$runner" ] || cargo build --release -p raft-conformance --bin raft-script

# etcd's files beyond testdata/ that the features built so far cover.
more=(
  slow_follower_after_compaction.txt
  snapshot_succeed_via_app_resp.txt
  snapshot_succeed_via_app_resp_behind.txt
)
scripts=("$etcd_dir"/testdata/*.txt)
for f in "${more[@]}"; do
  scripts+=("$etcd_dir/testdata-more/$f")
done

status=0
for combo in "${@:-}"; do
  echo "etcd-check: raft-script run $combo"
  # shellcheck disable=SC2086 # combo is a list of options on purpose
  python3 "$etcd_dir/protocol_diff.py" --runner "$runner run $combo" "${scripts[@]}" || status=1
done
exit $status
