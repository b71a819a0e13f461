#!/usr/bin/env bash
# ctest: /metrics of a real ppsimd that served a workload passes `promtool check metrics`, its
# values equal what GetPool says, and a real Prometheus server (Debian's `prometheus`) scraping it
# on loopback answers a query for the pool's inflight. usage: PPSIMD PROTO_DIR
source "$(dirname "$0")/daemon.sh"
start_ppsimd "$1"
/usr/bin/python3 "$(dirname "$0")/python_client.py" "$2" "$GRPC_TARGET" >/dev/null

scrape=$(/usr/bin/python3 -c 'import sys,urllib.request; print(urllib.request.urlopen("http://"+sys.argv[1]+"/metrics").read().decode())' "$METRICS_TARGET")
echo "$scrape" | promtool check metrics
echo "$scrape" | grep -E '^ppsim_page_pool_inflight_pages\{.*\} 64$' >/dev/null ||
  { echo "scrape lacks ppsim_page_pool_inflight_pages 64 (GetPool said 64):"; echo "$scrape" | grep inflight; exit 1; }
echo "$scrape" | grep -E '^ppsim_page_pool_alloc_slow_total\{.*\} 1$' >/dev/null ||
  { echo "scrape lacks ppsim_page_pool_alloc_slow_total 1"; exit 1; }

# A real Prometheus server on a free loopback port scrapes the daemon every second.
start_prometheus
port=$PROM_PORT
for _ in $(seq 1 120); do
  value=$(/usr/bin/python3 - "$port" <<'PY' 2>/dev/null || true
import json, sys, urllib.parse, urllib.request
q = urllib.parse.quote('ppsim_page_pool_inflight_pages{pool="1"}')
r = json.load(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/api/v1/query?query={q}"))
res = r["data"]["result"]
print(res[0]["value"][1] if res else "")
PY
)
  if [[ "$value" == "64" ]]; then
    echo "prometheus: ppsim_page_pool_inflight_pages{pool=\"1\"} = $value"
    exit 0
  fi
  sleep 0.5
done
echo "prometheus never returned inflight 64 (last: '$value')"; tail -20 "$WORK/prometheus.log"; exit 1
