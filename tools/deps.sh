#!/usr/bin/env bash
# tools/deps.sh — install the Debian packages Zebu's build, run and tests need.
#
# Usage: tools/deps.sh [build|run|test|iso|bench|deploy|all]   (default: all)
# Checks each command first and installs only what is missing, saying what it
# installs. Uses sudo when not root. Safe to run repeatedly: when nothing is
# missing it prints nothing and returns at once.
set -euo pipefail

want="${1:-all}"

# command-or-file  package  needed-for
table=(
  "nasm                           nasm                 build"
  "ld                             binutils             build"
  "gcc                            gcc                  build"
  "make                           make                 build"
  "python3:/usr/bin/python3       python3              build"
  "qemu-system-x86_64             qemu-system-x86      run"
  "/usr/share/qemu/qboot.rom      qemu-system-data     run"
  "grub-mkrescue                  grub-common          iso"
  "/usr/lib/grub/i386-pc/multiboot.mod grub-pc-bin     iso"
  "/usr/lib/grub/x86_64-efi/multiboot2.mod grub-efi-amd64-bin iso"
  "/usr/share/ovmf/OVMF.fd        ovmf                 iso"
  "xorriso                        xorriso              iso"
  "mformat                        mtools               iso"
  "py:pytest                      python3-pytest       test"
  "py:scapy                       python3-scapy        test"
  "py:requests                    python3-requests     test"
  "wrk                            wrk                  test"
  "ping                           iputils-ping         test"
  "ip                             iproute2             test"
  "curl                           curl                 test"
  "/usr/sbin/dnsmasq              dnsmasq-base         test"
  "clang                          clang                test"
  "/usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a libclang-rt-14-dev test"
  "valgrind                       valgrind             bench"
  "/bin/busybox                   busybox-static       bench"
  "cpio                           cpio                 bench"
  "/usr/include/lwip/lwipopts.h   liblwip-dev          bench"
  "etcd                           etcd-server          bench"
  "virsh                          libvirt-clients      deploy"
  "/usr/sbin/libvirtd             libvirt-daemon-system deploy"
  "skopeo                         skopeo               deploy"
)
# The deploy set (libvirt's daemon and client, skopeo) is heavy and only
# tests/system/test_deploy.py uses it: that test installs it itself when it
# can (root or sudo, Debian's archive reachable) and skips saying why when it
# cannot, so 'make test' does not install it up front.
# etcd-server (tools/bench-kv.py's peer) installs a systemd unit that is
# enabled but not started where services cannot start (containers, CI);
# the bench starts its own etcd with a temporary data dir and stops it.
# The peer bench (tools/bench-peer.py) also needs Debian's Linux kernel and
# nginx, but not installed on this host: tools/peer/build-nginx-guest.py
# fetches them with 'apt-get download' into build/peer/cache and unpacks them
# with dpkg-deb, so no kernel or web server is added to the machine.

applies() {  # does a row's purpose belong to the requested set?
  case "$want" in
    all) return 0 ;;
    build) [ "$1" = build ] ;;
    run) [ "$1" = build ] || [ "$1" = run ] ;;
    iso) [ "$1" = build ] || [ "$1" = iso ] || [ "$1" = run ] ;;
    test) [ "$1" != bench ] && [ "$1" != deploy ] ;;
    bench) [ "$1" != deploy ] ;;
    deploy) [ "$1" = deploy ] ;;
    *) echo "deps.sh: unknown set '$want' (build, run, iso, test, bench, deploy, all)" >&2; exit 2 ;;
  esac
}

present() {
  local probe="$1"
  case "$probe" in
    py:*) /usr/bin/python3 -c "import ${probe#py:}" >/dev/null 2>&1 ;;
    python3:*) [ -x "${probe#python3:}" ] ;;
    /*) [ -e "$probe" ] ;;
    *) command -v "$probe" >/dev/null 2>&1 ;;
  esac
}

missing=()
for row in "${table[@]}"; do
  read -r probe pkg purpose <<<"$row"
  applies "$purpose" || continue
  present "$probe" && continue
  case " ${missing[*]-} " in *" $pkg "*) ;; *) missing+=("$pkg") ;; esac
done

[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "deps.sh: missing packages: ${missing[*]}" >&2
    echo "deps.sh: not root and no sudo; install them with: apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "deps.sh: missing packages: ${missing[*]} (and no apt-get: install their equivalents by hand)" >&2
  exit 1
fi

echo "deps.sh: installing missing Debian packages: ${missing[*]}"
if [ ! -e /var/lib/apt/lists/lock ] || [ -z "$(ls /var/lib/apt/lists 2>/dev/null | grep -v -e lock -e partial)" ]; then
  $SUDO apt-get update -qq
fi
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/zebu-deps.log 2>&1; then
  # The package lists may be stale; refresh once and retry.
  $SUDO apt-get update -qq
  if ! $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >>/tmp/zebu-deps.log 2>&1; then
    tail -n 20 /tmp/zebu-deps.log >&2
    echo "deps.sh: apt-get install failed for: ${missing[*]} (log: /tmp/zebu-deps.log)" >&2
    exit 1
  fi
fi
echo "deps.sh: installed ${missing[*]}"
