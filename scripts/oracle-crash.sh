#!/usr/bin/env bash
# The crash stories as oracle tests (issue 24 item 5): a page_pool with PP_FLAG_DMA_MAP on a
# PCI device behind an IOMMU, pages held outside the driver while the driver unbinds or the
# device is removed, then returned. Each cell -- kernel x IOMMU x action -- boots one of
# Debian's kernels under QEMU with our edu driver (tests/oracle/crash/), classifies what the
# kernel did, runs the same story on the model (ppctl run, the matching profile and IOMMU) and
# compares the two as classes: crash / clean / leaked mapping.
#
#   scripts/oracle-crash.sh [--kernels 6.1,6.12,7.3] [--iommus amd,intel] [--actions unbind,remove]
#                           [--cells 6.1:amd:remove,6.12:intel:unbind,...]  (instead of the product)
#                           [--ci]            (the CI subset: 6.1 amd remove, 6.1 intel remove,
#                                              6.12 amd remove)
#                           [--ppctl PATH]    (default build/asan/client/ppctl/ppctl, else
#                                              build/release/client/ppctl/ppctl)
#                           [--out DIR]       (default the cache dir's crash/; consoles, scenarios,
#                                              model reports, cells.tsv)
#                           [--timeout SECONDS] (one boot, default 240)
#
# One line per cell:
#   crash-story 6.1.176 amd remove: kernel crash (iommu_get_dma_domain), model crash: agree
#   crash-story 6.1.176 intel remove: kernel clean, model crash: DIFFER
# or `crash-story <series> <iommu> <action>: FAILED: <why>` when a side could not run, then one
# summary line with the times. Exit 0 only when every cell ran on both sides and agrees.
#
# Kernels, host tools and the module build are those of scripts/oracle.sh (scripts/oracle-lib.sh):
# Debian's packages only, through private apt sources, cached under
# ${XDG_CACHE_HOME:-$HOME/.cache}/ppsim/oracle. QEMU: -M q35, TCG, one CPU, `-device intel-iommu`
# (kernel: intel_iommu=on; Debian's configs leave it off) or `-device amd-iommu`, the edu device
# behind a pcie-root-port.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CRASH="$ROOT/tests/oracle/crash"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/ppsim/oracle"
KERNELS=6.1,6.12,7.3
IOMMUS=amd,intel
ACTIONS=unbind,remove
CELLS=""
PPCTL=""
OUT=""
TIMEOUT=240
INIT_WAIT=${ORACLE_INIT_WAIT:-90}

usage() {
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
  exit "${1:-64}"
}
while [ $# -gt 0 ]; do
  case "$1" in
    --kernels) KERNELS=$2; shift 2 ;;
    --iommus) IOMMUS=$2; shift 2 ;;
    --actions) ACTIONS=$2; shift 2 ;;
    --cells) CELLS=$2; shift 2 ;;
    --ci) CELLS=6.1:amd:remove,6.1:intel:remove,6.12:amd:remove; shift ;;
    --ppctl) PPCTL=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "oracle-crash.sh: unknown argument $1" >&2; usage ;;
  esac
done
if [ -z "$CELLS" ]; then
  IFS=, read -r -a _k <<<"$KERNELS"; IFS=, read -r -a _i <<<"$IOMMUS"; IFS=, read -r -a _a <<<"$ACTIONS"
  for k in "${_k[@]}"; do for i in "${_i[@]}"; do for a in "${_a[@]}"; do CELLS+="${CELLS:+,}$k:$i:$a"; done; done; done
fi
IFS=, read -r -a CELL_LIST <<<"$CELLS"
for c in "${CELL_LIST[@]}"; do
  IFS=: read -r k i a <<<"$c"
  case "$k" in 6.1|6.12|7.3) ;; *) echo "oracle-crash.sh: kernel $k: one of 6.1, 6.12, 7.3" >&2; exit 64 ;; esac
  case "$i" in amd|intel) ;; *) echo "oracle-crash.sh: iommu $i: amd or intel" >&2; exit 64 ;; esac
  case "$a" in unbind|remove) ;; *) echo "oracle-crash.sh: action $a: unbind or remove" >&2; exit 64 ;; esac
done
[[ "$TIMEOUT" =~ ^[0-9]+$ ]] && [ "$TIMEOUT" -ge 60 ] || { echo "oracle-crash.sh: --timeout: seconds, >= 60" >&2; exit 64; }
if [ -z "$PPCTL" ]; then
  PPCTL="$ROOT/build/asan/client/ppctl/ppctl"
  [ -x "$PPCTL" ] || PPCTL="$ROOT/build/release/client/ppctl/ppctl"
fi
OUT=${OUT:-$CACHE/crash}
mkdir -p "$CACHE" "$OUT"
OUT=$(cd "$OUT" && pwd)

LOG_TAG=oracle-crash
# shellcheck source=scripts/oracle-lib.sh
. "$ROOT/scripts/oracle-lib.sh"
T_START=$(now)
host_install qemu-system-x86 busybox-static cpio xz-utils gzip gcc make libc6-dev
mirror_init
trap chroot_cleanup EXIT

# ---- the kernel side ---------------------------------------------------------------------------
# build_crash_module: ppcrash.ko for $ABI into $BUILD_DIR, rebuilt only when the sources changed
build_crash_module() {
  BUILD_DIR="$CACHE/build/$ABI/crash"
  local sum
  sum=$(cat "$CRASH"/Kbuild "$CRASH"/*.c | sha256sum | cut -d' ' -f1)
  if [ -e "$BUILD_DIR/ppcrash.ko" ] && [ "$(cat "$BUILD_DIR.sum" 2>/dev/null)" = "$sum" ]; then
    return 0
  fi
  build_kmod "$CRASH" "$BUILD_DIR" ppcrash.ko
  echo "$sum" >"$BUILD_DIR.sum"
}

build_crash_initramfs() {  # $BUILD_DIR/initrd.gz: busybox, ppcrash.ko, init
  local r="$BUILD_DIR/rootfs"
  rm -rf "$r"; mkdir -p "$r"/{bin,sbin,lib,proc,sys,dev,run,tmp,etc}
  cp /bin/busybox "$r/bin/busybox"
  cp "$BUILD_DIR/ppcrash.ko" "$r/lib/ppcrash.ko"
  cp "$CRASH/init.sh" "$r/init"; chmod 755 "$r/init"
  pack_initramfs "$r" "$BUILD_DIR/initrd.gz"
}

# boot_cell IOMMU ACTION CONSOLE: one boot; sets BOOT_RESULT (done, noinit, timeout) and BOOT_S
boot_cell() {
  local iommu=$1 action=$2 console=$3 pid t0 dev append
  append="console=ttyS0 loglevel=4 panic=-1 quiet ppcrash_action=$action"
  case "$iommu" in
    intel) dev=intel-iommu; append+=" intel_iommu=on" ;;
    amd) dev=amd-iommu ;;
  esac
  t0=$(now)
  # the IOMMU before any PCI device; edu behind a PCIe root port, as a NIC in a slot
  qemu-system-x86_64 -M q35 -accel tcg -cpu max -smp 1 -m 1G \
    -nographic -vga none -no-reboot -monitor none -nic none -serial stdio \
    -device "$dev" \
    -device pcie-root-port,id=rp1,bus=pcie.0,chassis=1,slot=1 -device edu,bus=rp1 \
    -kernel "$VMLINUZ" -initrd "$BUILD_DIR/initrd.gz" -append "$append" </dev/null >"$console" 2>&1 &
  pid=$!
  local s0=$SECONDS
  BOOT_RESULT="done"
  while kill -0 "$pid" 2>/dev/null; do
    if [ $((SECONDS - s0)) -ge "$TIMEOUT" ]; then BOOT_RESULT=timeout; kill "$pid"; break; fi
    if [ $((SECONDS - s0)) -ge "$INIT_WAIT" ] && ! grep -qs 'PPCRASH-INIT-START' "$console"; then
      BOOT_RESULT=noinit; kill "$pid"; break
    fi
    sleep 1
  done
  wait "$pid" 2>/dev/null || true
  BOOT_S=$(since "$t0")
}

# classify CONSOLE: sets K_CLASS (crash, clean, leaked mapping; "" = no result), K_FRAME (the
# oops's top frame), K_WHY (why there is no result, or a note), K_VERSION (Debian's upstream
# version, e.g. 6.1.176)
classify() {
  local c=$1 from oops last
  K_CLASS=""; K_FRAME=""; K_WHY=""
  # the console without carriage returns, and the firmware's escape sequences before the first line
  tr -d '\r' <"$c" | sed 's/\x1b\[[0-9;?]*[A-Za-z]//g; s/\x1b[A-Za-z]//g; s/^.*PPCRASH-/PPCRASH-/' >"$c.txt"
  K_VERSION=$(sed -n 's/^PPCRASH-INIT-START .*debian=\([^ -]*\).*/\1/p' "$c.txt" | head -1)
  if ! grep -q '^PPCRASH-INIT-START' "$c.txt"; then K_WHY="init never started ($BOOT_RESULT)"; return; fi
  if ! grep -q '^PPCRASH-BOUND' "$c.txt"; then
    K_WHY="the story did not start: $(grep -m1 '^PPCRASH-ERROR' "$c.txt" | cut -c16- || true)"
    [ -n "${K_WHY#the story did not start: }" ] || K_WHY+="no PPCRASH-BOUND ($BOOT_RESULT)"
    return
  fi
  if [ "$(sed -n 's/^PPCRASH-BOUND .* iommu_group=\([^ ]*\) .*/\1/p' "$c.txt")" = none ]; then
    K_WHY="the edu device has no IOMMU group: the IOMMU is not in use"; return
  fi
  from=$(grep -n -m1 '^PPCRASH-BOUND' "$c.txt" | cut -d: -f1)
  oops=$(tail -n +"$from" "$c.txt" | grep -n -m1 -E 'BUG: |Oops|general protection fault|Unable to handle kernel|Kernel panic' | cut -d: -f1 || true)
  if [ -n "$oops" ]; then
    K_CLASS=crash
    K_FRAME=$(tail -n +"$((from + oops - 1))" "$c.txt" |
              sed -n -E 's/.*RIP: [0-9a-f]+:([A-Za-z0-9_.]+)\+.*/\1/p; s/.*NIP \[[0-9a-f]+\] ([A-Za-z0-9_.]+)\+.*/\1/p' | head -1)
    K_FRAME=${K_FRAME:-no frame on the console}
    return
  fi
  if ! grep -q '^PPCRASH-END' "$c.txt"; then K_WHY="no PPCRASH-END and no oops ($BOOT_RESULT)"; return; fi
  last=$(sed -n 's/^PPCRASH-POOL-RELEASE .* last=\(.*\)$/\1/p' "$c.txt" | head -1)
  case "$last" in
    *" inflight=0 "*) K_CLASS=clean ;;
    none|"") K_WHY="no page_pool_release line for the pool: cannot tell whether it was freed" ;;
    *) K_CLASS="leaked mapping"; K_WHY="the pool never reached inflight=0: $last" ;;
  esac
}

# ---- the model side ----------------------------------------------------------------------------
profile_of() { echo "v$1"; }  # kernel series -> ppsim profile (tests/oracle/README.md)

# write_scenario SERIES IOMMU ACTION FILE: the same story for ppsim: a PP_FLAG_DMA_MAP pool on a
# bound device, one page held outside the driver, the action, the page returned from process
# context (page_pool_put_full_page(pool, page, false)), then 3 s for the release worker. No
# strategies: the profile's own (Debian's builds: legacy on 6.1, dma-tracking on 6.12 and 7.3).
write_scenario() {
  local series=$1 iommu=$2 action=$3 file=$4 act
  case "$action" in
    unbind) act="  - unbind_driver device=\$dev" ;;
    remove) act="  - remove_device device=\$dev" ;;
  esac
  cat >"$file" <<EOF
# generated by scripts/oracle-crash.sh: the crash story $series $iommu $action
name: crash-$series-$iommu-$action
description: a page held outside the driver across $action, behind $iommu, on $series
profile: $(profile_of "$series")
lab:
  iommu: $iommu
  seed: 1
steps:
  - op: add_device
    as: dev
  - op: bind_driver
    device: \$dev
    flags: 1
    as: nic
  - op: page_pool_alloc_pages pool=\$nic.pools[0] count=2 @softirq:0
    as: pages
  - page_pool_put_page page=\$pages.pages[1] @process:0
$act
  - page_pool_put_page page=\$pages.pages[0] @process:0
  - advance_time ns=3s
EOF
}

# model_cell SERIES IOMMU ACTION: sets M_CLASS (crash when PP001 occurs, else clean; "" = no
# result), M_WHY, M_IDS (the violations)
model_cell() {
  local series=$1 iommu=$2 action=$3 base rc
  base="$OUT/model/$series-$iommu-$action"
  mkdir -p "$OUT/model"
  M_CLASS=""; M_WHY=""; M_IDS=""
  write_scenario "$series" "$iommu" "$action" "$base.yaml"
  if [ ! -x "$PPCTL" ]; then M_WHY="no ppctl at $PPCTL (build it, or --ppctl PATH)"; return; fi
  rc=0; "$PPCTL" run --json "$base.yaml" >"$base.json" 2>"$base.err" || rc=$?
  # 0 pass, 1 safety violation, 3 liveness violation: a verdict; anything else is not
  if [ $rc != 0 ] && [ $rc != 1 ] && [ $rc != 3 ]; then
    M_WHY="ppctl run exit $rc: $(tail -1 "$base.err")"; return
  fi
  IFS='|' read -r M_CLASS M_IDS M_WHY < <(python3 - "$base.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
runs = r.get("runs", [])
if len(runs) != 1:
    print("", "-", f"{len(runs)} runs in the report, expected 1", sep="|"); sys.exit()
run = runs[0]
ids = [v["id"] for v in run.get("violations", [])]
rej = run.get("rejected_ops", 0)
if rej:
    print("", ",".join(ids) or "-", f"{rej} ops rejected by the model ({run.get('strategy')})", sep="|"); sys.exit()
print("crash" if "PP001" in ids else "clean", ",".join(ids) or "-", f"strategy={run.get('strategy')}", sep="|")
PY
  ) || { M_CLASS=""; M_WHY="cannot read $base.json"; }
}

# ---- main --------------------------------------------------------------------------------------
RESULTS=()
FAILED=0
DIFFERS=0
: >"$OUT/cells.tsv"
printf 'cell\tkernel\tkernel_class\ttop_frame\tmodel_class\tmodel_violations\tverdict\tboot_s\tboots\tiommu_map\tiommu_unmap\theld_dma_after_action\n' >"$OUT/cells.tsv"
T_FETCH=0; T_MODULES=0; T_BOOTS=0
declare -A PREPARED
for c in "${CELL_LIST[@]}"; do
  IFS=: read -r series iommu action <<<"$c"
  if [ -z "${PREPARED[$series]:-}" ]; then
    t0=$(now); fetch_kernel "$series"; T_FETCH=$(awk -v a="$T_FETCH" -v b="$(since "$t0")" 'BEGIN { print a + b }')
    t0=$(now); build_crash_module; build_crash_initramfs
    T_MODULES=$(awk -v a="$T_MODULES" -v b="$(since "$t0")" 'BEGIN { print a + b }')
    PREPARED[$series]="$ABI|$KDIR|$VMLINUZ|$BUILD_DIR"
  fi
  IFS='|' read -r ABI KDIR VMLINUZ BUILD_DIR <<<"${PREPARED[$series]}"
  console="$OUT/console-$series-$iommu-$action.log"
  boots=0; boot_total=0
  for try in 1 2; do
    log "$series $iommu $action: boot $try ($ABI)"
    boot_cell "$iommu" "$action" "$console"
    boots=$try; boot_total=$(awk -v a="$boot_total" -v b="$BOOT_S" 'BEGIN { print a + b }')
    grep -qs 'PPCRASH-INIT-START' "$console" && break
    cp "$console" "$console.try$try"
    log "$series $iommu $action: init never started ($BOOT_RESULT after ${BOOT_S}s), console in $console.try$try"
  done
  T_BOOTS=$(awk -v a="$T_BOOTS" -v b="$boot_total" 'BEGIN { print a + b }')
  classify "$console"
  model_cell "$series" "$iommu" "$action"
  kname=${K_VERSION:-$series}
  if [ -z "$K_CLASS" ]; then
    line="crash-story $kname $iommu $action: FAILED: kernel: $K_WHY (console $console)"; FAILED=1; verdict=FAILED
  elif [ -z "$M_CLASS" ]; then
    line="crash-story $kname $iommu $action: FAILED: kernel $K_CLASS${K_FRAME:+ ($K_FRAME)}, model: $M_WHY"; FAILED=1; verdict=FAILED
  else
    verdict=agree; [ "$K_CLASS" = "$M_CLASS" ] || { verdict=DIFFER; DIFFERS=$((DIFFERS + 1)); }
    line="crash-story $kname $iommu $action: kernel $K_CLASS${K_FRAME:+ ($K_FRAME)}, model $M_CLASS: $verdict"
  fi
  log "$line [boot ${boot_total}s, model $M_IDS ${M_WHY}]"
  RESULTS+=("$line")
  # the IOMMU's map/unmap events and how many held pages still had a DMA address after the
  # action: what tells a late unmap that went nowhere (6.1 intel: 32 never unmapped) from one
  # done at destroy (6.12, 7.3)
  ev=$(sed -n 's/^PPCRASH-IOMMU-EVENTS map=\([0-9]*\) unmap=\([0-9]*\).*/\1\t\2/p' "$console.txt" 2>/dev/null | head -1)
  [ -n "$ev" ] || ev=$'-\t-'
  held=$(sed -n 's/^PPCRASH-ACTION-DONE .* held_with_dma_addr=\([0-9]*\).*/\1/p' "$console.txt" 2>/dev/null | head -1)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$c" "$kname" "${K_CLASS:--}" "${K_FRAME:--}" "${M_CLASS:--}" \
    "${M_IDS:--}" "$verdict" "$boot_total" "$boots" "$ev" "${held:--}" >>"$OUT/cells.tsv"
done
for l in "${RESULTS[@]}"; do echo "$l"; done
echo "oracle-crash: ${#CELL_LIST[@]} cells, $DIFFERS DIFFER, $([ $FAILED = 0 ] && echo "none failed" || echo "some FAILED"); fetch ${T_FETCH}s, modules+initramfs ${T_MODULES}s, boots ${T_BOOTS}s, total $(since "$T_START")s (per cell: $OUT/cells.tsv)"
[ $FAILED = 0 ] && [ $DIFFERS = 0 ]
