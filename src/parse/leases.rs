//! dnsmasq's leases file: `EXPIRY MAC IP HOSTNAME CLIENT-ID` per line, used
//! to put hostnames and addresses on `wifi_station_info`.

use crate::parse::ParseError;

/// MAC to (hostname, IP), sorted by MAC.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Leases {
    entries: Vec<(String, String, String)>,
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

/// Parses a leases file. IPv6 lines (`duid ...`) are skipped; a hostname of
/// `*` means none. A MAC leased twice keeps the later line.
pub fn parse(text: &str) -> Result<Leases, ParseError> {
    let mut entries: Vec<(String, String, String)> = Vec::new();
    for (idx, line) in text.lines().enumerate() {
        let f: Vec<&str> = line.split_ascii_whitespace().collect();
        if f.is_empty() || f[0] == "duid" {
            continue;
        }
        if f.len() < 4 || f[0].parse::<u64>().is_err() {
            return Err(ParseError::new(idx + 1, "\"EXPIRY MAC IP HOSTNAME [CLIENT-ID]\"", line));
        }
        // IPv6 leases put an IAID where the MAC goes: skip what is not a MAC.
        let Some(mac) = super::wifi::normalize_mac(f[1]) else { continue };
        if f[2].parse::<std::net::IpAddr>().is_err() {
            return Err(ParseError::new(idx + 1, "an IP address in the third field", f[2]));
        }
        let host = if f[3] == "*" { String::new() } else { f[3].to_string() };
        entries.push((mac, host, f[2].to_string()));
    }
    // A MAC leased twice keeps the later line, in n log n (removing the
    // earlier entry at each line was quadratic in the file's lines):
    // reversed, a stable sort by MAC puts each MAC's last line first, and
    // dedup keeps the first of each run.
    entries.reverse();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries.dedup_by(|later, kept| later.0 == kept.0);
    Ok(Leases { entries })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mac_leased_twice_keeps_the_later_line() {
        let l = parse(
            "1 02:00:00:00:00:01 10.0.0.1 old\n1 02:00:00:00:00:02 10.0.0.2 other\n\
             2 02:00:00:00:00:01 10.0.0.3 new\n3 02:00:00:00:00:01 10.0.0.4 newest\n",
        )
        .unwrap();
        assert_eq!(l.lookup("02:00:00:00:00:01"), Some(("newest", "10.0.0.4")));
        assert_eq!(l.lookup("02:00:00:00:00:02"), Some(("other", "10.0.0.2")));
        // A file near the read cap (70,000 lines) parses in one pass.
        let text: String = (0..70_000u32)
            .map(|i| format!("1 02:00:00:{:02x}:{:02x}:{:02x} 10.0.0.1 h{i}\n", i >> 16, (i >> 8) & 255, i & 255))
            .collect();
        assert_eq!(parse(&text).unwrap().entries.len(), 70_000);
    }

    #[test]
    fn openwrt_and_merlin_leases() {
        // OpenWrt /tmp/dhcp.leases and Merlin /var/lib/misc/dnsmasq.leases share this format.
        let l = parse(
            "1732560000 34:53:d2:fc:e5:12 192.168.1.23 pixel-7 01:34:53:d2:fc:e5:12\n\
             0 7E:BA:8E:9E:62:06 192.168.1.40 * *\n\
             duid 00:01:00:01:2c:1f:4e:aa:34:53:d2:fc:e5:12\n\
             1732560000 1234567 fd00::23 laptop 00:01:00:01\n",
        )
        .unwrap();
        assert_eq!(l.entries.len(), 2);
        assert_eq!(l.lookup("34:53:d2:fc:e5:12"), Some(("pixel-7", "192.168.1.23")));
        assert_eq!(l.lookup("7e:ba:8e:9e:62:06"), Some(("", "192.168.1.40")));
        assert_eq!(l.lookup("00:00:00:00:00:00"), None);
    }

    #[test]
    fn bad_lines_are_errors() {
        assert_eq!(parse("x y z w\n").unwrap_err().line, 1);
        assert_eq!(parse("1 aa:bb:cc:dd:ee:ff notanip h\n").unwrap_err().line, 1);
        assert_eq!(parse("\n1 aa\n").unwrap_err().line, 2);
    }
}
