#!/usr/bin/env bash
# ctest deploy.alert_rules: deploy/prometheus/ppsim.rules.yaml passes `promtool check rules`, and
# `promtool test rules` runs ppsim.rules.test.yaml, in which every alert has a case where it
# fires and one where it must not (checked below); two broken copies of the rules (tce-wait
# left out of the safe strategies; the detach alert after 5 minutes) fail those unit tests.
# usage: alert_rules_test.sh SOURCE_DIR
set -euo pipefail
src=$1
here=$(cd "$(dirname "$0")" && pwd)
rules="$src/deploy/prometheus/ppsim.rules.yaml"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

promtool check rules "$rules"
promtool test rules "$here/ppsim.rules.test.yaml"

/usr/bin/python3 - "$rules" "$here/ppsim.rules.test.yaml" <<'PY'
import sys, yaml
alerts = [r["alert"] for g in yaml.safe_load(open(sys.argv[1]))["groups"] for r in g["rules"] if "alert" in r]
cases = [c for t in yaml.safe_load(open(sys.argv[2]))["tests"] for c in t.get("alert_rule_test", [])]
bad = []
for a in alerts:
    fires = any(c["alertname"] == a and c.get("exp_alerts") for c in cases)
    quiet = any(c["alertname"] == a and not c.get("exp_alerts") for c in cases)
    if not (fires and quiet):
        bad.append(f"{a}: {'no case where it fires' if not fires else ''}{'no case where it must not fire' if not quiet else ''}")
for b in bad:
    print("FAIL", b)
print(f"{len(alerts)} alerts, each with a firing and a non-firing case" if not bad else "", end="\n" if not bad else "")
sys.exit(1 if bad else 0)
PY

# mutate NAME SED-EXPR: the unit tests must fail on the broken copy.
mutate() {
  sed "$2" "$rules" >"$tmp/ppsim.rules.yaml"
  cmp -s "$rules" "$tmp/ppsim.rules.yaml" && { echo "FAIL: mutation '$1' did not apply"; exit 1; }
  sed "s|../../deploy/prometheus/ppsim.rules.yaml|$tmp/ppsim.rules.yaml|" "$here/ppsim.rules.test.yaml" >"$tmp/test.yaml"
  if promtool test rules "$tmp/test.yaml" >"$tmp/out" 2>&1; then
    echo "FAIL: the unit tests pass on broken rules ($1)"; exit 1
  fi
  echo "caught: $1"
}
mutate "tce-wait not a safe strategy" 's/|tce-wait|/|/'
mutate "detached alert after 5 minutes" 's/for: 10m/for: 5m/'
echo "deploy.alert_rules: ok"
