//! The shipped monitoring assets against a real Prometheus (Debian's
//! package): the example prometheus.yml scrapes an exporter every second
//! over a fixture whose counters a thread advances; then every dashboard
//! panel query must return data and the recording rules must produce the
//! by-band series.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Rewrites proc/net/dev with counters that grow every call: the 2.4 GHz
/// radio (eth1) and its guest network by 1 MB, the 5 GHz one (eth2) by 4 MB.
fn write_net_dev(proc_root: &Path, step: u64) {
    let mut text = String::from(
        "Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n",
    );
    for (dev, per_step) in [
        ("lo", 0u64),
        ("eth0", 500_000),
        ("eth1", 1_000_000),
        ("eth2", 4_000_000),
        ("wl0.1", 100_000),
        ("br0", 2_000_000),
    ] {
        let bytes = per_step * step;
        let packets = bytes / 1000;
        text.push_str(&format!("{dev:>6}: {bytes} {packets} 0 0 0 0 0 0 {bytes} {packets} 0 0 0 0 0 0\n"));
    }
    let tmp = proc_root.join("net/dev.tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(tmp, proc_root.join("net/dev")).unwrap();
}

#[test]
fn dashboard_queries_and_recording_rules_on_a_real_prometheus() {
    let dir = TempDir::new("prom");
    // The Merlin fixture, copied so the test can advance its counters.
    let fixture = dir.path().join("ap");
    copy_tree(&fixtures().join("merlin_wl"), &fixture);
    write_net_dev(&fixture.join("proc"), 1);
    let cfg = write_config(
        &fixture,
        "listen = [\"127.0.0.1:0\"]\n[wireless]\nbackend = \"wl\"\nwl_command = \"bin/wl\"\nnvram_command = \"bin/nvram\"\nleases = \"dnsmasq.leases\"\n[paths]\nprocfs = \"proc\"\n",
    );
    let mut exporter = Exporter::start(&cfg, &fixture);
    let target = exporter.wait_listening();

    let stop = Arc::new(AtomicBool::new(false));
    let advancer = {
        let stop = stop.clone();
        let proc_root = fixture.join("proc");
        std::thread::spawn(move || {
            let mut step = 2;
            while !stop.load(Ordering::Relaxed) {
                write_net_dev(&proc_root, step);
                step += 1;
                std::thread::sleep(Duration::from_millis(200));
            }
        })
    };

    // The shipped example, with only the target and the intervals changed.
    let example = std::fs::read_to_string(repo().join("files/prometheus/prometheus.yml")).unwrap();
    let config = example
        .replace("scrape_interval: 15s", "scrape_interval: 1s")
        .replace("evaluation_interval: 15s", "evaluation_interval: 1s")
        .replace("\"192.168.1.1:9100\"", &format!("\"{target}\""));
    assert_ne!(config, example, "the example's target line changed; update this test");
    let prom_dir = dir.path().join("prometheus");
    std::fs::create_dir_all(&prom_dir).unwrap();
    for f in ["ap-exporter.rules.yml", "ap-exporter.alerts.yml"] {
        std::fs::copy(repo().join("files").join(f), prom_dir.join(f)).unwrap();
    }
    let config_path = prom_dir.join("prometheus.yml");
    std::fs::write(&config_path, config).unwrap();
    let check = std::process::Command::new("promtool").arg("check").arg("config").arg(&config_path).output().unwrap();
    assert!(check.status.success(), "promtool check config: {}", String::from_utf8_lossy(&check.stdout));

    let prom = Prometheus::start(&prom_dir, &config_path);
    prom.wait_for("up{job=\"ap-exporter\"}", 1.0, Duration::from_secs(60));
    // Enough scrapes for rate() over the dashboard's window.
    prom.wait_for("count_over_time(up{job=\"ap-exporter\"}[1m])", 6.0, Duration::from_secs(60));

    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join("files/grafana-dashboard.json")).unwrap()).unwrap();
    let vars: Vec<&str> =
        dashboard["templating"]["list"].as_array().unwrap().iter().map(|v| v["name"].as_str().unwrap()).collect();
    assert_eq!(vars, ["datasource", "instance"], "datasource and instance are template variables");
    let instance_query = dashboard["templating"]["list"][1]["definition"].as_str().unwrap();
    assert_eq!(instance_query, "label_values(ap_exporter_build_info, instance)");
    assert!(!prom.query("ap_exporter_build_info").is_empty(), "the instance variable would list nothing");

    let mut empty = Vec::new();
    let mut checked = 0;
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap().replace("$instance", ".+").replace("$__rate_interval", "10s");
            checked += 1;
            if prom.query(&expr).is_empty() {
                empty.push(format!("{}: {expr}", panel["title"]));
            }
        }
    }
    assert!(checked >= 18, "only {checked} panel queries");
    assert!(empty.is_empty(), "panel queries without data:\n{}", empty.join("\n"));

    // The recording rules give one series per band, and 5 GHz carries four
    // times the 2.4 GHz radio's own traffic (plus its guest network's).
    prom.wait_for("instance_band:wifi_network_transmit_bytes:rate5m", 1.0, Duration::from_secs(30));
    let by_band = prom.query("instance_band:wifi_network_transmit_bytes:rate5m");
    let bands: Vec<(String, f64)> =
        by_band.iter().map(|s| (s["metric"]["band"].as_str().unwrap().to_string(), sample_value(s))).collect();
    assert_eq!(bands.len(), 2, "{bands:?}");
    let g24 = bands.iter().find(|(b, _)| b == "2.4GHz").unwrap().1;
    let g5 = bands.iter().find(|(b, _)| b == "5GHz").unwrap().1;
    assert!(g24 > 0.0 && g5 > 3.0 * g24, "5 GHz should carry about 3.6x the 2.4 GHz traffic: {bands:?}");
    assert_eq!(prom.query("instance_band:wifi_stations:sum").len(), 2);
    // Alert rules are loaded and healthy.
    let rules = get(prom.addr, "/api/v1/rules").text();
    assert!(rules.contains("WifiStationWeakSignal") && !rules.contains("\"health\":\"err\""), "{rules}");

    stop.store(true, Ordering::Relaxed);
    advancer.join().unwrap();
    assert!(exporter.alive());
}
