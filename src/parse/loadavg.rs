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
        match field.parse::<f64>() {
            Ok(v) if v.is_finite() && v >= 0.0 && field.bytes().all(|b| b.is_ascii_digit() || b == b'.') => Ok(v),
            _ => Err(ParseError::new(1, format!("a non-negative decimal for the {what} load average"), field)),
        }
    };
    Ok(LoadAverage { one: next("1-minute")?, five: next("5-minute")?, fifteen: next("15-minute")? })
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
    }
}
