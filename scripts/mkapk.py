#!/usr/bin/env python3
"""Builds an OpenWrt .apk (apk-tools 3, "ADB" format) the way `apk mkpkg` does.

OpenWrt 25.12 and newer install .apk packages, not .ipk. The format is
apk-tools' doc/apk-v3.5.scd and src/adb.c; this writer follows `apk mkpkg`
3.0 step by step (the order in which it writes values, its alignment and its
reuse of identical values), so the same inputs give the same bytes:

  file     = "ADBd" + raw deflate, level 9, of:
             "ADB." + schema + ADB block + one DATA block per non-empty file
  block    = u32 (type << 30 | 4 + length), payload, zeros to 8 bytes
  ADB      = u8 0, u8 0, u16 0, u32 root value, then the values it points to
  value    = u32: 4-bit type, 28-bit immediate or offset into the ADB block

OpenWrt's own metadata travels in the payload, as its build writes it:
/lib/apk/packages/NAME.list (every file), NAME.conffiles and
NAME.conffiles_static (path and sha256). Scripts: post-install,
post-upgrade (post-install with PKG_UPGRADE=1 exported first, as OpenWrt
does) and pre-deinstall. Packages are unsigned: apk installs them from a
signed index (scripts/mkfeed.py), or with --allow-untrusted.

  mkapk.py --arch mips_24kc --binary PATH --out dist/openwrt/
"""
import argparse
import hashlib
import os
import struct
import sys
import zlib

import mkipk

# Value types (the high 4 bits of a value).
ADB_NULL = 0
T_INT, T_INT32 = 0x10000000, 0x20000000
T_BLOB8, T_BLOB16, T_BLOB32 = 0x80000000, 0x90000000, 0xA0000000
T_OBJECT = 0xE0000000
# Block types, and the schemas of a package and of an index.
BLOCK_ADB, BLOCK_SIG, BLOCK_DATA = 0, 1, 2
SCHEMA_PACKAGE, SCHEMA_INDEX = b"pckg", b"indx"
# Slots of a package-info object, in schema order (apk_adb.h, ADBI_PI_*).
PKGINFO = ["name", "version", "hashes", "description", "arch", "license", "origin",
           "maintainer", "url", "repo-commit", "build-time", "installed-size", "file-size"]
# Slots of the scripts object (ADBI_SCRPT_*).
SCRIPTS = ["trigger", "pre-install", "post-install", "pre-deinstall", "post-deinstall",
           "pre-upgrade", "post-upgrade"]
# `apk mkpkg` reserves this many bytes for the package's unique id, then
# fills in the start of the sha256 of the finished ADB block.
UNIQUE_ID_LEN = 20


class Adb:
    """An ADB block being written: values are appended, aligned, and an
    identical value written before is reused, as apk's adb_w_data does."""

    def __init__(self):
        self.buf = bytearray(8)  # adb_hdr: compat version 0, version 0, reserved, root
        self.seen = {}

    def _append(self, data, align, reuse=True):
        offset = self.seen.get(data) if reuse else None
        if offset is not None and offset % align == 0:
            return offset
        self.buf += bytes(-len(self.buf) % align)
        offset = len(self.buf)
        self.buf += data
        if reuse:
            self.seen[data] = offset
        return offset

    def blob(self, data, reuse=True):
        if not data:
            return ADB_NULL
        for kind, fmt, limit in ((T_BLOB8, "<B", 0xFF), (T_BLOB16, "<H", 0xFFFF), (T_BLOB32, "<I", 0xFFFFFFFF)):
            if len(data) <= limit:
                size = struct.calcsize(fmt)
                return kind | self._append(struct.pack(fmt, len(data)) + data, size, reuse)
        raise ValueError("mkapk: blob too large")

    def int(self, n):
        """Small numbers live in the value itself; times and sizes up to 4 GiB
        take 4 bytes (larger ones, apk's 8-byte ints, never occur here)."""
        if n < 0x10000000:
            return T_INT | n
        return T_INT32 | self._append(struct.pack("<I", n), 4)

    def obj(self, slots):
        """slots: the values of slots 1.. ; trailing empty slots are dropped.
        Arrays get this object tag too: `apk mkpkg` and `mkndx` write them
        with adb_wo_obj, and readers accept either."""
        slots = list(slots)
        while slots and slots[-1] == ADB_NULL:
            slots.pop()
        if not slots:
            return ADB_NULL
        return T_OBJECT | self._append(struct.pack("<%dI" % (len(slots) + 1), len(slots) + 1, *slots), 4)

    def copy(self, src, value):
        """Writes a value read from another ADB block, as adb_w_copy does."""
        kind, at = value & 0xF0000000, value & 0x0FFFFFFF
        if kind in (ADB_NULL, T_INT):
            return value
        if kind == T_INT32:
            return kind | self._append(src[at:at + 4], 4)
        if kind in (T_BLOB8, T_BLOB16, T_BLOB32):
            size = {T_BLOB8: 1, T_BLOB16: 2, T_BLOB32: 4}[kind]
            return kind | self._append(src[at:at + size] + blob_at(src, value), size)
        if kind == T_OBJECT:
            slots = slots_of(src, value)
            copied = [self.copy(src, v) for v in slots]
            return kind | self._append(struct.pack("<%dI" % (len(slots) + 1), len(slots) + 1, *copied), 4)
        raise ValueError("mkapk: cannot copy ADB value %#x" % value)

    def finish(self, root):
        self.buf[4:8] = struct.pack("<I", root)
        return bytes(self.buf)


def block(kind, payload):
    raw = struct.pack("<I", kind << 30 | (4 + len(payload))) + payload
    return raw + bytes(-len(raw) % 8)


def container(schema, adb, *blocks):
    """The file: compressed as `apk mkpkg` and `apk mkndx` do by default."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY)
    body = b"ADB." + schema + block(BLOCK_ADB, adb) + b"".join(blocks)
    return b"ADBd" + deflate.compress(body) + deflate.flush()


def adb_block(data):
    """(schema, ADB block payload) of a package or index file."""
    if data[:4] == b"ADBd":
        data = zlib.decompress(data[4:], -15)
    (tag,) = struct.unpack_from("<I", data, 8)
    if data[:4] != b"ADB." or tag >> 30 != BLOCK_ADB:
        raise ValueError("mkapk: not an ADB file")
    return data[4:8], data[12:12 + (tag & 0x3FFFFFFF) - 4]


def slots_of(adb, value):
    """The slot values 1.. of an object or array."""
    at = value & 0x0FFFFFFF
    (count,) = struct.unpack_from("<I", adb, at)
    return list(struct.unpack_from("<%dI" % (count - 1), adb, at + 4))


def blob_at(adb, value):
    size = {T_BLOB8: 1, T_BLOB16: 2, T_BLOB32: 4}[value & 0xF0000000]
    at = value & 0x0FFFFFFF
    length = int.from_bytes(adb[at:at + size], "little")
    return adb[at + size:at + size + length]


def write_package(info, files, modes, scripts, mtime):
    """info: package-info strings by name; files: {path: bytes}; modes:
    {path: mode}; scripts: {type: bytes}. Returns the .apk bytes. Every
    directory is 0755 and everything is owned by root."""
    db = Adb()
    # The info strings first, in slot order, as `apk mkpkg` writes them.
    slots = [db.blob(info[name].encode()) if name in info else ADB_NULL for name in PKGINFO]
    # Every directory with its parents, in byte order: the root ("") first.
    dirs = sorted({"/".join(p.split("/")[:i]) for p in files for i in range(p.count("/") + 1)})
    paths, data_blocks, installed = [], [], 0
    for di, d in enumerate(dirs, 1):
        entries = []
        for fi, path in enumerate(sorted(p for p in files if os.path.dirname(p) == d), 1):
            data = files[path]
            name = db.blob(os.path.basename(path).encode())
            digest = db.blob(hashlib.sha256(data).digest())
            when, size = db.int(mtime), db.int(len(data))
            acl = db.obj([db.int(modes[path]), db.blob(b"root"), db.blob(b"root")])
            entries.append(db.obj([name, acl, size, when, digest]))
            installed += len(data)
            if data:
                data_blocks.append(block(BLOCK_DATA, struct.pack("<II", di, fi) + data))
        name = db.blob(d.encode())
        acl = db.obj([db.int(0o755), db.blob(b"root"), db.blob(b"root")])
        paths.append(db.obj([name, acl, db.obj(entries)]))
    slots[PKGINFO.index("installed-size")] = db.int(installed or 1)
    # The unique id: reserved now, filled in last, never shared (a raw blob in apk).
    id_value = db.blob(bytes(UNIQUE_ID_LEN), reuse=False)
    slots[PKGINFO.index("hashes")] = id_value
    pkginfo = db.obj(slots)
    paths_value = db.obj(paths)
    script_values = db.obj([db.blob(scripts[s]) if s in scripts else ADB_NULL for s in SCRIPTS])
    adb = bytearray(db.finish(db.obj([pkginfo, paths_value, script_values])))
    id_at = (id_value & 0x0FFFFFFF) + 1
    adb[id_at:id_at + UNIQUE_ID_LEN] = hashlib.sha256(adb).digest()[:UNIQUE_ID_LEN]
    return container(SCHEMA_PACKAGE, bytes(adb), *data_blocks)


def info_slots_of(adb):
    """The package-info slots of a package's ADB block (the root's slot 1)."""
    root = struct.unpack_from("<I", adb, 4)[0]
    return slots_of(adb, slots_of(adb, root)[0])


def info_of(data):
    """A package's info strings: name, version, arch, ..."""
    _, adb = adb_block(data)
    info = info_slots_of(adb)
    return {name: blob_at(adb, v).decode() for name, v in zip(PKGINFO, info)
            if v & 0xF0000000 in (T_BLOB8, T_BLOB16, T_BLOB32) and name not in ("hashes", "repo-commit")}


def write_index(packages, description, sign_key=None):
    """The repository index (packages.adb) of packages (the .apk files'
    bytes), the way `apk mkndx` writes it: each package's info copied from
    the package, with its file size and the sha256 of its ADB block (how apk
    checks that a download is the indexed package). sign_key: a
    `cryptography` RSA private key; the signature is the one
    `apk mkndx --sign-key` appends."""
    db = Adb()
    infos = []
    for data in packages:
        schema, adb = adb_block(data)
        if schema != SCHEMA_PACKAGE:
            raise ValueError("mkapk: not a package")
        info = info_slots_of(adb)
        slots = [db.copy(adb, v) for v in info] + [ADB_NULL] * (len(PKGINFO) - len(info))
        slots[PKGINFO.index("file-size")] = db.int(len(data))
        slots[PKGINFO.index("hashes")] = db.blob(hashlib.sha256(adb).digest())
        infos.append((blob_at(adb, info[0]), db.obj(slots)))
    names = [n for n, _ in infos]
    if len(set(names)) != len(names):
        raise ValueError("mkapk: one version of each package per index")
    index = db.obj([db.blob(description.encode()), db.obj(v for _, v in sorted(infos))])
    adb = db.finish(index)
    if sign_key is None:
        return container(SCHEMA_INDEX, adb)
    return container(SCHEMA_INDEX, adb, block(BLOCK_SIG, signature(SCHEMA_INDEX, adb, sign_key)))


# `cryptography` is imported where it signs: building packages needs the
# standard library alone.
def key_id(public_key):
    """apk's key id: the sha512 of the DER public key (PKCS#1 for RSA), cut to 16 bytes."""
    from cryptography.hazmat.primitives import serialization
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    return hashlib.sha512(der).digest()[:16]


def signature(schema, adb, key):
    """A version-0 ADB signature: sign_ver 0, hash_alg 4 (sha512), key id,
    then RSA PKCS#1 v1.5 with sha512 over schema, that header and the sha512
    of the ADB block."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    head = bytes([0, 4]) + key_id(key.public_key())
    signed = schema + head + hashlib.sha512(adb).digest()
    return head + key.sign(signed, padding.PKCS1v15(), hashes.SHA512())


def openwrt_metadata(files, conffiles):
    """/lib/apk/packages/ap-exporter.{list,conffiles,conffiles_static}, the
    way OpenWrt's build writes them: the list of every file (made before the
    metadata files exist), the conffiles, and each conffile's sha256."""
    meta = "lib/apk/packages/ap-exporter."
    listing = "".join("/%s\n" % p for p in sorted(files))
    static = "".join("%s %s\n" % (c, hashlib.sha256(files[c.lstrip("/")]).hexdigest()) for c in conffiles)
    return {
        meta + "list": listing.encode(),
        meta + "conffiles": "".join(c + "\n" for c in conffiles).encode(),
        meta + "conffiles_static": static.encode(),
    }


def build(arch, binary, out_dir, mtime, version=None, release=mkipk.RELEASE):
    version = "%s-r%s" % (version or mkipk.cargo_field("version"), release)
    files, modes, conffiles = mkipk.payload("openwrt", binary)
    meta = openwrt_metadata(files, conffiles)
    files.update(meta)
    modes.update(dict.fromkeys(meta, 0o644))
    info = {
        "name": "ap-exporter",
        "version": version,
        "description": mkipk.cargo_field("description"),
        "arch": arch,
        "license": mkipk.cargo_field("license"),
        "origin": "ap-exporter",
        "maintainer": mkipk.MAINTAINER,
    }
    post_install = mkipk.script("openwrt", "postinst")
    # apk runs scripts with PATH alone in the environment: like OpenWrt's,
    # the post-upgrade script is the post-install one that says it upgrades.
    post_upgrade = post_install.replace(b"#!/bin/sh\n", b"#!/bin/sh\nexport PKG_UPGRADE=1\n", 1)
    scripts = {"post-install": post_install, "post-upgrade": post_upgrade,
               "pre-deinstall": mkipk.script("openwrt", "prerm")}
    os.makedirs(out_dir, exist_ok=True)
    name = os.path.join(out_dir, "ap-exporter-%s_%s.apk" % (version, arch))
    with open(name, "wb") as f:
        f.write(write_package(info, files, modes, scripts, mtime))
    return name


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arch", required=True)
    p.add_argument("--binary", required=True)
    p.add_argument("--out", default=os.path.join(mkipk.ROOT, "dist/openwrt"))
    p.add_argument("--version", help="upstream version (default: Cargo.toml's)")
    p.add_argument("--release", default=mkipk.RELEASE, help="package release (default: %(default)s)")
    args = p.parse_args()
    if ("openwrt", args.arch) not in {(f, a) for f, a, _, _ in mkipk.arches()}:
        sys.exit("mkapk: unknown openwrt arch %r (see package/arches.tsv)" % args.arch)
    print(build(args.arch, args.binary, args.out, mkipk.source_date_epoch(), args.version, args.release))


if __name__ == "__main__":
    main()
