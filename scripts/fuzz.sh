#!/usr/bin/env bash
# Builds the libFuzzer targets (the fuzz preset: clang 14, ASan + UBSan; tests/fuzz/) and runs
# each for SECONDS (default 60). New inputs go to build/fuzz/corpus/<target>/ (kept between
# runs, so a long run resumes where the last one stopped); the seeds in tests/fuzz/corpus/ are
# only read. A finding is written to build/fuzz/artifacts/ and fails the script; reproduce it
# with `build/fuzz/tests/fuzz/<target> <artifact>`, then add it to tests/fuzz/corpus/<target>/
# with a regression test.
#
#   scripts/fuzz.sh                 # CI: every target 60 s
#   scripts/fuzz.sh 3600            # a long run: every target an hour
#   scripts/fuzz.sh 600 apply_fuzzer
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(scenario_loader_fuzzer trace_loader_fuzzer apply_fuzzer)

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$(nproc)"

mkdir -p build/fuzz/artifacts
failed=()
for t in "${targets[@]}"; do
  bin=build/fuzz/tests/fuzz/$t
  seeds=tests/fuzz/corpus/$t
  work=build/fuzz/corpus/$t
  mkdir -p "$work"
  dict=()
  [[ -f tests/fuzz/$t.dict ]] && dict=(-dict="tests/fuzz/$t.dict")
  echo "== $t: ${seconds} s ($(ls "$seeds" | wc -l) seeds, $(ls "$work" | wc -l) kept inputs)"
  # -timeout: one input may take at most 10 s; -rss_limit_mb: a run may use at most 2 GiB.
  if ! "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="build/fuzz/artifacts/$t-" "${dict[@]}" "$work" "$seeds" \
       >"build/fuzz/$t.log" 2>&1; then
    failed+=("$t")
    tail -n 60 "build/fuzz/$t.log"
    echo "fuzz: $t found a problem (log: build/fuzz/$t.log; input in build/fuzz/artifacts/)"
  else
    grep -E '^(stat::number_of_executed_units|stat::new_units_added|stat::peak_rss_mb)' \
      "build/fuzz/$t.log" | sed "s/^/  /"
  fi
done
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz: findings in ${failed[*]}"
  exit 1
fi
echo "fuzz: ${#targets[@]} targets ran ${seconds} s each without a finding"
