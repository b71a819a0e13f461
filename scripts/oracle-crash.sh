#!/usr/bin/env bash
# The crash stories as oracle tests (issue 24 item 5): a page_pool with PP_FLAG_DMA_MAP on a
# PCI device behind an IOMMU, pages held outside the driver while the driver unbinds or the
# device is removed, then returned. Each cell -- kernel x IOMMU x action -- boots one of
# Debian's kernels under QEMU with our edu driver (tests/oracle/crash/), classifies what the
# kernel did, runs the same story on the model (ppctl run, the matching profile and IOMMU) and
# compares the two as classes: crash / clean / leaked mapping.
#
#   scripts/oracle-crash.sh [--arch x86|ppc64|all] [--kernels 6.1,6.12,7.3]
#                           [--iommus amd,intel] [--actions unbind,remove]
#                           [--cells 6.1:amd:remove,6.1:ppc-ddw:remove-phb,...]  (instead of the
#                                              product; the IOMMU ppc-ddw means pseries)
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
# behind a pcie-root-port. --arch ppc64: Debian's ppc64el kernels under qemu-system-ppc64 -M pseries,
# the edu device on a second PHB, the driver's DMA mask 32 bits (the PHB's default TCE window), the
# actions `remove` (the device, PHB kept) and `remove-phb` (the device, then the PHB by DLPAR:
# tests/oracle/crash/init.sh); the module is cross-built (gcc-powerpc64le-linux-gnu, the amd64
# linux-kbuild of the same version for kbuild's host tools) and the guest's busybox is Debian's
# ppc64el busybox-static.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CRASH="$ROOT/tests/oracle/crash"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/ppsim/oracle"
ARCH_SEL=x86
KERNELS=6.1,6.12,7.3
IOMMUS=""
ACTIONS=""
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
    --arch) ARCH_SEL=$2; shift 2 ;;
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
product() {  # product KERNELS IOMMUS ACTIONS: the cells, comma-separated
  local k i a _k _i _a out=""
  IFS=, read -r -a _k <<<"$1"; IFS=, read -r -a _i <<<"$2"; IFS=, read -r -a _a <<<"$3"
  for k in "${_k[@]}"; do for i in "${_i[@]}"; do for a in "${_a[@]}"; do out+="${out:+,}$k:$i:$a"; done; done; done
  echo "$out"
}
if [ -z "$CELLS" ]; then
  case "$ARCH_SEL" in
    x86) CELLS=$(product "$KERNELS" "${IOMMUS:-amd,intel}" "${ACTIONS:-unbind,remove}") ;;
    ppc64) CELLS=$(product "$KERNELS" ppc-ddw "${ACTIONS:-remove,remove-phb}") ;;
    all) CELLS="$(product "$KERNELS" "${IOMMUS:-amd,intel}" "${ACTIONS:-unbind,remove}"),$(product "$KERNELS" ppc-ddw "${ACTIONS:-remove,remove-phb}")" ;;
    *) echo "oracle-crash.sh: --arch x86, ppc64 or all" >&2; exit 64 ;;
  esac
fi
IFS=, read -r -a CELL_LIST <<<"$CELLS"
NEED_PPC=0
for c in "${CELL_LIST[@]}"; do
  IFS=: read -r k i a <<<"$c"
  case "$k" in 6.1|6.12|7.*) ;; *) echo "oracle-crash.sh: kernel $k: 6.1, 6.12 or 7.x" >&2; exit 64 ;; esac
  case "$i" in amd|intel) ;;
               ppc-ddw) NEED_PPC=1 ;;
               *) echo "oracle-crash.sh: iommu $i: amd, intel or ppc-ddw" >&2; exit 64 ;; esac
  case "$a" in unbind|remove) ;; remove-phb) [ "$i" = ppc-ddw ] || { echo "oracle-crash.sh: remove-phb is pseries (ppc-ddw)" >&2; exit 64; } ;;
               *) echo "oracle-crash.sh: action $a: unbind, remove or remove-phb" >&2; exit 64 ;; esac
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
[ $NEED_PPC = 0 ] || host_install qemu-system-ppc gcc-powerpc64le-linux-gnu libc6-dev-ppc64el-cross
mirror_init
trap chroot_cleanup EXIT

# ---- the kernel side ---------------------------------------------------------------------------
# prepare SERIES PLATFORM (x86 or pseries): the kernel, ppcrash.ko and the initramfs; sets ABI,
# KDIR, VMLINUZ, BUILD_DIR. The module is rebuilt only when its sources changed.
prepare() {
  local series=$1 platform=$2 sum
  if [ "$platform" = pseries ]; then
    ARCH=ppc64el; fetch_kernel "$series"; kbuild_for_host; ARCH=amd64
    export KMOD_CROSS=powerpc64le-linux-gnu- KMOD_ARCH=powerpc
  else
    ARCH=amd64; fetch_kernel "$series"
    unset KMOD_CROSS KMOD_ARCH
  fi
  BUILD_DIR="$CACHE/build/$ABI/crash"
  sum=$(cat "$CRASH"/Kbuild "$CRASH"/*.c | sha256sum | cut -d' ' -f1)
  if ! [ -e "$BUILD_DIR/ppcrash.ko" ] || [ "$(cat "$BUILD_DIR.sum" 2>/dev/null)" != "$sum" ]; then
    build_kmod "$CRASH" "$BUILD_DIR" ppcrash.ko
    echo "$sum" >"$BUILD_DIR.sum"
  fi
  local r="$BUILD_DIR/rootfs"
  rm -rf "$r"; mkdir -p "$r"/{bin,sbin,lib,proc,sys,dev,run,tmp,etc}
  cp "$BUILD_DIR/ppcrash.ko" "$r/lib/ppcrash.ko"
  cp "$CRASH/init.sh" "$r/init"; chmod 755 "$r/init"
  if [ "$platform" = pseries ]; then
    ppc_userspace
    cp "$PPC_BUSYBOX" "$r/bin/busybox"
    cp "$PPC_RTAS_CALL" "$r/bin/rtas-call"
    # the PHB's slot goes through rpadlpar (DLPAR), which needs rpaphp
    copy_kernel_modules "$r/lib" rpaphp rpadlpar_io >"$r/lib/modules.list"
  else
    cp /bin/busybox "$r/bin/busybox"
  fi
  pack_initramfs "$r" "$BUILD_DIR/initrd.gz"
}

# kbuild_for_host: the ppc64el headers' scripts/ and tools point into linux-kbuild-*, whose
# binaries are ppc64el: extract the amd64 package of the same name and version over them, and
# keep it (not the ppc64el one) in debs/ for a chroot build.
kbuild_for_host() {
  local deb pkg ver
  [ -e "$KDIR/.kbuild-amd64" ] && return 0
  deb=$(ls "$KDIR"/debs/linux-kbuild-*.deb 2>/dev/null | head -1 || true)
  [ -n "$deb" ] || die "no linux-kbuild package among the headers' dependencies of $ABI"
  pkg=$(dpkg-deb -f "$deb" Package); ver=$(dpkg-deb -f "$deb" Version)
  mkdir -p "$KDIR/debs-ppc64el-kbuild"; mv "$deb" "$KDIR/debs-ppc64el-kbuild/"
  (ARCH=amd64; papt_update "$SUITE"
   cd "$KDIR/debs" && papt "$SUITE" apt-get download -q "$pkg=$ver" >/dev/null) ||
    die "cannot download $pkg $ver for amd64 from $SUITE"
  dpkg-deb -x "$(ls "$KDIR"/debs/"${pkg}"_*_amd64.deb | head -1)" "$KDIR/root"
  touch "$KDIR/.kbuild-amd64"
}

# ppc_userspace: Debian's ppc64el busybox-static and our rtas-call, cross-built static; sets
# PPC_BUSYBOX and PPC_RTAS_CALL
ppc_userspace() {
  local d="$CACHE/build/ppc64el-userspace"
  PPC_BUSYBOX="$d/root/bin/busybox"; PPC_RTAS_CALL="$d/rtas-call"
  mkdir -p "$d/debs"
  if [ ! -x "$PPC_BUSYBOX" ]; then
    (ARCH=ppc64el; papt_update bookworm; cd "$d/debs" && papt bookworm apt-get download -q busybox-static >/dev/null) ||
      die "cannot download busybox-static for ppc64el"
    dpkg-deb -x "$(ls "$d"/debs/busybox-static_*_ppc64el.deb | head -1)" "$d/root"
  fi
  if [ ! -x "$PPC_RTAS_CALL" ] || [ "$CRASH/tools/rtas-call.c" -nt "$PPC_RTAS_CALL" ]; then
    powerpc64le-linux-gnu-gcc -O2 -Wall -Wextra -static -o "$PPC_RTAS_CALL.$$" "$CRASH/tools/rtas-call.c" ||
      die "cannot cross-build rtas-call"
    mv -f "$PPC_RTAS_CALL.$$" "$PPC_RTAS_CALL"
  fi
}

# boot_cell IOMMU ACTION CONSOLE: one boot; sets BOOT_RESULT (done, noinit, timeout) and BOOT_S
boot_cell() {
  local iommu=$1 action=$2 console=$3 pid t0 s0 append qemu
  append="loglevel=4 panic=-1 quiet ppcrash_action=$action"
  case "$iommu" in
    intel|amd)
      # the IOMMU before any PCI device; edu behind a PCIe root port, as a NIC in a slot
      qemu=(qemu-system-x86_64 -M q35 -accel tcg -cpu max -smp 1 -m 1G -serial stdio
            -device "$iommu-iommu"
            -device pcie-root-port,id=rp1,bus=pcie.0,chassis=1,slot=1 -device edu,bus=rp1)
      append="console=ttyS0 $append"
      [ "$iommu" = amd ] || append+=" intel_iommu=on" ;;
    ppc-ddw)
      # edu alone on a second PHB (index 1: DRC "PHB 1"), a 32-bit mask: the PHB's default window
      qemu=(qemu-system-ppc64 -M pseries -accel tcg -cpu power9 -smp 1 -m 1G -serial stdio
            -device spapr-pci-host-bridge,index=1,id=phb1 -device edu,id=edu0,bus=phb1.0)
      append="console=hvc0 $append ppcrash_dmabits=32" ;;
  esac
  t0=$(now)
  "${qemu[@]}" -nographic -vga none -no-reboot -monitor none -nic none \
    -kernel "$VMLINUZ" -initrd "$BUILD_DIR/initrd.gz" -append "$append" </dev/null >"$console" 2>&1 &
  pid=$!
  s0=$SECONDS
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

# classify CONSOLE IOMMU: sets K_CLASS (crash, clean, leaked mapping; "" = no result), K_FRAME (the
# oops's top frame), K_WHY (why there is no result, or a note), K_VERSION (Debian's upstream
# version, e.g. 6.1.176)
classify() {
  local c=$1 iommu=$2 from oops last
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
  if [ "$iommu" != ppc-ddw ] && [ "$(sed -n 's/^PPCRASH-BOUND .* iommu_group=\([^ ]*\) .*/\1/p' "$c.txt")" = none ]; then
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
profile_of() {  # profile_of SERIES IOMMU: the ppsim profile of Debian's build of that kernel
  case "$2" in
    ppc-ddw) case "$1" in
               7.*) echo v7.2-ppc64 ;;  # the model's 7.x ppc64el profile: v7.3's switches on ppc64
               *) echo "v$1-ppc64" ;;
             esac ;;
    *) echo "v$1" ;;
  esac
}

# write_scenario SERIES IOMMU ACTION FILE: the same story for ppsim: a PP_FLAG_DMA_MAP pool on a
# bound device, one page held outside the driver, the action, the page returned from process
# context (page_pool_put_full_page(pool, page, false)), then 3 s for the release worker. No
# strategies: the profile's own (Debian's builds: legacy on 6.1, dma-tracking on 6.12 and 7.3).
write_scenario() {
  local series=$1 iommu=$2 action=$3 file=$4 act add="add_device"
  case "$action" in
    unbind) act="  - unbind_driver device=\$dev" ;;
    remove) act="  - remove_device device=\$dev" ;;
    remove-phb) act="  - remove_device device=\$dev phb=true" ;;
  esac
  [ "$iommu" != ppc-ddw ] || add="add_device dma_mask_bits=32"  # the PHB's default window
  cat >"$file" <<EOF
# generated by scripts/oracle-crash.sh: the crash story $series $iommu $action
name: crash-$series-$iommu-$action
description: a page held outside the driver across $action, behind $iommu, on $series
profile: $(profile_of "$series" "$iommu")
lab:
  iommu: $iommu
  seed: 1
steps:
  - op: $add
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
T_PREPARE=0; T_BOOTS=0
declare -A PREPARED
for c in "${CELL_LIST[@]}"; do
  IFS=: read -r series iommu action <<<"$c"
  platform=x86; [ "$iommu" != ppc-ddw ] || platform=pseries
  if [ -z "${PREPARED[$series-$platform]:-}" ]; then
    # in a subshell, so that a kernel that cannot be fetched or built fails its cells, not the run
    t0=$(now); plog="$OUT/prepare-$series-$platform.log"; rm -f "$plog.result"
    set +e
    (set -e; prepare "$series" "$platform"; echo "$ABI|$KDIR|$VMLINUZ|$BUILD_DIR" >"$plog.result") >"$plog" 2>&1
    set -e
    cat "$plog" >&2
    if [ -s "$plog.result" ]; then
      PREPARED[$series-$platform]=$(cat "$plog.result")
    else
      PREPARED[$series-$platform]="FAILED|$(grep -a 'error:' "$plog" | tail -1 | sed 's/.*error: //')"
    fi
    T_PREPARE=$(awk -v a="$T_PREPARE" -v b="$(since "$t0")" 'BEGIN { print a + b }')
  fi
  IFS='|' read -r ABI KDIR VMLINUZ BUILD_DIR <<<"${PREPARED[$series-$platform]}"
  if [ "$ABI" = FAILED ]; then
    line="crash-story $series $iommu $action: FAILED: the $platform kernel could not be prepared: ${KDIR:-see $OUT/prepare-$series-$platform.log}"
    FAILED=1; log "$line"; RESULTS+=("$line")
    printf '%s\t%s\t-\t-\t-\t-\tFAILED\t0\t0\t-\t-\t-\n' "$c" "$series" >>"$OUT/cells.tsv"
    continue
  fi
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
  classify "$console" "$iommu"
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
echo "oracle-crash: ${#CELL_LIST[@]} cells, $DIFFERS DIFFER, $([ $FAILED = 0 ] && echo "none failed" || echo "some FAILED"); kernels+modules+initramfs ${T_PREPARE}s, boots ${T_BOOTS}s, total $(since "$T_START")s (per cell: $OUT/cells.tsv)"
[ $FAILED = 0 ] && [ $DIFFERS = 0 ]
