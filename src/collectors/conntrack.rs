//! conntrack: table size and limit, plus the per-CPU statistics summed.
//! Linux 2.6.22 names everything `ip_conntrack`; later kernels `nf_conntrack`.

use super::{CollectError, Collector, read_first_parsed, read_kept_parsed};
use crate::metrics::exposition::{Exposition, Family, MetricType};
use crate::os::source::{KeptFile, Roots};
use crate::parse::{self, conntrack};

/// (modern path, 2.6.22 path) pairs, relative to the procfs root.
const COUNT: [&str; 2] = ["sys/net/netfilter/nf_conntrack_count", "sys/net/ipv4/netfilter/ip_conntrack_count"];
const MAX: [&str; 2] = ["sys/net/netfilter/nf_conntrack_max", "sys/net/ipv4/netfilter/ip_conntrack_max"];
const STAT: [&str; 2] = ["net/stat/nf_conntrack", "net/stat/ip_conntrack"];

/// Statistics columns exported, with node_exporter's HELP texts.
const STAT_COLUMNS: [(&str, &str, &str); 8] = [
    ("drop", "node_nf_conntrack_stat_drop", "Number of packets dropped due to conntrack failure."),
    (
        "early_drop",
        "node_nf_conntrack_stat_early_drop",
        "Number of dropped conntrack entries to make room for new ones, if maximum table size was reached.",
    ),
    ("found", "node_nf_conntrack_stat_found", "Number of searched entries which were successful."),
    (
        "ignore",
        "node_nf_conntrack_stat_ignore",
        "Number of packets seen which are already connected to a conntrack entry.",
    ),
    ("insert", "node_nf_conntrack_stat_insert", "Number of entries inserted into the list."),
    (
        "insert_failed",
        "node_nf_conntrack_stat_insert_failed",
        "Number of entries for which list insertion was attempted but failed.",
    ),
    ("invalid", "node_nf_conntrack_stat_invalid", "Number of packets seen which can not be tracked."),
    (
        "search_restart",
        "node_nf_conntrack_stat_search_restart",
        "Number of conntrack table lookups which had to be restarted due to hashtable resizes.",
    ),
];

/// The conntrack collector.
pub struct ConntrackCollector {
    text: String,
    /// The entries and limit families, then one per [`STAT_COLUMNS`] row.
    families: Vec<Family>,
    /// Which family of files the last collect read, for `--diagnose`.
    flavour: Option<&'static str>,
    /// The files of the family found, kept open.
    files: Option<Files>,
}

impl Default for ConntrackCollector {
    fn default() -> Self {
        let mut families = vec![
            Family::new(
                "node_nf_conntrack_entries",
                "Number of currently allocated flow entries for connection tracking.",
                MetricType::Gauge,
            ),
            Family::new(
                "node_nf_conntrack_entries_limit",
                "Maximum size of connection tracking table.",
                MetricType::Gauge,
            ),
        ];
        families.extend(STAT_COLUMNS.iter().map(|(_, name, help)| Family::new(name, help, MetricType::Gauge)));
        ConntrackCollector { text: String::new(), families, flavour: None, files: None }
    }
}

/// One family's files (`nf_conntrack` or `ip_conntrack`).
struct Files {
    flavour: usize,
    count: KeptFile,
    max: KeptFile,
    stat: KeptFile,
}

/// A missing file, as opposed to one that failed otherwise.
fn is_missing(e: &CollectError) -> bool {
    matches!(e, CollectError::Source(e) if e.is_missing())
}

impl ConntrackCollector {
    /// Reads the count from the family found before, or else from the first
    /// of [`COUNT`] that exists. Returns the family with the count.
    fn read_count(&mut self, roots: &Roots) -> Result<(usize, u64), CollectError> {
        if let Some(files) = self.files.as_mut().filter(|f| f.count.is_under(roots)) {
            match read_kept_parsed(&mut files.count, &mut self.text, parse::parse_single_u64) {
                Ok(v) => return Ok((files.flavour, v)),
                Err(e) if is_missing(&e) => {}
                Err(e) => return Err(e),
            }
        }
        self.files = None;
        for (flavour, rel) in COUNT.iter().enumerate() {
            let mut count = KeptFile::proc(roots, rel).single_record();
            match read_kept_parsed(&mut count, &mut self.text, parse::parse_single_u64) {
                Ok(v) => {
                    self.files = Some(Files {
                        flavour,
                        count,
                        max: KeptFile::proc(roots, MAX[flavour]).single_record(),
                        stat: KeptFile::proc_module_owned(roots, STAT[flavour]),
                    });
                    return Ok((flavour, v));
                }
                Err(e) if is_missing(&e) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(not_found(roots, &COUNT))
    }
}

/// Neither of `candidates` exists.
fn not_found(roots: &Roots, candidates: &[&str]) -> CollectError {
    let tried: Vec<String> = candidates.iter().map(|rel| roots.proc_path(rel).display().to_string()).collect();
    CollectError::Unavailable(format!("{} not found: is connection tracking loaded?", tried.join(" and ")))
}

impl Collector for ConntrackCollector {
    fn collect(&mut self, roots: &Roots, out: &mut Exposition) -> Result<(), CollectError> {
        self.flavour = None;
        let (flavour, count) = self.read_count(roots)?;
        self.flavour = Some(if flavour == 0 { "nf_conntrack" } else { "ip_conntrack" });
        let Some(files) = self.files.as_mut() else { return Err(not_found(roots, &COUNT)) };
        // Take the limit and statistics from the same family of files as the
        // count (or the older family's, if only that has them).
        let limit = match read_kept_parsed(&mut files.max, &mut self.text, parse::parse_single_u64) {
            Ok(v) => v,
            Err(e) if is_missing(&e) => {
                read_first_parsed(roots, &MAX[flavour + 1..], &mut self.text, parse::parse_single_u64)?
                    .ok_or_else(|| not_found(roots, &MAX[flavour..]))?
                    .1
            }
            Err(e) => return Err(e),
        };
        let (head, stat_families) = self.families.split_at(2.min(self.families.len()));
        for (family, v) in head.iter().zip([count, limit]) {
            out.start(family);
            out.sample(&[], v);
        }
        // The statistics file is optional (CONFIG_NF_CONNTRACK_PROCFS).
        let stats = match read_kept_parsed(&mut files.stat, &mut self.text, conntrack::parse_stat) {
            Ok(stats) => Some(stats),
            Err(e) if is_missing(&e) => {
                read_first_parsed(roots, &STAT[flavour + 1..], &mut self.text, conntrack::parse_stat)?.map(|(_, s)| s)
            }
            Err(e) => return Err(e),
        };
        if let Some(stats) = stats {
            for ((column, _, _), family) in STAT_COLUMNS.iter().zip(stat_families) {
                if let Some(v) = stats.get(column) {
                    out.start(family);
                    out.sample(&[], v);
                }
            }
        }
        Ok(())
    }

    fn sources(&self) -> Vec<(bool, String)> {
        self.flavour.map(|f| (true, f.to_string())).into_iter().collect()
    }
}
