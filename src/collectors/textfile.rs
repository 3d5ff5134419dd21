//! textfile: every `*.prom` file in `[textfile] directory`, checked and
//! merged into the scrape, with `node_textfile_mtime_seconds{file}` per file
//! read and `node_textfile_scrape_error`, as node_exporter's textfile
//! collector has them.
//!
//! A file that cannot be read, does not parse (`parse::textformat`), has
//! timestamps, or conflicts with the files merged before it (another TYPE
//! or HELP, a series they have already, a name of the exporter's own) is
//! skipped whole and sets `node_textfile_scrape_error` to 1; the other
//! files and collectors are served as usual. Files are taken in name order,
//! so which of two conflicting files wins is stable. A directory that does
//! not exist gives no textfile metrics and no error.
//!
//! Nothing of a file is echoed: its families are rendered again from the
//! parsed values. Bounds: [`MAX_ENTRIES`] directory entries looked at,
//! [`MAX_FILES`] files read, [`MAX_SAMPLES`] samples in all, and each file
//! at most `os::source::MAX_SOURCE_BYTES`, opened without blocking (a FIFO
//! named `x.prom` is refused, not waited on).

use super::{CollectError, Collector};
use crate::config::Config;
use crate::metrics::exposition::{Exposition, MetricType};
use crate::os::source::{Roots, open_regular, read_file_bounded};
use crate::parse::textformat::{self, Kind, Merged};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Directory entries looked at per scrape; more is an error.
pub const MAX_ENTRIES: usize = 10_000;
/// `*.prom` files read per scrape, in name order; the rest are errors.
pub const MAX_FILES: usize = 100;
/// Samples from all files together; the file that would pass it is skipped.
pub const MAX_SAMPLES: usize = 20_000;

/// Family names the exporter writes itself (by prefix): a textfile family
/// with one of them would make the scrape hold a family twice. The
/// collectors of the exporter (and those issue 10 adds) write only these.
const RESERVED_PREFIXES: &[&str] = &[
    "ap_exporter_",
    "node_arp_",
    "node_boot_time_seconds",
    "node_context_switches_total",
    "node_cooling_device_",
    "node_cpu_",
    "node_firmware_info",
    "node_forks_total",
    "node_hwmon_",
    "node_intr_total",
    "node_load",
    "node_memory_",
    "node_network_",
    "node_nf_conntrack_",
    "node_procs_",
    "node_scrape_collector_",
    "node_textfile_",
    "node_thermal_zone_",
    "node_time_",
    "node_uname_",
    "process_",
    "wifi_",
];

/// Whether a sample name belongs to the exporter's own families.
pub fn reserved(name: &str) -> bool {
    RESERVED_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// The textfile collector.
pub struct TextfileCollector {
    directory: PathBuf,
    text: String,
    /// What the last scrape did with each file, for `--diagnose`.
    report: Vec<(bool, String)>,
    /// The problems logged last scrape, so a persisting one is logged once.
    logged: Vec<String>,
}

impl TextfileCollector {
    /// A collector for `config`'s `[textfile] directory`.
    pub fn new(config: &Config) -> TextfileCollector {
        TextfileCollector {
            directory: config.textfile.directory.clone(),
            text: String::new(),
            report: Vec::new(),
            logged: Vec::new(),
        }
    }

    /// Reads, parses and merges one file; returns its mtime and what it held.
    fn read_one(&mut self, path: &Path, label: &str, merged: &mut Merged) -> Result<(i64, String), String> {
        let file = open_regular(path).map_err(|e| e.to_string())?;
        let meta = file.metadata().map_err(|e| format!("{}: {e}", path.display()))?;
        read_file_bounded(path, file, &mut self.text).map_err(|e| e.to_string())?;
        let remaining = MAX_SAMPLES.saturating_sub(merged.sample_count());
        let families = textformat::parse(&self.text, remaining).map_err(|e| match e.kind {
            textformat::ErrorKind::TooManySamples(_) => {
                format!("{label}: line {}: more than {MAX_SAMPLES} samples in all files together", e.line)
            }
            _ => format!("{label}: {e}"),
        })?;
        if let Some(s) = families.iter().flat_map(|f| &f.samples).find(|s| s.timestamp.is_some()) {
            return Err(format!("{label}: line {}: has a timestamp, which the textfile collector refuses", s.line));
        }
        let (count, samples) = (families.len(), families.iter().map(|f| f.samples.len()).sum::<usize>());
        merged.add(label, families, reserved).map_err(|e| format!("{label}: {e}"))?;
        Ok((meta.mtime(), format!("{label}: {count} families, {samples} samples")))
    }

    /// The `*.prom` names in the directory, sorted, or why it cannot be listed.
    fn list(&mut self, errored: &mut bool) -> Option<Vec<String>> {
        let dir = &self.directory;
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.report.push((true, format!("{}: no such directory, so no textfile metrics", dir.display())));
                return None;
            }
            Err(e) => {
                *errored = true;
                self.report.push((false, format!("{}: cannot list: {e}", dir.display())));
                return None;
            }
        };
        // Sorted as they are inserted (a map rather than a sort keeps the binary small).
        let mut names = std::collections::BTreeMap::<String, usize>::new();
        for (seen, entry) in entries.enumerate() {
            if seen >= MAX_ENTRIES {
                *errored = true;
                self.report
                    .push((false, format!("{}: more than {MAX_ENTRIES} entries; the rest are ignored", dir.display())));
                break;
            }
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    *errored = true;
                    self.report.push((false, format!("{}: listing failed: {e}", dir.display())));
                    break;
                }
            };
            let name = entry.file_name();
            if !name.as_encoded_bytes().ends_with(b".prom") {
                continue;
            }
            match name.into_string() {
                Ok(name) => {
                    names.insert(name, 0);
                }
                Err(name) => {
                    *errored = true;
                    let shown = dir.join(&name);
                    self.report.push((false, format!("{}: the name is not UTF-8; skipped", shown.display())));
                }
            }
        }
        Some(names.into_keys().collect())
    }

    /// Logs the problems of this scrape that the last one did not have.
    fn log_new_problems(&mut self) {
        let problems: Vec<String> = self.report.iter().filter(|(ok, _)| !ok).map(|(_, s)| s.clone()).collect();
        for p in problems.iter().filter(|p| !self.logged.contains(p)) {
            log::warn!("textfile: {p}");
        }
        self.logged = problems;
    }
}

impl Collector for TextfileCollector {
    fn collect(&mut self, _roots: &Roots, out: &mut Exposition) -> Result<(), CollectError> {
        self.report.clear();
        let mut errored = false;
        let mut merged = Merged::new(MAX_SAMPLES);
        let mut mtimes: Vec<(String, i64)> = Vec::new();
        for (i, name) in self.list(&mut errored).unwrap_or_default().iter().enumerate() {
            let path = self.directory.join(name);
            let label = path.display().to_string();
            if i >= MAX_FILES {
                errored = true;
                self.report.push((false, format!("{label}: more than {MAX_FILES} files; skipped")));
                continue;
            }
            match self.read_one(&path, &label, &mut merged) {
                Ok((mtime, what)) => {
                    mtimes.push((label, mtime));
                    self.report.push((true, what));
                }
                Err(why) => {
                    errored = true;
                    self.report.push((false, format!("{why}; skipped")));
                }
            }
        }
        self.log_new_problems();
        write_families(&merged, out);
        if !mtimes.is_empty() {
            out.family(
                "node_textfile_mtime_seconds",
                "Unixtime mtime of textfiles successfully read.",
                MetricType::Gauge,
            );
            for (file, mtime) in &mtimes {
                out.sample(&[("file", file)], *mtime);
            }
        }
        out.family(
            "node_textfile_scrape_error",
            "1 if there was an error opening or reading a file, 0 otherwise",
            MetricType::Gauge,
        );
        out.sample(&[], u64::from(errored));
        Ok(())
    }

    fn configure(&mut self, config: &Config) {
        self.directory = config.textfile.directory.clone();
    }

    fn sources(&self) -> Vec<(bool, String)> {
        self.report.clone()
    }
}

/// Renders the merged families, by name, each sample from its parsed values.
fn write_families(merged: &Merged, out: &mut Exposition) {
    for f in merged.families() {
        let help = match &f.help {
            Some(h) => h.clone(),
            None => format!("Metric read from {}", f.sources.join(", ")),
        };
        let (ty, bound_label) = match f.kind {
            Kind::Counter => (MetricType::Counter, ""),
            Kind::Gauge => (MetricType::Gauge, ""),
            Kind::Untyped => (MetricType::Untyped, ""),
            Kind::Summary => (MetricType::Summary, "quantile"),
            Kind::Histogram => (MetricType::Histogram, "le"),
        };
        out.family(&f.name, &help, ty);
        for s in f.sorted_samples() {
            let bound = s.bound.map(format_float);
            let mut labels: Vec<(&str, &str)> = s.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            if let Some(b) = &bound {
                labels.push((bound_label, b));
            }
            out.sample_suffixed(s.suffix.as_str(), &labels, s.value);
        }
    }
}

/// A float as a label value: `+Inf`, `-Inf`, `NaN` or the shortest decimal.
fn format_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf".into() } else { "-Inf".into() }
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exporters_own_families_are_reserved() {
        // Every family a golden scenario without a textfile directory
        // shows comes from the exporter's collectors: none may come from
        // a textfile too.
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let mut checked = 0;
        for dir in std::fs::read_dir(fixtures).unwrap() {
            let dir = dir.unwrap().path();
            if dir.join("textfile").exists() {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(dir.join("expected.prom")) else { continue };
            for name in text.lines().filter_map(|l| l.strip_prefix("# TYPE ")).filter_map(|l| l.split(' ').next()) {
                assert!(reserved(name), "{name} (in {}) is not in RESERVED_PREFIXES", dir.display());
                checked += 1;
            }
        }
        assert!(checked > 20);
        assert!(!reserved("wan_up") && !reserved("node_apt_upgrades_pending") && !reserved("apt_upgrades_held"));
    }

    #[test]
    fn floats_as_label_values() {
        assert_eq!(format_float(0.5), "0.5");
        assert_eq!(format_float(1e6), "1000000");
        assert_eq!(format_float(f64::INFINITY), "+Inf");
        assert_eq!(format_float(-0.25), "-0.25");
    }
}
