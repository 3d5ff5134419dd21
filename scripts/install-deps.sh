#!/usr/bin/env bash
# Installs what the tests (and, with "cross", the cross builds) need, only
# when it is missing. Safe to run again: it does nothing when all is there.
#   scripts/install-deps.sh          test peers: promtool, node_exporter; for
#                                    the package tests busybox (static), signify,
#                                    openssl and Python's cryptography; for the
#                                    VM matrix qemu-system for four arches and
#                                    the package lists of mipsel, armhf, arm64
#   scripts/install-deps.sh cross    + Debian's Rust 1.96 with std source, qemu-user, zig
set -euo pipefail

want_cross=0
[ "${1:-}" = cross ] && want_cross=1

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v promtool >/dev/null || missing+=(prometheus)
command -v prometheus-node-exporter >/dev/null || missing+=(prometheus-node-exporter)
command -v ip >/dev/null || missing+=(iproute2)
# tests/hwsim.rs boots Debian's kernel for each router arch in QEMU with
# mac80211_hwsim (tests/vm/), from packages of that arch: apt needs to know
# the arches to download them.
command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
command -v qemu-system-mipsel >/dev/null || missing+=(qemu-system-mips)
command -v qemu-system-aarch64 >/dev/null || missing+=(qemu-system-arm)
command -v cpio >/dev/null || missing+=(cpio)
command -v xz >/dev/null || missing+=(xz-utils)
# Module dependencies (.modinfo) and shared libraries (NEEDED) of other arches.
command -v readelf >/dev/null || missing+=(binutils)
vm_arches=(mipsel armhf arm64)
for a in "${vm_arches[@]}"; do
  dpkg --print-foreign-architectures | grep -qx "$a" || sudo_if_needed dpkg --add-architecture "$a"
done
command -v cc >/dev/null || missing+=(gcc)
# The package tests run scripts under busybox sh as on a router, chrooted
# into a scratch root, so busybox must be the static build.
if ! command -v busybox >/dev/null || ldd "$(command -v busybox)" >/dev/null 2>&1; then missing+=(busybox-static); fi
command -v signify-openbsd >/dev/null || missing+=(signify-openbsd)
command -v openssl >/dev/null || missing+=(openssl)
command -v nsenter >/dev/null || missing+=(util-linux)
if [ "$want_cross" = 1 ]; then
  [ -x /usr/bin/rustc ] && /usr/bin/rustc --version 2>/dev/null | grep -q '^rustc 1\.9[6-9]' || missing+=(rustc-web cargo-web)
  [ -d /usr/lib/rustlib/src/rust/library ] || missing+=(rust-web-src)
  command -v qemu-mipsel-static >/dev/null || missing+=(qemu-user-static)
  # scripts/cross-build.sh drops the MIPS-only .pdr section with these.
  command -v mipsel-linux-gnu-objcopy >/dev/null || missing+=(binutils-mipsel-linux-gnu)
  command -v mips-linux-gnu-objcopy >/dev/null || missing+=(binutils-mips-linux-gnu)
  # The Entware init-script test finds and signals the process by name.
  command -v killall >/dev/null || missing+=(psmisc)
  command -v pidof >/dev/null || missing+=(procps)
fi

# The VMs are built from `apt-get download`ed packages: they need each arch's
# package list.
lists_missing=0
for a in amd64 "${vm_arches[@]}"; do
  ls /var/lib/apt/lists/*_binary-"${a}"_Packages* >/dev/null 2>&1 || lists_missing=1
done
if [ "${#missing[@]}" -gt 0 ] || [ "$lists_missing" = 1 ]; then
  echo "install-deps: apt-get install ${missing[*]}"
  # A mirror caught mid-sync fails one list (it happened with armhf's
  # security list) and apt-get update exits 100 for it; the other lists are
  # still good, and a package truly missing fails the install below.
  sudo_if_needed apt-get update -qq || echo "install-deps: apt-get update had errors; going on with the lists it got" >&2
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# scripts/mkfeed.py signs the feeds (Ed25519 and RSA) with it.
if ! python3 -c 'import cryptography' 2>/dev/null; then
  echo "install-deps: pip install cryptography"
  python3 -m pip install -q cryptography
fi

if [ "$want_cross" = 1 ]; then
  # zig is pinned: it supplies musl and the allocator, and the binary sizes
  # in docs/benchmark.md (checked against the flash budget) are its.
  if ! command -v cargo-zigbuild >/dev/null || [ "$(python3 -m ziglang version 2>/dev/null)" != 0.17.1 ]; then
    echo "install-deps: pip install ziglang==0.17.1 cargo-zigbuild==0.24.1"
    python3 -m pip install -q ziglang==0.17.1 cargo-zigbuild==0.24.1
  fi
fi
