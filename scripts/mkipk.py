#!/usr/bin/env python3
"""Builds an .ipk the way opkg-lede (Entware, OpenWrt up to 24.10) reads it.

Outer container: a gzip'd tar (never `ar`) holding ./debian-binary,
./control.tar.gz and ./data.tar.gz. Every tar is GNU format (PAX makes opkg
install nothing and still report success), with sorted names, owner 0:0,
integer mtimes from SOURCE_DATE_EPOCH, and gzip headers without names or
times, so the same inputs give byte-identical packages.

The config may hold password hashes: it is installed 0600, as OpenWrt's
INSTALL_CONF does (and so is the OpenWrt packages' UCI file, as INSTALL_CONF
installs it in an SDK build).

  mkipk.py --flavor entware --arch mipsel --binary PATH --out dist/
"""
import argparse
import gzip
import io
import os
import re
import sys
import tarfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (path in package, source relative to ROOT or None for the binary, mode, conffile?)
LAYOUTS = {
    "entware": [
        ("opt/bin/ap-exporter", None, 0o755, False),
        ("opt/etc/ap-exporter.toml", "files/ap-exporter.toml", 0o600, True),
        ("opt/etc/init.d/S99ap-exporter", "init.d/S99ap-exporter", 0o755, False),
    ],
    "openwrt": [
        ("usr/bin/ap-exporter", None, 0o755, False),
        ("etc/ap-exporter.toml", "files/ap-exporter.toml", 0o600, True),
        # UCI: the common settings, which the init script turns into a TOML
        # overlay (docs/openwrt.md).
        ("etc/config/ap-exporter", "files/ap-exporter.uci", 0o600, True),
        ("etc/init.d/ap-exporter", "init.d/ap-exporter.procd", 0o755, False),
    ],
}
# Maintainer scripts: postinst and prerm per flavor (the .apk uses OpenWrt's too).
SCRIPTS = {"entware": "package/entware", "openwrt": "package/openwrt"}
# The package release: ipk versions are 0.1.0-1, apk versions 0.1.0-r1.
RELEASE = "1"
MAINTAINER = "ap-exporter developers"


def arches():
    """Rows of package/arches.tsv as (flavor, arch, target, qemu)."""
    rows = []
    with open(os.path.join(ROOT, "package/arches.tsv")) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            parts = line.rstrip("\n").split("\t")
            rows.append((parts[0], parts[1], parts[2], parts[3] if len(parts) > 3 else ""))
    return rows


def cargo_field(name):
    with open(os.path.join(ROOT, "Cargo.toml")) as f:
        m = re.search(r'^%s = "([^"]*)"' % name, f.read(), re.M)
    if not m:
        sys.exit("mkipk: no %s in Cargo.toml" % name)
    return m.group(1)


def source_date_epoch():
    return int(os.environ.get("SOURCE_DATE_EPOCH", "0"))


# The textfile directory each flavor's config names: Entware's is the
# built-in default (on the USB disk), OpenWrt's is on tmpfs (/var is /tmp),
# so cron jobs writing every minute do not wear the flash. The init scripts
# create it.
TEXTFILE_DIRS = {"entware": "/opt/var/lib/ap-exporter", "openwrt": "/var/lib/ap-exporter"}


def config(flavor):
    """The config a flavor ships: files/ap-exporter.toml with its textfile directory."""
    with open(os.path.join(ROOT, "files/ap-exporter.toml"), "rb") as f:
        text = f.read()
    line = b'directory = "%s"' % TEXTFILE_DIRS["entware"].encode()
    if text.count(line) != 1:
        sys.exit("mkipk: files/ap-exporter.toml must have exactly one line %r" % line.decode())
    return text.replace(line, b'directory = "%s"' % TEXTFILE_DIRS[flavor].encode())


def payload(flavor, binary):
    """The installed files: ({path: bytes}, {path: mode}, [conffile paths])."""
    files, modes, conffiles = {}, {}, []
    for path, source, mode, is_conf in LAYOUTS[flavor]:
        if source == "files/ap-exporter.toml":
            files[path] = config(flavor)
            modes[path] = mode
            conffiles.append("/" + path)
            continue
        with open(binary if source is None else os.path.join(ROOT, source), "rb") as f:
            files[path] = f.read()
        modes[path] = mode
        if is_conf:
            conffiles.append("/" + path)
    return files, modes, conffiles


def script(flavor, name):
    with open(os.path.join(ROOT, SCRIPTS[flavor], name), "rb") as f:
        return f.read()


def tar_gz(entries, mtime):
    """entries: list of (name, bytes or None for a directory, mode)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, data, mode in sorted(entries, key=lambda e: e[0]):
            info = tarfile.TarInfo(name)
            info.mtime = int(mtime)
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.mode = mode
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=int(mtime), compresslevel=9) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def with_dirs(files):
    """Adds ./ and every parent directory of the files, mode 0755."""
    names = {"./"}
    for path, _, _ in files:
        parts = path.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            names.add("./" + "/".join(parts[:i]) + "/")
    return [(n, None, 0o755) for n in names] + [("./" + p, d, m) for p, d, m in files]


def build(flavor, arch, binary, out_dir, mtime, version=None, release=RELEASE):
    version = "%s-%s" % (version or cargo_field("version"), release)
    contents, modes, conffiles = payload(flavor, binary)
    files = [(p, contents[p], modes[p]) for p in contents]
    control = "".join(
        "%s: %s\n" % kv
        for kv in [
            ("Package", "ap-exporter"),
            ("Version", version),
            ("Architecture", arch),
            ("Maintainer", MAINTAINER),
            ("License", cargo_field("license")),
            ("Section", "net"),
            ("Installed-Size", str(sum(len(d) for d in contents.values()))),
            ("Description", cargo_field("description")),
        ]
    )
    # No Depends line at all: the binary is static, and an empty Depends
    # crashes opkg.
    control_files = [("control", control.encode(), 0o644), ("conffiles", "".join(c + "\n" for c in conffiles).encode(), 0o644)]
    control_files += [(name, script(flavor, name), 0o755) for name in ("postinst", "prerm")]
    outer = [
        ("./debian-binary", b"2.0\n", 0o644),
        ("./control.tar.gz", tar_gz([("./", None, 0o755)] + [("./" + n, d, m) for n, d, m in control_files], mtime), 0o644),
        ("./data.tar.gz", tar_gz(with_dirs(files), mtime), 0o644),
    ]
    os.makedirs(out_dir, exist_ok=True)
    name = os.path.join(out_dir, "ap-exporter_%s_%s.ipk" % (version, arch))
    # The outer tar keeps debian-binary first, as ipkg-build does.
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for member, data, mode in outer:
            info = tarfile.TarInfo(member)
            info.mtime, info.uid, info.gid, info.uname, info.gname, info.mode, info.size = int(mtime), 0, 0, "root", "root", mode, len(data)
            tar.addfile(info, io.BytesIO(data))
    with open(name, "wb") as f, gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=int(mtime), compresslevel=9) as gz:
        gz.write(raw.getvalue())
    return name


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--flavor", choices=sorted(LAYOUTS), required=True)
    p.add_argument("--arch", required=True)
    p.add_argument("--binary", required=True)
    p.add_argument("--out", default=os.path.join(ROOT, "dist"))
    p.add_argument("--version", help="upstream version (default: Cargo.toml's)")
    p.add_argument("--release", default=RELEASE, help="package release (default: %(default)s)")
    args = p.parse_args()
    known = {(f, a) for f, a, _, _ in arches()}
    if (args.flavor, args.arch) not in known:
        sys.exit("mkipk: unknown %s arch %r (see package/arches.tsv)" % (args.flavor, args.arch))
    print(build(args.flavor, args.arch, args.binary, args.out, source_date_epoch(), args.version, args.release))


if __name__ == "__main__":
    main()
