//! Every parser that turns bytes into values: `/proc` files, `wl` output,
//! dnsmasq leases, the Prometheus text format of textfile `*.prom` files, netlink framing and nl80211 replies. Pure functions, text
//! (or bytes) in and typed values out, with no I/O, so fixtures and the
//! property tests (`tests/parsers_property.rs`) exercise them directly.
//!
//! Each text parser takes `&str` (callers read with [`crate::os::source`],
//! which bounds the size) and reports the 1-based line and what it expected
//! on failure. None of them indexes past what it checked, so any input gives
//! `Ok` or `Err`. Imports nothing of the crate outside `parse`.

pub mod arp;
pub mod conntrack;
pub mod float;
pub mod hwmon;
pub mod if_inet6;
pub mod leases;
pub mod loadavg;
pub mod meminfo;
pub mod mounts;
pub mod net_dev;
pub mod netclass;
pub mod netlink;
pub mod nl80211;
pub mod process;
pub mod release;
pub mod stat;
pub mod textformat;
pub mod thermal;
pub mod tz;
pub mod wext;
pub mod wifi;
pub mod wl;

use std::fmt;

/// A parse failure at a specific line of a source file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line number (0 when the file as a whole is wrong, e.g. empty).
    pub line: usize,
    /// What the parser expected to find.
    pub expected: String,
    /// A short excerpt of what it found instead.
    pub found: String,
}

impl ParseError {
    /// Builds an error, clipping the excerpt of the offending text.
    pub fn new(line: usize, expected: impl Into<String>, found: &str) -> Self {
        ParseError { line, expected: expected.into(), found: excerpt(found, 48) }
    }
}

/// At most `max` bytes of `text`, cut on a character boundary, with `…`
/// where something was cut: what a message quotes of untrusted text.
pub fn excerpt(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = text[..end].to_string();
    if end < text.len() {
        out.push('…');
    }
    out
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "line {}: ", self.line)?;
        }
        write!(f, "expected {}, found {:?}", self.expected, self.found)
    }
}

impl std::error::Error for ParseError {}

/// An unsigned decimal integer: ASCII digits only. `str::parse` also takes
/// a leading `+`, which no kernel prints, so a `+` means the file is not
/// what we think it is.
#[inline]
pub fn decimal_u64(s: &str) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.bytes().try_fold(0u64, |n, b| {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        n.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// `str::parse::<i32>`, through the `i64` parser that the binary has anyway:
/// the same inputs give the same values (an optional sign, then digits),
/// and a second copy of the parser cost 688 bytes on MIPS.
pub fn int_i32(s: &str) -> Option<i32> {
    s.parse::<i64>().ok().and_then(|n| i32::try_from(n).ok())
}

/// Parses a file holding one unsigned decimal integer, such as
/// `nf_conntrack_count`.
pub fn parse_single_u64(text: &str) -> Result<u64, ParseError> {
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let Some((idx, line)) = lines.next() else {
        return Err(ParseError::new(0, "one unsigned integer", text));
    };
    let value = decimal_u64(line.trim()).ok_or_else(|| ParseError::new(idx + 1, "one unsigned integer", line))?;
    if let Some((idx, extra)) = lines.next() {
        return Err(ParseError::new(idx + 1, "end of file after the integer", extra));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_i32_takes_what_str_parse_takes() {
        for s in [
            "",
            "+",
            "-",
            "0",
            "-0",
            "+0",
            "+7",
            "007",
            "-42",
            "2147483647",
            "2147483648",
            "-2147483648",
            "-2147483649",
            "+2147483647",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775809",
            "99999999999999999999",
            " 1",
            "1 ",
            "--1",
            "+-1",
            "-+1",
            "0x10",
            "1_000",
            "1.0",
            "١",
            "１",
        ] {
            assert_eq!(int_i32(s), s.parse::<i32>().ok(), "{s:?}");
        }
    }

    #[test]
    fn single_u64_accepts_trailing_newline_and_rejects_junk() {
        assert_eq!(parse_single_u64("262144\n"), Ok(262144));
        assert_eq!(parse_single_u64("  7 \n\n"), Ok(7));
        assert_eq!(parse_single_u64("").unwrap_err().line, 0);
        assert_eq!(parse_single_u64("x\n").unwrap_err().line, 1);
        assert_eq!(parse_single_u64("-1\n").unwrap_err().line, 1);
        assert_eq!(parse_single_u64("1\n2\n").unwrap_err().line, 2);
        assert_eq!(parse_single_u64("+7\n").unwrap_err().line, 1);
    }

    #[test]
    fn excerpt_is_clipped_on_a_char_boundary() {
        let long = "é".repeat(100);
        let e = ParseError::new(3, "x", &long);
        assert!(e.found.ends_with('…'));
        assert!(e.found.len() <= 48 + '…'.len_utf8());
    }
}
