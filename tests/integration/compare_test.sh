#!/usr/bin/env bash
# ctest: `ppctl compare` against a real ppsimd gives the table the embedded lab gives — same
# digest and same teardown costs (drain, lock hold, removal latency, memory) for every
# strategy — so the model's timings reach a remote client intact through PoolInfo (proto
# fields detached_at_ns, freed_at_ns, device_removal_wait_ns, costs.peak_memory_bytes).
# Host time is the only column allowed to differ. usage: compare_test.sh PPSIMD PPCTL SCENARIO_DIR
source "$(dirname "$0")/daemon.sh"
ppctl=$2
scenario=$3/unbind-inflight.yaml
start_ppsimd "$1"
rc=0
"$ppctl" compare "$scenario" --json >"$WORK/embedded.json" 2>"$WORK/seed.txt" || rc=$?
[[ $rc -eq 1 ]] || { echo "embedded compare exited $rc, want 1 (tce-wait: PP002)" >&2; exit 1; }
grep -q '^ppctl compare: seed 1$' "$WORK/seed.txt" || { echo "no seed line on stderr" >&2; exit 1; }
rc=0
"$ppctl" compare "$scenario" --json --target "$GRPC_TARGET" >"$WORK/remote.json" 2>/dev/null ||
  rc=$?
[[ $rc -eq 1 ]] || { echo "remote compare exited $rc, want 1" >&2; exit 1; }
/usr/bin/python3 - "$WORK/embedded.json" "$WORK/remote.json" <<'PY'
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
assert [r["strategy"] for r in a["runs"]] == [r["strategy"] for r in b["runs"]]
assert len(a["runs"]) == 6, len(a["runs"])
for x, y in zip(a["runs"], b["runs"]):
    cx = {k: v for k, v in x["costs"].items() if k != "strategy_host_ns"}
    cy = {k: v for k, v in y["costs"].items() if k != "strategy_host_ns"}
    assert x["digest"] == y["digest"], (x["strategy"], x["digest"], y["digest"])
    assert cx == cy, (x["strategy"], cx, cy)
    assert x["verdict"] == y["verdict"], x["strategy"]
    print(f"ok {x['strategy']}: {x['verdict']} {x['digest']} {cx}")
tce = next(r for r in b["runs"] if r["strategy"] == "tce-wait")
assert tce["costs"]["removal_latency_ns"] > 0, tce["costs"]
PY
echo "compare: embedded and remote agree on digests and costs"
