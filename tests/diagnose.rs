//! Golden tests of `--diagnose` over fake roots in `tests/diagnose/<case>/`:
//! each has a `config.toml`, optionally `args` (the `--diagnose=ADDR` form)
//! and `expected.txt`, the report with run-dependent values masked and the
//! exit code as its last line. `UPDATE_GOLDEN=1 cargo test --test diagnose`
//! rewrites the expected files.
//!
//! The config is copied to a temporary directory with mode 644 (as a
//! checkout makes it), `@PORT@` replaced by a port this test holds on
//! 127.0.0.1; the binary runs in the case's directory with a PATH that has
//! no `wl`, so the fake roots' relative paths resolve and nothing of the
//! host's leaks in but what is masked: the host's arch, the build target,
//! durations, the temporary path and the port holder.

mod common;

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

fn run(dir: &Path, holder: &TcpListener) -> (String, i32) {
    let tmp = common::TempDir::new("diagnose");
    let port = holder.local_addr().unwrap().port().to_string();
    let config = std::fs::read_to_string(dir.join("config.toml")).unwrap().replace("@PORT@", &port);
    let path = tmp.path().join("config.toml");
    std::fs::write(&path, config).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let arg = std::fs::read_to_string(dir.join("args")).map_or("--diagnose".to_string(), |a| a.trim().to_string());
    let out = common::run_in_fake_root(dir, &[arg.as_ref(), "--config".as_ref(), path.as_ref()]);
    let me = std::process::id().to_string();
    let my_name = std::fs::read_to_string("/proc/self/comm").unwrap_or_default().trim().to_string();
    let report = String::from_utf8(out.stdout).unwrap();
    let masked: String = report
        .lines()
        .map(|l| {
            let l = l.replace(&tmp.path().display().to_string(), "<tmp>").replace(&format!(":{port}"), ":<port>");
            let l = l.replace(&format!("pid {me} ({my_name})"), "pid <test> (<test>)");
            format!("{}\n", common::mask_diagnose_line(&l))
        })
        .collect();
    (masked, out.status.code().unwrap_or(-1))
}

#[test]
fn diagnose_reports_over_fake_roots() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/diagnose");
    let mut cases: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("config.toml").exists())
        .collect();
    cases.sort();
    assert!(cases.len() >= 6, "expected at least 6 cases, found {cases:?}");
    // Held for every case; only port_held's config names it.
    let holder = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut failures = Vec::new();
    for dir in &cases {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let (report, code) = run(dir, &holder);
        let got = format!("{report}exit {code}\n");
        let expected_path = dir.join("expected.txt");
        if update {
            std::fs::write(&expected_path, &got).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if got != expected {
            failures
                .push(format!("{name}: differs from {} (UPDATE_GOLDEN=1 rewrites it)\n{got}", expected_path.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The findings each case exists for, so a careless UPDATE_GOLDEN cannot
/// bless a report that lost them.
#[test]
fn each_case_shows_its_finding() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/diagnose");
    let cases: [(&str, &[&str], i32); 9] = [
        (
            "merlin_2.6.22",
            &[
                "info platform kernel: 2.6.22.19",
                "info platform fpu: no",
                "info platform firmware: ASUSWRT-Merlin 380.70_0 on RT-N16",
                "ok   platform package: suits this kernel",
                "ok   collector conntrack: ip_conntrack, ",
                "info collector wireless: wl: eth2 (ap, radio wl1, 5GHz, 2 stations)",
                "warn collector wireless: wl: wl0.1 is down",
                "warn access client 203.0.113.9: refused with 403",
            ],
            0,
        ),
        (
            "openwrt_nl80211",
            &[
                "info platform firmware: OpenWrt 24.10.1 r28597-0425664679 on ramips/mt7621",
                "ok   collector conntrack: nf_conntrack, ",
                "info collector wireless: nl80211: wlan0 (ap, radio phy0, 2.4GHz, 1 station)",
                "info collector wireless: nl80211: wlan1 (station, radio phy1, 2.4GHz, 0 stations, airtime from survey)",
            ],
            0,
        ),
        (
            "ddwrt_no_wl",
            &[
                "info platform firmware: DD-WRT 50308 on Netgear R6300",
                "warn platform package: the legacy mipsel package",
                "FAIL collector wireless: wl: command not found; fix: set [wireless] wl_command",
            ],
            1,
        ),
        ("conntrack_missing", &["FAIL collector conntrack: ", "fix: modprobe nf_conntrack"], 1),
        (
            "filesystem_no_mounts",
            &["FAIL collector filesystem: proc/mounts: no such file", "fix: check the file or command named above"],
            1,
        ),
        (
            "no_wifi_found",
            &[
                "FAIL collector wireless: no WiFi interface found by any backend (tried nl80211, wl, wext: ",
                "info collector wireless: wl: not available: bin/no-such-wl: command not found",
            ],
            1,
        ),
        (
            "wl_crashes",
            &[
                "FAIL collector wireless: bin/wl -i eth1 isup: killed by signal 11; fix: ",
                "warn collector wireless: wl: bin/wl -i eth1 isup: killed by signal 11",
            ],
            1,
        ),
        ("port_held", &["FAIL listen 127.0.0.1:<port>: in use by pid <test> (<test>); fix: "], 1),
        ("readable_hash", &["warn config: <tmp>/config.toml holds password hashes", "fix: chmod 600"], 0),
    ];
    let holder = TcpListener::bind("127.0.0.1:0").unwrap();
    for (case, findings, code) in cases {
        let (report, got_code) = run(&root.join(case), &holder);
        for f in findings {
            assert!(report.contains(f), "{case}: no {f:?} in\n{report}");
        }
        assert_eq!(got_code, code, "{case}:\n{report}");
    }
}

/// On this host with the shipped config: all well, or every failure names
/// what is missing and how to fix it (a conntrack module not loaded, port
/// 9100 taken by another program).
#[test]
fn diagnose_on_this_host_with_the_shipped_config() {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("files/ap-exporter.toml");
    let out = Command::new(common::exporter_bin()).arg("--diagnose").arg("--config").arg(&config).output().unwrap();
    let report = String::from_utf8(out.stdout).unwrap();
    assert!(
        report.lines().all(|l| ["ok ", "info", "warn", "FAIL", "off "].iter().any(|p| l.starts_with(p))),
        "{report}"
    );
    let fails: Vec<&str> =
        report.lines().filter(|l| l.starts_with("FAIL") && !l.starts_with("FAIL diagnose:")).collect();
    match out.status.code() {
        Some(0) => assert!(fails.is_empty(), "{report}"),
        Some(1) => {
            assert!(!fails.is_empty(), "exit 1 without a FAIL line:\n{report}");
            for f in fails {
                assert!(f.contains("fix: "), "a failure without a fix: {f}\n{report}");
            }
        }
        other => panic!("exit {other:?}\n{report}"),
    }
}

/// `--status`, what the init scripts print: a local scrape of the running
/// exporter named by the config's first listen address.
#[test]
fn status_scrapes_the_running_exporter() {
    let (dir, mut exp, addr) = common::start_on_fixture("");
    let cfg = dir.path().join("status.toml");
    std::fs::write(&cfg, format!("listen = [\"{addr}\"]\n")).unwrap();
    let status = || Command::new(common::exporter_bin()).arg("--status").arg("--config").arg(&cfg).output().unwrap();
    let out = status();
    let said = String::from_utf8(out.stdout).unwrap();
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(said, format!("serving on {addr}: ap-exporter {version}, 0 of 13 collectors failing\n"));
    assert_eq!(out.status.code(), Some(0));
    exp.signal(libc::SIGTERM);
    assert_eq!(exp.wait_exit(std::time::Duration::from_secs(10)), Some(0));
    let out = status();
    let said = String::from_utf8(out.stdout).unwrap();
    assert!(said.starts_with(&format!("not serving on {addr}: ")), "{said}");
    assert_eq!(out.status.code(), Some(1));
}

/// `--status` names the failing collectors and points to `--diagnose`.
#[test]
fn status_names_failing_collectors() {
    let dir = common::TempDir::new("status");
    let proc_root = common::fixtures().join("conntrack_missing/proc");
    let cfg = common::write_config(
        dir.path(),
        &format!("listen = [\"127.0.0.1:0\"]\n[collectors]\nwireless = false\n[paths]\nprocfs = {:?}\n", proc_root),
    );
    let mut exp = common::Exporter::start(&cfg, dir.path());
    let addr = exp.wait_listening();
    let status_cfg = dir.path().join("status.toml");
    std::fs::write(&status_cfg, format!("listen = [\"{addr}\"]\n")).unwrap();
    let out = Command::new(common::exporter_bin()).arg("--status").arg("--config").arg(&status_cfg).output().unwrap();
    let said = String::from_utf8(out.stdout).unwrap();
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        said,
        format!(
            "serving on {addr}: ap-exporter {version}, 7 of 15 collectors failing (arp, conntrack, cpu, filesystem, meminfo, stat, uname): ap-exporter --diagnose says why\n"
        )
    );
    assert_eq!(out.status.code(), Some(0), "serving, even with a failing collector");
}
