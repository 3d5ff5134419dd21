//! `/proc/net/wireless` (Wireless Extensions): link quality, signal level
//! and noise for drivers with nothing better. The kernel prints
//! `"%6s: %04x  %3d%c  %3d%c  %3d%c ..."`: quality, level and noise each
//! followed by `.` when updated.

use super::ParseError;

/// One interface line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WextInterface<'a> {
    /// Interface name.
    pub name: &'a str,
    /// Link quality in the driver's units.
    pub quality: u32,
    /// Signal level: dBm when negative; positive values are driver units.
    pub level: i32,
    /// Noise: dBm when negative; -256 means unknown.
    pub noise: i32,
}

fn number(field: &str) -> Option<i32> {
    super::int_i32(field.trim_end_matches(['.', ' ', '*']))
}

/// Parses the whole file; the two header lines contain `|`.
pub fn parse(text: &str) -> Result<Vec<WextInterface<'_>>, ParseError> {
    let mut out = Vec::new();
    for (idx, line) in text.lines().enumerate() {
        if line.contains('|') || line.trim().is_empty() {
            continue;
        }
        let Some((name, rest)) = line.split_once(':') else {
            return Err(ParseError::new(idx + 1, "\"<interface>: <status> <quality> <level> <noise> ...\"", line));
        };
        let f: Vec<&str> = rest.split_ascii_whitespace().collect();
        let (Some(status), Some(q), Some(l), Some(n)) = (f.first(), f.get(1), f.get(2), f.get(3)) else {
            return Err(ParseError::new(idx + 1, "status, quality, level and noise", line));
        };
        if u32::from_str_radix(status, 16).is_err() {
            return Err(ParseError::new(idx + 1, "a hex status", status));
        }
        let (Some(quality), Some(level), Some(noise)) = (number(q), number(l), number(n)) else {
            return Err(ParseError::new(idx + 1, "integers for quality, level and noise", line));
        };
        let name = name.trim();
        if name.is_empty() {
            return Err(ParseError::new(idx + 1, "an interface name", line));
        }
        out.push(WextInterface { name, quality: quality.max(0) as u32, level, noise });
    }
    Ok(out)
}

/// The `mode` label of a Wireless Extensions mode (`IW_MODE_*`), as
/// nl80211's are spelt where they mean the same; empty when unknown.
pub fn mode_label(mode: Option<u32>) -> &'static str {
    match mode {
        Some(0) => "auto",
        Some(1) => "adhoc",
        Some(2) => "station",
        Some(3) => "ap",
        Some(4) => "repeater",
        Some(5) => "secondary",
        Some(6) => "monitor",
        Some(7) => "mesh",
        _ => "",
    }
}

/// A mode replayed from a fixture file: the number SIOCGIWMODE gives.
pub fn parse_mode(text: &str) -> Option<u32> {
    // wl's integer reader: one copy of the digit loop in the binary.
    super::wl::parse_int(text).and_then(|m| u32::try_from(m).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// mac80211_hwsim under Linux 6.1, captured in the hwsim VM of
    /// `tests/hwsim.rs`: only the client-mode interface is listed.
    const HWSIM: &str = "Inter-| sta-|   Quality        |   Discarded packets               | Missed | WE\n face | tus | link level noise |  nwid  crypt   frag  retry   misc | beacon | 22\n wlan1: 0000   70.  -30.  -256        0      0      0      0      0        0\n";

    #[test]
    fn parses_hwsim_client() {
        let v = parse(HWSIM).unwrap();
        assert_eq!(v, vec![WextInterface { name: "wlan1", quality: 70, level: -30, noise: -256 }]);
    }

    #[test]
    fn modes() {
        assert_eq!(mode_label(parse_mode("2\n")), "station");
        assert_eq!(mode_label(parse_mode("3")), "ap");
        assert_eq!(mode_label(parse_mode("7")), "mesh");
        // Beyond IW_MODE_MESH, negative, or not a number: unknown.
        for t in ["8", "-1", "", "managed", "4294967296"] {
            assert_eq!(mode_label(parse_mode(t)), "", "{t:?}");
        }
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(parse("h|\nh|\n wlan0: zz 1 2 3\n").unwrap_err().line, 3);
        assert_eq!(parse(" wlan0: 0000 1.\n").unwrap_err().line, 1);
        assert!(parse(" wlan0 0000 1. 2. 3.\n").is_err());
    }
}
