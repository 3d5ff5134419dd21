//! `/proc/loadavg`: the 1, 5 and 15 minute load averages.

use super::ParseError;

/// The three load averages.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadAverage {
    /// 1-minute average.
    pub one: f64,
    /// 5-minute average.
    pub five: f64,
    /// 15-minute average.
    pub fifteen: f64,
}

/// Parses `"0.52 0.58 0.59 1/234 5678"`; only the first three fields matter.
pub fn parse(text: &str) -> Result<LoadAverage, ParseError> {
    let line = text.lines().next().unwrap_or("");
    let mut fields = line.split_ascii_whitespace();
    let mut next = |what: &str| -> Result<f64, ParseError> {
        let field = fields.next().ok_or_else(|| ParseError::new(1, format!("the {what} load average"), line))?;
        decimal(field)
            .ok_or_else(|| ParseError::new(1, format!("a non-negative decimal for the {what} load average"), field))
    };
    Ok(LoadAverage { one: next("1-minute")?, five: next("5-minute")?, fifteen: next("15-minute")? })
}

/// `"1.52"` as the nearest f64, like `str::parse::<f64>`, for plain
/// decimals of at most 15 digits (the kernel prints `%lu.%02lu`). Not
/// `parse::<f64>`: its tables and algorithms cost 17 KB on MIPS, for three
/// numbers this simple. The digits make an integer below 2^53 and the
/// divisor a power of ten below 10^16, both exact in f64, so the one
/// division rounds correctly, as `parse` does.
fn decimal(field: &str) -> Option<f64> {
    let (int, frac) = field.split_once('.').unwrap_or((field, ""));
    if int.is_empty() || int.len() + frac.len() > 15 || !(int.bytes().chain(frac.bytes())).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = int.bytes().chain(frac.bytes()).fold(0u64, |n, b| n * 10 + u64::from(b - b'0'));
    let scale = (0..frac.len()).fold(1u64, |p, _| p * 10);
    Some(digits as f64 / scale as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_real_samples() {
        // Linux 2.6.22 MIPS (RT-N16) and Linux 5.15 (OpenWrt) print the same shape.
        let l = parse("0.08 0.03 0.01 1/43 1190\n").unwrap();
        assert_eq!((l.one, l.five, l.fifteen), (0.08, 0.03, 0.01));
        let l = parse("1.52 0.97 0.40 3/120 23145\n").unwrap();
        assert_eq!(l.fifteen, 0.40);
    }

    #[test]
    fn rejects_short_or_odd_values() {
        assert_eq!(parse("").unwrap_err().line, 1);
        assert!(parse("0.1 0.2\n").is_err());
        assert!(parse("nan 0.2 0.3\n").is_err());
        assert!(parse("inf 0.2 0.3\n").is_err());
        assert!(parse("-1 0.2 0.3\n").is_err());
        assert!(parse("1e3 0.2 0.3\n").is_err());
        assert!(parse(".5 0.2 0.3\n").is_err());
        assert!(parse("1.2.3 0.2 0.3\n").is_err());
        assert!(parse("+1 0.2 0.3\n").is_err());
        assert!(parse("1234567890123456 0.2 0.3\n").is_err());
    }

    #[test]
    fn decimals_round_like_std_parse() {
        // Every value the kernel can print (%lu.%02lu), and longer ones.
        for n in 0..200_000u32 {
            let text = format!("{}.{:02}", n / 100, n % 100);
            assert_eq!(decimal(&text), text.parse::<f64>().ok(), "{text}");
        }
        for text in
            ["0", "7", "1.", "0.1", "0.3", "123.456789", "99999.9999999999", "0.00000000000001", "900719925474099"]
        {
            assert_eq!(decimal(text), text.parse::<f64>().ok(), "{text}");
        }
    }
}
