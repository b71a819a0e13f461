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

# Sanitizers and fuzzing (issue 7). ASan + UBSan: the whole suite. TSan: the daemon's
# integration tests and the services' concurrency tests (gRPC threads, Watch streams, the
# registry's locks); tests/tsan.supp says why each suppressed report is not ours. Fuzzing: each
# libFuzzer target 60 s (scripts/fuzz.sh 3600 for a long run).
stage() { echo "test: stage $1 done in $((SECONDS - stage_start)) s"; stage_start=$SECONDS; }
stage_start=$SECONDS
scripts/build.sh asan
stage "asan build"
ctest --preset asan
stage "asan tests"
# TSan and fuzzing are not yet verified within CI's budget on a clean clone: opt in with
# PPSIM_TEST_SANITIZERS=1 until they are (issue 7).
if [[ "${PPSIM_TEST_SANITIZERS:-0}" != 1 ]]; then
  echo "test: all tests passed (tsan and fuzz stages skipped; PPSIM_TEST_SANITIZERS=1 runs them)"
  exit 0
fi
tsan_targets=(ppsimd ppctl daemon_test load_test malformed_requests_test event_hub_test
  lab_registry_test ops_service_test query_service_test lab_service_test fault_service_test)
scripts/build.sh tsan "${tsan_targets[@]}"
stage "tsan build"
TSAN_OPTIONS="suppressions=$PWD/tests/tsan.supp second_deadlock_stack=1 ${TSAN_OPTIONS:-}" \
  ctest --preset tsan -R \
  '^((Daemon|DaemonShutdown|Load|MalformedRequests|EventHub|LabRegistry|OpsService|QueryService|LabService|FaultService)Test\.|integration\.python_client$)'
stage "tsan tests"
scripts/fuzz.sh 60
stage "fuzz"
echo "test: all tests passed"
