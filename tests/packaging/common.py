"""Paths, versions and small helpers the packaging tests share."""
import os
import subprocess
import sys
import tarfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import mkapk  # noqa: E402,F401  (re-exported for the tests)
import mkipk  # noqa: E402

VERSION = mkipk.cargo_field("version")
IPK_VERSION = "%s-%s" % (VERSION, mkipk.RELEASE)
APK_VERSION = "%s-r%s" % (VERSION, mkipk.RELEASE)
ROWS = mkipk.arches()
CONFIG = os.path.join(ROOT, "files/ap-exporter.toml")


def shipped_config(flavor):
    """The config bytes a flavor's packages install (its textfile directory set)."""
    return mkipk.config(flavor)


# Where each flavor installs the config, the binary and the init script
# (and OpenWrt its UCI file).
PATHS = {
    "entware": {"conf": "opt/etc/ap-exporter.toml", "bin": "opt/bin/ap-exporter", "init": "opt/etc/init.d/S99ap-exporter"},
    "openwrt": {"conf": "etc/ap-exporter.toml", "bin": "usr/bin/ap-exporter", "init": "etc/init.d/ap-exporter",
                "uci": "etc/config/ap-exporter"},
}
UCI = os.path.join(ROOT, "files/ap-exporter.uci")


def conffiles(flavor):
    """The conffiles a flavor's packages list, in order."""
    return ["/" + PATHS[flavor][k] for k in ("conf", "uci") if k in PATHS[flavor]]


def shipped_uci():
    """The /etc/config/ap-exporter the OpenWrt packages install."""
    return read(UCI)


def ipk_path(flavor, arch):
    sub = "dist" if flavor == "entware" else "dist/openwrt"
    return os.path.join(ROOT, sub, "ap-exporter_%s_%s.ipk" % (IPK_VERSION, arch))


def apk_path(arch):
    return os.path.join(ROOT, "dist/openwrt", "ap-exporter-%s_%s.apk" % (APK_VERSION, arch))


def all_packages():
    """(format, flavor, arch, path) of the 21 packages make builds."""
    for flavor, arch, _, _ in ROWS:
        yield "ipk", flavor, arch, ipk_path(flavor, arch)
        if flavor == "openwrt":
            yield "apk", flavor, arch, apk_path(arch)


def build_epoch():
    """The SOURCE_DATE_EPOCH the packages were built with (make sets it from
    the last commit): every file of every package carries it."""
    if os.environ.get("SOURCE_DATE_EPOCH"):
        return int(os.environ["SOURCE_DATE_EPOCH"])
    with tarfile.open(ipk_path(*ROWS[0][:2]), "r:gz") as outer:
        return outer.getmember("./debian-binary").mtime


def read(path):
    with open(path, "rb") as f:
        return f.read()


def shell_syntax_errors(body):
    """Errors from `sh -n` (dash) and `busybox sh -n` (a router's ash), or ''."""
    errors = ""
    for shell in (["sh", "-n"], ["busybox", "sh", "-n"]):
        r = subprocess.run(shell, input=body, capture_output=True)
        if r.returncode:
            errors += "%s: %s" % (" ".join(shell), r.stderr.decode())
    return errors
