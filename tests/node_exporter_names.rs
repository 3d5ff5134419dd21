//! The families ap-exporter shares with node_exporter match Debian's
//! prometheus-node-exporter (1.5) over the same fake proc root, so existing
//! dashboards work unchanged: names and types for netdev, load and
//! conntrack; names, label sets and values for cpu, stat, meminfo and arp;
//! names and label names for time and uname (whose values come from the
//! clock and, for node_exporter, from the running kernel).

mod common;

use common::*;
use std::collections::BTreeMap;
use std::path::Path;
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

/// A sample line's name, its labels sorted by name, and its value.
fn sample(line: &str) -> (String, Vec<(String, String)>, f64) {
    let (series, value) = line.rsplit_once(' ').unwrap();
    let value: f64 = value.parse().unwrap_or_else(|_| panic!("bad value in {line:?}"));
    let Some((name, rest)) = series.split_once('{') else { return (series.to_string(), Vec::new(), value) };
    let mut labels = Vec::new();
    let mut chars = rest.chars().peekable();
    loop {
        let key: String = chars.by_ref().take_while(|&c| c != '=').collect();
        if key.is_empty() || key == "}" {
            break;
        }
        assert_eq!(chars.next(), Some('"'), "{line:?}");
        let mut v = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => v.push(chars.next().unwrap()),
                '"' => break,
                c => v.push(c),
            }
        }
        labels.push((key.trim_start_matches(',').to_string(), v));
        if chars.peek() == Some(&'}') {
            break;
        }
    }
    labels.sort();
    (name.to_string(), labels, value)
}

/// Series (name and sorted labels) and values of the samples whose name is
/// in `names` or starts with one of `prefixes`.
fn series(text: &str, prefixes: &[&str]) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(sample)
        .filter(|(name, _, _)| prefixes.iter().any(|p| name.starts_with(p)))
        .map(|(name, labels, v)| (format!("{name}{labels:?}"), v))
        .collect()
}

/// Each family's label names, for families whose values cannot match.
fn label_names(text: &str, prefixes: &[&str]) -> BTreeMap<String, Vec<String>> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(sample)
        .filter(|(name, _, _)| prefixes.iter().any(|p| name.starts_with(p)))
        .map(|(name, labels, _)| (name, labels.into_iter().map(|(k, _)| k).collect()))
        .collect()
}

/// Runs node_exporter with `collectors` over `proc_root` and scrapes it once.
fn node_exporter(collectors: &[&str], proc_root: &Path) -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let empty_sys = TempDir::new("ne-sys");
    let mut node = Command::new("prometheus-node-exporter")
        .arg("--collector.disable-defaults")
        .args(collectors)
        .arg(format!("--path.procfs={}", proc_root.display()))
        .arg(format!("--path.sysfs={}", empty_sys.path().display()))
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
            // HTTP/1.0, so Go answers without chunked framing.
            s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").unwrap();
            let mut buf = String::new();
            let _ = s.read_to_string(&mut buf);
            if buf.contains("node_scrape_collector_success") {
                break buf.split_once("\r\n\r\n").map_or(buf.clone(), |(_, body)| body.to_string());
            }
        }
        assert!(Instant::now() < end, "node_exporter did not answer");
        std::thread::sleep(Duration::from_millis(100));
    };
    let _ = node.kill();
    let _ = node.wait();
    text
}

/// ap-exporter's `--once` scrape of a fixture scenario.
fn ours(scenario: &str) -> String {
    let out = Command::new(exporter_bin())
        .args(["--once", "--config", "config.toml"])
        .current_dir(fixtures().join(scenario))
        .env_remove("TZ")
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn names_and_types_match_node_exporter() {
    let theirs = node_exporter(
        &[
            "--collector.netdev",
            "--no-collector.netdev.netlink",
            "--collector.netdev.device-exclude=^lo$",
            "--collector.loadavg",
            "--collector.conntrack",
        ],
        &fixtures().join("modern_openwrt/proc"),
    );
    let ours = ours("modern_openwrt");
    let prefixes = ["node_network_", "node_load", "node_nf_conntrack"];
    let mut theirs = types(&theirs, &prefixes);
    // receive_nohandler only comes from netlink, which a 2.6.22 kernel lacks.
    theirs.remove("node_network_receive_nohandler_total");
    let ours = types(&ours, &prefixes);
    assert!(theirs.len() >= 25, "node_exporter gave too little to compare: {theirs:?}");
    assert_eq!(ours, theirs);
}

const PROC_COLLECTORS: [&str; 6] = [
    "--collector.cpu",
    "--collector.stat",
    "--collector.meminfo",
    "--collector.arp",
    "--collector.time",
    "--collector.uname",
];

/// Families whose names, labels and values must be node_exporter's.
const EQUAL: [&str; 8] = [
    "node_cpu_",
    "node_memory_",
    "node_arp_",
    "node_boot_time_seconds",
    "node_context_switches_total",
    "node_forks_total",
    "node_intr_total",
    "node_procs_",
];

/// Families with node_exporter's names and label names: the clocks differ
/// by the time between scrapes, node_exporter's zone is the host's (ours is
/// the fixture's etc/TZ), and so is its uname.
const SHAPED: [&str; 2] = ["node_time_", "node_uname_info"];

#[test]
fn proc_collectors_equal_node_exporter_on_openwrt() {
    let theirs = node_exporter(&PROC_COLLECTORS, &fixtures().join("modern_openwrt/proc"));
    let ours = ours("modern_openwrt");
    let (t, o) = (series(&theirs, &EQUAL), series(&ours, &EQUAL));
    assert!(t.len() >= 80, "node_exporter gave too little to compare: {t:?}");
    assert_eq!(o, t);
    assert_eq!(types(&ours, &EQUAL), types(&theirs, &EQUAL));
    assert_eq!(label_names(&ours, &SHAPED), label_names(&theirs, &SHAPED));
    assert_eq!(types(&ours, &SHAPED), types(&theirs, &SHAPED));
}

#[test]
fn proc_collectors_equal_node_exporter_on_2_6_22() {
    let theirs = node_exporter(&PROC_COLLECTORS, &fixtures().join("legacy_2.6.22_merlin/proc"));
    let ours = ours("legacy_2.6.22_merlin");
    let mut t = series(&theirs, &EQUAL);
    // 2.6.22 has no guest columns: node_exporter reports 0, we leave them out.
    let guest = "node_cpu_guest_seconds_total";
    assert!(t.keys().any(|k| k.starts_with(guest)));
    t.retain(|k, _| !k.starts_with(guest));
    let o = series(&ours, &EQUAL);
    assert!(t.len() >= 40, "node_exporter gave too little to compare: {t:?}");
    assert_eq!(o, t);
    assert_eq!(label_names(&ours, &SHAPED), label_names(&theirs, &SHAPED));
}
