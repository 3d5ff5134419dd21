//! `/proc/net/dev`: per-interface receive and transmit counters.

use super::ParseError;

/// Receive field names, in the kernel's column order.
pub const RECEIVE_FIELDS: [&str; 8] = ["bytes", "packets", "errs", "drop", "fifo", "frame", "compressed", "multicast"];
/// Transmit field names, in the kernel's column order.
pub const TRANSMIT_FIELDS: [&str; 8] = ["bytes", "packets", "errs", "drop", "fifo", "colls", "carrier", "compressed"];
/// Number of counters on each device line.
pub const FIELD_COUNT: usize = 16;

/// One device line of `/proc/net/dev`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceCounters<'a> {
    /// Interface name, as the kernel printed it.
    pub name: &'a str,
    /// The 8 receive counters then the 8 transmit counters.
    pub counters: [u64; FIELD_COUNT],
}

/// Parses the whole file. Header lines (a `|` and no `:`) are skipped; a
/// device line always has a colon, and its name may contain `|` (the kernel
/// allows it).
///
/// Each device line is split at its *first* colon: old kernels print
/// `"%6s:%8lu"`, so an eight-digit counter leaves no space after the colon
/// (`eth0:12345678 ...`). Interface names cannot contain a colon.
pub fn parse(text: &str) -> Result<Vec<DeviceCounters<'_>>, ParseError> {
    let mut devices = Vec::new();
    parse_each(text, |d| devices.push(d))?;
    Ok(devices)
}

/// [`parse`], handing each device to `each` as it is read instead of
/// collecting them: memory stays flat however many lines the file has. On
/// an error, `each` has seen the devices before the bad line.
pub fn parse_each<'a>(text: &'a str, mut each: impl FnMut(DeviceCounters<'a>)) -> Result<(), ParseError> {
    for (idx, line) in text.lines().enumerate() {
        let lineno = idx + 1;
        if line.trim().is_empty() {
            continue;
        }
        let Some((name, rest)) = line.split_once(':') else {
            if line.contains('|') {
                continue; // a header line
            }
            return Err(ParseError::new(lineno, "\"<interface>: <16 counters>\"", line));
        };
        let name = name.trim();
        if name.is_empty() {
            return Err(ParseError::new(lineno, "an interface name before ':'", line));
        }
        let mut counters = [0u64; FIELD_COUNT];
        let mut fields = words(rest);
        for (i, slot) in counters.iter_mut().enumerate() {
            *slot = match fields.number(false) {
                Some(Ok(v)) => v,
                Some(Err(field)) => {
                    let expected = format!("an unsigned integer for counter {} of {name}", i + 1);
                    return Err(ParseError::new(lineno, expected, field));
                }
                None => {
                    return Err(ParseError::new(lineno, format!("{FIELD_COUNT} counters for {name}, got {i}"), line));
                }
            };
        }
        if let Some(extra) = fields.next() {
            return Err(ParseError::new(lineno, format!("only {FIELD_COUNT} counters for {name}"), extra));
        }
        each(DeviceCounters { name, counters });
    }
    Ok(())
}

/// The words of `s` between ASCII whitespace, as `str::split_ascii_whitespace`
/// gives them, in a plain loop over the bytes: the per-field step of every
/// table parser that runs each scrape.
#[inline]
pub(crate) fn words(s: &str) -> Words<'_> {
    Words { rest: s.as_bytes() }
}

/// See [`words`].
pub(crate) struct Words<'a> {
    /// Always starts at a char boundary of the original `str`.
    rest: &'a [u8],
}

/// The bytes `str::split_ascii_whitespace` splits on.
#[inline(always)]
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c')
}

impl<'a> Words<'a> {
    /// The next word read as an unsigned number, decimal or hex digits only
    /// (no sign, no `0x`), at most 64 bits: `None` after the last word,
    /// `Some(Err(word))` for a word that is no such number. Reads each byte
    /// once: the number is built while the word is found.
    #[inline(always)]
    pub(crate) fn number(&mut self, hex: bool) -> Option<Result<u64, &'a str>> {
        let start = self.rest.iter().position(|&b| !is_space(b)).unwrap_or(self.rest.len());
        let (base, mut value, mut ok) = (if hex { 16 } else { 10 }, 0u64, true);
        let mut end = start;
        while let Some(&b) = self.rest.get(end) {
            let digit = match b {
                b'0'..=b'9' => b - b'0',
                b'a'..=b'f' if hex => b - b'a' + 10,
                b'A'..=b'F' if hex => b - b'A' + 10,
                _ if is_space(b) => break,
                _ => {
                    ok = false;
                    0
                }
            };
            match value.checked_mul(base).and_then(|v| v.checked_add(u64::from(digit))) {
                Some(v) => value = v,
                None => ok = false,
            }
            end += 1;
        }
        let (word, rest) = self.rest.split_at(end);
        self.rest = rest;
        let word = &word[start..];
        if word.is_empty() {
            return None;
        }
        if ok {
            return Some(Ok(value));
        }
        // SAFETY: as in `next`: the word starts and ends at ASCII bytes or
        // at the ends of a slice that starts on a char boundary.
        Some(Err(unsafe { std::str::from_utf8_unchecked(word) }))
    }
}

impl<'a> Iterator for Words<'a> {
    type Item = &'a str;

    #[inline(always)]
    fn next(&mut self) -> Option<&'a str> {
        let start = self.rest.iter().position(|&b| !is_space(b)).unwrap_or(self.rest.len());
        let mut end = start;
        while let Some(&b) = self.rest.get(end) {
            if is_space(b) {
                break;
            }
            end += 1;
        }
        let (word, rest) = self.rest.split_at(end);
        self.rest = rest;
        let word = &word[start..];
        if word.is_empty() {
            return None;
        }
        // SAFETY: both ends are at ASCII bytes or at the ends of a slice
        // that starts on a char boundary, so the word is whole UTF-8.
        Some(unsafe { std::str::from_utf8_unchecked(word) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Captured from an ASUS RT-N16 running Linux 2.6.22 (Merlin-era Broadcom SDK):
    /// note `vlan1:` and `eth1:` glued to an eight-digit counter.
    const LINUX_2_6_22: &str = include_str!("../../tests/samples/net_dev_2.6.22_broadcom.txt");
    /// Captured from an OpenWrt 23.05 (Linux 5.15) router.
    const LINUX_5_15: &str = include_str!("../../tests/samples/net_dev_5.15_openwrt.txt");

    #[test]
    fn old_kernel_glued_colon_is_split_at_first_colon() {
        let devs = parse(LINUX_2_6_22).unwrap();
        let vlan1 = devs.iter().find(|d| d.name == "vlan1").unwrap();
        assert_eq!(vlan1.counters[0], 3288446208);
        assert_eq!(vlan1.counters[8], 12345678);
        let names: Vec<_> = devs.iter().map(|d| d.name).collect();
        assert_eq!(names, ["lo", "eth0", "eth1", "eth2", "vlan0", "vlan1", "br0", "wds0.1"]);
    }

    #[test]
    fn modern_kernel_sample_parses_all_devices() {
        let devs = parse(LINUX_5_15).unwrap();
        assert_eq!(devs.len(), 9);
        let phy = devs.iter().find(|d| d.name == "phy1-ap0").unwrap();
        assert_eq!(phy.counters[0], 98231740912);
        assert_eq!(phy.counters[9], 78231231);
    }

    #[test]
    fn wrong_field_counts_name_the_line() {
        let e = parse("h|x\nh|y\n  eth0: 1 2 3\n").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.expected.contains("16 counters for eth0, got 3"), "{e}");
        let e = parse(&format!("eth0:{}\n", " 1".repeat(17))).unwrap_err();
        assert!(e.expected.contains("only 16"));
        let e = parse("eth0 1 2\n").unwrap_err();
        assert_eq!(e.line, 1);
        let e = parse(&format!("eth0:{} -5\n", " 1".repeat(15))).unwrap_err();
        assert!(e.expected.contains("counter 16 of eth0"), "{e}");
        assert!(parse(":1\n").is_err());
    }

    #[test]
    fn a_plus_sign_is_not_a_counter() {
        let e = parse(&format!("eth0: +7{}\n", " 1".repeat(15))).unwrap_err();
        assert!(e.expected.contains("counter 1 of eth0"), "{e}");
    }

    #[test]
    fn a_bar_in_an_interface_name_is_not_a_header() {
        let text = format!("Inter-|   Receive\n face |bytes\n  a|b:{}\n", " 3".repeat(16));
        let devs = parse(&text).unwrap();
        assert_eq!(devs.len(), 1);
        assert_eq!((devs[0].name, devs[0].counters[0]), ("a|b", 3));
    }

    #[test]
    fn words_split_like_std() {
        for s in ["", " ", "a", " a  b\tc\n", "x\u{a0}y z", "\u{3000} é ", "\x0c1\x0b2"] {
            assert_eq!(words(s).collect::<Vec<_>>(), s.split_ascii_whitespace().collect::<Vec<_>>(), "{s:?}");
        }
    }

    #[test]
    fn numbers_read_like_the_word_parsers() {
        let decimal = |w: &str| crate::parse::decimal_u64(w);
        let hex = |w: &str| {
            if w.is_empty() || !w.bytes().all(|b| b.is_ascii_hexdigit()) {
                None
            } else {
                u64::from_str_radix(w, 16).ok()
            }
        };
        let line = "0 7 18446744073709551615 18446744073709551616 +1 -1 1a ff FFFFFFFFFFFFFFFF 10000000000000000 0x1 é9 9é \u{a0}";
        for (is_hex, check) in [(false, &decimal as &dyn Fn(&str) -> Option<u64>), (true, &hex)] {
            let mut got = Vec::new();
            let mut w = words(line);
            while let Some(n) = w.number(is_hex) {
                got.push(n);
            }
            let want: Vec<Result<u64, &str>> = line.split_ascii_whitespace().map(|w| check(w).ok_or(w)).collect();
            assert_eq!(got, want, "hex: {is_hex}");
        }
    }

    #[test]
    fn empty_file_has_no_devices() {
        assert_eq!(parse("").unwrap(), vec![]);
    }
}
