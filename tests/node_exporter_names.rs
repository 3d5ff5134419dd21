//! Metric names and types for netdev, load and conntrack match Debian's
//! prometheus-node-exporter over the same fake proc root, so existing
//! dashboards work unchanged.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `# TYPE` lines of the families that start with one of `prefixes`.
fn types(text: &str, prefixes: &[&str]) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_once(' '))
        .filter(|(name, _)| prefixes.iter().any(|p| name.starts_with(p)))
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect()
}

#[test]
fn names_and_types_match_node_exporter() {
    let proc_root = fixtures().join("modern_openwrt/proc");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut node = Command::new("prometheus-node-exporter")
        .args([
            "--collector.disable-defaults",
            "--collector.netdev",
            "--no-collector.netdev.netlink",
            "--collector.netdev.device-exclude=^lo$",
            "--collector.loadavg",
            "--collector.conntrack",
        ])
        .arg(format!("--path.procfs={}", proc_root.display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prometheus-node-exporter must be installed (apt-get install prometheus-node-exporter)");
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let end = Instant::now() + Duration::from_secs(20);
    let theirs = loop {
        if let Ok(mut s) = std::net::TcpStream::connect(addr) {
            use std::io::Write;
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            // HTTP/1.0, so Go answers without chunked framing.
            s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").unwrap();
            let mut buf = String::new();
            use std::io::Read;
            let _ = s.read_to_string(&mut buf);
            if buf.contains("node_load1") {
                break buf;
            }
        }
        assert!(Instant::now() < end, "node_exporter did not answer");
        std::thread::sleep(Duration::from_millis(100));
    };
    let _ = node.kill();
    let _ = node.wait();

    let ours = Command::new(exporter_bin())
        .args(["--once", "--config", "config.toml"])
        .current_dir(fixtures().join("modern_openwrt"))
        .output()
        .unwrap();
    let ours = String::from_utf8(ours.stdout).unwrap();
    let prefixes = ["node_network_", "node_load", "node_nf_conntrack"];
    let mut theirs = types(&theirs, &prefixes);
    // receive_nohandler only comes from netlink, which a 2.6.22 kernel lacks.
    theirs.remove("node_network_receive_nohandler_total");
    let ours = types(&ours, &prefixes);
    assert!(theirs.len() >= 25, "node_exporter gave too little to compare: {theirs:?}");
    assert_eq!(ours, theirs);
}
