#!/usr/bin/env bash
# ctest: every catalog scenario runs embedded and against a real ppsimd; both must exit 0 and
# report the same digests (the same ops reach the same model). usage: PPSIMD PPCTL SCENARIO_DIR
source "$(dirname "$0")/daemon.sh"
ppctl=$2
dir=$3
start_ppsimd "$1"
digests() {
  /usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["schema"]=="ppsim.report/v1"; print(" ".join(x["strategy"]+"="+x["digest"] for x in r["runs"]))' "$1"
}
n=0
for f in "$dir"/*.yaml; do
  "$ppctl" run "$f" --report-json "$WORK/embedded.json" --junit "$WORK/junit.xml" >/dev/null
  "$ppctl" run "$f" --target "$GRPC_TARGET" --report-json "$WORK/remote.json" >/dev/null
  /usr/bin/python3 -c 'import sys,xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])' "$WORK/junit.xml"
  a=$(digests "$WORK/embedded.json")
  b=$(digests "$WORK/remote.json")
  if [[ "$a" != "$b" ]]; then
    echo "FAIL $f: embedded [$a] != remote [$b]" >&2
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
echo "all $n scenarios: same digests embedded and remote"
