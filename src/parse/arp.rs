//! `/proc/net/arp`: the IPv4 neighbour table, counted per device.
//!
//! node_exporter 1.5 (Debian's) counts every line but the header by its last
//! column, incomplete entries (flags `0x0`, all-zero address) included, and
//! fails on a line with fewer than six columns. This parser does the same.

use super::ParseError;

/// Entries per device, sorted by device name.
pub fn parse(text: &str) -> Result<Vec<(&str, u64)>, ParseError> {
    let mut devices = Vec::new();
    for (idx, line) in text.lines().enumerate() {
        let mut words = line.split_ascii_whitespace();
        let Some(first) = words.next() else { continue };
        if first == "IP" {
            continue;
        }
        let mut columns = 1;
        let mut device = first;
        for w in words {
            columns += 1;
            device = w;
        }
        if columns < 6 {
            return Err(ParseError::new(idx + 1, "six columns: address, type, flags, MAC, mask, device", line));
        }
        devices.push(device);
    }
    // Sorting and counting runs keeps hostile files (many devices) at
    // n log n, without a map's code on the router binary.
    devices.sort_unstable();
    let mut counts: Vec<(&str, u64)> = Vec::new();
    for d in devices {
        match counts.last_mut() {
            Some((last, n)) if *last == d => *n += 1,
            _ => counts.push((d, 1)),
        }
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_real_tables_per_device() {
        let host = parse(include_str!("../../tests/samples/arp_6.18_x86_64_host.txt")).unwrap();
        assert_eq!(host, [("eth0", 1)]);
        let old = parse(include_str!("../../tests/samples/arp_2.6.22_broadcom.txt")).unwrap();
        // The incomplete entry (flags 0x0) counts, as in node_exporter 1.5.
        assert_eq!(old, [("br0", 3), ("vlan1", 1)]);
        let openwrt = parse(include_str!("../../tests/samples/arp_5.15_openwrt.txt")).unwrap();
        assert_eq!(openwrt, [("br-guest", 1), ("br-lan", 4), ("wan", 1)]);
    }

    #[test]
    fn header_only_and_garbage() {
        assert!(
            parse("IP address       HW type     Flags       HW address            Mask     Device\n")
                .unwrap()
                .is_empty()
        );
        assert!(parse("").unwrap().is_empty());
        assert_eq!(parse("IP x\n1.2.3.4 0x1 0x2 aa *\n").unwrap_err().line, 2);
    }
}
