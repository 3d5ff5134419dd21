//! A Broadcom `wl` that fails, over the Merlin fixture (its nvram names
//! eth1, eth2 and the guest wl0.1): one that crashes, one that is not
//! executable, one the shell or the loader refuses, one that prints
//! garbage. The first three are the wireless collector's failure (success
//! 0, and the log names the command and the cause, once while it lasts);
//! `wl` saying an interface is not a Broadcom one, or there being no `wl`
//! at all, is not. Also: one bad leases line costs only its own hostname.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// The Merlin fixture in a temporary directory, with `wl` as given (None:
/// the fixture's replaying one) and nl80211 replies of no interface.
fn merlin_with_wl(wl: Option<&str>, backend: &str, nvram: &str) -> TempDir {
    let dir = TempDir::new("wl-failures");
    copy_tree(&fixtures().join("merlin_wl"), dir.path());
    let bin = dir.path().join("bin");
    if let Some(script) = wl {
        std::fs::rename(bin.join("wl"), bin.join("wl.real")).unwrap();
        std::fs::write(bin.join("wl"), script).unwrap();
        make_executable(&bin.join("wl"));
    }
    let nl80211 = dir.path().join("nl80211");
    std::fs::create_dir(&nl80211).unwrap();
    std::fs::copy(fixtures().join("wl_probe/nl80211/interfaces.bin"), nl80211.join("interfaces.bin")).unwrap();
    write_config(
        dir.path(),
        &format!(
            "[collectors]\nconntrack = false\n[wireless]\nbackend = \"{backend}\"\nwl_command = \"bin/wl\"\n\
             nvram_command = \"{nvram}\"\nleases = \"dnsmasq.leases\"\ncommand_timeout_seconds = 10\n\
             [paths]\netc = \"etc\"\nsysfs = \"sys\"\nprocfs = \"proc\"\nnl80211 = \"nl80211\"\n"
        ),
    );
    dir
}

/// `--once` in `dir` (no `wl` in PATH): the scrape and the log.
fn once(dir: &Path) -> (String, String) {
    let out = Command::new(exporter_bin())
        .args(["--once", "--config", "ap-exporter.toml"])
        .current_dir(dir)
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    assert!(out.status.success(), "exit {:?}: {}", out.status, String::from_utf8_lossy(&out.stderr));
    (String::from_utf8(out.stdout).unwrap(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn wireless_success(scrape: &str) -> &str {
    let line = scrape.lines().find(|l| l.starts_with("node_scrape_collector_success{collector=\"wireless\"}"));
    line.and_then(|l| l.rsplit(' ').next()).unwrap_or_else(|| panic!("no wireless success in\n{scrape}"))
}

/// The failures: what the log must say about each.
#[test]
fn a_wl_that_cannot_run_fails_the_collector_and_says_why() {
    let cases: [(&str, Option<&str>, &str); 4] = [
        ("segfault", Some("#!/bin/sh\nkill -SEGV $$\n"), "bin/wl -i eth1 isup: killed by signal 11"),
        // A wrapper whose real wl is gone, or a missing shared library.
        (
            "refused by the shell",
            Some("#!/bin/sh\necho 'bin/wl: line 2: /usr/sbin/wl.real: not found' >&2\nexit 127\n"),
            "bin/wl -i eth1 isup: exit status 127: \"bin/wl: line 2: /usr/sbin/wl.real: not found\"",
        ),
        ("cannot execute", Some("#!/bin/sh\necho 'cannot execute binary file' >&2\nexit 126\n"), "exit status 126"),
        // The fixture's own wl, made not executable below.
        ("not executable", None, "bin/wl -i eth1 isup: cannot run: Permission denied"),
    ];
    for backend in ["wl", "auto"] {
        for (case, script, says) in cases {
            let dir = merlin_with_wl(script, backend, "bin/nvram");
            if script.is_none() {
                use std::os::unix::fs::PermissionsExt;
                let wl = dir.path().join("bin/wl");
                std::fs::set_permissions(&wl, std::fs::Permissions::from_mode(0o644)).unwrap();
            }
            let (scrape, log) = once(dir.path());
            assert_eq!(wireless_success(&scrape), "0", "{case}, {backend}:\n{scrape}");
            assert!(!scrape.contains("wifi_network_up"), "{case}, {backend}:\n{scrape}");
            let failed: Vec<&str> = log.lines().filter(|l| l.contains("collector wireless failed: ")).collect();
            assert_eq!(failed.len(), 1, "{case}, {backend}:\n{log}");
            assert!(failed[0].contains(says), "{case}, {backend}: no {says:?} in\n{log}");
        }
    }
}

/// Without nvram wl is asked of every interface: a crash there is a failure too.
#[test]
fn a_wl_crashing_while_probing_fails_the_collector() {
    let dir = merlin_with_wl(Some("#!/bin/sh\nkill -SEGV $$\n"), "auto", "bin/no-such-nvram");
    let (scrape, log) = once(dir.path());
    assert_eq!(wireless_success(&scrape), "0", "{scrape}");
    assert!(log.contains("bin/wl -i eth0 isup: killed by signal 11"), "{log}");
}

/// A flood on stderr is quoted by a bounded excerpt of its first line.
#[test]
fn the_quoted_stderr_is_bounded() {
    let dir =
        merlin_with_wl(Some("#!/bin/sh\nhead -c 100000 /dev/zero | tr '\\0' x >&2\nexit 127\n"), "wl", "bin/nvram");
    let (scrape, log) = once(dir.path());
    assert_eq!(wireless_success(&scrape), "0", "{scrape}");
    let line = log.lines().find(|l| l.contains("collector wireless failed: ")).unwrap_or_else(|| panic!("{log}"));
    assert!(line.contains("exit status 127: \"xxxx"), "{line}");
    assert!(line.len() < 400, "{} bytes: {line}", line.len());
}

/// Not a failure: wl refusing a non-Broadcom interface (asked because
/// nvram names it). And a bad leases line costs only its own hostname.
#[test]
fn a_refused_interface_and_a_bad_leases_line_cost_only_themselves() {
    // eth1 is not a Broadcom interface for this wl; eth2 still reports, with
    // its stations' hostnames, though the leases file has a line with a
    // scoped address first.
    let refuse_eth1 = "#!/bin/sh\n[ \"$2\" = eth1 ] && { echo 'wl: wl driver adapter not found' >&2; exit 1; }\n\
                       exec \"${0%/*}/wl.real\" \"$@\"\n";
    let dir = merlin_with_wl(Some(refuse_eth1), "wl", "bin/nvram");
    let leases = dir.path().join("dnsmasq.leases");
    let good = std::fs::read_to_string(&leases).unwrap();
    std::fs::write(&leases, format!("1732560000 02:00:00:00:00:09 fe80::1%br-lan phone *\n{good}")).unwrap();
    let (scrape, log) = once(dir.path());
    assert_eq!(wireless_success(&scrape), "1", "{scrape}\n{log}");
    assert!(scrape.contains("wifi_network_up{ifname=\"eth2\""), "{scrape}");
    assert!(!scrape.contains("ifname=\"eth1\""), "{scrape}");
    assert!(scrape.contains("hostname=\"Pixel-7\""), "{scrape}");
    assert!(!log.contains("collector wireless failed"), "{log}");
    assert!(
        log.contains(
            "1 line of the leases file skipped, the first: dnsmasq.leases:1: expected an IP address in the third \
             field, found \"fe80::1%br-lan\""
        ),
        "{log}"
    );
}

/// A wl that answers anything with text but no number makes no interface
/// a WiFi one (it used to make eth0 and br0 networks).
#[test]
fn a_wl_printing_garbage_finds_no_interface() {
    let dir = merlin_with_wl(Some("#!/bin/sh\necho 'usage: something else entirely'\n"), "auto", "bin/no-such-nvram");
    let (scrape, log) = once(dir.path());
    assert_eq!(wireless_success(&scrape), "1", "{scrape}\n{log}");
    assert!(!scrape.contains("wifi_network_up"), "{scrape}");
}

/// No wl and no nvram: a router without Broadcom radios, not a failure.
#[test]
fn no_wl_at_all_is_not_a_failure() {
    let dir = merlin_with_wl(None, "auto", "bin/no-such-nvram");
    std::fs::remove_file(dir.path().join("bin/wl")).unwrap();
    let (scrape, log) = once(dir.path());
    assert_eq!(wireless_success(&scrape), "1", "{scrape}\n{log}");
    assert!(!log.contains("collector wireless failed"), "{log}");
}

/// A serving exporter logs a persisting crash once, not per scrape, and
/// its end once.
#[test]
fn a_persisting_crash_is_logged_once() {
    let dir = merlin_with_wl(Some("#!/bin/sh\nkill -SEGV $$\n"), "wl", "bin/nvram");
    let cfg = dir.path().join("ap-exporter.toml");
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.insert_str(0, "listen = [\"127.0.0.1:0\"]\n");
    std::fs::write(&cfg, text).unwrap();
    let mut exp = Exporter::start(&cfg, dir.path());
    let addr = exp.wait_listening();
    for _ in 0..3 {
        let scrape = get(addr, "/metrics").text();
        assert_eq!(wireless_success(&scrape), "0", "{scrape}");
    }
    // The fixture's wl again: the collector recovers.
    std::fs::rename(dir.path().join("bin/wl.real"), dir.path().join("bin/wl")).unwrap();
    let scrape = get(addr, "/metrics").text();
    assert_eq!(wireless_success(&scrape), "1", "{scrape}");
    let log = exp.drain_log();
    assert_eq!(log.matches("killed by signal 11").count(), 1, "{log}");
    exp.signal(libc::SIGTERM);
    assert_eq!(exp.wait_exit(Duration::from_secs(10)), Some(0));
}
