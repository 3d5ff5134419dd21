#!/usr/bin/env bash
# Builds a static, soft-float musl binary for one Rust target (docs/platforms.md):
#   scripts/cross-build.sh mipsel-unknown-linux-musl
# Uses Debian's Rust 1.96 with its std source (-Zbuild-std) and zig as the
# linker; installs both when missing. Prints the binary's path.
#
# With --test, builds tests for the target with the same recipe and runs
# them under qemu-user on the CPU that package/arches.tsv names for it (no
# FPU); the remaining arguments go to cargo test:
#   scripts/cross-build.sh --test mips-unknown-linux-musl --lib
set -euo pipefail
cd "$(dirname "$0")/.."
test_mode=0
if [ "${1:-}" = --test ]; then
  test_mode=1
  shift
fi
target=${1:?usage: cross-build.sh [--test] RUST_TARGET [cargo test arguments]}
shift

bash scripts/install-deps.sh cross >&2

# Static, not static-PIE: static-PIE on MIPS crashes on the first thread-local
# access. immediate-abort drops the panic formatting machinery (about 300 KB);
# the code never panics on input by design. Nothing unwinds then and no
# unwinder is linked, so the unwind tables (.eh_frame, 46 KB on mipsel) are
# dead weight: force-unwind-tables=no drops Rust's (see below for the rest).
# Tests keep unwinding: the harness reports a failed assertion and goes on.
rustflags="-C relocation-model=static"
# A panic then prints nothing, so the file, line and column of each possible
# panic are dead data too: location-detail=none drops them (1 KB on MIPS).
[ "$test_mode" = 1 ] || rustflags="$rustflags -Zunstable-options -Cpanic=immediate-abort -Cforce-unwind-tables=no -Zlocation-detail=none"
# force-unwind-tables reaches only what rustc builds: the C that zig
# builds (musl, its compiler-rt and libzigc) still brings .eh_frame, and
# the linker an .eh_frame_hdr index of it, 7.5 KB on MIPS that nothing
# reads. The linker script discards both (the package tests check).
[ "$test_mode" = 1 ] || rustflags="$rustflags -C link-arg=-Wl,-T,scripts/no-eh-frame.ld"
case "$target" in
  # LLVM follows each MIPS division with a trap on a zero divisor; Rust
  # has checked the divisor already (a zero one panics first), so the trap
  # can never fire: 240 bytes.
  mips*) rustflags="$rustflags -C llvm-args=-mno-check-zero-division" ;;
  # Tier-2 musl targets ship their own crt objects; let zig supply them.
  *) rustflags="$rustflags -C link-self-contained=no" ;;
esac
# Experiments (scripts/size-report.py, `make size`) add flags here.
rustflags="$rustflags ${CROSS_EXTRA_RUSTFLAGS:-}"

# Point cargo-zigbuild at the zig that pip installed, found with the python3
# that has it; with /usr/bin first in PATH below, "python3" would be Debian's.
zig=$(python3 -c 'import ziglang, os; print(os.path.join(os.path.dirname(ziglang.__file__), "zig"))')
zigbuild=$(command -v cargo-zigbuild)

# rustup's cargo comes first in PATH by default, and cargo-zigbuild runs
# whichever cargo is first: put Debian's first.
run() {
  env PATH="/usr/bin:$(dirname "$zigbuild"):$PATH" RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 RUSTFLAGS="$rustflags" \
    CARGO_ZIGBUILD_ZIG_PATH="$zig" "$@"
}

if [ "$test_mode" = 1 ]; then
  runner=$(awk -F'\t' -v t="$target" '!/^#/ && $3 == t && $4 != "" {print $4; exit}' package/arches.tsv)
  [ -n "$runner" ] || { echo "cross-build.sh: no qemu for $target in package/arches.tsv" >&2; exit 2; }
  runner_var="CARGO_TARGET_$(echo "$target" | tr 'a-z-' 'A-Z_')_RUNNER"
  run env "$runner_var=$runner" "$zigbuild" test --locked --target "$target" -Zbuild-std=std,panic_abort "$@"
  exit
fi

run /usr/bin/cargo zigbuild --release --locked --quiet --target "$target" \
  -Zbuild-std=std,panic_abort -Zbuild-std-features=optimize_for_size >&2

bin="target/$target/release/ap-exporter"
# MIPS objects carry a .pdr section (procedure descriptors for debuggers):
# about 90 KB that strip keeps and the program never loads. The target's own
# binutils drop it; zig's objcopy cannot. The .comment section (the
# compilers' and linker's version strings, 115 bytes) goes with it.
case "$target" in
  mipsel-*) objcopy=mipsel-linux-gnu-objcopy ;;
  mips-*) objcopy=mips-linux-gnu-objcopy ;;
  *) objcopy= ;;
esac
if [ -n "$objcopy" ]; then
  "$objcopy" --remove-section=.pdr --remove-section=.comment "$bin" "$bin.tmp" && mv "$bin.tmp" "$bin"
fi
echo "$bin"
