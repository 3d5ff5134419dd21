//! dnsmasq's leases file: `EXPIRY MAC IP HOSTNAME CLIENT-ID` per line, used
//! to put hostnames and addresses on `wifi_station_info`. With DHCPv6,
//! dnsmasq adds its `duid SERVER-DUID` line and IPv6 leases, which carry an
//! IAID (`T`-prefixed for temporary addresses) where the MAC goes:
//!
//! ```text
//! 1732560000 34:53:d2:fc:e5:12 192.168.1.23 pixel-7 01:34:53:d2:fc:e5:12
//! duid 00:01:00:01:2c:1f:4e:aa:34:53:d2:fc:e5:12
//! 1732560000 1234567 fd00::23 laptop 00:01:00:01:2c:1f:4e:aa:34:53:d2:fc:e5:12
//! ```

use crate::parse::ParseError;

/// MAC to (hostname, IP), sorted by MAC, and what could not be read.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Leases {
    entries: Vec<(String, String, String)>,
    /// How many lines were skipped as unreadable.
    pub skipped: usize,
    /// The first of them: its line and what was expected there.
    pub first_skipped: Option<ParseError>,
}

impl Leases {
    /// The hostname and IP for a lower-case MAC.
    pub fn lookup(&self, mac: &str) -> Option<(&str, &str)> {
        self.entries
            .binary_search_by(|(m, _, _)| m.as_str().cmp(mac))
            .ok()
            .map(|i| (self.entries[i].1.as_str(), self.entries[i].2.as_str()))
    }
}

/// Parses a leases file. The `duid` line and leases without a MAC (IPv6
/// ones, and hardware other than Ethernet) are left out; a hostname of `*`
/// means none. A MAC leased twice keeps the later line. A line that cannot
/// be read (too few fields, an expiry that is not a number, an address that
/// is not one, such as a scoped `fe80::1%br-lan`) is skipped alone and
/// counted: the others' hostnames still count.
pub fn parse(text: &str) -> Leases {
    let mut leases = Leases::default();
    for (idx, line) in text.lines().enumerate() {
        let f: Vec<&str> = line.split_ascii_whitespace().collect();
        let problem = match f.as_slice() {
            [] | ["duid", ..] => continue,
            [expiry, mac, ip, host, ..] if super::decimal_u64(expiry).is_some() => {
                // IPv6 leases put an IAID where the MAC goes: skip what is not a MAC.
                let Some(mac) = super::wifi::normalize_mac(mac) else { continue };
                if ip.parse::<std::net::IpAddr>().is_ok() {
                    let host = if *host == "*" { String::new() } else { host.to_string() };
                    leases.entries.push((mac, host, ip.to_string()));
                    continue;
                }
                ParseError::new(idx + 1, "an IP address in the third field", ip)
            }
            _ => ParseError::new(idx + 1, "\"EXPIRY MAC IP HOSTNAME [CLIENT-ID]\"", line),
        };
        leases.skipped += 1;
        leases.first_skipped.get_or_insert(problem);
    }
    // A MAC leased twice keeps the later line, in n log n (removing the
    // earlier entry at each line was quadratic in the file's lines):
    // reversed, a stable sort by MAC puts each MAC's last line first, and
    // dedup keeps the first of each run.
    let entries = &mut leases.entries;
    entries.reverse();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries.dedup_by(|later, kept| later.0 == kept.0);
    leases
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mac_leased_twice_keeps_the_later_line() {
        let l = parse(
            "1 02:00:00:00:00:01 10.0.0.1 old\n1 02:00:00:00:00:02 10.0.0.2 other\n\
             2 02:00:00:00:00:01 10.0.0.3 new\n3 02:00:00:00:00:01 10.0.0.4 newest\n",
        );
        assert_eq!(l.lookup("02:00:00:00:00:01"), Some(("newest", "10.0.0.4")));
        assert_eq!(l.lookup("02:00:00:00:00:02"), Some(("other", "10.0.0.2")));
        // A file near the read cap (70,000 lines) parses in one pass.
        let text: String = (0..70_000u32)
            .map(|i| format!("1 02:00:00:{:02x}:{:02x}:{:02x} 10.0.0.1 h{i}\n", i >> 16, (i >> 8) & 255, i & 255))
            .collect();
        assert_eq!(parse(&text).entries.len(), 70_000);
    }

    /// What dnsmasq 2.90 writes with DHCPv4 and DHCPv6 on (OpenWrt's
    /// odhcpd-less setups, Merlin with IPv6 on): IPv4 leases, one of them
    /// without hostname or client id, the server's `duid` line, then IPv6
    /// leases with an IAID where the MAC goes (`T` for a temporary address).
    const DNSMASQ_DUAL_STACK: &str = "\
1732560000 34:53:d2:fc:e5:12 192.168.1.23 pixel-7 01:34:53:d2:fc:e5:12
0 7E:BA:8E:9E:62:06 192.168.1.40 * *
1732563600 f0:99:bf:92:1c:98 192.168.1.31 AppleTV ff:bf:92:1c:98:00:01:00:01:2c:1f:4e:aa:f0:99:bf:92:1c:98
duid 00:01:00:01:2c:1f:4e:aa:34:53:d2:fc:e5:12
1732560000 1234567 fd00::23 laptop 00:01:00:01:2c:1f:4e:aa:34:53:d2:fc:e5:12
1732560000 T2345678 2001:db8::9a3c laptop 00:01:00:01:2c:1f:4e:aa:34:53:d2:fc:e5:12
1732560000 3456789 fd00::24 * *
";

    #[test]
    fn openwrt_and_merlin_leases() {
        // OpenWrt /tmp/dhcp.leases and Merlin /var/lib/misc/dnsmasq.leases share this format.
        let l = parse(DNSMASQ_DUAL_STACK);
        assert_eq!(l.entries.len(), 3);
        assert_eq!(l.lookup("34:53:d2:fc:e5:12"), Some(("pixel-7", "192.168.1.23")));
        assert_eq!(l.lookup("7e:ba:8e:9e:62:06"), Some(("", "192.168.1.40")));
        assert_eq!(l.lookup("f0:99:bf:92:1c:98"), Some(("AppleTV", "192.168.1.31")));
        assert_eq!(l.lookup("00:00:00:00:00:00"), None);
        // None of dnsmasq's own lines is a problem.
        assert_eq!((l.skipped, l.first_skipped), (0, None));
        // Hardware other than Ethernet (type 6, IEEE 802) has no MAC to match.
        let l = parse("1732560000 06-00:11:22:33:44:55 192.168.1.50 tr *\n");
        assert_eq!((l.entries.len(), l.skipped), (0, 0));
    }

    #[test]
    fn a_bad_line_is_skipped_alone() {
        for (bad, expected) in [
            // A scoped address, as some scripts that write leases print it.
            ("1732560000 02:00:00:00:00:09 fe80::1%br-lan phone *", "an IP address in the third field"),
            ("1732560000 02:00:00:00:00:09 192.168.1.999 phone *", "an IP address in the third field"),
            ("1732560000 02:00:00:00:00:09 192.168.1.9", "\"EXPIRY MAC IP HOSTNAME [CLIENT-ID]\""),
            ("never 02:00:00:00:00:09 192.168.1.9 phone *", "\"EXPIRY MAC IP HOSTNAME [CLIENT-ID]\""),
            ("+1 02:00:00:00:00:09 192.168.1.9 phone *", "\"EXPIRY MAC IP HOSTNAME [CLIENT-ID]\""),
            ("99999999999999999999999 02:00:00:00:00:09 192.168.1.9 phone *", "\"EXPIRY"),
            ("x y z w", "\"EXPIRY"),
            ("1 aa", "\"EXPIRY"),
            ("\u{feff}garbage \u{fffd}", "\"EXPIRY"),
        ] {
            // First, in the middle, and last (without its newline).
            for text in [
                format!("{bad}\n{DNSMASQ_DUAL_STACK}"),
                DNSMASQ_DUAL_STACK.replacen("duid", &format!("{bad}\nduid"), 1),
                format!("{DNSMASQ_DUAL_STACK}{bad}"),
            ] {
                let l = parse(&text);
                assert_eq!(l.entries.len(), 3, "{text}");
                assert_eq!(l.lookup("34:53:d2:fc:e5:12"), Some(("pixel-7", "192.168.1.23")), "{text}");
                assert_eq!(l.lookup("02:00:00:00:00:09"), None, "{text}");
                assert_eq!(l.skipped, 1, "{text}");
                let e = l.first_skipped.unwrap();
                assert_eq!(text.lines().nth(e.line - 1), Some(bad), "{text}");
                assert!(e.expected.starts_with(expected), "{e}");
            }
        }
        // Several: counted, the first one named.
        let l = parse("x\n1 02:00:00:00:00:01 10.0.0.1 a\n1 02:00:00:00:00:02 bad b\n");
        assert_eq!((l.entries.len(), l.skipped, l.first_skipped.map(|e| e.line)), (1, 2, Some(1)));
        assert_eq!(parse(""), Leases::default());
    }
}
