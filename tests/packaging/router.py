"""A router in a box for the live lifecycle tests: a private mount, pid and
network namespace (unshare), in which maintainer and init scripts run as on
a router and touch nothing of this machine.

  Entware   a scratch directory is bind-mounted over /opt, and /bin/sh is
            busybox, as on a router (Debian's dash would print rc.func's
            "echo -e -n" literally).
  OpenWrt   a scratch root holding busybox and the stand-ins for procd's
            rc.common, /lib/functions.sh's config functions, network.sh,
            uci, ubus, reload_config and ifup (standins/: each says what it
            reproduces), entered with chroot. With syslog=True a busybox
            syslogd writes /var/log/messages (read it with messages()), as
            logd does on OpenWrt for logger and the exporter's --syslog.

The network namespace has loopback alone: the exporter's default
0.0.0.0:9100 reaches no other host, and the tests scrape 127.0.0.1 inside
it with busybox wget. PID 1 is a busybox shell that reaps the daemons the
init scripts leave behind; killing it ends everything the test started.
"""
import os
import shutil
import stat
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# PID 1: say it is up, then reap orphans for as long as the test runs.
HOLDER = "echo ready; while :; do sleep 3600 & wait; done"


def busybox():
    path = shutil.which("busybox")
    if path is None or subprocess.run(["ldd", path], capture_output=True).returncode == 0:
        raise RuntimeError("a static busybox is needed (apt-get install busybox-static)")
    return path


class Router:
    def __init__(self, flavor, syslog=False):
        if os.geteuid() != 0:
            raise RuntimeError("the live tests need root (namespaces, mounts, chroot)")
        self.flavor = flavor
        self.tmp = tempfile.mkdtemp(prefix="router-%s-" % flavor)
        # The files as the package manager sees them: opt/... or the whole root.
        self.root = os.path.join(self.tmp, "root")
        if flavor == "entware":
            os.makedirs(os.path.join(self.root, "opt/etc/init.d"))
            shutil.copy(os.path.join(HERE, "standins/rc.func"), os.path.join(self.root, "opt/etc/init.d/rc.func"))
            setup = "mount --bind %s/opt /opt && mount --bind %s /bin/sh && busybox ip link set lo up && %s" % (
                self.root, busybox(), HOLDER)
        else:
            self._openwrt_root()
            logd = "/bin/syslogd -O /var/log/messages && " if syslog else ""
            setup = "mount -t proc proc %s/proc && exec chroot %s /bin/sh -c '/bin/ip link set lo up && %s%s'" % (
                self.root, self.root, logd, HOLDER)
        self.unshare = subprocess.Popen(
            ["unshare", "--mount", "--pid", "--net", "--fork", "--mount-proc", "--propagation", "private",
             busybox(), "sh", "-c", setup],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        if self.unshare.stdout.readline() != b"ready\n":
            self.unshare.kill()
            raise RuntimeError("namespace setup failed: %s" % self.unshare.communicate()[1].decode())
        with open("/proc/%d/task/%d/children" % (self.unshare.pid, self.unshare.pid)) as f:
            self.pid1 = int(f.read().split()[0])

    # Stand-ins and where they go in an OpenWrt root.
    OPENWRT_STANDINS = {"rc.common": "etc/rc.common", "functions.sh": "lib/functions.sh",
                        "network.sh": "lib/functions/network.sh", "uci": "sbin/uci", "ubus": "bin/ubus",
                        "reload_config": "sbin/reload_config", "ifup": "sbin/ifup",
                        "procd-event": "usr/libexec/procd-event"}

    def _openwrt_root(self):
        for d in ("bin", "sbin", "etc/init.d", "etc/rc.d", "etc/config", "usr/bin", "usr/libexec", "var/run",
                  "var/etc", "var/lock", "var/log", "proc", "dev", "lib/functions"):
            os.makedirs(os.path.join(self.root, d))
        os.makedirs(os.path.join(self.root, "tmp"), mode=0o1777)
        shutil.copy(busybox(), os.path.join(self.root, "bin/busybox"))
        applets = subprocess.run([busybox(), "--list"], capture_output=True, text=True, check=True).stdout.split()
        for applet in applets:
            if applet != "busybox":
                os.symlink("busybox", os.path.join(self.root, "bin", applet))
        for name, path in self.OPENWRT_STANDINS.items():
            shutil.copy(os.path.join(HERE, "standins", name), os.path.join(self.root, path))
        for name, minor in (("null", 3), ("zero", 5), ("random", 8), ("urandom", 9)):
            os.mknod(os.path.join(self.root, "dev", name), stat.S_IFCHR | 0o666, os.makedev(1, minor))

    def run(self, argv, env, timeout=60):
        """Runs argv inside, with env alone as its environment."""
        enter = ["nsenter", "-t", str(self.pid1), "-m", "-p", "-n"]
        if self.flavor != "entware":
            enter += ["-r", "-w"]
        cmd = enter + ["--", "/bin/busybox", "env", "-i"] + ["%s=%s" % kv for kv in sorted(env.items())] + argv
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)

    def sh(self, script):
        """A shell command as the router's user types it."""
        return self.run(["/bin/sh", "-c", script], {"PATH": "/opt/sbin:/opt/bin:/usr/sbin:/usr/bin:/sbin:/bin"})

    def pids(self, name="ap-exporter"):
        """The running processes of that name, without zombies and without
        the child an exporter forks for an isolated collector, which pidof
        also lists when it meets a scrape."""
        script = ('for p in $(/bin/busybox pidof %s); do read -r s < /proc/$p/stat || continue; set -- ${s##*) }; '
                  '[ "$1" = Z ] || [ "$(/bin/busybox cat /proc/$2/comm 2>/dev/null)" = %s ] || echo $p; done')
        return self.run(["/bin/busybox", "sh", "-c", script % (name, name)], {}).stdout.split()

    def children(self, pid, name="ap-exporter"):
        """The running processes of that name whose parent is pid."""
        script = ('for p in $(/bin/busybox pidof %s); do read -r s < /proc/$p/stat || continue; set -- ${s##*) }; '
                  '[ "$1" != Z ] && [ "$2" = %d ] && echo $p; done')
        return self.run(["/bin/busybox", "sh", "-c", script % (name, int(pid))], {}).stdout.split()

    def net(self, argv):
        """Runs a command of this machine (such as iproute2's ip) in the
        router's network namespace alone; raises when it fails."""
        return subprocess.run(["nsenter", "-t", str(self.pid1), "-n", "--"] + argv, capture_output=True, text=True,
                              check=True)

    def messages(self):
        """The system log so far (syslog=True)."""
        path = os.path.join(self.root, "var/log/messages")
        if not os.path.exists(path):
            return ""
        with open(path, errors="replace") as f:
            return f.read()

    def processes(self):
        """The process list, for failure messages."""
        return self.run(["/bin/busybox", "ps", "-o", "pid,ppid,stat,comm,args"], {}).stdout

    def scrape(self, port, host="127.0.0.1"):
        """The /metrics text, or None when nothing answers on host:port."""
        # busybox 1.35's static wget crashes on its own -T: bound it with timeout.
        r = self.run(["/bin/busybox", "timeout", "5", "/bin/busybox", "wget", "-q", "-O", "-",
                      "http://%s:%d/metrics" % (host, port)], {})
        return r.stdout if r.returncode == 0 else None

    def wait_scrape(self, port, want="", seconds=15, host="127.0.0.1"):
        """Scrapes until the text holds want; returns it, or None."""
        end = time.time() + seconds
        while True:
            text = self.scrape(port, host)
            if text is not None and want in text:
                return text
            if time.time() > end:
                return None
            time.sleep(0.2)

    def close(self):
        os.kill(self.pid1, 9)
        self.unshare.wait(timeout=30)
        self.unshare.stdout.close()
        self.unshare.stderr.close()
        shutil.rmtree(self.tmp)
