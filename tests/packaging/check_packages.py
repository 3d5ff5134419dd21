#!/usr/bin/env python3
"""The packaging tests, after `make feeds` (which builds every package):

  test_sdk.py           the OpenWrt SDK Makefile: fields, lints, and its
                        PKG_MIRROR_HASH against the tarball of its pinned
                        commit made the SDK's way (offline; no SDK here)
  test_uci.py           UCI on OpenWrt: the overlay TOML the init script
                        makes for every example in docs/openwrt.md, bad and
                        hostile values refused, the uci stand-in's format
  test_formats.py       .ipk and .apk formats, fields, scripts, modes,
                        reproducibility; mkapk.py against files the real
                        apk-tools 3.0.2 wrote (golden/)
  test_binaries.py      each binary under qemu on an FPU-less CPU, promtool
  test_feeds.py         Packages, Packages.gz, Packages.sig (signify-openbsd)
                        and packages.adb (openssl), tampering caught
  test_scratch_root.py  all 21 packages installed, upgraded with an edited
                        config and removed by the opkg and apk stand-ins
  test_live.py          install, upgrade, reconfigure, stop, start and remove
                        on a live Entware and OpenWrt in a namespace

Each test says which tool's behaviour it reproduces. Prints
"packaging: N passed, N failed" last; exits non-zero on any failure.
"""
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
MODULES = ["test_sdk", "test_uci", "test_formats", "test_binaries", "test_feeds", "test_scratch_root", "test_live"]

if __name__ == "__main__":
    names = sys.argv[1:] or MODULES
    suite = unittest.defaultTestLoader.loadTestsFromNames(names)
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    # A test with failing subtests counts once.
    failed = len({getattr(t, "test_case", t).id() for t, _ in result.failures + result.errors})
    print("packaging: %d passed, %d failed" % (result.testsRun - failed, failed))
    sys.exit(1 if failed else 0)
