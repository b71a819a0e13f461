#!/usr/bin/env bash
# ctest: `ppctl chaos` and `ppctl soak` with worker threads on embedded labs, no daemon: the
# client's own concurrency (client/chaos/chaos_cli.cc, soak.cc). Under the tsan preset a data
# race makes ppctl exit 66 (TSan's exitcode), so this is the tsan stage's check of the worker
# threads and of a lab shared between them (--shared-lab).
#   - 4 workers, each on its own lab (worker i on seed+i): the same digests on a second run
#   - 3 workers on one shared lab (their interleaving, so the digests, vary): 3 runs, exit 0
#   - soak with 3 workers for 3 s: exits 0 and says how many workers ran
# usage: PPCTL
set -euo pipefail
ppctl=$1
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
digests() {
  /usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(" ".join(x["digest"] for x in r["runs"]))' "$1"
}

for i in 1 2; do
  "$ppctl" chaos --seed 11 --ops 3000 --workers 4 --report-json "$WORK/w$i.json" \
    >/dev/null 2>"$WORK/w$i.err" || fail "chaos --workers 4 exited $?: $(tail -20 "$WORK/w$i.err")"
  "$ppctl" chaos --seed 11 --ops 3000 --workers 3 --shared-lab --report-json "$WORK/s$i.json" \
    >/dev/null 2>"$WORK/s$i.err" || fail "chaos --shared-lab exited $?: $(tail -20 "$WORK/s$i.err")"
done
a=$(digests "$WORK/w1.json"); b=$(digests "$WORK/w2.json")
[[ $(wc -w <<<"$a") -eq 4 ]] || fail "4 workers, runs: $a"
[[ "$a" == "$b" ]] || fail "4 workers on their own labs, two runs differ: $a != $b"
[[ $(tr ' ' '\n' <<<"$a" | sort -u | wc -l) -eq 4 ]] || fail "4 seeds, 4 different digests: $a"
echo "ok 4 workers: $a"
s=$(digests "$WORK/s1.json")
[[ $(wc -w <<<"$s") -eq 3 ]] || fail "3 workers on a shared lab, runs: $s"
echo "ok 3 workers on one lab: $s"

"$ppctl" soak --seed 11 --duration 3s --workers 3 >"$WORK/soak.out" 2>"$WORK/soak.err" ||
  fail "soak exited $?: $(tail -20 "$WORK/soak.err")"
grep -q "3 workers" "$WORK/soak.out" || fail "soak summary: $(tail -3 "$WORK/soak.out")"
echo "ok soak: $(tail -1 "$WORK/soak.out")"
