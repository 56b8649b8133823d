#!/usr/bin/env bash
# Trace validation (spec/README.md, "Trace validation"): runs every
# interaction script with raft-script recording raft-core's protocol events,
# turns each trace into TLA+ and has TLC replay it against spec/etcdraft.tla
# through spec/Traceetcdraft.tla; then checks that corrupted traces are
# rejected.
#
#   ci/trace.sh                 raft-conformance/scripts/*.txt, etcd's
#                               testdata/*.txt, and the corrupted traces
#   ci/trace.sh SCRIPT...       only these scripts
#
# Environment: ETCD_REFERENCE (etcd's scripts, default ../shared/etcd beside
# the repository; their absence fails unless ETCD_REFERENCE=none or
# REQUIRE_ETCD=0, see ci/lib.sh), TLA_CACHE (where tla2tools.jar is
# kept, default ~/.cache/tla), TRACE_JOBS (TLC runs at once, default 2),
# TRACE_TIMEOUT (seconds per TLC run, default 600), KEEP_TRACES=DIR (keep
# traces, modules and TLC logs there).
#
# Prints PASS/FAIL per trace and a closing "trace: N passed, M failed" line;
# exits non-zero if anything failed.
set -euo pipefail
cd "$(dirname "$0")/.."
. ci/env.sh
. ci/lib.sh
ROOT=$(pwd)

JOBS=${TRACE_JOBS:-2}
TIMEOUT=${TRACE_TIMEOUT:-600}
ETCD_DIR=$(etcd_reference_dir)

# The TLC ci/tla.sh uses: sets JAR, defines install_tla_tools.
. ci/tla-tools.sh

if [[ -n ${KEEP_TRACES:-} ]]; then
  WORK=$KEEP_TRACES
  mkdir -p "$WORK"
else
  WORK=$(mktemp -d)
  trap 'rm -rf "$WORK"' EXIT
fi
RESULTS=$WORK/results
: >"$RESULTS"



# raft-script with the `trace` feature. Only raft-conformance is built with
# it (raft-core and its dependents get a second build; RocksDB's C++ does
# not). The binary is copied at once: target/release/raft-script is shared
# with builds without the feature.
build_runner() {
  cargo build --release -p raft-conformance --features trace --bin raft-script
  cp target/release/raft-script "$WORK/raft-script"
}

# check_module DIR EXPECT: TLC replays DIR/TraceData.tla; EXPECT is "accept"
# or "reject". Writes "PASS|FAIL what" to DIR/verdict.
check_module() {
  local dir=$1 expect=$2 name rc=0 start end records stuck what
  name=$(basename "$dir")
  cp spec/etcdraft.tla spec/MCetcdraft.tla spec/Traceetcdraft.tla spec/Traceetcdraft.cfg "$dir/"
  records=$(awk '/^TraceLog\(none\) == <</ {on=1; next} /^>>$/ {on=0} on' "$dir/TraceData.tla" | wc -l)
  start=$(date +%s)
  # TLC unpacks its standard modules into java.io.tmpdir: one per run, or
  # concurrent runs (ours, or anyone's in /tmp) delete each other's.
  mkdir -p "$dir/tmp"
  (cd "$dir" && timeout "$TIMEOUT" java -XX:+UseSerialGC -Xss16m -Djava.io.tmpdir="$dir/tmp" \
      -cp "$JAR" tlc2.TLC \
      -workers 1 -cleanup -metadir "$dir/meta" -config Traceetcdraft.cfg Traceetcdraft.tla) \
      >"$dir/tlc.log" 2>&1 || rc=$?
  end=$(date +%s)
  what="$name: $records records, TLC exit $rc, $((end - start)) s"
  if [[ $rc == 0 ]] && grep -q '"trace accepted"' "$dir/tlc.log"; then
    if [[ $expect == accept ]]; then
      echo "PASS trace $what" >"$dir/verdict"
    else
      echo "FAIL corrupted trace accepted: $what" >"$dir/verdict"
    fi
    return
  fi
  # The replay is deterministic: the last state TLC printed holds the
  # cursor l of the first record that could not be replayed.
  stuck=$(grep -oE '^/\\ l = [0-9]+' "$dir/tlc.log" | tail -1 | grep -oE '[0-9]+$' || true)
  if [[ $expect == reject ]] && grep -q 'Deadlock reached' "$dir/tlc.log"; then
    echo "PASS corrupted trace rejected: $what, stuck at record ${stuck:-?}" >"$dir/verdict"
  else
    {
      echo "FAIL trace $what, stuck at record ${stuck:-?}"
      if [[ -n $stuck ]]; then
        echo "  record $stuck:"
        awk -v n="$stuck" '/^TraceLog\(none\) == <</ {k=0; on=1; next} on {k++; if (k==n) print "  " $0}' \
          "$dir/TraceData.tla"
      fi
      grep -E 'Error|error|violated|Deadlock|Exception' "$dir/tlc.log" | head -5 | sed 's/^/  /'
      echo "  log: $dir/tlc.log"
    } >"$dir/verdict"
  fi
}

# trace_script SCRIPT: records SCRIPT's trace and converts it; prints the
# module directories, one per group of nodes.
trace_script() {
  local script=$1 name out
  # etcd's scripts are named etcd_NAME: some share a name with ours.
  name=$(basename "$script" .txt)
  [[ $(cd "$(dirname "$script")" && pwd) == "$ETCD_ABS/testdata" ]] && name=etcd_$name
  out=$WORK/ndjson/$name.ndjson
  if ! "$WORK/raft-script" run --trace "$out" "$script" >/dev/null 2>"$WORK/ndjson/$name.err"; then
    echo "FAIL $script: raft-script run: $(cat "$WORK/ndjson/$name.err")" >>"$RESULTS"
    return
  fi
  if ! "$WORK/raft-script" trace-tla "$out" "$WORK/tla/$name" >"$WORK/ndjson/$name.groups" \
      2>"$WORK/ndjson/$name.err"; then
    echo "FAIL $script: raft-script trace-tla: $(cat "$WORK/ndjson/$name.err")" >>"$RESULTS"
    return
  fi
  sed "s|^|$WORK/tla/$name/|" "$WORK/ndjson/$name.groups"
}

# corrupt NDJSON OUT HOW: OUT is NDJSON with one event altered (HOW names
# which); fails if the trace has no event to alter that way.
corrupt() {
  python3 - "$@" <<'EOF'
import json, sys
src, dst, how = sys.argv[1:4]
events = [json.loads(l) for l in open(src) if l.strip()]
def first(pred):
    for e in events:
        if pred(e):
            return e
    sys.exit(f"no event to alter for {how}")
if how == "msgapp-term":
    # A leader's append claims a later term.
    first(lambda e: e["ev"] == "send" and e["msg"]["type"] == "MsgApp")["msg"]["term"] += 1
elif how == "ack-index":
    # A follower acknowledges one entry more than it appended.
    first(lambda e: e["ev"] == "send" and e["msg"]["type"] == "MsgAppResp"
          and not e["msg"]["reject"] and e["msg"]["to"] != e["node"])["msg"]["index"] += 1
elif how == "heartbeat-commit":
    # A heartbeat tells a follower to commit beyond what it holds.
    first(lambda e: e["ev"] == "send" and e["msg"]["type"] == "MsgHeartbeat")["msg"]["commit"] += 1
elif how == "vote-reject":
    # A vote the voter was free to grant is refused.
    first(lambda e: e["ev"] == "send" and e["msg"]["type"] == "MsgVoteResp"
          and not e["msg"]["reject"] and e["msg"]["to"] != e["node"])["msg"]["reject"] = True
elif how == "state-vote":
    # A follower's state shows a vote for another candidate than it voted for.
    e = first(lambda e: e["ev"] == "state" and e["state"]["vote"] != 0 and e["state"]["role"] == "StateFollower")
    e["state"]["vote"] = next(v for v in e["state"]["voters"] if v != e["state"]["vote"])
else:
    sys.exit(f"unknown corruption {how}")
with open(dst, "w") as f:
    for e in events:
        f.write(json.dumps(e, separators=(",", ":")) + "\n")
EOF
}

# Without the feature no tracing code is compiled: a binary built the
# default way has none of the tracing functions the traced runner has.
no_trace_code_by_default() {
  local pattern='raft_core::trace::|Raft<.*>::(trace_state|emit_step_end|set_tracer)'
  if ! command -v nm >/dev/null 2>&1; then
    echo "FAIL no nm to look for tracing code in a default build" >>"$RESULTS"
    return
  fi
  cargo build --release --workspace --bin raft-sim
  # Counted rather than grep -q: an early exit would fail nm (pipefail).
  local traced plain
  traced=$(nm -C "$WORK/raft-script" | grep -cE "$pattern" || true)
  plain=$(nm -C target/release/raft-sim | grep -cE "$pattern" || true)
  if [[ $traced == 0 ]]; then
    echo "FAIL the traced raft-script has no tracing symbols: the check below proves nothing" >>"$RESULTS"
  elif [[ $plain != 0 ]]; then
    echo "FAIL raft-sim, built without the trace feature, contains tracing code" >>"$RESULTS"
  else
    echo "PASS default build carries no tracing code (raft-sim has no tracing symbols, the traced raft-script does)" >>"$RESULTS"
  fi
}

main() {
  local scripts=() negative=true
  if [[ $# -gt 0 ]]; then
    scripts=("$@")
    negative=false
  else
    scripts=(raft-conformance/scripts/*.txt)
    if [[ -d $ETCD_DIR/testdata ]]; then
      scripts+=("$ETCD_DIR"/testdata/*.txt)
    elif etcd_required; then
      echo "FAIL no etcd reference scripts at $ETCD_DIR" >>"$RESULTS"
    else
      echo "trace: SKIPPED etcd's scripts: none at $ETCD_DIR (opted out)" >&2
    fi
  fi

  local started
  started=$(date +%s)
  ETCD_ABS=$(cd "$ETCD_DIR" 2>/dev/null && pwd || echo "$ETCD_DIR")
  install_tla_tools
  build_runner
  mkdir -p "$WORK/ndjson" "$WORK/tla" "$WORK/bad"

  # The recorder's own tests exist only with the feature.
  if cargo test --release -p raft-conformance --features trace --lib trace:: \
      >"$WORK/unit.log" 2>&1; then
    echo "PASS trace recorder and writer unit tests ($(grep -oE '[0-9]+ passed' "$WORK/unit.log" | tail -1))" >>"$RESULTS"
  else
    tail -30 "$WORK/unit.log"
    echo "FAIL trace recorder and writer unit tests (log: $WORK/unit.log)" >>"$RESULTS"
  fi
  no_trace_code_by_default

  local dirs=() script
  for script in "${scripts[@]}"; do
    mapfile -t -O "${#dirs[@]}" dirs < <(trace_script "$script")
  done
  local generated=$(( $(date +%s) - started ))

  # Corrupted traces: each must be rejected.
  local bad=()
  if $negative; then
    local how src
    src=$WORK/ndjson/commit_rules.ndjson
    for how in msgapp-term ack-index heartbeat-commit vote-reject state-vote; do
      mkdir -p "$WORK/bad/$how"
      if corrupt "$src" "$WORK/bad/$how/commit_rules.$how.ndjson" "$how" 2>"$WORK/bad/$how/err" &&
         "$WORK/raft-script" trace-tla "$WORK/bad/$how/commit_rules.$how.ndjson" "$WORK/bad/$how" \
           >/dev/null 2>>"$WORK/bad/$how/err"; then
        bad+=("$WORK/bad/$how/commit_rules.$how")
      else
        echo "FAIL corrupting commit_rules ($how): $(cat "$WORK/bad/$how/err")" >>"$RESULTS"
      fi
    done
  fi

  # TLC runs, TRACE_JOBS at a time; one worker each.
  export -f check_module
  export JAR TIMEOUT
  {
    for d in "${dirs[@]}"; do printf '%s accept\n' "$d"; done
    for d in "${bad[@]}"; do printf '%s reject\n' "$d"; done
  } | xargs -P "$JOBS" -L 1 bash -c 'check_module "$0" "$1"'

  for d in "${dirs[@]}" "${bad[@]}"; do
    if [[ -f $d/verdict ]]; then cat "$d/verdict" >>"$RESULTS"; else echo "FAIL $d: no verdict" >>"$RESULTS"; fi
  done
  cat "$RESULTS"
  local passed failed
  passed=$(grep -c '^PASS' "$RESULTS" || true)
  failed=$(grep -c '^FAIL' "$RESULTS" || true)
  echo "trace: $passed passed, $failed failed ($generated s before TLC, $(( $(date +%s) - started )) s in all)"
  [[ $failed == 0 ]]
}

main "$@"
