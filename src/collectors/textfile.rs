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
//! parsed values, and no message quotes its text. Bounds: [`MAX_ENTRIES`]
//! directory entries looked at, [`MAX_FILES`] files read, `[textfile]
//! max_bytes` read and `max_series` samples from all files together (a file
//! that would pass either is skipped whole; one is never read past what is
//! left of `max_bytes`), and each file at most `os::source::MAX_SOURCE_BYTES`,
//! opened without blocking (a FIFO named `x.prom` is refused, not waited on).
//!
//! A `*.prom` that is a symbolic link is followed only to a file in the
//! directory itself: one pointing elsewhere (`/etc/shadow`) is skipped
//! unread. Everything is opened with `O_NOFOLLOW`, so a name cannot turn
//! into a link between the check and the open.

use super::{CollectError, Collector};
use crate::config::Config;
use crate::metrics::exposition::{Exposition, MetricType};
use crate::os::source::{
    MAX_SOURCE_BYTES, Roots, SourceError, SourceErrorKind, open_regular_nofollow, read_file_limited,
};
use crate::parse::textformat::{self, Kind, Merged};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Directory entries looked at per scrape; more is an error.
pub const MAX_ENTRIES: usize = 10_000;
/// `*.prom` files read per scrape, in name order; the rest are errors.
pub const MAX_FILES: usize = 100;
/// The read buffer is given back after a scrape when larger than this, so
/// one big scrape does not pin its megabytes until the next.
const KEEP_TEXT_BYTES: usize = 64 * 1024;

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
    /// `[textfile] max_bytes`.
    max_bytes: u64,
    /// `[textfile] max_series`.
    max_series: usize,
    text: String,
    /// What the last scrape did with each file, for `--diagnose`.
    report: Vec<(bool, String)>,
    /// The problems logged last scrape, so a persisting one is logged once.
    logged: Vec<String>,
}

impl TextfileCollector {
    /// A collector for `config`'s `[textfile] directory`.
    pub fn new(config: &Config) -> TextfileCollector {
        let mut c = TextfileCollector {
            directory: PathBuf::new(),
            max_bytes: 0,
            max_series: 0,
            text: String::new(),
            report: Vec::new(),
            logged: Vec::new(),
        };
        c.configure(config);
        c
    }

    /// Opens `path`, following a symbolic link only to a file directly in
    /// `real_dir` (the directory with its own links resolved, found once per
    /// scrape when the first link is met).
    fn open(&self, path: &Path, label: &str, real_dir: &mut Option<PathBuf>) -> Result<std::fs::File, String> {
        match open_regular_nofollow(path) {
            Err(SourceError { kind: SourceErrorKind::Io(e), .. }) if e.raw_os_error() == Some(libc::ELOOP) => {}
            other => return other.map_err(|e| e.to_string()),
        }
        let resolve = |p: &Path| {
            std::fs::canonicalize(p).map_err(|e| {
                let kind = if e.kind() == std::io::ErrorKind::NotFound {
                    SourceErrorKind::Missing
                } else {
                    SourceErrorKind::Io(e)
                };
                SourceError { path: path.to_path_buf(), kind }.to_string()
            })
        };
        let target = resolve(path)?;
        if real_dir.is_none() {
            *real_dir = Some(resolve(&self.directory)?);
        }
        if target.parent() != real_dir.as_deref() {
            return Err(format!("{label}: a symbolic link to a file outside the directory, not followed"));
        }
        open_regular_nofollow(&target).map_err(|e| SourceError { path: path.to_path_buf(), kind: e.kind }.to_string())
    }

    /// Reads, parses and merges one file, taking what it read from `left`
    /// (of `max_bytes`); returns its mtime and what it held.
    fn read_one(
        &mut self,
        path: &Path,
        label: &str,
        merged: &mut Merged,
        left: &mut u64,
        real_dir: &mut Option<PathBuf>,
    ) -> Result<(i64, String), String> {
        let file = self.open(path, label, real_dir)?;
        let meta = file.metadata().map_err(|e| format!("{label}: {e}"))?;
        let over_budget = || format!("{label}: the files would be more than max_bytes = {} bytes", self.max_bytes);
        if meta.len() > MAX_SOURCE_BYTES {
            return Err(SourceError { path: path.to_path_buf(), kind: SourceErrorKind::TooLarge }.to_string());
        }
        if meta.len() > *left {
            return Err(over_budget());
        }
        // Bounded by what is left, not the size: the file may grow meanwhile.
        // What was read counts even when it is then refused (a file that is
        // not UTF-8 leaves `text` empty): the stat size, plus any growth.
        let limit = *left;
        *left -= meta.len();
        let read = read_file_limited(path, file, &mut self.text, limit);
        *left = left.saturating_sub((self.text.len() as u64).saturating_sub(meta.len()));
        match read {
            Err(SourceError { kind: SourceErrorKind::TooLarge, .. }) if limit < MAX_SOURCE_BYTES => {
                return Err(over_budget());
            }
            other => other.map_err(|e| e.to_string())?,
        }
        let remaining = self.max_series.saturating_sub(merged.sample_count());
        let families = textformat::parse(&self.text, remaining).map_err(|e| match e.kind {
            textformat::ErrorKind::TooManySamples(_) => {
                format!("{label}: line {}: {}", e.line, self.too_many_samples())
            }
            _ => format!("{label}: {e}"),
        })?;
        if let Some(s) = families.iter().flat_map(|f| &f.samples).find(|s| s.timestamp.is_some()) {
            return Err(format!("{label}: line {}: has a timestamp, which the textfile collector refuses", s.line));
        }
        let (count, samples) = (families.len(), families.iter().map(|f| f.samples.len()).sum::<usize>());
        merged.add(label, families, reserved).map_err(|e| match e {
            textformat::MergeError::TooManySamples(_) => format!("{label}: {}", self.too_many_samples()),
            e => format!("{label}: {e}"),
        })?;
        Ok((meta.mtime(), format!("{label}: {count} families, {samples} samples")))
    }

    fn too_many_samples(&self) -> String {
        format!("the files would have more than max_series = {} samples", self.max_series)
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
    /// Logs the problems of this scrape that the last one did not have;
    /// returns how many.
    fn log_new_problems(&mut self) -> usize {
        let problems: Vec<String> = self.report.iter().filter(|(ok, _)| !ok).map(|(_, s)| s.clone()).collect();
        let mut new = 0;
        for p in problems.iter().filter(|p| !self.logged.contains(p)) {
            log::warn!("textfile: {p}");
            new += 1;
        }
        self.logged = problems;
        new
    }
}

impl Collector for TextfileCollector {
    fn collect(&mut self, _roots: &Roots, out: &mut Exposition) -> Result<(), CollectError> {
        self.report.clear();
        let mut errored = false;
        let mut merged = Merged::new(self.max_series);
        let mut mtimes: Vec<(String, i64)> = Vec::new();
        let mut left = self.max_bytes;
        let mut real_dir = None;
        for (i, name) in self.list(&mut errored).unwrap_or_default().iter().enumerate() {
            let path = self.directory.join(name);
            let label = path.display().to_string();
            if i >= MAX_FILES {
                errored = true;
                self.report.push((false, format!("{label}: more than {MAX_FILES} files; skipped")));
                continue;
            }
            match self.read_one(&path, &label, &mut merged, &mut left, &mut real_dir) {
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
        drop(merged);
        if self.text.capacity() > KEEP_TEXT_BYTES {
            self.text = String::new();
        }
        if self.max_bytes - left > KEEP_TEXT_BYTES as u64 {
            give_back_freed_memory();
        }
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
        let t = &config.textfile;
        self.directory = t.directory.clone();
        self.max_bytes = t.max_bytes.0;
        self.max_series = t.max_series.0 as usize;
    }

    fn sources(&self) -> Vec<(bool, String)> {
        self.report.clone()
    }
}

/// glibc keeps the memory of many small freed blocks (the parse of a large
/// file) for reuse, so RSS would stay high; musl's allocator gives it back
/// by itself.
fn give_back_freed_memory() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only releases free heap memory.
    unsafe {
        libc::malloc_trim(0);
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
        let mut text = String::new();
        crate::metrics::float_text::push_shortest(&mut text, v);
        text
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

    /// A collector over a fresh directory holding `files`, with `[textfile]` caps.
    fn over(tag: &str, files: &[(&str, String)], max_bytes: u64, max_series: u64) -> (PathBuf, TextfileCollector) {
        let dir = std::env::temp_dir().join(format!("apx-textfile-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
        let mut config = Config::default();
        config.textfile.directory = dir.clone();
        config.textfile.max_bytes = crate::config::Bounded(max_bytes);
        config.textfile.max_series = crate::config::Bounded(max_series);
        (dir, TextfileCollector::new(&config))
    }

    fn scrape(c: &mut TextfileCollector) -> String {
        let mut out = Exposition::new();
        c.collect(&Roots::default(), &mut out).unwrap();
        out.as_str().to_string()
    }

    /// `n` bytes of one family, one sample a line of 16 bytes.
    fn file_of(name: &str, n: usize) -> String {
        (0..n / 16).map(|i| format!("{name}{{i=\"{i:04}\"}} 1\n")).collect()
    }

    #[test]
    fn a_file_past_max_bytes_is_skipped_unread_and_logged_once() {
        let files = [("a.prom", file_of("aaa", 480)), ("b.prom", file_of("bbb", 800)), ("c.prom", file_of("ccc", 320))];
        let (dir, mut c) = over("bytes", &files, 1024, 5000);
        let text = scrape(&mut c);
        // a (480) and c (320) fit in 1024 bytes; b (800) would pass it.
        assert!(text.contains("\naaa{i=\"0029\"} 1\n") && text.contains("\nccc{i=\"0019\"} 1\n"), "{text}");
        assert!(!text.contains("bbb") && text.ends_with("node_textfile_scrape_error 1\n"), "{text}");
        let skipped: Vec<String> = c.sources().into_iter().filter(|(ok, _)| !ok).map(|(_, s)| s).collect();
        assert_eq!(
            skipped,
            [format!("{}: the files would be more than max_bytes = 1024 bytes; skipped", dir.join("b.prom").display())]
        );
        assert_eq!(c.logged.len(), 1);
        // The same problem next scrape: not logged again.
        scrape(&mut c);
        assert_eq!(c.log_new_problems(), 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn files_refused_after_reading_count_against_max_bytes_too() {
        // Not UTF-8: the read buffer is emptied, but the bytes were read.
        let mut binary = vec![0xff; 599];
        binary.push(b'\n');
        let (dir, mut c) = over("binary", &[("b.prom", file_of("bbb", 480))], 1024, 5000);
        std::fs::write(dir.join("a.prom"), binary).unwrap();
        let text = scrape(&mut c);
        assert!(!text.contains("bbb"), "{text}");
        let skipped: Vec<String> = c.sources().into_iter().filter(|(ok, _)| !ok).map(|(_, s)| s).collect();
        assert!(skipped.len() == 2 && skipped[1].contains("max_bytes = 1024"), "{skipped:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_file_past_max_series_is_skipped_and_the_rest_still_join() {
        let files = [("a.prom", file_of("aaa", 32)), ("b.prom", file_of("bbb", 32)), ("c.prom", file_of("ccc", 16))];
        let (dir, mut c) = over("series", &files, 1 << 20, 3);
        let text = scrape(&mut c);
        assert!(text.contains("\naaa{i=\"0001\"} 1\n") && text.contains("\nccc{i=\"0000\"} 1\n"), "{text}");
        assert!(!text.contains("bbb") && text.ends_with("node_textfile_scrape_error 1\n"), "{text}");
        let skipped: Vec<String> = c.sources().into_iter().filter(|(ok, _)| !ok).map(|(_, s)| s).collect();
        let b = dir.join("b.prom");
        assert_eq!(
            skipped,
            [format!("{}: line 2: the files would have more than max_series = 3 samples; skipped", b.display())]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_read_buffer_is_given_back_after_a_large_scrape() {
        let (dir, mut c) = over("shrink", &[("a.prom", file_of("aaa", 200_000))], 1 << 20, 20_000);
        assert!(scrape(&mut c).contains("aaa{i=\"0999\"}"));
        assert!(c.text.capacity() <= KEEP_TEXT_BYTES, "{}", c.text.capacity());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn links_are_followed_only_to_files_in_the_directory_itself() {
        let (dir, mut c) = over("links", &[("real.txt", "inside 1\n".into())], 1 << 20, 100);
        std::fs::create_dir(dir.join("sub")).unwrap();
        std::fs::write(dir.join("sub/deeper.txt"), "deeper 1\n").unwrap();
        std::os::unix::fs::symlink("real.txt", dir.join("in.prom")).unwrap();
        std::os::unix::fs::symlink("sub/deeper.txt", dir.join("sub.prom")).unwrap();
        std::os::unix::fs::symlink("/proc/self/status", dir.join("out.prom")).unwrap();
        let text = scrape(&mut c);
        assert!(text.contains("\ninside 1\n") && !text.contains("deeper"), "{text}");
        let skipped: Vec<String> = c.sources().into_iter().filter(|(ok, _)| !ok).map(|(_, s)| s).collect();
        assert_eq!(skipped.len(), 2, "{skipped:?}");
        assert!(
            skipped
                .iter()
                .all(|s| s.ends_with("a symbolic link to a file outside the directory, not followed; skipped"))
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn floats_as_label_values() {
        assert_eq!(format_float(0.5), "0.5");
        assert_eq!(format_float(1e6), "1000000");
        assert_eq!(format_float(f64::INFINITY), "+Inf");
        assert_eq!(format_float(-0.25), "-0.25");
    }
}
