//! `--supervise` (Entware's respawn): the exporter runs as the child of a
//! supervisor that starts it again when it dies, passes SIGHUP on, and
//! stops with it. Driven as rc.func and a crash would: kill -9 of the
//! child, SIGTERM to every process of the name at once (rc.func's stop),
//! SIGTERM to the supervisor alone, SIGHUP.

mod common;

use common::*;
use std::process::Command;
use std::time::{Duration, Instant};

/// The pids whose parent is `parent`, from /proc.
fn children_of(parent: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // "pid (comm) state ppid ...": comm may hold spaces, so split after its ')'.
        let Some(rest) = stat.rsplit_once(") ").map(|(_, r)| r) else { continue };
        let mut fields = rest.split(' ');
        let state = fields.next();
        if state != Some("Z") && fields.next().and_then(|p| p.parse().ok()) == Some(parent) {
            out.push(pid);
        }
    }
    out
}

/// Waits until the supervisor has exactly one child other than `not`, and returns it.
fn the_child(parent: u32, not: Option<u32>, within: Duration) -> u32 {
    let end = Instant::now() + within;
    loop {
        let kids: Vec<u32> = children_of(parent).into_iter().filter(|&p| Some(p) != not).collect();
        if kids.len() == 1 {
            return kids[0];
        }
        assert!(Instant::now() < end, "no single child of {parent} within {within:?}: {kids:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat.rsplit_once(") ").is_some_and(|(_, r)| r.starts_with('Z')),
    }
}

fn kill(pid: u32, sig: i32) {
    // SAFETY: signalling a process this test started (or its child).
    assert_eq!(unsafe { libc::kill(pid as i32, sig) }, 0, "kill {pid} {sig}");
}

struct Supervised {
    exp: Exporter,
    addr: std::net::SocketAddr,
    cfg: std::path::PathBuf,
    _dir: TempDir,
}

fn start(tag: &str) -> Supervised {
    let dir = TempDir::new(tag);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let proc_root = fixtures().join("modern_openwrt/proc");
    let cfg = write_config(
        dir.path(),
        &format!(
            "listen = [\"127.0.0.1:{port}\"]\n[collectors]\nwireless = false\n[paths]\nprocfs = {:?}\n",
            proc_root.display().to_string()
        ),
    );
    let mut exp = Exporter::spawn(Command::new(exporter_bin()).arg("--supervise").arg("--config").arg(&cfg));
    let addr = exp.wait_listening();
    Supervised { exp, addr, cfg, _dir: dir }
}

fn status(cfg: &std::path::Path) -> String {
    let out = Command::new(exporter_bin()).arg("--status").arg("--config").arg(cfg).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn a_killed_exporter_is_back_within_seconds_and_status_says_so() {
    let mut s = start("sup-kill");
    let parent = s.exp.pid();
    let first = the_child(parent, None, Duration::from_secs(10));
    assert!(status(&s.cfg).ends_with("collectors failing; supervised, 0 restarts"), "{}", status(&s.cfg));
    kill(first, libc::SIGKILL);
    let line = s.exp.wait_for("was killed by signal 9", Duration::from_secs(10));
    assert!(line.contains(&format!("the exporter (pid {first}) was killed by signal 9; starting it again in 1 s")));
    let second = the_child(parent, Some(first), Duration::from_secs(10));
    s.exp.wait_for("listening on", Duration::from_secs(10));
    assert_eq!(
        get(s.addr, "/metrics").text().lines().find(|l| l.starts_with("ap_exporter_restarts_total ")),
        Some("ap_exporter_restarts_total 1")
    );
    assert!(status(&s.cfg).ends_with("; supervised, 1 restarts"), "{}", status(&s.cfg));
    // SIGTERM to the supervisor alone (kill PID) stops both.
    kill(parent, libc::SIGTERM);
    assert_eq!(s.exp.wait_exit(Duration::from_secs(15)), Some(0));
    let end = Instant::now() + Duration::from_secs(5);
    while !gone(second) {
        assert!(Instant::now() < end, "the child {second} outlived its supervisor");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigterm_to_both_at_once_stops_both_without_a_restart() {
    // rc.func's stop: every process named ap-exporter gets SIGTERM.
    let mut s = start("sup-stop");
    let parent = s.exp.pid();
    let child = the_child(parent, None, Duration::from_secs(10));
    kill(child, libc::SIGTERM);
    kill(parent, libc::SIGTERM);
    assert_eq!(s.exp.wait_exit(Duration::from_secs(15)), Some(0));
    assert!(gone(child));
    let log = s.exp.drain_log();
    assert!(!log.contains("starting it again"), "{log}");
    // A child that stops cleanly on its own (told by someone else) ends the supervisor too.
    let mut s = start("sup-stop-child");
    let child = the_child(s.exp.pid(), None, Duration::from_secs(10));
    kill(child, libc::SIGTERM);
    assert_eq!(s.exp.wait_exit(Duration::from_secs(15)), Some(0));
}

#[test]
fn sighup_reaches_the_exporter_and_a_crash_loop_backs_off() {
    let mut s = start("sup-hup");
    let parent = s.exp.pid();
    let child = the_child(parent, None, Duration::from_secs(10));
    // rc.func's reconfigure: SIGHUP to the supervisor reloads the exporter, same pid.
    std::fs::write(&s.cfg, format!("listen = [\"{}\"]\n[collectors]\nwireless = false\nload = false\n", s.addr))
        .unwrap();
    kill(parent, libc::SIGHUP);
    s.exp.wait_for("reloaded", Duration::from_secs(10));
    assert_eq!(the_child(parent, None, Duration::from_secs(1)), child);
    // A config that cannot start (broken while it ran): each restart fails,
    // and the delays double.
    std::fs::write(&s.cfg, "max_connections = 0\n").unwrap();
    kill(child, libc::SIGKILL);
    s.exp.wait_for("starting it again in 1 s", Duration::from_secs(10));
    s.exp.wait_for("exited with status 1; starting it again in 2 s", Duration::from_secs(10));
    // A SIGHUP while it waits (the config fixed) starts it at once.
    std::fs::write(&s.cfg, format!("listen = [\"{}\"]\n[collectors]\nwireless = false\n", s.addr)).unwrap();
    kill(parent, libc::SIGHUP);
    let end = Instant::now() + Duration::from_secs(3);
    while std::net::TcpStream::connect(s.addr).is_err() {
        assert!(Instant::now() < end, "not started again at once after SIGHUP");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(get(s.addr, "/metrics?collect[]=load").status, 200);
    kill(parent, libc::SIGTERM);
    assert_eq!(s.exp.wait_exit(Duration::from_secs(15)), Some(0));
}

/// The first exporter cannot start (its port is taken): the supervisor
/// does not restart it forever, but exits with its status, the exporter's
/// error said once.
#[test]
fn a_first_start_that_fails_is_not_restarted() {
    let dir = TempDir::new("sup-first");
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let cfg = write_config(
        dir.path(),
        &format!("listen = [\"{}\"]\n[collectors]\nwireless = false\n", holder.local_addr().unwrap()),
    );
    let out = Command::new(exporter_bin()).arg("--supervise").arg("--config").arg(&cfg).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.matches("cannot listen on").count(), 1, "{stderr}");
    assert!(!stderr.contains("starting it again"), "{stderr}");
}

/// Started by a parent that ignores SIGCHLD (an ignored signal is inherited
/// across exec, and would reap the child unseen), the supervisor still sees
/// its child die and starts it again.
#[test]
fn an_inherited_ignored_sigchld_does_not_blind_the_supervisor() {
    use std::os::unix::process::CommandExt;
    let dir = TempDir::new("sup-ign");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let cfg = write_config(dir.path(), &format!("listen = [\"127.0.0.1:{port}\"]\n[collectors]\nwireless = false\n"));
    let mut cmd = Command::new(exporter_bin());
    cmd.arg("--supervise").arg("--config").arg(&cfg);
    // SAFETY: signal(2) is async-signal-safe, as pre_exec requires.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGCHLD, libc::SIG_IGN);
            Ok(())
        });
    }
    let mut exp = Exporter::spawn(&mut cmd);
    exp.wait_listening();
    let first = the_child(exp.pid(), None, Duration::from_secs(10));
    kill(first, libc::SIGKILL);
    exp.wait_for("starting it again in 1 s", Duration::from_secs(10));
    the_child(exp.pid(), Some(first), Duration::from_secs(10));
}

/// A supervisor killed outright takes its exporter with it: no exporter
/// runs on unsupervised, holding the port a restarted service needs.
#[test]
fn the_exporter_dies_with_its_supervisor() {
    let mut s = start("sup-die");
    let parent = s.exp.pid();
    let child = the_child(parent, None, Duration::from_secs(10));
    kill(parent, libc::SIGKILL);
    assert_eq!(s.exp.wait_exit(Duration::from_secs(10)), None, "killed, no exit status");
    let end = Instant::now() + Duration::from_secs(10);
    while !gone(child) {
        assert!(Instant::now() < end, "the exporter {child} outlived its supervisor");
        std::thread::sleep(Duration::from_millis(20));
    }
}
