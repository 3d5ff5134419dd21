//! `listen_interface`: the exporter listens on an interface's addresses and
//! follows them as they come, change and go, as on a router whose LAN
//! address comes from DHCP or whose bridge is made after the exporter
//! starts. Each test makes its own network namespace and veth pair (a /29 of
//! link-local 169.254.212.0/24 each, never routed anywhere); the exporter runs inside the
//! namespace, the test scrapes from this side. Needs root and iproute2.

mod common;

use common::*;
use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("iproute2 (ip) is needed");
    assert!(out.status.success(), "ip {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A namespace holding one end of a veth pair, with no address yet.
struct Namespace {
    name: String,
    host_dev: String,
    /// The end inside the namespace: what listen_interface names.
    dev: String,
    /// The first address of its own /29: tests running at once must not
    /// share a subnet, or a connection leaves by the other test's veth.
    base: u32,
}

impl Namespace {
    /// `tag` keeps the names of tests running at once apart.
    fn new(tag: u32) -> Namespace {
        // SAFETY: geteuid has no preconditions.
        assert_eq!(unsafe { libc::geteuid() }, 0, "this test makes a network namespace and needs root");
        let id = std::process::id() % 10_000 * 10 + tag;
        let ns = Namespace {
            name: format!("apx-li-{id}"),
            host_dev: format!("apxl{id}a"),
            dev: format!("apxl{id}b"),
            base: 8 * tag,
        };
        let _ = Command::new("ip").args(["netns", "del", &ns.name]).output();
        ip(&["netns", "add", &ns.name]);
        ip(&["link", "add", &ns.host_dev, "type", "veth", "peer", "name", &ns.dev, "netns", &ns.name]);
        let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{}/disable_ipv6", ns.host_dev), "1");
        ns.exec(&["sysctl", "-qw", &format!("net.ipv6.conf.{}.disable_ipv6=1", ns.dev)]);
        ip(&["addr", "add", &format!("{}/29", ns.addr(1)), "dev", &ns.host_dev]);
        ip(&["link", "set", &ns.host_dev, "up"]);
        ns.exec(&["ip", "link", "set", "lo", "up"]);
        ns.exec(&["ip", "link", "set", &ns.dev, "up"]);
        ns
    }

    /// Address `n` of its /29: 1 is this side's, 2 and 3 are for the namespace's end.
    fn addr(&self, n: u32) -> String {
        format!("169.254.212.{}", self.base + n)
    }

    fn exec(&self, args: &[&str]) {
        let mut all = vec!["netns", "exec", &self.name];
        all.extend_from_slice(args);
        ip(&all);
    }

    fn exporter(&self, args: &[&std::ffi::OsStr]) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name]).arg(exporter_bin()).args(args);
        cmd
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["link", "del", &self.host_dev]).output();
        let _ = Command::new("ip").args(["netns", "del", &self.name]).output();
    }
}

/// Whether a scrape of `addr` answers 200 (a refused or unreachable
/// connection is `false`).
fn serves(addr: SocketAddr) -> bool {
    let Ok(mut s) = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else { return false };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    use std::io::{Read, Write};
    let _ = s.write_all(b"GET /metrics?collect[]=load HTTP/1.0\r\n\r\n");
    let mut head = [0u8; 12];
    s.read_exact(&mut head).is_ok() && &head == b"HTTP/1.1 200"
}

fn wait_until(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let end = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < end, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn follows_the_interfaces_address_as_it_comes_and_changes() {
    let ns = Namespace::new(1);
    let dir = TempDir::new("listen-if");
    let port = 9177;
    let proc_root = fixtures().join("modern_openwrt/proc");
    let cfg = write_config(
        dir.path(),
        &format!(
            "listen = [\":{port}\"]\nlisten_interface = \"{}\"\nallow = [\"169.254.212.0/24\"]\n[collectors]\nwireless = false\n[paths]\nprocfs = {:?}\n",
            ns.dev,
            proc_root.display().to_string()
        ),
    );
    let mut exp = Exporter::spawn(&mut ns.exporter(&["--config".as_ref(), cfg.as_os_str()]));
    // Started with no address there: it runs, says so once, and waits.
    let line = exp.wait_for("listen_interface", Duration::from_secs(10));
    assert!(line.contains(&format!("listen_interface {}: no IP address yet: not listening there", ns.dev)), "{line}");
    exp.wait_for("started", Duration::from_secs(10));
    let first: SocketAddr = format!("{}:{port}", ns.addr(2)).parse().unwrap();
    let second: SocketAddr = format!("{}:{port}", ns.addr(3)).parse().unwrap();
    assert!(!serves(first));

    // The address arrives (DHCP); a SIGHUP (procd's interface trigger) binds it at once.
    ns.exec(&["ip", "addr", "add", &format!("{}/29", ns.addr(2)), "dev", &ns.dev]);
    exp.signal(libc::SIGHUP);
    exp.wait_for(&format!("listening on {first}"), Duration::from_secs(10));
    assert!(serves(first));

    // It changes with no signal at all: the periodic look follows it.
    ns.exec(&["ip", "addr", "del", &format!("{}/29", ns.addr(2)), "dev", &ns.dev]);
    ns.exec(&["ip", "addr", "add", &format!("{}/29", ns.addr(3)), "dev", &ns.dev]);
    exp.wait_for(&format!("listening on {second}"), Duration::from_secs(30));
    wait_until("the new address serves", Duration::from_secs(5), || serves(second));
    assert!(!serves(first), "the old address no longer serves");
    let log = exp.drain_log();
    assert_eq!(log.matches("no IP address yet").count(), 1, "warned once:\n{log}");
    assert!(exp.alive());
}

#[test]
fn diagnose_and_status_name_the_interface() {
    let ns = Namespace::new(2);
    let dir = TempDir::new("listen-if-diag");
    let write = |name: &str| {
        write_config(
            dir.path(),
            &format!(
                "listen = [\"0.0.0.0:9178\"]\nlisten_interface = \"{name}\"\n[collectors]\nwireless = false\n\
                 conntrack = false\n"
            ),
        )
    };
    let run = |cfg: &std::path::Path, flag: &str| {
        let out = ns.exporter(&[flag.as_ref(), "--config".as_ref(), cfg.as_os_str()]).output().unwrap();
        (String::from_utf8_lossy(&out.stdout).into_owned(), out.status.code())
    };
    let cfg = write("nosuch0");
    let (report, code) = run(&cfg, "--diagnose");
    assert!(
        report.contains(
            "FAIL listen interface nosuch0: no such interface; fix: set listen_interface to one that ip link shows\n"
        ),
        "{report}"
    );
    assert_eq!(code, Some(1));

    let cfg = write(&ns.dev);
    let (report, _) = run(&cfg, "--diagnose");
    assert!(
        report.contains(&format!("warn listen interface {}: no IP address yet; fix: bring it up", ns.dev)),
        "{report}"
    );
    let (said, code) = run(&cfg, "--status");
    assert_eq!(said.trim(), format!("not serving: listen_interface {}: no IP address yet", ns.dev));
    assert_eq!(code, Some(1));

    ns.exec(&["ip", "addr", "add", &format!("{}/29", ns.addr(2)), "dev", &ns.dev]);
    let (report, _) = run(&cfg, "--diagnose");
    assert!(!report.contains("listen interface"), "no line when the interface gave its addresses:\n{report}");
    assert!(report.contains(&format!("ok   listen {}:9178: can bind", ns.addr(2))), "{report}");
}

/// An IPv6 address still in duplicate address detection (as a ULA is for a
/// second after ifup, when netifd's trigger fires) cannot be bound: it is
/// left out, and bound at a later look once it is ready, link-local one
/// too; `--status` then asks the first, a link-local address, with its scope.
#[test]
fn a_tentative_ipv6_address_is_bound_once_it_is_ready() {
    let ns = Namespace::new(3);
    if !std::path::Path::new("/proc/net/if_inet6").exists() {
        panic!("this test needs a kernel with IPv6");
    }
    // No carrier on the namespace's end while the host's end is down: its address stays tentative.
    ip(&["link", "set", &ns.host_dev, "down"]);
    ns.exec(&["sysctl", "-qw", &format!("net.ipv6.conf.{}.disable_ipv6=0", ns.dev)]);
    ns.exec(&["ip", "-6", "addr", "add", "fd00:212::2/64", "dev", &ns.dev]);
    let dir = TempDir::new("listen-if-v6");
    let port = 9179;
    let cfg = write_config(
        dir.path(),
        &format!(
            "listen = [\"[::]:{port}\"]\nlisten_interface = \"{}\"\nallow = [\"::/0\"]\n[collectors]\nwireless = false\n",
            ns.dev
        ),
    );
    let mut exp = Exporter::spawn(&mut ns.exporter(&["--config".as_ref(), cfg.as_os_str()]));
    exp.wait_for("no IP address yet", Duration::from_secs(10));
    ip(&["link", "set", &ns.host_dev, "up"]);
    exp.wait_for(&format!("listening on [fd00:212::2]:{port}"), Duration::from_secs(40));
    let (said, code) = {
        let out = ns.exporter(&["--status".as_ref(), "--config".as_ref(), cfg.as_os_str()]).output().unwrap();
        (String::from_utf8_lossy(&out.stdout).into_owned(), out.status.code())
    };
    assert_eq!(code, Some(0), "{said}");
    assert!(said.starts_with("serving on [") && said.contains(&format!("]:{port}: ap-exporter ")), "{said}");
    assert!(exp.alive());
}
