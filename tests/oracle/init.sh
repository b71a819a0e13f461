#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
# /init of the oracle's initramfs: mounts what the runner reads, loads the module, runs every
# sequence in /seq through ppo-run, powers off. Observations go to the second serial port
# (/dev/ttyS1, a file on the host), the kernel console stays on ttyS0.
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t debugfs debugfs /sys/kernel/debug
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null || true
mount -t tmpfs tmpfs /tmp
OUT=/dev/ttyS1
[ -c $OUT ] || OUT=/dev/console
stty -F $OUT raw -echo 2>/dev/null
say() { echo "$*" > $OUT; }
say "PPORACLE-INIT-START uptime=$(cut -d' ' -f1 /proc/uptime) kernel=$(uname -r) debian=$(sed -n 's/.* Debian \([^ ]*\) .*/\1/p' /proc/version) nodes=$(ls -d /sys/devices/system/node/node* 2>/dev/null | wc -l)"
ip link set lo up 2>/dev/null || true
if insmod /lib/pporacle.ko; then
  /bin/ppo-run -o $OUT /seq/*.ops
else
  say "PPORACLE-ERROR insmod failed: $(dmesg | tail -5 | tr '\n' '|')"
fi
say "PPORACLE-INIT-END uptime=$(cut -d' ' -f1 /proc/uptime) taint=$(cat /proc/sys/kernel/tainted)"
sync
poweroff -f
