//! `/sys/class/thermal`: thermal zones (`thermal_zoneN/{type,temp}`) and
//! cooling devices (`cooling_deviceN/{type,cur_state,max_state}`), read as
//! node_exporter's thermal_zone collector reads them.

use super::{ParseError, decimal_u64};

/// The zone or device number in a `class/thermal` entry name: what follows
/// `prefix`, which must start with a digit (node_exporter's glob is
/// `thermal_zone[0-9]*`, so `thermal_zone1x` counts, as `1x`).
pub fn entry_number<'a>(name: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = name.strip_prefix(prefix)?;
    rest.as_bytes().first().is_some_and(u8::is_ascii_digit).then_some(rest)
}

/// A zone's or cooling device's `type`: the text, trimmed.
pub fn type_name(text: &str) -> &str {
    text.trim()
}

/// A signed decimal integer file (`temp` in millidegrees Celsius,
/// `cur_state`, `max_state`): white space trimmed, then an optional sign
/// and decimal digits, as Go's `strconv.ParseInt(s, 10, 64)`.
pub fn parse_int(text: &str) -> Result<i64, ParseError> {
    let v = text.trim();
    let (neg, digits) = match v.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, v.strip_prefix('+').unwrap_or(v)),
    };
    let n = decimal_u64(digits).ok_or_else(|| ParseError::new(1, "a decimal integer", v))?;
    // |i64::MIN| is one more than i64::MAX.
    match (neg, n) {
        (false, n) if n < 1 << 63 => Ok(n as i64),
        (true, n) if n <= 1 << 63 => Ok((n as i64).wrapping_neg()),
        _ => Err(ParseError::new(1, "a decimal integer within 64 bits", v)),
    }
}

/// Millidegrees to degrees Celsius, as node_exporter divides.
pub fn celsius(millidegrees: i64) -> f64 {
    millidegrees as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_zones() {
        // ipq806x (R7800, OpenWrt 23.05): tsens zones, type "tsens_tz_sensorN"
        // on older kernels, "cpu0-thermal" on 5.15 device trees.
        assert_eq!(type_name("cpu0-thermal\n"), "cpu0-thermal");
        assert_eq!(celsius(parse_int("52600\n").unwrap()), 52.6);
        // mt7622/mt7981 (OpenWrt): one "cpu-thermal" zone.
        assert_eq!(celsius(parse_int("47235\n").unwrap()), 47.235);
        // Below zero, and the -273200 some drivers report when unreadable.
        assert_eq!(celsius(parse_int("-5000\n").unwrap()), -5.0);
        assert_eq!(parse_int("-273200").unwrap(), -273_200);
        // cooling_device cur_state / max_state.
        assert_eq!(parse_int("0\n"), Ok(0));
        assert_eq!(parse_int("3\n"), Ok(3));
    }

    #[test]
    fn entry_numbers() {
        assert_eq!(entry_number("thermal_zone0", "thermal_zone"), Some("0"));
        assert_eq!(entry_number("thermal_zone12", "thermal_zone"), Some("12"));
        assert_eq!(entry_number("thermal_zone1x", "thermal_zone"), Some("1x"));
        assert_eq!(entry_number("thermal_zone", "thermal_zone"), None);
        assert_eq!(entry_number("thermal_zonex", "thermal_zone"), None);
        assert_eq!(entry_number("cooling_device3", "cooling_device"), Some("3"));
        assert_eq!(entry_number("cooling_device3", "thermal_zone"), None);
    }

    #[test]
    fn rejects_what_go_rejects() {
        for bad in ["", "\n", "+", "-", "52.6", "0x10", "1_000", "9223372036854775808", "１", "5 2"] {
            assert!(parse_int(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_int("+5"), Ok(5));
        assert_eq!(parse_int("-9223372036854775808"), Ok(i64::MIN));
        assert_eq!(parse_int("9223372036854775807"), Ok(i64::MAX));
        assert!(parse_int("-9223372036854775809").is_err());
        assert!(parse_int("+-5").is_err());
        assert!(parse_int("-+5").is_err());
        assert_eq!(parse_int(" 7 \n"), Ok(7));
    }
}
