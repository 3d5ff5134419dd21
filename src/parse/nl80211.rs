//! nl80211 over generic netlink, decoded by hand: a pure walk over message
//! bytes with every length checked, so captured replies are test fixtures.
//! (A netlink crate would cost more flash than these ~300 lines.)
//! Byte order is the host's, as netlink's is.

use super::wifi::{Airtime, Band, Standard, Station, format_mac};

use super::netlink::{self, Attr, Attrs, DecodeError, Message, NLMSG_DONE, NLMSG_ERROR, genl_request};

/// The generic netlink controller's family id.
pub const GENL_ID_CTRL: u16 = 0x10;
const CTRL_CMD_GETFAMILY: u8 = 3;
const CTRL_ATTR_FAMILY_ID: u16 = 1;
const CTRL_ATTR_FAMILY_NAME: u16 = 2;

/// nl80211 commands used here.
pub const CMD_GET_INTERFACE: u8 = 5;
/// Station dump.
pub const CMD_GET_STATION: u8 = 17;
/// Survey (noise) dump.
pub const CMD_GET_SURVEY: u8 = 50;

const ATTR_WIPHY: u16 = 1;
/// The interface index attribute (requests carry it too).
pub const ATTR_IFINDEX: u16 = 3;
const ATTR_IFNAME: u16 = 4;
const ATTR_IFTYPE: u16 = 5;
const ATTR_MAC: u16 = 6;
const ATTR_STA_INFO: u16 = 21;
const ATTR_WIPHY_FREQ: u16 = 38;
const ATTR_SSID: u16 = 52;
const ATTR_SURVEY_INFO: u16 = 84;
const ATTR_WIPHY_TX_POWER_LEVEL: u16 = 98;
const ATTR_CHANNEL_WIDTH: u16 = 159;

const STA_INACTIVE_TIME: u16 = 1;
const STA_RX_BYTES: u16 = 2;
const STA_TX_BYTES: u16 = 3;
const STA_SIGNAL: u16 = 7;
const STA_TX_BITRATE: u16 = 8;
const STA_RX_PACKETS: u16 = 9;
const STA_TX_PACKETS: u16 = 10;
const STA_TX_RETRIES: u16 = 11;
const STA_TX_FAILED: u16 = 12;
const STA_RX_BITRATE: u16 = 14;
const STA_CONNECTED_TIME: u16 = 16;
const STA_BEACON_LOSS: u16 = 18;
const STA_EXPECTED_THROUGHPUT: u16 = 27;
const STA_RX_BYTES64: u16 = 23;
const STA_TX_BYTES64: u16 = 24;

const RATE_BITRATE: u16 = 1;
const RATE_MCS: u16 = 2;
const RATE_BITRATE32: u16 = 5;
const RATE_VHT_MCS: u16 = 6;
const RATE_HE_MCS: u16 = 13;
const RATE_EHT_MCS: u16 = 19;

const SURVEY_FREQUENCY: u16 = 1;
const SURVEY_NOISE: u16 = 2;
const SURVEY_IN_USE: u16 = 3;
// Called CHANNEL_TIME, CHANNEL_TIME_BUSY, ... before Linux 4.0; same numbers.
const SURVEY_TIME: u16 = 4;
const SURVEY_TIME_BUSY: u16 = 5;
const SURVEY_TIME_RX: u16 = 7;
const SURVEY_TIME_TX: u16 = 8;

/// An interface from the GET_INTERFACE dump.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Interface {
    /// Kernel interface index.
    pub ifindex: u32,
    /// Name.
    pub ifname: String,
    /// The wiphy (radio) index.
    pub wiphy: Option<u32>,
    /// nl80211 interface type.
    pub iftype: Option<u32>,
    /// Interface MAC (the BSSID for an AP).
    pub mac: Option<[u8; 6]>,
    /// SSID (APs and associated stations).
    pub ssid: Option<String>,
    /// Operating frequency in MHz.
    pub freq_mhz: Option<u32>,
    /// nl80211 channel width enum.
    pub width: Option<u32>,
    /// Transmit power in mBm.
    pub tx_power_mbm: Option<i32>,
}

impl Interface {
    /// The mode label, by `enum nl80211_iftype` (7 is mesh_point); empty
    /// for 0 (unspecified) and types newer than this list.
    pub fn mode(&self) -> &'static str {
        match self.iftype {
            Some(1) => "adhoc",
            Some(2) => "station",
            Some(3) => "ap",
            Some(4) => "ap_vlan",
            Some(5) => "wds",
            Some(6) => "monitor",
            Some(7) => "mesh",
            Some(8) => "p2p_client",
            Some(9) => "p2p_go",
            Some(10) => "p2p_device",
            Some(11) => "ocb",
            Some(12) => "nan",
            _ => "",
        }
    }

    /// Channel width in MHz.
    pub fn width_mhz(&self) -> Option<u32> {
        match self.width? {
            0 | 1 => Some(20),
            2 => Some(40),
            3 => Some(80),
            4 | 5 => Some(160),
            6 => Some(5),
            7 => Some(10),
            13 => Some(320),
            _ => None,
        }
    }

    /// The band, from the frequency.
    pub fn band(&self) -> Option<Band> {
        self.freq_mhz.and_then(Band::from_mhz)
    }

    /// The oldest PHY generation that can use this channel: 20 MHz
    /// without HT is legacy, 20 or 40 MHz HT, 80 and 160 MHz VHT, 320 MHz
    /// EHT; on 6 GHz nothing older than HE runs.
    pub fn channel_standard(&self) -> Option<Standard> {
        let by_width = match self.width? {
            0 => Standard::Legacy,
            1 | 2 => Standard::Ht,
            3..=5 => Standard::Vht,
            13 => Standard::Eht,
            _ => return None,
        };
        Some(if self.band() == Some(Band::G6) { by_width.max(Standard::He) } else { by_width })
    }
}

fn u32_of(p: &[u8]) -> Option<u32> {
    Some(u32::from_ne_bytes(p.get(..4)?.try_into().ok()?))
}
fn u64_of(p: &[u8]) -> Option<u64> {
    Some(u64::from_ne_bytes(p.get(..8)?.try_into().ok()?))
}
fn u16_of(p: &[u8]) -> Option<u16> {
    Some(u16::from_ne_bytes(p.get(..2)?.try_into().ok()?))
}
fn s8_of(p: &[u8]) -> Option<i32> {
    p.first().map(|&b| i32::from(b as i8))
}
fn string_of(p: &[u8]) -> String {
    let end = p.iter().position(|&b| b == 0).unwrap_or(p.len());
    String::from_utf8_lossy(&p[..end]).into_owned()
}

/// The data messages of one reply, with their attributes. Stops at
/// `NLMSG_DONE`; a kernel error ends the reply with [`DecodeError::Kernel`],
/// whether it comes as `NLMSG_ERROR` or, as dumps report it (ENODEV for an
/// interface that went away), in the `NLMSG_DONE` payload.
fn data_messages(buf: &[u8]) -> Result<Vec<Attrs<'_>>, DecodeError> {
    let mut out = Vec::new();
    for message in netlink::messages(buf) {
        let message: Message<'_> = message?;
        match message.header.ty {
            NLMSG_DONE => match message.body.len() {
                // Kernels before 2.6.x send no error code with DONE.
                0 => break,
                _ => match netlink::error_code(&message)? {
                    0 => break,
                    errno => return Err(DecodeError::Kernel(errno.saturating_abs())),
                },
            },
            NLMSG_ERROR => match netlink::error_code(&message)? {
                0 => {} // an acknowledgement
                errno => return Err(DecodeError::Kernel(errno.saturating_neg())),
            },
            ty if ty < netlink::NLMSG_MIN_TYPE => {} // NLMSG_NOOP, NLMSG_OVERRUN: nothing to decode
            _ => out.push(netlink::genl_attrs(&message)?),
        }
    }
    Ok(out)
}

/// The family id in a CTRL_CMD_GETFAMILY reply.
pub fn decode_family_id(buf: &[u8]) -> Result<u16, DecodeError> {
    for attributes in data_messages(buf)? {
        for a in attributes {
            let a = a?;
            if a.ty == CTRL_ATTR_FAMILY_ID {
                return u16_of(a.payload).ok_or(DecodeError::Missing("family id"));
            }
        }
    }
    Err(DecodeError::Missing("family id"))
}

/// The interfaces in a GET_INTERFACE dump.
pub fn decode_interfaces(buf: &[u8]) -> Result<Vec<Interface>, DecodeError> {
    let mut out = Vec::new();
    for attributes in data_messages(buf)? {
        let mut i = Interface::default();
        for a in attributes {
            let Attr { ty, payload: p, .. } = a?;
            match ty {
                ATTR_IFINDEX => i.ifindex = u32_of(p).unwrap_or(0),
                ATTR_IFNAME => i.ifname = string_of(p),
                ATTR_WIPHY => i.wiphy = u32_of(p),
                ATTR_IFTYPE => i.iftype = u32_of(p),
                ATTR_MAC => i.mac = p.get(..6).and_then(|m| m.try_into().ok()),
                ATTR_SSID => i.ssid = Some(String::from_utf8_lossy(p).into_owned()),
                ATTR_WIPHY_FREQ => i.freq_mhz = u32_of(p),
                ATTR_CHANNEL_WIDTH => i.width = u32_of(p),
                ATTR_WIPHY_TX_POWER_LEVEL => i.tx_power_mbm = u32_of(p).map(|v| v as i32),
                _ => {}
            }
        }
        if !i.ifname.is_empty() {
            out.push(i);
        }
    }
    Ok(out)
}

/// The nested attributes of `a`, with their offsets in the reply.
fn nested<'a>(a: &Attr<'a>) -> Attrs<'a> {
    netlink::attrs(a.payload, a.offset)
}

/// A rate's bit rate in kbit/s, and the PHY generation its MCS field names.
fn bitrate(rate: &Attr<'_>) -> Result<(Option<u64>, Option<Standard>), DecodeError> {
    let mut rate16 = None;
    let mut rate32 = None;
    let mut standard = None;
    for a in nested(rate) {
        let a = a?;
        let phy = match a.ty {
            RATE_BITRATE => {
                rate16 = u16_of(a.payload).map(u64::from);
                None
            }
            RATE_BITRATE32 => {
                rate32 = u32_of(a.payload).map(u64::from);
                None
            }
            RATE_MCS => Some(Standard::Ht),
            RATE_VHT_MCS => Some(Standard::Vht),
            RATE_HE_MCS => Some(Standard::He),
            RATE_EHT_MCS => Some(Standard::Eht),
            _ => None,
        };
        standard = standard.max(phy);
    }
    // Units of 100 kbit/s; the 32-bit field wins where present. A rate
    // with no MCS field is a legacy rate.
    let kbps = rate32.or(rate16).map(|r| r * 100);
    Ok((kbps, standard.or(kbps.map(|_| Standard::Legacy))))
}

/// The stations in a GET_STATION dump.
pub fn decode_stations(buf: &[u8]) -> Result<Vec<Station>, DecodeError> {
    let mut out = Vec::new();
    for attributes in data_messages(buf)? {
        let mut s = Station::default();
        let mut bytes32 = (None, None);
        let mut bytes64 = (None, None);
        for a in attributes {
            let a = a?;
            match a.ty {
                ATTR_MAC => {
                    if let Some(m) = a.payload.get(..6).and_then(|m| <[u8; 6]>::try_from(m).ok()) {
                        s.mac = format_mac(&m);
                    }
                }
                ATTR_STA_INFO => {
                    for info in nested(&a) {
                        let info = info?;
                        let p = info.payload;
                        match info.ty {
                            STA_INACTIVE_TIME => s.inactive_ms = u32_of(p).map(u64::from),
                            STA_RX_BYTES => bytes32.0 = u32_of(p).map(u64::from),
                            STA_TX_BYTES => bytes32.1 = u32_of(p).map(u64::from),
                            STA_RX_BYTES64 => bytes64.0 = u64_of(p),
                            STA_TX_BYTES64 => bytes64.1 = u64_of(p),
                            STA_SIGNAL => s.signal_dbm = s8_of(p),
                            STA_RX_PACKETS => s.rx_packets = u32_of(p).map(u64::from),
                            STA_TX_PACKETS => s.tx_packets = u32_of(p).map(u64::from),
                            STA_TX_RETRIES => s.tx_retries = u32_of(p).map(u64::from),
                            STA_TX_FAILED => s.tx_failed = u32_of(p).map(u64::from),
                            STA_CONNECTED_TIME => s.connected_s = u32_of(p).map(u64::from),
                            STA_BEACON_LOSS => s.beacon_loss = u32_of(p).map(u64::from),
                            STA_EXPECTED_THROUGHPUT => s.expected_throughput_kbps = u32_of(p).map(u64::from),
                            STA_TX_BITRATE | STA_RX_BITRATE => {
                                let (kbps, standard) = bitrate(&info)?;
                                if info.ty == STA_TX_BITRATE {
                                    s.tx_kbps = kbps;
                                } else {
                                    s.rx_kbps = kbps;
                                }
                                s.standard = s.standard.max(standard);
                            }
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        // The 64-bit byte counters (Linux 3.x+) never wrap; prefer them.
        s.rx_bytes = bytes64.0.or(bytes32.0);
        s.tx_bytes = bytes64.1.or(bytes32.1);
        if !s.mac.is_empty() {
            out.push(s);
        }
    }
    Ok(out)
}

/// One channel of a GET_SURVEY dump.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SurveyEntry {
    /// Centre frequency in MHz.
    pub freq_mhz: Option<u32>,
    /// The driver marks this channel as the one in use.
    pub in_use: bool,
    /// Noise floor in dBm.
    pub noise_dbm: Option<i32>,
    /// Airtime counters, in ms.
    pub airtime: Airtime,
}

/// Every channel in a GET_SURVEY dump, in order.
pub fn decode_survey(buf: &[u8]) -> Result<Vec<SurveyEntry>, DecodeError> {
    let mut out = Vec::new();
    for attributes in data_messages(buf)? {
        for a in attributes {
            let a = a?;
            if a.ty != ATTR_SURVEY_INFO {
                continue;
            }
            let mut e = SurveyEntry::default();
            for info in nested(&a) {
                let info = info?;
                let p = info.payload;
                match info.ty {
                    SURVEY_FREQUENCY => e.freq_mhz = u32_of(p),
                    SURVEY_IN_USE => e.in_use = true,
                    SURVEY_NOISE => e.noise_dbm = s8_of(p),
                    SURVEY_TIME => e.airtime.active_ms = u64_of(p),
                    SURVEY_TIME_BUSY => e.airtime.busy_ms = u64_of(p),
                    SURVEY_TIME_RX => e.airtime.rx_ms = u64_of(p),
                    SURVEY_TIME_TX => e.airtime.tx_ms = u64_of(p),
                    _ => {}
                }
            }
            out.push(e);
        }
    }
    Ok(out)
}

/// The survey entry of the channel in use: the one the driver marks, else
/// (drivers such as mac80211_hwsim mark none) the one on the interface's
/// frequency `freq_mhz`.
pub fn survey_in_use(entries: &[SurveyEntry], freq_mhz: Option<u32>) -> Option<SurveyEntry> {
    entries
        .iter()
        .find(|e| e.in_use)
        .or_else(|| freq_mhz.and_then(|f| entries.iter().find(|e| e.freq_mhz == Some(f))))
        .copied()
}

/// The request that resolves the "nl80211" family id.
pub fn get_family_request(seq: u32) -> Vec<u8> {
    // No ACK: the reply (or an error) alone ends it, so nothing stale is
    // left in the socket for the next request.
    genl_request(GENL_ID_CTRL, 0, seq, CTRL_CMD_GETFAMILY, &[(CTRL_ATTR_FAMILY_NAME, b"nl80211\0")])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a reply message (as the kernel would) for decoder tests.
    fn reply(family: u16, cmd: u8, attributes: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let refs: Vec<(u16, &[u8])> = attributes.iter().map(|(t, p)| (*t, p.as_slice())).collect();
        genl_request(family, 0, 1, cmd, &refs)
    }

    fn done() -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&20u32.to_ne_bytes());
        m.extend_from_slice(&NLMSG_DONE.to_ne_bytes());
        m.extend_from_slice(&[0; 10]);
        m.extend_from_slice(&0i32.to_ne_bytes());
        m
    }

    fn nested(items: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let refs: Vec<(u16, &[u8])> = items.iter().map(|(t, p)| (*t, p.as_slice())).collect();
        // A request body minus its headers is exactly an attribute list.
        genl_request(0, 0, 0, 0, &refs)[netlink::NLMSG_HDRLEN + netlink::GENL_HDRLEN..].to_vec()
    }

    #[test]
    fn decodes_interface_station_and_survey() {
        let mut buf = reply(
            0x22,
            7,
            &[
                (ATTR_IFINDEX, 4u32.to_ne_bytes().to_vec()),
                (ATTR_IFNAME, b"wlan0\0".to_vec()),
                (ATTR_WIPHY, 0u32.to_ne_bytes().to_vec()),
                (ATTR_IFTYPE, 3u32.to_ne_bytes().to_vec()),
                (ATTR_MAC, vec![2, 0, 0, 0, 0, 0]),
                (ATTR_SSID, b"test-ap".to_vec()),
                (ATTR_WIPHY_FREQ, 2437u32.to_ne_bytes().to_vec()),
                (ATTR_CHANNEL_WIDTH, 1u32.to_ne_bytes().to_vec()),
            ],
        );
        buf.extend(done());
        let i = &decode_interfaces(&buf).unwrap()[0];
        assert_eq!((i.ifname.as_str(), i.mode(), i.band(), i.width_mhz()), ("wlan0", "ap", Some(Band::G2_4), Some(20)));
        assert_eq!(i.ssid.as_deref(), Some("test-ap"));

        let info = nested(&[
            (STA_INACTIVE_TIME, 120u32.to_ne_bytes().to_vec()),
            (STA_RX_BYTES, 5u32.to_ne_bytes().to_vec()),
            (STA_RX_BYTES64, (5u64 << 32).to_ne_bytes().to_vec()),
            (STA_SIGNAL, vec![(-30i8) as u8]),
            (
                STA_TX_BITRATE,
                nested(&[
                    (RATE_BITRATE, 650u16.to_ne_bytes().to_vec()),
                    (RATE_BITRATE32, 650u32.to_ne_bytes().to_vec()),
                ]),
            ),
            (STA_CONNECTED_TIME, 3u32.to_ne_bytes().to_vec()),
        ]);
        let mut buf = reply(0x22, 17, &[(ATTR_MAC, vec![2, 0, 0, 0, 1, 0]), (ATTR_STA_INFO, info)]);
        buf.extend(done());
        let s = &decode_stations(&buf).unwrap()[0];
        assert_eq!(s.mac, "02:00:00:00:01:00");
        assert_eq!((s.signal_dbm, s.inactive_ms, s.connected_s), (Some(-30), Some(120), Some(3)));
        assert_eq!(s.rx_bytes, Some(5u64 << 32), "64-bit counter preferred");
        assert_eq!(s.tx_kbps, Some(65_000));

        let survey = nested(&[
            (SURVEY_FREQUENCY, 2437u32.to_ne_bytes().to_vec()),
            (SURVEY_NOISE, vec![(-92i8) as u8]),
            (SURVEY_IN_USE, vec![]),
        ]);
        let other = nested(&[(SURVEY_FREQUENCY, 2412u32.to_ne_bytes().to_vec()), (SURVEY_NOISE, vec![(-80i8) as u8])]);
        let mut buf = reply(0x22, 50, &[(ATTR_SURVEY_INFO, other)]);
        buf.extend(reply(0x22, 50, &[(ATTR_SURVEY_INFO, survey)]));
        let entries = decode_survey(&buf).unwrap();
        assert_eq!(entries.len(), 2);
        // The marked entry wins over the one on the interface's frequency.
        let e = survey_in_use(&entries, Some(2412)).unwrap();
        assert_eq!((e.freq_mhz, e.noise_dbm, e.in_use), (Some(2437), Some(-92), true));
        assert_eq!(survey_in_use(&entries[..1], Some(2412)).unwrap().noise_dbm, Some(-80));
        assert_eq!(survey_in_use(&entries[..1], Some(5180)), None);
        assert_eq!(survey_in_use(&entries[..1], None), None);
    }

    #[test]
    fn every_iftype_has_its_mode() {
        let modes: Vec<&str> = (0..=13).map(|t| Interface { iftype: Some(t), ..Interface::default() }.mode()).collect();
        assert_eq!(
            modes,
            [
                "",
                "adhoc",
                "station",
                "ap",
                "ap_vlan",
                "wds",
                "monitor",
                "mesh",
                "p2p_client",
                "p2p_go",
                "p2p_device",
                "ocb",
                "nan",
                ""
            ]
        );
        assert_eq!(Interface::default().mode(), "");
    }

    /// Replies captured from Linux 6.1 with mac80211_hwsim (tests/hwsim.rs).
    fn captured(name: &str) -> Vec<u8> {
        std::fs::read(format!("{}/tests/fixtures/openwrt_nl80211/nl80211/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    #[test]
    fn decodes_replies_captured_from_linux_6_1_hwsim() {
        let mut ifaces = decode_interfaces(&captured("interfaces.bin")).unwrap();
        ifaces.sort_by(|a, b| a.ifname.cmp(&b.ifname));
        let names: Vec<_> = ifaces.iter().map(|i| (i.ifname.as_str(), i.mode())).collect();
        assert_eq!(names, [("wlan0", "ap"), ("wlan1", "station")]);
        let ap = &ifaces[0];
        assert_eq!(
            (ap.ssid.as_deref(), ap.freq_mhz, ap.width_mhz(), ap.wiphy),
            (Some("ap-exporter-test"), Some(2437), Some(20), Some(0))
        );
        assert_eq!(ap.mac, Some([2, 0, 0, 0, 0, 0]));
        let stations = decode_stations(&captured("stations-wlan0.bin")).unwrap();
        assert_eq!(stations.len(), 1);
        let s = &stations[0];
        assert_eq!((s.mac.as_str(), s.signal_dbm), ("02:00:00:00:01:00", Some(-30)));
        assert!(s.rx_bytes.unwrap() >= 10_000 && s.tx_packets.unwrap() > 0 && s.connected_s.is_some());
        assert_eq!(s.tx_kbps, Some(11_000));
        // 11 Mbit/s out (legacy), an HT MCS in.
        assert_eq!(s.standard, Some(Standard::Ht));
        assert_eq!(ap.channel_standard(), Some(Standard::Ht));
        assert_eq!(ap.tx_power_mbm, Some(2000));
        // hostapd never scanned on the AP's radio, so its survey is empty;
        // the station's radio scanned channel 6 and reports it, unmarked.
        assert_eq!(decode_survey(&captured("survey-wlan0.bin")).unwrap(), vec![]);
        let entries = decode_survey(&captured("survey-wlan1.bin")).unwrap();
        let e = survey_in_use(&entries, Some(2437)).unwrap();
        assert_eq!((e.in_use, e.noise_dbm), (false, Some(-92)));
        assert_eq!(e.airtime, Airtime { active_ms: Some(76), busy_ms: Some(9), rx_ms: None, tx_ms: None });
    }

    #[test]
    fn an_error_in_the_done_message_ends_the_dump() {
        let mut buf = genl_request(0x22, 0, 1, 17, &[(ATTR_MAC, &[2, 0, 0, 0, 1, 0][..])]);
        let mut done = Vec::new();
        done.extend_from_slice(&20u32.to_ne_bytes());
        done.extend_from_slice(&NLMSG_DONE.to_ne_bytes());
        done.extend_from_slice(&[0; 10]);
        done.extend_from_slice(&(-libc::ENODEV).to_ne_bytes());
        buf.extend(done);
        assert_eq!(decode_stations(&buf), Err(DecodeError::Kernel(libc::ENODEV)));
        // A DONE without a payload (old kernels) just ends the dump.
        let mut buf = genl_request(0x22, 0, 1, 17, &[(ATTR_MAC, &[2, 0, 0, 0, 1, 0][..])]);
        buf.extend_from_slice(&16u32.to_ne_bytes());
        buf.extend_from_slice(&NLMSG_DONE.to_ne_bytes());
        buf.extend_from_slice(&[0; 10]);
        assert_eq!(decode_stations(&buf).unwrap().len(), 1);
    }

    #[test]
    fn kernel_errors_and_truncation() {
        let mut err = Vec::new();
        err.extend_from_slice(&36u32.to_ne_bytes());
        err.extend_from_slice(&NLMSG_ERROR.to_ne_bytes());
        err.extend_from_slice(&[0; 10]);
        err.extend_from_slice(&(-2i32).to_ne_bytes());
        err.extend_from_slice(&[0; 16]);
        assert_eq!(decode_family_id(&err), Err(DecodeError::Kernel(2)));
        let good = reply(0x22, 5, &[(ATTR_IFNAME, b"wlan0\0".to_vec())]);
        assert!(matches!(decode_interfaces(&good[..good.len() - 3]), Err(DecodeError::Truncated { .. })));
        // An attribute claiming more than its message holds.
        let mut bad = good.clone();
        bad[netlink::NLMSG_HDRLEN + netlink::GENL_HDRLEN] = 200;
        assert!(matches!(decode_interfaces(&bad), Err(DecodeError::Truncated { .. })));
        assert_eq!(decode_interfaces(&[]), Ok(vec![]));
    }
}
