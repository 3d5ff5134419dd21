//! `listen_interface`: the exporter listens on an interface's addresses and
//! follows them as they come, change and go, as on a router whose LAN
//! address comes from DHCP or whose bridge is made after the exporter
//! starts. The test makes its own network namespace and veth pair (link-local
//! 169.254.212.0/29, never routed anywhere); the exporter runs inside the
//! namespace, the test scrapes from this side. Needs root and iproute2.

mod common;

use common::*;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const HOST_IP: &str = "169.254.212.1";
const FIRST_IP: &str = "169.254.212.2";
const SECOND_IP: &str = "169.254.212.3";

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
}

impl Namespace {
    /// `tag` keeps the names of tests running at once apart.
    fn new(tag: u32) -> Namespace {
        // SAFETY: geteuid has no preconditions.
        assert_eq!(unsafe { libc::geteuid() }, 0, "this test makes a network namespace and needs root");
        let id = std::process::id() % 10_000 * 10 + tag;
        let ns = Namespace { name: format!("apx-li-{id}"), host_dev: format!("apxl{id}a"), dev: format!("apxl{id}b") };
        let _ = Command::new("ip").args(["netns", "del", &ns.name]).output();
        ip(&["netns", "add", &ns.name]);
        ip(&["link", "add", &ns.host_dev, "type", "veth", "peer", "name", &ns.dev, "netns", &ns.name]);
        let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{}/disable_ipv6", ns.host_dev), "1");
        ns.exec(&["sysctl", "-qw", &format!("net.ipv6.conf.{}.disable_ipv6=1", ns.dev)]);
        ip(&["addr", "add", &format!("{HOST_IP}/29"), "dev", &ns.host_dev]);
        ip(&["link", "set", &ns.host_dev, "up"]);
        ns.exec(&["ip", "link", "set", "lo", "up"]);
        ns.exec(&["ip", "link", "set", &ns.dev, "up"]);
        ns
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
            "listen = [\":{port}\"]\nlisten_interface = \"{}\"\nallow = [\"169.254.212.0/29\"]\n[collectors]\nwireless = false\n[paths]\nprocfs = {:?}\n",
            ns.dev,
            proc_root.display().to_string()
        ),
    );
    let child = ns
        .exporter(&["--config".as_ref(), cfg.as_os_str()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut exp = Exporter::adopt(child);
    // Started with no address there: it runs, says so once, and waits.
    let line = exp.wait_for("listen_interface", Duration::from_secs(10));
    assert!(line.contains(&format!("listen_interface {}: no IP address yet: not listening there", ns.dev)), "{line}");
    exp.wait_for("started", Duration::from_secs(10));
    let first: SocketAddr = format!("{FIRST_IP}:{port}").parse().unwrap();
    let second: SocketAddr = format!("{SECOND_IP}:{port}").parse().unwrap();
    assert!(!serves(first));

    // The address arrives (DHCP); a SIGHUP (procd's interface trigger) binds it at once.
    ns.exec(&["ip", "addr", "add", &format!("{FIRST_IP}/29"), "dev", &ns.dev]);
    exp.signal(libc::SIGHUP);
    exp.wait_for(&format!("listening on {first}"), Duration::from_secs(10));
    assert!(serves(first));

    // It changes with no signal at all: the periodic look follows it.
    ns.exec(&["ip", "addr", "del", &format!("{FIRST_IP}/29"), "dev", &ns.dev]);
    ns.exec(&["ip", "addr", "add", &format!("{SECOND_IP}/29"), "dev", &ns.dev]);
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
    let line = report.lines().find(|l| l.contains("listen interface")).unwrap_or_default();
    assert!(
        line.starts_with("FAIL listen interface nosuch0: no such interface (those with an address: ")
            && line.contains("lo")
            && line.ends_with("; fix: set listen_interface to one of those (ip link shows them)"),
        "{report}"
    );
    assert_eq!(code, Some(1));

    let cfg = write(&ns.dev);
    let (report, _) = run(&cfg, "--diagnose");
    assert!(report.contains(&format!("warn listen interface {}: no IP address yet: ", ns.dev)), "{report}");
    let (said, code) = run(&cfg, "--status");
    assert_eq!(said.trim(), format!("not serving: listen_interface {}: no IP address yet", ns.dev));
    assert_eq!(code, Some(1));

    ns.exec(&["ip", "addr", "add", &format!("{FIRST_IP}/29"), "dev", &ns.dev]);
    let (report, _) = run(&cfg, "--diagnose");
    assert!(report.contains(&format!("info listen interface {}: {FIRST_IP}\n", ns.dev)), "{report}");
    assert!(report.contains(&format!("ok   listen {FIRST_IP}:9178: can bind")), "{report}");
}
