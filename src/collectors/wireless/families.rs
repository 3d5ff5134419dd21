//! The wireless families, written from the networks the backends found.
//! Series are sorted by interface and MAC, so output is stable.

use crate::metrics::exposition::{Exposition, MetricType, Value};
use crate::parse::leases::Leases;
use crate::parse::wifi::{Band, Network, Station};

/// A per-network family: name, HELP, and its value for one network.
type NetworkFamily = (&'static str, &'static str, fn(&Network) -> Option<i64>);
/// A per-station family: name, HELP, and its value for one station.
type StationFamily<V> = (&'static str, &'static str, fn(&Station) -> Option<V>);

/// Writes the wireless families for `networks` (sorted here by ifname and
/// MAC so output is stable). `leases` maps MACs to (hostname, ip).
pub fn write(networks: &mut [Network], stations: bool, leases: &Leases, out: &mut Exposition) {
    if networks.is_empty() {
        return;
    }
    networks.sort_by(|a, b| a.ifname.cmp(&b.ifname));
    for n in networks.iter_mut() {
        n.stations.sort_by(|a, b| a.mac.cmp(&b.mac));
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
    let per_network: [NetworkFamily; 5] = [
        ("wifi_network_frequency_hertz", "Centre frequency of the primary channel.", |n| {
            n.frequency_mhz.map(|f| i64::from(f) * 1_000_000)
        }),
        ("wifi_network_channel_width_hertz", "Channel width.", |n| n.width_mhz.map(|w| i64::from(w) * 1_000_000)),
        ("wifi_network_noise_dbm", "Noise floor on the channel in dBm.", |n| n.noise_dbm.map(i64::from)),
        ("wifi_network_signal_dbm", "Signal of a client-mode interface's link in dBm.", |n| {
            n.signal_dbm.map(i64::from)
        }),
        (
            "wifi_network_link_quality",
            "Link quality of a client-mode interface, in the driver's units (Wireless Extensions).",
            |n| n.link_quality.map(i64::from),
        ),
    ];
    for (name, help, get) in per_network {
        if networks.iter().any(|n| get(n).is_some()) {
            out.family(name, help, MetricType::Gauge);
            for n in networks.iter() {
                if let Some(v) = get(n) {
                    out.sample(&[("ifname", &n.ifname)], v);
                }
            }
        }
    }
    if !stations {
        return;
    }
    out.family("wifi_stations", "Number of associated stations.", MetricType::Gauge);
    for n in networks.iter() {
        out.sample(&[("ifname", &n.ifname)], n.stations.len() as u64);
    }
    let gauges: [StationFamily<i64>; 5] = [
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
    ];
    for (name, help, get) in gauges {
        write_station_family(networks, name, help, MetricType::Gauge, get, out);
    }
    let counters: [StationFamily<u64>; 6] = [
        ("wifi_station_transmit_bytes_total", "Bytes sent to the station.", |s| s.tx_bytes),
        ("wifi_station_receive_bytes_total", "Bytes received from the station.", |s| s.rx_bytes),
        ("wifi_station_transmit_packets_total", "Packets sent to the station.", |s| s.tx_packets),
        ("wifi_station_receive_packets_total", "Packets received from the station.", |s| s.rx_packets),
        ("wifi_station_transmit_retries_total", "Transmit retries to the station.", |s| s.tx_retries),
        ("wifi_station_transmit_failed_total", "Transmissions to the station that failed after all retries.", |s| {
            s.tx_failed
        }),
    ];
    for (name, help, get) in counters {
        write_station_family(networks, name, help, MetricType::Counter, get, out);
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
