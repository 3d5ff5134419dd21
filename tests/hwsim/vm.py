#!/usr/bin/env python3
"""Boots Debian 12's stock kernel in QEMU (TCG) with mac80211_hwsim,
hostapd and wpa_supplicant, runs one ap-exporter scrape inside, and
prints the guest's report. Everything comes from Debian packages
(apt-get download + dpkg -x); nothing else is downloaded.

  vm.py --work target/hwsim --exporter target/x86_64-unknown-linux-musl/release/ap-exporter \\
        --out RESULT_DIR

RESULT_DIR gets report.txt (the guest's sections), console.txt, and
capture/ (the raw nl80211 replies, for fixtures).
"""
import argparse
import base64
import io
import os
import shutil
import subprocess
import sys
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGES = ["busybox-static", "hostapd", "wpasupplicant", "iw", "wireless-regdb"]
MODULES = ["rfkill", "cfg80211", "libarc4", "mac80211", "virtio_ring", "virtio", "ctr", "ccm", "mac80211_hwsim"]
BINARIES = ["usr/sbin/hostapd", "sbin/wpa_supplicant", "sbin/wpa_cli", "sbin/iw"]


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def kernel_package():
    out = subprocess.run(["apt-cache", "depends", "linux-image-amd64"], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("Depends: linux-image-"):
            return line.split()[1]
    sys.exit("vm.py: cannot find the kernel package behind linux-image-amd64 (run apt-get update)")


def fetch(work):
    """Downloads and unpacks the packages once into work/root."""
    debs = os.path.join(work, "debs")
    root = os.path.join(work, "root")
    stamp = os.path.join(work, "unpacked.stamp")
    if os.path.exists(stamp):
        return root
    os.makedirs(debs, exist_ok=True)
    names = PACKAGES + [kernel_package()]
    deps = subprocess.run(["apt-cache", "depends", "--no-recommends", "--no-suggests", "hostapd", "wpasupplicant", "iw"],
                          capture_output=True, text=True, check=True).stdout
    names += sorted({l.split()[1].strip("<>") for l in deps.splitlines() if l.strip().startswith("Depends: lib")})
    sh(["apt-get", "download", "-qq"] + names, cwd=debs)
    shutil.rmtree(root, ignore_errors=True)
    for deb in sorted(os.listdir(debs)):
        sh(["dpkg", "-x", os.path.join(debs, deb), root])
    open(stamp, "w").close()
    return root


def vmlinux(work, root):
    """The uncompressed kernel: decompressing vmlinuz under TCG costs ~2 s a boot."""
    out = os.path.join(work, "vmlinux")
    if os.path.exists(out):
        return out
    boot = os.path.join(root, "boot")
    vmlinuz = os.path.join(boot, [f for f in os.listdir(boot) if f.startswith("vmlinuz-")][0])
    data = open(vmlinuz, "rb").read()
    at = data.find(b"\xfd7zXZ\x00")
    if at < 0:
        sys.exit("vm.py: no xz payload in " + vmlinuz)
    # xz complains about the trailing data after the stream; the output is whole.
    r = subprocess.run(["xz", "-dc"], input=data[at:], capture_output=True)
    if not r.stdout.startswith(b"\x7fELF"):
        sys.exit("vm.py: vmlinux extraction failed: " + r.stderr.decode())
    open(out, "wb").write(r.stdout)
    return out


def libraries(root, binary):
    """Shared libraries a binary needs: from the unpacked tree, else the host."""
    env = dict(os.environ, LD_LIBRARY_PATH="%s/lib/x86_64-linux-gnu:%s/usr/lib/x86_64-linux-gnu" % (root, root))
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, env=env).stdout
    libs = []
    for line in out.splitlines():
        parts = line.split()
        if "not found" in line:
            sys.exit("vm.py: %s needs %s, which is nowhere" % (binary, parts[0]))
        if "=>" in parts and len(parts) >= 3 and parts[2].startswith("/"):
            libs.append(parts[2])
        elif parts and parts[0].startswith("/"):
            libs.append(parts[0])  # the ELF interpreter, ld-linux
    return libs


def initramfs(work, root, exporter):
    tree = os.path.join(work, "initramfs")
    shutil.rmtree(tree, ignore_errors=True)
    for d in ["bin", "sbin", "usr/bin", "usr/sbin", "lib64", "lib/x86_64-linux-gnu", "lib/firmware", "mods", "proc", "sys", "dev", "tmp", "etc"]:
        os.makedirs(os.path.join(tree, d), exist_ok=True)
    shutil.copy(os.path.join(root, "bin/busybox"), os.path.join(tree, "bin/busybox"))
    for m in MODULES:
        found = [os.path.join(d, f) for d, _, fs in os.walk(os.path.join(root, "lib/modules")) for f in fs if f == m + ".ko"]
        if not found:
            sys.exit("vm.py: module %s not found" % m)
        shutil.copy(found[0], os.path.join(tree, "mods", m + ".ko"))
    fw = os.path.join(root, "lib/firmware")
    shutil.copy(os.path.join(fw, "regulatory.db-upstream"), os.path.join(tree, "lib/firmware/regulatory.db"))
    shutil.copy(os.path.join(fw, "regulatory.db.p7s-upstream"), os.path.join(tree, "lib/firmware/regulatory.db.p7s"))
    for b in BINARIES:
        src = os.path.join(root, b)
        if not os.path.exists(src):
            src = os.path.join(root, "usr", b)
        shutil.copy(src, os.path.join(tree, "usr/sbin", os.path.basename(b)))
        for lib in libraries(root, src):
            name = os.path.basename(lib)
            dest = os.path.join(tree, "lib64" if name.startswith("ld-linux") else "lib/x86_64-linux-gnu", name)
            if not os.path.exists(dest):
                shutil.copy(os.path.realpath(lib), dest)
    shutil.copy(exporter, os.path.join(tree, "ap-exporter"))
    shutil.copy(os.path.join(HERE, "guest-init.sh"), os.path.join(tree, "init"))
    for f in ["init", "ap-exporter", "bin/busybox"] + ["usr/sbin/" + os.path.basename(b) for b in BINARIES]:
        os.chmod(os.path.join(tree, f), 0o755)
    cpio = os.path.join(work, "initrd.cpio")
    names = subprocess.run("find . | sort", shell=True, cwd=tree, capture_output=True, check=True).stdout
    with open(cpio, "wb") as out:
        sh(["cpio", "--quiet", "-o", "-H", "newc"], input=names, cwd=tree, stdout=out)
    return cpio


def accel():
    """TCG unless /dev/kvm is usable and the CPU has vmx/svm (AP_EXPORTER_VM_ACCEL overrides)."""
    forced = os.environ.get("AP_EXPORTER_VM_ACCEL")
    if forced:
        return forced
    flags = open("/proc/cpuinfo").read()
    if os.access("/dev/kvm", os.R_OK | os.W_OK) and (" vmx" in flags or " svm" in flags):
        return "kvm"
    return "tcg"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--work", required=True)
    p.add_argument("--exporter", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--timeout", type=int, default=240)
    a = p.parse_args()
    a.work = os.path.abspath(a.work)
    os.makedirs(a.work, exist_ok=True)
    os.makedirs(a.out, exist_ok=True)
    root = fetch(a.work)
    kernel = vmlinux(a.work, root)
    initrd = initramfs(a.work, root, a.exporter)
    report = os.path.join(a.out, "report.txt")
    if os.path.exists(report):
        os.remove(report)
    cmd = ["timeout", str(a.timeout), "qemu-system-x86_64", "-accel", accel(), "-m", "512", "-smp", "1",
           "-nodefaults", "-no-user-config", "-display", "none", "-serial", "stdio", "-serial", "file:" + report,
           "-kernel", kernel, "-initrd", initrd, "-append", "console=ttyS0 quiet panic=-1", "-no-reboot"]
    with open(os.path.join(a.out, "console.txt"), "wb") as console:
        r = subprocess.run(cmd, stdout=console, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        sys.exit("vm.py: qemu exited %d (timeout 124); see %s/console.txt" % (r.returncode, a.out))
    text = open(report, errors="replace").read()
    if "=== END" not in text:
        sys.exit("vm.py: the guest did not finish; report so far:\n" + text[-3000:])
    capture = text.split("=== CAPTURE\n", 1)[1].split("=== END", 1)[0]
    tar = tarfile.open(fileobj=io.BytesIO(base64.b64decode(capture)))
    dest = os.path.join(a.out, "capture")
    shutil.rmtree(dest, ignore_errors=True)
    tar.extractall(dest, filter="data")
    print(report)


if __name__ == "__main__":
    main()
