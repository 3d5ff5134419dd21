//! A broken or hostile router file system: FIFOs where files should be (a
//! fixture root, the config path, a leases file in world-writable `/tmp`),
//! and a leases file anyone could have written. Opening a FIFO blocks until
//! a writer appears, which would hang the only thread and ignore SIGTERM;
//! the exporter must refuse such paths at once and keep serving the rest.

mod common;

use common::*;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo {}", path.display());
}

/// Runs the binary and fails the test if it takes longer than 10 s (a
/// FIFO that blocks would hang it forever).
fn run_bounded(args: &[&str], cwd: &Path) -> Output {
    let mut child = Command::new(exporter_bin())
        .args(args)
        .current_dir(cwd)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let end = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > end {
            let _ = child.kill();
            panic!("ap-exporter {args:?} hung on a FIFO");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn line<'a>(scrape: &'a str, prefix: &str) -> &'a str {
    scrape.lines().find(|l| l.starts_with(prefix)).unwrap_or_else(|| panic!("no {prefix} in:\n{scrape}"))
}

#[test]
fn a_fifo_at_proc_net_dev_fails_netdev_only() {
    let dir = TempDir::new("fifo-netdev");
    copy_tree(&fixtures().join("modern_openwrt"), dir.path());
    std::fs::remove_file(dir.path().join("proc/net/dev")).unwrap();
    mkfifo(&dir.path().join("proc/net/dev"));
    let out = run_bounded(&["--once", "--config", "config.toml"], dir.path());
    assert!(out.status.success());
    let scrape = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        line(&scrape, "node_scrape_collector_success{collector=\"netdev\"}"),
        "node_scrape_collector_success{collector=\"netdev\"} 0"
    );
    assert_eq!(
        line(&scrape, "node_scrape_collector_success{collector=\"load\"}"),
        "node_scrape_collector_success{collector=\"load\"} 1"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("net/dev: not a regular file"));
}

#[test]
fn a_fifo_as_the_config_is_refused() {
    let dir = TempDir::new("fifo-config");
    mkfifo(&dir.path().join("ap-exporter.toml"));
    let out = run_bounded(&["--check-config", "--config", "ap-exporter.toml"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("ap-exporter.toml: cannot read config: not a regular file"), "{stderr}");
}

#[test]
fn a_fifo_as_the_leases_file_costs_only_the_hostnames() {
    let dir = TempDir::new("fifo-leases");
    copy_tree(&fixtures().join("openwrt_nl80211"), dir.path());
    std::fs::remove_file(dir.path().join("dhcp.leases")).unwrap();
    mkfifo(&dir.path().join("dhcp.leases"));
    let out = run_bounded(&["--once", "--config", "config.toml"], dir.path());
    let scrape = String::from_utf8(out.stdout).unwrap();
    assert!(line(&scrape, "wifi_station_info{").contains("hostname=\"\""), "{scrape}");
    assert!(line(&scrape, "node_scrape_collector_success{collector=\"wireless\"}").ends_with(" 1"));
}

#[test]
fn a_world_writable_leases_file_is_not_believed() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("leases-trust");
    copy_tree(&fixtures().join("openwrt_nl80211"), dir.path());
    let leases = dir.path().join("dhcp.leases");
    let once = || String::from_utf8(run_bounded(&["--once", "--config", "config.toml"], dir.path()).stdout).unwrap();
    std::fs::set_permissions(&leases, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(line(&once(), "wifi_station_info{").contains("hostname=\"hwsim-station\""));
    std::fs::set_permissions(&leases, std::fs::Permissions::from_mode(0o666)).unwrap();
    assert!(line(&once(), "wifi_station_info{").contains("hostname=\"\""));
}

#[test]
fn a_served_exporter_over_a_fifo_still_answers_and_stops() {
    let dir = TempDir::new("fifo-serve");
    copy_tree(&fixtures().join("modern_openwrt/proc"), &dir.path().join("proc"));
    std::fs::remove_file(dir.path().join("proc/net/dev")).unwrap();
    mkfifo(&dir.path().join("proc/net/dev"));
    let cfg = write_config(
        dir.path(),
        "listen = [\"127.0.0.1:0\"]\n[collectors]\nwireless = false\n[paths]\nprocfs = \"proc\"\n",
    );
    let mut exp = Exporter::start(&cfg, dir.path());
    let addr = exp.wait_listening();
    let r = get(addr, "/metrics");
    assert_eq!(r.status, 200);
    assert!(r.text().contains("node_scrape_collector_success{collector=\"netdev\"} 0"));
    exp.signal(libc::SIGTERM);
    assert_eq!(exp.wait_exit(Duration::from_secs(5)), Some(0));
}

/// A textfile directory as a careless or hostile user may leave it: every
/// bad entry costs only itself (error 1), never the scrape or the thread.
#[test]
fn hostile_textfile_entries_cost_only_themselves() {
    let dir = TempDir::new("textfile-hostile");
    let tf = dir.path().join("textfile");
    std::fs::create_dir(&tf).unwrap();
    std::fs::write(tf.join("good.prom"), "# TYPE wan_up gauge\nwan_up 1\n").unwrap();
    mkfifo(&tf.join("fifo.prom"));
    std::os::unix::fs::symlink(tf.join("fifo.prom"), tf.join("to_fifo.prom")).unwrap();
    std::os::unix::fs::symlink("loop_b.prom", tf.join("loop_a.prom")).unwrap();
    std::os::unix::fs::symlink("loop_a.prom", tf.join("loop_b.prom")).unwrap();
    std::os::unix::fs::symlink("/nonexistent/x", tf.join("dangling.prom")).unwrap();
    std::fs::create_dir(tf.join("subdir.prom")).unwrap();
    // 5 MiB, over the 4 MiB cap per file.
    std::fs::write(tf.join("huge.prom"), "big_metric 1\n".repeat(400_000)).unwrap();
    // Under the size caps but over max_series (5000 by default).
    let many: String = (0..6_000).map(|i| format!("many{{i=\"{i}\"}} 1\n")).collect();
    std::fs::write(tf.join("many.prom"), many).unwrap();
    std::fs::write(tf.join("binary.prom"), [0xff, 0xfe, b'\n']).unwrap();
    std::fs::write(tf.join("nul.prom"), "x{a=\"\0\"} 1\n").unwrap();
    std::fs::write(dir.path().join("config.toml"), "[collectors]\nnetdev = false\nconntrack = false\nwireless = false\nload = false\n[textfile]\ndirectory = \"textfile\"\n").unwrap();
    let out = run_bounded(&["--once", "--config", "config.toml"], dir.path());
    assert!(out.status.success());
    let scrape = String::from_utf8(out.stdout).unwrap();
    promtool_check(&scrape).unwrap();
    assert_eq!(line(&scrape, "wan_up"), "wan_up 1");
    assert_eq!(line(&scrape, "node_textfile_scrape_error"), "node_textfile_scrape_error 1");
    let mtimes: Vec<&str> = scrape.lines().filter(|l| l.starts_with("node_textfile_mtime_seconds{")).collect();
    assert_eq!(mtimes.len(), 1, "only good.prom was read: {mtimes:?}");
    assert!(mtimes[0].contains("file=\"textfile/good.prom\""));
    assert!(!scrape.contains("big_metric") && !scrape.contains("many{"));
    let log = String::from_utf8(out.stderr).unwrap();
    for (file, why) in [
        ("fifo.prom", "not a regular file"),
        ("to_fifo.prom", "not a regular file"),
        ("loop_a.prom", "symbolic links"),
        ("dangling.prom", "no such file"),
        ("subdir.prom", "not a regular file"),
        ("huge.prom", "larger than"),
        ("many.prom", "more than max_series = 5000 samples"),
        ("binary.prom", "not UTF-8"),
        ("nul.prom", "control character"),
    ] {
        assert!(
            log.lines().any(|l| l.contains(&format!("textfile/{file}")) && l.contains(why)),
            "no {why:?} for {file} in:\n{log}"
        );
    }
}

#[test]
fn a_fifo_or_file_as_the_textfile_directory_is_an_error_not_a_hang() {
    let dir = TempDir::new("textfile-dir-fifo");
    mkfifo(&dir.path().join("fifo"));
    std::fs::write(dir.path().join("file"), "x 1\n").unwrap();
    for (directory, error) in [("fifo", "1"), ("file", "1"), ("missing", "0")] {
        std::fs::write(
            dir.path().join("config.toml"),
            format!("[collectors]\nnetdev = false\nconntrack = false\nwireless = false\n[textfile]\ndirectory = \"{directory}\"\n"),
        )
        .unwrap();
        let out = run_bounded(&["--once", "--config", "config.toml"], dir.path());
        let scrape = String::from_utf8(out.stdout).unwrap();
        assert_eq!(
            line(&scrape, "node_textfile_scrape_error"),
            format!("node_textfile_scrape_error {error}"),
            "{directory}"
        );
        assert!(!scrape.contains("node_textfile_mtime_seconds"));
        line(&scrape, "node_load1 "); // the other collectors serve
    }
}

#[test]
fn more_than_100_textfiles_reads_the_first_100() {
    let dir = TempDir::new("textfile-many");
    let tf = dir.path().join("textfile");
    std::fs::create_dir(&tf).unwrap();
    for i in 0..120 {
        std::fs::write(tf.join(format!("f{i:03}.prom")), format!("file_{i:03} 1\n")).unwrap();
    }
    std::fs::write(dir.path().join("config.toml"), "[collectors]\nnetdev = false\nconntrack = false\nwireless = false\nload = false\n[textfile]\ndirectory = \"textfile\"\n").unwrap();
    let out = run_bounded(&["--once", "--config", "config.toml"], dir.path());
    let scrape = String::from_utf8(out.stdout).unwrap();
    assert!(scrape.contains("\nfile_099 1\n") && !scrape.contains("file_100"));
    assert_eq!(line(&scrape, "node_textfile_scrape_error"), "node_textfile_scrape_error 1");
}
