#!/usr/bin/env bash
# The main job: install what is missing, build, start ppsimd with its embedded defaults (gRPC on
# 127.0.0.1:50051, metrics on 127.0.0.1:9464, data in ./ppsim-data; free ports if those are
# taken), run the demo story and a seeded chaos scenario against it and print where the
# metrics are. On a terminal the
# daemon keeps running until Ctrl-C so the metrics can be looked at; otherwise it is stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh release ppsimd ppctl

bin=build/release
ready=$(mktemp -u /tmp/ppsimd-ready.XXXXXX)
start() {
  "$bin/server/ppsimd" --ready-file "$ready" "$@" >ppsimd.log 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do
    [[ -s "$ready" ]] && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}
if ! start; then
  echo "demo: the default ports are busy; using free ones"
  start --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 || { cat ppsimd.log; exit 1; }
fi
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
grpc=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["grpc"])' "$ready")
metrics=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["metrics"])' "$ready")
echo "ppsimd: gRPC on $grpc, metrics on http://$metrics/metrics, log in ./ppsimd.log"
echo
"$bin/client/ppctl/ppctl" demo --target "$grpc" --metrics "http://$metrics/metrics" "$@"
echo
echo "== A seeded chaos scenario against ppsimd: an unbind storm with pages in flight, legacy"
echo "   against dma-tracking (client/scenarios/soak-unbind-storm.yaml; its expect: legacy"
echo "   raises PP001/PP005, dma-tracking stays clean). Report: ./ppsim-demo-chaos.html"
"$bin/client/ppctl/ppctl" run client/scenarios/soak-unbind-storm.yaml --target "$grpc" \
    --html ppsim-demo-chaos.html
if [[ -t 0 ]]; then
  echo "ppsimd keeps running with the demo's labs; press Ctrl-C to stop it."
  wait "$pid" || true
fi
