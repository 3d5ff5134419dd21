//! The textfile directory as an abuser (or a runaway cron job) fills it:
//! the scrape, the exporter's memory and its log stay bounded by
//! `[textfile] max_bytes` and `max_series`, and nothing of a file's text,
//! nor of a file a symbolic link points at, reaches the log or `--diagnose`.

mod common;

use common::*;
use std::path::Path;
use std::process::{Command, Stdio};

/// A `VmHWM:` or `VmRSS:` figure of `/proc/PID/status`, in KiB.
fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let value = status.lines().find_map(|l| l.strip_prefix(field)).unwrap_or_else(|| panic!("no {field}"));
    value.trim().trim_end_matches(" kB").trim().parse().unwrap()
}

/// `n` bytes or a little less of valid text format: family `name`, one
/// series per line with `labels` (which ends in a comma, or is empty).
fn valid_prom(name: &str, labels: &str, n: usize) -> String {
    let mut text = format!("# HELP {name} Filler.\n# TYPE {name} gauge\n");
    let mut i = 0;
    loop {
        let line = format!("{name}{{{labels}i=\"{i:09}\"}} 1\n");
        if text.len() + line.len() > n {
            return text;
        }
        text.push_str(&line);
        i += 1;
    }
}

fn scrape_error(scrape: &str) -> &str {
    let found = scrape.lines().find(|l| l.starts_with("node_textfile_scrape_error "));
    found.unwrap_or_else(|| panic!("no node_textfile_scrape_error in:\n{scrape}"))
}

#[test]
fn ten_4_mb_textfiles_cost_neither_response_size_nor_memory() {
    let (dir, mut exp, addr) = start_on_fixture("[textfile]\ndirectory = \"textfile\"\n");
    let pid = exp.pid();
    let mut normal = 0;
    for _ in 0..3 {
        let r = get(addr, "/metrics");
        assert_eq!(r.status, 200);
        normal = normal.max(r.body.len());
    }
    let (hwm, rss) = (status_kib(pid, "VmHWM:"), status_kib(pid, "VmRSS:"));

    let tf = dir.path().join("textfile");
    std::fs::create_dir(&tf).unwrap();
    // Each 4 MB file is under the 4 MiB cap per file and, at 4 KB a
    // series, the samples cap: only a total byte cap keeps them out.
    let pad = format!("pad=\"{}\",", "p".repeat(4000));
    for f in 0..10 {
        std::fs::write(tf.join(format!("big{f:02}.prom")), valid_prom(&format!("big{f:02}"), &pad, 4_000_000)).unwrap();
    }
    // A small file still joins: the cap skips the big ones, not the collector.
    std::fs::write(tf.join("wan.prom"), "# TYPE wan_up gauge\nwan_up 1\n").unwrap();
    for _ in 0..3 {
        let r = get(addr, "/metrics");
        assert_eq!(r.status, 200);
        let text = r.text();
        assert!(r.body.len() < normal + 256 * 1024 + 64 * 1024, "a {} byte response", r.body.len());
        assert_eq!(scrape_error(&text), "node_textfile_scrape_error 1");
        assert!(text.contains("\nwan_up 1\n") && !text.contains("big00{"), "{}", &text[..text.len().min(4096)]);
    }
    let (hwm_after, rss_after) = (status_kib(pid, "VmHWM:"), status_kib(pid, "VmRSS:"));
    assert!(hwm_after <= hwm + 8 * 1024, "VmHWM {hwm} kB before the files, {hwm_after} kB after");
    assert!(rss_after <= rss + 4 * 1024, "VmRSS {rss} kB before the files, {rss_after} kB after");

    // Files of 60 KB that each fit but together do not: four are read,
    // the rest skipped unread. Sixty labels a series, the costliest form
    // to parse for its size: memory is bounded by the cap all the same.
    let labels: String = (0..60).map(|j| format!("l{j:02}=\"1\",")).collect();
    for f in 0..10 {
        std::fs::write(tf.join(format!("big{f:02}.prom")), valid_prom(&format!("big{f:02}"), &labels, 60_000)).unwrap();
    }
    for _ in 0..3 {
        let r = get(addr, "/metrics");
        assert_eq!(r.status, 200);
        let text = r.text();
        assert!(r.body.len() < normal + 2 * 256 * 1024, "a {} byte response", r.body.len());
        assert_eq!(scrape_error(&text), "node_textfile_scrape_error 1");
        assert!(text.contains("\nbig03{") && !text.contains("\nbig04{"), "{}", &text[..text.len().min(4096)]);
    }
    let hwm_after = status_kib(pid, "VmHWM:");
    assert!(hwm_after <= hwm + 8 * 1024, "VmHWM {hwm} kB before the files, {hwm_after} kB after");
    let rss_after = status_kib(pid, "VmRSS:");
    assert!(rss_after <= rss + 4 * 1024, "VmRSS {rss} kB before the files, {rss_after} kB after");

    // One warning per file and problem, not one per scrape.
    let log = exp.drain_log();
    let big09: Vec<&str> = log.lines().filter(|l| l.contains("textfile/big09.prom")).collect();
    assert_eq!(big09.len(), 1, "{log}");
    assert!(big09[0].contains("max_bytes"), "{log}");
}

/// A first line such as `/etc/shadow`'s, which a parse error once quoted.
const SECRET: &str = "root:$6$SECRETHASHxyz0123456789abcdefghijklmnopq:19000:0:99999:7:::\n";

fn run(dir: &Path, args: &[&str]) -> (String, String) {
    let out = Command::new(exporter_bin())
        .args(args)
        .current_dir(dir)
        .env("PATH", "/usr/bin:/bin")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn symbolic_links_out_of_the_directory_are_skipped_and_no_content_is_logged() {
    let dir = TempDir::new("textfile-links");
    let tf = dir.path().join("textfile");
    std::fs::create_dir(&tf).unwrap();
    std::fs::write(dir.path().join("shadow"), SECRET).unwrap();
    std::fs::write(dir.path().join("valid_outside"), "outside_metric 1\n").unwrap();
    std::os::unix::fs::symlink(dir.path().join("shadow"), tf.join("leak.prom")).unwrap();
    std::os::unix::fs::symlink("../valid_outside", tf.join("outside.prom")).unwrap();
    // A link to a file in the directory itself is followed.
    std::fs::write(tf.join("wan.txt"), "# TYPE wan_up gauge\nwan_up 1\n").unwrap();
    std::os::unix::fs::symlink("wan.txt", tf.join("wan.prom")).unwrap();
    // The same secret in the directory itself: refused, and not quoted either.
    std::fs::write(tf.join("secret.prom"), SECRET).unwrap();
    std::fs::write(tf.join("type.prom"), "# TYPE x SECRETHASHtype\n").unwrap();
    std::fs::write(tf.join("bound.prom"), "# TYPE h histogram\nh_bucket{le=\"SECRETHASHle\"} 1\n").unwrap();
    std::fs::write(tf.join("stamp.prom"), "x 1 SECRETHASHts\n").unwrap();
    write_config(
        dir.path(),
        "listen = [\"127.0.0.1:0\"]\n[collectors]\nnetdev = false\nconntrack = false\nwireless = false\n\
         [textfile]\ndirectory = \"textfile\"\n",
    );

    let (scrape, log) = run(dir.path(), &["--once", "--config", "ap-exporter.toml"]);
    assert_eq!(scrape_error(&scrape), "node_textfile_scrape_error 1");
    assert!(scrape.contains("\nwan_up 1\n"), "{scrape}");
    assert!(!log.contains("SECRETHASH") && !scrape.contains("SECRETHASH"), "{log}");
    assert!(!scrape.contains("outside_metric"), "{scrape}");
    for file in ["leak.prom", "outside.prom"] {
        assert!(
            log.lines().any(|l| l.contains(&format!("textfile/{file}")) && l.contains("outside the directory")),
            "no warning for {file}:\n{log}"
        );
    }
    for file in ["secret.prom", "type.prom", "bound.prom", "stamp.prom"] {
        assert!(log.lines().any(|l| l.contains(&format!("textfile/{file}: line "))), "{file}:\n{log}");
    }

    let (report, errors) = run(dir.path(), &["--diagnose", "--config", "ap-exporter.toml"]);
    assert!(!report.contains("SECRETHASH") && !errors.contains("SECRETHASH"), "{report}\n{errors}");
    assert!(report.contains("textfile/leak.prom"), "{report}");
}
