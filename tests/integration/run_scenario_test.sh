#!/usr/bin/env bash
# ctest: every catalog scenario runs twice embedded and once against a real ppsimd. Every run
# must exit 0, the two embedded runs must report the same digests (a run is a pure function of
# the file: docs/design.md §3.1 "deterministic"), and embedded must equal remote (the same ops reach
# the same model). Prints the wall time. usage: PPSIMD PPCTL SCENARIO_DIR
source "$(dirname "$0")/daemon.sh"
ppctl=$2
dir=$3
t0=$(date +%s.%N)
start_ppsimd "$1"
# One python per scenario (its start-up dominates): the JUnit file parses, and the three
# reports' per-strategy digests agree. Prints "strategy=digest ..." or the mismatch and fails.
compare() {
  /usr/bin/python3 - "$@" <<'PY'
import json, sys, xml.dom.minidom
junit, embedded, again, remote = sys.argv[1:]
xml.dom.minidom.parse(junit)
def digests(path):
    r = json.load(open(path))
    assert r["schema"] == "ppsim.report/v1", path
    return " ".join(x["strategy"] + "=" + x["digest"] for x in r["runs"])
a, b, c = digests(embedded), digests(again), digests(remote)
if a != b:
    sys.exit(f"embedded run 1 [{a}] != run 2 [{b}] (nondeterministic)")
if a != c:
    sys.exit(f"embedded [{a}] != remote [{c}]")
print(a)
PY
}
run() {  # FILE REPORT [ppctl run flags...]: exit 0 or fail with what ppctl said
  local f=$1 report=$2
  shift 2
  if ! "$ppctl" run "$f" --report-json "$report" "$@" >"$WORK/out.txt" 2>&1; then
    cat "$WORK/out.txt" >&2
    echo "FAIL $f: ppctl run $* exited non-zero" >&2
    exit 1
  fi
}
n=0
for f in "$dir"/*.yaml; do
  run "$f" "$WORK/embedded.json" --junit "$WORK/junit.xml"
  run "$f" "$WORK/again.json"
  run "$f" "$WORK/remote.json" --target "$GRPC_TARGET"
  if ! a=$(compare "$WORK/junit.xml" "$WORK/embedded.json" "$WORK/again.json" "$WORK/remote.json"); then
    echo "FAIL $f" >&2
    exit 1
  fi
  echo "ok $(basename "$f"): $a"
  n=$((n + 1))
done
[[ $n -gt 0 ]] || { echo "no scenarios in $dir" >&2; exit 1; }
# A target that is not there: exit 5.
rc=0
"$ppctl" run "$dir/unbind-inflight.yaml" --target 127.0.0.1:1 --connect-timeout 1 >/dev/null 2>&1 || rc=$?
[[ $rc -eq 5 ]] || { echo "unreachable target exited $rc, want 5" >&2; exit 1; }
echo "all $n scenarios: same digests on a second embedded run and remote" \
  "($(/usr/bin/python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$t0" "$(date +%s.%N)") s wall)"
