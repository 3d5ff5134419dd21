"""Every package (7 Entware .ipk, 7 OpenWrt .ipk, 7 OpenWrt .apk) in a
scratch root, installed, upgraded and removed by the opkg and apk
stand-ins of players.py, which do the real tools' steps and no more.
Offline, as image builders install: opkg -o runs no script (the notes), and
OpenWrt's image build runs apk with --no-scripts, so the package must be
complete without its scripts.

The upgrade is to a package whose version is bumped, with the same files:
what is checked here is where each file lands, its mode, and what happens
to the config the user edited (kept; the new default lands beside it as
FILE-opkg or FILE.apk-new).
"""
import os
import tempfile
import unittest

import adb
import bumped
import players
from common import PATHS, all_packages, build_epoch, conffiles, mkapk, mkipk, read, shipped_config, shipped_uci

BUMPED = bumped.bumped_version()
EDIT = b"# edited by the router's owner\nlisten = [\"127.0.0.1:9100\"]\n"
# The UCI file as "uci set ap-exporter.main.port=9101; uci commit" leaves it.
UCI_EDIT = b"\nconfig ap-exporter 'main'\n\toption enabled '1'\n\toption port '9101'\n\nconfig collectors 'collectors'\n\n"


def regular_files(root):
    """{path: mode} of the files in root, leaving out opkg's own database
    (the info directory, where it keeps the scripts)."""
    out = {}
    for d, _, names in os.walk(root):
        for n in names:
            path = os.path.relpath(os.path.join(d, n), root)
            if not path.startswith(tuple(players.OPKG_INFO.values())):
                out[path] = os.stat(os.path.join(root, path)).st_mode & 0o7777
    return out


def bumped_package(fmt, flavor, arch, path, tmp):
    """The same package with the version bumped, built from its own binary."""
    if fmt == "ipk":
        fields, _, _, data = players.read_ipk(path)
        binary = next(d for n, d, _ in data if n == "./" + PATHS[flavor]["bin"])
    else:
        binary = adb.Package(read(path)).files[PATHS[flavor]["bin"]]["data"]
    with open(os.path.join(tmp, "ap-exporter"), "wb") as f:
        f.write(binary)
    out = os.path.join(tmp, "bumped")
    if fmt == "ipk":
        return mkipk.build(flavor, arch, os.path.join(tmp, "ap-exporter"), out, build_epoch(), BUMPED)
    return mkapk.build(arch, os.path.join(tmp, "ap-exporter"), out, build_epoch(), BUMPED)


def manager(fmt, flavor, root):
    return players.Opkg(root, flavor) if fmt == "ipk" else players.Apk(root)


def install(m, path):
    return m.install(path) if isinstance(m, players.Opkg) else m.add(path)


def remove(m):
    return m.remove() if isinstance(m, players.Opkg) else m.delete()


class ScratchRoot(unittest.TestCase):
    def installed_files(self, fmt, flavor, root):
        p = PATHS[flavor]
        files = regular_files(root)
        expected = {path: 0o755 if k in ("bin", "init") else 0o600 for k, path in p.items()}
        if fmt == "apk":
            expected.update({"lib/apk/packages/ap-exporter." + s: 0o644 for s in ("list", "conffiles", "conffiles_static")})
        self.assertEqual(files, expected)
        self.assertEqual(read(os.path.join(root, p["conf"])), shipped_config(flavor))
        if "uci" in p:
            self.assertEqual(read(os.path.join(root, p["uci"])), shipped_uci())

    def test_opkg_and_apk_standins_install_and_remove_every_package(self):
        for fmt, flavor, arch, path in all_packages():
            with self.subTest(fmt=fmt, arch=arch), tempfile.TemporaryDirectory() as root:
                m = manager(fmt, flavor, root)
                self.assertEqual(install(m, path), [], "offline: no script runs")
                self.installed_files(fmt, flavor, root)
                if fmt == "ipk":
                    self.assertEqual(list(m.installed[2]), conffiles(flavor), "the configs are conffiles")
                else:
                    listed = read(os.path.join(root, "lib/apk/packages/ap-exporter.conffiles")).decode()
                    self.assertEqual(listed, "".join(c + "\n" for c in conffiles(flavor)),
                                     "OpenWrt's conffiles list names them")
                    for conf in conffiles(flavor):
                        self.assertTrue(conf.startswith("/etc/"), "apk protects everything under /etc")
                remove(m)
                self.assertEqual(regular_files(root), {}, "an unedited config goes too")

    def test_opkg_and_apk_standins_upgrade_with_an_edited_config_every_package(self):
        for fmt, flavor, arch, path in all_packages():
            with self.subTest(fmt=fmt, arch=arch), tempfile.TemporaryDirectory() as tmp:
                root = os.path.join(tmp, "root")
                os.mkdir(root)
                m = manager(fmt, flavor, root)
                install(m, path)
                conf = os.path.join(root, PATHS[flavor]["conf"])
                with open(conf, "wb") as f:
                    f.write(EDIT)
                edited = {conf: (EDIT, shipped_config(flavor))}
                if "uci" in PATHS[flavor]:
                    uci = os.path.join(root, PATHS[flavor]["uci"])
                    with open(uci, "wb") as f:
                        f.write(UCI_EDIT)
                    edited[uci] = (UCI_EDIT, shipped_uci())
                newer = bumped_package(fmt, flavor, arch, path, tmp)
                self.assertEqual(install(m, newer), [])
                for path_, (edit, default) in edited.items():
                    new_default = path_ + ("-opkg" if fmt == "ipk" else ".apk-new")
                    self.assertEqual(read(path_), edit, "the edit is kept")
                    self.assertEqual(read(new_default), default, "the new default lands beside it")
                    self.assertEqual(os.stat(new_default).st_mode & 0o777, 0o600)
                version = m.installed[0] if fmt == "ipk" else m.installed.info["version"]
                self.assertTrue(version.startswith(BUMPED + "-"), version)
                remove(m)
                left = set(regular_files(root))
                # opkg does not record FILE-opkg, so it stays with the edit; apk removes its .apk-new.
                kept = [os.path.relpath(p_, root) for p_ in edited]
                expected = set(kept) | ({k + "-opkg" for k in kept} if fmt == "ipk" else set())
                self.assertEqual(left, expected, "only the edited configs (and opkg's copies of the defaults) may stay")
                for path_, (edit, _) in edited.items():
                    self.assertEqual(read(path_), edit)
