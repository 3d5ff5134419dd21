//! The nl80211 backend against a real kernel: Debian 12's stock kernel in
//! QEMU with mac80211_hwsim, hostapd as an AP on one radio and
//! wpa_supplicant as a station on the other (tests/hwsim/). The static
//! x86_64-musl exporter runs inside with `--once`. The station, its
//! signal, its bytes and the band must appear.
//!
//! `UPDATE_NL80211_FIXTURES=1` also copies the captured replies and the
//! guest's /proc/net/dev into tests/fixtures/openwrt_nl80211/.

mod common;

use common::*;
use std::path::PathBuf;
use std::process::Command;

fn section<'a>(report: &'a str, name: &str) -> &'a str {
    let start =
        report.find(&format!("=== {name}\n")).unwrap_or_else(|| panic!("no {name} section in the report:\n{report}"));
    let body = &report[start + name.len() + 5..];
    &body[..body.find("\n=== ").map_or(body.len(), |i| i + 1)]
}

fn value(scrape: &str, prefix: &str) -> i64 {
    scrape
        .lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no {prefix}... in:\n{scrape}"))
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn nl80211_station_on_a_real_kernel() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let exporter = root.join("target/x86_64-unknown-linux-musl/release/ap-exporter");
    assert!(exporter.exists(), "{} is missing: run `make test`", exporter.display());
    let out = TempDir::new("hwsim");
    let status = Command::new("python3")
        .arg(root.join("tests/hwsim/vm.py"))
        .arg("--work")
        .arg(root.join("target/hwsim"))
        .arg("--exporter")
        .arg(&exporter)
        .arg("--out")
        .arg(out.path())
        .status()
        .unwrap();
    assert!(status.success(), "the VM run failed; see its messages above");
    let report = std::fs::read_to_string(out.path().join("report.txt")).unwrap();

    assert!(section(&report, "WPA").contains("wpa_state=COMPLETED"), "the station never associated:\n{report}");
    assert!(section(&report, "PING").contains(" 0% packet loss"), "no traffic over the air:\n{report}");
    assert_eq!(section(&report, "LO_TX_PACKETS").trim(), "0", "traffic went over lo, not the simulated air");
    assert!(report.contains("=== EXIT 0\n"), "the exporter failed:\n{}", section(&report, "STDERR"));

    let scrape = section(&report, "SCRAPE");
    promtool_check(scrape).unwrap();
    assert!(scrape.contains("node_scrape_collector_success{collector=\"wireless\"} 1"));
    assert!(scrape.contains(
        "wifi_network_info{band=\"2.4GHz\",bssid=\"02:00:00:00:00:00\",channel=\"6\",ifname=\"wlan0\",mode=\"ap\",radio=\"phy0\",ssid=\"ap-exporter-test\"} 1"
    ), "{scrape}");
    assert!(scrape.contains("wifi_network_frequency_hertz{ifname=\"wlan0\"} 2437000000"));
    assert!(scrape.contains("wifi_network_channel_width_hertz{ifname=\"wlan0\"} 20000000"));
    assert!(scrape.contains("wifi_stations{ifname=\"wlan0\"} 1"));
    let sta = "{ifname=\"wlan0\",mac=\"02:00:00:00:01:00\"} ";
    assert_eq!(value(scrape, &format!("wifi_station_signal_dbm{sta}")), -30);
    for family in [
        "wifi_station_transmit_bytes_total",
        "wifi_station_receive_bytes_total",
        "wifi_station_transmit_packets_total",
        "wifi_station_receive_packets_total",
        "wifi_station_transmit_kilobits_per_second",
    ] {
        assert!(value(scrape, &format!("{family}{sta}")) > 0, "{family} should be above 0");
    }
    // The 10 pings of 1000 bytes crossed the air: at least 10 kB each way.
    assert!(value(scrape, &format!("wifi_station_receive_bytes_total{sta}")) >= 10_000);
    // iw, run after the scrape, sees at least as many bytes.
    let iw = section(&report, "IW");
    let iw_rx: i64 = iw.lines().find_map(|l| l.trim().strip_prefix("rx bytes:")).unwrap().trim().parse().unwrap();
    assert!(iw_rx >= value(scrape, &format!("wifi_station_receive_bytes_total{sta}")));

    if std::env::var_os("UPDATE_NL80211_FIXTURES").is_some() {
        let fixture = root.join("tests/fixtures/openwrt_nl80211");
        std::fs::create_dir_all(fixture.join("nl80211")).unwrap();
        std::fs::create_dir_all(fixture.join("proc/net")).unwrap();
        for entry in std::fs::read_dir(out.path().join("capture")).unwrap() {
            let p = entry.unwrap().path();
            std::fs::copy(&p, fixture.join("nl80211").join(p.file_name().unwrap())).unwrap();
        }
        std::fs::write(fixture.join("proc/net/dev"), section(&report, "NET_DEV")).unwrap();
        println!("updated {}", fixture.display());
    }
}
