#!/usr/bin/env bash
# The kernel oracle as a CI stage (scripts/test.sh starts it beside the asan build): the hand-written
# sequences (tests/oracle/sequences/) plus a fixed-seed slice of the generated corpus
# (ppctl oracle-gen), run by scripts/oracle.sh on Debian's 6.1, 6.12 and 7.3 under QEMU, then
# compared with the model by `ppctl oracle`, kernel by kernel.
#
#   scripts/oracle-ci.sh [--ppctl PATH] [--generated N] [--seed S] [--work DIR] [--full]
#     --ppctl      default build/release/client/ppctl/ppctl (must exist: build it first)
#     --generated  generated sequences per kernel, default 60 (seeds S..S+N-1); 0 = none
#     --seed       default 1
#     --work       where sequences, observations and logs go (default a new mktemp -d)
#     --full       500 generated sequences and every crash-story cell (x86 and pseries)
#
# After the sequences, the crash stories (scripts/oracle-crash.sh): 6.1 behind AMD's IOMMU
# (the oops), 6.1 behind Intel's (clean), 6.12 behind AMD's (clean) and pseries 6.1 with its PHB
# removed (the oops); every cell must agree with the model.
#
# Prints one line per kernel, ppctl oracle's summary of every sequence (hand-written and
# generated)
#   oracle 6.12.95: 81 sequences, 8153 ops, 0 divergences
# with the first divergences by class when there are some, or `oracle <series>: FAILED ...`
# saying why, then one line per crash-story cell and the stage's times. Exit 0 only when every
# kernel ran completely and every sequence and cell agrees with the model; 1 on a divergence or
# a failure. Nothing is skipped: no root, no QEMU that apt can install, no mirror, a kernel that
# does not boot or finish, a sequence without an observation: each is a failure that says so.
#
# The three kernels run at the same time (one QEMU each, -smp 1): most of a boot's time is the
# hand-written sequences' deliberate sleeps (62 s of stalled-shutdown), and 7.3's first run
# spends about two minutes making its trixie chroot while the others boot. Downloads and host
# tools come first, once, in one scripts/oracle.sh --fetch-only.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PPCTL="$ROOT/build/release/client/ppctl/ppctl"
GENERATED=60
SEED=1
WORK=""
FULL=0
KERNELS=(6.1 6.12 7.3)

usage() {
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
  exit "${1:-64}"
}
while [ $# -gt 0 ]; do
  case "$1" in
    --ppctl) PPCTL=$2; shift 2 ;;
    --generated) GENERATED=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    --work) WORK=$2; shift 2 ;;
    --full) GENERATED=500; FULL=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "oracle-ci: unknown argument $1" >&2; usage ;;
  esac
done

fail() { echo "oracle-ci: FAILED: $*"; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }'; }

T0=$(now)
[ "$(id -u)" = 0 ] || sudo -n true 2>/dev/null ||
  fail "needs root (or password-less sudo): scripts/oracle.sh installs QEMU with apt, runs mmdebstrap and mounts /proc in a chroot"
[ -x "$PPCTL" ] || fail "no ppctl at $PPCTL (scripts/build.sh release ppctl, or --ppctl PATH)"
[[ "$GENERATED" =~ ^[0-9]+$ && "$SEED" =~ ^[0-9]+$ ]] || fail "--generated and --seed take numbers"
WORK=${WORK:-$(mktemp -d /tmp/oracle-ci.XXXXXX)}
mkdir -p "$WORK/seq" "$WORK/out" "$WORK/log" || fail "cannot make $WORK"
rm -f "$WORK"/seq/*.ops
cp "$ROOT"/tests/oracle/sequences/*.ops "$WORK/seq/" || fail "no tests/oracle/sequences/*.ops"
if [ "$GENERATED" -gt 0 ]; then
  "$PPCTL" oracle-gen --count "$GENERATED" --seed "$SEED" --out "$WORK/seq" >"$WORK/log/gen.log" ||
    fail "ppctl oracle-gen: $(cat "$WORK/log/gen.log")"
fi
NSEQ=$(ls "$WORK"/seq/*.ops | wc -l)

# host tools, the mirror's lists and the three kernels, once (QEMU, apt and the network show
# here, with scripts/oracle.sh's own message)
T=$(now)
if ! "$ROOT/scripts/oracle.sh" --fetch-only --kernels "$(IFS=,; echo "${KERNELS[*]}")" \
    >"$WORK/log/fetch.log" 2>&1; then
  tail -5 "$WORK/log/fetch.log"
  fail "scripts/oracle.sh --fetch-only (host tools, mirror, kernel packages): log $WORK/log/fetch.log"
fi
T_FETCH=$(since "$T")

T=$(now)
declare -A PID BOOT
for k in "${KERNELS[@]}"; do
  # --drain-wait 0: the comparison reads only each sequence's own pools, so the next sequence
  # need not wait for the last one's release workers (tests/oracle/README.md)
  "$ROOT/scripts/oracle.sh" --kernels "$k" --sequences "$WORK/seq" --out "$WORK/out" \
    --drain-wait 0 >"$WORK/log/oracle-$k.log" 2>&1 &
  PID[$k]=$!
done
STATUS=0
LINES=()
GEN_LINES=()
for k in "${KERNELS[@]}"; do
  if ! wait "${PID[$k]}"; then
    LINES+=("oracle $k: FAILED: scripts/oracle.sh: $(grep -E '^oracle |error:' "$WORK/log/oracle-$k.log" | tail -1) (log $WORK/log/oracle-$k.log)")
    STATUS=1
    continue
  fi
  BOOT[$k]=$(sed -n 's/^oracle .*boot+run \([0-9.]*\)s.*/\1/p' "$WORK/log/oracle-$k.log")
  # ppctl oracle: 0 agree, 1 a divergence, 64 a missing observation or an op the model cannot
  # express; its last line is the summary. Every sequence gates, hand-written and generated;
  # the first divergences are listed by class.
  "$PPCTL" oracle --classes --observed "$WORK/out/$k" "$WORK"/seq/*.ops \
    >"$WORK/log/compare-$k.log" 2>&1
  rc=$?
  summary=$(grep -E '^oracle [0-9]' "$WORK/log/compare-$k.log" | tail -1)
  case $rc in
    0) LINES+=("$summary") ;;
    1) LINES+=("$summary (first divergences in $WORK/log/compare-$k.log)"); STATUS=1
       while IFS= read -r l; do GEN_LINES+=("$l"); done < <(sed -n '/^first divergences by kind/,/^oracle /p' "$WORK/log/compare-$k.log" | grep '^  ') ;;
    *) LINES+=("oracle $k: FAILED: ppctl oracle exit $rc: $(grep 'ppctl oracle:' "$WORK/log/compare-$k.log" | head -1) (${summary:-no summary})")
       STATUS=1 ;;
  esac
done
T_BOOTS=$(since "$T")

# The crash stories, one cell at a time (each boot is one QEMU, -smp 1).
T=$(now)
if [ "$FULL" = 1 ]; then CRASH_ARGS=(--arch all --kernels 6.1,6.12); else
  CRASH_ARGS=(--cells 6.1:amd:remove,6.1:intel:remove,6.12:amd:remove,6.1:ppc-ddw:remove-phb); fi
if "$ROOT/scripts/oracle-crash.sh" "${CRASH_ARGS[@]}" --ppctl "$PPCTL" --out "$WORK/crash" \
    >"$WORK/log/crash.log" 2>&1; then
  :
else
  STATUS=1
  grep -q '^crash-story' "$WORK/log/crash.log" ||
    LINES+=("oracle crash stories: FAILED: $(tail -1 "$WORK/log/crash.log") (log $WORK/log/crash.log)")
fi
while IFS= read -r l; do LINES+=("$l"); done < <(grep -E '^crash-story' "$WORK/log/crash.log")
T_CRASH=$(since "$T")
for l in "${LINES[@]}"; do echo "$l"; done
for l in "${GEN_LINES[@]}"; do echo "$l"; done
echo "oracle-ci: $NSEQ sequences per kernel ($GENERATED generated, seeds $SEED..$((SEED + GENERATED - 1))); fetch ${T_FETCH}s, modules+boots+compare ${T_BOOTS}s, crash stories ${T_CRASH}s (boot+run: 6.1 ${BOOT[6.1]:-?}s, 6.12 ${BOOT[6.12]:-?}s, 7.3 ${BOOT[7.3]:-?}s), total $(since "$T0")s; work dir $WORK"
exit $STATUS
