"""UCI on OpenWrt: the init script (init.d/ap-exporter.procd) turning
/etc/config/ap-exporter into the overlay TOML /var/etc/ap-exporter.uci.toml,
in an OpenWrt root (router.py) with the stand-ins of standins/, each of which
says what it reproduces:
  uci             /sbin/uci: /etc/config files in uci's own format, changes
                  waiting in /tmp/.uci until commit (uci is in no registry
                  the project can reach, and not on this machine)
  functions.sh    /lib/functions.sh: config_load, config_get,
                  config_get_bool, config_list_foreach
  network.sh      /lib/functions/network.sh: network_get_device
  rc.common       procd's rc.common: start, stop, reload, triggers
  reload_config   /sbin/reload_config: md5 of "uci show" per config
  ubus            "ubus call service event", as reload_config sends it
  ifup            /sbin/ifup and netifd: a network up on its device, and
                  its interface event
Here /usr/bin/ap-exporter is a stand-in as well (STUB below): it accepts
every --check-config unless told to refuse, and otherwise waits, noting each
SIGHUP, so what is checked is the shell's part. test_live.py runs the same
sequences with the real exporter, and test_overlays_pass_the_exporters_check
asks the real exporter about every overlay here.

docs/openwrt.md is the golden file: each "<!-- uci-example: NAME -->" there
is a shell block, run here on the shipped /etc/config/ap-exporter with a
network lan up on br-lan, and the TOML block after it is the overlay it must
make (comment lines aside). Each "<!-- uci-refused: NAME -->" is a shell
block and the log line it must produce. Hostile values (quotes, newlines,
$(...), huge numbers, names that are no names, options that do not exist)
must be refused with a message, and must leave the overlay as it was.
"""
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

import players
import router
from common import PATHS, ROOT, UCI, ipk_path, read

INIT = os.path.join(ROOT, "init.d/ap-exporter.procd")
DOC = os.path.join(ROOT, "docs/openwrt.md")
OVERLAY = "var/etc/ap-exporter.uci.toml"
# The exporter stand-in: --check-config says yes unless /tmp/check-refuses
# holds a message; otherwise it runs until SIGTERM, noting start and SIGHUP.
STUB = """#!/bin/sh
case " $* " in *" --check-config "*)
	[ -f /tmp/check-refuses ] || exit 0
	cat /tmp/check-refuses >&2
	exit 1
esac
trap 'echo hup $$ >> /tmp/exporter.log' HUP
trap 'echo term $$ >> /tmp/exporter.log; exit 0' TERM
echo "start $$ $*" >> /tmp/exporter.log
while :; do sleep 1 & wait; done
"""
NETWORK = "\nconfig interface 'lan'\n\toption device 'br-lan'\n\nconfig interface 'wan'\n\toption device 'eth1'\n\n"


def doc_examples(kind):
    """[(name, shell, expected)] of the doc's <!-- uci-KIND: NAME --> examples."""
    text = read(DOC).decode()
    pattern = r"<!-- uci-%s: ([\w-]+) -->\n```sh\n(.*?)```\n```\w*\n(.*?)```" % kind
    return re.findall(pattern, text, re.S)


def toml_lines(text):
    """The lines of an overlay that are not comments, blank lines at either end dropped."""
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return lines


def collectors_of_toml():
    toml = read(os.path.join(ROOT, "files/ap-exporter.toml")).decode()
    block = toml.split("# collectors:begin")[1].split("# collectors:end")[0]
    return re.findall(r"^(\w+) = (?:true|false)", block, re.M)


class OpenWrtRoot:
    """A router with the init script, the shipped UCI file, the exporter
    stand-in and a network lan up on the bridge br-lan."""

    def __init__(self):
        self.r = router.Router("openwrt", syslog=True)
        root = self.r.root
        shutil.copy(INIT, os.path.join(root, "etc/init.d/ap-exporter"))
        os.chmod(os.path.join(root, "etc/init.d/ap-exporter"), 0o755)
        with open(os.path.join(root, "usr/bin/ap-exporter"), "w") as f:
            f.write(STUB)
        os.chmod(os.path.join(root, "usr/bin/ap-exporter"), 0o755)
        with open(os.path.join(root, "etc/config/network"), "w") as f:
            f.write(NETWORK)
        self.r.net(["ip", "link", "add", "br-lan", "type", "bridge"])
        self.r.net(["ip", "link", "set", "br-lan", "up"])
        self.reset()
        # The "boot" reload_config, which writes /var/run/config.md5; then lan comes up.
        self.sh("reload_config && /sbin/ifup lan")

    def reset(self):
        """The shipped /etc/config/ap-exporter again, nothing waiting in /tmp/.uci."""
        shutil.copy(UCI, os.path.join(self.r.root, "etc/config/ap-exporter"))
        shutil.rmtree(os.path.join(self.r.root, "tmp/.uci"), ignore_errors=True)
        if os.path.exists(os.path.join(self.r.root, "var/run/netifd-standin")):
            with open(os.path.join(self.r.root, "var/run/netifd-standin/lan"), "w") as f:
                f.write("br-lan\n")
        for name in ("tmp/check-refuses",):
            if os.path.exists(os.path.join(self.r.root, name)):
                os.remove(os.path.join(self.r.root, name))

    def sh(self, script):
        return self.r.sh(script)

    def overlay(self):
        path = os.path.join(self.r.root, OVERLAY)
        return read(path).decode() if os.path.exists(path) else None

    def exporter_log(self):
        path = os.path.join(self.r.root, "tmp/exporter.log")
        return read(path).decode().split("\n")[:-1] if os.path.exists(path) else []

    def wait_log(self, done, seconds=5):
        """The stand-in exporter's log once done(log) holds (it writes as
        signals arrive), or as it is after seconds."""
        end = time.time() + seconds
        while not done(self.exporter_log()) and time.time() < end:
            time.sleep(0.05)
        return self.exporter_log()

    def started(self):
        """The pid of the stand-in exporter's last start, once it has written it."""
        return self.wait_log(lambda log: log and log[-1].startswith("start "))[-1].split()[1]

    def logged(self, mark, want, seconds=5):
        """The system log written since mark (len of an earlier messages()),
        once it holds want (syslogd writes it a moment later)."""
        end = time.time() + seconds
        while want not in self.r.messages()[mark:] and time.time() < end:
            time.sleep(0.05)
        return self.r.messages()[mark:]

    def close(self):
        self.r.close()


class Uci(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.box = OpenWrtRoot()

    @classmethod
    def tearDownClass(cls):
        cls.box.close()

    def setUp(self):
        self.box.sh("/etc/init.d/ap-exporter stop")
        self.box.reset()
        # reload_config's record of the configs, as they are now.
        self.box.sh("reload_config")

    def overlay_of(self, shell):
        """Runs shell, then the init script's overlay action: (status, stdout, stderr)."""
        ran = self.box.sh(shell)
        self.assertEqual(ran.returncode, 0, ran.stdout + ran.stderr)
        out = self.box.sh("/etc/init.d/ap-exporter overlay")
        return out.returncode, out.stdout, out.stderr

    def test_every_example_in_the_docs_makes_its_overlay(self):
        examples = doc_examples("example")
        self.assertGreaterEqual(len(examples), 7, "docs/openwrt.md's examples were found")
        for name, shell, expected in examples:
            with self.subTest(example=name):
                self.box.reset()
                status, out, err = self.overlay_of(shell)
                self.assertEqual(status, 0, err)
                self.assertEqual(toml_lines(out), toml_lines(expected))

    def test_every_refused_example_in_the_docs_logs_its_line(self):
        examples = doc_examples("refused")
        self.assertGreaterEqual(len(examples), 1)
        for name, shell, expected in examples:
            with self.subTest(example=name):
                self.box.reset()
                # logread is OpenWrt's (ubox); the log is router.messages() here.
                shell = "\n".join(line for line in shell.splitlines() if not line.startswith("logread"))
                mark = len(self.box.r.messages())
                status, _, err = self.overlay_of(shell)
                self.assertEqual(status, 1)
                for line in expected.strip().splitlines():
                    self.assertIn(line, self.box.logged(mark, line))
                    self.assertIn(line.split(" ", 1)[1], err, "and on stderr")

    def test_the_shipped_file_sets_nothing_but_enabled(self):
        """An upgrader's edited TOML must keep deciding: the shipped UCI
        file makes an overlay without a single key."""
        shown = self.box.sh("uci show ap-exporter").stdout.split()
        self.assertEqual(shown, ["ap-exporter.main=ap-exporter", "ap-exporter.main.enabled='1'",
                                 "ap-exporter.collectors=collectors"])
        status, out, _ = self.overlay_of("true")
        self.assertEqual((status, toml_lines(out)), (0, []))

    def test_the_shipped_file_and_the_init_script_know_every_collector(self):
        collectors = collectors_of_toml()
        self.assertEqual(len(collectors), 16)
        init = read(INIT).decode()
        self.assertEqual(re.search(r'^COLLECTORS="([^"]*)"', init, re.M).group(1).split(), collectors)
        self.assertEqual(re.findall(r"^\t#option (\w+) '1'$", read(UCI).decode().split("config collectors")[1], re.M),
                         collectors)
        # The bound the init script checks max_stations against is the exporter's.
        config = read(os.path.join(ROOT, "src/config/mod.rs")).decode()
        self.assertIn("max_stations: Bounded<1, 4096>", config)
        self.assertIn('is_number "$count" 4096', init)

    def test_hostile_and_bad_values_are_refused_with_a_message(self):
        cases = [
            ("uci set ap-exporter.main.port=99999", "main.port '99999' is not a port (1-65535)"),
            ("uci set ap-exporter.main.port=0", "main.port '0' is not a port"),
            ("uci set ap-exporter.main.port=65536", "is not a port"),
            ("uci set ap-exporter.main.port=09101", "main.port '09101' is not a port"),
            ("uci set ap-exporter.main.port=123456789012345678901234567890", "is not a port"),
            ("uci set ap-exporter.main.port=-1", "is not a port"),
            ("uci set ap-exporter.main.port='9101 '", "is not a port"),
            ("uci set ap-exporter.main.port='$(reboot)'", "main.port '$(reboot)' is not a port"),
            ("uci set ap-exporter.main.port=\"$(printf '9100\\n[auth]')\"", "main.port '9100?[auth]' is not a port"),
            ("uci set ap-exporter.main.listen_interface=\"br'lan\"", "main.listen_interface 'br'lan' is not a network"),
            ("uci set ap-exporter.main.listen_interface='lan\"'", "is not a network or device name"),
            ("uci set ap-exporter.main.listen_interface=\"$(printf 'lan\\nlisten = []')\"", "'lan?listen = []'"),
            ("uci set ap-exporter.main.listen_interface='`reboot`'", "'`reboot`' is not a network"),
            ("uci set ap-exporter.main.listen_interface='br lan'", "is not a network or device name"),
            ("uci set ap-exporter.main.listen_interface=a-name-longer-than-15", "is not a network or device name"),
            ("uci set ap-exporter.main.listen_interface=..", "is not a network or device name"),
            ("uci set ap-exporter.main.listen_interface='wlan0;reboot'", "is not a network or device name"),
            ("uci add_list ap-exporter.main.listen_address=192.168.1.256", "'192.168.1.256' is not an IPv4 or IPv6"),
            ("uci add_list ap-exporter.main.listen_address=1.2.3", "is not an IPv4 or IPv6 address"),
            ("uci add_list ap-exporter.main.listen_address=01.2.3.4", "is not an IPv4 or IPv6 address"),
            ("uci add_list ap-exporter.main.listen_address=fe80::1%br-lan", "is not an IPv4 or IPv6 address"),
            ("uci add_list ap-exporter.main.listen_address=localhost", "'localhost' is not an IPv4 or IPv6"),
            ("uci add_list ap-exporter.main.listen_address='*'", "'*' is not an IPv4 or IPv6 address"),
            ("uci add_list ap-exporter.main.listen_address='1.2.3.4 5.6.7.8'", "'1.2.3.4 5.6.7.8' is not an IPv4"),
            ("uci add_list ap-exporter.main.listen_address='\"]'", "is not an IPv4 or IPv6 address"),
            ("uci add_list ap-exporter.main.listen_address=10.0.0.1; uci add_list ap-exporter.main.listen_address=10.0.0.1",
             "'10.0.0.1' is listed twice"),
            ("uci set ap-exporter.main.listen_interface=lan; uci add_list ap-exporter.main.listen_address=10.0.0.300",
             "'10.0.0.300' is not an IPv4 or IPv6 address"),
            ("uci set ap-exporter.main.enabled=perhaps", "main.enabled 'perhaps' is not a boolean"),
            ("uci set ap-exporter.main.stations=maybe", "main.stations 'maybe' is not a boolean"),
            ("uci set ap-exporter.collectors.wireless=banana", "collectors.wireless 'banana' is not a boolean"),
            ("uci set ap-exporter.collectors.wireless=\"$(printf '0\\nx')\"", "collectors.wireless '0?x'"),
            ("uci set ap-exporter.main.max_stations=0", "main.max_stations '0' is not a number from 1 to 4096"),
            ("uci set ap-exporter.main.max_stations=4097", "is not a number from 1 to 4096"),
            ("uci set ap-exporter.main.max_stations=64k", "is not a number from 1 to 4096"),
            ("uci set ap-exporter.collectors.wifi=0", "no collector wifi"),
            # A device name netifd gave that is no name (as network_get_device would return it).
            ("printf 'br\"lan\\n' > /var/run/netifd-standin/lan; uci set ap-exporter.main.listen_interface=lan",
             "main.listen_interface 'br\"lan' is not a device name (the device of lan)"),
            ("uci set ap-exporter.main.prot=9101", "main has no option prot"),
            # Sections nothing reads: misspelt, anonymous (uci add, LuCI), of another type.
            ("printf \"\\nconfig ap-exporter 'mian'\\n\\toption enabled '0'\\n\" >> /etc/config/ap-exporter",
             "section ap-exporter 'mian' is not one this script reads"),
            ("printf \"\\nconfig ap-exporter\\n\\toption port '9101'\\n\" >> /etc/config/ap-exporter",
             "is not one this script reads"),
            ("printf \"\\nconfig collector 'wireless'\\n\\toption enabled '0'\\n\" >> /etc/config/ap-exporter",
             "section collector 'wireless' is not one this script reads"),
        ]
        for shell, message in cases:
            with self.subTest(shell=shell):
                self.box.reset()
                mark = len(self.box.r.messages())
                status, out, err = self.overlay_of(shell)
                self.assertEqual((status, out), (1, ""), "refused, and no TOML printed")
                self.assertIn(message, err)
                self.assertTrue(err.endswith("; nothing changed\n"), err)
                self.assertEqual(err.count("\n"), 1, "one line, whatever the value holds: %r" % err)
                self.assertIn(message, self.box.logged(mark, message), "and in the system log")

    def test_a_refused_value_on_reload_leaves_the_running_exporter_and_its_overlay(self):
        box = self.box
        self.assertEqual(box.sh("/etc/init.d/ap-exporter start").returncode, 0)
        good = box.overlay()
        self.assertIsNotNone(good)
        pid = box.started()
        for shell in ("uci set ap-exporter.main.port='9100\"]'", "uci set ap-exporter.main.listen_interface='$(id)'",
                      "uci set ap-exporter.collectors.cpu=sometimes"):
            with self.subTest(shell=shell):
                log = box.wait_log(lambda log: False, 0.3)
                out = box.sh(shell + "; uci commit ap-exporter; reload_config")
                self.assertIn("nothing changed", out.stderr, "the reload ran, and refused")
                self.assertEqual(box.overlay(), good, "the overlay is as it was")
                self.assertFalse(os.path.exists(os.path.join(box.r.root, OVERLAY + ".new")))
                self.assertEqual(box.wait_log(lambda log: False, 0.3), log, "no SIGHUP, no restart")
                self.assertEqual(box.r.pids(), [pid])
                box.reset()
                box.sh("reload_config")

    def test_the_exporters_own_refusal_is_logged_and_changes_nothing(self):
        box = self.box
        box.sh("/etc/init.d/ap-exporter start")
        box.started()
        good, log = box.overlay(), box.exporter_log()
        with open(os.path.join(box.r.root, "tmp/check-refuses"), "w") as f:
            f.write("ap-exporter: /var/etc/ap-exporter.uci.toml.new:4:10: not an address\n")
        mark = len(box.r.messages())
        out = box.sh("uci set ap-exporter.main.port=9101; uci commit; reload_config")
        refused = ("ap-exporter --check-config refuses /etc/ap-exporter.toml with the UCI settings over it "
                   "(the line before says why); nothing changed")
        logged = box.logged(mark, refused)
        self.assertIn("ap-exporter.uci.toml.new:4:10: not an address", logged)
        self.assertIn(refused, logged)
        self.assertIn(refused, out.stderr)
        self.assertEqual((box.overlay(), box.wait_log(lambda log: False, 0.3)), (good, log))

    def test_a_uci_change_is_applied_by_sighup_to_the_same_process(self):
        box = self.box
        box.sh("/etc/init.d/ap-exporter start")
        pid = box.started()
        start = box.exporter_log()[-1].split()
        self.assertEqual(start[2:], ["--config", "/etc/ap-exporter.toml", "--config", "/" + OVERLAY, "--syslog"])
        box.sh("uci set ap-exporter.main.port=9101; uci commit; reload_config")
        self.assertEqual(toml_lines(box.overlay()), ['listen = [":9101"]'])
        self.assertEqual(box.wait_log(lambda log: log[-1] != " ".join(start))[-1], "hup %s" % pid)
        self.assertEqual(box.r.pids(), [pid])
        # Nothing changed since: reload_config runs nothing.
        log = box.exporter_log()
        box.sh("reload_config")
        self.assertEqual(box.wait_log(lambda log: False, 0.3), log)

    def test_enabled_0_stops_it_and_1_starts_it_again(self):
        box = self.box
        box.sh("uci set ap-exporter.main.port=9101; uci commit")
        box.sh("/etc/init.d/ap-exporter start")
        pid = box.started()
        self.assertIsNotNone(box.overlay())
        out = box.sh("uci set ap-exporter.main.enabled=0; uci commit; reload_config")
        self.assertEqual(box.r.pids(), [])
        self.assertIsNone(box.overlay(), "no stale settings for a plain ap-exporter --status to read")
        self.assertIn("term %s" % pid, box.wait_log(lambda log: "term %s" % pid in log))
        self.assertIn("enabled is '0'", out.stderr)
        status = box.sh("/etc/init.d/ap-exporter status")
        self.assertEqual(status.returncode, 3)
        self.assertTrue(status.stdout.startswith("active with no instances: not running (enabled '0'"), status.stdout)
        # Not started by hand either, while it says 0.
        box.sh("/etc/init.d/ap-exporter start")
        self.assertEqual(box.r.pids(), [])
        box.sh("uci set ap-exporter.main.enabled=1; uci commit; reload_config")
        self.assertEqual(len(box.r.pids()), 1, "the reload trigger stayed registered")
        self.assertNotEqual(box.started(), pid)

    def test_an_interface_event_reloads_with_the_device(self):
        box = self.box
        box.sh("/etc/init.d/ap-exporter start")
        pid = box.started()
        hup = "hup %s" % pid
        box.sh("uci set ap-exporter.main.listen_interface=lan; uci commit; reload_config")
        triggers = read(os.path.join(box.r.root, "var/run/procd-standin/ap-exporter.triggers")).decode()
        self.assertIn("interface.*\tinterface\tlan\t/etc/init.d/ap-exporter reload", triggers)
        self.assertEqual(toml_lines(box.overlay()), ['listen_interface = "br-lan"', 'listen = [":9100"]'])
        hups = box.wait_log(lambda log: hup in log).count(hup)
        self.assertEqual(hups, 1, "the reload_config")
        box.sh("/sbin/ifup lan")
        self.assertEqual(box.wait_log(lambda log: log.count(hup) > 1).count(hup), 2, "ifup lan: reload, SIGHUP")
        # Another network's event (as ifup wan would send it): nothing.
        box.sh("/usr/libexec/procd-event interface.update interface wan")
        self.assertEqual(box.wait_log(lambda log: False, 0.3).count(hup), 2, "another network: nothing")
        # The network down: the name stands for a device until it is up again.
        os.remove(os.path.join(box.r.root, "var/run/netifd-standin/lan"))
        box.sh("/etc/init.d/ap-exporter reload")
        self.assertEqual(toml_lines(box.overlay())[0], 'listen_interface = "lan"')
        box.sh("/sbin/ifup lan")
        self.assertEqual(toml_lines(box.overlay())[0], 'listen_interface = "br-lan"')
        self.assertEqual(box.r.pids(), [pid])
        # Unset again: the interface trigger goes.
        box.sh("uci delete ap-exporter.main.listen_interface; uci commit; reload_config")
        triggers = read(os.path.join(box.r.root, "var/run/procd-standin/ap-exporter.triggers")).decode()
        self.assertNotIn("interface", triggers)

    def test_a_config_installed_after_boot_is_noticed_at_its_first_change(self):
        """reload_config only checks configs it has a line for: the init
        script adds ap-exporter's when it starts."""
        box = self.box
        sums = os.path.join(box.r.root, "var/run/config.md5")
        with open(sums) as f:
            kept = [line for line in f if not line.endswith("/ap-exporter\n")]
        with open(sums, "w") as f:
            f.writelines(kept)
        box.sh("/etc/init.d/ap-exporter start")
        self.assertIn("/var/run/config.check/ap-exporter\n", read(sums).decode())
        pid = box.started()
        box.sh("uci set ap-exporter.main.port=9101; uci commit; reload_config")
        self.assertEqual(box.wait_log(lambda log: log[-1] == "hup %s" % pid)[-1], "hup %s" % pid)
        self.assertFalse(os.path.exists(os.path.join(box.r.root, "var/run/config.check")))

    def test_missing_sections_or_file_leave_the_toml_in_charge(self):
        for shell in ("uci delete ap-exporter.collectors", "uci delete ap-exporter.main",
                      "uci delete ap-exporter.main; uci delete ap-exporter.collectors", "rm /etc/config/ap-exporter",
                      "printf '' > /etc/config/ap-exporter"):
            with self.subTest(shell=shell):
                self.box.reset()
                status, out, err = self.overlay_of(shell)
                self.assertEqual((status, toml_lines(out)), (0, []), err)
                self.assertTrue(out.startswith("# Written by /etc/init.d/ap-exporter"))

    def test_enabled_0_makes_no_overlay(self):
        status, out, err = self.overlay_of("uci set ap-exporter.main.enabled=0; uci set ap-exporter.main.port=bad")
        self.assertEqual((status, out), (0, ""), "with enabled 0 nothing else is judged")
        self.assertIn("enabled is '0'", err)

    def test_listen_address_set_as_an_option_counts(self):
        """uci set of one address makes an option, not a list; it still counts."""
        status, out, err = self.overlay_of("uci set ap-exporter.main.listen_address=10.1.2.3")
        self.assertEqual((status, toml_lines(out)), (0, ['listen = ["10.1.2.3:9100"]']), err)

    def test_booleans_take_config_get_bools_words(self):
        words = {"1": "true", "on": "true", "true": "true", "yes": "true", "enabled": "true",
                 "0": "false", "off": "false", "false": "false", "no": "false", "disabled": "false"}
        for word, toml in words.items():
            with self.subTest(word=word):
                self.box.reset()
                status, out, err = self.overlay_of("uci set ap-exporter.collectors.time=%s" % word)
                self.assertEqual((status, toml_lines(out)), (0, ["[collectors]", "time = %s" % toml]), err)


class UciStandin(unittest.TestCase):
    """The uci stand-in itself: uci's file format, as uci commit writes it."""

    @classmethod
    def setUpClass(cls):
        cls.r = router.Router("openwrt")

    @classmethod
    def tearDownClass(cls):
        cls.r.close()

    def test_commit_writes_uci_format_and_drops_comments(self):
        shutil.copy(UCI, os.path.join(self.r.root, "etc/config/ap-exporter"))
        self.r.sh("uci set ap-exporter.main.port=9101; uci add_list ap-exporter.main.listen_address=\"it's\"; "
                  "uci set ap-exporter.collectors.arp=\"$(printf 'a\\nb')\"")
        self.assertEqual(read(os.path.join(self.r.root, "etc/config/ap-exporter")), read(UCI), "not before commit")
        self.assertEqual(self.r.sh("uci get ap-exporter.main.port").stdout, "9101\n", "but uci reads it already")
        self.r.sh("uci commit ap-exporter")
        self.assertEqual(read(os.path.join(self.r.root, "etc/config/ap-exporter")).decode(),
                         "\nconfig ap-exporter 'main'\n\toption enabled '1'\n\toption port '9101'\n"
                         "\tlist listen_address 'it'\\''s'\n\nconfig collectors 'collectors'\n\toption arp 'a\nb'\n\n")
        self.assertEqual(os.stat(os.path.join(self.r.root, "etc/config/ap-exporter")).st_mode & 0o777, 0o644,
                         "the file's mode is kept")
        self.assertEqual(self.r.sh("uci show ap-exporter").stdout,
                         "ap-exporter.main=ap-exporter\nap-exporter.main.enabled='1'\nap-exporter.main.port='9101'\n"
                         "ap-exporter.main.listen_address='it'\\''s'\nap-exporter.collectors=collectors\n"
                         "ap-exporter.collectors.arp='a\nb'\n")
        self.assertEqual(self.r.sh("uci get ap-exporter.collectors.arp").stdout, "a\nb\n")
        self.assertTrue(self.r.sh("uci export ap-exporter").stdout.startswith("package ap-exporter\n\nconfig "))

    def test_errors(self):
        shutil.copy(UCI, os.path.join(self.r.root, "etc/config/ap-exporter"))
        for cmd in ("uci get ap-exporter.main.nothing", "uci get ap-exporter.nosuch", "uci set ap-exporter.nosuch.x=1",
                    "uci get nosuchpackage.main", "uci delete ap-exporter.main.nothing"):
            with self.subTest(cmd=cmd):
                out = self.r.sh(cmd)
                self.assertEqual((out.returncode, out.stdout, out.stderr), (1, "", "uci: Entry not found\n"))
                self.assertEqual(self.r.sh(cmd.replace("uci ", "uci -q ", 1)).stderr, "")
        out = self.r.sh("uci set 'ap-exporter.main.bad-name=1'")
        self.assertEqual((out.returncode, out.stderr), (1, "uci: Invalid argument\n"))


class ExportersVerdict(unittest.TestCase):
    """The real exporter's --check-config on the shipped TOML with each
    overlay of the docs' examples: what it reads when the init script
    starts it. Needs the binary's multi-file --config and listen_interface
    (the lead's contracts a and b)."""

    def test_overlays_pass_the_exporters_check(self):
        box = OpenWrtRoot()
        try:
            overlays = {}
            for name, shell, _ in doc_examples("example"):
                box.reset()
                box.sh(shell)
                overlays[name] = box.sh("/etc/init.d/ap-exporter overlay").stdout
        finally:
            box.close()
        _, _, _, data = players.read_ipk(ipk_path("openwrt", "x86_64"))
        files = {n[2:]: d for n, d, _ in data if d is not None}
        with tempfile.TemporaryDirectory() as tmp:
            binary, conf = os.path.join(tmp, "ap-exporter"), os.path.join(tmp, "ap-exporter.toml")
            for path, key in ((binary, "bin"), (conf, "conf")):
                with open(path, "wb") as f:
                    f.write(files[PATHS["openwrt"][key]])
            os.chmod(binary, 0o755)
            for name, text in overlays.items():
                with self.subTest(example=name):
                    overlay = os.path.join(tmp, name + ".toml")
                    with open(overlay, "w") as f:
                        f.write(text)
                    r = subprocess.run([binary, "--config", conf, "--config", overlay, "--check-config"],
                                       capture_output=True, text=True)
                    self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
