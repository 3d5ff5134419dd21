"""Stand-ins for opkg and apk, which no package registry the project can
reach has. Each does exactly the steps recorded of the real tool and no
more: unpack, conffiles, and the maintainer scripts with the real arguments
in the real order.

opkg (opkg-lede, OpenWrt's and Entware's), as the project's notes record it:
  install   new preinst install; unpack; new postinst configure
            (PKG_UPGRADE=0 for both)
  upgrade   old prerm upgrade NEW; new preinst upgrade OLD; unpack;
            old postrm upgrade NEW; new postinst configure (PKG_UPGRADE=1)
  remove    prerm remove; delete the files; postrm remove (PKG_UPGRADE=0
            for both)
  A conffile the user edited is kept on upgrade and the new default lands
  beside it as FILE-opkg; an unchanged one is replaced; an edited one stays
  on remove. Directories are never recorded, so remove leaves them. An
  offline install (opkg -o ROOT) runs no script.

apk (apk-tools 3.0.2, OpenWrt 25.12), measured with a real apk built from
source on a scratch root:
  install   pre-install NEW; unpack; post-install NEW
  upgrade   pre-upgrade NEW OLD; unpack; delete the old package's other
            files; post-upgrade NEW OLD (no script of the old package)
  remove    pre-deinstall OLD; delete the files and the package's emptied
            directories; post-deinstall OLD
  Scripts run chrooted into the root, in /, with PATH, APK_PACKAGE and
  APK_SCRIPT alone in the environment. Everything under etc/ is protected:
  an edited file is kept on upgrade and the new one lands as FILE.apk-new;
  an edited file stays on remove, and the .apk-new goes.
  OpenWrt's image build installs with --no-scripts; so do these offline.

Scripts run through `runner(argv, env)`, which a live test points into its
router namespace; None means offline: no script runs.
"""
import hashlib
import io
import os
import shutil
import tarfile

import adb

OPKG_PATH = {"entware": "/opt/sbin:/opt/bin:/usr/sbin:/usr/bin:/sbin:/bin", "openwrt": "/usr/sbin:/usr/bin:/sbin:/bin"}
OPKG_INFO = {"entware": "opt/lib/opkg/info", "openwrt": "usr/lib/opkg/info"}
APK_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def replace(path, data, mode):
    """Writes a new file over path, as both tools do: a new inode renamed
    into place, so a running binary keeps its old one (writing into a
    running binary fails: "Text file busy")."""
    with open(path + ".new", "wb") as f:
        f.write(data)
    os.chmod(path + ".new", mode)
    os.rename(path + ".new", path)


def read_ipk(path):
    """(control fields, conffiles, {script: bytes}, [(name, bytes|None, mode)])."""
    def members(tar_bytes):
        with tarfile.open(fileobj=io.BytesIO(tar_bytes), mode="r:gz") as tar:
            return [(m.name, tar.extractfile(m).read() if m.isfile() else None, m.mode) for m in tar.getmembers()]
    with open(path, "rb") as f:
        outer = dict((n, d) for n, d, _ in members(f.read()))
    control = {n[2:]: d for n, d, _ in members(outer["./control.tar.gz"]) if d is not None}
    fields = dict(line.split(": ", 1) for line in control.pop("control").decode().splitlines())
    conffiles = control.pop("conffiles", b"").decode().split()
    return fields, conffiles, control, members(outer["./data.tar.gz"])


class Opkg:
    def __init__(self, root, flavor, runner=None):
        self.root, self.flavor, self.runner = root, flavor, runner
        self.installed = None  # (version, files, {conffile: sha256 at install})
        self.log = []

    def _script(self, version, name, args, upgrade=None):
        """Runs a package's script (kept in the info dir per version) if any."""
        path = "/%s/%s/%s" % (OPKG_INFO[self.flavor], version, name)
        if self.runner is None or not os.path.exists(self.root + path):
            return
        env = {"PATH": OPKG_PATH[self.flavor]}
        call = "%s %s" % (name, " ".join(args))
        if upgrade is not None:
            env["PKG_UPGRADE"] = upgrade
            call += " (PKG_UPGRADE=%s)" % upgrade
        self.log.append(call)
        return self.runner(["/bin/sh", path] + args, env)

    def install(self, ipk):
        """`opkg install FILE`: a fresh install, or an upgrade of the installed version."""
        fields, conffiles, scripts, data = read_ipk(ipk)
        new = fields["Version"]
        info = os.path.join(self.root, OPKG_INFO[self.flavor], new)
        os.makedirs(info, exist_ok=True)
        for name, body in scripts.items():
            with open(os.path.join(info, name), "wb") as f:
                f.write(body)
            os.chmod(os.path.join(info, name), 0o755)
        outputs = []
        if self.installed is None:
            outputs.append(self._script(new, "preinst", ["install"], upgrade="0"))
            self._unpack(data, {})
            outputs.append(self._script(new, "postinst", ["configure"], upgrade="0"))
        else:
            old, old_files, old_conf = self.installed
            outputs.append(self._script(old, "prerm", ["upgrade", new]))
            outputs.append(self._script(new, "preinst", ["upgrade", old]))
            self._unpack(data, old_conf)
            for path in set(old_files) - {"/" + n[2:] for n, d, _ in data}:
                os.remove(self.root + path)
            outputs.append(self._script(old, "postrm", ["upgrade", new]))
            shutil.rmtree(os.path.join(self.root, OPKG_INFO[self.flavor], old))
            outputs.append(self._script(new, "postinst", ["configure"], upgrade="1"))
        contents = {"/" + n[2:]: d for n, d, _ in data if d is not None}
        self.installed = (new, list(contents), {c: hashlib.sha256(contents[c]).hexdigest() for c in conffiles})
        return [o for o in outputs if o is not None]

    def _unpack(self, data, old_conf):
        for name, body, mode in data:
            path = self.root + "/" + name[2:]
            if body is None:
                os.makedirs(path, exist_ok=True)
                continue
            edited = path[len(self.root):] in old_conf and os.path.exists(path) and \
                sha256(path) != old_conf[path[len(self.root):]]
            replace(path + "-opkg" if edited else path, body, mode)

    def remove(self):
        version, files, conf = self.installed
        outputs = [self._script(version, "prerm", ["remove"], upgrade="0")]
        for path in files:
            if path in conf and sha256(self.root + path) != conf[path]:
                continue  # an edited conffile stays
            os.remove(self.root + path)
        outputs.append(self._script(version, "postrm", ["remove"], upgrade="0"))
        shutil.rmtree(os.path.join(self.root, OPKG_INFO[self.flavor], version))
        self.installed = None
        return [o for o in outputs if o is not None]


class Apk:
    def __init__(self, root, runner=None):
        self.root, self.runner = root, runner
        self.installed = None  # adb.Package
        self.log = []

    def _script(self, package, name, args):
        """Runs a script of package, written where apk runs them from."""
        if self.runner is None or name not in package.scripts:
            return
        exec_dir = os.path.join(self.root, "lib/apk/exec")
        os.makedirs(exec_dir, exist_ok=True)
        script = "%s-%s.%s" % (package.info["name"], package.info["version"], name)
        with open(os.path.join(exec_dir, script), "wb") as f:
            f.write(package.scripts[name])
        os.chmod(os.path.join(exec_dir, script), 0o755)
        env = {"PATH": APK_PATH, "APK_PACKAGE": package.info["name"], "APK_SCRIPT": name}
        self.log.append("%s %s" % (name, " ".join(args)))
        try:
            return self.runner(["/lib/apk/exec/" + script] + args, env)
        finally:
            os.remove(os.path.join(exec_dir, script))

    def add(self, apk_path):
        """`apk add --allow-untrusted FILE`: install, or upgrade the installed version."""
        with open(apk_path, "rb") as f:
            new = adb.Package(f.read())
        version = new.info["version"]
        old = self.installed
        outputs = []
        if old is None:
            outputs.append(self._script(new, "pre-install", [version]))
            self._unpack(new, None)
            outputs.append(self._script(new, "post-install", [version]))
        else:
            outputs.append(self._script(new, "pre-upgrade", [version, old.info["version"]]))
            self._unpack(new, old)
            self._delete(old, keep=set(new.files))
            outputs.append(self._script(new, "post-upgrade", [version, old.info["version"]]))
        self.installed = new
        return [o for o in outputs if o is not None]

    def _edited(self, package, path):
        full = os.path.join(self.root, path)
        return path.startswith("etc/") and os.path.exists(full) and \
            hashlib.sha256(open(full, "rb").read()).digest() != package.files[path]["hash"]

    def _unpack(self, new, old):
        for d, acl in new.dirs.items():
            os.makedirs(os.path.join(self.root, d), exist_ok=True)
            os.chmod(os.path.join(self.root, d), acl["mode"])
        for path, f in new.files.items():
            target = os.path.join(self.root, path)
            if old is not None and path in old.files and self._edited(old, path):
                target += ".apk-new"
            replace(target, f["data"], f["mode"])
            os.utime(target, (f["mtime"], f["mtime"]))

    def _delete(self, package, keep=()):
        for path in package.files:
            full = os.path.join(self.root, path)
            if path in keep or not os.path.exists(full):
                continue
            if self._edited(package, path):
                if os.path.exists(full + ".apk-new"):
                    os.remove(full + ".apk-new")
                continue
            os.remove(full)
        for d in sorted(package.dirs, reverse=True):
            full = os.path.join(self.root, d)
            if d and not os.listdir(full):
                os.rmdir(full)

    def delete(self):
        """`apk del NAME`."""
        old = self.installed
        outputs = [self._script(old, "pre-deinstall", [old.info["version"]])]
        self._delete(old)
        outputs.append(self._script(old, "post-deinstall", [old.info["version"]]))
        self.installed = None
        return [o for o in outputs if o is not None]
