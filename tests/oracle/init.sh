#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
# /init of the oracle's initramfs: mounts what the runner reads, loads the module, runs every
# sequence in /seq through ppo-run, powers off. Observations go to the virtio-serial port
# pporacle.obs (or, without one, the second serial port), a file on the host; the kernel
# console stays on ttyS0.
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t debugfs debugfs /sys/kernel/debug
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null || true
mount -t tmpfs tmpfs /tmp
# observations: the virtio port the host named pporacle.obs (fast), else serial 1
for m in $(cat /lib/virtio.list 2>/dev/null); do insmod /lib/$m.ko; done
OUT=/dev/ttyS1
i=0
while [ $i -lt 20 ]; do
  for p in /sys/class/virtio-ports/*; do
    [ "$(cat $p/name 2>/dev/null)" = pporacle.obs ] && [ -c /dev/${p##*/} ] && OUT=/dev/${p##*/}
  done
  [ $OUT != /dev/ttyS1 ] && break
  sleep 0.1; i=$((i + 1))
done
[ -c $OUT ] || OUT=/dev/console
stty -F $OUT raw -echo 2>/dev/null
say() { echo "$*" > $OUT; }
say "PPORACLE-INIT-START uptime=$(cut -d' ' -f1 /proc/uptime) kernel=$(uname -r) debian=$(sed -n 's/.* Debian \([^ ]*\) .*/\1/p' /proc/version) nodes=$(ls -d /sys/devices/system/node/node* 2>/dev/null | wc -l)"
ip link set lo up 2>/dev/null || true
if insmod /lib/pporacle.ko; then
  /bin/ppo-run -o $OUT -w "$(cat /etc/drain_wait_ms 2>/dev/null || echo 5000)" /seq/*.ops
else
  say "PPORACLE-ERROR insmod failed: $(dmesg | tail -5 | tr '\n' '|')"
fi
say "PPORACLE-INIT-END uptime=$(cut -d' ' -f1 /proc/uptime) taint=$(cat /proc/sys/kernel/tainted)"
sync
poweroff -f
