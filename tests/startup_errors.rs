//! The errors a person meets when the exporter cannot start, triggered as a
//! user would: each is printed once, names the config file and the address,
//! says why and how to fix it. Also the `":PORT"` listen form.

mod common;

use common::*;
use std::net::{SocketAddr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output};
use std::time::Duration;

fn assert_root() {
    // SAFETY: geteuid has no preconditions.
    assert_eq!(unsafe { libc::geteuid() }, 0, "these tests switch users and make network namespaces: run as root");
}

fn run(config: &std::path::Path) -> Output {
    let mut child = Command::new(exporter_bin())
        .arg("--config")
        .arg(config)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A start-up error ends the process at once; one that starts is a bug here.
    for _ in 0..500 {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    panic!("the exporter did not stop within 10 s: {}", String::from_utf8_lossy(&out.stderr));
}

/// The one line of stderr that holds `needle`, checked to be the only one.
fn the_line(out: &Output, needle: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| l.contains(needle)).collect();
    assert_eq!(lines.len(), 1, "{needle:?} printed {} times:\n{stderr}", lines.len());
    lines[0].to_string()
}

#[test]
fn a_privileged_port_names_root_and_the_capability() {
    assert_root();
    let dir = TempDir::new("port80");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let cfg = write_config(dir.path(), "listen = [\"127.0.0.1:80\"]\n");
    std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o644)).unwrap();
    // A namespace of its own, where ports below 1024 are privileged whatever
    // this machine's sysctl says and nothing else holds port 80; then the
    // exporter runs as nobody, as a user who forgot sudo would.
    let script = format!(
        "echo 1024 > /proc/sys/net/ipv4/ip_unprivileged_port_start && ip link set lo up && \
         exec setpriv --reuid=65534 --regid=65534 --clear-groups {} --config {}",
        exporter_bin().display(),
        cfg.display()
    );
    let out = Command::new("unshare").args(["--net", "sh", "-c", &script]).output().unwrap();
    let line = the_line(&out, "cannot listen");
    assert_eq!(
        line,
        format!(
            "ap-exporter: {}: cannot listen on 127.0.0.1:80: Permission denied (os error 13): ports below 1024 \
             need root or the CAP_NET_BIND_SERVICE capability; fix: run the exporter as root, or listen on a port \
             from 1024 up (9100 is the usual one)",
            cfg.display()
        )
    );
}

#[test]
fn an_address_in_use_names_the_program_holding_it() {
    let dir = TempDir::new("inuse");
    let holder = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = holder.local_addr().unwrap();
    let cfg = write_config(dir.path(), &format!("listen = [\"{addr}\"]\n[collectors]\nwireless = false\n"));
    let me = std::process::id();
    let comm = std::fs::read_to_string("/proc/self/comm").unwrap().trim().to_string();
    let line = the_line(&run(&cfg), "cannot listen");
    assert_eq!(
        line,
        format!(
            "ap-exporter: {}: cannot listen on {addr}: in use by pid {me} ({comm}); fix: stop that program, or \
             choose another port in listen",
            cfg.display()
        )
    );
}

#[test]
fn a_second_exporter_is_told_the_first_is_running() {
    let dir = TempDir::new("twice");
    let cfg = write_config(dir.path(), "listen = [\"127.0.0.1:0\"]\n[collectors]\nwireless = false\n");
    let mut first = Exporter::start(&cfg, dir.path());
    let addr = first.wait_listening();
    let second = dir.path().join("second.toml");
    std::fs::write(&second, format!("listen = [\"{addr}\"]\n[collectors]\nwireless = false\n")).unwrap();
    let line = the_line(&run(&second), "cannot listen");
    assert!(
        line.contains(&format!(
            "cannot listen on {addr}: in use by pid {} (ap-exporter): the exporter is running already; fix: stop \
             that one first",
            first.pid()
        )),
        "{line}"
    );
    assert!(first.alive());
}

#[test]
fn a_missing_config_file_says_no_such_file() {
    let dir = TempDir::new("nocfg");
    let missing = dir.path().join("ap-exporter.toml");
    for args in [&["--config"][..], &["--check-config", "--config"], &["--diagnose", "--config"]] {
        let out = Command::new(exporter_bin()).args(args).arg(&missing).output().unwrap();
        let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(all.contains(&format!("{}: cannot read config: no such file", missing.display())), "{args:?}: {all}");
        assert!(!all.contains("entity not found"), "{args:?}: {all}");
        assert_eq!(out.status.code(), Some(1), "{args:?}: {all}");
    }
}

/// Whether this machine's kernel has IPv6 on loopback.
fn has_ipv6() -> bool {
    TcpListener::bind("[::1]:0").is_ok()
}

#[test]
fn colon_port_listens_on_every_address_of_both_families() {
    let dir = TempDir::new("colon");
    // A port that was free a moment ago; ":0" would give each family its own.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let cfg = write_config(dir.path(), &format!("listen = [\":{port}\"]\n[collectors]\nwireless = false\n"));
    let mut exp = Exporter::start(&cfg, dir.path());
    exp.wait_listening();
    let v4: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    wait_until_serving(v4, Duration::from_secs(10));
    assert_eq!(get(v4, "/metrics?collect[]=load").status, 200);
    if has_ipv6() {
        let v6: SocketAddr = format!("[::1]:{port}").parse().unwrap();
        exp.wait_for(&format!("listening on [::]:{port}"), Duration::from_secs(10));
        assert_eq!(get(v6, "/metrics?collect[]=load").status, 200);
    } else {
        exp.wait_for("this kernel has no IPv6", Duration::from_secs(10));
    }
    assert!(exp.alive());
}
