//! The command line and config validation, on the real binary: every broken
//! config in `tests/configs/bad/` is refused with file, line and column, and
//! a SIGHUP with any of them keeps the old config serving.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn bad_configs() -> Vec<(PathBuf, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/configs/bad");
    let mut out: Vec<(PathBuf, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned();
            // The first line says what the error must contain: "# expect: LINE:COL text".
            let expect = match name.as_str() {
                "empty_file.toml" => "1:1 the file is empty".to_string(),
                "not_utf8.toml" => "2:1 not UTF-8".to_string(),
                _ => text
                    .lines()
                    .next()
                    .and_then(|l| l.strip_prefix("# expect: "))
                    .unwrap_or_else(|| panic!("{name}: no expect line"))
                    .to_string(),
            };
            (p, expect)
        })
        .collect();
    out.sort();
    assert!(out.len() >= 15);
    out
}

fn check_config(path: &Path) -> std::process::Output {
    Command::new(exporter_bin()).arg("--check-config").arg("--config").arg(path).output().unwrap()
}

#[test]
fn every_bad_config_is_refused_with_its_position() {
    for (path, expect) in bad_configs() {
        let out = check_config(&path);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{}: {stderr}", path.display());
        assert!(!stderr.contains("panicked"), "{stderr}");
        let (pos, words) = expect.split_once(' ').unwrap_or((&expect, ""));
        let located = format!("{}:{pos}", path.display());
        assert!(stderr.contains(&located), "{}: expected {located:?} in:\n{stderr}", path.display());
        assert!(stderr.contains(words), "{}: expected {words:?} in:\n{stderr}", path.display());
    }
}

#[test]
fn unreadable_and_missing_files_are_errors() {
    let dir = TempDir::new("cfg");
    let out = check_config(dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read config"));
    let out = check_config(&dir.path().join("missing.toml"));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.toml: cannot read config"));
}

#[test]
fn shipped_config_is_valid() {
    let shipped = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("files/ap-exporter.toml");
    let out = check_config(&shipped);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("valid"));
}

#[test]
fn version_help_and_usage_errors() {
    let out = Command::new(exporter_bin()).arg("--version").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with(&format!("ap-exporter {}", env!("CARGO_PKG_VERSION"))));
    let out = Command::new(exporter_bin()).arg("--help").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("--check-config"));
    let out = Command::new(exporter_bin()).arg("--frobnicate").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown argument"));
}

#[test]
fn sighup_with_each_bad_config_keeps_the_old_one() {
    let dir = TempDir::new("hup");
    let proc_root = fixtures().join("modern_openwrt/proc");
    let good = format!(
        "listen = [\"127.0.0.1:0\"]\n[collectors]\nwireless = false\n[paths]\nprocfs = {:?}\n",
        proc_root.display().to_string()
    );
    let cfg = write_config(dir.path(), &good);
    let mut exp = Exporter::start(&cfg, dir.path());
    let addr = exp.wait_listening();
    let baseline = get(addr, "/metrics?collect[]=load").text();
    for (path, _) in bad_configs() {
        std::fs::copy(&path, &cfg).unwrap();
        exp.signal(libc::SIGHUP);
        exp.wait_for("reload failed", Duration::from_secs(10));
        let now = get(addr, "/metrics?collect[]=load");
        assert_eq!(now.status, 200, "after {}", path.display());
        assert!(now.text().contains("node_load1 1.52"), "after {}", path.display());
    }
    assert!(baseline.contains("node_load1 1.52"));
    assert!(exp.alive());
}

/// `--config A --config B` (the OpenWrt init script's UCI settings over the
/// TOML file): B's keys win, SIGHUP re-reads both, and a bad B keeps the
/// config that served before.
#[test]
fn a_second_config_file_reads_over_the_first_and_reloads_with_it() {
    let dir = TempDir::new("layers");
    let proc_root = fixtures().join("modern_openwrt/proc");
    let base = write_config(
        dir.path(),
        &format!(
            "listen = [\"127.0.0.1:0\"]\n[collectors]\nwireless = false\nconntrack = false\n[paths]\nprocfs = {:?}\n",
            proc_root.display().to_string()
        ),
    );
    let over = dir.path().join("uci.toml");
    std::fs::write(&over, "# generated\n[collectors]\nconntrack = true\n").unwrap();
    let mut exp = Exporter::spawn(std::process::Command::new(exporter_bin()).args([
        std::ffi::OsStr::new("--config"),
        base.as_os_str(),
        "--config".as_ref(),
        over.as_os_str(),
    ]));
    let addr = exp.wait_listening();
    let scrape = get(addr, "/metrics").text();
    assert!(scrape.contains("node_nf_conntrack_entries "), "the overlay's conntrack = true");
    assert!(scrape.contains("node_load1 1.52"), "the base file's procfs");
    std::fs::write(&over, "# generated\n[collectors]\nconntrack = false\nload = false\n").unwrap();
    exp.signal(libc::SIGHUP);
    exp.wait_for("reloaded", Duration::from_secs(10));
    let scrape = get(addr, "/metrics").text();
    assert!(!scrape.contains("node_nf_conntrack_entries ") && !scrape.contains("node_load1 "), "{scrape}");
    std::fs::write(&over, "[collectors]\nconntrack = 1\n").unwrap();
    exp.signal(libc::SIGHUP);
    let line = exp.wait_for("reload failed", Duration::from_secs(10));
    assert!(line.contains(&format!("{}:2:13", over.display())), "{line}");
    assert!(!get(addr, "/metrics").text().contains("node_load1 "), "the old config still serves");
}
