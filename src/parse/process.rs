//! `/proc/self/stat` and the `btime` line of `/proc/stat`, for the
//! exporter's own `process_*` metrics.

use super::ParseError;

/// The fields of `/proc/<pid>/stat` the exporter reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessStat {
    /// User CPU time, in clock ticks.
    pub utime_ticks: u64,
    /// System CPU time, in clock ticks.
    pub stime_ticks: u64,
    /// Start time after boot, in clock ticks.
    pub start_ticks: u64,
    /// Resident set size, in pages.
    pub rss_pages: u64,
}

/// Parses `/proc/<pid>/stat`. The command name is in parentheses and may hold
/// spaces or parentheses itself, so fields are counted from the *last* `)`.
pub fn parse_stat(text: &str) -> Result<ProcessStat, ParseError> {
    let line = text.lines().next().unwrap_or("");
    let Some(close) = line.rfind(')') else {
        return Err(ParseError::new(1, "\"pid (comm) state ...\"", line));
    };
    // Fields after the comm, 0-based: 0 = state (field 3 in proc(5)).
    let rest: Vec<&str> = line[close + 1..].split_ascii_whitespace().collect();
    let field = |n: usize, name: &str| -> Result<u64, ParseError> {
        // proc(5) numbers fields from 1, and field 3 is rest[0].
        let s = rest.get(n - 3).ok_or_else(|| ParseError::new(1, format!("field {n} ({name})"), line))?;
        s.parse().map_err(|_| ParseError::new(1, format!("an unsigned integer in field {n} ({name})"), s))
    };
    Ok(ProcessStat {
        utime_ticks: field(14, "utime")?,
        stime_ticks: field(15, "stime")?,
        start_ticks: field(22, "starttime")?,
        rss_pages: field(24, "rss")?,
    })
}

/// Finds the boot time (`btime`, seconds since the epoch) in `/proc/stat`.
pub fn parse_boot_time(text: &str) -> Result<u64, ParseError> {
    for (idx, line) in text.lines().enumerate() {
        if let Some(v) = line.strip_prefix("btime ") {
            return v.trim().parse().map_err(|_| ParseError::new(idx + 1, "seconds after \"btime\"", line));
        }
    }
    Err(ParseError::new(0, "a \"btime\" line", ""))
}

/// The resident set size, in pages: the second field of `/proc/<pid>/statm`.
pub fn parse_statm_resident(text: &str) -> Result<u64, ParseError> {
    let line = text.lines().next().unwrap_or("");
    let field =
        line.split_ascii_whitespace().nth(1).ok_or_else(|| ParseError::new(1, "\"size resident ...\"", line))?;
    super::decimal_u64(field).ok_or_else(|| ParseError::new(1, "an unsigned integer for the resident pages", field))
}

/// Counts the entries of a `getdents64` buffer but `.` and `..`. Each
/// record is `u64 ino, i64 off, u16 reclen, u8 type, name NUL`; a record
/// that claims to run past the buffer ends the count.
pub fn count_dirents(buf: &[u8]) -> u64 {
    const NAME: usize = 19;
    let mut count = 0;
    let mut at = 0usize;
    while let Some(record) = buf.get(at..) {
        let (Some(&lo), Some(&hi)) = (record.get(16), record.get(17)) else { break };
        let len = usize::from(u16::from_ne_bytes([lo, hi]));
        let Some(name) = record.get(NAME..len.max(NAME)).filter(|_| len > NAME) else { break };
        let name = name.split(|&b| b == 0).next().unwrap_or(&[]);
        if name != b"." && name != b".." {
            count += 1;
        }
        at += len;
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_linux_6_stat_with_odd_comm() {
        let text = "3515 (a) b) R) R 3510 3510 1061 0 -1 4194304 98 0 0 0 7 3 0 0 20 0 1 0 16809 3133440 359 18446744073709551615 0\n";
        let s = parse_stat(text).unwrap();
        assert_eq!(s, ProcessStat { utime_ticks: 7, stime_ticks: 3, start_ticks: 16809, rss_pages: 359 });
    }

    #[test]
    fn short_or_bad_stat_is_an_error() {
        assert!(parse_stat("").is_err());
        assert!(parse_stat("1 (x) R 1 2 3\n").is_err());
        assert!(parse_stat("1 (x) R 1 1 1 0 -1 0 0 0 0 0 x 3 0 0 20 0 1 0 5 6 7\n").is_err());
    }

    #[test]
    fn statm_and_dirents() {
        // Linux 6.x /proc/self/statm.
        assert_eq!(parse_statm_resident("1466 359 324 201 0 112 0\n"), Ok(359));
        assert!(parse_statm_resident("1466\n").is_err());
        assert!(parse_statm_resident("1 x\n").is_err());
        let record = |name: &str| {
            let len = (19 + name.len() + 1).div_ceil(8) * 8;
            let mut r = vec![0u8; len];
            r[16..18].copy_from_slice(&(len as u16).to_ne_bytes());
            r[19..19 + name.len()].copy_from_slice(name.as_bytes());
            r
        };
        let buf: Vec<u8> = [".", "..", "0", "1", "2", "17"].iter().flat_map(|n| record(n)).collect();
        assert_eq!(count_dirents(&buf), 4);
        assert_eq!(count_dirents(&buf[..buf.len() - 3]), 3);
        assert_eq!(count_dirents(&[]), 0);
        // A zero length cannot loop forever.
        assert_eq!(count_dirents(&[0u8; 40]), 0);
    }

    #[test]
    fn boot_time() {
        assert_eq!(parse_boot_time("cpu 1 2\nbtime 1795593433\n"), Ok(1795593433));
        assert!(parse_boot_time("cpu 1\n").is_err());
        assert_eq!(parse_boot_time("btime x\n").unwrap_err().line, 1);
    }
}
