"""Install, upgrade and remove on a live router, for real: the x86_64
packages in a namespace (router.py), their maintainer scripts and init
scripts under busybox sh, the exporter running and scraped on 127.0.0.1.

Stand-ins play the tools no registry has, each doing the steps the
project's notes record and no more:
  opkg and apk   players.py (script order, arguments, PKG_UPGRADE, conffiles)
  Entware        standins/rc.func (start in the background with output
                 thrown away, stop by name, restart, check, SIGHUP)
  OpenWrt procd  standins/rc.common (enable/disable links, start, stop that
                 returns once the process is gone, status, reload with
                 procd_send_signal; no respawn, no ubus)

The upgrade goes to a real newer build (bumped.py): the same source with
the version bumped, so ap_exporter_build_info proves which binary serves.
Sequence: install (starts it), scrape, edit the config and reconfigure,
upgrade while running (restarted on the new binary, edit kept), stop,
start, upgrade while stopped (stays stopped), start, remove (no process,
no files but the edited config).
"""
import os
import re
import tempfile
import time
import unittest

import bumped
import players
import router
from common import PATHS, apk_path, build_epoch, ipk_path, mkapk, mkipk, read, shipped_config, shipped_uci

# Any port is free in the namespace's own network; the shipped config says 9100.
PORT = 19100
DEFAULT_PORT = 9100
NEW = bumped.bumped_version()


def serving(said, port, version, collectors):
    """Whether a status check printed the --status line of a serving exporter
    of this version, running this many device collectors. How many fail is
    the host's business (conntrack is there only if the host loaded it)."""
    m = re.search(r"^serving on 127\.0\.0\.1:%d: ap-exporter (\S+), (\d+) of (\d+) collectors failing" % port,
                  said, re.M)
    return bool(m) and m.group(1) == version and int(m.group(3)) == collectors


def shipped_collectors():
    """How many device collectors the shipped config switches on (its
    generated [collectors] block)."""
    block = shipped_config("entware").decode().split("# collectors:begin")[1].split("# collectors:end")[0]
    return len(re.findall(r"^\w+ = true\b", block, re.M))


def build_info_version(text):
    m = re.search(r'^ap_exporter_build_info\{[^}]*version="([^"]+)"', text or "", re.M)
    return m and m.group(1)


class Live(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        binary = bumped.build("x86_64-unknown-linux-musl")
        out, epoch = cls.tmp.name, build_epoch()
        cls.packages = {
            ("entware", "ipk"): [ipk_path("entware", "x64-3.2"),
                                  mkipk.build("entware", "x64-3.2", binary, out, epoch, NEW),
                                  mkipk.build("entware", "x64-3.2", binary, out, epoch, NEW, "2")],
            ("openwrt", "ipk"): [ipk_path("openwrt", "x86_64"),
                                  mkipk.build("openwrt", "x86_64", binary, out, epoch, NEW),
                                  mkipk.build("openwrt", "x86_64", binary, out, epoch, NEW, "2")],
            ("openwrt", "apk"): [apk_path("x86_64"),
                                  mkapk.build("x86_64", binary, out, epoch, NEW),
                                  mkapk.build("x86_64", binary, out, epoch, NEW, "2")],
        }

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def lifecycle(self, flavor, kind, reconfigure):
        """Runs the sequence; returns the scripts the package manager ran."""
        r = router.Router(flavor)
        try:
            return self._lifecycle(r, flavor, kind, reconfigure)
        finally:
            r.close()

    def _lifecycle(self, r, flavor, kind, reconfigure):
        paths = PATHS[flavor]
        init = "/" + paths["init"]
        before = files_in(r.root)
        if kind == "apk":
            pm = players.Apk(r.root, runner=r.run)
            install, remove = pm.add, pm.delete
        else:
            pm = players.Opkg(r.root, flavor, runner=r.run)
            install, remove = pm.install, pm.remove
        old, new, new_release = self.packages[flavor, kind]

        def said(outputs):
            return "".join(o.stdout + o.stderr for o in outputs)

        # A fresh install starts it, with the shipped config.
        out = said(install(old))
        self.assertIn("ap-exporter is installed", out)
        self.assertIn("started", out)
        self.assertEqual(len(r.pids()), 1, out + r.processes())
        text = r.wait_scrape(DEFAULT_PORT, "ap_exporter_build_info")
        self.assertEqual(build_info_version(text), bumped.current_version(), text)
        conf = os.path.join(r.root, paths["conf"])
        self.assertEqual(os.stat(conf).st_mode & 0o777, 0o600)
        if flavor == "openwrt":
            for link in ("S99ap-exporter", "K10ap-exporter"):
                self.assertEqual(os.readlink(os.path.join(r.root, "etc/rc.d", link)), "../init.d/ap-exporter",
                                 "a fresh install enables it")
        status = self.status_check(r, flavor, init)
        self.assertEqual(status.returncode, 0, status.stdout + status.stderr)
        self.assertTrue(serving(status.stdout, DEFAULT_PORT, bumped.current_version(), shipped_collectors()), status.stdout)

        # The owner edits the config and reconfigures: same process, new listener.
        edited = shipped_config(flavor).replace(b'listen = ["0.0.0.0:9100"]', b'listen = ["127.0.0.1:%d"]' % PORT)
        edited = edited.replace(b"wireless = true", b"wireless = false")
        with open(conf, "wb") as f:
            f.write(edited)
        pid = r.pids()
        r.sh("%s %s" % (init, reconfigure))
        self.assertIsNotNone(r.wait_scrape(PORT, "ap_exporter_build_info"), "the new listener serves")
        self.assertEqual(r.pids(), pid, "a reconfigure keeps the process")

        # Upgrade while running: restarted on the new binary, the edit kept.
        out = said(install(new))
        self.assertIn("upgraded and restarted", out)
        text = r.wait_scrape(PORT, 'version="%s"' % NEW)
        self.assertEqual(build_info_version(text), NEW, "the new binary serves after the upgrade")
        self.assertEqual(len(r.pids()), 1, r.processes())
        self.assertNotEqual(r.pids(), pid)
        self.assertEqual(read(conf), edited)
        self.assertEqual(read(conf + ("-opkg" if kind == "ipk" else ".apk-new")), shipped_config(flavor))
        status = self.status_check(r, flavor, init)
        self.assertTrue(serving(status.stdout, PORT, NEW, shipped_collectors() - 1), "wireless is off now; the check scrapes the new listener: " + status.stdout)

        # Stop, start.
        r.sh(init + " stop")
        self.assertEqual(r.pids(), [], r.processes())
        self.assertIsNone(r.scrape(PORT))
        status = self.status_check(r, flavor, init)
        self.assertNotEqual(status.returncode, 0, status.stdout)
        if flavor == "openwrt":
            self.assertEqual(status.stdout.strip(), "inactive", "procd's word, and no scrape of a stopped service")
        else:
            self.assertIn("dead.", status.stdout)
            self.assertIn("not serving on 127.0.0.1:%d" % PORT, status.stdout)
            self.assertNotIn("-e", status.stdout, "rc.func's echo -e ran under busybox sh, not dash")
        r.sh(init + " start")
        self.assertIsNotNone(r.wait_scrape(PORT, 'version="%s"' % NEW))
        r.sh(init + " stop")

        # Upgrade while stopped: it stays stopped.
        out = said(install(new_release))
        self.assertIn("still stopped", out)
        self.assertEqual(r.pids(), [], r.processes())

        # Remove: stopped, disabled, and nothing left but the edited config.
        r.sh(init + " start")
        self.assertIsNotNone(r.wait_scrape(PORT))
        remove()
        self.assertEqual(r.pids(), [], r.processes())
        left = files_in(r.root) - before
        expected = {paths["conf"]} | ({paths["conf"] + "-opkg"} if kind == "ipk" else set())
        self.assertEqual(left, expected, "only the edited config (and opkg's copy of the default) may stay")
        if flavor == "openwrt":
            self.assertEqual(os.listdir(os.path.join(r.root, "etc/rc.d")), [], "no dangling rc.d links")
        return pm.log

    def status_check(self, r, flavor, init):
        """The init script's status check: procd's status on OpenWrt (first
        line running or inactive), rc.func's check on Entware (alive or
        dead); both then print the exporter's --status line."""
        said = r.sh(init + (" status" if flavor == "openwrt" else " check"))
        if said.returncode == 0:
            first = said.stdout.splitlines()[0] if said.stdout else ""
            self.assertIn("running" if flavor == "openwrt" else "alive.", first, said.stdout)
        return said

    def test_entware_with_opkg_and_rc_func_standins(self):
        self.assertEqual(self.lifecycle("entware", "ipk", "reconfigure"), opkg_calls())

    def test_openwrt_24_10_with_opkg_and_procd_standins(self):
        self.assertEqual(self.lifecycle("openwrt", "ipk", "reload"), opkg_calls())

    def test_openwrt_25_12_with_apk_and_procd_standins(self):
        old, new, newer = bumped.current_version() + "-r1", NEW + "-r1", NEW + "-r2"
        self.assertEqual(self.lifecycle("openwrt", "apk", "reload"), [
            "post-install " + old,
            "post-upgrade %s %s" % (new, old),
            "post-upgrade %s %s" % (newer, new),
            "pre-deinstall " + newer,
        ])


def opkg_calls():
    """The scripts opkg runs in the sequence (the packages have no preinst or postrm)."""
    return [
        "postinst configure (PKG_UPGRADE=0)",
        "prerm upgrade %s-1" % NEW,
        "postinst configure (PKG_UPGRADE=1)",
        "prerm upgrade %s-2" % NEW,
        "postinst configure (PKG_UPGRADE=1)",
        "prerm remove (PKG_UPGRADE=0)",
    ]


def files_in(root):
    """Regular files and links under root, opkg's info directory left out."""
    out = set()
    for d, _, names in os.walk(root):
        for n in names:
            path = os.path.relpath(os.path.join(d, n), root)
            if not path.startswith(tuple(players.OPKG_INFO.values())):
                out.add(path)
    return out


class ImageBuild(unittest.TestCase):
    """Installing into an offline root, as image builders do, must change
    nothing on the live system. opkg -o runs no script unless
    --force-postinstall (the notes), and OpenWrt's image build then runs the
    scripts with IPKG_INSTROOT naming the image's root. The OpenWrt scripts
    enable the service inside that root only, as default_postinst does;
    Entware's do nothing. PKG_INSTROOT is honoured the same way."""

    def test_openwrt_scripts_with_an_instroot_touch_only_the_image(self):
        r = router.Router("openwrt")
        try:
            image = os.path.join(r.root, "tmp/image")
            pm = players.Opkg(image, "openwrt")
            self.assertEqual(pm.install(ipk_path("openwrt", "x86_64")), [], "offline: no script runs")
            scripts = "/tmp/image/%s/%s" % (players.OPKG_INFO["openwrt"], pm.installed[0])
            for var in ("IPKG_INSTROOT", "PKG_INSTROOT"):
                env = {"PATH": players.OPKG_PATH["openwrt"], var: "/tmp/image"}
                out = r.run(["/bin/sh", scripts + "/postinst", "configure"], env)
                self.assertEqual((out.returncode, out.stdout, out.stderr), (0, "", ""))
                for link in ("S99ap-exporter", "K10ap-exporter"):
                    self.assertEqual(os.readlink(os.path.join(image, "etc/rc.d", link)), "../init.d/ap-exporter")
                self.assertEqual(os.listdir(os.path.join(r.root, "etc/rc.d")), [], "the live system is not enabled")
                self.assertEqual(r.pids(), [], "nothing started")
                self.assertTrue(os.path.exists(os.path.join(image, "etc/config/ap-exporter")), "UCI file in the image")
                for live in ("var/etc/ap-exporter.uci.toml", "var/run/config.md5", "var/run/procd-standin/ap-exporter.triggers"):
                    self.assertFalse(os.path.exists(os.path.join(r.root, live)), "nothing live: " + live)
                out = r.run(["/bin/sh", scripts + "/prerm", "remove"], env)
                self.assertEqual((out.returncode, out.stdout, out.stderr), (0, "", ""))
                self.assertEqual(os.listdir(os.path.join(image, "etc/rc.d")), [])
        finally:
            r.close()

    def test_entware_scripts_with_an_instroot_do_nothing(self):
        r = router.Router("entware")
        try:
            pm = players.Opkg(r.root, "entware")
            pm.install(ipk_path("entware", "x64-3.2"))
            scripts = "/%s/%s" % (players.OPKG_INFO["entware"], pm.installed[0])
            for var in ("IPKG_INSTROOT", "PKG_INSTROOT"):
                env = {"PATH": players.OPKG_PATH["entware"], var: "/somewhere/else"}
                out = r.run(["/bin/sh", scripts + "/postinst", "configure"], env)
                self.assertEqual((out.returncode, out.stdout, r.pids()), (0, "", []), "nothing started")
                r.sh("/opt/etc/init.d/S99ap-exporter start")
                running = r.pids()
                self.assertEqual(len(running), 1)
                out = r.run(["/bin/sh", scripts + "/prerm", "remove"], env)
                self.assertEqual((out.returncode, r.pids()), (0, running), "nothing stopped")
                r.sh("/opt/etc/init.d/S99ap-exporter stop")
        finally:
            r.close()


# The packages before UCI (0.1.0-1): no /etc/config/ap-exporter, and the
# init script they shipped (kept in previous/), which passed one --config.
PREVIOUS_INIT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "previous/ap-exporter.procd")


def previous_package(kind, out):
    """The current binary packaged as the 0.1.0-1 packages were: the same
    files but the UCI one, and the init script of then."""
    layout = mkipk.LAYOUTS["openwrt"]
    mkipk.LAYOUTS["openwrt"] = [(path, PREVIOUS_INIT if path == "etc/init.d/ap-exporter" else source, mode, conf)
                                for path, source, mode, conf in layout if path != "etc/config/ap-exporter"]
    try:
        _, _, _, data = players.read_ipk(ipk_path("openwrt", "x86_64"))
        binary = os.path.join(out, "ap-exporter")
        with open(binary, "wb") as f:
            f.write(next(d for n, d, _ in data if n == "./" + PATHS["openwrt"]["bin"]))
        if kind == "ipk":
            return mkipk.build("openwrt", "x86_64", binary, out, build_epoch(), release="0")
        return mkapk.build("x86_64", binary, out, build_epoch(), release="0")
    finally:
        mkipk.LAYOUTS["openwrt"] = layout


class OpenWrtUci(unittest.TestCase):
    """UCI with the real exporter, on the opkg, procd, uci and netifd
    stand-ins (router.py; standins/ says what each reproduces): the README's
    uci set + uci commit + reload_config applied by SIGHUP to the same
    process, a bad value refused while the exporter keeps serving, the
    interface trigger re-binding as the network's address changes, enabled
    0 and 1, stop; and the upgrade from the packages without UCI."""

    def router(self):
        r = router.Router("openwrt", syslog=True)
        self.addCleanup(r.close)
        with open(os.path.join(r.root, "etc/config/network"), "w") as f:
            f.write("\nconfig interface 'lan'\n\toption device 'br-lan'\n\n")
        r.net(["ip", "link", "add", "br-lan", "type", "bridge"])
        r.net(["ip", "link", "set", "br-lan", "up"])
        # /etc/init.d/boot runs reload_config once: its record of the configs.
        r.sh("reload_config")
        return r

    def logged(self, r, mark, want, seconds=5):
        end = time.time() + seconds
        while want not in r.messages()[mark:] and time.time() < end:
            time.sleep(0.1)
        return r.messages()[mark:]

    def test_uci_reload_without_restart_and_the_interface_trigger(self):
        r = self.router()
        players.Opkg(r.root, "openwrt", runner=r.run).install(ipk_path("openwrt", "x86_64"))
        self.assertIsNotNone(r.wait_scrape(DEFAULT_PORT, "ap_exporter_build_info"))
        (pid,) = r.pids()

        # The README's line.
        r.sh("uci set ap-exporter.main.port=9101; uci commit; reload_config")
        self.assertIsNotNone(r.wait_scrape(9101, "ap_exporter_build_info"), r.messages())
        self.assertEqual(r.pids(), [pid], "applied by SIGHUP: the same process")
        self.assertIsNone(r.scrape(DEFAULT_PORT), "no longer on 9100")
        status = r.sh("/etc/init.d/ap-exporter status")
        self.assertEqual(status.returncode, 0, status.stdout + status.stderr)
        self.assertIn("serving on 127.0.0.1:9101", status.stdout)
        # With no --config, the binary reads OpenWrt's files as the service
        # does (the TOML, then the UCI overlay over it): a person's plain
        # `ap-exporter --status` or `--diagnose` sees port 9101 too.
        plain = r.sh("ap-exporter --status")
        self.assertIn("serving on 127.0.0.1:9101", plain.stdout, plain.stdout + plain.stderr)
        plain = r.sh("ap-exporter --diagnose")
        self.assertIn("ok   config: /etc/ap-exporter.toml + /var/etc/ap-exporter.uci.toml: valid", plain.stdout)

        # A bad value: refused and logged; the exporter keeps its config.
        overlay = read(os.path.join(r.root, "var/etc/ap-exporter.uci.toml"))
        mark = len(r.messages())
        r.sh("uci set ap-exporter.main.port=99999; uci commit; reload_config")
        self.assertIn("main.port '99999' is not a port (1-65535); nothing changed",
                      self.logged(r, mark, "nothing changed"))
        self.assertEqual(read(os.path.join(r.root, "var/etc/ap-exporter.uci.toml")), overlay)
        self.assertIsNotNone(r.scrape(9101))
        self.assertEqual(r.pids(), [pid])

        # listen_interface lan while lan is down: no address to serve yet.
        r.sh("uci set ap-exporter.main.port=9101; uci set ap-exporter.main.listen_interface=lan; uci commit; "
             "reload_config")
        end = time.time() + 10
        while r.scrape(9101) is not None and time.time() < end:
            time.sleep(0.2)
        self.assertIsNone(r.scrape(9101), "only the interface's addresses, and it has none")
        self.assertEqual(r.pids(), [pid], "an interface with no address yet: still running")
        # lan comes up with an address: its ifup runs the trigger, and the exporter binds.
        r.net(["ip", "addr", "add", "10.9.8.7/24", "dev", "br-lan"])
        r.sh("/sbin/ifup lan")
        self.assertIn('listen_interface = "br-lan"', read(os.path.join(r.root, "var/etc/ap-exporter.uci.toml")).decode())
        self.assertIsNotNone(r.wait_scrape(9101, "ap_exporter_build_info", seconds=5, host="10.9.8.7"), r.messages())
        # A new address (a new lease): re-bound on ifup, the old one let go.
        r.net(["ip", "addr", "del", "10.9.8.7/24", "dev", "br-lan"])
        r.net(["ip", "addr", "add", "10.9.8.8/24", "dev", "br-lan"])
        r.sh("/sbin/ifup lan")
        self.assertIsNotNone(r.wait_scrape(9101, "ap_exporter_build_info", seconds=5, host="10.9.8.8"), r.messages())
        self.assertIsNone(r.scrape(9101, host="10.9.8.7"))
        self.assertIsNone(r.scrape(9101))
        self.assertEqual(r.pids(), [pid], "every change by SIGHUP, never a restart")

        # enabled 0 stops it; 1 starts it again; stop leaves nothing.
        r.sh("uci set ap-exporter.main.enabled=0; uci commit; reload_config")
        self.assertEqual(r.pids(), [], r.processes())
        r.sh("uci set ap-exporter.main.enabled=1; uci commit; reload_config")
        self.assertIsNotNone(r.wait_scrape(9101, "ap_exporter_build_info", host="10.9.8.8"))
        self.assertEqual(len(r.pids()), 1)
        r.sh("/etc/init.d/ap-exporter stop")
        self.assertEqual(r.pids(), [], r.processes())
        self.assertEqual(r.run(["/bin/busybox", "pidof", "ap-exporter"], {}).stdout, "", "no process at all")
        self.assertFalse(os.path.exists(os.path.join(r.root, "var/etc/ap-exporter.uci.toml")))

    def test_upgrade_from_the_packages_without_uci_keeps_the_edited_toml(self):
        for kind in ("ipk", "apk"):
            with self.subTest(kind=kind), tempfile.TemporaryDirectory() as tmp:
                r = self.router()
                if kind == "apk":
                    pm = players.Apk(r.root, runner=r.run)
                    install, new = pm.add, apk_path("x86_64")
                else:
                    pm = players.Opkg(r.root, "openwrt", runner=r.run)
                    install, new = pm.install, ipk_path("openwrt", "x86_64")
                install(previous_package(kind, tmp))
                self.assertFalse(os.path.exists(os.path.join(r.root, "etc/config/ap-exporter")))
                conf = os.path.join(r.root, PATHS["openwrt"]["conf"])
                with open(conf, "wb") as f:
                    f.write(shipped_config("openwrt").replace(b'listen = ["0.0.0.0:9100"]',
                                                              b'listen = ["127.0.0.1:%d"]' % PORT))
                r.sh("/etc/init.d/ap-exporter reload")
                self.assertIsNotNone(r.wait_scrape(PORT, "ap_exporter_build_info"))

                out = "".join(o.stdout + o.stderr for o in install(new))
                self.assertIn("upgraded and restarted", out)
                self.assertEqual(read(os.path.join(r.root, "etc/config/ap-exporter")), shipped_uci(),
                                 "the UCI file is new: installed as shipped")
                self.assertIsNotNone(r.wait_scrape(PORT, "ap_exporter_build_info"), "the edited TOML still decides")
                self.assertIsNone(r.scrape(DEFAULT_PORT))
                (pid,) = r.pids()
                # And the first UCI change after the upgrade is noticed.
                r.sh("uci set ap-exporter.main.port=9101; uci commit; reload_config")
                self.assertIsNotNone(r.wait_scrape(9101, "ap_exporter_build_info"), r.messages())
                self.assertEqual(r.pids(), [pid])
                r.sh("/etc/init.d/ap-exporter stop")
                self.assertEqual(r.pids(), [])


class EntwareSupervised(unittest.TestCase):
    """Entware's rc.func restarts nothing: S99ap-exporter runs the exporter
    with --supervise. On the opkg and rc.func stand-ins: the exporter
    killed with SIGKILL is back within seconds under the same supervisor,
    check shows both, reconfigure still reloads, and stop (rc.func's kill
    by name) leaves no ap-exporter process."""

    def test_a_killed_exporter_comes_back_and_stop_stops_both(self):
        """rc.func has no respawn: --supervise restarts a killed exporter,
        reconfigure reaches it, a killed supervisor takes it along, and stop
        leaves no process."""
        r = router.Router("entware")
        self.addCleanup(r.close)
        init = "/" + PATHS["entware"]["init"]
        players.Opkg(r.root, "entware", runner=r.run).install(ipk_path("entware", "x64-3.2"))
        self.assertIsNotNone(r.wait_scrape(DEFAULT_PORT, "ap_exporter_build_info"))
        (supervisor,) = r.pids()
        (child,) = r.children(supervisor)
        check = r.sh(init + " check")
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        self.assertIn("alive.", check.stdout)
        self.assertIn("supervisor: pid %s; exporter: pid %s\n" % (supervisor, child), check.stdout)
        self.assertRegex(check.stdout, r"(?m)^serving on 127\.0\.0\.1:%d: .*supervised" % DEFAULT_PORT)

        r.run(["/bin/busybox", "kill", "-9", child], {})
        end, back = time.time() + 10, []
        while time.time() < end:
            back = [p for p in r.children(supervisor) if p != child]
            if back and r.scrape(DEFAULT_PORT):
                break
            time.sleep(0.2)
        self.assertEqual(len(back), 1, "a new exporter under the same supervisor: " + r.processes())
        self.assertLess(time.time(), end, "back within 10 s")
        text = r.wait_scrape(DEFAULT_PORT, "ap_exporter_build_info")
        self.assertRegex(text, r"(?m)^ap_exporter_restarts_total(\{[^}]*\})? 1$")
        self.assertEqual(r.pids(), [supervisor])
        self.assertIn("supervisor: pid %s; exporter: pid %s\n" % (supervisor, back[0]), r.sh(init + " check").stdout)

        # reconfigure (SIGHUP to both, by name) still reloads, in the same processes.
        conf = os.path.join(r.root, PATHS["entware"]["conf"])
        with open(conf, "wb") as f:
            f.write(shipped_config("entware").replace(b'listen = ["0.0.0.0:9100"]', b'listen = ["127.0.0.1:%d"]' % PORT))
        r.sh(init + " reconfigure")
        self.assertIsNotNone(r.wait_scrape(PORT, "ap_exporter_build_info"))
        self.assertEqual((r.pids(), r.children(supervisor)), ([supervisor], back))

        # The supervisor killed: the exporter goes with it (PR_SET_PDEATHSIG),
        # so no exporter runs on unsupervised, and start starts both again.
        r.run(["/bin/busybox", "kill", "-9", supervisor], {})
        end = time.time() + 5
        while r.pids() and time.time() < end:
            time.sleep(0.1)
        self.assertEqual(r.pids(), [], "the exporter stopped with its supervisor: " + r.processes())
        self.assertIn("dead.", r.sh(init + " check").stdout)
        r.sh(init + " start")
        self.assertIsNotNone(r.wait_scrape(PORT, "ap_exporter_build_info"))
        (again,) = r.pids()
        self.assertEqual(len(r.children(again)), 1, r.processes())

        r.sh(init + " stop")
        self.assertEqual(r.run(["/bin/busybox", "pidof", "ap-exporter"], {}).stdout, "", r.processes())
        self.assertIsNone(r.scrape(PORT))
