//! CIDR networks for the client `allow` list.

use std::fmt;
use std::net::IpAddr;

/// An IPv4 or IPv6 network such as `192.168.0.0/16` or `fe80::/10`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `ADDR/PREFIX`, or a bare address meaning a single host. An
    /// IPv4-mapped network (`::ffff:10.0.0.0/104`) becomes the IPv4 network
    /// it names, so it matches IPv4 clients; one wider than the mapped range
    /// is refused, since it would mean something else entirely.
    pub fn parse(s: &str) -> Result<Cidr, String> {
        let (addr_text, prefix_text) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr =
            addr_text.parse().map_err(|_| format!("{s:?} is not an IP network (expected ADDR/PREFIX)"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        // Digits only, and no leading zero: "/08" is a typo or an octal habit.
        let canonical = |p: &str| p.bytes().all(|b| b.is_ascii_digit()) && (p == "0" || !p.starts_with('0'));
        let prefix = match prefix_text {
            None => max,
            Some(p) => match p.parse::<u8>() {
                Ok(n) if n <= max && canonical(p) => n,
                _ => return Err(format!("{s:?} has an invalid prefix length (expected 0 to {max})")),
            },
        };
        if let IpAddr::V6(v6) = addr {
            if let Some(v4) = v6.to_ipv4_mapped() {
                if prefix < 96 {
                    return Err(format!(
                        "{s:?} is wider than the IPv4-mapped range ::ffff:0:0/96; write the IPv4 network instead"
                    ));
                }
                return Ok(Cidr { addr: IpAddr::V4(v4), prefix: prefix - 96 });
            }
        }
        Ok(Cidr { addr, prefix })
    }

    /// Whether `ip` lies in this network. IPv4-mapped IPv6 clients (seen on
    /// dual-stack `[::]` listeners) are compared as IPv4.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => prefix_eq(&net.octets(), &ip.octets(), self.prefix),
            (IpAddr::V6(net), IpAddr::V6(ip)) => prefix_eq(&net.octets(), &ip.octets(), self.prefix),
            _ => false,
        }
    }
}

fn prefix_eq(a: &[u8], b: &[u8], prefix: u8) -> bool {
    let full = usize::from(prefix / 8);
    let rest = prefix % 8;
    if a[..full] != b[..full] {
        return false;
    }
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    a[full] & mask == b[full] & mask
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn contains_v4_v6_and_mapped() {
        let lan = Cidr::parse("192.168.0.0/16").unwrap();
        assert!(lan.contains(ip("192.168.1.20")));
        assert!(!lan.contains(ip("192.169.0.1")));
        assert!(lan.contains(ip("::ffff:192.168.3.4")));
        let v6 = Cidr::parse("fe80::/10").unwrap();
        assert!(v6.contains(ip("fe80::1")));
        assert!(v6.contains(ip("febf::1")));
        assert!(!v6.contains(ip("fec0::1")));
        assert!(!v6.contains(ip("10.0.0.1")));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert!(Cidr::parse("10.1.2.3").unwrap().contains(ip("10.1.2.3")));
        assert!(!Cidr::parse("10.1.2.3").unwrap().contains(ip("10.1.2.4")));
        assert!(Cidr::parse("172.16.0.0/12").unwrap().contains(ip("172.31.255.255")));
        assert!(!Cidr::parse("172.16.0.0/12").unwrap().contains(ip("172.32.0.0")));
    }

    #[test]
    fn mapped_entries_match_ipv4_clients() {
        let mapped = Cidr::parse("::ffff:192.168.1.0/120").unwrap();
        assert_eq!(mapped, Cidr::parse("192.168.1.0/24").unwrap());
        assert!(mapped.contains(ip("192.168.1.7")));
        assert!(mapped.contains(ip("::ffff:192.168.1.7")));
        assert!(!mapped.contains(ip("192.168.2.7")));
        assert!(Cidr::parse("::ffff:10.0.0.1").unwrap().contains(ip("10.0.0.1")));
        assert!(Cidr::parse("10.0.0.0/0").is_ok() && Cidr::parse("10.0.0.0/8").is_ok());
    }

    #[test]
    fn rejects_bad_networks() {
        for bad in [
            "10.0.0.0/33",
            "::/129",
            "10.0.0/8",
            "x/8",
            "10.0.0.0/+8",
            "10.0.0.0/",
            "",
            "10.0.0.0/08",
            "::ffff:0.0.0.0/95",
        ] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
    }
}
