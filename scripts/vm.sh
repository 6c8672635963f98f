#!/usr/bin/env bash
# A throwaway QEMU VM (software emulation, TCG) booting Debian's own kernel,
# to run talon against a kernel other than this machine's (BPF LSM, fentry).
# The recipe of shared/reference/kernel.md, automated and idempotent:
#
#   scripts/vm.sh prepare [--kernel K]    packages, kernel, initramfs (cached); exit 3 + reason
#                                         when the VM cannot run here
#   scripts/vm.sh run [opts] -- CMD...    boots, runs CMD in the guest, exits with its status
#       --kernel K    the guest kernel: 6.1 (default: bookworm's linux-image-amd64) or 6.12
#                     (bookworm-backports' linux-image-6.12-amd64; the backports suite is added
#                     to apt's sources once, with the system entry's mirror and key); also
#                     $TALON_VM_KERNEL
#       --timeout S   whole run, boot included (default 300, or $TALON_VM_TIMEOUT)
#       --mem MB      guest memory (default 2048)      --smp N   vCPUs (default 2)
#       --cwd DIR     working directory in the guest (default: the current one)
#       -e NAME=VAL   environment variable for CMD (repeatable)
#   scripts/vm.sh info                    what is cached, and the kernel command line
#   scripts/vm.sh clean                   removes the cache
#
# The guest sees this machine's root read-only over 9p, so node, the built shim
# and the BPF objects run unchanged; /tmp, /run and /dev/shm are tmpfs in the
# guest (the host's /tmp is hidden: jobs live under the cache directory). Its
# kernel is the one linux-image-amd64 depends on (6.1 on bookworm) or, with --kernel 6.12,
# the one bookworm-backports' linux-image-6.12-amd64 depends on, booted with
# lsm=lockdown,capability,landlock,bpf. The guest mounts proc, sys, devtmpfs,
# devpts, bpffs, securityfs, tracefs and cgroup2 (/sys/fs/cgroup), brings up lo,
# runs CMD as root (stdin /dev/null, output on the serial console, which is this
# script's stdout), prints "TALON-VM-EXIT=<status>" and powers off.
#
# Exit status of run: CMD's, or 124 on timeout, 125 when the guest never reported
# one (boot failure: see the console output), 3 when the VM cannot run here.
set -euo pipefail
shopt -s inherit_errexit

CACHE=${TALON_VM_CACHE:-/var/cache/talon-vm}
MARK=TALON-VM-EXIT
# modules the guest needs for virtio-pci + 9p; their dependencies are resolved from
# each module's .modinfo, so a version that builds one in or adds one still works
WANT_MODULES=(virtio_pci 9pnet_virtio 9p)
APT_PKGS=(qemu-system-x86 busybox-static cpio)
KERNEL=${TALON_VM_KERNEL:-6.1}

say() { printf '\033[1m[vm]\033[0m %s\n' "$*" >&2; }
cannot() { printf 'vm: cannot run here: %s\n' "$*" >&2; exit 3; }
die() { printf 'vm: %s\n' "$*" >&2; exit 125; }

# ---- prepare ---------------------------------------------------------------

install_packages() {
  local missing=() p
  for p in "${APT_PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || cannot "missing ${missing[*]} and no apt-get"
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
    apt-get update -qq >/dev/null 2>&1 || true
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
      cannot "apt-get install ${missing[*]} failed"
  fi
}

# the metapackage of the chosen kernel line: its Depends names the current image package
kernel_meta() {
  case "$KERNEL" in
    6.1) echo linux-image-amd64 ;;
    6.12) echo linux-image-6.12-amd64 ;;
    *) echo "vm: unknown kernel $KERNEL (known: 6.1, 6.12)" >&2; exit 2 ;;
  esac
}

# bookworm-backports beside the system's own Debian entry (scripts/apt-backports.sh)
backports_source() {
  bash "$(dirname "${BASH_SOURCE[0]}")/apt-backports.sh" || cannot "bookworm-backports cannot be added to apt's sources"
}

# the image package the metapackage depends on, e.g. linux-image-6.1.0-56-amd64
kernel_package() {
  local pkg meta
  meta=$(kernel_meta)
  [ "$KERNEL" = 6.1 ] || backports_source
  pkg=$(apt-cache depends "$meta" 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}')
  if [ -z "$pkg" ]; then
    apt-get update -qq >/dev/null 2>&1 || true
    pkg=$(apt-cache depends "$meta" 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}')
  fi
  printf '%s' "$pkg"
}

# downloads and unpacks the kernel package once; prints the kernel directory
fetch_kernel() {
  local pkg deb dir
  # reuse any kernel already unpacked when apt cannot answer (offline)
  pkg=$(kernel_package)
  if [ -z "$pkg" ]; then
    dir=$(ls -d "$CACHE"/kernel/linux-image-"$KERNEL".[0-9]*/ 2>/dev/null | tail -1)
    [ -n "$dir" ] || cannot "apt-cache knows no $(kernel_meta) and no $KERNEL kernel is cached in $CACHE"
    printf '%s' "${dir%/}"
    return
  fi
  dir=$CACHE/kernel/$pkg
  if [ -s "$dir/vmlinuz" ] && [ -s "$dir/modules.list" ]; then
    printf '%s' "$dir"
    return
  fi
  mkdir -p "$CACHE/debs" "$dir"
  deb=$(ls "$CACHE"/debs/"${pkg}"_*.deb 2>/dev/null | tail -1 || true)
  if [ -z "$deb" ]; then
    say "apt-get download $pkg"
    # backports packages are only candidates with -t (NotAutomatic)
    local suite=()
    [ "$KERNEL" = 6.1 ] || suite=(-t bookworm-backports)
    (cd "$CACHE/debs" && apt-get download "${suite[@]}" "$pkg" >/dev/null 2>&1) ||
      { apt-get update -qq >/dev/null 2>&1 || true; (cd "$CACHE/debs" && apt-get download "${suite[@]}" "$pkg" >/dev/null); } ||
      cannot "apt-get download $pkg failed"
    deb=$(ls "$CACHE"/debs/"${pkg}"_*.deb | tail -1)
  fi
  say "unpacking $(basename "$deb")"
  rm -rf "$dir/x" && mkdir -p "$dir/x"
  dpkg-deb -x "$deb" "$dir/x"
  local kver moddir
  kver=$(ls "$dir/x/lib/modules" | head -1)
  moddir=$dir/x/lib/modules/$kver
  cp "$dir"/x/boot/vmlinuz-"$kver" "$dir/vmlinuz.tmp"
  # modules in load order: dependencies first (the "depends=" of each module's
  # .modinfo: the package ships no modules.dep, and depmod may be missing), each once
  mkdir -p "$dir/modules"
  find "$moddir/kernel" -name '*.ko*' | awk '{n=$0; sub(/.*\//, "", n); sub(/\.ko(\.[a-z]+)?$/, "", n); gsub(/-/, "_", n); print n, $0}' > "$dir/modules.index"
  local order=() seen=" " m
  modinfo_deps() { # modinfo_deps file.ko[.xz|.zst|.gz]
    case "$1" in
      *.xz) xz -dc "$1" ;; *.zst) zstd -qdc "$1" ;; *.gz) gzip -dc "$1" ;; *) cat "$1" ;;
    esac | tr '\0' '\n' | sed -n 's/^depends=//p' | tr ',' ' '
  }
  add_mod() { # add_mod name
    local name=$1 path dep
    case "$seen" in *" $name "*) return 0 ;; esac
    seen="$seen$name "
    path=$(awk -v n="$name" '$1 == n {print $2; exit}' "$dir/modules.index")
    if [ -z "$path" ]; then
      # built into the kernel: nothing to load
      grep -q "/${name//_/[_-]}\.ko\$" "$moddir/modules.builtin" 2>/dev/null && return 0
      cannot "kernel $kver has no module $name"
    fi
    for dep in $(modinfo_deps "$path"); do add_mod "${dep//-/_}"; done
    order+=("$path")
  }
  for m in "${WANT_MODULES[@]}"; do add_mod "$m"; done
  : > "$dir/modules.list"
  local path base out
  for path in "${order[@]}"; do
    base=${path##*/}
    out=${base%%.ko*}.ko
    case "$base" in
      *.ko.xz) xz -dc "$path" > "$dir/modules/$out" ;;
      *.ko.zst) zstd -qdc "$path" > "$dir/modules/$out" ;;
      *.ko.gz) gzip -dc "$path" > "$dir/modules/$out" ;;
      *) cp "$path" "$dir/modules/$out" ;;
    esac
    echo "$out" >> "$dir/modules.list"
  done
  echo "$kver" > "$dir/release"
  mv "$dir/vmlinuz.tmp" "$dir/vmlinuz"
  rm -rf "$dir/x"
  printf '%s' "$dir"
}

# /init of the initramfs (busybox sh)
init_script() {
  cat <<'EOF'
#!/bin/busybox sh
# talon VM init: host root over 9p, then the job in a chroot, then power off.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo 1 > /proc/sys/kernel/printk
for m in $(cat /modules.list); do insmod "/modules/$m" || echo "vm: insmod $m failed"; done
job=""
keep=""
for a in $(cat /proc/cmdline); do
  case "$a" in talon.job=*) job=${a#talon.job=} ;; talon.keep=*) keep=${a#talon.keep=} ;; esac
done
H=/host
mkdir -p $H
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=262144 hostroot $H 2>/dev/null ||
  mount -t 9p -o trans=virtio,version=9p2000.L,ro hostroot $H || { echo "vm: cannot mount the host root"; poweroff -f; }
mount -t proc proc $H/proc
mount -t sysfs sysfs $H/sys
mount -t devtmpfs devtmpfs $H/dev
mkdir -p $H/dev/pts $H/dev/shm 2>/dev/null
mount -t devpts devpts $H/dev/pts
# a working directory under /tmp or /run (a clone there) stays visible through the tmpfs
[ -n "$keep" ] && mkdir -p /keep && mount -o bind "$H$keep" /keep
mount -t tmpfs tmpfs $H/dev/shm
mount -t tmpfs -o mode=1777 tmpfs $H/tmp
mount -t tmpfs tmpfs $H/run
[ -n "$keep" ] && mkdir -p "$H$keep" && mount -o bind /keep "$H$keep"
mount -t bpf bpf $H/sys/fs/bpf
mount -t securityfs securityfs $H/sys/kernel/security
mount -t tracefs tracefs $H/sys/kernel/tracing
mount -t debugfs debugfs $H/sys/kernel/debug 2>/dev/null
mount -t cgroup2 cgroup2 $H/sys/fs/cgroup
ifconfig lo up 2>/dev/null || ip link set lo up
echo "vm: up $(cut -d' ' -f1 /proc/uptime)s"
rc=125
if [ -n "$job" ] && [ -r "$H$job" ]; then
  chroot $H /bin/sh "$job" </dev/null >/dev/console 2>&1
  rc=$?
else
  echo "vm: no job ($job)"
fi
echo "TALON-VM-EXIT=$rc"
poweroff -f
EOF
}

# builds the initramfs once per (kernel, init script, busybox); prints its path
build_initrd() {
  local kdir=$1 busybox hash out work
  busybox=$(command -v busybox || echo /bin/busybox)
  [ -x "$busybox" ] || cannot "busybox-static is not installed"
  hash=$( { init_script; cat "$kdir/modules.list" "$kdir/release"; sha256sum "$busybox"; } | sha256sum | cut -c1-16)
  out=$kdir/initrd-$hash.gz
  if [ -s "$out" ]; then
    printf '%s' "$out"
    return
  fi
  say "building the initramfs"
  work=$(mktemp -d "$CACHE/initrd.XXXXXX")
  mkdir -p "$work"/{bin,proc,sys,dev,modules,host}
  cp "$busybox" "$work/bin/busybox"
  init_script > "$work/init"
  chmod +x "$work/init"
  cp "$kdir"/modules/*.ko "$work/modules/"
  cp "$kdir/modules.list" "$work/modules.list"
  (cd "$work" && find . | cpio -o -H newc --quiet | gzip -1 > "$out.tmp")
  mv "$out.tmp" "$out"
  rm -rf "$work"
  rm -f $(ls "$kdir"/initrd-*.gz | grep -v "$hash") 2>/dev/null || true
  printf '%s' "$out"
}

# everything a run needs; prints "kernel-dir initrd"
prepare() {
  [ "$(uname -s)" = Linux ] || cannot "not Linux"
  [ "$(uname -m)" = x86_64 ] || cannot "not x86_64 (the guest is Debian's amd64 kernel)"
  [ "$(id -u)" -eq 0 ] || cannot "not root (packages, /var/cache and the guest's BPF need root)"
  command -v dpkg-query >/dev/null || cannot "not a Debian-like system (no dpkg)"
  mkdir -p "$CACHE"
  exec 9>"$CACHE/.lock"
  flock 9
  install_packages
  command -v qemu-system-x86_64 >/dev/null || cannot "qemu-system-x86_64 is missing"
  local kdir initrd
  kdir=$(fetch_kernel)
  initrd=$(build_initrd "$kdir")
  flock -u 9
  exec 9>&-
  printf '%s %s' "$kdir" "$initrd"
}

cmdline() { # cmdline JOB
  local keep=""
  # the guest mounts tmpfs over these: keep a working directory there visible
  case "${2:-}" in /tmp/* | /run/* | /dev/shm/*) keep=" talon.keep=$2" ;; esac
  echo "console=ttyS0 quiet loglevel=3 lsm=lockdown,capability,landlock,bpf panic=-1 random.trust_cpu=on mitigations=off talon.job=$1$keep"
}

# ---- run -------------------------------------------------------------------

run() {
  local timeout=${TALON_VM_TIMEOUT:-300} mem=2048 smp=2 cwd=$PWD envs=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --timeout) timeout=$2; shift 2 ;;
      --kernel) KERNEL=$2; shift 2 ;;
      --mem) mem=$2; shift 2 ;;
      --smp) smp=$2; shift 2 ;;
      --cwd) cwd=$2; shift 2 ;;
      -e) envs+=("$2"); shift 2 ;;
      --) shift; break ;;
      *) echo "vm: unknown option $1 (usage: vm.sh run [--kernel 6.1|6.12] [--timeout S] [--mem MB] [--smp N] [--cwd DIR] [-e K=V] -- CMD...)" >&2; exit 2 ;;
    esac
  done
  [ $# -gt 0 ] || { echo "vm: run needs a command after --" >&2; exit 2; }
  local prep kdir initrd job e rc t0 t1
  case "$cwd" in *[[:space:]]*) die "the working directory has white space ($cwd): the kernel command line cannot carry it" ;; esac
  prep=$(prepare)
  kdir=${prep% *}
  initrd=${prep#* }
  # the job: a shell script the guest reads through 9p (not under /tmp, which the guest hides)
  mkdir -p "$CACHE/jobs"
  job=$(mktemp -d "$CACHE/jobs/job.XXXXXX")
  trap 'rm -rf "$job"' EXIT
  {
    echo 'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp TERM=dumb TALON_VM=1'
    for e in "${envs[@]}"; do printf 'export %q\n' "$e"; done
    printf 'cd %q || exit 125\n' "$cwd"
    printf 'exec'
    printf ' %q' "$@"
    printf '\n'
  } > "$job/job.sh"
  chmod 755 "$job" && chmod 644 "$job/job.sh"
  say "booting $(cat "$kdir/release") (TCG, ${smp} vCPU, ${mem} MiB, timeout ${timeout}s)"
  t0=$(date +%s.%N)
  set +e
  # one TCG thread for all vCPUs: with a thread per vCPU the 6.12 guest once died at boot of a
  # stray int3 from its own text patching ("Oops: int3" in sched_clock_cpu): another vCPU ran the
  # code being patched. One thread serialises the vCPUs; real CPUs need no such care
  timeout -k 5 "$timeout" qemu-system-x86_64 -accel tcg,thread=single -cpu max -m "$mem" -smp "$smp" \
    -display none -monitor none -serial stdio -no-reboot \
    -kernel "$kdir/vmlinuz" -initrd "$initrd" \
    -virtfs local,path=/,mount_tag=hostroot,security_model=passthrough,readonly=on,multidevs=remap \
    -append "$(cmdline "$job/job.sh" "$cwd")" </dev/null 2>"$job/qemu.err" | tr -d '\r' | tee "$job/console.log"
  rc=${PIPESTATUS[0]}
  set -e
  t1=$(date +%s.%N)
  say "vm ran $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}')s"
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    echo "vm: timed out after ${timeout}s" >&2
    exit 124
  fi
  local status
  status=$(grep -a "^$MARK=" "$job/console.log" | tail -1 | cut -d= -f2)
  if [ -z "$status" ]; then
    [ -s "$job/qemu.err" ] && cat "$job/qemu.err" >&2
    die "the guest reported no exit status (qemu exit $rc)"
  fi
  exit "$status"
}

case "${1:-}" in
  prepare)
    [ "${2:-}" = --kernel ] && KERNEL=$3
    prep=$(prepare)
    say "ready: kernel $(cat "${prep% *}/release"), initramfs ${prep#* }"
    ;;
  run) shift; run "$@" ;;
  info)
    ls -la "$CACHE" "$CACHE"/kernel/* 2>/dev/null || echo "nothing cached in $CACHE"
    cmdline /var/cache/talon-vm/jobs/job.XXXXXX/job.sh
    ;;
  clean) rm -rf "$CACHE" ;;
  *)
    sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
