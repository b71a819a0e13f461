#!/usr/bin/env bash
# The kernel oracle: boots Debian's own x86 kernels under QEMU (TCG, one CPU), runs every op
# sequence of tests/oracle/sequences/ on the real page_pool API through our test module
# (tests/oracle/kmod/) and writes one JSON observation file per sequence and kernel.
#
#   scripts/oracle.sh [--kernels 6.1,6.12,7.3] [--out DIR] [--sequences DIR] [--timeout SECONDS]
#                     (--out: default the cache dir's out/; one subdirectory per kernel series)
#                     (--timeout: one boot, default 300 + 5 per sequence, at least 120)
#                     [--drain-wait SECONDS]  (after each sequence, wait up to this long for
#                     its pools in flight to be freed; default 5; 0 = start the next at once)
#                     [--fetch-only]   (download and extract the kernels, nothing else)
#
# Everything comes from Debian's packages on the mirror this machine's apt already uses
# (/etc/apt/sources.list.d/debian.sources): host tools through apt-get install, kernels through
# a private apt configuration (nothing installed system-wide), cached under
# ${XDG_CACHE_HOME:-$HOME/.cache}/ppsim/oracle. tests/oracle/README.md says what is observed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ORACLE="$ROOT/tests/oracle"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/ppsim/oracle"
KERNELS=6.1,6.12,7.3
OUT=""            # default: $CACHE/out
SEQDIR="$ORACLE/sequences"
TIMEOUT=""          # default: 300 s + 5 s per sequence
DRAIN_WAIT=5        # seconds a sequence waits for its pools in flight (ppo-run -w)
INIT_WAIT=${ORACLE_INIT_WAIT:-60}  # a boot whose init has not started by then is killed, then tried once more
ARCH=amd64
FETCH_ONLY=0

usage() {
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
  exit "${1:-64}"
}
while [ $# -gt 0 ]; do
  case "$1" in
    --kernels) KERNELS=$2; shift 2 ;;
    --kernels=*) KERNELS=${1#*=}; shift ;;
    --out) OUT=$2; shift 2 ;;
    --out=*) OUT=${1#*=}; shift ;;
    --sequences) SEQDIR=$2; shift 2 ;;
    --sequences=*) SEQDIR=${1#*=}; shift ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    --timeout=*) TIMEOUT=${1#*=}; shift ;;
    --drain-wait) DRAIN_WAIT=$2; shift 2 ;;
    --drain-wait=*) DRAIN_WAIT=${1#*=}; shift ;;
    --fetch-only) FETCH_ONLY=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "oracle.sh: unknown argument $1" >&2; usage ;;
  esac
done
OUT=${OUT:-$CACHE/out}
mkdir -p "$CACHE" "$OUT"
OUT=$(cd "$OUT" && pwd)
SEQDIR=$(cd "$SEQDIR" && pwd)
shopt -s nullglob
SEQS=("$SEQDIR"/*.ops)
shopt -u nullglob
[ ${#SEQS[@]} -gt 0 ] || { echo "oracle.sh: no *.ops in $SEQDIR" >&2; exit 64; }
TIMEOUT=${TIMEOUT:-$((300 + 5 * ${#SEQS[@]}))}
[ "$TIMEOUT" -ge 120 ] || { echo "oracle.sh: --timeout must be >= 120 s" >&2; exit 64; }
DRAIN_WAIT_MS=$(awk -v s="$DRAIN_WAIT" 'BEGIN { if (s !~ /^[0-9]+(\.[0-9]+)?$/) exit 1; printf "%d", s * 1000 }') ||
  { echo "oracle.sh: --drain-wait: seconds, e.g. 5 or 0" >&2; exit 64; }

LOG_TAG=oracle
# shellcheck source=scripts/oracle-lib.sh
. "$ROOT/scripts/oracle-lib.sh"
host_install qemu-system-x86 busybox-static cpio xz-utils gzip gcc make libc6-dev
mirror_init
trap chroot_cleanup EXIT

build_module() {  # builds pporacle.ko for $ABI into $BUILD/kmod
  BUILD="$CACHE/build/$ABI"
  build_kmod "$ORACLE/kmod" "$BUILD/kmod" pporacle.ko
}

build_runner() {  # the static userspace side (netlink client + sequence driver), once
  RUNNER="$CACHE/build/ppo-run"
  if [ ! -x "$RUNNER" ] || [ "$ORACLE/ppo-run.c" -nt "$RUNNER" ]; then
    mkdir -p "$CACHE/build"
    # built aside and renamed: runs of other kernels at the same time copy it (oracle-ci.sh)
    gcc -O2 -Wall -Wextra -static -o "$RUNNER.$$" "$ORACLE/ppo-run.c"
    mv -f "$RUNNER.$$" "$RUNNER"
  fi
}

build_initramfs() {  # $BUILD/initrd.gz: busybox, the runner, the module, init, the sequences
  local r="$BUILD/rootfs" s
  rm -rf "$r"; mkdir -p "$r"/{bin,sbin,lib,proc,sys,dev,run,tmp,etc,seq}
  cp /bin/busybox "$r/bin/busybox"
  cp "$RUNNER" "$r/bin/ppo-run"
  cp "$BUILD/kmod/pporacle.ko" "$r/lib/pporacle.ko"
  cp "$ORACLE/init.sh" "$r/init"; chmod 755 "$r/init"
  echo "$DRAIN_WAIT_MS" >"$r/etc/drain_wait_ms"
  # the observation channel is a virtio-serial port: a UART moves about 250 KB/s under TCG and
  # a generated corpus writes hundreds of MB. Kernels that build virtio as modules (6.1) get
  # them here, in load order (init.sh loads /lib/virtio.list); the others have them built in.
  copy_kernel_modules "$r/lib" virtio virtio_ring virtio_pci_modern_dev virtio_pci_legacy_dev \
    virtio_pci virtio_console >"$r/lib/virtio.list"
  for s in "${SEQS[@]}"; do cp "$s" "$r/seq/"; done
  pack_initramfs "$r" "$BUILD/initrd.gz"
}

# boots $VMLINUZ with $BUILD/initrd.gz; console -> $1, observations -> $2 (the virtio port
# pporacle.obs, or serial 1 when the guest found no such port: $2.ttyS1, moved to $2). Sets
# BOOT_RESULT: done (QEMU exited), noinit (no PPORACLE-INIT-START within $INIT_WAIT s: killed)
# or timeout (killed after $TIMEOUT s).
boot() {
  local console=$1 obs=$2 pid t0
  : >"$obs"; : >"$obs.ttyS1"
  # two NUMA nodes (the second without CPUs) so that nid and page_pool_update_nid mean something
  qemu-system-x86_64 -accel tcg -cpu max -smp 1 -m 1G \
    -object memory-backend-ram,id=m0,size=512M -object memory-backend-ram,id=m1,size=512M \
    -numa node,nodeid=0,cpus=0,memdev=m0 -numa node,nodeid=1,memdev=m1 \
    -nographic -no-reboot -monitor none -nic none -serial stdio -serial file:"$obs.ttyS1" \
    -device virtio-serial-pci -chardev file,id=obs,path="$obs" \
    -device virtserialport,chardev=obs,name=pporacle.obs \
    -kernel "$VMLINUZ" -initrd "$BUILD/initrd.gz" \
    -append "console=ttyS0 loglevel=4 panic=-1 quiet" </dev/null >"$console" 2>&1 &
  pid=$!
  t0=$SECONDS
  BOOT_RESULT=done
  while kill -0 "$pid" 2>/dev/null; do
    if [ $((SECONDS - t0)) -ge "$TIMEOUT" ]; then BOOT_RESULT=timeout; kill "$pid"; break; fi
    if [ $((SECONDS - t0)) -ge "$INIT_WAIT" ] && ! grep -qs '^PPORACLE-INIT-START' "$obs" "$obs.ttyS1"; then
      BOOT_RESULT=noinit; kill "$pid"; break
    fi
    sleep 1
  done
  wait "$pid" 2>/dev/null || true
  if [ -s "$obs.ttyS1" ] && ! [ -s "$obs" ]; then mv "$obs.ttyS1" "$obs"; else rm -f "$obs.ttyS1"; fi
}

split_observations() {  # $1 obs file -> $OUT/<kernel>/<sequence>.json; echoes "nseq nops"
  local obs=$1 dir=$2
  awk -v dir="$dir" -v kernel="$KREL" -v series="$SERIES" -v debian="$DEBVER" '
    function flush() { if (name != "") { print "\n]}" > file; close(file); } }
    /^PPORACLE-SEQ-BEGIN / { flush(); name = $2; file = dir "/" name ".json"; n = 0; nseq++
      printf "{\"kernel\": \"%s\", \"debian_version\": \"%s\", \"series\": \"%s\", \"sequence\": \"%s\", \"observations\": [", kernel, debian, series, name > file; next }
    /^PPORACLE-OBS / { if (name == "") next; sub(/^PPORACLE-OBS /, ""); printf "%s\n%s", (n++ ? "," : ""), $0 > file; nops++; next }
    /^PPORACLE-SEQ-END / { if (name != "") { sub(/^PPORACLE-SEQ-END [^ ]* /, ""); printf "\n], \"end\": %s}\n", $0 > file; close(file); name = "" } next }
    END { flush(); printf "%d %d\n", nseq, nops }' "$obs"
}

# ---- main --------------------------------------------------------------------------------------
[ $FETCH_ONLY = 1 ] || build_runner
SUMMARY=()
FAILED=0
IFS=, read -r -a SERIES_LIST <<<"$KERNELS"
for SERIES in "${SERIES_LIST[@]}"; do
  t0=$(now); fetch_kernel "$SERIES"; t_fetch=$(since "$t0")
  if [ $FETCH_ONLY = 1 ]; then SUMMARY+=("oracle $ABI: fetched in ${t_fetch}s ($VMLINUZ)"); continue; fi
  t0=$(now); build_module; t_build=$(since "$t0")
  build_initramfs
  kout="$OUT/$SERIES"; rm -rf "$kout"; mkdir -p "$kout"
  ok=0
  for try in 1 2; do
    log "$SERIES ($ABI): boot $try, ${#SEQS[@]} sequences, timeout ${TIMEOUT}s"
    t0=$(now)
    boot "$kout/console.log" "$kout/obs.log"
    t_boot=$(since "$t0")
    if grep -q '^PPORACLE-INIT-START' "$kout/obs.log"; then ok=1; break; fi
    log "$SERIES: init never started (try $try, $BOOT_RESULT after ${t_boot}s); console in $kout/console.try$try.log"
    cp "$kout/console.log" "$kout/console.try$try.log"
  done
  KREL=$(sed -n 's/^PPORACLE-INIT-START .*kernel=\([^ ]*\).*/\1/p' "$kout/obs.log" | head -1)
  KREL=${KREL:-$ABI}
  DEBVER=$(sed -n 's/^PPORACLE-INIT-START .*debian=\([^ ]*\).*/\1/p' "$kout/obs.log" | head -1)
  NAME=$KREL; [ -z "$DEBVER" ] || NAME="${DEBVER%%-*} ($KREL, Debian $DEBVER)"
  if [ $ok = 1 ]; then
    read -r nseq nops < <(split_observations "$kout/obs.log" "$kout")
    init_s=$(sed -n 's/^PPORACLE-INIT-START uptime=\([0-9.]*\).*/\1/p' "$kout/obs.log" | head -1)
    end=$(grep -c '^PPORACLE-INIT-END' "$kout/obs.log" || true)
    end_s=$(sed -n 's/^PPORACLE-INIT-END uptime=\([0-9.]*\).*/\1/p' "$kout/obs.log" | head -1)
    seq_ms=$(sed -n 's/^PPORACLE-SEQ-END \([^ ]*\) {"ops":\([0-9]*\),"seq_ms":\([0-9.]*\).*/"\1": \3/p' "$kout/obs.log" | paste -sd, -)
    status=complete
    [ "$end" -gt 0 ] || { status="INCOMPLETE ($BOOT_RESULT; see console.log)"; FAILED=1; }
    printf '{"series": "%s", "abi": "%s", "kernel": "%s", "debian_version": "%s", "download_extract_s": %s, "module_build_s": %s, "qemu_total_s": %s, "guest_uptime_at_init_s": %s, "guest_uptime_at_end_s": %s, "sequence_ms": {%s}, "sequences": %d, "ops": %d, "complete": %s}\n' \
      "$SERIES" "$ABI" "$KREL" "$DEBVER" "$t_fetch" "$t_build" "$t_boot" "${init_s:-null}" "${end_s:-null}" "$seq_ms" "$nseq" "$nops" \
      "$([ "$end" -gt 0 ] && echo true || echo false)" >"$kout/timing.json"
    SUMMARY+=("oracle $NAME: $nseq sequences, $nops ops observed, $status; download ${t_fetch}s, module ${t_build}s, boot+run ${t_boot}s (init at ${init_s:-?}s guest uptime)")
  else
    SUMMARY+=("oracle $ABI: FAILED, init never started in 2 boots (console.log in $kout)")
    FAILED=1
  fi
done
[ $FETCH_ONLY = 1 ] || log "observations in $OUT/<series>/<sequence>.json"
for l in "${SUMMARY[@]}"; do echo "$l"; done
[ "$FAILED" = 0 ]
