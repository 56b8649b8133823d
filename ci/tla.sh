#!/usr/bin/env bash
# Check the rules spec/etcdraft.tla is written under (ci/spec-rules.sh),
# then parse and model-check the TLA+ specification in spec/ (see
# spec/README.md).
#
#   ci/tla.sh                  the CI configs (about 10 minutes on 2 cores)
#   ci/tla.sh --full           also the larger off-CI configs (hours)
#   ci/tla.sh CFG...           only the named configs (e.g. MCetcdraft_buggy.cfg)
#   ci/tla.sh --simulate SECS  after the configs, SECS seconds of random
#                              traces in MCetcdraft_sim.cfg (off CI)
#
# Environment: TLA_CACHE (where tla2tools.jar is kept, default
# ~/.cache/tla), TLA_WORKERS (TLC worker threads, default 2),
# TLA_TIMEOUT (seconds allowed per TLC run, default 1800).
#
# Prints PASS/FAIL per step and a closing "tla: N passed, M failed" line;
# exits non-zero if anything failed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SPEC_DIR=$ROOT/spec
WORKERS=${TLA_WORKERS:-2}
TIMEOUT=${TLA_TIMEOUT:-1800}
# Pinned TLC: sets JAR, defines install_tla_tools.
. "$ROOT/ci/tla-tools.sh"

# "config[@module] expected-exit-code [text TLC must print]", run in this
# order; the module is MCetcdraft.tla unless named. TLC exits 0 when
# everything holds, 12 when an invariant is violated, 13 when a liveness
# property or an action property is violated.
CI_CONFIGS=(
  "MCetcdraft.cfg 0"
  "MCetcdraft_dup.cfg 0"
  "MCetcdraft_live.cfg 0"
  "MCetcdraft_timer.cfg@MCetcdraft_timer.tla 0"
  "MCetcdraft_buggy.cfg 12 Invariant ElectionSafety is violated"
  "MCetcdraft_live_lossy.cfg 13 Temporal properties were violated"
  "MCetcdraft_timer_buggy.cfg@MCetcdraft_timer.tla 13 Action property LeaderNeverDeposed is violated"
)
FULL_CONFIGS=(
  "MCetcdraft_big_noprevote.cfg 0"
  "MCetcdraft_big.cfg 0"
  "MCetcdraft_big_live.cfg 0"
)

passed=0
failed=0
pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }



WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# SANY exits 0 even on errors, so its output is searched for them.
sany() {
  local module=$1 out=$WORK/sany-$1.log
  if (cd "$SPEC_DIR" && java -cp "$JAR" tla2sany.SANY "$module") >"$out" 2>&1 &&
     ! grep -qE '^\*\*\* |[Ee]rror|Abort|Could not|Fatal|Unknown operator' "$out"; then
    pass "SANY $module"
  else
    cat "$out"
    fail "SANY $module"
  fi
}

tlc() {
  local cfg=${1%%@*} module=MCetcdraft.tla expected=$2 rc=0 start end
  [[ $1 == *@* ]] && module=${1#*@}
  local log=$WORK/${cfg%.cfg}.log
  shift 2
  local must_print="$*"
  start=$(date +%s)
  (cd "$SPEC_DIR" && timeout "$TIMEOUT" java -XX:+UseParallelGC -cp "$JAR" tlc2.TLC \
      -workers "$WORKERS" -deadlock -cleanup -metadir "$WORK/meta-${cfg%.cfg}" \
      -config "$cfg" "$module") >"$log" 2>&1 || rc=$?
  end=$(date +%s)
  local states
  states=$(grep -E 'distinct states found' "$log" | tail -1 |
           sed -E 's/.* ([0-9,]+) distinct states found.*/\1/' || true)
  local what="TLC $cfg: exit $rc (expected $expected), ${states:-?} distinct states, $((end - start)) s"
  if [[ $rc == "$expected" ]] && { [[ -z $must_print ]] || grep -qF "$must_print" "$log"; }; then
    [[ -z $must_print ]] || what="$what: $must_print"
    pass "$what"
  else
    tail -60 "$log"
    fail "$what"
  fi
}

# TLC 2.15 simulates until killed: running out of time without a violation
# (timeout's exit code 124) is a pass.
simulate() {
  local secs=$1 log=$WORK/simulate.log rc=0
  (cd "$SPEC_DIR" && timeout "$secs" java -XX:+UseParallelGC -cp "$JAR" tlc2.TLC \
      -simulate -depth 100 -workers "$WORKERS" -deadlock -metadir "$WORK/meta-sim" \
      -config MCetcdraft_sim.cfg MCetcdraft.tla) >"$log" 2>&1 || rc=$?
  local checked
  checked=$(grep -E 'states checked' "$log" | tail -1 | sed -E 's/[^0-9]*([0-9]+).*/\1/' || true)
  if [[ $rc == 124 ]]; then
    pass "TLC -simulate MCetcdraft_sim.cfg: no violation in $secs s${checked:+, $checked states checked}"
  else
    tail -80 "$log"
    fail "TLC -simulate MCetcdraft_sim.cfg: exit $rc"
  fi
}

main() {
  local configs=() names=() sim_secs="" full=false
  while [[ $# -gt 0 ]]; do
    case $1 in
      --full) full=true ;;
      --simulate) sim_secs=${2:?--simulate needs a number of seconds}; shift ;;
      *) names+=("$1") ;;
    esac
    shift
  done
  if [[ ${#names[@]} -gt 0 ]]; then
    local cfg entry
    for cfg in "${names[@]}"; do
      for entry in "${CI_CONFIGS[@]}" "${FULL_CONFIGS[@]}"; do
        local first=${entry%% *}
        [[ ${first%%@*} == "$cfg" ]] && configs+=("$entry")
      done
      [[ " ${configs[*]} " == *" $cfg"[\ @]* ]] || { echo "unknown config $cfg" >&2; exit 2; }
    done
  elif $full; then
    configs=("${CI_CONFIGS[@]}" "${FULL_CONFIGS[@]}")
  else
    configs=("${CI_CONFIGS[@]}")
  fi

  local rule
  while read -r rule; do
    case $rule in
      PASS:*) pass "${rule#PASS: }" ;;
      FAIL:*) fail "${rule#FAIL: }" ;;
      *) echo "$rule" ;;
    esac
  done < <("$ROOT/ci/spec-rules.sh" || true; "$ROOT/ci/spec-rules.sh" --self-test || true)

  install_tla_tools
  java -version 2>&1 | sed -n 1p

  sany etcdraft.tla
  sany MCetcdraft.tla
  sany MCetcdraft_timer.tla

  local entry
  for entry in "${configs[@]}"; do
    # shellcheck disable=SC2086
    tlc $entry
  done
  if [[ -n $sim_secs ]]; then
    simulate "$sim_secs"
  fi

  echo "tla: $passed passed, $failed failed"
  [[ $failed == 0 ]]
}

main "$@"
