"""Each distinct binary, on the CPU its row of package/arches.tsv names: it
must run without an FPU (qemu kills any hard-float instruction with SIGILL)
and print a scrape that passes promtool; MIPS binaries say soft float; none
needs a dynamic loader."""
import os
import subprocess
import unittest

from common import ROOT, ROWS

FIXTURE = os.path.join(ROOT, "tests/fixtures/modern_openwrt")


def meminfo_case_lint(line):
    """node_exporter's meminfo names keep the kernel's field names
    (node_memory_MemTotal_bytes), which promtool's lint calls camelCase; it
    is the one lint the scrape may raise."""
    return line.startswith("node_memory_") and line.endswith(
        " metric names should be written in 'snake_case' not 'camelCase'")


def binary(target):
    return os.path.join(ROOT, "target", target, "release", "ap-exporter")


class Binaries(unittest.TestCase):
    def test_runs_on_fpu_less_cpu_and_scrape_passes_promtool(self):
        for target, qemu in sorted({(t, q) for _, _, t, q in ROWS}):
            with self.subTest(target=target, qemu=qemu):
                cmd = (qemu.split() if qemu else []) + [binary(target), "--once", "--config", "config.toml"]
                r = subprocess.run(cmd, cwd=FIXTURE, capture_output=True, timeout=120)
                self.assertEqual(r.returncode, 0, "%s: %s" % (cmd, r.stderr.decode()[-2000:]))
                self.assertIn(b'node_network_receive_bytes_total{device="phy1-ap0"} 98231740912', r.stdout)
                self.assertIn(b'ap_exporter_build_info{target="%s"' % target.encode(), r.stdout)
                p = subprocess.run(["promtool", "check", "metrics"], input=r.stdout, capture_output=True)
                said = (p.stdout + p.stderr).decode()
                problems = [line for line in said.splitlines() if line.strip() and not meminfo_case_lint(line)]
                self.assertEqual(problems, [], said)
                # promtool exits 3 for lints alone, 1 for errors.
                self.assertIn(p.returncode, (0, 3) if said.strip() else (0,), said)

    def test_mips_binaries_are_soft_float(self):
        for target in sorted({t for _, _, t, _ in ROWS if t.startswith("mips")}):
            with self.subTest(target=target):
                out = subprocess.run(["readelf", "-A", binary(target)], capture_output=True, text=True).stdout
                self.assertIn("FP ABI: Soft float", out)

    def test_binaries_are_static(self):
        for target in sorted({t for _, _, t, _ in ROWS}):
            with self.subTest(target=target):
                out = subprocess.run(["readelf", "-lW", binary(target)], capture_output=True, text=True).stdout
                self.assertNotIn("INTERP", out, "must not need a dynamic loader")
                header = subprocess.run(["readelf", "-h", binary(target)], capture_output=True, text=True).stdout
                self.assertIn("EXEC", header)

    def test_sizes_fit_the_flash_budget(self):
        # 480 KiB is the budget on a router with 8 MB of flash, with every
        # collector in; MIPS binaries must also have lost their .pdr section,
        # and every binary its unwind tables, which nothing reads when a
        # panic aborts (scripts/cross-build.sh).
        for target in sorted({t for _, _, t, _ in ROWS}):
            with self.subTest(target=target):
                size = os.path.getsize(binary(target))
                self.assertLessEqual(size, 480 * 1024, "%s is %d KiB (budget 480 KiB)" % (target, size // 1024))
                sections = subprocess.run(["readelf", "-SW", binary(target)], capture_output=True, text=True).stdout
                self.assertNotIn(" .pdr ", sections)
                self.assertNotIn(" .eh_frame", sections)
