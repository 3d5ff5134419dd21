#!/usr/bin/env python3
"""Writes the package feeds, one directory per flavor and arch, ready for
any static web server, so that routers install and upgrade by name:

  dist/feeds/entware/ARCH/       .ipk, Packages, Packages.gz       (opkg)
  dist/feeds/openwrt-ipk/ARCH/   .ipk, Packages, Packages.gz,
                                 Packages.sig                      (opkg, 24.10 and older)
  dist/feeds/openwrt-apk/ARCH/   .apk, packages.adb                (apk, 25.12 and newer)
  dist/feeds/keys/               the public keys routers trust

Packages is each package's control paragraph plus Filename, Size and
SHA256sum, each paragraph ended by a blank line; Packages.gz decompresses to
exactly those bytes. OpenWrt's opkg checks Packages.sig, a usign (Ed25519)
signature of the uncompressed Packages, against /etc/opkg/keys/FINGERPRINT.
usign before August 2019 computes a wrong SHA-512 when (64 + size) % 128 is
110 or 111; as OpenWrt's build does, such a Packages gets two more newlines
before it is compressed and signed. packages.adb is signed the way
`apk mkndx --sign-key` signs (scripts/mkapk.py).

Keys come from the environment:
  AP_EXPORTER_USIGN_KEY  a usign secret key without passphrase
                         (usign -G, or signify-openbsd -G -n)
  AP_EXPORTER_APK_KEY    an RSA private key in PEM (openssl genrsa 2048)
Without them, throwaway keys are made once in dist/throwaway-keys/ (never
inside dist/feeds/), and this says so.

  mkfeed.py [--dist dist]
"""
import argparse
import base64
import gzip
import hashlib
import io
import os
import shutil
import sys
import tarfile

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

import mkapk
import mkipk

USIGN_ENV, APK_ENV = "AP_EXPORTER_USIGN_KEY", "AP_EXPORTER_APK_KEY"
APK_PUBLIC_KEY = "ap-exporter.pem"


class UsignKey:
    """A usign/signify Ed25519 secret key. The file: a comment line, then
    base64 of "Ed", "BK", kdf rounds (0: no passphrase), salt, checksum
    (sha512 of the secret key, first 8 bytes), key number, and the 64-byte
    secret key (seed, then public key)."""

    def __init__(self, path):
        with open(path) as f:
            lines = f.read().splitlines()
        try:
            raw = base64.b64decode(lines[1], validate=True)
        except (IndexError, ValueError):
            raw = b""
        if len(raw) != 104 or raw[:4] != b"EdBK":
            sys.exit("mkfeed: %s is not a usign secret key" % path)
        if raw[4:8] != bytes(4):
            sys.exit("mkfeed: %s has a passphrase; make the key with usign -G or signify-openbsd -G -n" % path)
        checksum, self.keynum, secret = raw[24:32], raw[32:40], raw[40:]
        if hashlib.sha512(secret).digest()[:8] != checksum:
            sys.exit("mkfeed: %s: bad checksum" % path)
        self.key = ed25519.Ed25519PrivateKey.from_private_bytes(secret[:32])
        self.public = secret[32:]

    @property
    def fingerprint(self):
        """16 lower-case hex digits: the name of the key file on the router."""
        return self.keynum.hex()

    def public_file(self):
        return "untrusted comment: public key %s\n%s\n" % (
            self.fingerprint, base64.b64encode(b"Ed" + self.keynum + self.public).decode())

    def sign(self, message):
        """The signature file for message (usign -S)."""
        sig = b"Ed" + self.keynum + self.key.sign(message)
        return "untrusted comment: signed by key %s\n%s\n" % (self.fingerprint, base64.b64encode(sig).decode())

    @staticmethod
    def generate(path):
        key = ed25519.Ed25519PrivateKey.generate()
        secret = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                   serialization.NoEncryption())
        secret += key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        raw = b"EdBK" + bytes(4) + os.urandom(16) + hashlib.sha512(secret).digest()[:8] + os.urandom(8) + secret
        write_secret(path, "untrusted comment: ap-exporter throwaway usign key\n%s\n" % base64.b64encode(raw).decode())


def write_secret(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def signing_keys(dist):
    """(usign key, RSA key) from the environment, or throwaway ones."""
    throwaway = os.path.join(dist, "throwaway-keys")
    usign_path, apk_path = os.environ.get(USIGN_ENV), os.environ.get(APK_ENV)
    for name, path in ((USIGN_ENV, usign_path), (APK_ENV, apk_path)):
        if path and not os.path.isfile(path):
            sys.exit("mkfeed: %s=%s: no such file" % (name, path))
    if not usign_path:
        usign_path = os.path.join(throwaway, "usign.sec")
        if not os.path.exists(usign_path):
            UsignKey.generate(usign_path)
        print("mkfeed: %s is not set: signing the opkg feeds with the throwaway key %s" % (USIGN_ENV, usign_path),
              file=sys.stderr)
    if not apk_path:
        apk_path = os.path.join(throwaway, "apk.rsa")
        if not os.path.exists(apk_path):
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            write_secret(apk_path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption()).decode())
        print("mkfeed: %s is not set: signing the apk indexes with the throwaway key %s" % (APK_ENV, apk_path),
              file=sys.stderr)
    with open(apk_path, "rb") as f:
        try:
            apk_key = serialization.load_pem_private_key(f.read(), password=None)
        except (TypeError, ValueError) as e:
            sys.exit("mkfeed: %s: %s (an RSA key in PEM, without passphrase)" % (apk_path, e))
    if not isinstance(apk_key, rsa.RSAPrivateKey):
        sys.exit("mkfeed: %s is not an RSA key" % apk_path)
    return UsignKey(usign_path), apk_key


def control_of(ipk):
    """The control file of an .ipk (outer tar.gz, then control.tar.gz)."""
    with tarfile.open(ipk, "r:gz") as outer:
        inner = outer.extractfile("./control.tar.gz").read()
    with tarfile.open(fileobj=io.BytesIO(inner), mode="r:gz") as ctl:
        return ctl.extractfile("./control").read()


def packages_index(ipks):
    """Packages for the given .ipk paths, padded for old usign."""
    out = b""
    for ipk in ipks:
        with open(ipk, "rb") as f:
            data = f.read()
        out += control_of(ipk) + b"Filename: %s\nSize: %d\nSHA256sum: %s\n\n" % (
            os.path.basename(ipk).encode(), len(data), hashlib.sha256(data).hexdigest().encode())
    return pad_for_old_usign(out)


def pad_for_old_usign(packages):
    """usign before August 2019 miscomputes SHA-512 when (64 + size) % 128
    is 110 or 111: two more newlines move the size out of reach."""
    if (64 + len(packages)) % 128 in (110, 111):
        return packages + b"\n\n"
    return packages


def opkg_feed(directory, ipks, usign_key=None):
    """A feed of the given .ipk files; signed when usign_key is given."""
    os.makedirs(directory)
    for ipk in ipks:
        shutil.copy(ipk, directory)
    packages = packages_index([os.path.join(directory, os.path.basename(i)) for i in ipks])
    with open(os.path.join(directory, "Packages"), "wb") as f:
        f.write(packages)
    with open(os.path.join(directory, "Packages.gz"), "wb") as f:
        f.write(gzip.compress(packages, 9, mtime=0))
    if usign_key:
        with open(os.path.join(directory, "Packages.sig"), "w") as f:
            f.write(usign_key.sign(packages))


def apk_feed(directory, apks, description, apk_key):
    """The packages under the names apk fetches them by (NAME-VERSION.apk,
    beside the index), and the signed index."""
    os.makedirs(directory)
    contents = []
    for apk in apks:
        with open(apk, "rb") as f:
            contents.append(f.read())
        info = mkapk.info_of(contents[-1])
        with open(os.path.join(directory, "%s-%s.apk" % (info["name"], info["version"])), "wb") as f:
            f.write(contents[-1])
    with open(os.path.join(directory, "packages.adb"), "wb") as f:
        f.write(mkapk.write_index(contents, description, apk_key))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dist", default=os.path.join(mkipk.ROOT, "dist"))
    args = p.parse_args()
    usign_key, apk_key = signing_keys(args.dist)
    feeds = os.path.join(args.dist, "feeds")
    shutil.rmtree(feeds, ignore_errors=True)
    version = mkipk.cargo_field("version")
    ipk_version, apk_version = "%s-%s" % (version, mkipk.RELEASE), "%s-r%s" % (version, mkipk.RELEASE)
    for flavor, arch, _, _ in mkipk.arches():
        sub = "" if flavor == "entware" else "openwrt"
        ipk = os.path.join(args.dist, sub, "ap-exporter_%s_%s.ipk" % (ipk_version, arch))
        apk = os.path.join(args.dist, sub, "ap-exporter-%s_%s.apk" % (apk_version, arch))
        for package in [ipk] + ([apk] if flavor == "openwrt" else []):
            if not os.path.exists(package):
                sys.exit("mkfeed: %s is missing (make packages openwrt-packages)" % package)
        if flavor == "entware":
            opkg_feed(os.path.join(feeds, "entware", arch), [ipk])
        else:
            opkg_feed(os.path.join(feeds, "openwrt-ipk", arch), [ipk], usign_key)
            apk_feed(os.path.join(feeds, "openwrt-apk", arch), [apk], "ap-exporter %s" % arch, apk_key)
    keys = os.path.join(feeds, "keys")
    os.makedirs(keys)
    with open(os.path.join(keys, usign_key.fingerprint), "w") as f:
        f.write(usign_key.public_file())
    with open(os.path.join(keys, APK_PUBLIC_KEY), "wb") as f:
        f.write(apk_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo))
    print(feeds)


if __name__ == "__main__":
    main()
