//! `/proc/net/if_inet6`: every IPv6 address of the machine, one a line, as
//! `ADDR INDEX PREFIX SCOPE FLAGS NAME` with the address as 32 hex digits
//! and the numbers in hex (the same since Linux 2.6.0):
//!
//! ```text
//! fe800000000000000000000000000001 05 40 20 80   br-lan
//! ```

use super::ParseError;
use std::net::Ipv6Addr;

/// One IPv6 address of an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inet6Addr {
    /// The address.
    pub ip: Ipv6Addr,
    /// The interface's index (the scope a link-local address is bound with).
    pub index: u32,
    /// The interface's name.
    pub name: String,
}

/// Parses the whole file.
pub fn parse(text: &str) -> Result<Vec<Inet6Addr>, ParseError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let err = || {
            ParseError::new(i + 1, "32 hex digits, then the index, prefix, scope and flags in hex, then a name", line)
        };
        let mut fields = line.split_whitespace();
        let (Some(hex), Some(index), Some(_prefix), Some(_scope), Some(_flags), Some(name), None) =
            (fields.next(), fields.next(), fields.next(), fields.next(), fields.next(), fields.next(), fields.next())
        else {
            if line.trim().is_empty() {
                continue;
            }
            return Err(err());
        };
        // Two hex digits a byte; no u128 arithmetic, which is costly on MIPS.
        let mut octets = [0u8; 16];
        if hex.len() != 32 {
            return Err(err());
        }
        for (octet, pair) in octets.iter_mut().zip(hex.as_bytes().chunks(2)) {
            let digit = |b: u8| (b as char).to_digit(16);
            let (Some(hi), Some(lo)) = (digit(pair[0]), pair.get(1).and_then(|&b| digit(b))) else {
                return Err(err());
            };
            *octet = (hi * 16 + lo) as u8;
        }
        let index = u32::from_str_radix(index, 16).map_err(|_| err())?;
        out.push(Inet6Addr { ip: Ipv6Addr::from(octets), index, name: name.to_string() });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// From an OpenWrt 24.10 router (br-lan with a ULA and a link-local
    /// address, a WAN with a global one) and loopback.
    const SAMPLE: &str = "\
00000000000000000000000000000001 01 80 10 80       lo
fd12345678900000000000000000000a 0b 40 00 80   br-lan
20010db8000000010000000000000007 0c 40 00 00  eth0.2
fe80000000000000021122fffe334455 0b 40 20 80   br-lan
";

    #[test]
    fn parses_a_routers_file() {
        let got = parse(SAMPLE).unwrap();
        assert_eq!(got.len(), 4);
        assert_eq!(got[0], Inet6Addr { ip: Ipv6Addr::LOCALHOST, index: 1, name: "lo".into() });
        assert_eq!(got[1].ip, "fd12:3456:7890::a".parse::<Ipv6Addr>().unwrap());
        assert_eq!((got[1].index, got[1].name.as_str()), (11, "br-lan"));
        assert_eq!(got[2].name, "eth0.2");
        assert_eq!(got[3].ip, "fe80::211:22ff:fe33:4455".parse::<Ipv6Addr>().unwrap());
        assert_eq!(parse("").unwrap(), vec![]);
    }

    #[test]
    fn a_malformed_line_names_its_number() {
        for bad in [
            "0000000000000000000000000000001 01 80 10 80 lo",
            "0000000000000000000000000000000g 01 80 10 80 lo",
            "00000000000000000000000000000001 01 80 10 80",
            "00000000000000000000000000000001 zz 80 10 80 lo",
            "00000000000000000000000000000001 100000000 80 10 80 lo",
            "00000000000000000000000000000001 01 80 10 80 lo extra",
        ] {
            let e = parse(&format!("{}\n{bad}\n", SAMPLE.lines().next().unwrap())).unwrap_err();
            assert_eq!(e.line, 2, "{bad}");
        }
    }
}
