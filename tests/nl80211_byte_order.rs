//! nl80211 in both byte orders. Netlink speaks the host's byte order, and
//! the captured replies in tests/fixtures/openwrt_nl80211/nl80211/ are
//! little-endian (x86_64, tests/hwsim.rs). Their byte swap, attribute by
//! attribute, is in nl80211-be/: what a big-endian router's kernel (OpenWrt's
//! mips_24kc, Entware's mips-3.4) would have sent. `make test` runs this file
//! on the mips-unknown-linux-musl build under qemu-mips too
//! (scripts/cross-build.sh --test), where the decoder and the whole scrape
//! replay the big-endian replies. No Debian kernel or userland runs
//! big-endian MIPS, so this is the nearest the tests get to such a router.
//!
//! `UPDATE_NL80211_FIXTURES=1 cargo test --test nl80211_byte_order`
//! rewrites nl80211-be/ from nl80211/.

mod common;

use ap_exporter::app::App;
use ap_exporter::config::Config;
use ap_exporter::parse::nl80211::{decode_interfaces, decode_stations, decode_survey, survey_in_use};
use std::path::{Path, PathBuf};

/// How an attribute's payload is laid out, for swapping its byte order.
#[derive(Clone, Copy)]
enum Kind {
    /// Bytes, strings, u8 and s8 values, flags: no byte order.
    Bytes,
    U16,
    U32,
    U64,
    /// A struct of u32 fields (`struct nl80211_sta_flag_update`).
    U32s,
    /// Attributes of the given table.
    Nested(&'static [(u16, Kind)]),
    /// An array: attributes indexed 1, 2, ..., each nesting the given table.
    Array(&'static [(u16, Kind)]),
}
use Kind::*;

// The attributes the captures hold, from the kernel's include/uapi/linux/nl80211.h.
const RATE_INFO: &[(u16, Kind)] = &[(1, U16), (2, Bytes), (5, U32)];
const BSS_PARAM: &[(u16, Kind)] = &[(1, Bytes), (2, Bytes), (3, Bytes), (4, Bytes), (5, U16)];
const TID_STATS: &[(u16, Kind)] = &[(1, U64), (2, U64), (3, U64), (4, U64)];
const STA_INFO: &[(u16, Kind)] = &[
    (1, U32),               // INACTIVE_TIME
    (2, U32),               // RX_BYTES
    (3, U32),               // TX_BYTES
    (7, Bytes),             // SIGNAL (s8)
    (8, Nested(RATE_INFO)), // TX_BITRATE
    (9, U32),               // RX_PACKETS
    (10, U32),              // TX_PACKETS
    (11, U32),              // TX_RETRIES
    (12, U32),              // TX_FAILED
    (13, Bytes),            // SIGNAL_AVG (s8)
    (14, Nested(RATE_INFO)),
    (15, Nested(BSS_PARAM)),
    (16, U32),              // CONNECTED_TIME
    (17, U32s),             // STA_FLAGS
    (18, U32),              // BEACON_LOSS
    (23, U64),              // RX_BYTES64
    (24, U64),              // TX_BYTES64
    (27, U32),              // EXPECTED_THROUGHPUT
    (28, U64),              // RX_DROP_MISC
    (29, U64),              // BEACON_RX
    (30, Bytes),            // BEACON_SIGNAL_AVG (u8)
    (31, Array(TID_STATS)), // TID_STATS
    (32, U64),              // RX_DURATION
    (39, U64),              // TX_DURATION
    (42, U64),              // ASSOC_AT_BOOTTIME
];
const SURVEY_INFO: &[(u16, Kind)] = &[(1, U32), (2, Bytes), (3, Bytes), (4, U64), (5, U64)];
const ATTRS: &[(u16, Kind)] = &[
    (1, U32),                  // WIPHY
    (3, U32),                  // IFINDEX
    (4, Bytes),                // IFNAME
    (5, U32),                  // IFTYPE
    (6, Bytes),                // MAC
    (21, Nested(STA_INFO)),    // STA_INFO
    (38, U32),                 // WIPHY_FREQ
    (39, U32),                 // WIPHY_CHANNEL_TYPE
    (46, U32),                 // GENERATION
    (52, Bytes),               // SSID
    (83, Bytes),               // 4ADDR (u8)
    (84, Nested(SURVEY_INFO)), // SURVEY_INFO
    (98, U32),                 // WIPHY_TX_POWER_LEVEL
    (153, U64),                // WDEV
    (159, U32),                // CHANNEL_WIDTH
    (160, U32),                // CENTER_FREQ1
    (290, U32),                // WIPHY_FREQ_OFFSET
];

const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLMSG_MIN_TYPE: u16 = 0x10;

/// Swaps a reply's byte order. The layout (lengths, padding) stays: every
/// multi-byte field is reversed where it is. Lengths are read in the
/// source's order, little-endian when `from_le`.
struct Swap<'a> {
    src: &'a [u8],
    out: Vec<u8>,
    from_le: bool,
}

impl Swap<'_> {
    fn u16_at(&self, at: usize) -> usize {
        let b = [self.src[at], self.src[at + 1]];
        usize::from(if self.from_le { u16::from_le_bytes(b) } else { u16::from_be_bytes(b) })
    }

    fn u32_at(&self, at: usize) -> usize {
        let b: [u8; 4] = self.src[at..at + 4].try_into().unwrap();
        (if self.from_le { u32::from_le_bytes(b) } else { u32::from_be_bytes(b) }) as usize
    }

    fn flip(&mut self, at: usize, width: usize) {
        self.out[at..at + width].reverse();
    }

    /// `struct nlmsghdr`: len, type, flags, seq, pid.
    fn header(&mut self, at: usize) {
        for (offset, width) in [(0, 4), (4, 2), (6, 2), (8, 4), (12, 4)] {
            self.flip(at + offset, width);
        }
    }

    fn messages(&mut self) {
        let mut at = 0;
        while at < self.src.len() {
            let (len, ty) = (self.u32_at(at), self.u16_at(at + 4) as u16);
            assert!(len >= 16 && at + len <= self.src.len(), "bad message length {len} at byte {at}");
            self.header(at);
            match ty {
                // The errno, then the request's header.
                NLMSG_ERROR => {
                    self.flip(at + 16, 4);
                    self.header(at + 20);
                }
                NLMSG_DONE if len >= 20 => self.flip(at + 16, 4),
                // genlmsghdr (cmd, version, a reserved u16), then attributes.
                ty if ty >= NLMSG_MIN_TYPE => {
                    self.flip(at + 18, 2);
                    self.attrs(at + 20, at + len, ATTRS);
                }
                _ => {}
            }
            at += len.next_multiple_of(4);
        }
    }

    fn attrs(&mut self, start: usize, end: usize, table: &[(u16, Kind)]) {
        let mut at = start;
        while at + 4 <= end {
            let (len, ty) = (self.u16_at(at), self.u16_at(at + 2) as u16 & 0x3fff);
            assert!(len >= 4 && at + len <= end, "bad attribute length {len} at byte {at}");
            self.flip(at, 2);
            self.flip(at + 2, 2);
            let kind = table.iter().find(|(t, _)| *t == ty).map(|(_, k)| *k);
            let kind = kind.unwrap_or_else(|| panic!("attribute {ty} at byte {at} is not in this file's tables"));
            let (p, size) = (at + 4, len - 4);
            let width = match kind {
                Bytes | Nested(_) | Array(_) | U32s => size,
                U16 => 2,
                U32 => 4,
                U64 => 8,
            };
            assert_eq!(size, width, "attribute {ty} at byte {at}");
            match kind {
                Bytes => {}
                U16 | U32 | U64 => self.flip(p, size),
                U32s => (0..size).step_by(4).for_each(|i| self.flip(p + i, 4)),
                Nested(inner) => self.attrs(p, p + size, inner),
                Array(element) => {
                    let mut e = p;
                    while e + 4 <= p + size {
                        let elen = self.u16_at(e);
                        self.flip(e, 2);
                        self.flip(e + 2, 2);
                        self.attrs(e + 4, e + elen, element);
                        e += elen.next_multiple_of(4);
                    }
                }
            }
            at += len.next_multiple_of(4);
        }
    }
}

fn swap_byte_order(reply: &[u8], from_le: bool) -> Vec<u8> {
    let mut s = Swap { src: reply, out: reply.to_vec(), from_le };
    s.messages();
    s.out
}

fn fixture() -> PathBuf {
    common::fixtures().join("openwrt_nl80211")
}

/// The replies' directory in this build's byte order, and in the other.
fn native_and_foreign() -> (&'static str, &'static str) {
    if cfg!(target_endian = "big") { ("nl80211-be", "nl80211") } else { ("nl80211", "nl80211-be") }
}

fn read(dir: &str, name: &str) -> Vec<u8> {
    let p = fixture().join(dir).join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn captures() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixture().join("nl80211"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 5, "{names:?}");
    names
}

#[test]
fn big_endian_replies_are_the_captures_byte_swapped() {
    let update = std::env::var_os("UPDATE_NL80211_FIXTURES").is_some();
    std::fs::create_dir_all(fixture().join("nl80211-be")).unwrap();
    for name in captures() {
        let le = read("nl80211", &name);
        let be = swap_byte_order(&le, true);
        if update {
            std::fs::write(fixture().join("nl80211-be").join(&name), &be).unwrap();
        }
        assert!(be == read("nl80211-be", &name), "nl80211-be/{name} is stale: UPDATE_NL80211_FIXTURES=1 rewrites it");
        assert_eq!(swap_byte_order(&be, false), le, "{name}: swapping back should give the capture");
        if le.len() > 20 {
            assert_ne!(be, le, "{name}: a reply with attributes changes when swapped");
        }
    }
}

#[test]
fn decoder_reads_replies_in_this_builds_byte_order() {
    let (native, foreign) = native_and_foreign();
    let mut ifaces = decode_interfaces(&read(native, "interfaces.bin")).unwrap();
    ifaces.sort_by(|a, b| a.ifname.cmp(&b.ifname));
    let names: Vec<_> = ifaces.iter().map(|i| (i.ifname.as_str(), i.mode())).collect();
    assert_eq!(names, [("wlan0", "ap"), ("wlan1", "station")]);
    let ap = &ifaces[0];
    assert_eq!(
        (ap.ssid.as_deref(), ap.freq_mhz, ap.width_mhz(), ap.wiphy, ap.ifindex),
        (Some("ap-exporter-test"), Some(2437), Some(20), Some(0), 2)
    );
    assert_eq!(ap.mac, Some([2, 0, 0, 0, 0, 0]));
    let stations = decode_stations(&read(native, "stations-wlan0.bin")).unwrap();
    assert_eq!(stations.len(), 1);
    let s = &stations[0];
    assert_eq!((s.mac.as_str(), s.signal_dbm), ("02:00:00:00:01:00", Some(-30)));
    assert_eq!((s.rx_bytes, s.tx_bytes, s.rx_packets, s.tx_packets), (Some(12285), Some(11239), Some(27), Some(17)));
    assert_eq!((s.tx_kbps, s.rx_kbps, s.connected_s, s.inactive_ms), (Some(11_000), Some(104_000), Some(9), Some(52)));
    assert_eq!((s.beacon_loss, s.expected_throughput_kbps), (None, Some(6468)));
    assert_eq!(ap.tx_power_mbm, Some(2000));
    let survey = decode_survey(&read(native, "survey-wlan1.bin")).unwrap();
    let e = survey_in_use(&survey, Some(2437)).unwrap();
    assert_eq!((e.noise_dbm, e.airtime.active_ms, e.airtime.busy_ms), (Some(-92), Some(76), Some(9)));
    // The other order must not pass for this one: its first length is absurd.
    assert!(decode_interfaces(&read(foreign, "interfaces.bin")).is_err());
}

#[test]
fn openwrt_scrape_is_the_same_in_this_builds_byte_order() {
    let (native, _) = native_and_foreign();
    let dir = fixture();
    let text = std::fs::read_to_string(dir.join("config.toml")).unwrap();
    // Relative paths are relative to the working directory, which golden.rs
    // sets to the fixture; here they become absolute.
    let mut config = text.clone();
    for (key, value) in [
        ("leases", "dhcp.leases"),
        ("procfs", "proc"),
        ("sysfs", "sys"),
        ("etc", "etc"),
        ("directory", "textfile"),
        ("nl80211", "nl80211"),
    ] {
        let line = format!("{key} = \"{value}\"");
        assert!(config.contains(&line), "{line} not in the fixture's config.toml");
        let to = if key == "nl80211" { native } else { value };
        config = config.replace(&line, &format!("{key} = {:?}", dir.join(to).display().to_string()));
    }
    let config = Config::from_toml(&config, Path::new("config.toml")).unwrap();
    let scrape = App::new(config).scrape_all().to_string();
    let expected = std::fs::read_to_string(dir.join("expected.prom")).unwrap();
    assert_eq!(common::stable_scrape(&scrape), expected);
}
