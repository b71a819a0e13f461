#!/usr/bin/env bash
# ctest: /metrics follows gRPC's transport rule (issue 21 item 6). ppsimd with an
# exporter-toolkit web-config (TLS + a bcrypt basic-auth user) serves /metrics over HTTPS only
# to that user; a real Prometheus server (Debian's `prometheus`) scrapes it with `scheme:
# https`, the CA and the password, as the deploy's would; a non-loopback --metrics-listen
# without TLS is refused with the reason, and --metrics-insecure allows it with a warning.
# usage: PPSIMD
source "$(dirname "$0")/daemon.sh"
ppsimd=$1
WORK=$(mktemp -d)
cd "$WORK"

# A CA and a server certificate for 127.0.0.1 (Prometheus verifies the name).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key \
  -out ca.pem -days 1 -subj /CN=ppsim-test-ca 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key \
  -out server.csr -subj /CN=127.0.0.1 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >ext.cnf
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem \
  -days 1 -extfile ext.cnf 2>/dev/null
# bcrypt through libxcrypt, as htpasswd -B would make it (Python's crypt module wraps it).
hash=$(/usr/bin/python3 -W ignore -c 'import crypt; print(crypt.crypt("s3cret", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))')
[[ $hash == \$2b\$* ]] || { echo "no bcrypt hash: $hash"; exit 1; }
printf 'tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\nbasic_auth_users:\n  prometheus: %s\n' \
  "$hash" >web.yml

start_ppsimd "$ppsimd" --metrics-web-config "$WORK/web.yml"
grep -qF 'metrics: TLS, basic auth (1 users)' ppsimd.log || { cat ppsimd.log; exit 1; }

/usr/bin/python3 - "$METRICS_TARGET" "$WORK/ca.pem" <<'PY'
import base64, ssl, sys, urllib.error, urllib.request
target, ca = sys.argv[1], sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)
def get(auth, scheme="https"):
    req = urllib.request.Request(f"{scheme}://{target}/metrics")
    if auth:
        req.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(req, context=ctx if scheme == "https" else None, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, ""
for auth in (None, "prometheus:wrong", "grafana:s3cret"):
    status, _ = get(auth)
    assert status == 401, f"{auth}: HTTP {status}, expected 401"
status, body = get("prometheus:s3cret")
assert status == 200 and "ppsim_" in body, f"HTTP {status}: {body[:200]}"
try:
    get("prometheus:s3cret", scheme="http")
    raise AssertionError("plain HTTP on the TLS port answered")
except (urllib.error.URLError, ConnectionError, OSError) as e:
    if isinstance(e, AssertionError):
        raise
print("https /metrics: 401 without or with wrong credentials, 200 for prometheus; no plain HTTP")
PY

# A real Prometheus server scrapes it over TLS with basic auth.
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >prometheus.yml <<YML
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: ppsimd
    scheme: https
    tls_config:
      ca_file: $WORK/ca.pem
    basic_auth:
      username: prometheus
      password: s3cret
    static_configs:
      - targets: ["$METRICS_TARGET"]
YML
prometheus --config.file=prometheus.yml --storage.tsdb.path=tsdb \
  --web.listen-address="127.0.0.1:$port" >prometheus.log 2>&1 &
PROM_PID=$!
trap 'kill $PROM_PID 2>/dev/null; wait $PROM_PID 2>/dev/null; stop_ppsimd' EXIT
up=""
for _ in $(seq 1 120); do
  up=$(/usr/bin/python3 - "$port" <<'PY' 2>/dev/null || true
import json, sys, urllib.parse, urllib.request
q = urllib.parse.quote('up{job="ppsimd"}')
r = json.load(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/api/v1/query?query={q}"))
res = r["data"]["result"]
print(res[0]["value"][1] if res else "")
PY
)
  [[ $up == 1 ]] && break
  sleep 0.5
done
[[ $up == 1 ]] || { echo "prometheus: up{job=ppsimd} is '$up'"; tail -20 prometheus.log; exit 1; }
echo "prometheus: scraped ppsimd over TLS with basic auth (up = 1)"

# The transport rule: a non-loopback address without TLS is refused, naming the flag.
set +e
"$ppsimd" --listen 127.0.0.1:0 --metrics-listen 0.0.0.0:0 --data-dir "$WORK/d2" >refused.log 2>&1
rc=$?
set -e
[[ $rc == 64 ]] || { echo "plaintext metrics on 0.0.0.0: exit $rc, expected 64"; cat refused.log; exit 1; }
grep -qF -- '--metrics-listen: "0.0.0.0:0" is not a loopback address' refused.log ||
  { echo "refusal does not name the flag:"; cat refused.log; exit 1; }
"$ppsimd" --listen 127.0.0.1:0 --metrics-listen 0.0.0.0:0 --metrics-insecure --data-dir "$WORK/d3" \
  --ready-file "$WORK/ready3.json" >insecure.log 2>&1 &
pid3=$!
ready=no
for _ in $(seq 1 200); do [[ -s ready3.json ]] && { ready=yes; break; }; sleep 0.05; done
kill -TERM $pid3; wait $pid3 || true
[[ $ready == yes ]] || { echo "--metrics-insecure did not start"; cat insecure.log; exit 1; }
grep -q 'plaintext /metrics on non-loopback' insecure.log ||
  { echo "--metrics-insecure started without its warning"; cat insecure.log; exit 1; }
echo "metrics on 0.0.0.0: refused without TLS (exit 64), served with --metrics-insecure and a warning"
