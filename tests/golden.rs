//! Golden end-to-end test: the real binary's `--once` scrape over each fake
//! proc root in `tests/fixtures/<scenario>/`, against its `expected.prom`.
//! `UPDATE_GOLDEN=1 cargo test --test golden` rewrites the expected files.

mod common;

use std::process::Command;

#[test]
fn golden_scenarios() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut scenarios: Vec<_> = std::fs::read_dir(common::fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("config.toml").exists())
        .collect();
    scenarios.sort();
    assert!(scenarios.len() >= 5, "expected at least 5 scenarios, found {scenarios:?}");
    let mut failures = Vec::new();
    for dir in &scenarios {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        pin_textfile_mtimes(dir);
        let out = Command::new(common::exporter_bin())
            .args(["--once", "--config", "config.toml"])
            .current_dir(dir)
            // The time collector falls back to TZ where a scenario has no etc/TZ.
            .env_remove("TZ")
            .output()
            .unwrap();
        assert!(out.status.success(), "{name}: exit {:?}: {}", out.status, String::from_utf8_lossy(&out.stderr));
        let scrape = String::from_utf8(out.stdout).unwrap();
        if let Err(e) = common::promtool_check(&scrape) {
            failures.push(format!("{name}: promtool check metrics failed:\n{e}"));
        }
        let got = common::stable_scrape(&scrape);
        let expected_path = dir.join("expected.prom");
        if update {
            std::fs::write(&expected_path, &got).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if got != expected {
            failures.push(format!(
                "{name}: scrape differs from {} (UPDATE_GOLDEN=1 rewrites it)\n--- got ---\n{got}",
                expected_path.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// A checkout gives files the time of the checkout: the textfile
/// collector's `node_textfile_mtime_seconds` is pinned to 1700000000.
fn pin_textfile_mtimes(dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(dir.join("textfile")) else { return };
    let when = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
    for e in entries {
        let p = e.unwrap().path();
        std::fs::File::options().append(true).open(&p).unwrap().set_modified(when).unwrap();
    }
}

#[test]
fn golden_files_pass_promtool() {
    for entry in std::fs::read_dir(common::fixtures()).unwrap() {
        let p = entry.unwrap().path().join("expected.prom");
        if let Ok(text) = std::fs::read_to_string(&p) {
            common::promtool_check(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        }
    }
}
