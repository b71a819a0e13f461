# Sourced by the integration scripts: start a real ppsimd on loopback with free ports and wait
# until its --ready-file says where it listens. Sets GRPC_TARGET, METRICS_TARGET, PPSIMD_PID,
# WORK; the EXIT trap stops the daemon and removes WORK.
set -euo pipefail

start_ppsimd() {
  local ppsimd=$1
  WORK=$(mktemp -d)
  trap 'stop_ppsimd' EXIT
  "$ppsimd" --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 --data-dir "$WORK/data" \
    --ready-file "$WORK/ready.json" --log-format json >"$WORK/ppsimd.log" 2>&1 &
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
