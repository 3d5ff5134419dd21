"""The OpenWrt SDK / packages-feed Makefile (package/ap-exporter/Makefile),
checked offline: the SDK and openwrt/packages' CI cannot be downloaded
here, so this checks what they would check and reject, from their sources
(openwrt/openwrt include/download.mk, scripts/dl_github_archive.py,
openwrt/packages lang/rust/rust-package.mk and its CI's "make
package/NAME/check", which warns on a missing or mismatched hash):

  - the fields a feed package needs: a source URL (no variable left to
    set), git with a full commit, PKG_MIRROR_HASH a sha256 (not "skip"),
    PKG_MAINTAINER, PKG_LICENSE matching Cargo.toml and a LICENSE file
    holding that license, rust-package.mk's conventions (rust/host,
    RUST_ARCH_DEPENDS, RustBinPackage);
  - recipes indented with tabs (make needs them), no trailing blanks;
  - every file the install recipe takes from the source exists at the
    pinned commit; the conffiles are the files installed with INSTALL_CONF,
    and the same as the .ipk's;
  - the description names every collector of files/ap-exporter.toml;
  - PKG_MIRROR_HASH is the sha256 of the tarball the SDK makes of the
    pinned commit (scripts/mk-sdk-makefile.py makes it the SDK's way: clone,
    check out, tar sorted by name with owner 0 and the commit's time, gzip
    -n), and dl_github_archive.py's repacking of the same tree gives the
    same bytes; the Makefile is what the script writes for its pin.

Needs the pinned commit in this repository's history (not a shallow clone).
"""
import gzip
import hashlib
import importlib.util
import io
import os
import re
import subprocess
import tarfile
import tempfile
import unittest

from common import ROOT, conffiles, mkipk, read
from test_formats import header_types

# The script's name has dashes: loaded by path.
_spec = importlib.util.spec_from_file_location("mk_sdk_makefile", os.path.join(ROOT, "scripts/mk-sdk-makefile.py"))
sdk = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sdk)

MAKEFILE = os.path.join(ROOT, "package/ap-exporter/Makefile")


def variables(text):
    """NAME:=VALUE assignments outside define blocks (the last one wins, as in make)."""
    out, inside = {}, False
    for line in text.splitlines():
        if line.startswith("define "):
            inside = True
        elif line == "endef":
            inside = False
        elif not inside:
            m = re.match(r"^([A-Z_]+)\s*:=\s*(.*)$", line)
            if m:
                out[m.group(1)] = m.group(2)
    return out


def block(text, name):
    """The lines of define NAME ... endef."""
    m = re.search(r"^define %s\n(.*?)^endef$" % re.escape(name), text, re.M | re.S)
    return m.group(1).splitlines() if m else None


class SdkMakefile(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.text = read(MAKEFILE).decode()
        cls.vars = variables(cls.text)
        cls.commit = cls.vars.get("PKG_SOURCE_VERSION", "")

    def test_source_fields_name_a_real_download(self):
        v = self.vars
        self.assertEqual(v.get("PKG_NAME"), "ap-exporter")
        self.assertEqual(v.get("PKG_SOURCE_PROTO"), "git")
        url = v.get("PKG_SOURCE_URL", "")
        self.assertRegex(url, r"^https://[^\s$()]+\.git$", "a URL, with no variable left for the user to set")
        self.assertRegex(self.commit, r"^[0-9a-f]{40}$", "a full commit id: a tag or a short id can move")
        self.assertRegex(v.get("PKG_MIRROR_HASH", ""), r"^[0-9a-f]{64}$", "a sha256; 'skip' fails the feed's check")
        self.assertEqual(v.get("PKG_SOURCE"), "$(PKG_NAME)-$(PKG_VERSION)-%s.tar.gz" % self.commit[:12])
        self.assertNotIn("PKG_SOURCE_SUBDIR", v, "the default, $(PKG_NAME)-$(PKG_VERSION), is what the hash is of")
        self.assertNotIn("PKG_HASH", v, "a git download is checked by PKG_MIRROR_HASH")
        self.assertRegex(v.get("PKG_RELEASE", ""), r"^[1-9][0-9]*$")
        self.assertEqual(v.get("PKG_VERSION"), mkipk.cargo_field("version"),
                         "the pin is of this version: scripts/mk-sdk-makefile.py --rev HEAD")

    def test_maintainer_and_license(self):
        v = self.vars
        self.assertTrue(v.get("PKG_MAINTAINER"))
        self.assertEqual(v.get("PKG_LICENSE"), mkipk.cargo_field("license"))
        self.assertEqual(v.get("PKG_LICENSE"), "MIT")
        files = v.get("PKG_LICENSE_FILES", "").split()
        self.assertEqual(files, ["LICENSE"])
        for name in files:
            text = read(os.path.join(ROOT, name)).decode()
            self.assertTrue(text.startswith("MIT License\n"), name)
            self.assertIn("Permission is hereby granted, free of charge", text)
            self.assertIn("THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND", text)
            self.assertIn("Copyright (c) the ap-exporter developers", text)
            self.assertEqual(sdk.git("show", "%s:%s" % (self.commit, name)), text, "the pinned source has it too")

    def test_rust_package_conventions(self):
        lines = self.text.splitlines()
        code = [line for line in lines if line.strip() and not line.startswith("#")]
        self.assertEqual(code[0], "include $(TOPDIR)/rules.mk")
        self.assertIn("rust/host", self.vars.get("PKG_BUILD_DEPENDS", "").split())
        package_mk = lines.index("include $(INCLUDE_DIR)/package.mk")
        rust_mk = lines.index("include ../../lang/rust/rust-package.mk")
        self.assertLess(package_mk, rust_mk, "rust-package.mk after package.mk")
        self.assertIn("  DEPENDS:=$(RUST_ARCH_DEPENDS)", block(self.text, "Package/ap-exporter"))
        self.assertEqual(code[-2:], ["$(eval $(call RustBinPackage,ap-exporter))",
                                     "$(eval $(call BuildPackage,ap-exporter))"])

    def test_recipes_are_tab_indented_and_no_line_has_trailing_blanks(self):
        for n, line in enumerate(self.text.splitlines(), 1):
            self.assertEqual(line, line.rstrip(), "line %d: trailing blank" % n)
            self.assertNotIn(" \t", line, "line %d: a space before a tab" % n)
        recipe = block(self.text, "Package/ap-exporter/install")
        self.assertTrue(recipe)
        for line in recipe:
            self.assertRegex(line, r"^\t\S", "a recipe line starts with one tab: %r" % line)
        for name in ("Package/ap-exporter", "Package/ap-exporter/description", "Package/ap-exporter/conffiles"):
            for line in block(self.text, name):
                self.assertNotIn("\t", line, "%s: spaces, not tabs: %r" % (name, line))

    def test_installs_what_the_pinned_source_has_and_the_ipk_installs(self):
        recipe = "\n".join(block(self.text, "Package/ap-exporter/install"))
        for path in re.findall(r"\$\(PKG_BUILD_DIR\)/(\S+)", recipe):
            r = subprocess.run(["git", "cat-file", "-e", "%s:%s" % (self.commit, path)], cwd=ROOT,
                               stderr=subprocess.DEVNULL)
            self.assertEqual(r.returncode, 0, "%s is not in the pinned commit %s" % (path, self.commit))
            self.assertTrue(os.path.exists(os.path.join(ROOT, path)), path)
        installed = {"/" + m for m in re.findall(r"^\t\$\(INSTALL_(?:BIN|CONF|DATA)\) \S+ \$\(1\)/(\S+)$", recipe, re.M)}
        layout = {"/" + path for path, _, _, _ in mkipk.LAYOUTS["openwrt"]}
        self.assertEqual(installed, layout, "the SDK's package holds the files scripts/mkipk.py's does")

    def test_conffiles_are_the_configs_it_installs(self):
        listed = block(self.text, "Package/ap-exporter/conffiles")
        recipe = "\n".join(block(self.text, "Package/ap-exporter/install"))
        as_conf = ["/" + p for p in re.findall(r"^\t\$\(INSTALL_CONF\) \S+ \$\(1\)/(\S+)$", recipe, re.M)]
        self.assertEqual(listed, as_conf, "each config installed with INSTALL_CONF is a conffile, and only those")
        self.assertEqual(listed, conffiles("openwrt"), "the same conffiles as the .ipk and .apk")

    def test_description_names_every_collector(self):
        description = "\n".join(block(self.text, "Package/ap-exporter/description"))
        toml = read(os.path.join(ROOT, "files/ap-exporter.toml")).decode()
        collectors = re.findall(r"^(\w+) = (?:true|false)", toml.split("# collectors:begin")[1].split("# collectors:end")[0],
                                re.M)
        self.assertEqual(len(collectors), 16)
        for name in collectors:
            self.assertRegex(description, r"(?m)^    %s\s" % name, "the description lists %s" % name)
        for line in block(self.text, "Package/ap-exporter/description"):
            self.assertLessEqual(len(line), 80, line)

    def test_mirror_hash_is_the_sdk_tarball_of_the_pinned_commit(self):
        commit = sdk.resolve(self.commit)
        version = sdk.version_at(commit)
        with tempfile.TemporaryDirectory() as tmp:
            first, second = os.path.join(tmp, "a.tar.gz"), os.path.join(tmp, "b.tar.gz")
            sdk.make_tarball(commit, "ap-exporter-%s" % version, first)
            sdk.make_tarball(commit, "ap-exporter-%s" % version, second)
            self.assertEqual(read(first), read(second), "the same commit, the same bytes")
            self.assertEqual(sdk.sha256(first), self.vars["PKG_MIRROR_HASH"],
                             "PKG_MIRROR_HASH is not the tarball's: scripts/mk-sdk-makefile.py --rev %s" % commit)
            data = read(first)
            self.assertEqual(data[:2], b"\x1f\x8b")
            self.assertEqual(data[4:8], b"\0\0\0\0", "gzip -n: no time in the header")
            raw = gzip.decompress(data)
            self.assertFalse({"x", "g"} & set(header_types(raw)), "GNU tar, no PAX headers")
            when = int(sdk.git("log", "-1", "--format=%ct", commit))
            names = []
            with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
                for m in tar.getmembers():
                    names.append(m.name)
                    self.assertTrue(m.name == "ap-exporter-%s" % version or
                                    m.name.startswith("ap-exporter-%s/" % version), m.name)
                    self.assertEqual((m.uid, m.gid, m.uname, m.gname, m.mtime), (0, 0, "", "", when), m.name)
                    if m.isfile():
                        self.assertIn(m.mode, (0o644, 0o755), m.name)
                    elif m.isdir():
                        self.assertEqual(m.mode, 0o755, m.name)
            tracked = set(sdk.git("ls-tree", "-r", "--name-only", commit).split("\n")) - {""}
            packed = {n.split("/", 1)[1] for n in names if "/" in n}
            self.assertEqual(tracked - packed, set(), "every file of the commit is in it")
            self.assertIn("ap-exporter-%s/LICENSE" % version, names)

    def test_github_archive_repacking_gives_the_same_tarball(self):
        """For a github.com URL the SDK first tries dl_github_archive.py: it
        unpacks GitHub's archive of the commit (umask 022,
        --no-same-permissions), renames its top directory to SUBDIR and packs
        it with tar --numeric-owner --owner=0 --group=0 --sort=name
        --mtime=@TIME -z (GZIP=-n), then keeps it only if it matches the hash.
        The same tree packed that way must give the same bytes, or every
        build would fall back to a full clone."""
        commit = sdk.resolve(self.commit)
        subdir = "ap-exporter-%s" % sdk.version_at(commit)
        when = sdk.git("log", "-1", "--format=%ct", commit).strip()
        with tempfile.TemporaryDirectory() as tmp:
            ours = os.path.join(tmp, "ours.tar.gz")
            sdk.make_tarball(commit, subdir, ours)
            unpacked = os.path.join(tmp, "untar")
            os.mkdir(unpacked)
            old = os.umask(0o022)
            try:
                subprocess.run(["tar", "-C", unpacked, "-xzf", ours, "--no-same-permissions"], check=True)
            finally:
                os.umask(old)
            theirs = os.path.join(tmp, "theirs.tar.gz")
            subprocess.run(["tar", "--numeric-owner", "--owner=0", "--group=0", "--sort=name", "-C", unpacked, "-cf",
                            theirs, subdir, "--mtime=@" + when, "-z"], check=True, stderr=subprocess.PIPE,
                           env=dict(os.environ, GZIP="-n", LC_ALL="C"))
            self.assertEqual(hashlib.sha256(read(theirs)).hexdigest(), sdk.sha256(ours))

    def test_the_makefile_is_what_the_script_writes_for_its_pin(self):
        commit = sdk.resolve(self.commit)
        expected = sdk.render(self.text, sdk.pin(commit), sdk.collectors_at(commit))
        self.assertEqual(self.text, expected, "scripts/mk-sdk-makefile.py --rev %s" % commit)


if __name__ == "__main__":
    unittest.main()
