#!/usr/bin/env bash
# The rules spec/etcdraft.tla is delivered under (spec/README.md, "Rules of
# etcdraft.tla"):
#
#   - its first line is exactly `---- MODULE etcdraft ----` and its last
#     line exactly `====`;
#   - no comments at all: no `\*`, no `(*`, no `*)`;
#   - no markdown (headings, fences, emphasis, links, tables, bullets);
#   - no invariants or other properties: no THEOREM/ASSUME-free property
#     definitions such as TypeOK or *Safety, and no `[]` outside `Spec`;
#   - `Spec ==` holds its fairness conjuncts itself: `WF_vars`/`SF_vars` are
#     written inside Spec's own definition and nowhere else.
#
#   ci/spec-rules.sh [FILE]      check FILE (default spec/etcdraft.tla)
#   ci/spec-rules.sh --self-test plant each kind of violation in a copy of
#                                spec/etcdraft.tla and require that every
#                                one is caught
#
# Prints PASS/FAIL lines; exits non-zero on any failure.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SPEC=$ROOT/spec/etcdraft.tla

# check FILE: prints one line per broken rule; exits 1 if any.
check() {
  python3 - "$1" <<'EOF'
import re, sys

path = sys.argv[1]
text = open(path).read()
lines = text.split("\n")
if lines and lines[-1] == "":
    lines = lines[:-1]
broken = []

if not lines or lines[0] != "---- MODULE etcdraft ----":
    broken.append("first line is not exactly '---- MODULE etcdraft ----'")
if not lines or lines[-1] != "====":
    broken.append("last line is not exactly '===='")

for n, line in enumerate(lines, 1):
    for token in ("\\*", "(*", "*)"):
        if token in line:
            broken.append(f"line {n}: comment token {token!r}")
    markdown = [
        (r"^\s*#", "heading"),
        (r"```", "code fence"),
        (r"\*\*|__\w", "emphasis"),
        (r"\[[^\]]+\]\([^)]*\)", "link"),
        (r"^\s*\|.*\|\s*$", "table row"),
        (r"^\s*[-*+] \S", "bullet"),
        (r"^\s*>", "quote"),
    ]
    for pattern, what in markdown:
        if re.search(pattern, line):
            broken.append(f"line {n}: markdown ({what})")

body = "\n".join(lines[1:-1]) if len(lines) > 2 else ""
for word in ("THEOREM", "LEMMA", "PROPOSITION", "COROLLARY", "INVARIANT", "PROPERTY"):
    if re.search(r"\b" + word + r"\b", body):
        broken.append(f"keyword {word}: properties belong in the MC modules")

defs = [(m.start(), m.group(1)) for m in re.finditer(r"^([A-Za-z_][A-Za-z0-9_]*)\s*(?:\([^)]*\))?\s*==", body, re.M)]
invariant_name = re.compile(r"(?i)(typeok|inv\b|invariant|safety|\bsafe|correct|matching$|completeness|monotonic|property)")
for _, name in defs:
    if invariant_name.search(name):
        broken.append(f"definition {name} looks like an invariant or property")

spec = [i for i, (_, name) in enumerate(defs) if name == "Spec"]
if len(spec) != 1:
    broken.append("no single definition of Spec")
else:
    i = spec[0]
    start = defs[i][0]
    end = defs[i + 1][0] if i + 1 < len(defs) else len(body)
    spec_text = body[start:end]
    if not re.search(r"\b[WS]F_vars\s*\(", spec_text):
        broken.append("Spec's own definition has no WF_vars/SF_vars conjunct")
    outside = body[:start] + body[end:]
    if re.search(r"\b[WS]F_", outside):
        broken.append("fairness (WF_/SF_) written outside Spec's definition")
    # `[]` also separates CASE arms ("[] condition -> value").
    outside = re.sub(r"(?m)^(\s*)\[\](?=[^\n]*[^|]->)", r"\1", outside)
    if "[]" in outside:
        broken.append("temporal formula ([]) outside Spec's definition")
    if len(re.findall(r"\[\]", spec_text)) != 1 or "[][Next]_vars" not in spec_text:
        broken.append("Spec's definition must have exactly one [] : [][Next]_vars")

for b in broken:
    print(b)
sys.exit(1 if broken else 0)
EOF
}

# plant NAME: prints a copy of etcdraft.tla with violation NAME.
plant() {
  python3 - "$SPEC" "$1" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
how = sys.argv[2]
lines = text.rstrip("\n").split("\n")
if how == "header":
    lines[0] = "------ MODULE etcdraft ------"
elif how == "footer":
    lines[-1] = "============================="
elif how == "line-comment":
    lines.insert(3, "\\* a comment")
elif how == "block-comment":
    lines.insert(3, "(* a comment *)")
elif how == "markdown":
    lines.insert(3, "## Heading")
elif how == "invariant":
    lines.insert(-1, "TypeOK == currentTerm \\in [Server -> Nat]")
elif how == "temporal":
    lines.insert(-1, "Stays == [](state = state)")
elif how == "fairness-outside":
    text = "\n".join(lines)
    text = text.replace("Spec ==", "Fairness == \\A i \\in Server : WF_vars(Tick(i))\n\nSpec ==")
    text = re.sub(r"    /\\ \\A i \\in Server : WF_vars\(Tick\(i\)\)\n    /\\ \\A i, j \\in Server : WF_vars\(ReceiveOn\(j, i\)\)",
                  "    /\\ Fairness", text)
    lines = text.split("\n")
else:
    sys.exit(f"unknown violation {how}")
print("\n".join(lines))
EOF
}

passed=0
failed=0
pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }

if [[ ${1:-} == --self-test ]]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  for how in header footer line-comment block-comment markdown invariant temporal fairness-outside; do
    plant "$how" >"$tmp/etcdraft.tla"
    if cmp -s "$tmp/etcdraft.tla" "$SPEC"; then
      fail "spec rules self-test: planting $how changed nothing"
    elif out=$(check "$tmp/etcdraft.tla"); then
      fail "spec rules self-test: planted $how not caught"
    else
      pass "spec rules self-test: planted $how caught ($(echo "$out" | head -1))"
    fi
  done
else
  file=${1:-$SPEC}
  if out=$(check "$file"); then
    pass "spec rules: $(basename "$file") (header, footer, no comments, no markdown, no invariants, fairness inside Spec)"
  else
    echo "$out" | sed 's/^/  /'
    fail "spec rules: $(basename "$file")"
  fi
fi
echo "spec-rules: $passed passed, $failed failed"
[[ $failed == 0 ]]
