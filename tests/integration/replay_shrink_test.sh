#!/usr/bin/env bash
# ctest: `ppctl run --trace`, `ppctl replay` and `ppctl shrink` end to end (docs/design.md §6).
#   - a run's trace replays to its digest embedded, on a daemon through a lab, and by the
#     ReplayTrace RPC (exit 0, "digest 0x.. reproduced (N ops)"), seed printed first
#   - one op's field changed (an advance_time ns, a pool id) → exit 4 naming both digests or the
#     rejected op's index; a cut or garbled file → 64 naming the line; no daemon → 5
#   - shrink of the run for PP008 → exit 0, its YAML runs with exit 0 (it expects PP008) and
#     exit 1 once the id is removed from expect; the gtest case is written; a trace that never
#     raises the id → 64; a budget of 1 run → 2
#   - shrink --junit: a well-formed JUnit report of the shrunk scenario's run (passing: it
#     expects PP008) whose <system-out> lists the 5 minimised ops; --junit without --out-yaml
#     → 64; the summary names the ids the trace raised (the fidelity rule's allowed set)
#   - several strategies → one trace per strategy (FILE.<strategy>.jsonl)
# usage: PPSIMD PPCTL
source "$(dirname "$0")/daemon.sh"
ppctl=$2
start_ppsimd "$1"
cd "$WORK"

fail() { echo "FAIL: $*" >&2; exit 1; }
expect_exit() {  # CODE CMD...: run CMD, output to out.txt, require exit CODE
  local want=$1
  shift
  local got=0
  "$@" >out.txt 2>&1 || got=$?
  [[ $got == "$want" ]] || { cat out.txt >&2; fail "$* exited $got, expected $want"; }
}
has() { grep -q -- "$1" out.txt || { cat out.txt >&2; fail "output lacks \"$1\""; }; }

# A double recycle (PP008) among noise on two devices.
/usr/bin/python3 - <<'EOF'
steps = ['- {op: add_device, as: dev}', '- {op: "bind_driver device=$dev flags=1", as: nic}',
         '- {op: add_device, as: other}', '- {op: "bind_driver device=$other flags=1", as: onic}']
def noise(i, nic):
    steps.append(f'- {{op: "page_pool_alloc_pages pool=${nic}.pools[0] count=2 @softirq:0", as: q{i}}}')
    steps.append(f'- "page_pool_put_page pool=${nic}.pools[0] page=$q{i}.pages[1] @softirq:0"')
    steps.append('- "advance_time ns=1500"')
for i in range(30): noise(i, "nic" if i % 2 else "onic")
steps.append('- {op: "page_pool_alloc_pages pool=$nic.pools[0] @softirq:0", as: p}')
steps.append('- "page_pool_put_page pool=$nic.pools[0] page=$p @softirq:0"')
for i in range(30, 60): noise(i, "onic")
steps.append('- "page_pool_put_page pool=$nic.pools[0] page=$p @softirq:0"')
for i in range(60, 90): noise(i, "nic")
open("bug.yaml", "w").write("name: double-put\nprofile: v6.8\nlab: {seed: 77}\n"
                            "strategies: [dma-tracking]\nsteps:\n" +
                            "".join("  " + s + "\n" for s in steps))
open("two.yaml", "w").write(open("bug.yaml").read().replace("[dma-tracking]",
                                                             "[dma-tracking, legacy]"))
EOF

# run --trace: the run fails (PP008 is not expected) and its trace is written.
expect_exit 1 "$ppctl" run bug.yaml --trace run.jsonl
has "PP008"
has "written to run.jsonl"
head -1 run.jsonl | grep -q '"schema":"ppsim.trace/v1"' || fail "no trace header"
ops=$(($(wc -l <run.jsonl) - 2))
[[ $ops == 277 ]] || fail "trace holds $ops ops, expected 277"
digest=$(tail -1 run.jsonl | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["digest"])')

# replay: embedded, through a daemon lab, by the daemon's ReplayTrace.
expect_exit 0 "$ppctl" replay run.jsonl
has "digest $digest reproduced (277 ops)"
head -1 out.txt | grep -q '^seed 77$' || { cat out.txt >&2; fail "seed is not printed first"; }
expect_exit 0 "$ppctl" replay run.jsonl --target "$GRPC_TARGET"
has "digest $digest reproduced (277 ops)"
expect_exit 0 "$ppctl" replay run.jsonl --target "$GRPC_TARGET" --rpc
has "digest $digest reproduced (277 ops)"

# Tampered: one advance_time's ns → another digest; one pool id → op rejected.
/usr/bin/python3 - <<'EOF'
import json
lines = open("run.jsonl").read().splitlines()
def tamper(pred, change, out):
    for n, l in enumerate(lines):
        r = json.loads(l)
        if "op" in r and pred(r["op"]):
            change(r["op"])
            t = list(lines)
            t[n] = json.dumps(r, separators=(",", ":"))
            open(out, "w").write("\n".join(t) + "\n")
            return r["i"]
idx = tamper(lambda o: "advance_time" in o, lambda o: o["advance_time"].update(ns="1501"), "time.jsonl")
idx = tamper(lambda o: "page_pool_put_page" in o, lambda o: o["page_pool_put_page"].update(pool=99), "pool.jsonl")
open("pool.idx", "w").write(str(idx))
cut = lines[:-1]
open("cut.jsonl", "w").write("\n".join(cut) + "\n")
bad = list(lines)
bad[3] = bad[3][: len(bad[3]) // 2]
open("garbled.jsonl", "w").write("\n".join(bad) + "\n")
EOF
expect_exit 4 "$ppctl" replay time.jsonl
has "nondeterminism: expected digest $digest after 277 ops, replay reached 0x"
expect_exit 4 "$ppctl" replay time.jsonl --target "$GRPC_TARGET"
has "expected digest $digest"
expect_exit 4 "$ppctl" replay pool.jsonl
has "nondeterminism: op $(cat pool.idx) \"page_pool_put_page pool=99"
has "rejected on replay"
expect_exit 4 "$ppctl" replay pool.jsonl --target "$GRPC_TARGET"
has "op $(cat pool.idx) "
expect_exit 64 "$ppctl" replay cut.jsonl
has "cut.jsonl:279: end: missing end record after 277 ops"
expect_exit 64 "$ppctl" replay garbled.jsonl
has "garbled.jsonl:4: json:"
expect_exit 64 "$ppctl" replay nosuch.jsonl
has "nosuch.jsonl"
expect_exit 5 "$ppctl" replay run.jsonl --target 127.0.0.1:1 --connect-timeout 1

# shrink: the five ops, a scenario that runs (exit 0 while PP008 is raised), a gtest case.
expect_exit 0 "$ppctl" shrink run.jsonl --violation PP008 --out-yaml shrunk.yaml --out-gtest shrunk_test.cc --junit shrunk.xml
has "PP008: 277 ops -> 5"
has "the trace raised PP008 up to the cut"
has "JUnit report of the shrunk scenario's run (pass) written to shrunk.xml"
/usr/bin/python3 - <<'EOF2' || fail "shrunk.xml"
import xml.etree.ElementTree as ET
suite = ET.parse("shrunk.xml").getroot().find("testsuite")
cases = suite.findall("testcase")
assert cases and suite.get("failures") == "0", ET.tostring(suite)
props = {p.get("name"): p.get("value") for p in suite.find("properties")}
assert props["replay_command"] == "ppctl run shrunk.yaml", props
out = cases[0].find("system-out").text
assert out.startswith("digest=0x"), out
ops = out.split("minimized ops (5):\n", 1)[1].split("\n")
assert ops == ["  add_device  # as dev", "  bind_driver device=$dev flags=1  # as nic",
               "  page_pool_alloc_pages pool=$nic.pools[0] @softirq:0  # as p",
               "  page_pool_put_page pool=$nic.pools[0] page=$p @softirq:0",
               "  page_pool_put_page pool=$nic.pools[0] page=$p @softirq:0"], ops
EOF2
has "page_pool_put_page pool=\$nic.pools\[0\] page=\$p @softirq:0"
grep -q 'expect:' shrunk.yaml || fail "no expect in shrunk.yaml"
grep -q 'TEST(Shrunk, ' shrunk_test.cc || fail "no TEST in shrunk_test.cc"
expect_exit 64 "$ppctl" shrink run.jsonl --violation PP008 --junit x.xml
has "out-yaml"
expect_exit 0 "$ppctl" run shrunk.yaml
has "PP008"
expect_exit 0 "$ppctl" run shrunk.yaml --target "$GRPC_TARGET"
sed -i 's/occur: \[PP008\]/none: true/' shrunk.yaml
expect_exit 1 "$ppctl" run shrunk.yaml
has "PP008 raised"
expect_exit 64 "$ppctl" shrink run.jsonl --violation PP001
has "never raises PP001"
expect_exit 64 "$ppctl" shrink run.jsonl --violation PP999
expect_exit 64 "$ppctl" shrink garbled.jsonl --violation PP008
has "garbled.jsonl:4:"
expect_exit 2 "$ppctl" shrink run.jsonl --violation PP008 --max-runs 1 --quiet
has "budget ran out"

# Several strategies: one trace each, both replay.
expect_exit 1 "$ppctl" run two.yaml --trace two.jsonl
[[ -s two.dma-tracking.jsonl && -s two.legacy.jsonl ]] || fail "no per-strategy traces"
expect_exit 0 "$ppctl" replay two.legacy.jsonl
has "reproduced"
echo "ok: run --trace, replay (embedded, lab, rpc, tampered, malformed), shrink"
