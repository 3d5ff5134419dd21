#!/usr/bin/env python3
"""Checks every built .ipk (make packages openwrt-packages) for opkg-lede:
container formats, no PAX, control fields, conffiles, modes, shell syntax,
installed paths, reproducibility; runs each binary under qemu on its FPU-less
CPU with --once over a fixture root and passes the scrape through promtool;
and drives the Entware init script with an rc.func-compatible harness.

Prints "N passed, N failed" last; exits non-zero on any failure.
"""
import gzip
import io
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import unittest
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import mkipk  # noqa: E402

VERSION = mkipk.cargo_field("version") + "-1"
FIXTURE = os.path.join(ROOT, "tests/fixtures/modern_openwrt")
PREFIX = {"entware": "opt/", "openwrt": ""}


def ipk_path(flavor, arch):
    sub = "dist" if flavor == "entware" else "dist/openwrt"
    return os.path.join(ROOT, sub, "ap-exporter_%s_%s.ipk" % (VERSION, arch))


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


def unpack(path):
    """(outer names, control {name: (bytes, mode)}, data {name: (bytes|None, mode)}, raw tars)."""
    with open(path, "rb") as f:
        outer_bytes = f.read()
    outer, outer_raw = read_tar_gz(outer_bytes)
    members = {m.name: outer.extractfile(m).read() for m in outer.getmembers()}
    ctl, ctl_raw = read_tar_gz(members["./control.tar.gz"])
    data, data_raw = read_tar_gz(members["./data.tar.gz"])
    control = {m.name: (ctl.extractfile(m).read() if m.isfile() else None, m) for m in ctl.getmembers()}
    files = {m.name: (data.extractfile(m).read() if m.isfile() else None, m) for m in data.getmembers()}
    return [m.name for m in outer.getmembers()], members, control, files, (outer_raw, ctl_raw, data_raw)


class Packages(unittest.TestCase):
    rows = mkipk.arches()

    def test_every_package_was_built(self):
        for flavor, arch, _, _ in self.rows:
            self.assertTrue(os.path.exists(ipk_path(flavor, arch)), ipk_path(flavor, arch))

    def test_container_formats_and_no_pax(self):
        for flavor, arch, _, _ in self.rows:
            with self.subTest(arch=arch):
                path = ipk_path(flavor, arch)
                with open(path, "rb") as f:
                    self.assertEqual(f.read(2), b"\x1f\x8b", "outer must be gzip, not ar")
                names, members, control, files, raws = unpack(path)
                self.assertEqual(names, ["./debian-binary", "./control.tar.gz", "./data.tar.gz"])
                self.assertEqual(members["./debian-binary"], b"2.0\n")
                for raw in raws:
                    flags = header_types(raw)
                    self.assertFalse({"x", "g"} & set(flags), "PAX header found: %s" % flags)
                    tar = tarfile.open(fileobj=io.BytesIO(raw))
                    for m in tar.getmembers():
                        self.assertEqual((m.uid, m.gid), (0, 0), m.name)
                        self.assertFalse(m.pax_headers, m.name)
                        self.assertEqual(m.mtime, int(os.environ.get("SOURCE_DATE_EPOCH", m.mtime)), m.name)
                    names_in = [m.name for m in tar.getmembers()]
                    if raw is not raws[0]:
                        self.assertEqual(names_in, sorted(names_in), "names must be sorted")

    def test_control_fields_conffiles_and_scripts(self):
        for flavor, arch, _, _ in self.rows:
            with self.subTest(arch=arch):
                _, _, control, files, _ = unpack(ipk_path(flavor, arch))
                text = control["./control"][0].decode()
                fields = dict(re.findall(r"^([A-Za-z-]+): ?(.*)$", text, re.M))
                for key in ["Package", "Version", "Architecture", "Maintainer", "License", "Section", "Description", "Installed-Size"]:
                    self.assertTrue(fields.get(key), "%s missing in:\n%s" % (key, text))
                self.assertEqual(fields["Package"], "ap-exporter")
                self.assertEqual(fields["Architecture"], arch)
                self.assertEqual(fields["Version"], VERSION)
                self.assertNotIn("Depends", fields, "no Depends at all (an empty one crashes opkg)")
                self.assertFalse(re.search(r",\s*$", text, re.M), "trailing comma")
                size = sum(len(d) for d, m in files.values() if d is not None)
                self.assertEqual(int(fields["Installed-Size"]), size)
                conf = "/%setc/ap-exporter.toml" % PREFIX[flavor]
                self.assertEqual(control["./conffiles"][0].decode(), conf + "\n")
                for script in ("./postinst", "./prerm"):
                    body, member = control[script]
                    self.assertEqual(member.mode & 0o777, 0o755, script)
                    self.assertTrue(body.startswith(b"#!/bin/sh\n"), script)
                    self.sh_n(body, script)

    def test_installed_paths_and_modes(self):
        for flavor, arch, _, _ in self.rows:
            with self.subTest(arch=arch):
                _, _, _, files, _ = unpack(ipk_path(flavor, arch))
                p = PREFIX[flavor]
                init = "./%setc/init.d/%s" % (p, "S99ap-exporter" if flavor == "entware" else "ap-exporter")
                binary = "./%sbin/ap-exporter" % ("opt/" if flavor == "entware" else "usr/")
                conf = "./%setc/ap-exporter.toml" % p
                regular = sorted(n for n, (d, m) in files.items() if m.isfile())
                self.assertEqual(regular, sorted([init, binary, conf]))
                self.assertEqual(files[binary][1].mode & 0o777, 0o755)
                self.assertEqual(files[init][1].mode & 0o777, 0o755)
                # It may hold password hashes: 0600, like OpenWrt's INSTALL_CONF.
                self.assertEqual(files[conf][1].mode & 0o777, 0o600)
                self.sh_n(files[init][0], init)
                with open(os.path.join(ROOT, "files/ap-exporter.toml"), "rb") as f:
                    self.assertEqual(files[conf][0], f.read())
                # Every parent directory is in the archive too (tarfile reads
                # "./opt/" back as "./opt").
                dirs = {n.rstrip("/") for n, (d, m) in files.items() if m.isdir()}
                for n in regular:
                    parent = os.path.dirname(n)
                    while parent not in ("", "."):
                        self.assertIn(parent, dirs, n)
                        parent = os.path.dirname(parent)

    def test_reproducible(self):
        flavor, arch, _, _ = self.rows[0]
        _, _, _, files, _ = unpack(ipk_path(flavor, arch))
        mtime = files["./opt/bin/ap-exporter"][1].mtime
        with tempfile.TemporaryDirectory() as tmp:
            binary = os.path.join(tmp, "ap-exporter")
            with open(binary, "wb") as f:
                f.write(files["./opt/bin/ap-exporter"][0])
            rebuilt = mkipk.build(flavor, arch, binary, tmp, mtime)
            with open(rebuilt, "rb") as a, open(ipk_path(flavor, arch), "rb") as b:
                self.assertEqual(a.read(), b.read(), "same inputs must give the same bytes")

    def sh_n(self, body, name):
        r = subprocess.run(["sh", "-n"], input=body, capture_output=True)
        self.assertEqual(r.returncode, 0, "%s: sh -n: %s" % (name, r.stderr.decode()))


class Binaries(unittest.TestCase):
    """Each distinct binary, on the CPU its row names."""

    def test_runs_on_fpu_less_cpu_and_scrape_passes_promtool(self):
        seen = set()
        for flavor, arch, target, qemu in mkipk.arches():
            if (target, qemu) in seen:
                continue
            seen.add((target, qemu))
            with self.subTest(target=target, qemu=qemu):
                binary = os.path.join(ROOT, "target", target, "release", "ap-exporter")
                cmd = (qemu.split() if qemu else []) + [binary, "--once", "--config", "config.toml"]
                r = subprocess.run(cmd, cwd=FIXTURE, capture_output=True, timeout=120)
                self.assertEqual(r.returncode, 0, "%s: %s" % (cmd, r.stderr.decode()[-2000:]))
                self.assertIn(b'node_network_receive_bytes_total{device="phy1-ap0"} 98231740912', r.stdout)
                self.assertIn(b'ap_exporter_build_info{target="%s"' % target.encode(), r.stdout)
                p = subprocess.run(["promtool", "check", "metrics"], input=r.stdout, capture_output=True)
                self.assertEqual(p.returncode, 0, p.stdout.decode() + p.stderr.decode())

    def test_mips_binaries_are_soft_float(self):
        for target in sorted({t for _, _, t, _ in mkipk.arches() if t.startswith("mips")}):
            with self.subTest(target=target):
                binary = os.path.join(ROOT, "target", target, "release", "ap-exporter")
                out = subprocess.run(["readelf", "-A", binary], capture_output=True, text=True).stdout
                self.assertIn("FP ABI: Soft float", out)

    def test_binaries_are_static(self):
        for target in sorted({t for _, _, t, _ in mkipk.arches()}):
            with self.subTest(target=target):
                binary = os.path.join(ROOT, "target", target, "release", "ap-exporter")
                out = subprocess.run(["readelf", "-lW", binary], capture_output=True, text=True).stdout
                self.assertNotIn("INTERP", out, "must not need a dynamic loader")
                self.assertIn("EXEC", subprocess.run(["readelf", "-h", binary], capture_output=True, text=True).stdout)


# A minimal stand-in for Entware's /opt/etc/init.d/rc.func, written for this
# test: same variables (ENABLED, PROCS, ARGS, PREARGS, DESC) and actions,
# pidof to find the process, killall to signal it, output thrown away.
RC_FUNC = r"""
ACTION=$1
start() {
    [ "$ENABLED" != "yes" ] && return 8
    if [ -n "$(pidof $PROC)" ]; then echo "already running"; return 0; fi
    $PREARGS $PROC $ARGS > /dev/null 2>&1 &
    COUNTER=0
    while [ -z "$(pidof $PROC)" ] && [ "$COUNTER" -le 10 ]; do sleep 1; COUNTER=$((COUNTER + 1)); done
    if [ -z "$(pidof $PROC)" ]; then echo "failed"; return 255; fi
    echo "done"
}
stop() {
    killall $PROC 2>/dev/null
    COUNTER=0
    while [ -n "$(pidof $PROC)" ] && [ "$COUNTER" -le 10 ]; do sleep 1; COUNTER=$((COUNTER + 1)); done
    [ -n "$(pidof $PROC)" ] && killall -9 $PROC 2>/dev/null
    echo "stopped"
}
check() { if [ -n "$(pidof $PROC)" ]; then echo "alive"; return 0; else echo "dead"; return 1; fi; }
reconfigure() { killall -HUP $PROC 2>/dev/null; echo "reconfigured"; }
for PROC in $PROCS; do
    case $ACTION in
        start) start ;;
        stop|kill) check > /dev/null && stop ;;
        restart) check > /dev/null && stop; start ;;
        check) check ;;
        reconfigure) reconfigure ;;
        *) echo "Usage: $0 (start|stop|restart|check|kill|reconfigure)"; exit 1 ;;
    esac
done
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def scrape(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as r:
        return r.read().decode()


class EntwareInitScript(unittest.TestCase):
    def test_start_reconfigure_restart_stop(self):
        if shutil.which("pidof") is None or shutil.which("killall") is None:
            self.fail("pidof and killall are needed (apt-get install procps psmisc)")
        self.assertEqual(subprocess.run(["pidof", "ap-exporter"], capture_output=True).returncode, 1,
                         "another ap-exporter is running; this test finds processes by name")
        _, _, _, files, _ = unpack(ipk_path("entware", "x64-3.2"))
        with tempfile.TemporaryDirectory() as tmp:
            root = tmp.rstrip("/")
            for name, (data, member) in files.items():
                dest = os.path.join(root, name[2:])
                if member.isdir():
                    os.makedirs(dest, exist_ok=True)
                else:
                    with open(dest, "wb") as f:
                        f.write(data)
                    os.chmod(dest, member.mode)
            etc = os.path.join(root, "opt/etc")
            with open(os.path.join(etc, "init.d/rc.func"), "w") as f:
                f.write(RC_FUNC)
            # The script under test, with its absolute /opt paths moved into the temp root.
            script = os.path.join(etc, "init.d/S99ap-exporter")
            with open(script) as f:
                text = f.read().replace("/opt/", root + "/opt/")
            with open(script, "w") as f:
                f.write(text)
            # A user edit of the conffile: loopback and a free port.
            port = free_port()
            conf = os.path.join(etc, "ap-exporter.toml")
            with open(conf) as f:
                original = f.read()
            edited = original.replace('listen = ["0.0.0.0:9100"]', 'listen = ["127.0.0.1:%d"]' % port)
            edited = edited.replace('procfs = "/proc"', 'procfs = "%s/proc"' % FIXTURE).replace("wireless = true", "wireless = false")
            with open(conf, "w") as f:
                f.write(edited)

            def run(action):
                return subprocess.run(["sh", script, action], capture_output=True, text=True, timeout=60)

            def wait_scrape():
                end = time.time() + 15
                while True:
                    try:
                        return scrape(port)
                    except OSError:
                        if time.time() > end:
                            raise
                        time.sleep(0.2)

            try:
                self.assertIn("dead", run("check").stdout)
                self.assertIn("done", run("start").stdout)
                self.assertIn("alive", run("check").stdout)
                self.assertIn("node_load1 1.52", wait_scrape())
                pid = subprocess.run(["pidof", "ap-exporter"], capture_output=True, text=True).stdout.strip()

                # reconfigure: SIGHUP re-reads the file in place, same process.
                with open(conf, "w") as f:
                    f.write(edited.replace("load = true", "load = false"))
                self.assertIn("reconfigured", run("reconfigure").stdout)
                end = time.time() + 10
                while "node_load1" in scrape(port):
                    self.assertLess(time.time(), end, "reload did not apply")
                    time.sleep(0.2)
                self.assertEqual(subprocess.run(["pidof", "ap-exporter"], capture_output=True, text=True).stdout.strip(), pid)

                self.assertIn("done", run("restart").stdout)
                new_pid = subprocess.run(["pidof", "ap-exporter"], capture_output=True, text=True).stdout.strip()
                self.assertNotEqual(new_pid, pid)
                wait_scrape()

                self.assertIn("stopped", run("stop").stdout)
                self.assertIn("dead", run("check").stdout)
            finally:
                subprocess.run(["sh", script, "stop"], capture_output=True, timeout=60)


if __name__ == "__main__":
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    # A test with failing subtests counts once.
    failed = len({getattr(t, "test_case", t).id() for t, _ in result.failures + result.errors})
    print("packaging: %d passed, %d failed" % (result.testsRun - failed, failed))
    sys.exit(1 if failed else 0)
