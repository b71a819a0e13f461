#!/usr/bin/env bash
# ctest deploy.metrics: the dashboard and the alert rules against a real ppsimd and a real
# Prometheus (Debian's), on loopback.
#  - ppsimd serves a catalog scenario (ppctl run --target), then holds three labs built with
#    ppctl apply: the unbind-with-a-page-in-flight story (one page returned late, one still
#    held, so pool 1 stays detached) under legacy on v6.15, under dma-tracking on
#    v6.15-riscv32-nommu (no DMA tracking there: the late unmap returns, PP001), and under
#    dma-tracking on v6.15 (safe), each behind arm-smmu with 6.12-6.14's IOMMU release rule (where
#    a late unmap after removal oopses); the legacy lab then runs 700 virtual seconds, its pool
#    still detached;
#  - check_queries.py: every metric and label the dashboard and the rules use is in the scrape,
#    every dashboard query runs on Prometheus and returns series, and the alerts that fire on
#    these labs are exactly: PP001 under dma-tracking for the 32-bit lab, and the legacy lab's
#    pool detached for more than 600 virtual seconds; not the daemon-down alert.
# usage: metrics_test.sh PPSIMD PPCTL SOURCE_DIR
set -euo pipefail
ppsimd=$1 ppctl=$2 src=$3
here=$(cd "$(dirname "$0")" && pwd)
source "$src/tests/integration/daemon.sh"
start_ppsimd "$ppsimd"
T=(--target "$GRPC_TARGET")

"$ppctl" run "$src/client/scenarios/unbind-inflight.yaml" "${T[@]}" >"$WORK/run.txt" ||
  { cat "$WORK/run.txt"; echo "FAIL: the catalog scenario did not pass on the daemon"; exit 1; }

# story NAME PROFILE STRATEGY: prints the lab id.
story() {
  local lab out pages
  lab=$("$ppctl" create-lab "${T[@]}" --name "$1" --profile "$2" --strategy "$3" \
    --iommu arm-smmu --switch iommu_release_rule=dma-iommu-kept -q)
  out=$("$ppctl" apply "${T[@]}" --lab "$lab" add_device add_device bind_driver device=1 flags=1 \; \
    bind_driver device=2 flags=1 \; set_fault site=fail_page_alloc probability=1 times=1 \; \
    page_pool_alloc_pages pool=1 count=1 @softirq:0 \; page_pool_alloc_pages pool=1 count=2 @softirq:0 \; \
    page_pool_alloc_pages pool=2 count=1 @softirq:0)
  pages=$(echo "$out" | sed -n 's/.*pages=\([^ ]*\) .*pool=1$/\1/p')
  [[ -n "$pages" ]] || { echo "$out" >&2; echo "FAIL: no pages allocated in lab $lab" >&2; exit 1; }
  "$ppctl" apply "${T[@]}" --lab "$lab" -q unbind_driver device=1 \; remove_device device=1 \; \
    napi_pp_put_page page="${pages%%,*}" @softirq:0 \; advance_time ns=2s >&2
  echo "$lab"
}
legacy=$(story legacy v6.15 legacy)
x32=$(story x32 v6.15-riscv32-nommu dma-tracking)
fixed=$(story fixed v6.15 dma-tracking)
"$ppctl" apply "${T[@]}" --lab "$legacy" -q advance_time ns=700s >&2
echo "labs: legacy=$legacy x32=$x32 fixed=$fixed"

/usr/bin/python3 -c 'import sys,urllib.request; sys.stdout.write(urllib.request.urlopen("http://"+sys.argv[1]+"/metrics").read().decode())' \
  "$METRICS_TARGET" >"$WORK/scrape.txt"
promtool check metrics <"$WORK/scrape.txt"

# A real Prometheus scraping the daemon every second and evaluating the real rules.
start_prometheus "$src/deploy/prometheus/ppsim.rules.yaml"
port=$PROM_PORT
# Enough samples for rate() over the dashboard's windows: 4 scrapes.
for _ in $(seq 1 120); do
  n=$(/usr/bin/python3 - "$port" <<'PY' 2>/dev/null || true
import json, sys, urllib.parse, urllib.request
q = urllib.parse.quote('count_over_time(up{job="ppsimd"}[1m])')
r = json.load(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/api/v1/query?query={q}"))["data"]["result"]
print(r[0]["value"][1] if r else 0)
PY
)
  [[ "${n:-0}" -ge 4 ]] && break
  sleep 0.5
done
[[ "${n:-0}" -ge 4 ]] || { tail -20 "$WORK/prometheus.log"; echo "FAIL: Prometheus did not scrape ppsimd"; exit 1; }

cat >"$WORK/expect.json" <<JSON
{"PpsimUnsafeDmaUnderSafeStrategy": [{"lab": "$x32", "id": "PP001", "strategy": "dma-tracking", "job": "ppsimd"}],
 "PpsimPoolDetachedTooLongVirtual": [{"lab": "$legacy", "pool": "1", "strategy": "legacy"}]}
JSON
/usr/bin/python3 "$here/check_queries.py" "$WORK/scrape.txt" "$src/deploy/grafana/ppsim-dashboard.json" \
  "$src/deploy/prometheus/ppsim.rules.yaml" "http://127.0.0.1:$port" "$WORK/expect.json"

# The check can fail: a dashboard with a misspelt metric is rejected, naming it.
sed 's/ppsim_page_pool_inflight_bytes/ppsim_page_pool_inflight_byte/' \
  "$src/deploy/grafana/ppsim-dashboard.json" >"$WORK/typo.json"
if /usr/bin/python3 "$here/check_queries.py" "$WORK/scrape.txt" "$WORK/typo.json" \
    "$src/deploy/prometheus/ppsim.rules.yaml" "http://127.0.0.1:$port" "$WORK/expect.json" >"$WORK/typo.out"; then
  echo "FAIL: a dashboard using ppsim_page_pool_inflight_byte passed"; exit 1
fi
grep -q "metric ppsim_page_pool_inflight_byte is not exported by ppsimd" "$WORK/typo.out" ||
  { cat "$WORK/typo.out"; exit 1; }
echo "caught: misspelt metric in the dashboard"
