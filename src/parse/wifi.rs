//! The WiFi values the wireless parsers produce (`nl80211`, `wl`), shared
//! with the wireless collector: bands, channels, networks and stations.

/// A WiFi band, as the `band` label spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Band {
    /// 2.4 GHz.
    G2_4,
    /// 5 GHz.
    G5,
    /// 6 GHz.
    G6,
}

impl Band {
    /// The label value.
    pub fn label(self) -> &'static str {
        match self {
            Band::G2_4 => "2.4GHz",
            Band::G5 => "5GHz",
            Band::G6 => "6GHz",
        }
    }

    /// The band of a centre frequency in MHz.
    pub fn from_mhz(mhz: u32) -> Option<Band> {
        match mhz {
            2400..=2500 => Some(Band::G2_4),
            4900..=5924 => Some(Band::G5),
            5925..=7125 => Some(Band::G6),
            _ => None,
        }
    }
}

/// The channel number of a frequency in MHz (IEEE 802.11 numbering).
pub fn channel_from_mhz(mhz: u32) -> Option<u32> {
    match mhz {
        2484 => Some(14),
        2412..=2472 => Some((mhz - 2407) / 5),
        5955..=7115 => Some((mhz - 5950) / 5),
        4910..=5895 => Some((mhz - 5000) / 5),
        _ => None,
    }
}

/// The frequency in MHz of a channel in a band.
pub fn mhz_from_channel(band: Band, channel: u32) -> Option<u32> {
    match (band, channel) {
        (Band::G2_4, 14) => Some(2484),
        (Band::G2_4, 1..=13) => Some(2407 + 5 * channel),
        (Band::G5, 1..=196) => Some(5000 + 5 * channel),
        (Band::G6, 1..=233) => Some(5950 + 5 * channel),
        _ => None,
    }
}

/// The 802.11 PHY generation a network runs, as the `standard` label
/// spells it. Ordered: a later one is a newer generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Standard {
    /// 802.11a/b/g rates only.
    Legacy,
    /// 802.11n.
    Ht,
    /// 802.11ac.
    Vht,
    /// 802.11ax.
    He,
    /// 802.11be.
    Eht,
}

impl Standard {
    /// The label value.
    pub fn label(self) -> &'static str {
        match self {
            Standard::Legacy => "legacy",
            Standard::Ht => "HT",
            Standard::Vht => "VHT",
            Standard::He => "HE",
            Standard::Eht => "EHT",
        }
    }
}

/// Airtime of the channel in use since the radio started counting, in
/// milliseconds (nl80211's survey). Each field is there when the driver
/// reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Airtime {
    /// Time the radio was on the channel.
    pub active_ms: Option<u64>,
    /// Time the channel was sensed busy.
    pub busy_ms: Option<u64>,
    /// Time spent receiving.
    pub rx_ms: Option<u64>,
    /// Time spent transmitting.
    pub tx_ms: Option<u64>,
}

/// One WiFi interface (a BSS on a radio).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Network {
    /// Interface name, such as `phy0-ap0` or `eth1`.
    pub ifname: String,
    /// The radio it runs on, such as `phy0` or `wl0`.
    pub radio: String,
    /// The network name.
    pub ssid: String,
    /// The BSSID, lower case.
    pub bssid: String,
    /// `ap`, `station`, `mesh`, ... or empty when unknown (see [`Network::uplink`]).
    pub mode: String,
    /// The band, when known.
    pub band: Option<Band>,
    /// The primary channel.
    pub channel: Option<u32>,
    /// The primary channel's centre frequency in MHz.
    pub frequency_mhz: Option<u32>,
    /// Channel width in MHz.
    pub width_mhz: Option<u32>,
    /// Noise floor in dBm.
    pub noise_dbm: Option<i32>,
    /// Signal of a client-mode interface's link to its AP, in dBm.
    pub signal_dbm: Option<i32>,
    /// PHY rate of the last frame a client-mode interface sent to its AP, kbit/s.
    pub link_tx_kbps: Option<u64>,
    /// PHY rate of the last frame a client-mode interface received from its AP, kbit/s.
    pub link_rx_kbps: Option<u64>,
    /// WEXT link quality, in the driver's own units.
    pub link_quality: Option<u32>,
    /// The interface is down or its radio disabled: only its name and
    /// radio are known, and it is reported with no stations.
    pub down: bool,
    /// Airtime counters of the channel in use (nl80211 survey).
    pub airtime: Option<Airtime>,
    /// Share of the last measuring period the channel was busy, in
    /// hundredths of a percent, 0 to 10000 (Broadcom `chanim_stats`).
    pub busy_per10k: Option<u32>,
    /// Radio temperature in degrees Celsius (Broadcom `phy_tempsense`).
    pub temperature_c: Option<i32>,
    /// Transmit power in mBm (hundredths of a dBm).
    pub tx_power_mbm: Option<i32>,
    /// The newest PHY generation the channel or the stations show.
    pub standard: Option<Standard>,
    /// Associated stations.
    pub stations: Vec<Station>,
}

impl Network {
    /// Whether the interface is a client of another AP (`station`,
    /// `p2p_client`): what its driver lists as stations is that AP.
    pub fn uplink(&self) -> bool {
        matches!(self.mode.as_str(), "station" | "p2p_client")
    }

    /// Keeps as stations only the clients of an AP-like interface (`ap`,
    /// `ap_vlan`, `p2p_go`, or a mode unknown, as before modes were
    /// told). A client-mode interface's entry for its AP (the one on its
    /// BSSID, else the first) becomes its link: BSSID, signal and rates.
    /// Peers of mesh, ad-hoc and WDS interfaces are links between routers,
    /// not clients: they are dropped.
    pub fn keep_clients(&mut self) {
        if matches!(self.mode.as_str(), "" | "ap" | "ap_vlan" | "p2p_go") {
            return;
        }
        if self.uplink() {
            let at = self.stations.iter().position(|s| s.mac == self.bssid).unwrap_or(0);
            if let Some(ap) = self.stations.get_mut(at) {
                self.bssid = std::mem::take(&mut ap.mac);
                self.signal_dbm = self.signal_dbm.or(ap.signal_dbm);
                self.link_tx_kbps = ap.tx_kbps;
                self.link_rx_kbps = ap.rx_kbps;
            }
        }
        self.stations.clear();
    }
}

/// One associated client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Station {
    /// MAC address, lower case with colons.
    pub mac: String,
    /// Signal in dBm.
    pub signal_dbm: Option<i32>,
    /// Time since the last activity, in ms.
    pub inactive_ms: Option<u64>,
    /// Time associated, in seconds.
    pub connected_s: Option<u64>,
    /// PHY rate of the last transmitted frame, kbit/s.
    pub tx_kbps: Option<u64>,
    /// PHY rate of the last received frame, kbit/s.
    pub rx_kbps: Option<u64>,
    /// Bytes sent to the station.
    pub tx_bytes: Option<u64>,
    /// Bytes received from the station.
    pub rx_bytes: Option<u64>,
    /// Packets sent to the station.
    pub tx_packets: Option<u64>,
    /// Packets received from the station.
    pub rx_packets: Option<u64>,
    /// Transmit retries.
    pub tx_retries: Option<u64>,
    /// Transmissions that failed after all retries.
    pub tx_failed: Option<u64>,
    /// The driver's estimate of the throughput to the station, kbit/s.
    pub expected_throughput_kbps: Option<u64>,
    /// Beacons the station (or our client link) missed.
    pub beacon_loss: Option<u64>,
    /// The PHY generation of the station's last rates (not exported).
    pub standard: Option<Standard>,
}

/// Whether an interface is administratively up, from the hex
/// `/sys/class/net/IF/flags` (IFF_UP is bit 0). `None` when unreadable.
pub fn parse_iface_up(text: &str) -> Option<bool> {
    let t = text.trim();
    let hex = t.strip_prefix("0x").unwrap_or(t);
    u32::from_str_radix(hex, 16).ok().map(|f| f & 1 == 1)
}

/// Normalises a MAC address to lower case with colons, or `None`.
pub fn normalize_mac(s: &str) -> Option<String> {
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 6 || !parts.iter().all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit())) {
        return None;
    }
    Some(s.to_ascii_lowercase())
}

/// Formats 6 bytes as a MAC address.
pub fn format_mac(b: &[u8; 6]) -> String {
    format!("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2], b[3], b[4], b[5])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_and_channels() {
        assert_eq!(Band::from_mhz(2437), Some(Band::G2_4));
        assert_eq!(channel_from_mhz(2437), Some(6));
        assert_eq!(channel_from_mhz(2484), Some(14));
        assert_eq!(Band::from_mhz(5180), Some(Band::G5));
        assert_eq!(channel_from_mhz(5180), Some(36));
        assert_eq!(Band::from_mhz(5955), Some(Band::G6));
        assert_eq!(channel_from_mhz(5955), Some(1));
        assert_eq!(Band::from_mhz(900), None);
        assert_eq!(mhz_from_channel(Band::G5, 149), Some(5745));
        assert_eq!(mhz_from_channel(Band::G2_4, 11), Some(2462));
        assert_eq!(mhz_from_channel(Band::G2_4, 15), None);
    }

    #[test]
    fn interface_flags() {
        // /sys/class/net/wlan0/flags of an up AP and of a down one.
        assert_eq!(parse_iface_up("0x1003\n"), Some(true));
        assert_eq!(parse_iface_up("0x1002\n"), Some(false));
        assert_eq!(parse_iface_up("up\n"), None);
        assert_eq!(parse_iface_up(""), None);
        assert!(Standard::He > Standard::Vht && Standard::Ht > Standard::Legacy);
    }

    #[test]
    fn only_ap_like_or_unknown_modes_keep_stations() {
        let station = |mac: &str, dbm| Station {
            mac: mac.into(),
            signal_dbm: Some(dbm),
            tx_kbps: Some(6000),
            ..Station::default()
        };
        let net = |mode: &str, bssid: &str| Network {
            mode: mode.into(),
            bssid: bssid.into(),
            stations: vec![station("02:00:00:00:00:01", -40), station("02:00:00:00:00:02", -60)],
            ..Network::default()
        };
        for mode in ["", "ap", "ap_vlan", "p2p_go"] {
            let mut n = net(mode, "02:00:00:00:00:09");
            n.keep_clients();
            assert_eq!((n.stations.len(), n.bssid.as_str(), n.signal_dbm), (2, "02:00:00:00:00:09", None), "{mode:?}");
        }
        for mode in ["mesh", "adhoc", "wds", "monitor", "repeater"] {
            let mut n = net(mode, "");
            n.keep_clients();
            assert_eq!((n.stations.len(), n.bssid.as_str(), n.signal_dbm), (0, "", None), "{mode:?}");
        }
        // A client with a TDLS peer beside its AP: the entry on its BSSID
        // is the link; without a BSSID, the first entry.
        let mut n = net("station", "02:00:00:00:00:02");
        n.keep_clients();
        assert_eq!((n.stations.len(), n.bssid.as_str(), n.signal_dbm), (0, "02:00:00:00:00:02", Some(-60)));
        assert_eq!((n.link_tx_kbps, n.link_rx_kbps), (Some(6000), None));
        let mut n = net("p2p_client", "");
        n.keep_clients();
        assert_eq!((n.bssid.as_str(), n.signal_dbm), ("02:00:00:00:00:01", Some(-40)));
        // Not associated: nothing to take.
        let mut n = Network { mode: "station".into(), ..Network::default() };
        n.keep_clients();
        assert_eq!(n, Network { mode: "station".into(), ..Network::default() });
    }

    #[test]
    fn macs() {
        assert_eq!(normalize_mac("34:53:D2:FC:E5:12").as_deref(), Some("34:53:d2:fc:e5:12"));
        assert_eq!(normalize_mac("34:53:D2:FC:E5"), None);
        assert_eq!(normalize_mac("34:53:D2:FC:E5:1g"), None);
        assert_eq!(format_mac(&[2, 0, 0, 0, 1, 0]), "02:00:00:00:01:00");
    }
}
