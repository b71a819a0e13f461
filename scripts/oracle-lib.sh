# shellcheck shell=bash
# Shared parts of the kernel oracle's scripts (scripts/oracle.sh, scripts/oracle-crash.sh),
# sourced, not run: host tools, Debian's kernels through a private apt per suite, out-of-tree
# module builds (on the host or in a chroot of the kernel's own release), initramfs packing.
#
# The caller sets before sourcing:   CACHE (cache dir), LOG_TAG (log prefix, e.g. "oracle"),
# and may set ARCH (Debian architecture of the kernels, default amd64).
# Everything comes from Debian's packages on the mirror this machine's apt already uses
# (/etc/apt/sources.list.d/debian.sources); nothing but host tools is installed system-wide.

ARCH=${ARCH:-amd64}
LOG_TAG=${LOG_TAG:-oracle}

log() { printf '[%s %s] %s\n' "$LOG_TAG" "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# ---- host tools ------------------------------------------------------------------------------
APT_UPDATED=0
host_install() {  # host_install PACKAGE... (only those missing)
  local missing=() p
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  if [ $APT_UPDATED = 0 ]; then as_root apt-get update -q >/dev/null; APT_UPDATED=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

# ---- the mirror and a private apt per suite ----------------------------------------------------
mirror_init() {  # sets MIRROR and KEYRING
  local sources=/etc/apt/sources.list.d/debian.sources
  [ -r "$sources" ] || die "$sources not readable: the mirror to use is read from it"
  MIRROR=$(awk '/^URIs:/ && $2 !~ /security/ { print $2; exit }' "$sources")
  [ -n "$MIRROR" ] || die "no URIs: line in $sources"
  KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
}

papt_dir() { if [ "$ARCH" = amd64 ]; then echo "$CACHE/apt/$1"; else echo "$CACHE/apt/$1-$ARCH"; fi; }
papt_opts() {  # the options of a private apt for suite $1
  local d; d=$(papt_dir "$1")
  echo "-o Dir::Etc::sourcelist=$d/sources.list -o Dir::Etc::sourceparts=- -o Dir::State=$d/state" \
       "-o Dir::State::status=$d/state/status -o Dir::Cache=$d/cache -o Dir::Cache::archives=$d/archives" \
       "-o APT::Architecture=$ARCH -o APT::Architectures=$ARCH -o Acquire::Languages=none" \
       "-o Debug::NoLocking=1 -o APT::Sandbox::User=root"
}
papt_update() {  # once per suite per day
  local suite=$1 d; d=$(papt_dir "$suite")
  mkdir -p "$d/state/lists/partial" "$d/cache" "$d/archives/partial"
  : >>"$d/state/status"
  echo "deb [arch=$ARCH signed-by=$KEYRING] $MIRROR $suite main" >"$d/sources.list"
  if [ -z "$(find "$d/state" -maxdepth 1 -name updated -mmin -1440 2>/dev/null)" ]; then
    # shellcheck disable=SC2046
    apt-get $(papt_opts "$suite") update -q >/dev/null || die "apt-get update of $suite ($ARCH) failed"
    touch "$d/state/updated"
  fi
}
papt() { local suite=$1; shift; # shellcheck disable=SC2046
  "$@" $(papt_opts "$suite"); }

suite_of() {  # the Debian suite that carries kernel series $1 for this harness
  case "$1" in
    6.1) echo bookworm ;;
    6.12) echo bookworm-backports ;;
    7.*) echo trixie-backports ;;
    *) die "no suite known for kernel series $1 (known: 6.1, 6.12, 7.x)" ;;
  esac
}
release_of() { echo "${1%%-*}"; }  # trixie-backports -> trixie

pkg_version() { papt "$1" apt-cache show "$2" 2>/dev/null | awk '/^Version:/ { print $2; exit }'; }
pkg_exists() { [ -n "$(pkg_version "$1" "$2")" ]; }

kflavour() { case "$ARCH" in amd64) echo amd64 ;; ppc64el) echo powerpc64le ;; *) echo "$ARCH" ;; esac; }

resolve_abi() {  # the newest ABI name of series $1 in suite $2, e.g. 6.1.0-50-amd64
  local series=$1 suite=$2 re best="" bestv="" p v fl
  fl=$(kflavour)
  re="^linux-headers-${series//./\\.}\\.[0-9]+(-[0-9]+|\\+deb[0-9]+)-$fl\$"
  for p in $(papt "$suite" apt-cache pkgnames linux-headers- | grep -E "$re" || true); do
    v=$(pkg_version "$suite" "$p")
    if [ -z "$bestv" ] || dpkg --compare-versions "$v" gt "$bestv"; then best=$p; bestv=$v; fi
  done
  [ -n "$best" ] || die "no linux-headers for $series ($fl) in $suite"
  echo "${best#linux-headers-}"
}

# ---- one kernel: packages, extraction, module build, initramfs ---------------------------------
fetch_kernel() {  # fetch_kernel SERIES: sets SUITE, ABI, KDIR (extracted tree), VMLINUZ
  local series=$1 img deps p
  SUITE=$(suite_of "$series")
  papt_update "$SUITE"
  ABI=$(resolve_abi "$series" "$SUITE")
  KDIR="$CACHE/kernels/$ABI"
  if [ ! -e "$KDIR/.extracted" ]; then
    if pkg_exists "$SUITE" "linux-binary-$ABI"; then img="linux-binary-$ABI"
    elif pkg_exists "$SUITE" "linux-image-$ABI-unsigned"; then img="linux-image-$ABI-unsigned"
    else img="linux-image-$ABI"; fi
    deps=$(papt "$SUITE" apt-cache depends "linux-headers-$ABI" 2>/dev/null |
           awk '/Depends:/ { print $2 }' | grep -E '^linux-(headers|kbuild)-' | sort -u || true)
    mkdir -p "$KDIR/debs" "$KDIR/root"
    log "$series: downloading $img linux-headers-$ABI $(echo $deps) from $SUITE"
    (cd "$KDIR/debs" && papt "$SUITE" apt-get download -q "$img" "linux-headers-$ABI" $deps >/dev/null) ||
      die "$series: cannot download $img linux-headers-$ABI $(echo $deps) ($ARCH) from $SUITE"
    for p in "$KDIR"/debs/*.deb; do dpkg-deb -x "$p" "$KDIR/root"; done
    # the headers' Makefile includes the -common tree by absolute path: point it at ours
    sed -i "s#^include /usr/src/#include $KDIR/root/usr/src/#" "$KDIR/root/usr/src/linux-headers-$ABI/Makefile"
    touch "$KDIR/.extracted"
  fi
  VMLINUZ=$(find "$KDIR/root/boot" "$KDIR/root/usr/lib/modules/$ABI" -maxdepth 1 \( -name "vmlinuz*" -o -name "vmlinux*" \) 2>/dev/null | head -1 || true)
  [ -n "$VMLINUZ" ] || die "no vmlinuz in the packages of $ABI"
}

kernel_gcc_major() {  # the gcc major the kernel was built with, from its config
  local c="$KDIR/root/usr/src/linux-headers-$ABI/.config"
  awk -F= '/^CONFIG_GCC_VERSION=/ { print int($2 / 10000) }' "$c"
}

CHROOT_MOUNTS=()
chroot_cleanup() {
  local m
  for m in "${CHROOT_MOUNTS[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
  CHROOT_MOUNTS=()
}

ensure_chroot() {  # a chroot of release $1 with gcc-$2 (and packages $3, comma-separated) for
                  # kbuild trees newer than the host
  local rel=$1 gccv=$2 extra=${3:-} dir="$CACHE/chroot/$1-gcc$2"
  [ -z "$extra" ] || dir+="-${extra//,/-}"
  if [ ! -e "$dir/.ready" ]; then
    host_install mmdebstrap
    log "making a $rel chroot with gcc-$gccv${extra:+ and $extra} (mmdebstrap, cached in $dir)"
    rm -rf "$dir"; mkdir -p "$(dirname "$dir")"
    as_root mmdebstrap --quiet --variant=minbase \
      --include="gcc-$gccv,make,libelf-dev,libc6-dev,bc,bison,flex,libssl-dev,xz-utils,kmod,binutils${extra:+,$extra}" \
      "$rel" "$dir" "deb [signed-by=$KEYRING] $MIRROR $rel main" >/dev/null
    touch "$dir/.ready"
  fi
  CHROOT=$dir
}

# build_kmod SRC OUT KO [MAKE_ARGS...]: copies SRC's Kbuild, *.c, *.h to OUT (made afresh) and
# builds them for $ABI ($KDIR) with make -j1 -- on the host when the kernel's CONFIG_GCC_VERSION
# is not newer than the host gcc, else in a cached chroot of the suite's release with that gcc
# (7.3: trixie, gcc-14, /proc mounted for objtool). The log is OUT.log; dies unless OUT/KO exists.
# KMOD_CROSS (e.g. powerpc64le-linux-gnu-) and KMOD_ARCH (powerpc) cross-build: the kbuild tree's
# host tools must then be the build machine's (linux-kbuild of amd64 extracted over the tree).
build_kmod() {
  local src=$1 out=$2 ko=$3; shift 3
  local kb="$KDIR/root/usr/src/linux-headers-$ABI" host_gcc kgcc f mnt cross=${KMOD_CROSS:-}
  [ -z "$cross" ] || set -- ARCH="${KMOD_ARCH:?KMOD_ARCH with KMOD_CROSS}" CROSS_COMPILE="$cross" "$@"
  rm -rf "$out"; mkdir -p "$out"
  for f in "$src"/Kbuild "$src"/*.c "$src"/*.h; do [ -e "$f" ] && cp "$f" "$out/"; done
  host_gcc=$(gcc -dumpversion | cut -d. -f1)
  kgcc=$(kernel_gcc_major)
  if [ -n "$kgcc" ] && [ "$kgcc" -gt "$host_gcc" ]; then
    # kbuild's host tools of this kernel need the newer glibc and gcc of its own release
    ensure_chroot "$(release_of "$SUITE")" "$kgcc" "${cross:+gcc-$kgcc-${cross%-}}"
    if [ ! -e "$CHROOT/.headers-$ABI" ]; then
      local p; for p in "$KDIR"/debs/linux-headers-*.deb "$KDIR"/debs/linux-kbuild-*.deb; do dpkg-deb -x "$p" "$CHROOT"; done
      touch "$CHROOT/.headers-$ABI"
    fi
    mnt="/build.$$"  # per process: two scripts may build in the same chroot at once
    mkdir -p "$CHROOT$mnt" "$CHROOT/proc"
    mount --bind "$out" "$CHROOT$mnt"; CHROOT_MOUNTS+=("$CHROOT$mnt")
    mountpoint -q "$CHROOT/proc" || { mount -t proc proc "$CHROOT/proc"; CHROOT_MOUNTS+=("$CHROOT/proc"); }  # objtool reads /proc/self/limits
    chroot "$CHROOT" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin make -j1 -C "/usr/src/linux-headers-$ABI" \
      M="$mnt" CC="${cross}gcc-$kgcc" CONFIG_DEBUG_INFO_BTF_MODULES= "$@" modules >"$out.log" 2>&1 ||
      { chroot_cleanup; rmdir "$CHROOT$mnt" 2>/dev/null; tail -30 "$out.log" >&2; die "module build for $ABI failed ($out.log)"; }
    chroot_cleanup
    rmdir "$CHROOT$mnt" 2>/dev/null || true
  else
    make -j1 -C "$kb" M="$out" CONFIG_DEBUG_INFO_BTF_MODULES= "$@" modules >"$out.log" 2>&1 ||
      { tail -30 "$out.log" >&2; die "module build for $ABI failed ($out.log)"; }
  fi
  [ -e "$out/$ko" ] || die "no $ko for $ABI ($out.log)"
}

# copy_kernel_modules DIR NAME...: the kernel package's modules NAME (decompressed) into DIR,
# in the order given; prints the names found, one a line (those built into the kernel are absent).
copy_kernel_modules() {
  local dir=$1 m f; shift
  for m in "$@"; do
    f=$(find "$KDIR/root/lib/modules/$ABI" "$KDIR/root/usr/lib/modules/$ABI" -name "$m.ko*" 2>/dev/null | head -1 || true)
    [ -n "$f" ] || continue
    case $f in
      *.xz) xz -dc "$f" >"$dir/$m.ko" ;;
      *.zst) zstd -qdc "$f" >"$dir/$m.ko" ;;
      *) cp "$f" "$dir/$m.ko" ;;
    esac
    echo "$m"
  done
}

pack_initramfs() {  # pack_initramfs ROOTFS OUT.gz
  (cd "$1" && find . | cpio -o -H newc --quiet | gzip -1) >"$2"
}
