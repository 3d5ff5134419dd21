//! `/proc/net/if_inet6`: every IPv6 address of the machine, one a line, as
//! `ADDR INDEX PREFIX SCOPE FLAGS NAME` with the address as 32 hex digits
//! and the numbers in hex (the same since Linux 2.6.0):
//!
//! ```text
//! fe800000000000000000000000000001 05 40 20 80   br-lan
//! ```

use std::net::Ipv6Addr;

/// One IPv6 address of an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inet6Addr {
    /// The address.
    pub ip: Ipv6Addr,
    /// The interface's index (the scope a link-local address is bound with).
    pub index: u32,
    /// The address's flags (`IFA_F_*`: 0x40 tentative, 0x08 DAD failed).
    pub flags: u32,
    /// The interface's name.
    pub name: String,
}

/// Parses the whole file. A line that is not as above is skipped: the
/// kernel writes none, and one would cost only its own address.
pub fn parse(text: &str) -> Vec<Inet6Addr> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<Inet6Addr> {
    let mut fields = line.split_whitespace();
    let (hex, index, _prefix, _scope, flags, name) =
        (fields.next()?, fields.next()?, fields.next()?, fields.next()?, fields.next()?, fields.next()?);
    if fields.next().is_some() || hex.len() != 32 {
        return None;
    }
    // Two hex digits a byte; no u128 arithmetic, which is costly on MIPS.
    let mut octets = [0u8; 16];
    for (octet, pair) in octets.iter_mut().zip(hex.as_bytes().chunks(2)) {
        let digit = |b: &u8| (*b as char).to_digit(16);
        *octet = (digit(pair.first()?)? * 16 + digit(pair.get(1)?)?) as u8;
    }
    Some(Inet6Addr {
        ip: Ipv6Addr::from(octets),
        index: u32::from_str_radix(index, 16).ok()?,
        flags: u32::from_str_radix(flags, 16).ok()?,
        name: name.to_string(),
    })
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
fd12345678900000000000000000000b 0b 40 00 c0   br-lan
";

    #[test]
    fn parses_a_routers_file() {
        let got = parse(SAMPLE);
        assert_eq!(got.len(), 5);
        assert_eq!(got[0], Inet6Addr { ip: Ipv6Addr::LOCALHOST, index: 1, flags: 0x80, name: "lo".into() });
        assert_eq!(got[4].flags, 0xc0, "permanent and tentative");
        assert_eq!(got[1].ip, "fd12:3456:7890::a".parse::<Ipv6Addr>().unwrap());
        assert_eq!((got[1].index, got[1].name.as_str()), (11, "br-lan"));
        assert_eq!(got[2].name, "eth0.2");
        assert_eq!(got[3].ip, "fe80::211:22ff:fe33:4455".parse::<Ipv6Addr>().unwrap());
        assert_eq!(parse(""), vec![]);
    }

    #[test]
    fn a_malformed_line_is_skipped_alone() {
        for bad in [
            "0000000000000000000000000000001 01 80 10 80 lo",
            "0000000000000000000000000000000g 01 80 10 80 lo",
            "00000000000000000000000000000001 01 80 10 80",
            "00000000000000000000000000000001 zz 80 10 80 lo",
            "00000000000000000000000000000001 100000000 80 10 80 lo",
            "00000000000000000000000000000001 01 80 10 80 lo extra",
            "000000000000000000000000000000é1 01 80 10 80 lo",
        ] {
            let got =
                parse(&format!("{}\n{bad}\n{}\n", SAMPLE.lines().next().unwrap(), SAMPLE.lines().nth(1).unwrap()));
            assert_eq!(got.len(), 2, "{bad}");
            assert_eq!((got[0].name.as_str(), got[1].name.as_str()), ("lo", "br-lan"), "{bad}");
        }
    }
}
