#!/usr/bin/env python3
"""Writes the OpenWrt SDK / packages-feed Makefile (package/ap-exporter/Makefile)
for one commit or tag of this repository, with PKG_MIRROR_HASH filled in.

A Makefile in the repository cannot hold the hash of a tarball that contains
it, so the committed one pins an earlier commit, and this script makes the
pin: for REV it makes the very tarball the SDK's download step makes, hashes
it, and writes the pinned lines (PKG_VERSION from Cargo.toml at REV,
PKG_SOURCE_VERSION, PKG_SOURCE, PKG_MIRROR_HASH) and the description's
collector list ([collectors] of files/ap-exporter.toml at REV). Everything
else in the Makefile is kept as it is.

The SDK's tarball, as openwrt/openwrt's include/download.mk makes it for
PKG_SOURCE_PROTO:=git (DownloadMethod/rawgit; for a github.com URL,
scripts/dl_github_archive.py fetches GitHub's archive and packs it the same
way, and checks it against the hash, falling back to the clone when they
differ):
  git clone URL SUBDIR; git checkout VERSION; submodules; rm -rf SUBDIR/.git
  TAR_TIMESTAMP=@<committer time of VERSION>
  tar --numeric-owner --owner=0 --group=0 --mode=a-s --sort=name
      --mtime=$TAR_TIMESTAMP -c SUBDIR | gzip -nc > PKG_SOURCE
SUBDIR is PKG_SOURCE_SUBDIR, whose default is $(PKG_NAME)-$(PKG_VERSION).
PKG_SOURCE names the compression: .tar.gz here, set explicitly, because the
default changed between OpenWrt releases (.tar.xz, then .tar.zst) and xz and
zstd output differ between their versions; GNU gzip's has not. The clone
runs under umask 022, as on a build host, which gives files 0644 or 0755.
This needs GNU tar (1.28 or newer, for --sort) and GNU gzip, as the SDK does.

  scripts/mk-sdk-makefile.py --rev HEAD            rewrite the Makefile for HEAD
  scripts/mk-sdk-makefile.py --check               is the Makefile right for its pin?
  scripts/mk-sdk-makefile.py --rev v0.2.0 --out feed/utils/ap-exporter/Makefile \\
                             --tarball-dir dl/     and keep the tarball
"""
import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAKEFILE = os.path.join(ROOT, "package/ap-exporter/Makefile")
NAME = "ap-exporter"
# The lines this script owns, in the order the Makefile has them.
PINNED = ("PKG_VERSION", "PKG_SOURCE_VERSION", "PKG_SOURCE", "PKG_MIRROR_HASH")


def git(*args, cwd=ROOT):
    return subprocess.run(["git", "-c", "core.autocrlf=false"] + list(args), cwd=cwd, check=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE).stdout.decode()


def resolve(rev):
    """The full commit id REV names, or SystemExit saying why not."""
    try:
        return git("rev-parse", "--verify", "--quiet", rev + "^{commit}").strip()
    except subprocess.CalledProcessError:
        raise SystemExit("mk-sdk-makefile: %r is no commit of this repository%s" % (
            rev, " (a shallow clone: git fetch --unshallow)" if os.path.exists(git_dir("shallow")) else ""))


def git_dir(name):
    return os.path.join(git("rev-parse", "--git-common-dir").strip(), name)


def file_at(commit, path):
    return git("show", "%s:%s" % (commit, path))


def version_at(commit):
    m = re.search(r'^version = "([^"]+)"', file_at(commit, "Cargo.toml"), re.M)
    if not m:
        raise SystemExit("mk-sdk-makefile: no version in Cargo.toml at %s" % commit)
    return m.group(1)


def collectors_at(commit):
    """[(name, what it collects)] of [collectors] in files/ap-exporter.toml at commit."""
    text = file_at(commit, "files/ap-exporter.toml")
    block = text.split("# collectors:begin", 1)[1].split("# collectors:end", 1)[0]
    return re.findall(r"^(\w+) = (?:true|false)\s*#\s*(.+?)\s*$", block, re.M)


def source_name(version, commit):
    """PKG_SOURCE: the version and the commit, so two pins never share a name in dl/."""
    return "%s-%s-%s.tar.gz" % (NAME, version, commit[:12])


def make_tarball(commit, subdir, out):
    """Writes the SDK's tarball of commit, top directory subdir, to out."""
    when = git("log", "-1", "--format=%ct", commit).strip()
    old_umask = os.umask(0o022)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tree = os.path.join(tmp, subdir)
            git("clone", "--quiet", "--no-checkout", ROOT, tree)
            git("checkout", "--quiet", commit, cwd=tree)
            git("submodule", "--quiet", "update", "--init", "--recursive", cwd=tree)
            shutil.rmtree(os.path.join(tree, ".git"))
            env = dict(os.environ, LC_ALL="C")
            with open(out, "wb") as f:
                tar = subprocess.Popen(["tar", "--numeric-owner", "--owner=0", "--group=0", "--mode=a-s", "--sort=name",
                                        "--mtime=@" + when, "-c", subdir], cwd=tmp, env=env, stdout=subprocess.PIPE)
                gz = subprocess.run(["gzip", "-nc"], stdin=tar.stdout, stdout=f, env=env)
                tar.stdout.close()
                if tar.wait() or gz.returncode:
                    raise SystemExit("mk-sdk-makefile: tar or gzip failed")
    finally:
        os.umask(old_umask)


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def pin(commit, tarball_dir=None):
    """The pinned values for commit: {PKG_...: value}, making (and hashing) its tarball."""
    version = version_at(commit)
    source = source_name(version, commit)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tarball_dir or tmp, source)
        make_tarball(commit, "%s-%s" % (NAME, version), out)
        digest = sha256(out)
    return {"PKG_VERSION": version, "PKG_SOURCE_VERSION": commit,
            "PKG_SOURCE": "$(PKG_NAME)-$(PKG_VERSION)-%s.tar.gz" % commit[:12], "PKG_MIRROR_HASH": digest}


def pinned_values(makefile_text):
    """The pinned lines' values as the Makefile has them."""
    return {k: m.group(1) for k in PINNED for m in [re.search(r"^%s:=(.*)$" % k, makefile_text, re.M)] if m}


def description(collectors):
    lines = ["  Serves this router's metrics for Prometheus (network and WiFi traffic,",
             "  stations and their signal, conntrack, CPU, memory, sensors and more)",
             "  from one small binary, under the names node_exporter and",
             "  prometheus-node-exporter-lua use, so their dashboards work. Configured",
             "  in /etc/config/ap-exporter (common settings) and /etc/ap-exporter.toml",
             "  (all of them). Collectors, each of which can be switched off:"]
    width = max(len(n) for n, _ in collectors)
    for n, what in collectors:
        lines += textwrap.wrap(what, 76, initial_indent="    %-*s  " % (width, n),
                               subsequent_indent=" " * (6 + width))
    return "\n".join(lines)


def render(template, values, collectors):
    """template with the pinned lines and the description replaced."""
    text = template
    for key in PINNED:
        text, n = re.subn(r"^%s:=.*$" % key, lambda _m, k=key: "%s:=%s" % (k, values[k]), text, count=1, flags=re.M)
        if n != 1:
            raise SystemExit("mk-sdk-makefile: the Makefile has no %s:= line" % key)
    text, n = re.subn(r"(^define Package/ap-exporter/description\n).*?(^endef$)",
                      lambda m: m.group(1) + description(collectors) + "\n" + m.group(2), text, count=1,
                      flags=re.M | re.S)
    if n != 1:
        raise SystemExit("mk-sdk-makefile: the Makefile has no description block")
    return text


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--rev", help="commit or tag to pin (default: the Makefile's own pin)")
    p.add_argument("--out", default=MAKEFILE, help="where to write (default: %(default)s)")
    p.add_argument("--check", action="store_true", help="exit 1 when --out differs from what REV gives")
    p.add_argument("--tarball-dir", help="keep the source tarball here (e.g. the SDK's dl/)")
    args = p.parse_args()
    with open(MAKEFILE) as f:
        template = f.read()
    rev = args.rev or pinned_values(template).get("PKG_SOURCE_VERSION")
    if not rev:
        raise SystemExit("mk-sdk-makefile: give --rev")
    commit = resolve(rev)
    text = render(template, pin(commit, args.tarball_dir), collectors_at(commit))
    if args.check:
        with open(args.out) as f:
            if f.read() != text:
                sys.exit("mk-sdk-makefile: %s is not the Makefile for %s: run scripts/mk-sdk-makefile.py --rev %s"
                         % (args.out, commit, rev))
        print("%s: pinned to %s, hash matches" % (args.out, commit))
        return
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(text)
    print("%s: pinned to %s (%s)" % (args.out, commit, pinned_values(text)["PKG_MIRROR_HASH"]))


if __name__ == "__main__":
    main()
