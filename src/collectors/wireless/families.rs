//! The wireless families, written from the networks the backends found.
//! Series are sorted by interface and MAC, so output is stable. A network
//! that is down has `wifi_network_up 0`, `wifi_stations 0` and nothing else.

use crate::metrics::exposition::{Exposition, MetricType, Value};
use crate::parse::leases::Leases;
use crate::parse::wifi::{Band, Network, Station};

/// A per-network family: name, HELP, and its value for one network.
type NetworkFamily<V> = (&'static str, &'static str, fn(&Network) -> Option<V>);
/// A per-station family: name, HELP, and its value for one station.
type StationFamily<V> = (&'static str, &'static str, fn(&Station) -> Option<V>);

/// How much of the per-station detail to write.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Per-station series at all.
    pub stations: bool,
    /// Most stations with series per interface; the rest (last in MAC
    /// order) are dropped and counted in `wifi_stations_dropped`.
    pub max_stations: u64,
}

/// Seconds from milliseconds.
fn seconds(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

/// Writes the wireless families for `networks` (sorted here by ifname and
/// MAC so output is stable). `leases` maps MACs to (hostname, ip).
pub fn write(networks: &mut [Network], limits: Limits, leases: &Leases, out: &mut Exposition) {
    if networks.is_empty() {
        return;
    }
    networks.sort_by(|a, b| a.ifname.cmp(&b.ifname));
    // Associated stations per network, before the limit drops any.
    let mut associated: Vec<usize> = Vec::with_capacity(networks.len());
    for n in networks.iter_mut() {
        if n.down {
            n.stations.clear();
        }
        n.stations.sort_by(|a, b| a.mac.cmp(&b.mac));
        associated.push(n.stations.len());
        n.stations.truncate(usize::try_from(limits.max_stations).unwrap_or(usize::MAX));
    }
    out.family(
        "wifi_network_up",
        "Whether the interface is up and its radio enabled (1) or not (0).",
        MetricType::Gauge,
    );
    for n in networks.iter() {
        out.sample(&[("ifname", &n.ifname)], u64::from(!n.down));
    }
    let networks_all: &[Network] = networks;
    let up: Vec<&Network> = networks_all.iter().filter(|n| !n.down).collect();
    write_networks(&up, out);
    if !limits.stations {
        return;
    }
    out.family("wifi_stations", "Number of associated stations.", MetricType::Gauge);
    for (n, count) in networks_all.iter().zip(&associated) {
        out.sample(&[("ifname", &n.ifname)], *count as u64);
    }
    out.family(
        "wifi_stations_dropped",
        "Associated stations left without per-station series by [wireless] max_stations, in this scrape.",
        MetricType::Gauge,
    );
    for (n, count) in networks_all.iter().zip(&associated) {
        out.sample(&[("ifname", &n.ifname)], count.saturating_sub(n.stations.len()) as u64);
    }
    write_stations(networks_all, leases, out);
}

/// The per-network families of the networks that are up.
fn write_networks(networks: &[&Network], out: &mut Exposition) {
    if networks.is_empty() {
        return;
    }
    out.family(
        "wifi_network_info",
        "WiFi interface: radio, SSID, BSSID, mode, band and channel; value 1.",
        MetricType::Gauge,
    );
    for n in networks.iter() {
        let channel = n.channel.map(|c| c.to_string()).unwrap_or_default();
        out.sample(
            &[
                ("band", n.band.map_or("", Band::label)),
                ("bssid", &n.bssid),
                ("channel", &channel),
                ("ifname", &n.ifname),
                ("mode", &n.mode),
                ("radio", &n.radio),
                ("ssid", &n.ssid),
            ],
            1u64,
        );
    }
    let per_network: [NetworkFamily<i64>; 7] = [
        ("wifi_network_frequency_hertz", "Centre frequency of the primary channel.", |n| {
            n.frequency_mhz.map(|f| i64::from(f) * 1_000_000)
        }),
        ("wifi_network_channel_width_hertz", "Channel width.", |n| n.width_mhz.map(|w| i64::from(w) * 1_000_000)),
        ("wifi_network_noise_dbm", "Noise floor on the channel in dBm.", |n| n.noise_dbm.map(i64::from)),
        ("wifi_network_signal_dbm", "Signal of a client-mode interface's link in dBm.", |n| {
            n.signal_dbm.map(i64::from)
        }),
        // Bytes, not the stations' kilobits: promtool's lint wants the base
        // unit, and no older exporter's name binds these.
        (
            "wifi_network_transmit_phy_rate_bytes_per_second",
            "PHY rate of the last frame a client-mode interface sent to its AP.",
            |n| n.link_tx_kbps.and_then(|v| i64::try_from(v.saturating_mul(125)).ok()),
        ),
        (
            "wifi_network_receive_phy_rate_bytes_per_second",
            "PHY rate of the last frame a client-mode interface received from its AP.",
            |n| n.link_rx_kbps.and_then(|v| i64::try_from(v.saturating_mul(125)).ok()),
        ),
        (
            "wifi_network_link_quality",
            "Link quality of a client-mode interface, in the driver's units (Wireless Extensions).",
            |n| n.link_quality.map(i64::from),
        ),
    ];
    for (name, help, get) in per_network {
        write_network_family(networks, name, help, MetricType::Gauge, get, out);
    }
    let radio: [NetworkFamily<f64>; 2] = [
        ("wifi_network_transmit_power_dbm", "Transmit power of the radio in dBm.", |n| {
            n.tx_power_mbm.map(|p| f64::from(p) / 100.0)
        }),
        (
            "wifi_network_channel_busy_ratio",
            "Share of the last measuring period the channel was busy, 0 to 1 (Broadcom chanim_stats).",
            |n| n.busy_per10k.map(|b| f64::from(b) / 10_000.0),
        ),
    ];
    for (name, help, get) in radio {
        write_network_family(networks, name, help, MetricType::Gauge, get, out);
    }
    write_network_family(
        networks,
        "wifi_radio_temperature_celsius",
        "Temperature of the radio (Broadcom phy_tempsense).",
        MetricType::Gauge,
        |n| n.temperature_c.map(i64::from),
        out,
    );
    let airtime: [NetworkFamily<f64>; 4] = [
        ("wifi_network_channel_active_seconds_total", "Time the radio was on the channel in use.", |n| {
            n.airtime.and_then(|a| a.active_ms).map(seconds)
        }),
        ("wifi_network_channel_busy_seconds_total", "Time the channel in use was sensed busy.", |n| {
            n.airtime.and_then(|a| a.busy_ms).map(seconds)
        }),
        ("wifi_network_channel_receive_seconds_total", "Time the radio spent receiving on the channel in use.", |n| {
            n.airtime.and_then(|a| a.rx_ms).map(seconds)
        }),
        (
            "wifi_network_channel_transmit_seconds_total",
            "Time the radio spent transmitting on the channel in use.",
            |n| n.airtime.and_then(|a| a.tx_ms).map(seconds),
        ),
    ];
    for (name, help, get) in airtime {
        write_network_family(networks, name, help, MetricType::Counter, get, out);
    }
    if networks.iter().any(|n| n.standard.is_some()) {
        out.family(
            "wifi_network_phy_info",
            "The newest 802.11 PHY generation (legacy, HT, VHT, HE, EHT) the channel or the stations show; value 1.",
            MetricType::Gauge,
        );
        for n in networks {
            if let Some(s) = n.standard {
                out.sample(&[("ifname", &n.ifname), ("standard", s.label())], 1u64);
            }
        }
    }
}

/// Writes one per-network family, only if some network has a value.
fn write_network_family<V: Into<Value>>(
    networks: &[&Network],
    name: &str,
    help: &str,
    ty: MetricType,
    get: impl Fn(&Network) -> Option<V>,
    out: &mut Exposition,
) {
    if !networks.iter().any(|n| get(n).is_some()) {
        return;
    }
    out.family(name, help, ty);
    for n in networks {
        if let Some(v) = get(n) {
            out.sample(&[("ifname", &n.ifname)], v);
        }
    }
}

/// The per-station families, over the stations the limit kept.
fn write_stations(networks: &[Network], leases: &Leases, out: &mut Exposition) {
    let gauges: [StationFamily<i64>; 6] = [
        ("wifi_station_signal_dbm", "Signal of the station in dBm.", |s| s.signal_dbm.map(i64::from)),
        ("wifi_station_inactive_milliseconds", "Time since the station was last active.", |s| {
            s.inactive_ms.and_then(|v| i64::try_from(v).ok())
        }),
        ("wifi_station_connected_seconds", "Time the station has been associated.", |s| {
            s.connected_s.and_then(|v| i64::try_from(v).ok())
        }),
        ("wifi_station_transmit_kilobits_per_second", "PHY rate of the last frame sent to the station.", |s| {
            s.tx_kbps.and_then(|v| i64::try_from(v).ok())
        }),
        ("wifi_station_receive_kilobits_per_second", "PHY rate of the last frame received from the station.", |s| {
            s.rx_kbps.and_then(|v| i64::try_from(v).ok())
        }),
        (
            // Bytes, not bits: promtool's lint wants the base unit.
            "wifi_station_expected_throughput_bytes_per_second",
            "The driver's estimate of the throughput to the station.",
            |s| s.expected_throughput_kbps.and_then(|v| i64::try_from(v.saturating_mul(125)).ok()),
        ),
    ];
    for (name, help, get) in gauges {
        write_station_family(networks, name, help, MetricType::Gauge, get, out);
    }
    let counters: [StationFamily<u64>; 7] = [
        ("wifi_station_transmit_bytes_total", "Bytes sent to the station.", |s| s.tx_bytes),
        ("wifi_station_receive_bytes_total", "Bytes received from the station.", |s| s.rx_bytes),
        ("wifi_station_transmit_packets_total", "Packets sent to the station.", |s| s.tx_packets),
        ("wifi_station_receive_packets_total", "Packets received from the station.", |s| s.rx_packets),
        ("wifi_station_transmit_retries_total", "Transmit retries to the station.", |s| s.tx_retries),
        ("wifi_station_transmit_failed_total", "Transmissions to the station that failed after all retries.", |s| {
            s.tx_failed
        }),
        ("wifi_station_beacon_loss_total", "Beacons of the station's link that were missed.", |s| s.beacon_loss),
    ];
    for (name, help, get) in counters {
        write_station_family(networks, name, help, MetricType::Counter, get, out);
    }
    if networks.iter().all(|n| n.stations.is_empty()) {
        return;
    }
    out.family(
        "wifi_station_info",
        "Station hostname and IP address from the DHCP leases; value 1.",
        MetricType::Gauge,
    );
    for n in networks.iter() {
        for s in &n.stations {
            let (host, ip) = leases.lookup(&s.mac).unwrap_or(("", ""));
            out.sample(&[("hostname", host), ("ifname", &n.ifname), ("ip", ip), ("mac", &s.mac)], 1u64);
        }
    }
}

/// Writes one per-station family, only if some station has a value.
fn write_station_family<V: Into<Value>>(
    networks: &[Network],
    name: &str,
    help: &str,
    ty: MetricType,
    get: impl Fn(&Station) -> Option<V>,
    out: &mut Exposition,
) {
    if !networks.iter().any(|n| n.stations.iter().any(|s| get(s).is_some())) {
        return;
    }
    out.family(name, help, ty);
    for n in networks {
        for s in &n.stations {
            if let Some(v) = get(s) {
                out.sample(&[("ifname", &n.ifname), ("mac", &s.mac)], v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::wifi::Station;

    fn network(ifname: &str, macs: &[&str]) -> Network {
        let stations = macs.iter().map(|m| Station { mac: m.to_string(), ..Station::default() }).collect();
        Network { ifname: ifname.into(), stations, ..Network::default() }
    }

    fn scrape(networks: &mut [Network], max_stations: u64) -> String {
        let mut out = Exposition::new();
        write(networks, Limits { stations: true, max_stations }, &Leases::default(), &mut out);
        out.as_str().to_string()
    }

    #[test]
    fn past_max_stations_the_last_macs_are_dropped_and_counted() {
        let macs = ["02:00:00:00:00:03", "02:00:00:00:00:01", "02:00:00:00:00:02"];
        let text = scrape(&mut [network("wlan0", &macs), network("wlan1", &[])], 2);
        assert!(text.contains("wifi_stations{ifname=\"wlan0\"} 3\n"), "{text}");
        assert!(text.contains("wifi_stations_dropped{ifname=\"wlan0\"} 1\n"), "{text}");
        assert!(text.contains("wifi_stations{ifname=\"wlan1\"} 0\n"), "{text}");
        assert!(text.contains("wifi_stations_dropped{ifname=\"wlan1\"} 0\n"), "{text}");
        // The same two stay whatever order the driver listed them in.
        assert!(text.contains("mac=\"02:00:00:00:00:01\"") && text.contains("mac=\"02:00:00:00:00:02\""));
        assert!(!text.contains("02:00:00:00:00:03"), "{text}");
    }

    #[test]
    fn a_down_network_has_up_0_stations_0_and_nothing_else() {
        let mut down = network("wl0.1", &["02:00:00:00:00:01"]);
        down.down = true;
        down.noise_dbm = Some(-90);
        let text = scrape(&mut [down], 64);
        let samples: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            samples,
            [
                "wifi_network_up{ifname=\"wl0.1\"} 0",
                "wifi_stations{ifname=\"wl0.1\"} 0",
                "wifi_stations_dropped{ifname=\"wl0.1\"} 0"
            ]
        );
    }
}
