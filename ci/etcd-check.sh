#!/usr/bin/env bash
# Compares raft-core with etcd at the protocol level: replays etcd's own
# interaction scripts with raft-script and diffs every non-log line, for each
# storage × transport combination that is built.
set -euo pipefail
cd "$(dirname "$0")/.."
. ci/env.sh
. ci/lib.sh

# Required unless opted out (ci/lib.sh): a missing ../shared must not pass.
etcd_dir=$(etcd_reference_dir)
shopt -s nullglob
scripts=("$etcd_dir"/testdata/*.txt)
if [ ! -f "$etcd_dir/protocol_diff.py" ] || [ ${#scripts[@]} = 0 ]; then
  if etcd_required; then
    echo "etcd-check: FAILED: no etcd reference scripts at $etcd_dir" \
      "(set ETCD_REFERENCE=DIR; ETCD_REFERENCE=none or REQUIRE_ETCD=0 skips them)" >&2
    exit 1
  fi
  echo "etcd-check: SKIPPED: no etcd reference scripts at $etcd_dir (opted out)" >&2
  exit 0
fi

runner=target/release/raft-script
# Always built (a no-op when up to date): a raft-script left by a build
# without the rocks and quic features cannot run every combination.
cargo build --release --workspace --features "$RAFT_FEATURES" --bin raft-script

# etcd's files beyond testdata/ that the features built so far cover.
more=(
  slow_follower_after_compaction.txt
  snapshot_succeed_via_app_resp.txt
  snapshot_succeed_via_app_resp_behind.txt
  async_storage_writes.txt
  async_storage_writes_append_aba_race.txt
  forget_leader_read_only_lease_based.txt
  campaign_learner_must_vote.txt
  confchange_disable_validation.txt
  confchange_v1_add_single.txt
  confchange_v1_remove_leader.txt
  confchange_v1_remove_leader_stepdown.txt
  confchange_v2_add_double_auto.txt
  confchange_v2_add_double_implicit.txt
  confchange_v2_add_single_auto.txt
  confchange_v2_add_single_explicit.txt
  confchange_v2_replace_leader.txt
  confchange_v2_replace_leader_stepdown.txt
  forget_leader.txt
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
