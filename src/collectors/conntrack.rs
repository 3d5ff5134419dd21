//! conntrack: table size and limit, plus the per-CPU statistics summed.
//! Linux 2.6.22 names everything `ip_conntrack`; later kernels `nf_conntrack`.

use super::{CollectError, Collector, read_first_parsed};
use crate::metrics::exposition::{Exposition, MetricType};
use crate::os::source::Roots;
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
#[derive(Default)]
pub struct ConntrackCollector {
    text: String,
    /// Which family of files the last collect read, for `--diagnose`.
    flavour: Option<&'static str>,
}

impl ConntrackCollector {
    /// Reads one integer file from the first of `candidates` that exists.
    /// Returns which one it used.
    fn read_u64(&mut self, roots: &Roots, candidates: &[&str]) -> Result<(usize, u64), CollectError> {
        read_first_parsed(roots, candidates, &mut self.text, parse::parse_single_u64)?.ok_or_else(|| {
            let tried: Vec<String> = candidates.iter().map(|rel| roots.proc_path(rel).display().to_string()).collect();
            CollectError::Unavailable(format!("{} not found: is connection tracking loaded?", tried.join(" and ")))
        })
    }
}

impl Collector for ConntrackCollector {
    fn collect(&mut self, roots: &Roots, out: &mut Exposition) -> Result<(), CollectError> {
        self.flavour = None;
        let (flavour, count) = self.read_u64(roots, &COUNT)?;
        self.flavour = Some(if flavour == 0 { "nf_conntrack" } else { "ip_conntrack" });
        // Take the limit and statistics from the same family of files as the count.
        let (_, limit) = self.read_u64(roots, &MAX[flavour..])?;
        out.family(
            "node_nf_conntrack_entries",
            "Number of currently allocated flow entries for connection tracking.",
            MetricType::Gauge,
        );
        out.sample(&[], count);
        out.family("node_nf_conntrack_entries_limit", "Maximum size of connection tracking table.", MetricType::Gauge);
        out.sample(&[], limit);
        // The statistics file is optional (CONFIG_NF_CONNTRACK_PROCFS).
        if let Some((_, stats)) = read_first_parsed(roots, &STAT[flavour..], &mut self.text, conntrack::parse_stat)? {
            for (column, name, help) in STAT_COLUMNS {
                if let Some(v) = stats.get(column) {
                    out.family(name, help, MetricType::Gauge);
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
