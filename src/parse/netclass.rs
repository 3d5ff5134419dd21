//! `/sys/class/net/<iface>/*`: one value per file, turned into the values
//! node_exporter's netclass collector reports, with its rules:
//!
//! - every file is read once, at most [`ATTR_READ_BYTES`] bytes, and
//!   trimmed of white space at both ends;
//! - integer files are read as Go's `strconv.ParseInt(s, 0, 64)` does
//!   (`0x1003` is hexadecimal, `017` octal), and a value that does not
//!   parse becomes 0, not absent (procfs's value parser hands back the
//!   zero it failed with);
//! - a file that is missing or unreadable leaves its series out.

/// How much of a sysfs attribute is read: one `read(2)` of this many bytes,
/// as procfs does (a longer `ifalias` is cut there).
pub const ATTR_READ_BYTES: usize = 128;

/// The integer attributes node_exporter exports, sorted by family name:
/// (file, family name without `node_network_`, counter?).
/// `speed` is here too, but its value goes through [`speed_bytes`].
pub const INT_ATTRS: &[(&str, &str, bool)] = &[
    ("addr_assign_type", "address_assign_type", false),
    ("carrier", "carrier", false),
    ("carrier_changes", "carrier_changes_total", true),
    ("carrier_down_count", "carrier_down_changes_total", true),
    ("carrier_up_count", "carrier_up_changes_total", true),
    ("dev_id", "device_id", false),
    ("dormant", "dormant", false),
    ("flags", "flags", false),
    ("ifindex", "iface_id", false),
    ("iflink", "iface_link", false),
    ("link_mode", "iface_link_mode", false),
    ("mtu", "mtu_bytes", false),
    ("name_assign_type", "name_assign_type", false),
    ("netdev_group", "net_dev_group", false),
    ("type", "protocol_type", false),
    ("speed", "speed_bytes", false),
    ("tx_queue_len", "transmit_queue_length", false),
];

/// Where `node_network_info` goes among [`INT_ATTRS`]'s families (before
/// this row) to keep all the families in name order; `node_network_up`
/// comes last.
pub const INFO_AT: usize = 11;

/// The text attributes that go into `node_network_info` (and `_up`), in
/// label order.
pub const TEXT_ATTRS: &[&str] = &["address", "broadcast", "duplex", "ifalias", "operstate"];

/// What one interface's directory held.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Iface {
    /// One slot per [`INT_ATTRS`] row; `None` when the file was not read.
    pub ints: [Option<i64>; INT_ATTRS.len()],
    /// One slot per [`TEXT_ATTRS`] row; empty when the file was not read.
    pub texts: [String; TEXT_ATTRS.len()],
}

impl Iface {
    /// Whether `file` is one this module uses (the others need not be read).
    pub fn wants(file: &str) -> bool {
        Self::files().any(|f| f == file)
    }

    /// Records the contents of the file named `file`; unknown names are ignored.
    pub fn set(&mut self, file: &str, contents: &str) {
        if let Some(k) = Self::files().position(|f| f == file) {
            self.set_nth(k, contents);
        }
    }

    /// Every file this module uses: [`INT_ATTRS`]'s, then [`TEXT_ATTRS`].
    pub fn files() -> impl Iterator<Item = &'static str> {
        INT_ATTRS.iter().map(|a| a.0).chain(TEXT_ATTRS.iter().copied())
    }

    /// Records the contents of the `k`th of [`Iface::files`]; out of range
    /// is ignored.
    pub fn set_nth(&mut self, k: usize, contents: &str) {
        let value = contents.trim();
        if let Some(slot) = self.ints.get_mut(k) {
            *slot = Some(go_parse_int(value).unwrap_or(0));
        } else if let Some(slot) = self.texts.get_mut(k - INT_ATTRS.len()) {
            *slot = value.to_string();
        }
    }

    /// The text attribute `file` (one of [`TEXT_ATTRS`]), or "".
    pub fn text(&self, file: &str) -> &str {
        TEXT_ATTRS.iter().position(|f| *f == file).map_or("", |i| self.texts[i].as_str())
    }

    /// `node_network_up`: 1 when operstate is exactly `up`, else 0 (also
    /// when the file is missing, as on a kernel without it).
    pub fn up(&self) -> u64 {
        u64::from(self.texts[4] == "up")
    }

    /// The value of the [`INT_ATTRS`] row `k` if its file was read, as
    /// node_exporter writes it (`speed` converted to bytes per second).
    pub fn value(&self, k: usize) -> Option<i64> {
        let v = (*self.ints.get(k)?)?;
        Some(if INT_ATTRS[k].0 == "speed" { speed_bytes(v) } else { v })
    }

    /// The value of each integer family present, as [`Iface::value`].
    pub fn values(&self) -> impl Iterator<Item = (usize, i64)> + '_ {
        (0..INT_ATTRS.len()).filter_map(|k| Some((k, self.value(k)?)))
    }
}

/// `speed` (Mbit/s) to bytes per second, in node_exporter's int64
/// arithmetic: `speed * 1000 * 1000 / 8`, so the `-1` that some drivers
/// report for an unknown speed becomes `-125000` (node_exporter 1.5 keeps
/// it unless `--collector.netclass.ignore-invalid-speed`). Overflow wraps,
/// as Go's does.
pub fn speed_bytes(mbits: i64) -> i64 {
    mbits.wrapping_mul(1000).wrapping_mul(1000) / 8
}

/// Go's `strconv.ParseInt(s, 0, 64)`: an optional sign, then a decimal
/// number, or `0x`/`0o`/`0b` prefixed, or `0`-prefixed octal, with `_`
/// allowed between digits; `None` on anything else or on overflow.
pub fn go_parse_int(s: &str) -> Option<i64> {
    let (neg, unsigned) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let n = go_parse_uint_base0(unsigned)?;
    const LIMIT: u64 = 1 << 63;
    if neg {
        if n > LIMIT {
            return None;
        }
        Some((n as i64).wrapping_neg())
    } else if n >= LIMIT {
        None
    } else {
        Some(n as i64)
    }
}

/// Go's rule for `_` (only between digits, or between a base prefix and
/// a digit) is checked in the same pass: a `_` must follow a digit or the
/// prefix, and a digit must follow it.
fn go_parse_uint_base0(s0: &str) -> Option<u64> {
    let b = s0.as_bytes();
    let first = *b.first()?;
    let (base, digits): (u64, &[u8]) = if first == b'0' {
        match b.get(1).map(u8::to_ascii_lowercase) {
            Some(b'b') if b.len() >= 3 => (2, &b[2..]),
            Some(b'o') if b.len() >= 3 => (8, &b[2..]),
            Some(b'x') if b.len() >= 3 => (16, &b[2..]),
            _ => (8, &b[1..]),
        }
    } else {
        (10, b)
    };
    let mut n: u64 = 0;
    // Whether the last character was a digit or the prefix (the leading `0`).
    let mut after_digit = base != 10;
    for &c in digits {
        if c == b'_' {
            if !after_digit {
                return None;
            }
            after_digit = false;
            continue;
        }
        let d = match c {
            b'0'..=b'9' => u64::from(c - b'0'),
            b'a'..=b'z' | b'A'..=b'Z' => u64::from(c.to_ascii_lowercase() - b'a') + 10,
            _ => return None,
        };
        if d >= base {
            return None;
        }
        n = n.checked_mul(base)?.checked_add(d)?;
        after_digit = true;
    }
    after_digit.then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `grep . /sys/class/net/eth0/*` on an OpenWrt 23.05 mt7621 (Linux
    /// 5.15, mtk_soc_eth): the DSA conduit, up at 1 Gbit/s.
    const MT7621_ETH0: &[(&str, &str)] = &[
        ("addr_assign_type", "0\n"),
        ("addr_len", "6\n"),
        ("address", "60:38:e0:c2:7a:10\n"),
        ("broadcast", "ff:ff:ff:ff:ff:ff\n"),
        ("carrier", "1\n"),
        ("carrier_changes", "2\n"),
        ("carrier_down_count", "1\n"),
        ("carrier_up_count", "1\n"),
        ("dev_id", "0x0\n"),
        ("dev_port", "0\n"),
        ("dormant", "0\n"),
        ("duplex", "full\n"),
        ("flags", "0x1003\n"),
        ("gro_flush_timeout", "0\n"),
        ("ifalias", "\n"),
        ("ifindex", "2\n"),
        ("iflink", "2\n"),
        ("link_mode", "0\n"),
        ("mtu", "1504\n"),
        ("name_assign_type", "1\n"),
        ("netdev_group", "0\n"),
        ("operstate", "up\n"),
        ("proto_down", "0\n"),
        ("speed", "1000\n"),
        ("tx_queue_len", "1000\n"),
        ("type", "1\n"),
    ];

    fn iface(files: &[(&str, &str)]) -> Iface {
        let mut i = Iface::default();
        for (f, c) in files {
            if Iface::wants(f) {
                i.set(f, c);
            }
        }
        i
    }

    fn value(i: &Iface, family: &str) -> Option<i64> {
        i.values().find(|(k, _)| INT_ATTRS[*k].1 == family).map(|(_, v)| v)
    }

    #[test]
    fn parses_a_real_openwrt_interface() {
        let i = iface(MT7621_ETH0);
        assert_eq!(i.up(), 1);
        assert_eq!(i.text("address"), "60:38:e0:c2:7a:10");
        assert_eq!(i.text("ifalias"), "");
        assert_eq!(value(&i, "flags"), Some(0x1003));
        assert_eq!(value(&i, "device_id"), Some(0));
        assert_eq!(value(&i, "speed_bytes"), Some(125_000_000));
        assert_eq!(value(&i, "mtu_bytes"), Some(1504));
        assert_eq!(value(&i, "carrier_up_changes_total"), Some(1));
        assert_eq!(i.values().count(), INT_ATTRS.len());
    }

    #[test]
    fn a_2_6_22_interface_has_fewer_files() {
        // Linux 2.6.22 (RT-N16, Merlin): no carrier_changes, name_assign_type,
        // carrier_*_count, netdev_group, dev_id or speed; a down bridge port
        // gives EINVAL on carrier, which the reader leaves out.
        let i = iface(&[
            ("addr_len", "6\n"),
            ("address", "00:90:4c:0f:f5:a1\n"),
            ("broadcast", "ff:ff:ff:ff:ff:ff\n"),
            ("dormant", "0\n"),
            ("features", "0x829\n"),
            ("flags", "0x1002\n"),
            ("ifindex", "7\n"),
            ("iflink", "7\n"),
            ("link_mode", "0\n"),
            ("mtu", "1500\n"),
            ("operstate", "down\n"),
            ("tx_queue_len", "1000\n"),
            ("type", "1\n"),
            ("weight", "64\n"),
        ]);
        assert_eq!(i.up(), 0);
        assert_eq!(value(&i, "carrier"), None);
        assert_eq!(value(&i, "carrier_changes_total"), None);
        assert_eq!(value(&i, "flags"), Some(0x1002));
        assert_eq!(i.values().count(), 8);
    }

    #[test]
    fn tables_are_in_family_and_label_order() {
        let mut families: Vec<&str> = INT_ATTRS.iter().map(|a| a.1).collect();
        families.insert(INFO_AT, "info");
        families.push("up");
        assert!(families.windows(2).all(|w| w[0] < w[1]), "{families:?}");
        assert!(TEXT_ATTRS.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(TEXT_ATTRS[4], "operstate");
    }

    #[test]
    fn node_exporter_quirks() {
        // An unknown speed: -1 Mbit/s becomes -125000 bytes/s.
        assert_eq!(speed_bytes(-1), -125_000);
        assert_eq!(speed_bytes(i64::MAX), i64::MAX.wrapping_mul(1_000_000) / 8);
        // Unparsable integers are 0, not absent.
        let i = iface(&[("mtu", "garbage\n"), ("dormant", "")]);
        assert_eq!(value(&i, "mtu_bytes"), Some(0));
        assert_eq!(value(&i, "dormant"), Some(0));
        // operstate must be exactly "up".
        assert_eq!(iface(&[("operstate", "unknown\n")]).up(), 0);
        assert_eq!(iface(&[("operstate", "UP\n")]).up(), 0);
        assert_eq!(iface(&[]).up(), 0);
        // White space around text is trimmed, inside kept.
        assert_eq!(iface(&[("ifalias", "  uplink to ISP \n")]).text("ifalias"), "uplink to ISP");
    }

    #[test]
    fn go_parse_int_matches_go() {
        for (s, want) in [
            ("0", Some(0)),
            ("10", Some(10)),
            ("-10", Some(-10)),
            ("+7", Some(7)),
            ("0x1003", Some(0x1003)),
            ("0X1f", Some(31)),
            ("017", Some(15)),
            ("0o17", Some(15)),
            ("0b101", Some(5)),
            ("1_000", Some(1000)),
            ("0_17", Some(15)),
            ("0_", None),
            ("0x_", None),
            ("0x__1", None),
            ("0b1_", None),
            ("-0x_1_0", Some(-16)),
            ("0x_1f", Some(31)),
            ("9223372036854775807", Some(i64::MAX)),
            ("-9223372036854775808", Some(i64::MIN)),
            ("9223372036854775808", None),
            ("-9223372036854775809", None),
            ("", None),
            ("-", None),
            ("+-1", None),
            ("0x", None),
            ("08", None),
            ("1__0", None),
            ("_1", None),
            ("1_", None),
            ("1 2", None),
            ("0b2", None),
            ("1.5", None),
            ("１", None),
        ] {
            assert_eq!(go_parse_int(s), want, "{s:?}");
        }
    }
}
