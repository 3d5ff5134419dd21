//! Attacks on the filesystem collector from the review of issue 22, kept
//! as tests: odd bytes and sizes in `/proc/mounts`.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// A config with only the filesystem collector, over `proc` and `root`.
fn filesystem_only(dir: &Path) {
    let mut cfg = String::from("listen = [\"127.0.0.1:0\"]\n");
    cfg.push_str(&collectors_only(&["filesystem"]));
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

/// The processes whose parent is `pid` (zombies included), from /proc.
fn children_of(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else { continue };
        let Some((_, rest)) = stat.rsplit_once(')') else { continue };
        if rest.split_whitespace().nth(1).and_then(|p| p.parse().ok()) == Some(pid) {
            out.extend(e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()));
        }
    }
    out
}

/// A child parked on a hung FUSE mount, then the filesystem collector
/// turned off by a reload: when the mount lets go the child exits, and it
/// must be reaped although no scrape asks the collector again (else it
/// stays a zombie for as long as the exporter runs).
#[test]
fn a_parked_child_is_reaped_after_a_reload_turns_filesystem_off() {
    let tmp = TempDir::new("rv-reload-off");
    for d in ["proc", "root/mnt/hung"] {
        std::fs::create_dir_all(tmp.path().join(d)).unwrap();
    }
    std::fs::write(tmp.path().join("proc/mounts"), "hung /mnt/hung fuse rw 0 0\n").unwrap();
    filesystem_only(tmp.path());
    // A `sleep` holds the FUSE connection; killing it lets statfs return.
    let script = format!(
        "set -e\nexec 3<>/dev/fuse\nmount -t fuse -o fd=3,rootmode=40000,user_id=0,group_id=0 hung root/mnt/hung\n\
         (sleep 1000 & echo $! > holder.pid)\nexec 3<&-\nexec {} --config config.toml",
        exporter_bin().display()
    );
    let mut cmd = Command::new("unshare");
    cmd.args(["-rm", "sh", "-c", &script]).current_dir(tmp.path());
    let mut exp = Exporter::spawn(&mut cmd);
    let addr = exp.wait_listening();
    let r = get(addr, "/metrics");
    assert!(r.text().contains("mountpoint=\"/mnt/hung\"} 1"), "{}", r.text());
    assert_eq!(children_of(exp.pid()).len(), 1, "the parked child");
    let cfg = std::fs::read_to_string(tmp.path().join("config.toml")).unwrap();
    std::fs::write(tmp.path().join("config.toml"), cfg.replace("filesystem = true\n", "filesystem = false\n")).unwrap();
    exp.signal(libc::SIGHUP);
    exp.wait_for("reloaded", std::time::Duration::from_secs(20));
    let holder: i32 = std::fs::read_to_string(tmp.path().join("holder.pid")).unwrap().trim().parse().unwrap();
    // SAFETY: signalling the sleep this test's script started.
    assert_eq!(unsafe { libc::kill(holder, libc::SIGKILL) }, 0);
    // Generous: this only waits for the kernel to let go of the mount.
    let end = Instant::now() + std::time::Duration::from_secs(30);
    while !children_of(exp.pid()).is_empty() {
        assert!(Instant::now() < end, "left a zombie: {:?}", children_of(exp.pid()));
        assert_eq!(get(addr, "/metrics").status, 200);
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    exp.signal(libc::SIGTERM);
    assert_eq!(exp.wait_exit(std::time::Duration::from_secs(20)), Some(0), "{}", exp.drain_log());
}

/// A hung FUSE mount that the config leaves out, mounted over a tmpfs: the
/// tmpfs is listed first, and its mount point now leads to the FUSE mount,
/// so its statfs hangs too. It must be asked in a child, not inline (which
/// would stall the only thread: here `--once` would never end).
#[test]
fn a_tmpfs_under_an_excluded_hung_mount_on_the_same_point_is_not_asked_inline() {
    let tmp = TempDir::new("rv-same-point");
    for d in ["proc", "root/mnt/x"] {
        std::fs::create_dir_all(tmp.path().join(d)).unwrap();
    }
    std::fs::write(tmp.path().join("proc/mounts"), "under /mnt/x tmpfs rw 0 0\nhung /mnt/x fuse rw 0 0\n").unwrap();
    filesystem_only(tmp.path());
    let cfg = std::fs::read_to_string(tmp.path().join("config.toml")).unwrap();
    std::fs::write(tmp.path().join("config.toml"), format!("{cfg}[filesystem]\nfs_types_exclude = [\"fuse\"]\n"))
        .unwrap();
    // `timeout` turns a hang into a failure here instead of a stuck test.
    let script = format!(
        "set -e\nmount -t tmpfs -o size=1m under root/mnt/x\nexec 3<>/dev/fuse\n\
         mount -t fuse -o fd=3,rootmode=40000,user_id=0,group_id=0 hung root/mnt/x\n\
         timeout -s KILL 60 {} --once --config config.toml; echo \"once exit $?\"\n",
        exporter_bin().display()
    );
    let out = Command::new("unshare").args(["-rm", "sh", "-c", &script]).current_dir(tmp.path()).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("once exit 0\n"), "{text}");
    let under = "node_filesystem_device_error{device=\"under\",fstype=\"tmpfs\",mountpoint=\"/mnt/x\"} 1";
    assert!(text.contains(under), "{text}");
}
