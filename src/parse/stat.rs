//! `/proc/stat`: per-CPU time by mode, and the kernel's running totals
//! (interrupts, context switches, forks, boot time, runnable and blocked
//! processes).
//!
//! CPU lines grew over the years: Linux 2.6.22 prints eight columns (user to
//! steal), 2.6.24 added guest and 2.6.33 guest_nice. A line keeps only the
//! columns it has, so callers can leave absent modes out. Lines this parser
//! does not know (`softirq`, `page` on 2.4) are skipped.

use super::{ParseError, decimal_u64};

/// The modes of a CPU line, in the kernel's column order.
pub const MODES: [&str; 10] =
    ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal", "guest", "guest_nice"];

/// One `cpuN` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuTimes {
    /// N of `cpuN`.
    pub id: u32,
    /// Ticks (USER_HZ) per mode, in [`MODES`] order; only the first
    /// `columns` are present.
    pub ticks: [u64; 10],
    /// How many columns the line has (1 to 10).
    pub columns: usize,
}

impl CpuTimes {
    /// The ticks of mode `i` of [`MODES`], if the line has that column.
    pub fn get(&self, i: usize) -> Option<u64> {
        if i < self.columns { self.ticks.get(i).copied() } else { None }
    }
}

/// What `/proc/stat` says. Totals the file lacks are `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stat {
    /// The `cpuN` lines, in file order (ascending N).
    pub cpus: Vec<CpuTimes>,
    /// `intr`: interrupts serviced since boot (the first number).
    pub interrupts: Option<u64>,
    /// `ctxt`: context switches since boot.
    pub context_switches: Option<u64>,
    /// `btime`: boot time, seconds since the epoch.
    pub boot_time: Option<u64>,
    /// `processes`: forks since boot.
    pub forks: Option<u64>,
    /// `procs_running`.
    pub procs_running: Option<u64>,
    /// `procs_blocked`.
    pub procs_blocked: Option<u64>,
}

/// Parses the whole file. Every number of a line it knows must be an
/// unsigned decimal; `cpuN` lines must come in ascending N, each once.
pub fn parse(text: &str) -> Result<Stat, ParseError> {
    let mut stat = Stat::default();
    for (idx, line) in text.lines().enumerate() {
        let n = idx + 1;
        let mut fields = line.split_ascii_whitespace();
        let Some(key) = fields.next() else { continue };
        let first = |fields: &mut std::str::SplitAsciiWhitespace<'_>| -> Result<u64, ParseError> {
            let f = fields.next().unwrap_or("");
            decimal_u64(f).ok_or_else(|| ParseError::new(n, format!("an unsigned integer after {key}"), line))
        };
        match key {
            "cpu" => {}
            "intr" => stat.interrupts = Some(first(&mut fields)?),
            "ctxt" => stat.context_switches = Some(first(&mut fields)?),
            "btime" => stat.boot_time = Some(first(&mut fields)?),
            "processes" => stat.forks = Some(first(&mut fields)?),
            "procs_running" => stat.procs_running = Some(first(&mut fields)?),
            "procs_blocked" => stat.procs_blocked = Some(first(&mut fields)?),
            _ => {
                if let Some(id) = key.strip_prefix("cpu") {
                    let cpu = cpu_line(n, line, id, fields)?;
                    if stat.cpus.last().is_some_and(|last| last.id >= cpu.id) {
                        return Err(ParseError::new(n, "cpuN lines in ascending N, each once", line));
                    }
                    stat.cpus.push(cpu);
                }
            }
        }
    }
    Ok(stat)
}

fn cpu_line<'a>(n: usize, line: &str, id: &str, fields: impl Iterator<Item = &'a str>) -> Result<CpuTimes, ParseError> {
    let id = decimal_u64(id)
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| ParseError::new(n, "a CPU number after cpu", line))?;
    let mut cpu = CpuTimes { id, ticks: [0; 10], columns: 0 };
    // Columns past guest_nice (a future kernel's) are ignored.
    for (slot, field) in cpu.ticks.iter_mut().zip(fields) {
        *slot = decimal_u64(field).ok_or_else(|| ParseError::new(n, "CPU ticks as unsigned integers", line))?;
        cpu.columns += 1;
    }
    if cpu.columns == 0 {
        return Err(ParseError::new(n, "CPU ticks after the CPU name", line));
    }
    Ok(cpu)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = include_str!("../../tests/samples/stat_6.18_x86_64_host.txt");
    const OLD: &str = include_str!("../../tests/samples/stat_2.6.22_broadcom_1cpu.txt");
    const OPENWRT: &str = include_str!("../../tests/samples/stat_5.15_openwrt_4cpu.txt");

    #[test]
    fn parses_a_modern_host() {
        let s = parse(HOST).unwrap();
        assert_eq!(s.cpus.len(), 2);
        assert_eq!(s.cpus[1].id, 1);
        assert_eq!(s.cpus[0].columns, 10);
        assert_eq!(s.cpus[0].get(0), Some(474425));
        assert_eq!(s.cpus[1].get(7), Some(912));
        assert_eq!(s.context_switches, Some(19149685));
        assert_eq!(s.boot_time, Some(1795685439));
        assert_eq!(s.forks, Some(484982));
        assert_eq!(s.interrupts, Some(8991461));
        assert_eq!((s.procs_running, s.procs_blocked), (Some(1), Some(0)));
    }

    #[test]
    fn a_2_6_22_line_has_no_guest_columns() {
        let s = parse(OLD).unwrap();
        assert_eq!(s.cpus.len(), 1);
        let c = s.cpus[0];
        assert_eq!(c.columns, 8);
        assert_eq!(c.get(6), Some(590341));
        assert_eq!(c.get(7), Some(0));
        assert_eq!(c.get(8), None);
        assert_eq!(c.get(9), None);
        assert_eq!(s.interrupts, Some(15552847));
        assert_eq!(s.boot_time, Some(1199145600));
    }

    #[test]
    fn parses_openwrt_with_four_cpus() {
        let s = parse(OPENWRT).unwrap();
        assert_eq!(s.cpus.iter().map(|c| c.id).collect::<Vec<_>>(), [0, 1, 2, 3]);
        assert!(s.cpus.iter().all(|c| c.columns == 10));
        assert_eq!(s.procs_running, Some(2));
    }

    #[test]
    fn older_and_newer_shapes() {
        // Linux 2.4: four columns, and page/swap/disk_io lines.
        let s =
            parse("cpu  10 0 20 300\ncpu0 10 0 20 300\npage 1 2\nswap 0 0\nintr 5 5\nctxt 9\nbtime 7\nprocesses 3\n")
                .unwrap();
        assert_eq!(s.cpus[0].columns, 4);
        assert_eq!(s.cpus[0].get(4), None);
        assert_eq!(s.procs_running, None);
        // A future kernel's eleventh column is ignored.
        let s = parse("cpu0 1 2 3 4 5 6 7 8 9 10 11\n").unwrap();
        assert_eq!(s.cpus[0].columns, 10);
        assert_eq!(s.cpus[0].get(9), Some(10));
        assert_eq!(parse("").unwrap(), Stat::default());
    }

    #[test]
    fn rejects_garbage_with_its_line() {
        assert_eq!(parse("cpu0 1 2\ncpux 1 2\n").unwrap_err().line, 2);
        assert_eq!(parse("cpu0 1 -2\n").unwrap_err().line, 1);
        assert_eq!(parse("cpu0\n").unwrap_err().line, 1);
        assert_eq!(parse("ctxt\n").unwrap_err().line, 1);
        assert_eq!(parse("btime x\n").unwrap_err().line, 1);
        assert_eq!(parse("cpu0 1\ncpu0 1\n").unwrap_err().line, 2);
        assert_eq!(parse("cpu1 1\ncpu0 1\n").unwrap_err().line, 2);
        assert_eq!(parse("cpu99999999999 1\n").unwrap_err().line, 1);
    }
}
