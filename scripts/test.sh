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
echo "test: all tests passed"
