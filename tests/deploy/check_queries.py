#!/usr/bin/python3
"""The dashboard and the alert rules against a real ppsimd and a real Prometheus.

usage: check_queries.py SCRAPE DASHBOARD RULES PROM_URL EXPECT_JSON

SCRAPE is /metrics of a ppsimd that has served a scenario and holds labs in the states the
panels show; PROM_URL a Prometheus that scrapes that daemon (job "ppsimd") and evaluates RULES.
Checks:
 1. every metric name in the dashboard's queries and variables and in the rules' expressions is
    exported by ppsimd (in SCRAPE) or, for `up`, made by Prometheus for job ppsimd; every label
    a selector matches on exists on that metric;
 2. every dashboard query runs on Prometheus without error and returns series, and every
    {{label}} of its legend is a label of the result; every variable query finds values; the
    panels do not overlap and use the ${datasource} variable;
 3. the alerts that fire are exactly EXPECT_JSON: {alertname: [{label: value, ...}, ...]}.
"""
import json
import re
import sys
import time
import urllib.parse
import urllib.request

scrape_path, dash_path, rules_path, prom, expect_path = sys.argv[1:6]
problems = []
PROM_MADE = {"up"}  # series Prometheus adds per target
TARGET_LABELS = {"job", "instance"}  # Prometheus adds them to every scraped series
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset",
            "and", "or", "unless", "inf", "nan",
            # aggregation operators: `sum by (l) (x)` puts the clause between name and "("
            "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
            "bottomk", "topk", "quantile"}


def fail(msg):
    problems.append(msg)
    print(f"FAIL {msg}")


# The exposition: metric name -> label names.
exported = {}
for line in open(scrape_path, encoding="utf-8"):
    if line.startswith("#") or not line.strip():
        continue
    m = re.match(r"([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s", line)
    exported.setdefault(m.group(1), set()).update(re.findall(r'(\w+)="', m.group(2) or ""))


def metric_names(expr):
    """Metric names and their selectors' label names, from a PromQL expression."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)                  # string literals
    selectors = re.findall(r"([a-zA-Z_:][\w:]*)\s*\{([^}]*)\}", e)
    e = re.sub(r"\{[^}]*\}", " ", e)                              # matchers
    e = re.sub(r"\[[^\]]*\]", " ", e)                             # ranges
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", r"\1", e)
    names = set()
    for m in re.finditer(r"[a-zA-Z_:][\w:]*", e):
        tok, rest = m.group(0), e[m.end():]
        if tok.lower() in KEYWORDS or re.match(r"\s*\(", rest):
            continue                                              # keyword or function
        names.add(tok)
    labels = {}
    for name, matchers in selectors:
        labels.setdefault(name, set()).update(re.findall(r"(\w+)\s*(?:=~|!~|!=|=)", matchers))
    return names, labels


def check_names(where, expr):
    names, labels = metric_names(expr)
    if not names:
        fail(f"{where}: no metric in {expr!r}")
    for n in names:
        if n in PROM_MADE:
            have = TARGET_LABELS
        elif n in exported:
            have = exported[n] | TARGET_LABELS
        else:
            fail(f"{where}: metric {n} is not exported by ppsimd")
            continue
        for label in labels.get(n, ()):
            if label not in have:
                fail(f"{where}: {n} has no label {label} (it has {sorted(have)})")


def api(path, **params):
    url = f"{prom}/api/v1/{path}?{urllib.parse.urlencode(params, doseq=True)}"
    try:
        body = json.load(urllib.request.urlopen(url, timeout=10))
    except urllib.error.HTTPError as e:
        body = json.load(e)
    if body.get("status") != "success":
        raise RuntimeError(body.get("error", body))
    return body["data"]


dash = json.load(open(dash_path, encoding="utf-8"))
variables = {"$__rate_interval": "1m", "$lab": ".*", "$strategy": ".*"}


def substitute(expr):
    for k in sorted(variables, key=len, reverse=True):
        expr = expr.replace(k, variables[k])
    return expr


def panels(ps):
    for p in ps:
        yield p
        yield from panels(p.get("panels", []))


# Layout: unique panel ids, inside the 24-column grid, no two panels on the same cell, every
# query panel on the ${datasource} variable (no data source uid from someone's Grafana).
cells, ids = {}, set()
for p in panels(dash["panels"]):
    if p["id"] in ids:
        fail(f"panel {p['title']!r}: duplicate id {p['id']}")
    ids.add(p["id"])
    g = p["gridPos"]
    if g["x"] < 0 or g["x"] + g["w"] > 24:
        fail(f"panel {p['title']!r}: outside the 24-column grid")
    for x in range(g["x"], g["x"] + g["w"]):
        for y in range(g["y"], g["y"] + g["h"]):
            if (x, y) in cells:
                fail(f"panel {p['title']!r} overlaps {cells[(x, y)]!r}")
            cells[(x, y)] = p["title"]
    if p["type"] != "row" and p.get("datasource", {}).get("uid") != "${datasource}":
        fail(f"panel {p['title']!r}: data source is not ${{datasource}}")

queries = 0
for p in panels(dash["panels"]):
    for t in p.get("targets", []):
        where = f"panel {p['title']!r} {t['refId']}"
        queries += 1
        check_names(where, t["expr"])
        try:
            result = api("query", query=substitute(t["expr"]))["result"]
        except RuntimeError as e:
            fail(f"{where}: Prometheus rejects {t['expr']!r}: {e}")
            continue
        if not result:
            fail(f"{where}: no series for {substitute(t['expr'])!r}")
            continue
        for label in re.findall(r"\{\{\s*(\w+)\s*\}\}", t.get("legendFormat", "")):
            if not any(label in r["metric"] for r in result):
                fail(f"{where}: legend uses {{{{{label}}}}}, which the result does not have")
for v in dash["templating"]["list"]:
    if v["type"] != "query":
        continue
    q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
    m = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", q)
    if not m:
        fail(f"variable {v['name']}: unsupported query {q!r}")
        continue
    check_names(f"variable {v['name']}", m.group(1))
    values = api(f"label/{m.group(2)}/values", **{"match[]": m.group(1)})
    if not values:
        fail(f"variable {v['name']}: {q} finds no values")
    queries += 1

import yaml  # noqa: E402  (Debian's python3-yaml)
rules = [r for g in yaml.safe_load(open(rules_path, encoding="utf-8"))["groups"] for r in g["rules"]]
for r in rules:
    check_names(f"rule {r.get('alert') or r.get('record')}", r["expr"])

# Alerts: wait until every expected one fires (rules are evaluated every second), then compare.
expect = json.load(open(expect_path, encoding="utf-8"))


def firing():
    got = {}
    for a in api("alerts")["alerts"]:
        if a["state"] == "firing":
            got.setdefault(a["labels"]["alertname"], []).append(a["labels"])
    return got


def matches(got, want):
    return all(got.get(k) == v for k, v in want.items())


def same(got):
    for name in set(got) | set(expect):
        g, w = got.get(name, []), expect.get(name, [])
        if len(g) != len(w) or not all(any(matches(x, y) for x in g) for y in w):
            return False
    return True


deadline = time.time() + 30
got = firing()
while not same(got) and time.time() < deadline:
    time.sleep(0.5)
    got = firing()
for name in sorted(set(got) | set(expect)):
    g = [{k: v for k, v in a.items() if k in ("lab", "pool", "id", "strategy")} for a in got.get(name, [])]
    print(f"alert {name}: firing for {g}")
if not same(got):
    fail(f"firing alerts {json.dumps(got, sort_keys=True)} are not the expected {json.dumps(expect, sort_keys=True)}")

print(f"{queries} dashboard queries and variables, {len(rules)} rules, "
      f"{len(exported)} exported metric names: " + ("ok" if not problems else f"{len(problems)} problem(s)"))
sys.exit(1 if problems else 0)
