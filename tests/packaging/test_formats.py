"""What opkg and apk read, package by package (make packages openwrt-packages):

.ipk (opkg-lede: Entware, OpenWrt up to 24.10). From the project's notes:
the outer container is a gzip'd tar (opkg rejects `ar` as "Malformed"),
inner tars are never PAX (opkg prints "Unknown typeflag 0x78", installs
nothing and exits 0), and there is no empty Depends line (it crashes opkg).

.apk (apk-tools 3, OpenWrt 25.12 and newer), read with tests/packaging/adb.py:
the fields and scripts OpenWrt's `apk mkpkg` call gives, OpenWrt's metadata
in the payload, and the same files as the .ipk. golden/ holds files that the
real apk-tools 3.0.2 wrote (`apk mkpkg` and `apk mkndx`, SOURCE_DATE_EPOCH
1700000000, from the inputs in Golden below): scripts/mkapk.py must write
the same bytes.
"""
import gzip
import hashlib
import io
import os
import re
import subprocess
import tarfile
import tempfile
import unittest

import adb
from common import (APK_VERSION, IPK_VERSION, PATHS, ROWS, apk_path, build_epoch, conffiles, ipk_path, mkapk, mkipk,
                    read, shell_syntax_errors, shipped_config, shipped_uci)

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, "golden")


def read_tar_gz(data):
    """Opens gzip'd tar bytes, returning (TarFile, raw tar bytes)."""
    raw = gzip.decompress(data)
    return tarfile.open(fileobj=io.BytesIO(raw), mode="r:"), raw


def header_types(raw):
    """Type flags of every 512-byte header in a raw tar (to catch PAX 'x'/'g')."""
    flags, off = [], 0
    while off + 512 <= len(raw):
        block = raw[off:off + 512]
        if block == b"\0" * 512:
            break
        flags.append(chr(block[156]) if block[156] else "0")
        size = int(block[124:136].rstrip(b"\0 ").decode() or "0", 8)
        off += 512 + (size + 511) // 512 * 512
    return flags


def unpack_ipk(path):
    """(outer names, outer members, control {name: (bytes, member)}, data {name: (bytes|None, member)}, raw tars)."""
    outer, outer_raw = read_tar_gz(read(path))
    members = {m.name: outer.extractfile(m).read() for m in outer.getmembers()}
    ctl, ctl_raw = read_tar_gz(members["./control.tar.gz"])
    data, data_raw = read_tar_gz(members["./data.tar.gz"])
    control = {m.name: (ctl.extractfile(m).read() if m.isfile() else None, m) for m in ctl.getmembers()}
    files = {m.name: (data.extractfile(m).read() if m.isfile() else None, m) for m in data.getmembers()}
    return [m.name for m in outer.getmembers()], members, control, files, (outer_raw, ctl_raw, data_raw)


class IpkFormat(unittest.TestCase):
    def test_every_package_was_built(self):
        for flavor, arch, _, _ in ROWS:
            self.assertTrue(os.path.exists(ipk_path(flavor, arch)), ipk_path(flavor, arch))
            if flavor == "openwrt":
                self.assertTrue(os.path.exists(apk_path(arch)), apk_path(arch))

    def test_outer_tar_gz_and_no_pax(self):
        for flavor, arch, _, _ in ROWS:
            with self.subTest(arch=arch):
                path = ipk_path(flavor, arch)
                self.assertEqual(read(path)[:2], b"\x1f\x8b", "outer must be gzip, not ar")
                names, members, control, files, raws = unpack_ipk(path)
                self.assertEqual(names, ["./debian-binary", "./control.tar.gz", "./data.tar.gz"])
                self.assertEqual(members["./debian-binary"], b"2.0\n")
                for raw in raws:
                    flags = header_types(raw)
                    self.assertFalse({"x", "g"} & set(flags), "PAX header found: %s" % flags)
                    tar = tarfile.open(fileobj=io.BytesIO(raw))
                    for m in tar.getmembers():
                        self.assertEqual((m.uid, m.gid), (0, 0), m.name)
                        self.assertFalse(m.pax_headers, m.name)
                        self.assertEqual(m.mtime, build_epoch(), m.name)
                    names_in = [m.name for m in tar.getmembers()]
                    if raw is not raws[0]:
                        self.assertEqual(names_in, sorted(names_in), "names must be sorted")

    def test_control_fields_conffiles_and_scripts(self):
        for flavor, arch, _, _ in ROWS:
            with self.subTest(arch=arch):
                _, _, control, files, _ = unpack_ipk(ipk_path(flavor, arch))
                text = control["./control"][0].decode()
                fields = dict(re.findall(r"^([A-Za-z-]+): ?(.*)$", text, re.M))
                for key in ["Package", "Version", "Architecture", "Maintainer", "License", "Section", "Description",
                            "Installed-Size"]:
                    self.assertTrue(fields.get(key), "%s missing in:\n%s" % (key, text))
                self.assertEqual((fields["Package"], fields["Architecture"], fields["Version"]),
                                 ("ap-exporter", arch, IPK_VERSION))
                self.assertNotIn("Depends", fields, "no Depends at all (an empty one crashes opkg)")
                self.assertFalse(re.search(r",\s*$", text, re.M), "trailing comma")
                size = sum(len(d) for d, m in files.values() if d is not None)
                self.assertEqual(int(fields["Installed-Size"]), size)
                self.assertEqual(control["./conffiles"][0].decode(), "".join(c + "\n" for c in conffiles(flavor)))
                for script in ("postinst", "prerm"):
                    body, member = control["./" + script]
                    self.assertEqual(body, mkipk.script(flavor, script))
                    self.assertEqual(member.mode & 0o777, 0o755, script)
                    self.assertTrue(body.startswith(b"#!/bin/sh\n"), script)
                    self.assertEqual(shell_syntax_errors(body), "", script)

    def test_installed_paths_and_modes(self):
        for flavor, arch, _, _ in ROWS:
            with self.subTest(arch=arch):
                _, _, _, files, _ = unpack_ipk(ipk_path(flavor, arch))
                p = PATHS[flavor]
                regular = sorted(n for n, (d, m) in files.items() if m.isfile())
                self.assertEqual(regular, sorted("./" + path for path in p.values()))
                modes = {k: files["./" + p[k]][1].mode & 0o7777 for k in p}
                # The config may hold password hashes: 0600, like OpenWrt's
                # INSTALL_CONF, which installs the UCI file so too.
                self.assertEqual(modes, dict({"bin": 0o755, "init": 0o755, "conf": 0o600},
                                             **({"uci": 0o600} if flavor == "openwrt" else {})))
                self.assertEqual(shell_syntax_errors(files["./" + p["init"]][0]), "")
                self.assertEqual(files["./" + p["conf"]][0], shipped_config(flavor))
                if flavor == "openwrt":
                    self.assertEqual(files["./" + p["uci"]][0], shipped_uci())
                # Every parent directory is in the archive too ("./opt/" reads back as "./opt").
                dirs = {n.rstrip("/") for n, (d, m) in files.items() if m.isdir()}
                for n in regular:
                    parent = os.path.dirname(n)
                    while parent not in ("", "."):
                        self.assertIn(parent, dirs, n)
                        parent = os.path.dirname(parent)

    def test_reproducible(self):
        flavor, arch, _, _ = ROWS[0]
        _, _, _, files, _ = unpack_ipk(ipk_path(flavor, arch))
        with tempfile.TemporaryDirectory() as tmp:
            binary = os.path.join(tmp, "ap-exporter")
            with open(binary, "wb") as f:
                f.write(files["./" + PATHS[flavor]["bin"]][0])
            rebuilt = mkipk.build(flavor, arch, binary, tmp, build_epoch())
            self.assertEqual(read(rebuilt), read(ipk_path(flavor, arch)), "same inputs must give the same bytes")


class ApkFormat(unittest.TestCase):
    """apk-tools 3 packages as OpenWrt 25.12 builds them."""

    def test_fields_scripts_and_no_signature(self):
        for flavor, arch, _, _ in ROWS:
            if flavor != "openwrt":
                continue
            with self.subTest(arch=arch):
                pkg = adb.Package(read(apk_path(arch)))
                self.assertEqual(pkg.compression, b"ADBd", "deflate, as apk mkpkg writes by default")
                info = pkg.info
                self.assertEqual((info["name"], info["version"], info["arch"]), ("ap-exporter", APK_VERSION, arch))
                self.assertRegex(info["version"], r"^\d+\.\d+\.\d+-r\d+$")
                for key in ("description", "license", "origin", "maintainer"):
                    self.assertTrue(info.get(key), key)
                self.assertNotIn("depends", info, "the binary is static")
                self.assertTrue(pkg.unique_id_ok(), "unique id: sha256 of the ADB block with the id zeroed")
                self.assertEqual(info["installed-size"], sum(f["size"] for f in pkg.files.values()))
                self.assertEqual(pkg.signatures, [], "unsigned: the signed index vouches for it")
                post_install = mkipk.script("openwrt", "postinst")
                self.assertEqual(pkg.scripts, {
                    "post-install": post_install,
                    "post-upgrade": post_install.replace(b"#!/bin/sh\n", b"#!/bin/sh\nexport PKG_UPGRADE=1\n", 1),
                    "pre-deinstall": mkipk.script("openwrt", "prerm"),
                })
                for name, body in pkg.scripts.items():
                    self.assertEqual(shell_syntax_errors(body), "", name)

    def test_same_files_as_the_ipk_plus_openwrt_metadata(self):
        for flavor, arch, _, _ in ROWS:
            if flavor != "openwrt":
                continue
            with self.subTest(arch=arch):
                pkg = adb.Package(read(apk_path(arch)))
                _, _, _, ipk_files, _ = unpack_ipk(ipk_path(flavor, arch))
                ipk = {n[2:]: (d, m.mode & 0o7777) for n, (d, m) in ipk_files.items() if m.isfile()}
                meta = "lib/apk/packages/ap-exporter."
                apk = {p: (f["data"], f["mode"]) for p, f in pkg.files.items() if not p.startswith(meta)}
                self.assertEqual(apk, ipk)
                for path, f in pkg.files.items():
                    self.assertEqual((f["user"], f["group"], f["mtime"]), (b"root", b"root", build_epoch()))
                self.assertEqual({d: (a["mode"], a["user"], a["group"]) for d, a in pkg.dirs.items()},
                                 {d: (0o755, b"root", b"root") for d in ["", "etc", "etc/config", "etc/init.d", "lib",
                                                                          "lib/apk", "lib/apk/packages", "usr", "usr/bin"]})
                self.assertEqual(pkg.files[meta + "list"]["data"].decode(), "".join("/%s\n" % p for p in sorted(ipk)))
                self.assertEqual(pkg.files[meta + "conffiles"]["data"].decode(),
                                 "".join(c + "\n" for c in conffiles("openwrt")))
                shipped = {"/" + PATHS["openwrt"]["conf"]: shipped_config("openwrt"),
                           "/" + PATHS["openwrt"]["uci"]: shipped_uci()}
                self.assertEqual(pkg.files[meta + "conffiles_static"]["data"].decode(),
                                 "".join("%s %s\n" % (c, hashlib.sha256(shipped[c]).hexdigest())
                                         for c in conffiles("openwrt")))

    def test_reproducible(self):
        arch = next(a for f, a, _, _ in ROWS if f == "openwrt")
        pkg = adb.Package(read(apk_path(arch)))
        with tempfile.TemporaryDirectory() as tmp:
            binary = os.path.join(tmp, "ap-exporter")
            with open(binary, "wb") as f:
                f.write(pkg.files[PATHS["openwrt"]["bin"]]["data"])
            rebuilt = mkapk.build(arch, binary, tmp, build_epoch())
            self.assertEqual(read(rebuilt), read(apk_path(arch)), "same inputs must give the same bytes")


class Golden(unittest.TestCase):
    """scripts/mkapk.py against files the real apk-tools 3.0.2 wrote:
      apk mkpkg --info name:t --info version:1.0-r1 --info "description:golden test package"
                --info arch:x86_64 --info license:MIT --info origin:t --info maintainer:nobody
                --script post-install:F --script pre-deinstall:F --files TREE
      apk mkndx --allow-untrusted --description golden [--sign-key KEY.rsa] t-1.0-r1.apk
    with TREE and the scripts as below (the long script takes a 16-bit
    length; the empty file has no DATA block)."""
    FILES = {"etc/t.conf": (b"setting = 1\n", 0o600), "usr/bin/t": (b"#!/bin/sh\necho t\n", 0o755),
             "usr/share/t/empty": (b"", 0o644)}
    SCRIPTS = {"post-install": b"#!/bin/sh\necho installed\n",
               "pre-deinstall": b"#!/bin/sh\n" + b"# a script longer than 255 bytes takes a 16-bit length\n" * 6
               + b"echo removing\n"}
    INFO = {"name": "t", "version": "1.0-r1", "description": "golden test package", "arch": "x86_64",
            "license": "MIT", "origin": "t", "maintainer": "nobody"}

    def test_package_bytes_equal_apk_mkpkg(self):
        mine = mkapk.write_package(self.INFO, {p: d for p, (d, m) in self.FILES.items()},
                                   {p: m for p, (d, m) in self.FILES.items()}, self.SCRIPTS, 1700000000)
        self.assertEqual(mine, read(os.path.join(GOLDEN, "t-1.0-r1.apk")))

    def test_index_bytes_equal_apk_mkndx(self):
        mine = mkapk.write_index([read(os.path.join(GOLDEN, "t-1.0-r1.apk"))], "golden")
        self.assertEqual(mine, read(os.path.join(GOLDEN, "packages.adb")))

    def test_apk_mkndx_signature_is_the_one_mkapk_makes(self):
        """The signed index differs from the unsigned one by its SIG block
        alone; that block's key id and signed message are those mkapk
        uses, so openssl verifies it with the signer's public key."""
        signed = adb.Index(read(os.path.join(GOLDEN, "packages-signed.adb")))
        unsigned = adb.Index(read(os.path.join(GOLDEN, "packages.adb")))
        self.assertEqual(signed.adb, unsigned.adb)
        (sig,) = signed.signatures
        public = os.path.join(GOLDEN, "signer.rsa.pub")
        der = subprocess.run(["openssl", "rsa", "-pubin", "-in", public, "-RSAPublicKey_out", "-outform", "DER"],
                             capture_output=True, check=True).stdout
        self.assertEqual(sig[:2], bytes([0, 4]), "signature version 0, sha512")
        self.assertEqual(sig[2:18], hashlib.sha512(der).digest()[:16], "key id: sha512 of the PKCS#1 public key")
        self.assertTrue(openssl_verifies(public, signed.signed_message(sig), sig[18:]))


def openssl_verifies(public_pem, message, signature):
    with tempfile.TemporaryDirectory() as tmp:
        paths = [os.path.join(tmp, n) for n in ("msg", "sig")]
        for path, data in zip(paths, (message, signature)):
            with open(path, "wb") as f:
                f.write(data)
        r = subprocess.run(["openssl", "dgst", "-sha512", "-verify", public_pem, "-signature", paths[1], paths[0]],
                           capture_output=True)
        return r.returncode == 0
