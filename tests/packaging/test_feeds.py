"""The feeds `make feeds` writes in dist/feeds/, checked the way the routers'
tools check them, from the project's notes:

opkg: a feed is a directory with the .ipk files, Packages and Packages.gz.
Packages is each control paragraph plus Filename, Size and SHA256sum, a
blank line between paragraphs; Packages.gz decompresses to exactly those
bytes. OpenWrt's opkg also fetches Packages.sig, a usign (Ed25519)
signature of the uncompressed Packages, and checks it against
/etc/opkg/keys/FINGERPRINT (16 lower-case hex digits, the key number). Key
file: a comment line, then base64 of 42 bytes ("Ed", key number, public
key); signature: base64 of 74 bytes ("Ed", key number, signature).
Debian's signify-openbsd verifies the same files (keys made with -n).
usign before August 2019 miscomputes SHA-512 when (64 + size) % 128 is 110
or 111: OpenWrt pads such a Packages with two newlines.

apk: packages.adb is signed as `apk mkndx --sign-key` signs; apk trusts it
when /etc/apk/keys/ holds the public key, and fetches NAME-VERSION.apk from
beside it. The signature is checked here with openssl, apart from the
`cryptography` code that made it.
"""
import base64
import gzip
import hashlib
import io
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import unittest
import zlib

import adb
from common import ROOT, ROWS, read
from test_formats import openssl_verifies

sys.path.insert(0, os.path.join(ROOT, "scripts"))
import mkfeed  # noqa: E402

FEEDS = os.path.join(ROOT, "dist/feeds")
KEYS = os.path.join(FEEDS, "keys")


def feed_dirs(kind):
    flavor = "entware" if kind == "entware" else "openwrt"
    return [os.path.join(FEEDS, kind, arch) for f, arch, _, _ in ROWS if f == flavor]


def paragraphs(packages):
    """Paragraphs of a Packages file as {field: value}, checking that each ends with a blank line."""
    text = packages.decode()
    if text.endswith("\n\n\n\n"):  # the old-usign padding
        text = text[:-2]
    assert text.endswith("\n\n"), "the last paragraph ends with a blank line"
    return [dict(re.findall(r"^([A-Za-z0-9-]+): (.*)$", p, re.M)) for p in text[:-2].split("\n\n")]


def ipk_control(path):
    with tarfile.open(path, "r:gz") as outer:
        inner = outer.extractfile("./control.tar.gz").read()
    with tarfile.open(fileobj=io.BytesIO(inner), mode="r:gz") as ctl:
        return ctl.extractfile("./control").read().decode()


def usign_key_file():
    (name,) = [n for n in os.listdir(KEYS) if re.fullmatch(r"[0-9a-f]{16}", n)]
    return name, os.path.join(KEYS, name)


def signify_verifies(public, signature, message):
    return subprocess.run(["signify-openbsd", "-V", "-q", "-p", public, "-x", signature, "-m", message],
                          capture_output=True).returncode == 0


class OpkgFeeds(unittest.TestCase):
    def test_packages_gz_and_paragraphs_match_the_ipks(self):
        for kind in ("entware", "openwrt-ipk"):
            for d in feed_dirs(kind):
                with self.subTest(feed=d):
                    packages = read(os.path.join(d, "Packages"))
                    self.assertEqual(gzip.decompress(read(os.path.join(d, "Packages.gz"))), packages)
                    ipks = sorted(n for n in os.listdir(d) if n.endswith(".ipk"))
                    entries = paragraphs(packages)
                    self.assertEqual([e["Filename"] for e in entries], ipks)
                    for entry in entries:
                        data = read(os.path.join(d, entry["Filename"]))
                        self.assertEqual(int(entry["Size"]), len(data))
                        self.assertEqual(entry["SHA256sum"], hashlib.sha256(data).hexdigest())
                        control = dict(re.findall(r"^([A-Za-z0-9-]+): (.*)$", ipk_control(os.path.join(d, entry["Filename"])), re.M))
                        self.assertEqual({k: v for k, v in entry.items() if k in control}, control)
                        self.assertEqual(entry["Architecture"], os.path.basename(d))
                    self.assertNotIn((64 + len(packages)) % 128, (110, 111), "padded for old usign")

    def test_only_openwrt_feeds_are_signed(self):
        for d in feed_dirs("entware"):
            self.assertFalse(os.path.exists(os.path.join(d, "Packages.sig")), d)
        for d in feed_dirs("openwrt-ipk"):
            self.assertTrue(os.path.exists(os.path.join(d, "Packages.sig")), d)

    def test_signature_verifies_with_signify_over_the_uncompressed_packages(self):
        name, public = usign_key_file()
        key = base64.b64decode(read(public).decode().splitlines()[1])
        self.assertEqual((len(key), key[:2], key[2:10].hex()), (42, b"Ed", name), "key file is named by its key number")
        for d in feed_dirs("openwrt-ipk"):
            with self.subTest(feed=d):
                sig = read(os.path.join(d, "Packages.sig")).decode().splitlines()
                self.assertTrue(sig[0].startswith("untrusted comment: "))
                raw = base64.b64decode(sig[1])
                self.assertEqual((len(raw), raw[:10]), (74, key[:10]))
                self.assertTrue(signify_verifies(public, os.path.join(d, "Packages.sig"), os.path.join(d, "Packages")))

    def test_tampered_packages_fails_verification(self):
        _, public = usign_key_file()
        d = feed_dirs("openwrt-ipk")[0]
        with tempfile.TemporaryDirectory() as tmp:
            tampered = os.path.join(tmp, "Packages")
            with open(tampered, "wb") as f:
                f.write(read(os.path.join(d, "Packages")).replace(b"SHA256sum: ", b"SHA256sum: 0", 1))
            self.assertFalse(signify_verifies(public, os.path.join(d, "Packages.sig"), tampered))

    def test_padding_rule(self):
        for size in range(300):
            data = b"x" * size
            padded = mkfeed.pad_for_old_usign(data)
            extra = 2 if (64 + size) % 128 in (110, 111) else 0
            self.assertEqual(padded, data + b"\n" * extra, size)
            self.assertNotIn((64 + len(padded)) % 128, (110, 111))

    def test_signs_like_signify_with_a_key_signify_made(self):
        """A key from `signify-openbsd -G -n`, as AP_EXPORTER_USIGN_KEY would
        name: mkfeed's signature is byte-identical to signify's (Ed25519 is
        deterministic), and the public key file matches signify's."""
        with tempfile.TemporaryDirectory() as tmp:
            sec, pub, msg = (os.path.join(tmp, n) for n in ("k.sec", "k.pub", "msg"))
            subprocess.run(["signify-openbsd", "-G", "-n", "-p", pub, "-s", sec], check=True, capture_output=True)
            with open(msg, "wb") as f:
                f.write(b"Package: x\n\n")
            subprocess.run(["signify-openbsd", "-S", "-s", sec, "-m", msg, "-x", msg + ".sig"], check=True)
            key = mkfeed.UsignKey(sec)
            self.assertEqual(key.sign(read(msg)).splitlines()[1], read(msg + ".sig").decode().splitlines()[1])
            self.assertEqual(key.public_file().splitlines()[1], read(pub).decode().splitlines()[1])

    def test_keys_from_the_environment_or_throwaway_ones(self):
        with tempfile.TemporaryDirectory() as tmp:
            sec, pub, rsa_key = (os.path.join(tmp, n) for n in ("k.sec", "k.pub", "k.rsa"))
            subprocess.run(["signify-openbsd", "-G", "-n", "-p", pub, "-s", sec], check=True, capture_output=True)
            subprocess.run(["openssl", "genrsa", "-out", rsa_key, "2048"], check=True, capture_output=True)
            env = dict(os.environ, AP_EXPORTER_USIGN_KEY=sec, AP_EXPORTER_APK_KEY=rsa_key)
            code = "import mkfeed; u, a = mkfeed.signing_keys(%r); print(u.fingerprint, a.key_size)" % tmp
            run = subprocess.run([sys.executable, "-c", code], env=env, cwd=os.path.join(ROOT, "scripts"),
                                 capture_output=True, text=True, check=True)
            number = base64.b64decode(read(pub).decode().splitlines()[1])[2:10].hex()
            self.assertEqual(run.stdout.split(), [number, "2048"])
            self.assertEqual(run.stderr, "")
            del env["AP_EXPORTER_USIGN_KEY"], env["AP_EXPORTER_APK_KEY"]
            run = subprocess.run([sys.executable, "-c", code], env=env, cwd=os.path.join(ROOT, "scripts"),
                                 capture_output=True, text=True, check=True)
            self.assertIn("throwaway", run.stderr)
            self.assertEqual(sorted(os.listdir(os.path.join(tmp, "throwaway-keys"))), ["apk.rsa", "usign.sec"])


class ApkFeeds(unittest.TestCase):
    public = os.path.join(KEYS, mkfeed.APK_PUBLIC_KEY)

    def test_index_parses_back_and_names_the_package_beside_it(self):
        for d in feed_dirs("openwrt-apk"):
            with self.subTest(feed=d):
                index = adb.Index(read(os.path.join(d, "packages.adb")))
                (entry,) = index.packages
                data = read(os.path.join(d, "%s-%s.apk" % (entry["name"], entry["version"])))
                package = adb.Package(data)
                self.assertEqual(entry["arch"], os.path.basename(d))
                self.assertEqual(entry["file-size"], len(data))
                self.assertEqual(entry["hashes"], hashlib.sha256(package.adb).digest(),
                                 "apk checks a download against the sha256 of its ADB block")
                for key in ("name", "version", "description", "arch", "license", "origin", "maintainer",
                            "installed-size"):
                    self.assertEqual(entry[key], package.info[key], key)

    def test_signature_verifies_with_the_public_key(self):
        der = subprocess.run(["openssl", "rsa", "-pubin", "-in", self.public, "-RSAPublicKey_out", "-outform", "DER"],
                             capture_output=True, check=True).stdout
        for d in feed_dirs("openwrt-apk"):
            with self.subTest(feed=d):
                index = adb.Index(read(os.path.join(d, "packages.adb")))
                (sig,) = index.signatures
                self.assertEqual(sig[:2], bytes([0, 4]))
                self.assertEqual(sig[2:18], hashlib.sha512(der).digest()[:16], "key id")
                self.assertTrue(openssl_verifies(self.public, index.signed_message(sig), sig[18:]))

    def test_tampered_index_fails_verification(self):
        d = feed_dirs("openwrt-apk")[0]
        data = read(os.path.join(d, "packages.adb"))
        body = zlib.decompress(data[4:], -15)
        at = body.index(b"ap-exporter")
        tampered = bytearray(body)
        tampered[at] ^= 0x20  # "Ap-exporter"
        index = adb.Index(bytes(tampered))
        (sig,) = index.signatures
        self.assertFalse(openssl_verifies(self.public, index.signed_message(sig), sig[18:]))
