//! An interface in client mode (a repeater's uplink, a mesh node's STA
//! side) lists its own AP where an AP lists its clients. That AP must
//! never be exported as a station: it is the interface's link, in the
//! `wifi_network_*` series, and it stays so with `stations = false`, which
//! only switches the per-station series off. Over the nl80211 capture
//! (wlan1 is a WPA2 client of wlan0) and the wl repeater fixture (eth2
//! answers `wl ap` 0).

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

/// `--once` over a copy of fixture `name` whose config gets `extra` (in
/// its `[wireless]` table): the scrape.
fn once(name: &str, extra: &str) -> String {
    let dir = TempDir::new("wireless-mode");
    copy_tree(&fixtures().join(name), dir.path());
    let config = std::fs::read_to_string(dir.path().join("config.toml")).unwrap();
    let config = config.replace("[wireless]\n", &format!("[wireless]\n{extra}"));
    std::fs::write(dir.path().join("config.toml"), config).unwrap();
    run(dir.path())
}

fn run(dir: &Path) -> String {
    let out = Command::new(exporter_bin())
        .args(["--once", "--config", "config.toml"])
        .current_dir(dir)
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    assert!(out.status.success(), "exit {:?}: {}", out.status, String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// The sample lines of `scrape` that carry `label`.
fn lines_with<'a>(scrape: &'a str, label: &str) -> Vec<&'a str> {
    scrape.lines().filter(|l| !l.starts_with('#') && l.contains(label)).collect()
}

#[test]
fn the_ap_of_a_client_interface_is_its_link_not_a_station() {
    // (fixture, the client interface, its AP's MAC, its link's figures)
    let cases = [
        (
            "openwrt_nl80211",
            "wlan1",
            "02:00:00:00:00:00",
            ["wifi_network_signal_dbm{ifname=\"wlan1\"} -30", "_phy_rate_bytes_per_second{ifname=\"wlan1\"} 13000000"],
        ),
        (
            "wl_repeater",
            "eth2",
            "0c:9d:92:5e:11:40",
            ["wifi_network_signal_dbm{ifname=\"eth2\"} -27", "_phy_rate_bytes_per_second{ifname=\"eth2\"} 54166625"],
        ),
    ];
    for (fixture, ifname, ap, link) in cases {
        // The link is not a station, so the station limit spares it too.
        for extra in ["", "stations = false\n", "max_stations = 1\n"] {
            let scrape = once(fixture, extra);
            let client = format!("ifname=\"{ifname}\"");
            // Its AP is the BSSID of its network, and nowhere a station.
            let info = lines_with(&scrape, "wifi_network_info{");
            assert!(
                info.iter().any(|l| l.contains(&client)
                    && l.contains(&format!("bssid=\"{ap}\","))
                    && l.contains("mode=\"station\"")),
                "{fixture} {extra:?}: {info:?}"
            );
            assert_eq!(lines_with(&scrape, &format!("mac=\"{ap}\"")), Vec::<&str>::new(), "{fixture} {extra:?}");
            let stations: Vec<&str> =
                lines_with(&scrape, &client).into_iter().filter(|l| l.starts_with("wifi_station_")).collect();
            assert_eq!(stations, Vec::<&str>::new(), "{fixture} {extra:?}");
            for want in link {
                assert!(scrape.lines().any(|l| l.ends_with(want)), "{fixture} {extra:?}: no {want} in\n{scrape}");
            }
            // No clients: 0, as an idle AP, while stations are counted at all.
            let count = format!("wifi_stations{{{client}}} 0");
            assert_eq!(scrape.lines().any(|l| l == count), !extra.starts_with("stations"), "{fixture} {extra:?}");
        }
    }
}

#[test]
fn an_ap_and_a_mode_unknown_keep_their_stations() {
    let scrape = once("wl_repeater", "");
    // eth1 answers `wl ap` 1, wl0.1's driver has no `wl ap`: both as before.
    assert!(scrape.contains("wifi_station_signal_dbm{ifname=\"eth1\",mac=\"f0:99:bf:92:1c:98\"} -27\n"), "{scrape}");
    assert!(scrape.contains("wifi_station_signal_dbm{ifname=\"wl0.1\",mac=\"34:53:d2:fc:e5:12\"} -46\n"), "{scrape}");
    assert!(scrape.contains("wifi_stations{ifname=\"wl0.1\"} 1\n"), "{scrape}");
    assert_eq!(lines_with(&scrape, "wifi_network_signal_dbm{ifname=\"eth1\"}"), Vec::<&str>::new());
}

#[test]
fn a_client_whose_wl_lists_no_ap_keeps_the_bssid_of_its_status() {
    // Between association and the first frame, or with a driver whose
    // sta_info refuses the AP, there is no entry: no link figures, no
    // station, and the BSSID `wl status` tells.
    let dir = TempDir::new("wireless-mode");
    copy_tree(&fixtures().join("wl_repeater"), dir.path());
    std::fs::remove_file(dir.path().join("wl/eth2.sta_info.0c-9d-92-5e-11-40")).unwrap();
    let scrape = run(dir.path());
    assert!(scrape.contains("bssid=\"0c:9d:92:5e:11:40\",channel=\"52\",ifname=\"eth2\",mode=\"station\""), "{scrape}");
    assert_eq!(lines_with(&scrape, "{ifname=\"eth2\",mac="), Vec::<&str>::new());
    assert_eq!(lines_with(&scrape, "wifi_network_signal_dbm{ifname=\"eth2\"}"), Vec::<&str>::new());
    assert!(scrape.contains("wifi_stations{ifname=\"eth2\"} 0\n"), "{scrape}");
}

#[test]
fn a_wext_mode_is_replayed_from_the_fixture_never_asked_of_this_host() {
    let mode_of_wlan1 = |dir: &Path| {
        let scrape = run(dir);
        let info = lines_with(&scrape, "wifi_network_info{").join("\n");
        let mode = info.split("mode=\"").nth(1).and_then(|m| m.split('"').next()).map(str::to_string);
        mode.unwrap_or_else(|| panic!("no wifi_network_info in\n{scrape}"))
    };
    let dir = TempDir::new("wireless-mode");
    copy_tree(&fixtures().join("wext_only"), dir.path());
    let file = dir.path().join("sys/class/net/wlan1/iwmode");
    assert_eq!(mode_of_wlan1(dir.path()), "station");
    std::fs::write(&file, "7\n").unwrap();
    assert_eq!(mode_of_wlan1(dir.path()), "mesh");
    // Not a mode, a FIFO (must not block the read), a directory, no file:
    // unknown, and a fixture root is never asked with the host's ioctl.
    std::fs::write(&file, "managed\n").unwrap();
    assert_eq!(mode_of_wlan1(dir.path()), "");
    std::fs::remove_file(&file).unwrap();
    let fifo = std::ffi::CString::new(file.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo reads the NUL-terminated path only.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    assert_eq!(mode_of_wlan1(dir.path()), "");
    std::fs::remove_file(&file).unwrap();
    std::fs::create_dir(&file).unwrap();
    assert_eq!(mode_of_wlan1(dir.path()), "");
    std::fs::remove_dir(&file).unwrap();
    assert_eq!(mode_of_wlan1(dir.path()), "");
}
