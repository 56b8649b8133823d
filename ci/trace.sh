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
# The recorder's and converter's unit tests (raft-conformance --lib trace::):
# fewer than this many run means the filter lost some, or all, of them.
MIN_TRACE_TESTS=21
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
  cargo build --release -p raft-conformance --features "trace,$RAFT_FEATURES" --bin raft-script
  cp "${CARGO_TARGET_DIR:-target}/release/raft-script" "$WORK/raft-script"
}

# check_module DIR EXPECT [RECORD]: TLC replays DIR/TraceData.tla; EXPECT is
# "accept" (every record replayed, and there is at least one) or "reject"
# (the replay must stop at record number RECORD, the one that carries the
# corruption). Writes "PASS|FAIL what" to DIR/verdict.
check_module() {
  local dir=$1 expect=$2 want=${3:-} name rc=0 start end records stuck what replayed
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
  # TLC prints <<"trace accepted", name, records replayed>> at the end.
  replayed=$(grep -oE '"trace accepted", "[^"]*", [0-9]+' "$dir/tlc.log" | tail -1 | grep -oE '[0-9]+$' || true)
  if [[ $rc == 0 && -n $replayed ]]; then
    if [[ $expect == reject ]]; then
      echo "FAIL corrupted trace accepted: $what" >"$dir/verdict"
    elif [[ $records -lt 1 || $replayed != "$records" ]]; then
      echo "FAIL trace $what: $replayed of $records records replayed (a trace needs at least one)" >"$dir/verdict"
    else
      echo "PASS trace $what" >"$dir/verdict"
    fi
    return
  fi
  # The replay is deterministic: the last state TLC printed holds the
  # cursor l of the first record that could not be replayed.
  stuck=$(grep -oE '^/\\ l = [0-9]+' "$dir/tlc.log" | tail -1 | grep -oE '[0-9]+$' || true)
  if [[ $expect == reject ]] && grep -q 'Deadlock reached' "$dir/tlc.log" &&
     [[ -n $want && $stuck == "$want" ]]; then
    echo "PASS corrupted trace rejected: $what, stuck at record $stuck, the corrupted one" >"$dir/verdict"
  elif [[ $expect == reject ]]; then
    echo "FAIL corrupted trace $what: expected a deadlock at record ${want:-?} (the corrupted one), stuck at ${stuck:-?}; log: $dir/tlc.log" >"$dir/verdict"
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
# which); prints "SEQ NODE" of the altered event. Fails if the trace has no
# event to alter that way.
corrupt() {
  python3 - "$@" <<'EOF'
import json, sys
src, dst, how = sys.argv[1:4]
events = [json.loads(l) for l in open(src) if l.strip()]
altered = []
def first(pred):
    for e in events:
        if pred(e):
            altered.append(e)
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
elif how == "tick-elapsed":
    # A follower's tick leaves its election timer one tick further on.
    ticked = {e["seq"] + 1 for e in events if e["ev"] == "tick"}
    e = first(lambda e: e["ev"] == "state" and e["seq"] in ticked
              and e["state"]["role"] == "StateFollower" and e["state"]["election_elapsed"] > 0)
    e["state"]["election_elapsed"] += 1
elif how == "forward-dest":
    # A follower forwards a proposal to itself instead of its leader.
    e = first(lambda e: e["ev"] == "send" and e["msg"]["type"] == "MsgProp")
    e["msg"]["to"] = e["node"]
else:
    sys.exit(f"unknown corruption {how}")
with open(dst, "w") as f:
    for e in events:
        f.write(json.dumps(e, separators=(",", ":")) + "\n")
print(altered[0]["seq"], altered[0]["node"])
EOF
}

# record_of TRACEDATA SEQ NODE: the number (1-based) of the TraceLog record
# that carries event SEQ of NODE: the record opened by that event, else the
# step of NODE whose events (seq..last) include it.
record_of() {
  python3 - "$@" <<'EOF'
import re, sys
path, seq, node = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
text = open(path).read()
log = text.split("TraceLog(none) == <<", 1)[1].rsplit(">>", 1)[0]
records = [l for l in log.splitlines() if l.strip().startswith("[kind")]
def field(r, name):
    m = re.search(r"\b" + name + r" \|-> (\d+)", r)
    return int(m.group(1)) if m else None
for k, r in enumerate(records, 1):
    if field(r, "seq") == seq:
        print(k); sys.exit()
for k, r in enumerate(records, 1):
    last = field(r, "last")
    if last is not None and field(r, "node") == node and field(r, "seq") <= seq <= last:
        print(k); sys.exit()
sys.exit(f"no record carries event {seq} of node {node}")
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
  cargo build --release --workspace --features "$RAFT_FEATURES" --bin raft-sim
  # Counted rather than grep -q: an early exit would fail nm (pipefail).
  local traced plain
  traced=$(nm -C "$WORK/raft-script" | grep -cE "$pattern" || true)
  plain=$(nm -C "${CARGO_TARGET_DIR:-target}/release/raft-sim" | grep -cE "$pattern" || true)
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
    # Membership changes and learners are outside the specification's
    # scope (a traced run refuses them): such scripts are skipped, by name.
    local s
    for s in raft-conformance/scripts/*.txt; do
      if grep -qE '^(propose-conf-change|add-nodes .*learners=)' "$s"; then
        echo "trace: SKIPPED $s: membership changes are outside the spec's scope" >&2
      else
        scripts+=("$s")
      fi
    done
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

  # The recorder's own tests exist only with the feature. A filter that
  # matches nothing passes, so the number of tests run is checked too.
  if cargo test --release -p raft-conformance --features "trace,$RAFT_FEATURES" --lib trace:: \
      >"$WORK/unit.log" 2>&1; then
    local ran
    ran=$(grep -oE 'test result: ok\. [0-9]+ passed' "$WORK/unit.log" |
          awk '{sum += $4} END {print sum + 0}')
    if [[ $ran -ge $MIN_TRACE_TESTS ]]; then
      echo "PASS trace recorder and writer unit tests ($ran passed, at least $MIN_TRACE_TESTS required)" >>"$RESULTS"
    else
      echo "FAIL trace recorder and writer unit tests: $ran ran, at least $MIN_TRACE_TESTS expected (log: $WORK/unit.log)" >>"$RESULTS"
    fi
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

  # Corrupted traces: each must be rejected at the record it corrupts.
  local bad=()
  if $negative; then
    local entry how base at record
    for entry in commit_rules:msgapp-term commit_rules:ack-index commit_rules:heartbeat-commit \
                 commit_rules:vote-reject commit_rules:state-vote heartbeats:tick-elapsed \
                 proposals:forward-dest; do
      base=${entry%%:*} how=${entry#*:}
      mkdir -p "$WORK/bad/$how"
      if at=$(corrupt "$WORK/ndjson/$base.ndjson" "$WORK/bad/$how/$base.$how.ndjson" "$how" \
                2>"$WORK/bad/$how/err") &&
         "$WORK/raft-script" trace-tla "$WORK/bad/$how/$base.$how.ndjson" "$WORK/bad/$how" \
           >/dev/null 2>>"$WORK/bad/$how/err" &&
         record=$(record_of "$WORK/bad/$how/$base.$how/TraceData.tla" $at 2>>"$WORK/bad/$how/err"); then
        bad+=("$WORK/bad/$how/$base.$how $record")
      else
        echo "FAIL corrupting $base ($how): $(cat "$WORK/bad/$how/err")" >>"$RESULTS"
      fi
    done
  fi

  # TLC runs, TRACE_JOBS at a time; one worker each.
  export -f check_module
  export JAR TIMEOUT
  {
    for d in "${dirs[@]}"; do printf '%s accept\n' "$d"; done
    for d in "${bad[@]}"; do printf '%s reject %s\n' "${d% *}" "${d##* }"; done
  } | xargs -P "$JOBS" -L 1 bash -c 'check_module "$0" "$1" "${2:-}"'

  local bad_dirs=("${bad[@]% *}")
  for d in "${dirs[@]}" "${bad_dirs[@]}"; do
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
