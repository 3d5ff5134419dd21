//! POSIX `TZ` rules such as `CET-1CEST,M3.5.0,M10.5.0/3`: the form routers
//! keep in `/etc/TZ` (OpenWrt writes it from `system.@system[0].timezone`,
//! ASUSWRT from its time zone setting) and in the `TZ` variable. Zoneinfo
//! names (`Europe/Berlin`, `:/etc/localtime`) are not rules; they fail to
//! parse and the caller decides what to do.
//!
//! [`Rule::at`] gives the zone's abbreviation and UTC offset at an instant,
//! so the time collector needs neither the C library's time zone code nor a
//! zoneinfo database.

use super::ParseError;

/// A parsed rule: the standard zone and, optionally, daylight saving time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule<'a> {
    /// Standard time's abbreviation (`CET`; `+03` for `<+03>`).
    pub std_name: &'a str,
    /// Standard time's offset, seconds east of UTC (POSIX writes west).
    pub std_east: i64,
    /// Daylight saving time, if the rule has it.
    pub dst: Option<Dst<'a>>,
}

/// The daylight saving part of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dst<'a> {
    /// Its abbreviation (`CEST`).
    pub name: &'a str,
    /// Its offset, seconds east of UTC (standard plus an hour by default).
    pub east: i64,
    /// When it starts, in local standard time.
    pub start: Change,
    /// When it ends, in local daylight time.
    pub end: Change,
}

/// A yearly change: a day and seconds after that day's midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    /// Which day of the year.
    pub day: Day,
    /// Seconds after local midnight (POSIX allows -167 to 167 hours).
    pub time: i64,
}

/// The three POSIX ways to name a day of the year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Day {
    /// `Jn`: day 1 to 365, February 29 never counted.
    Julian(u16),
    /// `n`: day 0 to 365, February 29 counted.
    Zero(u16),
    /// `Mm.w.d`: weekday `d` (0 = Sunday) of week `w` (5 = last) of month `m`.
    Month(u8, u8, u8),
}

/// Parses a rule; surrounding whitespace is ignored.
pub fn parse(text: &str) -> Result<Rule<'_>, ParseError> {
    let s = text.trim();
    rule(s).ok_or_else(|| ParseError::new(1, "a POSIX TZ rule such as CET-1CEST,M3.5.0,M10.5.0/3", s))
}

fn rule(s: &str) -> Option<Rule<'_>> {
    let mut p = Cursor(s);
    let std_name = p.name()?;
    // A bare name is UTC under that name, as in musl and glibc: OpenWrt's
    // default `/etc/TZ` is `UTC`.
    let std_east = if p.0.is_empty() { 0 } else { -p.offset(24)? };
    if p.0.is_empty() {
        return Some(Rule { std_name, std_east, dst: None });
    }
    let name = p.name()?;
    let east = if p.0.is_empty() || p.0.starts_with(',') { std_east + 3600 } else { -p.offset(24)? };
    // Without a rule, the C libraries use the US rules of 2007.
    let (start, end) = if p.0.is_empty() {
        (Change { day: Day::Month(3, 2, 0), time: 7200 }, Change { day: Day::Month(11, 1, 0), time: 7200 })
    } else {
        p.eat(',')?;
        let start = p.change()?;
        p.eat(',')?;
        (start, p.change()?)
    };
    p.0.is_empty().then_some(Rule { std_name, std_east, dst: Some(Dst { name, east, start, end }) })
}

impl Rule<'_> {
    /// The abbreviation and offset (seconds east of UTC) in effect at `t`,
    /// seconds since the epoch.
    pub fn at(&self, t: i64) -> (&str, i64) {
        let Some(dst) = self.dst else { return (self.std_name, self.std_east) };
        // Far outside any real clock, the arithmetic below could overflow.
        let t = t.clamp(-(1 << 40), 1 << 40);
        // Within ±2^40 s, the day number fits 32 bits.
        let year = civil_year((t + self.std_east).div_euclid(86400) as i32);
        let start = i64::from(day_number(year, dst.start.day)) * 86400 + dst.start.time - self.std_east;
        let end = i64::from(day_number(year, dst.end.day)) * 86400 + dst.end.time - dst.east;
        let in_dst = if start < end { start <= t && t < end } else { !(end <= t && t < start) };
        if in_dst { (dst.name, dst.east) } else { (self.std_name, self.std_east) }
    }
}

struct Cursor<'a>(&'a str);

impl<'a> Cursor<'a> {
    fn eat(&mut self, c: char) -> Option<()> {
        self.0 = self.0.strip_prefix(c)?;
        Some(())
    }

    /// `<+03>` or three or more letters.
    fn name(&mut self) -> Option<&'a str> {
        if let Some(rest) = self.0.strip_prefix('<') {
            let close = rest.find('>')?;
            let name = &rest[..close];
            let ok = name.len() >= 3 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-');
            self.0 = &rest[close + 1..];
            return ok.then_some(name);
        }
        let len = self.0.bytes().take_while(u8::is_ascii_alphabetic).count();
        let (name, rest) = self.0.split_at(len);
        self.0 = rest;
        (len >= 3).then_some(name)
    }

    /// `[+-]hh[:mm[:ss]]` in seconds, hours at most `max_hours`.
    fn offset(&mut self, max_hours: i64) -> Option<i64> {
        let sign = match self.0.as_bytes().first() {
            Some(b'-') => -1,
            Some(b'+') => 1,
            _ => 0,
        };
        if sign != 0 {
            self.0 = &self.0[1..];
        }
        let h = self.number(3)?;
        let mut secs = h * 3600;
        for unit in [60, 1] {
            if self.eat(':').is_none() {
                break;
            }
            let v = self.number(2)?;
            if v > 59 {
                return None;
            }
            secs += v * unit;
        }
        (h <= max_hours).then_some(if sign < 0 { -secs } else { secs })
    }

    /// One to `max_digits` (at most 3) ASCII digits.
    fn number(&mut self, max_digits: usize) -> Option<i64> {
        let len = self.0.bytes().take_while(u8::is_ascii_digit).count();
        if len == 0 || len > max_digits {
            return None;
        }
        let (digits, rest) = self.0.split_at(len);
        self.0 = rest;
        Some(digits.bytes().fold(0, |n, b| n * 10 + i64::from(b - b'0')))
    }

    fn change(&mut self) -> Option<Change> {
        let day = if self.eat('M').is_some() {
            let m = self.number(2)?;
            self.eat('.')?;
            let w = self.number(1)?;
            self.eat('.')?;
            let d = self.number(1)?;
            if !(1..=12).contains(&m) || !(1..=5).contains(&w) || d > 6 {
                return None;
            }
            Day::Month(m as u8, w as u8, d as u8)
        } else if self.eat('J').is_some() {
            let n = self.number(3)?;
            if !(1..=365).contains(&n) {
                return None;
            }
            Day::Julian(n as u16)
        } else {
            let n = self.number(3)?;
            if n > 365 {
                return None;
            }
            Day::Zero(n as u16)
        };
        let time = if self.eat('/').is_some() { self.offset(167)? } else { 7200 };
        Some(Change { day, time })
    }
}

fn is_leap(y: i32) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

/// Days from 1970-01-01 to year `y`, month `m` (1 to 12), day `d`. 32 bits
/// hold any year a clock shows, and are cheaper than 64 on 32-bit MIPS.
fn days_from_civil(y: i32, m: i32, d: i32) -> i32 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468
}

/// The year of day `days` since 1970-01-01.
fn civil_year(days: i32) -> i32 {
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let march_based_month = (5 * doy + 2) / 153;
    yoe + era * 400 + i32::from(march_based_month >= 10)
}

/// The day (since 1970-01-01) a rule names in year `y`.
fn day_number(y: i32, day: Day) -> i32 {
    let jan1 = days_from_civil(y, 1, 1);
    match day {
        Day::Julian(n) => jan1 + i32::from(n) - 1 + i32::from(is_leap(y) && n >= 60),
        Day::Zero(n) => jan1 + i32::from(n),
        Day::Month(m, w, d) => {
            let (m, w, d) = (i32::from(m), i32::from(w), i32::from(d));
            let first = days_from_civil(y, m, 1);
            let next = if m == 12 { days_from_civil(y + 1, 1, 1) } else { days_from_civil(y, m + 1, 1) };
            // 1970-01-01 was a Thursday (4).
            let mut day = first + (d - (first + 4).rem_euclid(7)).rem_euclid(7) + 7 * (w - 1);
            while day >= next {
                day -= 7;
            }
            day
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Seconds since the epoch of a UTC date and time.
    fn utc(y: i32, m: i32, d: i32, h: i64, min: i64) -> i64 {
        i64::from(days_from_civil(y, m, d)) * 86400 + h * 3600 + min * 60
    }

    #[test]
    fn calendar_arithmetic() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11017);
        assert_eq!(civil_year(0), 1970);
        assert_eq!(civil_year(-1), 1969);
        assert_eq!(civil_year(days_from_civil(2024, 12, 31)), 2024);
        assert_eq!(civil_year(days_from_civil(2025, 1, 1)), 2025);
        // Last Sunday of March 2024 was the 31st; of October, the 27th.
        assert_eq!(day_number(2024, Day::Month(3, 5, 0)), days_from_civil(2024, 3, 31));
        assert_eq!(day_number(2024, Day::Month(10, 5, 0)), days_from_civil(2024, 10, 27));
        // Second Sunday of March 2024: the 10th.
        assert_eq!(day_number(2024, Day::Month(3, 2, 0)), days_from_civil(2024, 3, 10));
        assert_eq!(day_number(2024, Day::Julian(60)), days_from_civil(2024, 3, 1));
        assert_eq!(day_number(2024, Day::Zero(59)), days_from_civil(2024, 2, 29));
    }

    #[test]
    fn central_europe() {
        // OpenWrt's value for Europe/Berlin.
        let r = parse("CET-1CEST,M3.5.0,M10.5.0/3\n").unwrap();
        assert_eq!(r.at(utc(2024, 1, 15, 12, 0)), ("CET", 3600));
        assert_eq!(r.at(utc(2024, 7, 1, 12, 0)), ("CEST", 7200));
        // Change at 01:00 UTC on 2024-03-31 and back at 01:00 UTC on 2024-10-27.
        assert_eq!(r.at(utc(2024, 3, 31, 0, 59)).1, 3600);
        assert_eq!(r.at(utc(2024, 3, 31, 1, 0)).1, 7200);
        assert_eq!(r.at(utc(2024, 10, 27, 0, 59)).1, 7200);
        assert_eq!(r.at(utc(2024, 10, 27, 1, 0)).1, 3600);
    }

    #[test]
    fn southern_hemisphere_and_fixed_zones() {
        let r = parse("NZST-12NZDT,M9.5.0,M4.1.0/3").unwrap();
        assert_eq!(r.at(utc(2024, 1, 10, 0, 0)), ("NZDT", 13 * 3600));
        assert_eq!(r.at(utc(2024, 6, 10, 0, 0)), ("NZST", 12 * 3600));
        assert_eq!(parse("UTC0").unwrap().at(0), ("UTC", 0));
        assert_eq!(parse("UTC\n").unwrap().at(0), ("UTC", 0));
        assert_eq!(parse("<+03>-3").unwrap().at(0), ("+03", 3 * 3600));
        assert_eq!(parse("IST-5:30").unwrap().at(0), ("IST", 5 * 3600 + 1800));
        assert_eq!(parse("<-03>3").unwrap().at(0), ("-03", -3 * 3600));
        // US Eastern, with the default rules.
        let r = parse("EST5EDT").unwrap();
        assert_eq!(r.at(utc(2024, 7, 4, 12, 0)), ("EDT", -4 * 3600));
        assert_eq!(r.at(utc(2024, 12, 4, 12, 0)), ("EST", -5 * 3600));
        let r = parse("EST5EDT,M3.2.0/2:00:00,M11.1.0/2:00:00").unwrap();
        assert_eq!(r.at(utc(2024, 3, 10, 7, 0)).1, -4 * 3600);
        assert_eq!(r.at(utc(2024, 3, 10, 6, 59)).1, -5 * 3600);
        // Julian-day rules.
        let r = parse("XXX0YYY,J60,J300").unwrap();
        assert_eq!(r.at(utc(2023, 6, 1, 0, 0)).0, "YYY");
        assert_eq!(r.at(utc(2023, 1, 1, 0, 0)).0, "XXX");
    }

    #[test]
    fn rejects_what_is_not_a_rule() {
        for bad in [
            "",
            "Europe/Berlin",
            ":Europe/Berlin",
            "CE-1",
            "CET+",
            "CET-25",
            "CET-1CEST,M3.5.0",
            "CET-1CEST,M13.5.0,M10.5.0",
            "CET-1CEST,M3.6.0,M10.5.0",
            "CET-1CEST,M3.5.7,M10.5.0",
            "CET-1CEST,M3.5.0,M10.5.0/168",
            "CET-1CEST,J0,J10",
            "CET-1CEST,366,10",
            "CET-1:60",
            "<+3>-3",
            "<+03-3",
            "CET-1CEST,M3.5.0,M10.5.0 x",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} parsed");
        }
    }
}
