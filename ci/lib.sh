# Sourced by the ci/ scripts: helpers that keep a check from passing when it
# was given nothing to check.
#
#   etcd_reference_dir   prints where etcd's reference scripts are
#   etcd_required        true unless the caller opted out of them
#   require_tests MIN -- COMMAND...
#                        runs a cargo test command and fails unless at least
#                        MIN tests passed
#
# etcd's reference scripts (protocol_diff.py and testdata/*.txt) are read
# from $ETCD_REFERENCE, by default ../shared/etcd beside the repository root
# (CI lays shared/ beside its clone), wherever the caller's current directory
# is; a relative ETCD_REFERENCE is taken from the repository root too.
# Without them every check that reads them FAILS, unless the caller opts out
# with ETCD_REFERENCE=none or REQUIRE_ETCD=0: then those checks are skipped
# with a message. REQUIRE_ETCD=1 overrides both opt-outs. raft-conformance's
# etcd_testdata_round_trips test follows the same rules.

ci_repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

etcd_reference_dir() {
  local dir=${ETCD_REFERENCE:-../shared/etcd}
  if [[ $dir != /* && $dir != none ]]; then
    dir=$ci_repo_root/$dir
  fi
  printf '%s\n' "$dir"
}

etcd_required() {
  case ${REQUIRE_ETCD:-} in
    1) return 0 ;;
    0) return 1 ;;
  esac
  [[ ${ETCD_REFERENCE:-} != none ]]
}

# require_tests MIN -- COMMAND...
#
# Runs COMMAND (a `cargo test` invocation), passing its output through, and
# adds up the "N passed" of every "test result:" line it prints. Fails if
# COMMAND fails, or if fewer than MIN tests passed: a filter that no longer
# matches (a renamed module, a test moved behind a feature) must not pass by
# running nothing. Set MIN to today's count when adding or removing tests.
require_tests() {
  local min=$1
  shift
  if [[ ${1:-} == -- ]]; then
    shift
  fi
  # pipefail only here, so that cargo's status survives the tee whatever
  # the caller set.
  local -
  set -o pipefail
  local log status=0 passed
  log=$(mktemp)
  "$@" | tee "$log" || status=$?
  passed=$(sed -n 's/^test result: [A-Za-z]*\. \([0-9][0-9]*\) passed.*/\1/p' "$log" |
    awk '{ n += $1 } END { print n + 0 }')
  rm -f "$log"
  if [[ $status != 0 ]]; then
    return "$status"
  fi
  if ((passed < min)); then
    echo "require_tests: FAILED: $passed tests passed, at least $min expected: $*" >&2
    return 1
  fi
  echo "require_tests: $passed tests passed (at least $min required): $*" >&2
}
