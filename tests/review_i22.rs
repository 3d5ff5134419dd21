//! Attacks on the filesystem collector from the review of issue 22, kept
//! as tests: odd bytes and sizes in `/proc/mounts`.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// A config with only the filesystem collector, over `proc` and `root`.
fn filesystem_only(dir: &Path) {
    let mut cfg = String::from("listen = [\"127.0.0.1:0\"]\n[collectors]\n");
    for c in ["arp", "conntrack", "cpu", "firmware", "hwmon", "load", "meminfo", "netclass", "netdev", "stat"] {
        cfg.push_str(&format!("{c} = false\n"));
    }
    cfg.push_str("textfile = false\nthermal_zone = false\ntime = false\nuname = false\nwireless = false\n");
    cfg.push_str("[paths]\nprocfs = \"proc\"\nrootfs = \"root\"\n");
    std::fs::write(dir.join("config.toml"), cfg).unwrap();
}

/// `--once` over a fake root whose `proc/mounts` is `mounts`.
fn once(tag: &str, mounts: &[u8]) -> String {
    let tmp = TempDir::new(tag);
    for d in ["proc", "root/mnt/ok"] {
        std::fs::create_dir_all(tmp.path().join(d)).unwrap();
    }
    std::fs::write(tmp.path().join("proc/mounts"), mounts).unwrap();
    filesystem_only(tmp.path());
    let out = Command::new(exporter_bin())
        .args(["--once", "--config", "config.toml"])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

const OK: &str = "node_filesystem_device_error{device=\"ok\",fstype=\"tmpfs\",mountpoint=\"/mnt/ok\"} 0";

/// The kernel escapes only space, tab, newline and backslash in a mount
/// point: a USB disk whose label is Latin-1 (Merlin mounts it at
/// /tmp/mnt/LABEL) puts raw non-UTF-8 bytes in /proc/mounts. That one
/// mount must not hide all the others.
#[test]
fn a_mount_point_that_is_not_utf8_hides_no_other_mount() {
    let text = once("rv-latin1", b"/dev/sda1 /tmp/mnt/Donn\xe9es vfat rw 0 0\nok /mnt/ok tmpfs rw 0 0\n");
    assert!(text.contains(OK), "{text}");
    assert!(text.contains("node_scrape_collector_success{collector=\"filesystem\"} 1"), "{text}");
}
