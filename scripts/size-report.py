#!/usr/bin/env python3
"""Where the bytes of the router binary go (`make size`, docs/benchmark.md "Size").

    scripts/size-report.py [--target T] [--top N] [UNSTRIPPED_BINARY]

Without a binary, builds the release binary for the target (default
mipsel-unknown-linux-musl) with scripts/cross-build.sh and symbols kept
(CARGO_PROFILE_RELEASE_STRIP=false), keeps it as
target/size/<target>.unstripped, strips the built one in place, and
strips a copy of the kept one to measure.

Prints, as markdown tables:
  - the stripped size and the size of each loaded section;
  - code and read-only data per dependency crate, from the demangled symbol
    names (`nm -S -C`); C code (musl, compiler-rt) is one row;
  - per module of our crate, and per collector (collectors::X plus the
    parsers it uses), counting generic std code instantiated for our
    types (drop_in_place::<ap_exporter::...>, Vec<...>) to the module of
    the type;
  - with --top N, the N largest symbols (monomorphisation hot spots).

Symbol sizes do not add up to .text exactly: alignment padding and
anonymous constants have no symbol ("unattributed").
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
from collections import defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, "src")

# Parsers used by each collector, beyond parse::<collector name>.
COLLECTOR_PARSERS = {
    "netdev": ["net_dev"],
    "load": ["loadavg"],
    "wireless": ["nl80211", "wl", "wext", "wifi", "leases", "netlink"],
    # Shared parsers count once, with their first user.
    "cpu": ["stat"],
    "time": ["tz"],
    "firmware": ["release"],
    "filesystem": ["mounts"],
    "thermal_zone": ["thermal"],
    "textfile": ["textformat", "float"],
}


def tool(target, name):
    """The target's binutils tool (mipsel-linux-gnu-nm), or the host's."""
    prefix = {"mipsel": "mipsel-linux-gnu-", "mips": "mips-linux-gnu-"}.get(target.split("-")[0], "")
    if prefix and shutil.which(prefix + name):
        return prefix + name
    return name


def build(target):
    env = dict(os.environ, CARGO_PROFILE_RELEASE_STRIP="false")
    out = subprocess.run(
        ["scripts/cross-build.sh", target], cwd=ROOT, env=env, check=True, stdout=subprocess.PIPE, text=True
    ).stdout.strip().splitlines()[-1]
    keep = os.path.join(ROOT, "target", "size", target + ".unstripped")
    os.makedirs(os.path.dirname(keep), exist_ok=True)
    shutil.copyfile(os.path.join(ROOT, out), keep)
    # Others (packaging, tests) take the binary at cross-build.sh's path to
    # be stripped: leave it so.
    subprocess.run([tool(target, "strip"), os.path.join(ROOT, out)], check=True)
    return keep


def sections(binary, target):
    """{name: size} of the allocated sections."""
    out = subprocess.run(
        [tool(target, "readelf"), "-SW", binary], check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ).stdout
    sizes = {}
    for line in out.splitlines():
        m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)\s+\S+\s+(\S*)", line)
        if m and "A" in m.group(3):
            sizes[m.group(1)] = int(m.group(2), 16)
    return sizes


def symbols(binary, target):
    """[(size, type, demangled name)] of the symbols with a size, one per
    address (aliases such as realloc and c.malloc.realloc count once)."""
    out = subprocess.run(
        [tool(target, "nm"), "-S", "--size-sort", "-C", binary], check=True, stdout=subprocess.PIPE, text=True
    ).stdout
    seen = {}
    for line in out.splitlines():
        parts = line.split(" ", 3)
        if len(parts) == 4 and parts[0] not in seen:
            seen[parts[0]] = (int(parts[1], 16), parts[2], parts[3])
    return list(seen.values())


HASH = re.compile(r"::h[0-9a-f]{16}$")


def crate_of(name):
    """The crate a demangled symbol belongs to: the type's crate for
    `<T as Trait>::f`, else the first path segment; None for C."""
    name = HASH.sub("", name)
    while name.startswith("<"):
        name = name[1:]
    name = name.lstrip("&*").replace("mut ", "").replace("dyn ", "")
    m = re.match(r"([A-Za-z_][A-Za-z0-9_]*)::", name)
    return m.group(1) if m else None


OURS = re.compile(r"ap_exporter::([a-z_0-9]+)(?:::([a-z_0-9]+))?")


def module_of(name):
    """`collectors::netdev`, `parse::wl`, `config`... for a symbol of our
    crate or a generic instantiated for one of our types; None otherwise."""
    m = OURS.search(HASH.sub("", name))
    if not m:
        return None
    top, sub = m.group(1), m.group(2)
    # collectors::wireless::families -> collectors::wireless; a function or
    # type directly in collectors/mod.rs stays with `collectors`.
    if sub and (os.path.isfile(os.path.join(SRC, top, sub + ".rs")) or os.path.isdir(os.path.join(SRC, top, sub))):
        return f"{top}::{sub}"
    return top


def table(title, rows, total=None):
    print(f"\n| {title} | bytes | KiB |\n|---|---:|---:|")
    for name, size in rows:
        print(f"| {name} | {size:,} | {size / 1024:.1f} |")
    if total is not None:
        print(f"| **total** | {total:,} | {total / 1024:.1f} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("binary", nargs="?", help="an unstripped binary (default: build one)")
    ap.add_argument("--target", default="mipsel-unknown-linux-musl")
    ap.add_argument("--top", type=int, default=0, help="also list the N largest symbols")
    args = ap.parse_args()

    binary = args.binary or build(args.target)
    stripped = binary + ".stripped"
    subprocess.run([tool(args.target, "strip"), "-o", stripped, binary], check=True)
    size = os.path.getsize(stripped)
    print(f"{args.target}: {size:,} bytes stripped ({size / 1024:.1f} KiB)")

    secs = sections(binary, args.target)
    table("section", sorted(secs.items(), key=lambda kv: -kv[1]))

    syms = symbols(binary, args.target)
    by_crate = defaultdict(int)
    by_module = defaultdict(int)
    counted = 0
    for sz, kind, name in syms:
        if kind.lower() not in ("t", "r", "d"):  # code, read-only and initialised data
            continue
        counted += sz
        mod = module_of(name)
        crate = crate_of(name)
        if mod is not None:
            by_crate["ap_exporter (ours, with generics for our types)"] += sz
            by_module[mod] += sz
        elif crate is None:
            by_crate["C: musl libc, compiler-rt"] += sz
        else:
            by_crate[crate] += sz
    loaded = sum(v for k, v in secs.items() if k not in (".bss", ".tbss", ".relro_padding"))
    rows = sorted(by_crate.items(), key=lambda kv: -kv[1])
    rows.append(("unattributed (padding, unnamed constants, ELF headers)", size - counted))
    table("dependency crate", rows, size)

    table("module of ap-exporter", sorted(by_module.items(), key=lambda kv: -kv[1]), sum(by_module.values()))

    collectors = sorted({m.split("::")[1] for m in by_module if m.startswith("collectors::")})
    per = []
    for c in collectors:
        parsers = [c] + COLLECTOR_PARSERS.get(c, [])
        per.append((c, by_module[f"collectors::{c}"] + sum(by_module.get(f"parse::{p}", 0) for p in parsers)))
    table("collector (collectors::X + its parsers)", sorted(per, key=lambda kv: -kv[1]))

    if args.top:
        print(f"\n| largest symbols | bytes |\n|---|---:|")
        in_file = [s for s in syms if s[1].lower() in ("t", "r", "d")]
        for sz, _, name in sorted(in_file, reverse=True)[: args.top]:
            print(f"| `{HASH.sub('', name)[:110]}` | {sz:,} |")
    print(f"\n(loaded sections {loaded:,} B; symbols counted {counted:,} B)", file=sys.stderr)


if __name__ == "__main__":
    main()
