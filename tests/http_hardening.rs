//! The one thread against clients and sources that try to hold it, each
//! case reproduced against the real binary on loopback: a slow `wl`, bodies
//! larger than a router's socket buffers read slowly, keep-alive clients
//! after the allow list narrows, dual-stack listeners, a full fd table, the
//! open-file limit at start, and a cap filled with requests being answered.

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Sends a request on a new connection without reading the answer yet.
fn send(addr: SocketAddr, path: &str) -> std::net::TcpStream {
    let mut s = connect(addr);
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes()).unwrap();
    s
}

#[test]
fn a_slow_wl_holds_neither_other_scrapes_nor_sigterm() {
    // 1.5 s per wl call and about a dozen calls: 18 s for one wireless scrape.
    let (_dir, mut exp, addr) = start_slow_wl("1.5", "collector_timeout_seconds = 3");
    let started = Instant::now();
    let mut full = send(addr, "/metrics");
    // Meanwhile a scrape without wireless is answered at once.
    std::thread::sleep(Duration::from_millis(200));
    let t = Instant::now();
    let quick = get(addr, "/metrics?collect[]=load");
    assert_eq!(quick.status, 200);
    assert!(t.elapsed() < Duration::from_secs(2), "collect[]=load waited {:?} behind wl", t.elapsed());
    // The full scrape ends at the budget, with wireless failed and the rest there.
    let r = read_response(&mut full, false);
    let text = r.text();
    assert!(started.elapsed() < Duration::from_secs(8), "took {:?}", started.elapsed());
    assert!(text.contains("node_scrape_collector_success{collector=\"wireless\"} 0"), "{text}");
    assert!(text.contains("node_scrape_collector_success{collector=\"netdev\"} 1"), "{text}");
    assert!(text.contains("node_network_receive_bytes_total"));
    exp.wait_for("still running after 3 s", Duration::from_secs(5));
    // SIGTERM in the middle of another slow scrape acts within a second or so.
    let _pending = send(addr, "/metrics");
    std::thread::sleep(Duration::from_millis(300));
    let t = Instant::now();
    exp.signal(libc::SIGTERM);
    assert_eq!(exp.wait_exit(Duration::from_secs(5)), Some(0));
    assert!(t.elapsed() < Duration::from_millis(1500), "SIGTERM took {:?}", t.elapsed());
}

#[test]
fn the_cap_answers_503_only_when_every_slot_is_being_answered() {
    let (_dir, mut exp, addr) = start_slow_wl("1", "max_connections = 2\ncollector_timeout_seconds = 2");
    let mut waiting: Vec<_> = (0..2).map(|_| send(addr, "/metrics")).collect();
    std::thread::sleep(Duration::from_millis(300));
    // Both slots wait for the wireless child: nothing to evict.
    assert_eq!(get(addr, "/metrics?collect[]=load").status, 503);
    for s in &mut waiting {
        assert_eq!(read_response(s, false).status, 200);
    }
    // Idle or slow clients, in contrast, give way to a newcomer at once.
    let _idle: Vec<_> = (0..2).map(|_| connect(addr)).collect();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(get(addr, "/metrics?collect[]=load").status, 200);
    assert!(exp.alive());
}

#[test]
fn a_large_body_read_slowly_is_sent_whole() {
    // About 7 MB of metrics (more than the kernel buffers on both sides of a
    // loopback connection hold), a 1 s timeout, and a client that takes a
    // few seconds to read it: the deadline moves with every write.
    let dir = TempDir::new("large-body");
    std::fs::create_dir_all(dir.path().join("proc/net")).unwrap();
    let mut dev = String::from("Inter-|   Receive\n face |bytes\n");
    for i in 0..8000 {
        dev.push_str(&format!("  veth{i:05}: 1234567 2 0 0 0 0 0 0 3 4 0 0 0 0 0 0\n"));
    }
    std::fs::write(dir.path().join("proc/net/dev"), dev).unwrap();
    std::fs::write(dir.path().join("proc/loadavg"), "0.10 0.20 0.30 1/50 123\n").unwrap();
    let cfg = write_config(
        dir.path(),
        "listen = [\"127.0.0.1:0\"]\nconnection_timeout_seconds = 1\n[collectors]\nwireless = false\nconntrack = false\n[paths]\nprocfs = \"proc\"\n",
    );
    let mut exp = Exporter::start(&cfg, dir.path());
    let addr = exp.wait_listening();
    let mut s = send(addr, "/metrics?collect[]=netdev");
    // A small receive buffer, as on a router, and slow reads.
    let size: libc::c_int = 32 * 1024;
    // SAFETY: setsockopt on our socket with a pointer to a c_int of the stated size.
    unsafe {
        use std::os::fd::AsRawFd;
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&size as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
    let mut got = Vec::new();
    let mut chunk = [0u8; 64 * 1024];
    let started = Instant::now();
    loop {
        match s.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&chunk[..n]),
            Err(e) => panic!("read failed after {} bytes: {e}", got.len()),
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let text = String::from_utf8(got).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let length: usize = head.lines().find_map(|l| l.strip_prefix("Content-Length: ")).unwrap().trim().parse().unwrap();
    assert!(length > 6_000_000, "body of {length} bytes is too small to test anything");
    assert!(started.elapsed() > Duration::from_secs(2), "the read was not slow: {:?}", started.elapsed());
    assert_eq!(body.len(), length, "body cut short");
    assert!(body.contains("veth07999"));
    assert!(exp.alive());
}

#[test]
fn narrowing_allow_closes_open_keep_alive_connections() {
    let dir = TempDir::new("narrow");
    let proc_root = fixtures().join("modern_openwrt/proc").display().to_string();
    let cfg_text = |allow: &str| {
        format!(
            "listen = [\"127.0.0.1:0\"]\nallow = [{allow}]\n[collectors]\nwireless = false\n[paths]\nprocfs = {proc_root:?}\n"
        )
    };
    let cfg = write_config(dir.path(), &cfg_text("\"127.0.0.0/8\""));
    let mut exp = Exporter::start(&cfg, dir.path());
    let addr = exp.wait_listening();
    let mut s = connect(addr);
    let ask = b"GET /metrics?collect[]=load HTTP/1.1\r\nHost: x\r\n\r\n";
    s.write_all(ask).unwrap();
    assert_eq!(read_response(&mut s, false).status, 200);
    std::fs::write(&cfg, cfg_text("\"10.0.0.0/8\"")).unwrap();
    exp.signal(libc::SIGHUP);
    exp.wait_for("reloaded", Duration::from_secs(10));
    // The old connection is closed, not served.
    let _ = s.write_all(ask);
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    assert!(!String::from_utf8_lossy(&rest).contains("200 OK"), "an old connection kept its access");
    assert_eq!(get(addr, "/metrics").status, 403);
}

#[test]
fn ipv4_and_ipv6_wildcards_share_a_port() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = TempDir::new("dual");
    let proc_root = fixtures().join("modern_openwrt/proc").display().to_string();
    let cfg = write_config(
        dir.path(),
        &format!(
            "listen = [\"0.0.0.0:{port}\", \"[::]:{port}\"]\n[collectors]\nwireless = false\n[paths]\nprocfs = {proc_root:?}\n"
        ),
    );
    let mut exp = Exporter::start(&cfg, dir.path());
    exp.wait_for(&format!("listening on [::]:{port}"), Duration::from_secs(10));
    assert_eq!(get(SocketAddr::from(([127, 0, 0, 1], port)), "/metrics").status, 200);
    assert_eq!(get(format!("[::1]:{port}").parse().unwrap(), "/metrics").status, 200);
}

#[test]
fn max_connections_beyond_the_open_file_limit_is_refused_at_start() {
    use std::os::unix::process::CommandExt;
    let dir = TempDir::new("nofile");
    let cfg = write_config(dir.path(), "listen = [\"127.0.0.1:0\"]\nmax_connections = 1024\n");
    let mut cmd = std::process::Command::new(exporter_bin());
    cmd.args(["--config", cfg.to_str().unwrap()]);
    // SAFETY: setrlimit between fork and exec, with a valid local.
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit { rlim_cur: 256, rlim_max: 256 };
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
            Ok(())
        });
    }
    cmd.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped());
    let mut exp = Exporter::adopt(cmd.spawn().unwrap());
    // An exporter that starts anyway would serve forever: bound the wait.
    let line = exp.wait_for("ulimit -n", Duration::from_secs(10));
    assert!(line.contains("the limit (ulimit -n) is 256"), "{line}");
    assert_eq!(exp.wait_exit(Duration::from_secs(10)), Some(1));
}

#[test]
fn a_full_fd_table_pauses_accepting_instead_of_spinning() {
    let (_dir, mut exp, addr) = start_on_fixture("");
    let pid = exp.pid();
    let fds_open = std::fs::read_dir(format!("/proc/{pid}/fd")).unwrap().count() as u64;
    // Leave no descriptor free for a new connection.
    set_nofile(pid, fds_open);
    let clients: Vec<_> = (0..20).filter_map(|_| std::net::TcpStream::connect(addr).ok()).collect();
    let cpu_before = cpu_ticks(pid);
    std::thread::sleep(Duration::from_secs(3));
    let cpu = cpu_ticks(pid) - cpu_before;
    // 3 s at 100 Hz: a spinning loop would use about 300 ticks.
    assert!(cpu < 60, "the loop used {cpu} ticks in 3 s while out of descriptors");
    let warnings = exp.wait_for("accept failed", Duration::from_secs(2));
    assert!(warnings.contains("pausing new connections"), "{warnings}");
    drop(clients);
    set_nofile(pid, 1024);
    wait_until_serving(addr, Duration::from_secs(5));
    let log = exp.drain_log();
    let lines = log.lines().filter(|l| l.contains("accept failed")).count();
    assert!(lines <= 2, "accept failures were logged {lines} times:\n{log}");
}

#[test]
fn an_idle_exporter_sleeps_before_its_first_scrape() {
    let (_dir, exp, _addr) = start_on_fixture("");
    let pid = exp.pid();
    let before = cpu_ticks(pid);
    std::thread::sleep(Duration::from_secs(2));
    let used = cpu_ticks(pid) - before;
    assert!(used < 20, "an idle exporter used {used} ticks in 2 s");
}

fn set_nofile(pid: u32, n: u64) {
    let lim = libc::rlimit { rlim_cur: n, rlim_max: 4096 };
    // SAFETY: prlimit on a child process of ours with a valid new limit and no old-limit pointer.
    let r = unsafe { libc::prlimit(pid as libc::pid_t, libc::RLIMIT_NOFILE, &lim, std::ptr::null_mut()) };
    assert_eq!(r, 0, "prlimit: {}", std::io::Error::last_os_error());
}

fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = stat.rsplit_once(')').unwrap().1;
    let f: Vec<&str> = after.split_whitespace().collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

#[test]
fn a_collector_child_neither_holds_the_port_nor_outlives_the_exporter() {
    let (dir, mut exp, addr) = start_slow_wl("30", "collector_timeout_seconds = 60");
    let _pending = send(addr, "/metrics");
    // Wait until the child runs the (hanging) wl.
    // The fake wl runs in the fixture directory as `sh bin/wl ...`.
    let wl_running = || {
        std::fs::read_dir("/proc").unwrap().filter_map(|e| e.ok()).any(|e| {
            std::fs::read_link(e.path().join("cwd")).is_ok_and(|cwd| cwd == dir.path())
                && std::fs::read_to_string(e.path().join("cmdline")).is_ok_and(|c| c.contains("bin/wl"))
        })
    };
    let end = Instant::now() + Duration::from_secs(10);
    while !wl_running() {
        assert!(Instant::now() < end, "the wireless child never started wl");
        std::thread::sleep(Duration::from_millis(50));
    }
    exp.signal(libc::SIGKILL);
    let _ = exp.wait_exit(Duration::from_secs(5));
    // The port is free at once (no child kept the listener), and the child
    // and its wl are gone soon after.
    assert!(std::net::TcpListener::bind(addr).is_ok(), "a child kept the exporter's port");
    let end = Instant::now() + Duration::from_secs(5);
    while wl_running() {
        assert!(Instant::now() < end, "wl outlived the exporter by 5 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}
