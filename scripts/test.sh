#!/usr/bin/env bash
# Installs what is missing, builds with warnings as errors, runs every test, then runs each
# benchmark briefly to prove it runs (benchmarks print numbers; they are not timed tests).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh dev
ctest --preset dev
for b in build/dev/tests/bench/ppsim_bench_*; do
  [[ -x "$b" ]] || continue
  echo "== $b (smoke run)"
  "$b" --benchmark_min_time=0.01 >/dev/null
done

# Sanitizers and fuzzing (issue 7). ASan + UBSan: the whole suite. TSan: ppsim's own
# concurrency without gRPC in the way — the registry, hub, journal and quota under threads
# (registry_concurrency_test and the registry's, hub's and journal's tests) and the chaos
# client's worker threads; tests/tsan.supp says why the daemon's gRPC tests are not in it.
# Fuzzing: each libFuzzer target 60 s (scripts/fuzz.sh 3600 for a long run).
stage() { echo "test: stage $1 done in $((SECONDS - stage_start)) s"; stage_start=$SECONDS; }
stage_start=$SECONDS
scripts/build.sh asan
stage "asan build"
ctest --preset asan
stage "asan tests"
scripts/build.sh tsan ppctl registry_concurrency_test lab_registry_test event_hub_test journal_test
stage "tsan build"
TSAN_OPTIONS="suppressions=$PWD/tests/tsan.supp second_deadlock_stack=1 ${TSAN_OPTIONS:-}" \
  ctest --preset tsan --no-tests=error -R '^((RegistryConcurrency|LabRegistry|EventHub|Journal)Test\.|concurrency\.)'
stage "tsan tests"
scripts/fuzz.sh 60
stage "fuzz"
echo "test: all tests passed"
