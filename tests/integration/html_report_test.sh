#!/usr/bin/env bash
# ctest: the HTML report (docs/design.md §6) rendered by a real browser, headless Chromium.
#   1. `ppctl run unbind-inflight.yaml --html` and `ppctl compare ... --html` write the pages;
#      `ppctl report` re-renders the saved JSON to the same page.
#   2. The page is self-contained: no http(s):// or protocol-relative URL, no src=/href=, no
#      script, no url(), no @import.
#   3. --dump-dom: the DOM Chromium built has the inflight plot (a polyline with points) and
#      one marker with a <title> per violation record of the JSON report.
#   4. --screenshot: a PNG of the page that is not blank, and that has pixels in the plot's
#      line colour and the crash markers' colour.
#   5. A net log (--log-net-log, capture mode Everything) of loading the page shows no request
#      the page initiated. Chromium's own background requests ("initiator": "not an origin")
#      are not the page's; the host resolver maps every name to NOTFOUND so that even those
#      never leave the machine. A control page that does reference http://127.0.0.1:9/ must
#      show up in its net log, so the check is known to see page requests.
# usage: html_report_test.sh PPCTL SCENARIO_DIR. Exit 77 (ctest SKIP) only if no chromium.
set -euo pipefail
ppctl=$1
dir=$2
PY=/usr/bin/python3
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [[ -z "$CHROMIUM" ]]; then
  echo "SKIP: chromium is not installed (scripts/install-deps.sh installs the Debian package)"
  exit 77
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# One headless Chromium on a file:// page, with its own profile and a net log.
#   browse NAME PAGE EXTRA-FLAGS...    (stdout: the flags' output, e.g. --dump-dom)
browse() {
  local name=$1 page=$2
  shift 2
  timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --disable-default-apps --disable-extensions \
    --no-first-run --no-default-browser-check --disable-domain-reliability --no-pings \
    --host-resolver-rules='MAP * ~NOTFOUND' \
    --user-data-dir="$WORK/profile-$name" --log-net-log="$WORK/net-$name.json" \
    --net-log-capture-mode=Everything "$@" "file://$page" 2>"$WORK/chromium-$name.log"
}

# --- 1. the reports ----------------------------------------------------------------------------
rc=0
"$ppctl" run "$dir/unbind-inflight.yaml" --html "$WORK/run.html" --report-json "$WORK/run.json" \
  >/dev/null 2>&1 || rc=$?
[[ $rc -eq 0 ]] || fail "ppctl run exited $rc"
[[ -s "$WORK/run.html" ]] || fail "ppctl run --html wrote nothing"
"$ppctl" report "$WORK/run.json" --html "$WORK/rerendered.html" >/dev/null
cmp -s "$WORK/run.html" "$WORK/rerendered.html" ||
  fail "ppctl report renders the saved JSON differently from the run"
rc=0
"$ppctl" compare "$dir/unbind-inflight.yaml" --strategies legacy,scan,tce-wait \
  --html "$WORK/compare.html" --report-json "$WORK/compare.json" >/dev/null 2>&1 || rc=$?
[[ $rc -eq 1 ]] || fail "ppctl compare exited $rc, want 1 (tce-wait's PP002 is not expected)"
# `report` re-renders the compare too: the table names every strategy, the JUnit is XML with a
# testcase per strategy and check; a missing or foreign file is a usage error (64).
"$ppctl" report "$WORK/compare.json" --text --junit "$WORK/compare.xml" >"$WORK/table.txt"
for s in legacy scan tce-wait; do
  grep -q "^$s " "$WORK/table.txt" || fail "ppctl report --text lacks a row for $s"
done
$PY -c 'import sys,xml.dom.minidom as m; d=m.parse(sys.argv[1]); n=len(d.getElementsByTagName("testcase")); assert n == 3, n' \
  "$WORK/compare.xml" || fail "ppctl report --junit: not the expected JUnit XML"
rc=0; "$ppctl" report "$WORK/none.json" 2>/dev/null || rc=$?
[[ $rc -eq 64 ]] || fail "ppctl report on a missing file exited $rc, want 64"
rc=0; "$ppctl" report "$WORK/compare.xml" 2>"$WORK/err.txt" || rc=$?
[[ $rc -eq 64 ]] && grep -q "not a JSON document" "$WORK/err.txt" ||
  fail "ppctl report on XML exited $rc: $(cat "$WORK/err.txt")"
rc=0; "$ppctl" compare "$dir/unbind-inflight.yaml" --strategies legacy,nope 2>"$WORK/err.txt" || rc=$?
[[ $rc -eq 64 ]] && grep -q '"nope".*release-on-destroy' "$WORK/err.txt" ||
  fail "an unknown strategy exited $rc: $(cat "$WORK/err.txt")"

# --- 2. self-contained -------------------------------------------------------------------------
for page in run compare; do
  if grep -n -i -E 'https?:|//|src=|href=|<script|url\(|@import|<link' "$WORK/$page.html"; then
    fail "$page.html refers to something outside itself (lines above)"
  fi
done

# --- 3. the DOM Chromium built -----------------------------------------------------------------
browse dom "$WORK/run.html" --dump-dom >"$WORK/dom.html" || fail "chromium --dump-dom failed"
$PY - "$WORK/dom.html" "$WORK/run.json" <<'EOF' || fail "the rendered DOM lacks the plot or markers"
import html.parser, json, sys
dom, report = open(sys.argv[1]).read(), json.load(open(sys.argv[2]))

class Walk(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.polylines, self.markers, self.titles, self.ticks = [], [], 0, [], 0
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.stack.append((tag, a))
        if tag == "polyline" and "inflight" in a.get("class", ""):
            self.polylines.append(a.get("points", ""))
        if tag == "circle" and "marker" in a.get("class", ""):
            self.markers += 1
        if tag == "line" and a.get("class") == "grid":
            self.ticks += 1
    def handle_endtag(self, tag):
        while self.stack and self.stack.pop()[0] != tag:
            pass
    def handle_data(self, data):
        if self.stack and self.stack[-1][0] == "title" and len(self.stack) > 1 \
                and self.stack[-2][0] == "circle":
            self.titles.append(data)

w = Walk()
w.feed(dom)
run = report["runs"][0]
events = run["events"]
assert w.polylines, "no inflight polyline"
points = [p for p in w.polylines[0].split() if "," in p]
assert len(points) >= 2 * len(run["inflight"]), (len(points), len(run["inflight"]))
for p in points:
    x, y = map(float, p.split(","))
assert w.ticks >= 4, f"only {w.ticks} grid lines/ticks"
assert events, "the run raised no violation (the scenario expects PP001 and PP005)"
assert w.markers == len(events), (w.markers, len(events))
for e, t in zip(events, w.titles):
    assert t.startswith(f"{e['id']} at op {e['op']},"), (t, e)
print(f"dom: polyline with {len(points)} points, {w.ticks} grid lines, "
      f"{w.markers} markers: {'; '.join(w.titles)}")
EOF

# --- 4. a screenshot that shows the plot -------------------------------------------------------
(cd "$WORK" && browse shot "$WORK/run.html" --window-size=1000,1400 --screenshot="$WORK/shot.png" \
  >/dev/null) || fail "chromium --screenshot failed"
[[ -s "$WORK/shot.png" ]] || fail "no screenshot written"
$PY - "$WORK/shot.png" <<'EOF' || fail "the screenshot does not show the report"
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, hdr = 8, b"", None
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        hdr = struct.unpack(">IIBBBBB", body)
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
width, height, depth, ctype = hdr[:4]
assert depth == 8 and ctype in (2, 6), f"unexpected PNG format depth={depth} type={ctype}"
bpp = 3 if ctype == 2 else 4
raw, stride = zlib.decompress(idat), width * bpp
prev, rows, i = bytearray(stride), [], 0
for _ in range(height):
    f, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
    i += 1 + stride
    for x in range(stride):
        a = line[x - bpp] if x >= bpp else 0
        b, c = prev[x], prev[x - bpp] if x >= bpp else 0
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(bytes(line))
    prev = line
colours, blue, red = set(), 0, 0
for row in rows:
    for x in range(0, stride, bpp):
        r, g, b = row[x], row[x + 1], row[x + 2]
        colours.add((r, g, b))
        if abs(r - 0x09) < 40 and abs(g - 0x69) < 40 and abs(b - 0xda) < 40: blue += 1
        if abs(r - 0xcf) < 40 and abs(g - 0x22) < 40 and abs(b - 0x2e) < 40: red += 1
print(f"screenshot: {width}x{height}, {len(colours)} colours, {blue} line-blue and {red} "
      f"crash-red pixels")
assert len(colours) > 50, "nearly blank"
assert blue > 100, "no inflight line visible"
assert red > 20, "no crash marker visible"
EOF

# --- 5. the net log: nothing requested by the page ---------------------------------------------
cat >"$WORK/control.html" <<'EOF'
<!DOCTYPE html><html><body><img src="http://127.0.0.1:9/control.png"></body></html>
EOF
browse control "$WORK/control.html" --dump-dom >/dev/null || fail "chromium (control) failed"
$PY - "$WORK/net-control.json" "$WORK/net-dom.json" "$WORK/net-shot.json" <<'EOF' ||
import json, sys

def requests(path):
    d = json.load(open(path))
    names = {v: k for k, v in d["constants"]["logEventTypes"].items()}
    out = []
    for e in d.get("events", []):
        p = e.get("params") or {}
        if names.get(e["type"]) == "URL_REQUEST_START_JOB" and "url" in p:
            out.append((p.get("initiator", ""), p["url"]))
    return out

control = requests(sys.argv[1])
assert any(u == "http://127.0.0.1:9/control.png" and i != "not an origin" for i, u in control), \
    f"the control page's request is not in its net log: {control}"
for path in sys.argv[2:]:
    reqs = requests(path)
    page = [(i, u) for i, u in reqs if i != "not an origin"]
    assert not page, f"{path}: the report page requested {page}"
    print(f"{path.rsplit('/', 1)[-1]}: no page request; {len(reqs)} browser-internal "
          f"({', '.join(sorted({u.split('/')[2] for _, u in reqs if '//' in u})) or 'none'})")
EOF
  fail "the net log shows a request from the report page"
echo "html report: self-contained, plot and markers rendered by $("$CHROMIUM" --version 2>/dev/null | tail -1)"
