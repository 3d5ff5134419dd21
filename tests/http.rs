//! HTTP behaviour of the real binary on loopback: status codes, keep-alive,
//! slow clients, the connection cap, malformed input, reloads and shutdown.

mod common;

use common::*;
use std::io::Write;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// A config serving the modern fixture on an ephemeral loopback port.
fn config(extra: &str) -> String {
    let proc_root = fixtures().join("modern_openwrt/proc");
    format!(
        "listen = [\"127.0.0.1:0\"]\n{extra}\n[collectors]\nwireless = false\n[paths]\nprocfs = {:?}\n",
        proc_root.display().to_string()
    )
}

fn start(extra: &str) -> (TempDir, Exporter, SocketAddr) {
    start_on_fixture(extra)
}

#[test]
fn metrics_landing_page_and_error_statuses() {
    let (_dir, mut exp, addr) = start("");
    let r = get(addr, "/metrics");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/plain; version=0.0.4; charset=utf-8"));
    let text = r.text();
    assert!(text.contains("node_network_receive_bytes_total{device=\"phy1-ap0\"} 98231740912"), "{text}");
    promtool_check(&text).unwrap();

    let r = get(addr, "/");
    assert_eq!(r.status, 200);
    assert!(r.text().contains("href=\"/metrics\""));

    assert_eq!(get(addr, "/nope").status, 404);
    let r = raw(addr, b"POST /metrics HTTP/1.1\r\nContent-Length: 2\r\n\r\nab");
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, HEAD"));
    assert_eq!(raw(addr, b"DELETE / HTTP/1.1\r\n\r\n").status, 405);
    assert_eq!(raw(addr, b"GARBAGE\x01\x02 / HTTP/1.1\r\n\r\n").status, 400);
    assert_eq!(raw(addr, b"GET /metrics HTTP/9.9\r\n\r\n").status, 400);
    let mut huge = b"GET /metrics HTTP/1.1\r\nX-Big: ".to_vec();
    huge.extend(std::iter::repeat_n(b'a', 64 * 1024));
    huge.extend_from_slice(b"\r\n\r\n");
    assert_eq!(raw(addr, &huge).status, 431);

    // HEAD: same headers, no body.
    let head = raw(addr, b"HEAD /metrics HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert_eq!(head.status, 200);
    assert!(head.header("content-length").unwrap().parse::<usize>().unwrap() > 1000);
    assert!(head.body.is_empty());
    assert!(exp.alive());
}

#[test]
fn collect_and_exclude_select_collectors() {
    let (_dir, _exp, addr) = start("");
    let only_load = get(addr, "/metrics?collect%5B%5D=load").text();
    assert!(only_load.contains("node_load1 1.52"));
    assert!(!only_load.contains("node_network_"));
    assert!(only_load.contains("node_scrape_collector_success{collector=\"load\"} 1"));
    assert!(!only_load.contains("collector=\"netdev\""));
    let two = get(addr, "/metrics?collect[]=load&collect[]=conntrack").text();
    assert!(two.contains("node_nf_conntrack_entries 457") && two.contains("node_load5"));
    let no_netdev = get(addr, "/metrics?exclude[]=netdev").text();
    assert!(no_netdev.contains("node_load1") && !no_netdev.contains("node_network_receive_"));
    let bad = get(addr, "/metrics?collect[]=bogus");
    assert_eq!(bad.status, 400);
    assert!(bad.text().contains("unknown collector \"bogus\""));
    assert_eq!(get(addr, "/metrics?collect[]=wireless").status, 400, "disabled collector");
    assert_eq!(get(addr, "/metrics?collect[]=load&exclude[]=netdev").status, 400);
}

#[test]
fn keep_alive_serves_two_requests_on_one_connection() {
    let (_dir, _exp, addr) = start("");
    let mut s = connect(addr);
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let a = read_response(&mut s, false);
    assert_eq!((a.status, a.header("connection")), (200, Some("keep-alive")));
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    assert_eq!(read_response(&mut s, false).status, 200);
    // Pipelined: two requests in one write.
    s.write_all(b"GET / HTTP/1.1\r\n\r\nGET /metrics?collect[]=load HTTP/1.1\r\nConnection: close\r\n\r\n").unwrap();
    assert_eq!(read_response(&mut s, false).status, 200);
    let last = read_response(&mut s, false);
    assert_eq!((last.status, last.header("connection")), (200, Some("close")));
    // HTTP/1.0 closes by default.
    let mut s = connect(addr);
    s.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    assert_eq!(read_response(&mut s, false).header("connection"), Some("close"));
}

#[test]
fn slow_client_does_not_delay_another_scrape() {
    let (_dir, mut exp, addr) = start("connection_timeout_seconds = 4");
    let mut slow = connect(addr);
    slow.write_all(b"GET /metrics HTTP/1.1\r\nHost: sl").unwrap();
    let started = Instant::now();
    assert_eq!(get(addr, "/metrics").status, 200);
    // Before the slow client's 4 s deadline: it did not hold the loop.
    assert!(started.elapsed() < Duration::from_millis(3500), "{:?}", started.elapsed());
    // After the deadline the slow connection is closed by the server.
    let mut buf = [0u8; 16];
    use std::io::Read;
    slow.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let closed_at = Instant::now();
    let n = slow.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "expected the server to close the slow connection");
    assert!(closed_at.elapsed() < Duration::from_secs(10));
    assert!(exp.alive());
}

#[test]
fn forbidden_addresses_get_403() {
    let (_dir, _exp, addr) = start("allow = [\"10.0.0.0/8\"]");
    let r = get(addr, "/metrics");
    assert_eq!(r.status, 403);
    assert!(!r.text().contains("node_"));
}

#[test]
fn malformed_and_abandoned_requests_never_kill_the_process() {
    let (_dir, mut exp, addr) = start("connection_timeout_seconds = 1");
    // Deterministic pseudo-random garbage.
    let mut x: u64 = 0x9e3779b97f4a7c15;
    for i in 0..200 {
        let mut s = connect(addr);
        let len = 1 + (i * 37) % 3000;
        let junk: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect();
        let _ = s.write_all(&junk);
        if i % 3 == 0 {
            let _ = s.write_all(b"\r\n\r\n");
        }
        // Sometimes disconnect mid-response, or before any response.
        if i % 5 == 0 {
            let _ = s.write_all(b"GET /metrics HTTP/1.1\r\n\r\n");
        }
        drop(s);
    }
    // A client that disconnects right after asking for a large response.
    for _ in 0..20 {
        let mut s = connect(addr);
        s.write_all(b"GET /metrics HTTP/1.1\r\n\r\n").unwrap();
        drop(s);
    }
    assert!(exp.alive());
    assert_eq!(get(addr, "/metrics").status, 200);
}

#[test]
fn sighup_applies_good_config_and_keeps_old_on_bad() {
    let dir = TempDir::new("reload");
    let cfg = write_config(dir.path(), &config(""));
    let mut exp = Exporter::start(&cfg, dir.path());
    let addr = exp.wait_listening();
    assert!(get(addr, "/metrics").text().contains("node_load1"));

    // A bad file: logged, old config keeps serving.
    std::fs::write(&cfg, "listen = [\"127.0.0.1:0\"]\n[collectors]\nload = \"maybe\"\n").unwrap();
    exp.signal(libc::SIGHUP);
    let line = exp.wait_for("reload failed", Duration::from_secs(10));
    assert!(line.contains("ap-exporter.toml:3:8"), "{line}");
    let text = get(addr, "/metrics").text();
    assert!(text.contains("node_load1") && text.contains("node_network_"));

    // A good file that turns load off and adds a second listener: applied.
    let second = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let good = config("")
        .replace("listen = [\"127.0.0.1:0\"]", &format!("listen = [\"127.0.0.1:0\", \"{second}\"]"))
        .replace("wireless = false", "wireless = false\nload = false");
    std::fs::write(&cfg, good).unwrap();
    exp.signal(libc::SIGHUP);
    exp.wait_for("reloaded", Duration::from_secs(10));
    let text = get(addr, "/metrics").text();
    assert!(!text.contains("node_load1") && text.contains("node_network_"), "{text}");
    assert_eq!(get(second, "/metrics").status, 200);

    // A config whose listener cannot be bound is refused as a whole.
    let blocker = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = blocker.local_addr().unwrap();
    let clash = config("").replace("listen = [\"127.0.0.1:0\"]", &format!("listen = [\"{taken}\"]"));
    std::fs::write(&cfg, clash).unwrap();
    exp.signal(libc::SIGHUP);
    exp.wait_for("keeping the old config", Duration::from_secs(10));
    let text = get(addr, "/metrics").text();
    assert!(!text.contains("node_load1"), "half-applied reload");

    exp.signal(libc::SIGTERM);
    assert_eq!(exp.wait_exit(Duration::from_secs(10)), Some(0));
}

#[test]
fn sigint_exits_cleanly() {
    let (_dir, mut exp, _addr) = start("");
    exp.signal(libc::SIGINT);
    assert_eq!(exp.wait_exit(Duration::from_secs(10)), Some(0));
}

#[test]
fn serving_uses_a_single_thread() {
    let (_dir, exp, addr) = start("");
    for _ in 0..20 {
        assert_eq!(get(addr, "/metrics").status, 200);
    }
    let tasks = std::fs::read_dir(format!("/proc/{}/task", exp.child.id())).unwrap().count();
    assert_eq!(tasks, 1, "the exporter must serve from one thread");
}

#[test]
fn basic_auth_answers_401_until_the_right_password() {
    // `htpasswd -nbBC 4 prometheus secret`
    let (_dir, _exp, addr) = start(
        "[auth]\nbasic_auth_users = { prometheus = \"$2y$04$4SppoHq90W10tCcxhnR1DOsbAzDBifZmh2OT7Qq.IekPaQWG8M.kC\" }",
    );
    let r = get(addr, "/metrics");
    assert_eq!(r.status, 401);
    assert_eq!(r.header("www-authenticate"), Some("Basic realm=\"ap-exporter\", charset=\"UTF-8\""));
    let with = |cred: &str| {
        raw(
            addr,
            format!("GET /metrics HTTP/1.1\r\nAuthorization: Basic {cred}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
    };
    // base64("prometheus:wrong"), base64("prometheus:secret")
    assert_eq!(with("cHJvbWV0aGV1czp3cm9uZw==").status, 401);
    assert_eq!(with("not base64!").status, 401);
    let ok = with("cHJvbWV0aGV1czpzZWNyZXQ=");
    assert_eq!(ok.status, 200);
    assert!(ok.text().contains("node_load1"));
    // Served again from the cache of verified credentials.
    assert_eq!(with("cHJvbWV0aGV1czpzZWNyZXQ=").status, 200);
}

/// A bad `*.prom` file sets node_textfile_scrape_error to 1 and is left
/// out; the good files and every other collector are served, and the
/// scrape stays valid. Replacing the file the documented way (write
/// another name, rename) clears the error at the next scrape.
#[test]
fn a_bad_textfile_is_skipped_and_the_rest_served() {
    let tf = TempDir::new("textfile-http");
    std::fs::write(tf.path().join("wan.prom"), "# HELP wan_up WAN check.\n# TYPE wan_up gauge\nwan_up 1\n").unwrap();
    std::fs::write(
        tf.path().join("speed.prom"),
        "# TYPE wan_speed_bits gauge\nwan_speed_bits{dir=\"down\"} 9.4e7\nwan_speed_bi",
    )
    .unwrap();
    let (_dir, _exp, addr) = start(&format!("[textfile]\ndirectory = {:?}\n", tf.path().display().to_string()));
    let r = get(addr, "/metrics");
    assert_eq!(r.status, 200);
    let text = r.text();
    promtool_check(&text).unwrap();
    assert!(text.contains("\nwan_up 1\n"), "{text}");
    assert!(!text.contains("wan_speed_bits"), "a cut-short file is left out whole");
    assert!(text.contains("\nnode_textfile_scrape_error 1\n"));
    assert!(text.contains("node_scrape_collector_success{collector=\"textfile\"} 1"));
    assert!(text.contains("node_scrape_collector_success{collector=\"netdev\"} 1"));
    assert!(text.contains("node_load1 "));
    // collect[]=textfile alone works too.
    let only = get(addr, "/metrics?collect[]=textfile").text();
    assert!(only.contains("\nwan_up 1\n") && !only.contains("node_load1"));
    let tmp = tf.path().join("speed.prom.tmp");
    std::fs::write(&tmp, "# TYPE wan_speed_bits gauge\nwan_speed_bits{dir=\"down\"} 9.4e7\n").unwrap();
    std::fs::rename(&tmp, tf.path().join("speed.prom")).unwrap();
    let text = get(addr, "/metrics").text();
    assert!(text.contains("\nwan_speed_bits{dir=\"down\"} 94000000\n"), "{text}");
    assert!(text.contains("\nnode_textfile_scrape_error 0\n"));
}
