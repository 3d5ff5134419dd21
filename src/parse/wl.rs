//! Broadcom's `wl` tool (ASUSWRT-Merlin, DD-WRT): pure parsers for its
//! `status`, `assoclist`, `sta_info`, `chanim_stats`, `phy_tempsense`,
//! `noise` and integer outputs. Output differs
//! between driver versions (`[VER 4]` ... `[VER 8]`), so every value is
//! found by its line's label, never by position, and a missing line is a
//! missing value, not an error.

use super::wifi::{Band, Standard, Station, mhz_from_channel, normalize_mac};

/// What `wl -i IF status` tells about an interface.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    /// SSID.
    pub ssid: Option<String>,
    /// BSSID, lower case.
    pub bssid: Option<String>,
    /// Noise floor in dBm.
    pub noise_dbm: Option<i32>,
    /// Band, from the chanspec (or the channel number).
    pub band: Option<Band>,
    /// Primary channel.
    pub channel: Option<u32>,
    /// Channel width in MHz.
    pub width_mhz: Option<u32>,
    /// The newest capability line: `HE Capable:`, `VHT Capable:`, ...
    pub standard: Option<Standard>,
}

impl Status {
    /// The primary channel's frequency.
    pub fn frequency_mhz(&self) -> Option<u32> {
        mhz_from_channel(self.band?, self.channel?)
    }
}

/// The leading integer of `s` (an optional minus sign and digits).
fn leading_int(s: &str) -> Option<i64> {
    let s = s.trim_start();
    let end =
        s.char_indices().find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && c == '-'))).map_or(s.len(), |(i, _)| i);
    s[..end].parse().ok()
}

/// The text after `label` in `line` (labels may follow tabs on one line).
fn after<'a>(line: &'a str, label: &str) -> Option<&'a str> {
    line.find(label).map(|i| line[i + label.len()..].trim_start())
}

/// Parses `wl status`.
pub fn parse_status(text: &str) -> Status {
    let mut s = Status::default();
    let mut channel_field = None;
    for line in text.lines() {
        let t = line.trim();
        if let Some(v) = t.strip_prefix("SSID:") {
            let v = v.trim();
            s.ssid = Some(v.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(v).to_string());
        }
        if let Some(v) = after(t, "noise:") {
            s.noise_dbm = leading_int(v).and_then(|n| i32::try_from(n).ok()).filter(|&n| n < 0);
        }
        // "VHT Capable:" or "HE Capable:" stands alone on its line; a legacy
        // BSS has none (802.11n ones say "802.11N Capable:" on some drivers).
        let capable = match t {
            "EHT Capable:" => Some(Standard::Eht),
            "HE Capable:" => Some(Standard::He),
            "VHT Capable:" => Some(Standard::Vht),
            "HT Capable:" | "802.11N Capable:" => Some(Standard::Ht),
            _ => None,
        };
        s.standard = s.standard.max(capable);
        if let Some(v) = after(t, "BSSID:") {
            s.bssid = v.split_ascii_whitespace().next().and_then(normalize_mac);
        }
        if let Some(v) = t.strip_prefix("Primary channel:") {
            s.channel = leading_int(v).and_then(|c| u32::try_from(c).ok());
        } else if let Some(v) = after(t, "Chanspec:") {
            // "5GHz channel 54 40MHz (0xd836)" or "2.4GHz channel 10 20MHz (0x100a)"
            let words: Vec<&str> = v.split_ascii_whitespace().collect();
            s.band = match words.first() {
                Some(&"2.4GHz") => Some(Band::G2_4),
                Some(&"5GHz") => Some(Band::G5),
                Some(&"6GHz") => Some(Band::G6),
                _ => None,
            };
            s.width_mhz = words.iter().find_map(|w| w.strip_suffix("MHz")).and_then(|w| w.parse().ok());
            if channel_field.is_none() {
                channel_field = words
                    .iter()
                    .position(|w| *w == "channel")
                    .and_then(|i| words.get(i + 1))
                    .and_then(|w| w.parse::<u32>().ok());
            }
        } else if let Some(v) = after(t, "Channel:") {
            // "Channel: 52l", "Channel: 48/160", "Channel: 1"
            if channel_field.is_none() {
                channel_field = leading_int(v).and_then(|c| u32::try_from(c).ok());
            }
        }
    }
    if s.channel.is_none() {
        s.channel = channel_field;
    }
    if s.band.is_none() {
        s.band = s.channel.map(|c| if c <= 14 { Band::G2_4 } else { Band::G5 });
    }
    s
}

/// Parses `wl assoclist`: one `assoclist MAC` per line (older tools print
/// just the MAC). MACs come back lower case, in order, without duplicates.
pub fn parse_assoclist(text: &str) -> Vec<String> {
    let mut macs: Vec<String> = Vec::new();
    for line in text.lines() {
        if let Some(mac) = line.split_ascii_whitespace().last().and_then(normalize_mac) {
            if !macs.contains(&mac) {
                macs.push(mac);
            }
        }
    }
    macs
}

/// Parses an integer answer such as `wl isup` or `wl ap`.
pub fn parse_int(text: &str) -> Option<i64> {
    leading_int(text.lines().next()?)
}

/// A decimal such as `41.82`, `10` or `-81`, in hundredths (no float
/// parsing: the router has no FPU and the binary no float parser to spare).
fn hundredths(s: &str) -> Option<i64> {
    let (neg, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty() || int.len() > 9 || !int.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut frac2 = frac.bytes().chain(std::iter::repeat(b'0')).take(2);
    let (d1, d2) = (frac2.next().unwrap_or(b'0') - b'0', frac2.next().unwrap_or(b'0') - b'0');
    let v = int.parse::<i64>().ok()? * 100 + i64::from(d1) * 10 + i64::from(d2);
    Some(if neg { -v } else { v })
}

/// What `wl chanim_stats` says about the channel in use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Chanim {
    /// Busy share of the last period in hundredths of a percent (0..=10000).
    pub busy_per10k: Option<u32>,
    /// The `knoise` column: the noise floor in dBm.
    pub noise_dbm: Option<i32>,
}

/// The columns that count as busy airtime: our transmissions, frames of
/// our BSS, of other BSSs, energy no category claimed, and carrier sense
/// without a decodable packet. `doze` (radio asleep) and `txop` (time free
/// to transmit) are not busy; `idle` is left out because its meaning
/// differs between driver versions (in real outputs it does not complement
/// the categories, which with `txop` do add up to about 100).
const CHANIM_BUSY: [&str; 5] = ["tx", "inbss", "obss", "nocat", "nopkt"];

/// Parses `wl chanim_stats`: a `version: N` line, a header line of column
/// names (`chanspec tx inbss obss nocat nopkt doze txop goodtx badtx glitch
/// badplcp knoise idle timestamp`, whose order and set vary by version),
/// then one row per chanspec, the first being the channel in use. Values
/// are percentages, integers on older drivers and with two decimals on
/// newer ones. Columns are found by name; anything unexpected gives `None`.
pub fn parse_chanim_stats(text: &str) -> Chanim {
    let mut header: Option<Vec<&str>> = None;
    for line in text.lines() {
        let words: Vec<&str> = line.split_ascii_whitespace().collect();
        if words.first() == Some(&"chanspec") {
            header = Some(words);
            continue;
        }
        let Some(names) = &header else { continue };
        if !words.first().is_some_and(|w| w.starts_with("0x")) {
            continue;
        }
        let column = |name: &str| names.iter().position(|n| *n == name).and_then(|i| words.get(i)).copied();
        let mut busy: Option<i64> = None;
        for name in CHANIM_BUSY {
            if let Some(v) = column(name) {
                let Some(v) = hundredths(v).filter(|v| (0..=10_000).contains(v)) else {
                    return Chanim::default();
                };
                busy = Some(busy.unwrap_or(0) + v);
            }
        }
        let noise_dbm = column("knoise").and_then(super::int_i32).filter(|n| (-150..0).contains(n));
        return Chanim { busy_per10k: busy.map(|b| b.min(10_000) as u32), noise_dbm };
    }
    Chanim::default()
}

/// Parses `wl phy_tempsense`: degrees Celsius, then the same in hex, as in
/// `53 (0x35)`. Values outside -40..=150 are not a temperature.
pub fn parse_tempsense(text: &str) -> Option<i32> {
    parse_int(text).filter(|t| (-40..=150).contains(t)).map(|t| t as i32)
}

/// Parses `wl noise`: the noise floor in dBm, such as `-89`.
pub fn parse_noise(text: &str) -> Option<i32> {
    parse_int(text).filter(|n| (-150..0).contains(n)).map(|n| n as i32)
}

/// Parses `wl sta_info MAC` into a station (the MAC is the caller's).
pub fn parse_sta_info(mac: &str, text: &str) -> Station {
    let mut s = Station { mac: mac.to_string(), ..Station::default() };
    let num = |v: &str| leading_int(v).and_then(|n| u64::try_from(n).ok());
    let mut total = (None, None);
    let mut data = (None, None);
    let mut retries_new = None;
    let mut retries_old = None;
    let mut smoothed = None;
    let mut avg_rssi = None;
    let mut last_rssi = None;
    // Strongest antenna; 0 means the antenna is not in use.
    let strongest = |v: &str| v.split_ascii_whitespace().filter_map(super::int_i32).filter(|&r| r < 0).max();
    for line in text.lines() {
        let t = line.trim();
        if let Some(v) = t.strip_prefix("idle ") {
            s.inactive_ms = num(v).map(|secs| secs.saturating_mul(1000));
        } else if let Some(v) = t.strip_prefix("in network ") {
            s.connected_s = num(v);
        } else if let Some((label, value)) = t.split_once(':') {
            let v = value.trim();
            match label.trim() {
                "tx total pkts" => total.0 = num(v),
                "tx total bytes" => total.1 = num(v),
                "tx data pkts" => data.0 = num(v),
                "tx data bytes" => data.1 = num(v),
                "rx data pkts" => s.rx_packets = num(v),
                "rx data bytes" => s.rx_bytes = num(v),
                "tx failures" => s.tx_failed = num(v),
                "tx pkts retries" => retries_new = num(v),
                "tx data pkts retried" => retries_old = num(v),
                "rate of last tx pkt" => s.tx_kbps = num(v),
                "rate of last rx pkt" => s.rx_kbps = num(v),
                "smoothed rssi" => smoothed = leading_int(v).and_then(|r| i32::try_from(r).ok()).filter(|&r| r < 0),
                "per antenna average rssi of rx data frames" => avg_rssi = strongest(v),
                "per antenna rssi of last rx data frame" => last_rssi = strongest(v),
                _ => {}
            }
        }
    }
    // Newer drivers say "total", older ones "data"; both mean all data frames.
    s.tx_packets = total.0.or(data.0);
    s.tx_bytes = total.1.or(data.1);
    s.tx_retries = retries_new.or(retries_old);
    s.signal_dbm = smoothed.or(avg_rssi).or(last_rssi);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> String {
        std::fs::read_to_string(format!("{}/tests/samples/wl/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    #[test]
    fn status_dd_wrt_2g_and_5g() {
        let s = parse_status(&sample("status_ddwrt_2g.txt"));
        assert_eq!(s.ssid.as_deref(), Some("AP"));
        assert_eq!(s.bssid.as_deref(), Some("3c:37:86:72:15:b6"));
        assert_eq!((s.noise_dbm, s.band, s.channel, s.width_mhz), (Some(-84), Some(Band::G2_4), Some(1), Some(20)));
        assert_eq!(s.frequency_mhz(), Some(2412));
        let s = parse_status(&sample("status_ddwrt_5g.txt"));
        assert_eq!((s.noise_dbm, s.band, s.channel, s.width_mhz), (Some(-92), Some(Band::G5), Some(52), Some(40)));
        assert_eq!(s.frequency_mhz(), Some(5260));
    }

    #[test]
    fn status_merlin_he() {
        let s = parse_status(&sample("status_merlin_ax_2g.txt"));
        assert_eq!(
            (s.ssid.as_deref(), s.band, s.channel, s.width_mhz, s.noise_dbm),
            (Some("skkzsh12ap"), Some(Band::G2_4), Some(10), Some(20), Some(-87))
        );
    }

    #[test]
    fn sta_info_old_driver_rt_ac56u() {
        let s = parse_sta_info("x", &sample("sta_info_rt-ac56u.txt"));
        assert_eq!(s.inactive_ms, Some(21_000));
        assert_eq!(s.connected_s, Some(14_891_407));
        assert_eq!((s.tx_packets, s.tx_bytes), (Some(28_575_451), Some(21_786_367_231)));
        assert_eq!((s.rx_packets, s.rx_bytes), (Some(24_295_358), Some(10_566_915_366)));
        assert_eq!((s.tx_failed, s.tx_retries), (Some(10_038), Some(46_878)));
        assert_eq!((s.tx_kbps, s.rx_kbps), (Some(1000), Some(65_000)));
        assert_eq!(s.signal_dbm, Some(-27), "strongest average antenna");
    }

    #[test]
    fn sta_info_ver_8() {
        let s = parse_sta_info("x", &sample("sta_info_ver8_5g_160.txt"));
        assert_eq!((s.tx_packets, s.tx_bytes), (Some(6_982_449), Some(4_331_833_014)));
        assert_eq!(s.tx_retries, Some(1_839_980), "\"tx pkts retries\" preferred");
        assert_eq!(s.tx_kbps, Some(2_882_350), "first rate before the fallback rate");
        assert_eq!(s.signal_dbm, Some(-46), "smoothed rssi preferred");
        assert_eq!(s.connected_s, Some(601_993));
        assert_eq!(s.inactive_ms, Some(0));
    }

    #[test]
    fn status_capability_lines_give_the_standard() {
        assert_eq!(parse_status(&sample("status_merlin_ax_2g.txt")).standard, Some(Standard::He));
        assert_eq!(parse_status(&sample("status_ddwrt_5g.txt")).standard, Some(Standard::Vht));
    }

    #[test]
    fn chanim_stats_version_2_integers() {
        // A Broadcom AP's `wl chanim_stats` (version 2, with idle).
        let c = parse_chanim_stats(&sample("chanim_stats_v2.txt"));
        // tx 10 + inbss 1 + obss 31 + nocat 27 + nopkt 11 = 80 %.
        assert_eq!(c, Chanim { busy_per10k: Some(8000), noise_dbm: Some(-81) });
    }

    #[test]
    fn chanim_stats_version_3_decimals() {
        // `wl -i wl2 chanim_stats` on a DOCSIS gateway: two decimals.
        let c = parse_chanim_stats(&sample("chanim_stats_v3.txt"));
        // 41.82 + 20.22 + 0.00 + 13.56 + 0.02 = 75.62 %.
        assert_eq!(c, Chanim { busy_per10k: Some(7562), noise_dbm: Some(-90) });
    }

    #[test]
    fn chanim_stats_acsd_header_without_idle() {
        // acsd's dump order: no idle column, timestamp last.
        let text = "Chanim Stats: version: 4, count: 19\nchanspec tx   inbss   obss   nocat   nopkt   doze   txop   goodtx  badtx  glitch   badplcp  knoise  timestamp\n0xd024      0       0       1       0       1       0       96      0       0       24      0       -97     981738759\n";
        assert_eq!(parse_chanim_stats(text), Chanim { busy_per10k: Some(200), noise_dbm: Some(-97) });
    }

    #[test]
    fn chanim_stats_garbage() {
        assert_eq!(parse_chanim_stats(""), Chanim::default());
        assert_eq!(parse_chanim_stats("wl: Unsupported\n"), Chanim::default());
        // A row without a header, a header without a row.
        assert_eq!(parse_chanim_stats("0x1006 10 1 31\n"), Chanim::default());
        assert_eq!(parse_chanim_stats("chanspec tx inbss\n"), Chanim::default());
        // Non-numbers and out-of-range percentages give nothing.
        assert_eq!(parse_chanim_stats("chanspec tx inbss\n0x1006 x 1\n").busy_per10k, None);
        assert_eq!(parse_chanim_stats("chanspec tx inbss\n0x1006 101 1\n").busy_per10k, None);
        // A short row: the columns it has.
        assert_eq!(parse_chanim_stats("chanspec tx inbss obss\n0x1006 60 50\n").busy_per10k, Some(10_000));
        assert_eq!(hundredths("1.5"), Some(150));
        assert_eq!(hundredths("-81"), Some(-8100));
        assert_eq!(hundredths("0.015"), Some(1));
        assert_eq!(hundredths("."), None);
        assert_eq!(hundredths("1.x"), None);
        assert_eq!(hundredths("99999999999"), None);
    }

    #[test]
    fn tempsense_and_noise() {
        assert_eq!(parse_tempsense(&sample("phy_tempsense.txt")), Some(53));
        assert_eq!(parse_tempsense("wl: Unsupported\n"), None);
        assert_eq!(parse_tempsense("65535 (0xffff)\n"), None);
        assert_eq!(parse_noise("-89\n"), Some(-89));
        assert_eq!(parse_noise("0\n"), None);
    }

    #[test]
    fn missing_lines_are_missing_values() {
        let s = parse_sta_info("x", " STA 00:11:22:33:44:55:\n\t idle x seconds\n\t tx failures: lots\n");
        assert_eq!(s, Station { mac: "x".into(), ..Station::default() });
        assert_eq!(parse_status(""), Status::default());
    }

    #[test]
    fn assoclist_and_ints() {
        assert_eq!(parse_assoclist(&sample("assoclist_ver8.txt")), vec!["34:53:d2:fc:e5:12", "7e:ba:8e:9e:62:06"]);
        assert_eq!(
            parse_assoclist("assoclist 50:84:92:F1:1A:44\nassoclist 50:84:92:f1:1a:44\n\n"),
            vec!["50:84:92:f1:1a:44"]
        );
        assert_eq!(parse_int("1\n"), Some(1));
        assert_eq!(parse_int("wl: error\n"), None);
    }
}
