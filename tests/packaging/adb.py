"""A reader for apk-tools 3 files (.apk packages and packages.adb indexes),
written apart from scripts/mkapk.py so that each checks the other. It reads
what apk reads (apk-tools' doc/apk-v3.5.scd and src/adb.c):

  "ADBd" + raw deflate (or "ADB." uncompressed): "ADB.", 4-byte schema, then
  blocks: u32 (type << 30 | size incl. these 4 bytes), payload, zeros to 8.
  The first block is the ADB block; SIG blocks may follow; then DATA blocks
  (u32 path index, u32 file index, the file's bytes).
  A value is a u32: type in the high 4 bits, an immediate or an offset into
  the ADB block in the low 28. Objects and arrays: u32 count (slot 0
  included), then the slots.
"""
import hashlib
import struct
import zlib

SPECIAL, INT, INT32, INT64 = 0x0, 0x1, 0x2, 0x3
BLOB8, BLOB16, BLOB32, ARRAY, OBJECT = 0x8, 0x9, 0xA, 0xD, 0xE
BLOCK_TYPES = {0: "adb", 1: "sig", 2: "data"}


class Block:
    def __init__(self, adb):
        if len(adb) < 8 or adb[0] != 0:
            raise ValueError("bad ADB header")
        self.adb = adb
        self.root = struct.unpack_from("<I", adb, 4)[0]

    def _at(self, value, size):
        at = value & 0x0FFFFFFF
        if at + size > len(self.adb):
            raise ValueError("value %#x points past the ADB block" % value)
        return at

    def int(self, value):
        kind = value >> 28
        if kind == INT:
            return value & 0x0FFFFFFF
        if kind == INT32:
            return struct.unpack_from("<I", self.adb, self._at(value, 4))[0]
        if kind == INT64:
            return struct.unpack_from("<Q", self.adb, self._at(value, 8))[0]
        if value == 0:
            return None
        raise ValueError("not an int: %#x" % value)

    def blob(self, value):
        if value == 0:
            return None
        size = {BLOB8: 1, BLOB16: 2, BLOB32: 4}[value >> 28]
        at = self._at(value, size)
        length = int.from_bytes(self.adb[at:at + size], "little")
        self._at(value, size + length)
        return self.adb[at + size:at + size + length]

    def slots(self, value):
        """Slots 1.. of an object or array (a missing object has none)."""
        if value == 0:
            return []
        if value >> 28 not in (ARRAY, OBJECT):
            raise ValueError("not an object: %#x" % value)
        at = self._at(value, 4)
        count = struct.unpack_from("<I", self.adb, at)[0]
        self._at(value, 4 * count)
        return list(struct.unpack_from("<%dI" % (count - 1), self.adb, at + 4))

    def field(self, value, index):
        slots = self.slots(value)
        return slots[index - 1] if index <= len(slots) else 0


def open_file(data):
    """(compression, schema, [(block type, payload)])."""
    compression = data[:4]
    if compression == b"ADBd":
        data = zlib.decompress(data[4:], -15)
    elif compression != b"ADB.":
        raise ValueError("not an ADB file: %r" % compression)
    if data[:4] != b"ADB.":
        raise ValueError("no ADB. header")
    schema, blocks, at = data[4:8], [], 8
    while at < len(data):
        tag = struct.unpack_from("<I", data, at)[0]
        size = tag & 0x3FFFFFFF
        blocks.append((BLOCK_TYPES[tag >> 30], data[at + 4:at + size]))
        at += (size + 7) // 8 * 8
    if at != len(data):
        raise ValueError("trailing bytes")
    if not blocks or blocks[0][0] != "adb":
        raise ValueError("the first block must be the ADB block")
    return compression, schema, blocks


PKGINFO = ["name", "version", "hashes", "description", "arch", "license", "origin", "maintainer", "url",
           "repo-commit", "build-time", "installed-size", "file-size", "provider-priority", "depends",
           "provides", "replaces", "install-if", "recommends", "layer", "tags"]
INT_FIELDS = {"build-time", "installed-size", "file-size", "provider-priority", "layer"}
SCRIPTS = ["trigger", "pre-install", "post-install", "pre-deinstall", "post-deinstall", "pre-upgrade",
           "post-upgrade"]


def pkginfo(block, value):
    out = {}
    for name, v in zip(PKGINFO, block.slots(value)):
        if v == 0:
            continue
        if name in INT_FIELDS:
            out[name] = block.int(v)
        elif name in ("hashes", "repo-commit"):
            out[name] = block.blob(v)
        elif v >> 28 in (ARRAY, OBJECT):
            out[name] = [block.blob(block.field(d, 1)).decode() for d in block.slots(v)]
        else:
            out[name] = block.blob(v).decode()
    return out


def acl(block, value):
    return {"mode": block.int(block.field(value, 1)), "user": block.blob(block.field(value, 2)),
            "group": block.blob(block.field(value, 3)), "xattrs": block.field(value, 4)}


class Package:
    """A parsed .apk: info, files {path: {...}}, dirs {path: acl}, scripts,
    and the raw pieces tests look at."""

    def __init__(self, data):
        self.compression, self.schema, self.blocks = open_file(data)
        if self.schema != b"pckg":
            raise ValueError("schema %r is not a package" % self.schema)
        self.adb = self.blocks[0][1]
        block = Block(self.adb)
        self.info = pkginfo(block, block.field(block.root, 1))
        self._uid_at = (block.field(block.field(block.root, 1), 3) & 0x0FFFFFFF) + 1
        self.dirs, self.files, index = {}, {}, {}
        for di, d in enumerate(block.slots(block.field(block.root, 2)), 1):
            name = (block.blob(block.field(d, 1)) or b"").decode()
            self.dirs[name] = acl(block, block.field(d, 2))
            for fi, f in enumerate(block.slots(block.field(d, 3)), 1):
                path = "/".join(filter(None, [name, block.blob(block.field(f, 1)).decode()]))
                self.files[path] = dict(acl(block, block.field(f, 2)), size=block.int(block.field(f, 3)) or 0,
                                        mtime=block.int(block.field(f, 4)), hash=block.blob(block.field(f, 5)),
                                        target=block.blob(block.field(f, 6)), data=b"")
                index[(di, fi)] = path
        self.scripts = {name: block.blob(v) for name, v in zip(SCRIPTS, block.slots(block.field(block.root, 3))) if v}
        self.signatures = [p for t, p in self.blocks if t == "sig"]
        for kind, payload in self.blocks[1:]:
            if kind == "data":
                path = index[struct.unpack_from("<II", payload)]
                self.files[path]["data"] = payload[8:]
        for path, f in self.files.items():
            if len(f["data"]) != f["size"] or hashlib.sha256(f["data"]).digest() != f["hash"]:
                raise ValueError("%s: data does not match its size and hash" % path)

    def unique_id_ok(self):
        """`apk mkpkg` stores sha256 of the ADB block, computed with those 20
        bytes zeroed, as the package's unique id."""
        uid, at = self.info["hashes"], self._uid_at
        zeroed = self.adb[:at] + bytes(len(uid)) + self.adb[at + len(uid):]
        return len(uid) == 20 and hashlib.sha256(zeroed).digest()[:20] == uid


class Index:
    """A parsed packages.adb: description, packages [info], signatures."""

    def __init__(self, data):
        self.compression, self.schema, self.blocks = open_file(data)
        if self.schema != b"indx":
            raise ValueError("schema %r is not an index" % self.schema)
        self.adb = self.blocks[0][1]
        block = Block(self.adb)
        desc = block.blob(block.field(block.root, 1))
        self.description = desc.decode() if desc else ""
        self.packages = [pkginfo(block, p) for p in block.slots(block.field(block.root, 2))]
        self.signatures = [p for t, p in self.blocks if t == "sig"]
        if any(t == "data" for t, _ in self.blocks):
            raise ValueError("an index has no DATA blocks")

    def signed_message(self, signature):
        """What a version-0 signature signs: the schema, the signature's
        first 18 bytes (version, hash algorithm, key id), and the sha512 of
        the ADB block."""
        return self.schema + signature[:18] + hashlib.sha512(self.adb).digest()
