//! Log lines reach syslog as RFC 3164 datagrams (facility daemon), through
//! `log.target = "syslog"` and through `--syslog`, which the init scripts
//! use because Entware's rc.func throws stderr away.

mod common;

use common::*;
use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::Duration;

fn receive_until(sock: &UnixDatagram, needle: &str) -> String {
    let mut buf = [0u8; 2048];
    let mut seen = Vec::new();
    loop {
        match sock.recv(&mut buf) {
            Ok(n) => {
                let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
                if msg.contains(needle) {
                    return msg;
                }
                seen.push(msg);
            }
            Err(e) => panic!("no syslog line with {needle:?} ({e}); got {seen:?}"),
        }
    }
}

#[test]
fn log_lines_go_to_the_syslog_socket() {
    for via_flag in [false, true] {
        let dir = TempDir::new("syslog");
        let socket = dir.path().join("log.sock");
        let sock = UnixDatagram::bind(&socket).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let target = if via_flag { "stderr" } else { "syslog" };
        let cfg = write_config(
            dir.path(),
            &format!(
                "listen = [\"127.0.0.1:0\"]\n[log]\ntarget = \"{target}\"\nsyslog_socket = {:?}\n[collectors]\nwireless = false\n[paths]\nprocfs = {:?}\n",
                socket.display().to_string(),
                fixtures().join("modern_openwrt/proc").display().to_string()
            ),
        );
        let mut cmd = Command::new(exporter_bin());
        cmd.arg("--config").arg(&cfg).stdout(Stdio::null()).stderr(Stdio::piped());
        if via_flag {
            cmd.arg("--syslog");
        }
        let mut exp = Exporter::adopt(cmd.spawn().unwrap());
        let line = receive_until(&sock, "listening on 127.0.0.1:");
        // <30> = facility daemon (3) * 8 + severity info (6).
        let prefix = format!("<30>ap-exporter[{}]: ", exp.child.id());
        assert!(line.starts_with(&prefix), "{line:?}");
        let addr: std::net::SocketAddr = line.rsplit("listening on ").next().unwrap().trim().parse().unwrap();
        assert_eq!(get(addr, "/metrics").status, 200);
        exp.signal(libc::SIGTERM);
        let bye = receive_until(&sock, "shutting down");
        assert!(bye.starts_with(&prefix));
        assert_eq!(exp.wait_exit(Duration::from_secs(10)), Some(0));
    }
}

#[test]
fn a_bad_config_at_start_reaches_dev_log_with_the_flag() {
    // Before the config is read only the default socket is known, so this
    // test stands in for syslogd at /dev/log itself (CI machines have none;
    // it needs root, as the whole suite does).
    let dev_log = std::path::Path::new("/dev/log");
    assert!(!dev_log.exists(), "a syslog daemon owns /dev/log here; this test needs it free");
    let sock = UnixDatagram::bind(dev_log).expect("bind /dev/log (run as root)");
    struct Unlink;
    impl Drop for Unlink {
        fn drop(&mut self) {
            let _ = std::fs::remove_file("/dev/log");
        }
    }
    let _unlink = Unlink;
    sock.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let dir = TempDir::new("syslog-bad");
    let cfg = write_config(dir.path(), "[collectors]\nnetdev = 3\n");
    let out = Command::new(exporter_bin()).arg("--config").arg(&cfg).arg("--syslog").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let line = receive_until(&sock, "not starting: ");
    // <27> = facility daemon (3) * 8 + severity error (3); the message still
    // names the file, line and column.
    assert!(line.starts_with("<27>ap-exporter["), "{line:?}");
    assert!(line.contains("ap-exporter.toml:2:10: invalid type"), "{line:?}");
}
