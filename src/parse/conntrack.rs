//! `/proc/net/stat/nf_conntrack` (or the 2.6.22 `ip_conntrack`): per-CPU
//! connection-tracking statistics in hex, under a header of column names.

use super::ParseError;

/// Column sums over all CPU lines, in header order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConntrackStats<'a> {
    /// `(column name, sum over CPUs)`.
    pub columns: Vec<(&'a str, u64)>,
}

impl ConntrackStats<'_> {
    /// The sum for a named column, if the kernel prints that column.
    pub fn get(&self, name: &str) -> Option<u64> {
        self.columns.iter().find(|(n, _)| *n == name).map(|&(_, v)| v)
    }
}

/// Parses the header and sums each column over the CPU lines. Columns are
/// located by name because kernels add, rename and reorder them
/// (`searched` became `clashres`, `search_restart` arrived in 4.x).
pub fn parse_stat(text: &str) -> Result<ConntrackStats<'_>, ParseError> {
    let mut lines = text.lines().enumerate();
    let header = loop {
        match lines.next() {
            Some((_, l)) if l.trim().is_empty() => continue,
            Some((_, l)) => break l,
            None => return Err(ParseError::new(0, "a header line of column names", text)),
        }
    };
    // Sized once: kernels print 16 to 17 columns.
    let mut columns: Vec<(&str, u64)> = Vec::with_capacity(24);
    columns.extend(super::net_dev::words(header).map(|n| (n, 0)));
    if columns.iter().any(|(n, _)| !n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')) || columns.is_empty() {
        return Err(ParseError::new(1, "a header line of column names", header));
    }
    let mut cpu_lines = 0usize;
    for (idx, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let mut values = super::net_dev::words(line);
        for (i, (name, sum)) in columns.iter_mut().enumerate() {
            let v = match values.number(true) {
                Some(Ok(v)) => v,
                Some(Err(field)) => return Err(ParseError::new(idx + 1, format!("a hex value for {name}"), field)),
                None => {
                    return Err(ParseError::new(idx + 1, format!("a hex value for column {} ({name})", i + 1), line));
                }
            };
            *sum = sum.saturating_add(v);
        }
        if let Some(extra) = values.next() {
            return Err(ParseError::new(idx + 1, format!("{} values, as in the header", columns.len()), extra));
        }
        cpu_lines += 1;
    }
    if cpu_lines == 0 {
        return Err(ParseError::new(0, "at least one CPU line after the header", header));
    }
    Ok(ConntrackStats { columns })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openwrt_5_15_four_cpus_are_summed_by_name() {
        let s = parse_stat(include_str!("../../tests/samples/nf_conntrack_stat_5.15_openwrt_4cpu.txt")).unwrap();
        assert_eq!(s.get("invalid"), Some(0x1f4 + 0x64 + 0x10));
        assert_eq!(s.get("ignore"), Some(0x3b2e + 0x29aa + 0x1e0f + 0x2f00));
        assert_eq!(s.get("insert_failed"), Some(1));
        assert_eq!(s.get("drop"), Some(2));
        assert_eq!(s.get("early_drop"), Some(3));
        assert_eq!(s.get("search_restart"), Some(0x11 + 5 + 2));
        assert_eq!(s.get("searched"), None);
    }

    #[test]
    fn legacy_2_6_22_ip_conntrack_has_no_search_restart() {
        let s = parse_stat(include_str!("../../tests/samples/ip_conntrack_stat_2.6.22_broadcom_1cpu.txt")).unwrap();
        assert_eq!(s.get("found"), Some(0xa9b7e));
        assert_eq!(s.get("insert_failed"), Some(3));
        assert_eq!(s.get("search_restart"), None);
    }

    #[test]
    fn host_capture_parses() {
        let s = parse_stat(include_str!("../../tests/samples/nf_conntrack_stat_6.18_x86_64_host_2cpu.txt")).unwrap();
        assert_eq!(s.columns.len(), 17);
    }

    #[test]
    fn malformed_tables_name_the_line() {
        assert_eq!(parse_stat("").unwrap_err().line, 0);
        assert_eq!(parse_stat("entries found\n").unwrap_err().line, 0);
        assert_eq!(parse_stat("entries found\n1\n").unwrap_err().line, 2);
        assert_eq!(parse_stat("entries found\n1 2 3\n").unwrap_err().line, 2);
        assert_eq!(parse_stat("entries found\n1 zz\n").unwrap_err().line, 2);
        assert_eq!(parse_stat("entries f(und\n1 2\n").unwrap_err().line, 1);
        assert_eq!(parse_stat("a\n+1\n").unwrap_err().line, 2);
        assert_eq!(parse_stat("a\n10000000000000000\n").unwrap_err().line, 2);
        assert_eq!(parse_stat("a b\n00fF 0\n").unwrap().get("a"), Some(255));
        // Saturates instead of overflowing.
        let s = parse_stat("a\nffffffffffffffff\nffffffffffffffff\n").unwrap();
        assert_eq!(s.get("a"), Some(u64::MAX));
    }
}
