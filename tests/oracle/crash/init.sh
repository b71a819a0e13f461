#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
# /init of a crash-story boot (scripts/oracle-crash.sh): loads ppcrash.ko, which binds QEMU's
# edu device, creates a PP_FLAG_DMA_MAP pool and keeps 32 of its 64 pages outside the driver;
# then one action -- `unbind` (the driver leaves, the device stays), `remove` (sysfs remove of
# the PCI device: its driver's remove() destroys the pool, then the device and its IOMMU state
# go) or `remove-phb` (pseries: the device, then its PHB by DLPAR, as drmgr does) -- returns
# the held pages to the destroyed pool, waits for the pool's release worker and powers off.
# Everything goes to the console, one `PPCRASH-<WHAT> ...` line per step; the host reads the
# console (an oops comes out there too).
# Kernel command line: ppcrash_action=unbind|remove|remove-phb [ppcrash_dmabits=N] (the
# driver's DMA mask; on pseries 32 puts its pages in the PHB's default TCE window).
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t debugfs debugfs /sys/kernel/debug
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null || true
mount -t tmpfs tmpfs /tmp
up() { cut -d' ' -f1 /proc/uptime; }
say() { echo "PPCRASH-$*"; }
arg() { sed -n "s/.*$1=\([a-z0-9_-]*\).*/\1/p" /proc/cmdline; }
finish() {
  say "END uptime=$(up) taint=$(cat /proc/sys/kernel/tainted)"
  sync
  poweroff -f
}
ACTION=$(arg ppcrash_action)
say "INIT-START uptime=$(up) kernel=$(uname -r) debian=$(sed -n 's/.* Debian \([^ ]*\) .*/\1/p' /proc/version) action=$ACTION"

T=/sys/kernel/tracing
if [ -e $T/events/page_pool/page_pool_release/enable ]; then
  echo 1 > $T/events/page_pool/page_pool_release/enable
  for e in map unmap; do [ -e $T/events/iommu/$e/enable ] && echo 1 > $T/events/iommu/$e/enable; done
  echo 1 > $T/tracing_on
else
  say "NOTE no page_pool_release tracepoint: the pool's end is read from the module only"
fi

# modules the story needs that the kernel builds as modules (pseries: rpaphp, rpadlpar_io)
for m in $(cat /lib/modules.list 2>/dev/null); do insmod /lib/$m.ko || say "NOTE insmod $m failed"; done
C=/sys/kernel/debug/ppcrash/ctl
BITS=$(arg ppcrash_dmabits)
if ! insmod /lib/ppcrash.ko ${BITS:+dmabits=$BITS}; then say "ERROR insmod failed: $(dmesg | tail -3 | tr '\n' '|')"; finish; fi
PCI=$(ls /sys/bus/pci/drivers/ppcrash 2>/dev/null | grep -E '^[0-9a-f]{4}:' | head -1)
if [ -z "$PCI" ]; then say "ERROR no edu device bound to ppcrash: $(ls /sys/bus/pci/devices | tr '\n' ' ')"; finish; fi
D=/sys/bus/pci/devices/$PCI
GROUP=$(basename "$(readlink $D/iommu_group 2>/dev/null)" 2>/dev/null)
STATE=$(cat $C)
POOL=$(echo "$STATE" | sed -n 's/.* pool=\([0-9a-fx]*\) .*/\1/p')
say "BOUND uptime=$(up) pci=$PCI iommu_group=${GROUP:-none} domain=$(cat $D/iommu_group/type 2>/dev/null || echo none) $STATE"
dmesg | grep -iE "DMAR: IOMMU enabled|AMD-Vi: (Interrupt|Found|Using)|iommu: Default domain|DMA domain TLB|ddw|dma window" | sed 's/^/PPCRASH-IOMMU /'

hex() { od -An -tx1 "$1" 2>/dev/null | tr -d ' \n'; }
# pseries: what `drmgr -c phb -r` does once the host has asked for the PHB (QMP device_del only
# raises the RTAS event): the device goes, the PHB's slot leaves rpadlpar, RTAS isolates its DRC
# and marks it unusable, and the device's and the PHB's nodes leave the device tree -- that last
# step frees the PHB's TCE tables (iommu_table_free). QEMU names PHB index 1's DRC "PHB 1".
remove_phb() {
  local dn phbdn drc
  dn=$(readlink -f $D/of_node); dn=${dn#/sys/firmware/devicetree/base}
  phbdn=${dn%/*}
  drc=$(hex /proc/device-tree$phbdn/ibm,my-drc-index)
  say "PHB node=$phbdn drc=0x$drc device node=$dn"
  echo 1 > $D/remove || return 1
  echo -n "PHB 1" > /sys/bus/pci/slots/control/remove_slot || return 2
  /bin/rtas-call set-indicator 1 9001 0x$drc 0 || return 3   # isolation-state: isolate
  /bin/rtas-call set-indicator 1 9003 0x$drc 0 || return 4   # allocation-state: unusable
  echo -n "remove_node $dn" > /proc/powerpc/ofdt || return 5   # no newline: ofdt refuses it
  echo -n "remove_node $phbdn" > /proc/powerpc/ofdt || return 6
}
case $ACTION in
  unbind) echo "$PCI" > /sys/bus/pci/drivers/ppcrash/unbind; rc=$? ;;
  remove) echo 1 > $D/remove; rc=$? ;;
  remove-phb) remove_phb; rc=$? ;;
  *) say "ERROR unknown action '$ACTION'"; finish ;;
esac
say "ACTION-DONE uptime=$(up) action=$ACTION rc=$rc device_present=$([ -e $D ] && echo yes || echo no) $(cat $C)"
sleep 1
# a child writes: if the return itself oopses, the child dies and init goes on
sh -c "echo return > $C"; rc=$?
say "RETURNED uptime=$(up) rc=$rc $(cat $C)"
# the release worker retries once a second: wait at least 3 s, up to 8 s for the pool to go
i=0
while [ $i -lt 16 ]; do
  sleep 0.5; i=$((i + 1))
  [ $i -ge 6 ] && grep -q "page_pool_release: page_pool=$POOL inflight=0 " $T/trace 2>/dev/null && break
done
LAST=$(grep "page_pool_release: page_pool=$POOL " $T/trace 2>/dev/null | tail -1 | sed 's/.*page_pool_release: //')
say "POOL-RELEASE pool=$POOL lines=$(grep -c "page_pool_release: page_pool=$POOL " $T/trace 2>/dev/null) last=${LAST:-none}"
say "IOMMU-EVENTS map=$(grep -c ' map: IOMMU' $T/trace 2>/dev/null) unmap=$(grep -c ' unmap: IOMMU' $T/trace 2>/dev/null)"
dmesg | grep -E "ppcrash|page_pool|BUG|WARNING|Oops|iommu_table_free|plpar_tce" | tail -n 20 | sed 's/^/PPCRASH-DMESG /'
finish
