#!/usr/bin/env python3
"""Builds a router-like VM for one architecture from Debian 12 packages of
that architecture, and prints the QEMU command that boots it.

  vm.py --arch mipsel --port 19100 --work target/vm

The guest is Debian's stock kernel with mac80211_hwsim and its modules,
busybox, hostapd, wpa_supplicant and iw with their shared libraries, and
the arch's Entware package installed into /opt the way an offline
`opkg -o ROOT install` does it (tests/packaging/players.py, no maintainer
scripts), with the rc.func stand-in beside its init script. PID 1 is
guest-init.sh. Nothing but Debian packages (apt-get download + dpkg -x) is
fetched, and the .debs stay in WORK/ARCH/debs for the next run.

Prints one JSON object: argv (the QEMU command, bounded by `timeout`),
target (the Rust target of the installed binary) and console (where the
caller should keep the console log).
"""
import argparse
import glob
import json
import os
import shutil
import stat
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests/packaging"))
import common  # noqa: E402  (issue 14's package paths)
import players  # noqa: E402  (issue 14's opkg stand-in)

# Per architecture: the Debian arch, its kernel flavor's metapackage, the
# multiarch triplet, the Entware package, the QEMU machine, the console and
# the network card (with the modules it needs when they are not built in).
ARCHES = {
    "x86_64": {
        "debian": "amd64", "kernel": "linux-image-amd64", "triplet": "x86_64-linux-gnu",
        "entware": "x64-3.2", "console": "ttyS0", "nic_modules": ["virtio_net", "virtio_pci"],
        "qemu": ["qemu-system-x86_64", "-m", "512"], "nic": "virtio-net-pci",
    },
    "mipsel": {
        # The 24Kc has no FPU: the exporter must be soft-float. Debian's
        # hard-float hostapd runs on the kernel's FPU emulator.
        "debian": "mipsel", "kernel": "linux-image-4kc-malta", "triplet": "mipsel-linux-gnu",
        "entware": "mipsel-3.4", "console": "ttyS0", "nic_modules": ["pcnet32"],
        "qemu": ["qemu-system-mipsel", "-M", "malta", "-cpu", "24Kc", "-m", "256"], "nic": "pcnet",
    },
    "armv7": {
        "debian": "armhf", "kernel": "linux-image-armmp", "triplet": "arm-linux-gnueabihf",
        "entware": "armv7-3.2", "console": "ttyAMA0", "nic_modules": ["virtio_net", "virtio_mmio"],
        # ARM virt refuses -nic ...,model=virtio-net-device: name the device.
        "qemu": ["qemu-system-arm", "-M", "virt", "-cpu", "cortex-a15", "-m", "256"], "nic": "virtio-net-device",
    },
    "aarch64": {
        "debian": "arm64", "kernel": "linux-image-arm64", "triplet": "aarch64-linux-gnu",
        "entware": "aarch64-3.10", "console": "ttyAMA0", "nic_modules": ["virtio_net", "virtio_mmio"],
        "qemu": ["qemu-system-aarch64", "-M", "virt", "-cpu", "cortex-a53", "-m", "512"], "nic": "virtio-net-device",
    },
}
USERLAND = ["busybox-static", "hostapd", "wpasupplicant", "iw"]
ARCH_ALL = ["wireless-regdb"]
BINARIES = ["usr/sbin/hostapd", "sbin/wpa_supplicant", "sbin/wpa_cli", "sbin/iw"]
# Loaded in dependency order, each after what its .modinfo names. ctr and
# ccm before any WPA2 network, or key install fails; nf_conntrack with its
# hooks on, as a router's NAT firewall has them, so connections are counted.
MODULES = ["ctr", "ccm", "mac80211_hwsim", "nf_conntrack"]
PARAMS = {"mac80211_hwsim": "radios=4 support_p2p_device=0", "nf_conntrack": "enable_hooks=1"}
EXPORTER_PORT = 9100


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def apt_depends(names):
    """{package: [its first-choice Depends and PreDepends]} from the local package lists."""
    out = subprocess.run(["apt-cache", "depends", "--no-recommends", "--no-suggests", "--no-conflicts",
                          "--no-breaks", "--no-replaces", "--no-enhances"] + names,
                         capture_output=True, text=True, check=True).stdout
    deps, current, alternative = {}, None, False
    for line in out.splitlines():
        if not line.startswith(" "):
            current = deps.setdefault(line.strip(), [])
            alternative = False
            continue
        kind, _, name = line.strip().partition(": ")
        # "|Depends: A" then "Depends: B" is "A or B": take A only.
        if kind.lstrip("|") in ("Depends", "PreDepends") and not alternative and not name.startswith("<"):
            current.append(name)
        alternative = kind.startswith("|")
    return deps


def packages(arch):
    """The kernel, the userland and the closure of their library packages."""
    a = ARCHES[arch]
    kernel = [d for d in apt_depends(["%s:%s" % (a["kernel"], a["debian"])]).popitem()[1]
              if d.startswith("linux-image-")]
    if not kernel:
        sys.exit("vm.py: no kernel package behind %s:%s (run scripts/install-deps.sh)" % (a["kernel"], a["debian"]))
    wanted = ["%s:%s" % (p, a["debian"]) for p in USERLAND] + kernel[:1]
    todo, seen = list(wanted), set(wanted)
    while todo:
        found = [d for ds in apt_depends(todo).values() for d in ds if d.startswith("lib") and d not in seen]
        seen.update(found)
        todo = sorted(set(found))
    names = sorted(seen) + ARCH_ALL
    uris = subprocess.run(["apt-get", "download", "--print-uris"] + names,
                          capture_output=True, text=True, check=True).stdout
    # Each line: 'URI' NAME_VERSION_ARCH.deb SIZE HASH
    return names, sorted(line.split()[1] for line in uris.splitlines() if line.startswith("'"))


def resolved(arch, work):
    """packages(arch), remembered until the package lists change: each
    apt-cache call rebuilds its cache here (about 3 s with four arches)."""
    lists = sorted(glob.glob("/var/lib/apt/lists/*Packages*"))
    signature = [[f, os.stat(f).st_mtime] for f in lists]
    memo = os.path.join(work, "packages.json")
    if os.path.exists(memo):
        saved = json.load(open(memo))
        if saved["lists"] == signature:
            return saved["names"], saved["files"]
    names, files = packages(arch)
    json.dump({"lists": signature, "names": names, "files": files}, open(memo, "w"))
    return names, files


def fetch(arch, work):
    """Downloads the missing .debs into work/debs (kept between runs) and
    unpacks them into work/root when the set changed."""
    debs = os.path.join(work, "debs")
    root = os.path.join(work, "root")
    os.makedirs(debs, exist_ok=True)
    names, files = resolved(arch, work)
    by_name = {n.split(":")[0]: n for n in names}
    missing = [by_name[f.split("_")[0]] for f in files if not os.path.exists(os.path.join(debs, f))]
    if missing:
        print("vm.py: %s: downloading %d packages" % (arch, len(missing)), file=sys.stderr)
        # Run as root without the _apt sandbox, which cannot write here.
        sh(["apt-get", "download", "-qq", "-o", "APT::Sandbox::User=root"] + missing, cwd=debs)
    stamp = os.path.join(work, "unpacked.stamp")
    listing = "\n".join(files)
    if os.path.exists(stamp) and open(stamp).read() == listing:
        return root
    shutil.rmtree(root, ignore_errors=True)
    for f in files:
        sh(["dpkg", "-x", os.path.join(debs, f), root])
    for f in os.listdir(work):
        if f.startswith("vmlinux"):
            os.remove(os.path.join(work, f))
    open(stamp, "w").write(listing)
    return root


def kernel_image(arch, work, root):
    """The image QEMU boots. On x86 the uncompressed vmlinux, because
    decompressing bzImage under TCG costs about 2 s a boot; malta's vmlinuz
    is an ELF QEMU loads; ARM's zImage and arm64's gzip'd Image boot as they are."""
    boot = os.path.join(root, "boot")
    vmlinuz = os.path.join(boot, [f for f in os.listdir(boot) if f.startswith("vmlinuz-")][0])
    if arch != "x86_64":
        return vmlinuz
    out = os.path.join(work, "vmlinux")
    if os.path.exists(out):
        return out
    data = open(vmlinuz, "rb").read()
    at = data.find(b"\xfd7zXZ\x00")
    if at < 0:
        sys.exit("vm.py: no xz payload in " + vmlinuz)
    # xz complains about the trailing data after the stream; the output is whole.
    r = subprocess.run(["xz", "-dc"], input=data[at:], capture_output=True)
    if not r.stdout.startswith(b"\x7fELF"):
        sys.exit("vm.py: vmlinux extraction failed: " + r.stderr.decode())
    open(out + ".tmp", "wb").write(r.stdout)
    os.rename(out + ".tmp", out)
    return out


class Elf:
    """The sections of an ELF file of any class and byte order: enough for
    a module's .modinfo and a program's NEEDED and interpreter."""

    def __init__(self, path):
        self.path = path
        self.data = data = open(path, "rb").read()
        if data[:4] != b"\x7fELF":
            raise ValueError(path + " is not ELF")
        e = "<" if data[5] == 1 else ">"
        if data[4] == 1:
            (shoff,) = struct.unpack_from(e + "I", data, 0x20)
            shentsize, shnum, shstrndx = struct.unpack_from(e + "HHH", data, 0x2E)
            fmt, self.dyn = e + "IIIIIIIIII", e + "iI"
        else:
            (shoff,) = struct.unpack_from(e + "Q", data, 0x28)
            shentsize, shnum, shstrndx = struct.unpack_from(e + "HHH", data, 0x3A)
            fmt, self.dyn = e + "IIQQQQIIQQ", e + "qQ"
        headers = [struct.unpack_from(fmt, data, shoff + i * shentsize) for i in range(shnum)]
        names = headers[shstrndx]
        self.sections = {}
        for h in headers:
            name = data[names[4] + h[0]:].split(b"\0", 1)[0].decode()
            self.sections[name] = (h[4], h[5], h[6])  # offset, size, link
        self.by_index = headers

    def section(self, name):
        if name not in self.sections:
            return b""
        off, size, _ = self.sections[name]
        return self.data[off:off + size]

    def modinfo(self):
        """{key: [values]} of a kernel module."""
        info = {}
        for item in self.section(".modinfo").split(b"\0"):
            key, _, value = item.decode(errors="replace").partition("=")
            if key:
                info.setdefault(key, []).append(value)
        return info

    def needed(self):
        """The DT_NEEDED sonames."""
        off, size, link = self.sections.get(".dynamic", (0, 0, 0))
        strtab = self.by_index[link]
        names, step = [], struct.calcsize(self.dyn)
        for at in range(off, off + size, step):
            tag, val = struct.unpack_from(self.dyn, self.data, at)
            if tag == 0:
                break
            if tag == 1:
                names.append(self.data[strtab[4] + val:].split(b"\0", 1)[0].decode())
        return names

    def interpreter(self):
        return self.section(".interp").rstrip(b"\0").decode()


def inside(root, path):
    """path resolved inside root: the unpacked packages' absolute symlinks
    point into the guest's tree, never the host's."""
    for _ in range(40):
        full = os.path.join(root, path.lstrip("/"))
        if not os.path.islink(full):
            return full
        target = os.readlink(full)
        path = target if target.startswith("/") else os.path.join(os.path.dirname(path), target)
        path = os.path.normpath(path)
    sys.exit("vm.py: symlink loop at " + path)


def libraries(arch, root, binaries):
    """{guest path: file in root} of the interpreters and libraries the
    binaries need, following NEEDED entries through the unpacked tree."""
    t = ARCHES[arch]["triplet"]
    search = ["/lib/" + t, "/usr/lib/" + t, "/lib", "/usr/lib"]
    found, todo = {}, list(binaries)
    while todo:
        elf = Elf(todo.pop())
        interp = elf.interpreter()
        if interp and interp not in found:
            found[interp] = inside(root, interp)
        for soname in elf.needed():
            paths = [d + "/" + soname for d in search if os.path.exists(inside(root, d + "/" + soname))]
            if not paths:
                sys.exit("vm.py: %s needs %s, which no unpacked package has" % (elf.path, soname))
            if paths[0] not in found:
                found[paths[0]] = inside(root, paths[0])
                todo.append(found[paths[0]])
    return found


class Modules:
    """The kernel's modules, with dependencies read from each module's
    .modinfo: Debian's packages ship no modules.dep."""

    def __init__(self, root):
        base = os.path.join(root, "lib/modules")
        self.dir = os.path.join(base, os.listdir(base)[0])
        self.files = {}
        for d, _, fs in os.walk(self.dir):
            for f in fs:
                if f.endswith(".ko"):
                    self.files[f[:-3].replace("-", "_")] = os.path.join(d, f)
        with open(os.path.join(self.dir, "modules.builtin")) as f:
            self.builtin = {os.path.basename(line.strip())[:-3].replace("-", "_") for line in f}
        with open(os.path.join(self.dir, "modules.builtin.modinfo"), "rb") as f:
            self.builtin_aliases = {item.split(b"=", 1)[1].decode() for item in f.read().split(b"\0")
                                    if b".alias=" in item}
        self.aliases = None

    def by_alias(self, alias):
        """The module that provides alias (softdeps name aliases such as
        crc32c). The generic C one where there is one: an accelerated one
        (crc32_arm_ce) refuses to load on a CPU without its instructions."""
        if self.aliases is None:
            self.aliases = {}
            for name, path in sorted(self.files.items(), key=lambda f: (not f[0].endswith("_generic"), f[0])):
                for a in Elf(path).modinfo().get("alias", []):
                    self.aliases.setdefault(a, name)
        return self.aliases.get(alias)

    def order(self, wanted):
        """wanted and everything they need, each after its dependencies."""
        out = []

        def visit(name, soft=False):
            name = name.replace("-", "_")
            if name in out or name in self.builtin:
                return
            if name not in self.files:
                provider = None if name in self.builtin_aliases else self.by_alias(name)
                if provider is None and not soft and name not in self.builtin_aliases:
                    sys.exit("vm.py: module %s is neither built in nor in %s" % (name, self.dir))
                if provider:
                    visit(provider)
                return
            info = Elf(self.files[name]).modinfo()
            # nf_conntrack needs libcrc32c, whose softdep needs crc32c (crc32c_generic).
            for softdep in info.get("softdep", []):
                words = softdep.split()
                pre = words[1:words.index("post:")] if "post:" in words else words[1:]
                for dep in pre:
                    visit(dep, soft=True)
            for dep in ",".join(info.get("depends", [])).split(","):
                if dep:
                    visit(dep)
            out.append(name)

        for name in wanted:
            visit(name)
        return out


def cpio(path, entries):
    """Writes an uncompressed newc archive. entries: (name, mode, data,
    rdev); owner root, mtime 0."""
    with open(path, "wb") as out:
        for ino, (name, mode, data, rdev) in enumerate(entries + [("TRAILER!!!", 0, b"", (0, 0))], 1):
            encoded = name.encode() + b"\0"
            fields = [ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(encoded), 0]
            out.write(b"070701" + b"".join(b"%08X" % f for f in fields) + encoded)
            out.write(b"\0" * (-(110 + len(encoded)) % 4) + data + b"\0" * (-len(data) % 4))


def tree_entries(tree, prefix=""):
    """cpio entries for a host directory, under prefix in the guest."""
    entries = []
    for d, dirs, fs in os.walk(tree):
        dirs.sort()
        rel = os.path.relpath(d, tree)
        here = prefix + ("" if rel == "." else "/" + rel)
        if here:
            entries.append((here.lstrip("/"), stat.S_IFDIR | 0o755, b"", (0, 0)))
        for f in sorted(fs):
            st = os.lstat(os.path.join(d, f))
            name = (here + "/" + f).lstrip("/")
            if stat.S_ISLNK(st.st_mode):
                entries.append((name, stat.S_IFLNK | 0o777, os.readlink(os.path.join(d, f)).encode(), (0, 0)))
            else:
                entries.append((name, st.st_mode, open(os.path.join(d, f), "rb").read(), (0, 0)))
    return entries


def initramfs(arch, work, root):
    """The guest's files: userland, libraries, modules, regulatory database,
    the Entware package in /opt, and guest-init.sh as /init."""
    def file_entry(name, src, mode=0o755):
        return (name.lstrip("/"), stat.S_IFREG | mode, open(src, "rb").read(), (0, 0))

    entries = [(d, stat.S_IFDIR | 0o755, b"", (0, 0)) for d in
               ["bin", "dev", "etc", "lib", "lib/firmware", "mods", "proc", "sys", "tmp", "usr", "usr/sbin", "var",
                "var/run"]]
    # Before devtmpfs is mounted: the kernel opens the console for PID 1,
    # and busybox sh opens /dev/null for a background job.
    entries.append(("dev/console", stat.S_IFCHR | 0o600, b"", (5, 1)))
    entries.append(("dev/null", stat.S_IFCHR | 0o666, b"", (1, 3)))
    entries.append(file_entry("bin/busybox", os.path.join(root, "bin/busybox")))
    programs = []
    for b in BINARIES:
        src = inside(root, b) if os.path.exists(inside(root, b)) else inside(root, "usr/" + b)
        entries.append(file_entry("usr/sbin/" + os.path.basename(b), src))
        programs.append(src)
    made = {"/lib", "/usr"}
    for guest, src in sorted(libraries(arch, root, programs).items()):
        parts = guest.strip("/").split("/")
        for i in range(1, len(parts)):
            d = "/" + "/".join(parts[:i])
            if d not in made:
                entries.append((d.lstrip("/"), stat.S_IFDIR | 0o755, b"", (0, 0)))
                made.add(d)
        entries.append(file_entry(guest, src))
    fw = os.path.join(root, "lib/firmware")
    entries.append(file_entry("lib/firmware/regulatory.db", os.path.join(fw, "regulatory.db-upstream"), 0o644))
    entries.append(file_entry("lib/firmware/regulatory.db.p7s", os.path.join(fw, "regulatory.db.p7s-upstream"), 0o644))
    mods = Modules(root)
    order = mods.order(ARCHES[arch]["nic_modules"] + MODULES)
    for name in order:
        entries.append(file_entry("mods/%s.ko" % name, mods.files[name], 0o644))
    load = "".join("%s %s\n" % (name, PARAMS.get(name, "")) for name in order)
    entries.append(("mods/load.list", stat.S_IFREG | 0o644, load.encode(), (0, 0)))

    # The package, installed offline into /opt as `opkg -o ROOT install`
    # does: files and conffiles, no maintainer scripts. Entware's rc.func
    # comes from another package; the project's stand-in plays it.
    with tempfile.TemporaryDirectory() as opt_root:
        ipk = common.ipk_path("entware", ARCHES[arch]["entware"])
        if not os.path.exists(ipk):
            sys.exit("vm.py: %s is missing: run `make packages`" % ipk)
        players.Opkg(opt_root, "entware").install(ipk)
        shutil.copy(os.path.join(ROOT, "tests/packaging/standins/rc.func"),
                    os.path.join(opt_root, "opt/etc/init.d/rc.func"))
        entries += tree_entries(os.path.join(opt_root, "opt"), "/opt")
    entries.append(file_entry("init", os.path.join(HERE, "guest-init.sh")))
    path = os.path.join(work, "initrd.cpio")
    cpio(path, entries)
    return path


def accel(arch):
    """TCG unless /dev/kvm is usable for an x86_64 guest and the CPU has
    vmx/svm (AP_EXPORTER_VM_ACCEL overrides)."""
    forced = os.environ.get("AP_EXPORTER_VM_ACCEL")
    if forced:
        return forced
    flags = open("/proc/cpuinfo").read()
    if arch == "x86_64" and os.access("/dev/kvm", os.R_OK | os.W_OK) and (" vmx" in flags or " svm" in flags):
        return "kvm"
    return "tcg"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--arch", required=True, choices=sorted(ARCHES))
    p.add_argument("--port", required=True, type=int, help="host port on 127.0.0.1 forwarded to the exporter")
    p.add_argument("--work", required=True)
    p.add_argument("--timeout", type=int, default=600, help="seconds before the VM is killed whatever happens")
    a = p.parse_args()
    work = os.path.join(os.path.abspath(a.work), a.arch)
    os.makedirs(work, exist_ok=True)
    root = fetch(a.arch, work)
    kernel = kernel_image(a.arch, work, root)
    initrd = initramfs(a.arch, work, root)
    m = ARCHES[a.arch]
    # restrict=on: the guest reaches nothing outside; hostfwd still lets
    # the host in, on loopback only.
    netdev = "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:%d-:%d" % (a.port, EXPORTER_PORT)
    argv = ["timeout", "-k", "5", str(a.timeout)] + m["qemu"] + [
        "-accel", accel(a.arch), "-smp", "1", "-nodefaults", "-no-user-config", "-display", "none",
        "-serial", "stdio", "-netdev", netdev, "-device", m["nic"] + ",netdev=n0",
        "-kernel", kernel, "-initrd", initrd, "-append", "console=%s quiet panic=-1" % m["console"], "-no-reboot"]
    target = [t for f, arch, t, _ in common.ROWS if f == "entware" and arch == m["entware"]][0]
    print(json.dumps({"argv": argv, "target": target, "console": os.path.join(work, "console.txt")}))


if __name__ == "__main__":
    main()
