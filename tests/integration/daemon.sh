# Sourced by the integration scripts: start a real ppsimd on loopback with free ports and wait
# until its --ready-file says where it listens. Sets GRPC_TARGET, METRICS_TARGET, PPSIMD_PID,
# WORK; the EXIT trap stops the daemon and removes WORK.
set -euo pipefail

# usage: start_ppsimd PPSIMD [EXTRA_FLAG...] (extra flags come last and win).
start_ppsimd() {
  local ppsimd=$1
  shift
  WORK=${WORK:-$(mktemp -d)}
  trap 'stop_ppsimd' EXIT
  "$ppsimd" --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 --data-dir "$WORK/data" \
    --ready-file "$WORK/ready.json" --log-format json "$@" >"$WORK/ppsimd.log" 2>&1 &
  PPSIMD_PID=$!
  for _ in $(seq 1 200); do
    [[ -s "$WORK/ready.json" ]] && break
    kill -0 "$PPSIMD_PID" 2>/dev/null || { cat "$WORK/ppsimd.log"; echo "ppsimd died" >&2; exit 1; }
    sleep 0.05
  done
  [[ -s "$WORK/ready.json" ]] || { cat "$WORK/ppsimd.log"; echo "ppsimd not ready" >&2; exit 1; }
  GRPC_TARGET=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["grpc"])' "$WORK/ready.json")
  METRICS_TARGET=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["metrics"])' "$WORK/ready.json")
  export GRPC_TARGET METRICS_TARGET
}

stop_ppsimd() {
  if [[ -n "${PPSIMD_PID:-}" ]] && kill -0 "$PPSIMD_PID" 2>/dev/null; then
    kill -TERM "$PPSIMD_PID"
    wait "$PPSIMD_PID" || true
  fi
  [[ -n "${WORK:-}" ]] && rm -rf "$WORK"
}

# A real Prometheus on a free loopback port scraping the started ppsimd every second, with
# the rule file $1 if given (evaluated every second too). Sets PROM_PORT; the EXIT trap also
# stops Prometheus. Call after start_ppsimd.
start_prometheus() {
  local rules=${1:-}
  PROM_PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  {
    printf 'global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n'
    [[ -n "$rules" ]] && printf 'rule_files:\n  - %s\n' "$rules"
    printf 'scrape_configs:\n  - job_name: ppsimd\n    static_configs:\n      - targets: ["%s"]\n' \
      "$METRICS_TARGET"
  } >"$WORK/prometheus.yml"
  prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/tsdb" \
    --web.listen-address="127.0.0.1:$PROM_PORT" >"$WORK/prometheus.log" 2>&1 &
  PROM_PID=$!
  trap 'kill $PROM_PID 2>/dev/null; wait $PROM_PID 2>/dev/null; stop_ppsimd' EXIT
}
