//! Growing past one AP: 20 exporters on loopback ports, each over its own
//! fixture root, and one Prometheus using the example fleet config's
//! file_sd. All 20 must be up, and fleet-wide sums must add up.

mod common;

use common::*;
use std::path::PathBuf;
use std::time::Duration;

const FLEET: u64 = 20;

#[test]
fn twenty_access_points_through_file_sd() {
    let dir = TempDir::new("fleet");
    let mut exporters = Vec::new();
    let mut targets = Vec::new();
    for i in 1..=FLEET {
        let root = dir.path().join(format!("ap{i}"));
        std::fs::create_dir_all(root.join("proc/net")).unwrap();
        std::fs::create_dir_all(root.join("proc/sys/net/netfilter")).unwrap();
        std::fs::write(root.join("proc/loadavg"), format!("{}.00 0.50 0.25 1/80 100\n", i % 4)).unwrap();
        std::fs::write(root.join("proc/sys/net/netfilter/nf_conntrack_count"), format!("{}\n", i * 10)).unwrap();
        std::fs::write(root.join("proc/sys/net/netfilter/nf_conntrack_max"), "16384\n").unwrap();
        std::fs::write(
            root.join("proc/net/dev"),
            format!("h|\nh|\n  eth0: {} 1 0 0 0 0 0 0 {} 1 0 0 0 0 0 0\n", i * 1000, i * 2000),
        )
        .unwrap();
        let cfg = write_config(
            &root,
            "listen = [\"127.0.0.1:0\"]\nconnection_timeout_seconds = 30\n[collectors]\nwireless = false\n[paths]\nprocfs = \"proc\"\nsysfs = \"sys\"\n",
        );
        let mut e = Exporter::start(&cfg, &root);
        targets.push(e.wait_listening().to_string());
        exporters.push(e);
    }

    let prom_dir = dir.path().join("prometheus");
    std::fs::create_dir_all(prom_dir.join("targets")).unwrap();
    let files = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("files");
    for f in ["ap-exporter.rules.yml", "ap-exporter.alerts.yml"] {
        std::fs::copy(files.join(f), prom_dir.join(f)).unwrap();
    }
    let example = std::fs::read_to_string(files.join("prometheus/fleet.yml")).unwrap();
    let config = example
        .replace("scrape_interval: 15s", "scrape_interval: 1s")
        .replace("evaluation_interval: 15s", "evaluation_interval: 1s")
        .replace("refresh_interval: 1m", "refresh_interval: 1s");
    std::fs::write(prom_dir.join("prometheus.yml"), config).unwrap();
    // The example's targets file shape, with our loopback addresses.
    let example_targets: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(files.join("prometheus/targets/aps.json")).unwrap()).unwrap();
    assert!(example_targets[0]["targets"].is_array() && example_targets[0]["labels"].is_object());
    let groups: Vec<serde_json::Value> = targets
        .chunks(5)
        .enumerate()
        .map(|(floor, t)| serde_json::json!({"targets": t, "labels": {"site": "test", "floor": floor.to_string()}}))
        .collect();
    std::fs::write(prom_dir.join("targets/aps.json"), serde_json::to_string_pretty(&groups).unwrap()).unwrap();

    let prom = Prometheus::start(&prom_dir, &prom_dir.join("prometheus.yml"));
    prom.wait_for("count(up{job=\"ap-exporter\"} == 1)", FLEET as f64, Duration::from_secs(90));
    let up = prom.query("count(up{job=\"ap-exporter\"} == 1)");
    assert_eq!(sample_value(&up[0]), FLEET as f64);
    // Fleet-wide sums equal what the 20 fixture roots hold.
    prom.wait_for("count(node_nf_conntrack_entries)", FLEET as f64, Duration::from_secs(30));
    let expected_conntrack: u64 = (1..=FLEET).map(|i| i * 10).sum();
    assert_eq!(sample_value(&prom.query("sum(node_nf_conntrack_entries)")[0]), expected_conntrack as f64);
    let expected_tx: u64 = (1..=FLEET).map(|i| i * 2000).sum();
    assert_eq!(
        sample_value(&prom.query("sum(node_network_transmit_bytes_total{device=\"eth0\"})")[0]),
        expected_tx as f64
    );
    // The file_sd labels arrive, so a per-floor view works too.
    assert_eq!(prom.query("count by (floor) (up{site=\"test\"})").len(), 4);
    for mut e in exporters {
        assert!(e.alive());
    }
}
