#!/usr/bin/env bash
# ctest: `ppctl chaos` and `ppctl soak` embedded and against a real ppsimd.
#   - the seed is the first line on stderr; the same seed gives the same digest embedded and
#     remote, twice (the generator and the lab are deterministic, batching included)
#   - --workers 3 works both ways (worker i on seed+i: the same digests both ways)
#   - soak --duration 3s exits 0, writes JSON + JUnit, prints plain progress lines off a TTY
#   - an unreachable target exits 5; a bad --weights name exits 64 naming it
# usage: PPSIMD PPCTL
source "$(dirname "$0")/daemon.sh"
ppctl=$2
start_ppsimd "$1"
fail() { echo "FAIL: $*" >&2; exit 1; }
digests() {
  /usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["schema"]=="ppsim.report/v1"; print(" ".join(x["digest"] for x in r["runs"]))' "$1"
}

for i in 1 2; do
  "$ppctl" chaos --seed 7 --ops 3000 --strategy dma-tracking --report-json "$WORK/e$i.json" \
    >/dev/null 2>"$WORK/e$i.err" || fail "embedded chaos exited $?: $(cat "$WORK/e$i.err")"
  "$ppctl" chaos --seed 7 --ops 3000 --strategy dma-tracking --target "$GRPC_TARGET" \
    --report-json "$WORK/r$i.json" >/dev/null 2>"$WORK/r$i.err" || fail "remote chaos exited $?"
  [[ "$(head -1 "$WORK/e$i.err")" == "seed 7" ]] || fail "seed not first: $(head -1 "$WORK/e$i.err")"
  [[ "$(head -1 "$WORK/r$i.err")" == "seed 7" ]] || fail "seed not first (remote)"
done
a=$(digests "$WORK/e1.json"); b=$(digests "$WORK/r1.json"); c=$(digests "$WORK/e2.json"); d=$(digests "$WORK/r2.json")
[[ "$a" == "$b" && "$a" == "$c" && "$a" == "$d" ]] || fail "digests differ: $a $b $c $d"
echo "ok chaos seed 7: $a embedded and remote, twice"

# A random seed is printed too, and rerunning with it reproduces the digest.
"$ppctl" chaos --ops 500 --report-json "$WORK/rand.json" >/dev/null 2>"$WORK/rand.err"
seed=$(head -1 "$WORK/rand.err" | sed -n 's/^seed \([0-9]*\)$/\1/p')
[[ -n "$seed" ]] || fail "no seed line: $(head -1 "$WORK/rand.err")"
"$ppctl" chaos --ops 500 --seed "$seed" --report-json "$WORK/rand2.json" >/dev/null 2>&1
[[ "$(digests "$WORK/rand.json")" == "$(digests "$WORK/rand2.json")" ]] || fail "seed $seed does not reproduce"
echo "ok random seed $seed reproduces"

"$ppctl" chaos --seed 3 --ops 800 --workers 3 --report-json "$WORK/w.json" >/dev/null 2>&1 || fail "workers embedded"
"$ppctl" chaos --seed 3 --ops 800 --workers 3 --target "$GRPC_TARGET" --report-json "$WORK/wr.json" \
  >/dev/null 2>&1 || fail "workers remote"
a=$(digests "$WORK/w.json"); b=$(digests "$WORK/wr.json")
[[ "$a" == "$b" ]] || fail "workers: $a != $b"
[[ $(wc -w <<<"$a") -eq 3 ]] || fail "3 workers, runs: $a"
"$ppctl" chaos --seed 3 --ops 500 --workers 3 --shared-lab --target "$GRPC_TARGET" >/dev/null 2>&1 \
  || fail "shared lab"
echo "ok --workers 3 (and --shared-lab)"

rc=0
"$ppctl" soak --duration 3s --seed 5 --workers 2 --round-ops 500 --progress-interval 1s \
  --report-json "$WORK/soak.json" --junit "$WORK/soak.xml" >/dev/null 2>"$WORK/soak.err" || rc=$?
[[ $rc -eq 0 ]] || fail "soak exited $rc: $(tail -5 "$WORK/soak.err")"
/usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["schema"]=="ppsim.soak/v1" and r["verdict"]=="pass" and r["rounds"]>0, r' "$WORK/soak.json"
/usr/bin/python3 -c 'import sys,xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])' "$WORK/soak.xml"
grep -q '^soak .* ops/s' "$WORK/soak.err" || fail "no progress line"
grep -q $'\r' "$WORK/soak.err" && fail "carriage returns off a terminal"
grep -q '^round w0.0 seed [0-9]*: pass (ppctl chaos --seed' "$WORK/soak.err" || fail "round seeds not printed"
"$ppctl" soak --duration 2s --seed 5 --round-ops 300 --target "$GRPC_TARGET" --strategy dma-tracking \
  --report-json "$WORK/soakr.json" >/dev/null 2>&1 || fail "remote soak"
echo "ok soak (embedded and remote)"

rc=0
"$ppctl" chaos --seed 1 --ops 10 --target 127.0.0.1:1 --connect-timeout 1 >/dev/null 2>&1 || rc=$?
[[ $rc -eq 5 ]] || fail "unreachable target exited $rc, want 5"
rc=0
"$ppctl" chaos --seed 1 --weights alloc=1,allocc=2 >/dev/null 2>"$WORK/bad.err" || rc=$?
[[ $rc -eq 64 ]] || fail "bad weights exited $rc, want 64"
grep -q 'allocc' "$WORK/bad.err" || fail "bad weights error does not name it: $(cat "$WORK/bad.err")"
echo "ok exit codes 5 and 64"
