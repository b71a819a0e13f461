#!/usr/bin/env bash
# Builds the libFuzzer targets (clang 14, ASan + UBSan; tests/fuzz/) and runs each for SECONDS
# (default 60; lab_ops_fuzzer 3 x SECONDS), as many at once as there are cores. New inputs go to build/fuzz-corpus/<target>/
# (kept between runs, so a long run resumes where the last one stopped); the seeds in
# tests/fuzz/corpus/ are only read. A finding is written to build/fuzz-artifacts/ and fails the
# script; reproduce it with `build/<preset>/tests/fuzz/<target> <artifact>`, then add it to
# tests/fuzz/corpus/<target>/ with the fix (lab_ops_corpus_test replays that folder in every test
# run).
#
#   scripts/fuzz.sh                 # every target 60 s (the fuzz preset: fuzzers only)
#   PPSIM_FUZZ_PRESET=asan scripts/fuzz.sh 60   # CI: the asan build already has the fuzzers
#   scripts/fuzz.sh 3600            # a long run: every target an hour
#   scripts/fuzz.sh 600 lab_ops_fuzzer
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(lab_ops_fuzzer apply_fuzzer scenario_loader_fuzzer trace_loader_fuzzer)
preset=${PPSIM_FUZZ_PRESET:-fuzz}
jobs=${PPSIM_FUZZ_JOBS:-$(nproc)}

cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$(nproc)" --target "${targets[@]}"

mkdir -p build/fuzz-artifacts
# lab_ops_fuzzer drives the model itself (op sequences on live ids) and needs the longest runs to
# get deep: it gets three times the seconds, which on two cores is what the other three take
# one after another, so both cores finish together. From an empty corpus on the landed code it
# found issue 21's GRO crash in 36-143 s (5 seeds).
seconds_for() { [[ $1 == lab_ops_fuzzer ]] && echo $((seconds * 3)) || echo "$seconds"; }
# A 16 MiB quarantine (ASan's default is 256) keeps the per-input lab set-up from paging; a
# use-after-free inside one input is still caught.
export ASAN_OPTIONS="quarantine_size_mb=16:${ASAN_OPTIONS:-}"
run_one() {
  local t=$1
  local bin=build/$preset/tests/fuzz/$t seeds=tests/fuzz/corpus/$t work=build/fuzz-corpus/$t
  mkdir -p "$work"
  local dict=()
  [[ -f tests/fuzz/$t.dict ]] && dict=(-dict="tests/fuzz/$t.dict")
  # -timeout: one input may take at most 10 s; -rss_limit_mb: a run may use at most 2 GiB.
  "$bin" -max_total_time="$(seconds_for "$t")" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="build/fuzz-artifacts/$t-" "${dict[@]}" "$work" \
    "$seeds" >"build/fuzz-$t.log" 2>&1
}

failed=()
declare -A running=()  # pid -> target
finish_one() {  # waits for whichever running fuzzer ends first and reports it
  local pid status=0
  wait -n -p pid "${!running[@]}" || status=$?
  local t=${running[$pid]}
  unset "running[$pid]"
  if [[ $status -eq 0 ]]; then
    echo "== $t: $(seconds_for "$t") s, no finding"
    grep -E '^(stat::number_of_executed_units|stat::new_units_added|stat::peak_rss_mb)' \
      "build/fuzz-$t.log" | sed "s/^/  /"
  else
    failed+=("$t")
    tail -n 80 "build/fuzz-$t.log"
    echo "fuzz: $t found a problem (log: build/fuzz-$t.log; input in build/fuzz-artifacts/)"
  fi
}
for t in "${targets[@]}"; do
  [[ ${#running[@]} -lt $jobs ]] || finish_one
  echo "== $t: starting ($(seconds_for "$t") s; $(ls "tests/fuzz/corpus/$t" 2>/dev/null | wc -l) seeds)"
  run_one "$t" &
  running[$!]=$t
done
while [[ ${#running[@]} -gt 0 ]]; do finish_one; done
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz: findings in ${failed[*]}"
  exit 1
fi
echo "fuzz: ${#targets[@]} targets ran without a finding"
