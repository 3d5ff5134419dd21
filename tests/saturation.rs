//! The SNMP failure, reproduced: during a saturating transfer the counters
//! must keep moving. The test makes its own network namespace and veth pair
//! (link-local 169.254.211.0/30, never routed anywhere), blasts UDP through
//! it for about 10 s, scrapes every 250 ms, and checks the transmit counters
//! rise on every scrape and end equal to the kernel's own statistics.
//! Needs root (CI runs as root) and iproute2.

mod common;

use common::*;
use std::net::UdpSocket;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const HOST_IP: &str = "169.254.211.1";
const PEER_IP: &str = "169.254.211.2";

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("iproute2 (ip) is needed");
    assert!(out.status.success(), "ip {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A namespace with one end of a veth pair; the other end stays here.
struct VethPair {
    netns: String,
    host_dev: String,
}

impl VethPair {
    fn new() -> VethPair {
        let id = std::process::id() % 100_000;
        let netns = format!("apx-sat-{id}");
        let host_dev = format!("apxs{id}a");
        let peer_dev = format!("apxs{id}b");
        let _ = Command::new("ip").args(["netns", "del", &netns]).output();
        ip(&["netns", "add", &netns]);
        let pair = VethPair { netns: netns.clone(), host_dev: host_dev.clone() };
        ip(&["link", "add", &host_dev, "type", "veth", "peer", "name", &peer_dev, "netns", &netns]);
        // No IPv6 chatter (router solicitations) to disturb the counts.
        let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{host_dev}/disable_ipv6"), "1");
        ip(&["netns", "exec", &netns, "sysctl", "-qw", &format!("net.ipv6.conf.{peer_dev}.disable_ipv6=1")]);
        ip(&["addr", "add", &format!("{HOST_IP}/30"), "dev", &host_dev]);
        ip(&["link", "set", &host_dev, "up"]);
        ip(&["netns", "exec", &netns, "ip", "addr", "add", &format!("{PEER_IP}/30"), "dev", &peer_dev]);
        ip(&["netns", "exec", &netns, "ip", "link", "set", &peer_dev, "up"]);
        pair
    }

    fn sys_stat(&self, name: &str) -> u64 {
        std::fs::read_to_string(format!("/sys/class/net/{}/statistics/{name}", self.host_dev))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }
}

impl Drop for VethPair {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["link", "del", &self.host_dev]).output();
        let _ = Command::new("ip").args(["netns", "del", &self.netns]).output();
    }
}

fn counter(text: &str, family: &str, dev: &str) -> u64 {
    let prefix = format!("{family}{{device=\"{dev}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {prefix} in scrape"))
        .parse()
        .unwrap()
}

#[test]
fn counters_keep_rising_through_a_saturating_transfer() {
    // SAFETY: geteuid has no preconditions.
    assert_eq!(unsafe { libc::geteuid() }, 0, "this test creates a network namespace and needs root");
    let veth = VethPair::new();
    let dir = TempDir::new("sat");
    let cfg = write_config(
        dir.path(),
        &format!(
            "listen = [\"127.0.0.1:0\"]\n[collectors]\nwireless = false\nconntrack = false\nload = false\n[netdev]\ninclude = [\"{}\"]\n",
            veth.host_dev
        ),
    );
    let mut exp = Exporter::start(&cfg, dir.path());
    let addr = exp.wait_listening();

    let stop = Arc::new(AtomicBool::new(false));
    let sender = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let sock = UdpSocket::bind((HOST_IP, 0)).unwrap();
            let payload = [0x5au8; 1400];
            let mut sent = 0u64;
            while !stop.load(Ordering::Relaxed) {
                if sock.send_to(&payload, (PEER_IP, 9)).is_ok() {
                    sent += payload.len() as u64;
                }
            }
            sent
        })
    };

    let started = Instant::now();
    let mut last: Option<(u64, u64)> = None;
    let mut scrapes = 0;
    while started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(250));
        let r = get(addr, "/metrics?collect[]=netdev");
        assert_eq!(r.status, 200);
        let text = r.text();
        let now = (
            counter(&text, "node_network_transmit_bytes_total", &veth.host_dev),
            counter(&text, "node_network_transmit_packets_total", &veth.host_dev),
        );
        if let Some(prev) = last {
            assert!(now.0 > prev.0 && now.1 > prev.1, "scrape {scrapes}: counters did not rise: {prev:?} -> {now:?}");
        }
        last = Some(now);
        scrapes += 1;
    }
    stop.store(true, Ordering::Relaxed);
    let sent = sender.join().unwrap();
    assert!(scrapes >= 20, "only {scrapes} scrapes in 10 s");

    // Quiet now: the exporter's figures equal the kernel's own.
    std::thread::sleep(Duration::from_millis(300));
    let mut matched = false;
    for _ in 0..10 {
        let text = get(addr, "/metrics?collect[]=netdev").text();
        let pairs = [
            ("node_network_transmit_bytes_total", "tx_bytes"),
            ("node_network_transmit_packets_total", "tx_packets"),
            ("node_network_receive_bytes_total", "rx_bytes"),
            ("node_network_receive_packets_total", "rx_packets"),
        ];
        if pairs.iter().all(|(family, stat)| counter(&text, family, &veth.host_dev) == veth.sys_stat(stat)) {
            matched = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(matched, "scrape and /sys/class/net/{}/statistics disagree", veth.host_dev);
    println!("{scrapes} scrapes during {:.1} MB of UDP; counters rose on every one", sent as f64 / 1e6);
    assert!(exp.alive());
}
