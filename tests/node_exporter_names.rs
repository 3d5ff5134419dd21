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
    let mut ours = types(&ours, &prefixes);
    // netclass's node_network_* families are compared in sysfs_collectors_match_node_exporter.
    ours.retain(|name, _| !sysfs_family(name));
    assert!(theirs.len() >= 25, "node_exporter gave too little to compare: {theirs:?}");
    assert_eq!(ours, theirs);
}

/// Runs node_exporter with `args` and returns one scrape once `ready`
/// appears in it (or after its collectors answered at all).
fn node_exporter_scrape(args: &[String], ready: &str) -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut node = Command::new("prometheus-node-exporter")
        .args(args)
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prometheus-node-exporter must be installed (apt-get install prometheus-node-exporter)");
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let end = Instant::now() + Duration::from_secs(20);
    let text = loop {
        if let Ok(mut s) = std::net::TcpStream::connect(addr) {
            use std::io::{Read, Write};
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").unwrap();
            let mut buf = String::new();
            let _ = s.read_to_string(&mut buf);
            if buf.contains(ready) {
                break buf;
            }
        }
        assert!(Instant::now() < end, "node_exporter did not answer");
        std::thread::sleep(Duration::from_millis(100));
    };
    let _ = node.kill();
    let _ = node.wait();
    text
}

/// Every sample of the families `keep` selects: (name, sorted labels) to
/// (TYPE, value). Values compare as numbers (Go and we print floats
/// differently); the exposition's escaping is kept as written.
fn samples(text: &str, keep: &dyn Fn(&str) -> bool) -> BTreeMap<(String, String), (String, String)> {
    let types = types(text, &[""]);
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let (series, value) = line.rsplit_once(' ').unwrap();
        let (name, labels) = match series.split_once('{') {
            Some((n, l)) => (n, l.trim_end_matches('}')),
            None => (series, ""),
        };
        if !keep(name) {
            continue;
        }
        // Label values never hold `",` in these fixtures, so this split is exact.
        let mut pairs: Vec<&str> = labels.split("\",").collect();
        pairs.sort();
        let v: f64 = value.parse().unwrap();
        let ty = types.get(name).cloned().unwrap_or_default();
        assert!(
            out.insert((name.to_string(), pairs.join("\",")), (ty, format!("{v:?}"))).is_none(),
            "duplicate: {line}"
        );
    }
    out
}

fn sysfs_family(name: &str) -> bool {
    let netdev = name.starts_with("node_network_receive_")
        || (name.starts_with("node_network_transmit_") && name != "node_network_transmit_queue_length");
    (name.starts_with("node_network_") && !netdev)
        || name.starts_with("node_thermal_zone_")
        || name.starts_with("node_cooling_device_")
        || name.starts_with("node_hwmon_")
}

/// netclass, thermal_zone and hwmon: over the same fake sysfs root, the
/// families, label sets and values equal node_exporter's, on a modern
/// OpenWrt root (with thermal zones, cooling devices and three hwmon
/// chips), a 2.6.22 root (fewer files, no thermal, no hwmon) and the
/// nl80211 scenario's root.
#[test]
fn sysfs_collectors_match_node_exporter() {
    for scenario in ["modern_openwrt", "legacy_2.6.22_merlin", "openwrt_nl80211", "sysfs_quirks"] {
        let dir = fixtures().join(scenario);
        let args: Vec<String> =
            ["--collector.disable-defaults", "--collector.netclass", "--collector.thermal_zone", "--collector.hwmon"]
                .iter()
                .map(|s| s.to_string())
                .chain([format!("--path.sysfs={}", dir.join("sys").display())])
                .collect();
        let theirs = node_exporter_scrape(&args, "node_scrape_collector_success{collector=\"thermal_zone\"}");
        let ours = Command::new(exporter_bin())
            .args(["--once", "--config", "config.toml"])
            .current_dir(&dir)
            .output()
            .unwrap();
        let ours = String::from_utf8(ours.stdout).unwrap();
        let theirs = samples(&theirs, &sysfs_family);
        let ours = samples(&ours, &sysfs_family);
        assert!(theirs.len() >= 20, "{scenario}: node_exporter gave too little to compare: {theirs:?}");
        let only = |a: &BTreeMap<_, _>, b: &BTreeMap<_, _>| -> Vec<String> {
            a.iter().filter(|(k, v)| b.get(*k) != Some(*v)).map(|(k, v)| format!("{k:?} {v:?}")).collect()
        };
        let (missing, extra) = (only(&theirs, &ours), only(&ours, &theirs));
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{scenario}:\nonly node_exporter: {missing:#?}\nonly ours: {extra:#?}"
        );
    }
}
