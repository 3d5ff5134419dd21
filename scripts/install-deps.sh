#!/usr/bin/env bash
# Installs what the tests (and, with "cross", the cross builds) need, only
# when it is missing. Safe to run again: it does nothing when all is there.
#   scripts/install-deps.sh          test peers: promtool, node_exporter; and for
#                                    the package tests busybox (static), signify,
#                                    openssl and Python's cryptography
#   scripts/install-deps.sh cross    + Debian's Rust 1.96 with std source, qemu-user, zig
set -euo pipefail

want_cross=0
[ "${1:-}" = cross ] && want_cross=1

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v promtool >/dev/null || missing+=(prometheus)
command -v prometheus-node-exporter >/dev/null || missing+=(prometheus-node-exporter)
command -v ip >/dev/null || missing+=(iproute2)
# tests/hwsim.rs boots Debian's kernel in QEMU with mac80211_hwsim.
command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
command -v cpio >/dev/null || missing+=(cpio)
command -v xz >/dev/null || missing+=(xz-utils)
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
  command -v readelf >/dev/null || missing+=(binutils)
  # scripts/cross-build.sh drops the MIPS-only .pdr section with these.
  command -v mipsel-linux-gnu-objcopy >/dev/null || missing+=(binutils-mipsel-linux-gnu)
  command -v mips-linux-gnu-objcopy >/dev/null || missing+=(binutils-mips-linux-gnu)
  # The Entware init-script test finds and signals the process by name.
  command -v killall >/dev/null || missing+=(psmisc)
  command -v pidof >/dev/null || missing+=(procps)
fi

# The hwsim VM is built from `apt-get download`ed packages: needs package lists.
if [ "${#missing[@]}" -gt 0 ] || [ -z "$(ls /var/lib/apt/lists/*Packages* 2>/dev/null | head -1)" ]; then
  echo "install-deps: apt-get install ${missing[*]}"
  # A mirror caught mid-sync fails one index now and then; the install below
  # says so if what we need is really not to be had.
  sudo_if_needed apt-get update -qq || echo "install-deps: apt-get update reported errors; installing anyway" >&2
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# scripts/mkfeed.py signs the feeds (Ed25519 and RSA) with it.
if ! python3 -c 'import cryptography' 2>/dev/null; then
  echo "install-deps: pip install cryptography"
  python3 -m pip install -q cryptography
fi

if [ "$want_cross" = 1 ]; then
  if ! command -v cargo-zigbuild >/dev/null || ! python3 -m ziglang version >/dev/null 2>&1; then
    echo "install-deps: pip install ziglang cargo-zigbuild"
    python3 -m pip install -q ziglang cargo-zigbuild
  fi
fi
