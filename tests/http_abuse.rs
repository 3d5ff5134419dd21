//! Hostile clients against the real binary on loopback: slowloris, floods
//! past the cap, a 1 MiB header, and 10,000 requests with RSS measured
//! before and after. The process must never die and memory must stay bounded.

mod common;

use common::*;
use std::io::Write;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

fn start(extra: &str) -> (TempDir, Exporter, SocketAddr) {
    start_on_fixture(extra)
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .unwrap()
        .trim()
        .trim_end_matches(" kB")
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn fifty_slowloris_clients_do_not_lock_out_a_scraper() {
    // The default cap (16) and timeout (10 s): the slow clients fill every slot.
    let (_dir, mut exp, addr) = start("");
    let mut slow: Vec<_> = (0..50).map(|_| connect(addr)).collect();
    for s in &mut slow {
        let _ = s.write_all(b"GET /metrics HTTP/1.1\r\n");
    }
    // Keep trickling bytes for a while, as slowloris does.
    let until = Instant::now() + Duration::from_millis(2500);
    while Instant::now() < until {
        for s in &mut slow {
            let _ = s.write_all(b"X");
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    // Every slot has now waited over 2 s for a complete request: the scraper
    // takes the longest-waiting one's place.
    let r = get(addr, "/metrics");
    assert_eq!(r.status, 200);
    assert!(r.text().contains("node_load1"));
    assert!(exp.alive());
}

#[test]
fn a_flood_past_the_cap_then_recovery() {
    let (_dir, mut exp, addr) = start("max_connections = 4");
    let flood: Vec<_> = (0..300).filter_map(|_| std::net::TcpStream::connect(addr).ok()).collect();
    std::thread::sleep(Duration::from_millis(300));
    drop(flood);
    wait_until_serving(addr, Duration::from_secs(10));
    assert!(exp.alive());
}

#[test]
fn a_one_mebibyte_header_gets_431() {
    let (_dir, mut exp, addr) = start("");
    let mut req = b"GET /metrics HTTP/1.1\r\nX-Huge: ".to_vec();
    req.extend(std::iter::repeat_n(b'h', 1 << 20));
    req.extend_from_slice(b"\r\n\r\n");
    let mut s = connect(addr);
    let writer = {
        let mut s = s.try_clone().unwrap();
        std::thread::spawn(move || {
            let _ = s.write_all(&req);
        })
    };
    let r = read_response(&mut s, false);
    assert_eq!(r.status, 431);
    drop(s);
    let _ = writer.join();
    assert_eq!(get(addr, "/").status, 200);
    assert!(exp.alive());
}

#[test]
fn rss_stays_bounded_over_ten_thousand_requests() {
    let (_dir, mut exp, addr) = start("");
    let pid = exp.child.id();
    // Warm up so buffers reach their working size.
    for _ in 0..50 {
        get(addr, "/metrics");
    }
    let before = rss_kib(pid);
    let mut done = 0;
    while done < 10_000 {
        let mut s = connect(addr);
        for _ in 0..100 {
            s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
            assert_eq!(read_response(&mut s, false).status, 200);
            done += 1;
        }
    }
    let after = rss_kib(pid);
    println!("RSS before 10,000 requests: {before} KiB, after: {after} KiB");
    assert!(after <= before + 1024, "RSS grew from {before} KiB to {after} KiB");
    assert!(exp.alive());
}

/// The statuses of every response in `bytes`, in order, and whether the
/// last said `Connection: close`.
fn statuses(bytes: &[u8]) -> (Vec<u16>, bool) {
    let text = String::from_utf8_lossy(bytes);
    let mut codes = Vec::new();
    let mut last_closes = false;
    let mut rest: &str = &text;
    while let Some(at) = rest.find("HTTP/1.1 ") {
        rest = &rest[at + 9..];
        codes.push(rest.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0));
        let head = rest.split("\r\n\r\n").next().unwrap_or("");
        last_closes = head.to_ascii_lowercase().contains("connection: close");
    }
    (codes, last_closes)
}

#[test]
fn a_client_that_pipelines_gets_a_few_answers_then_the_connection_closes() {
    use std::io::Read;
    let (_dir, mut exp, addr) = start("");
    let mut s = connect(addr);
    s.write_all(&b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".repeat(50)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got);
    let (codes, closes) = statuses(&got);
    assert_eq!(codes, vec![200; 4], "answers to 50 pipelined requests");
    assert!(closes, "the last answer says the connection closes");
    assert!(exp.alive());
}

#[test]
fn a_client_that_waits_for_each_answer_keeps_its_connection() {
    use std::io::Read;
    let (_dir, mut exp, addr) = start("");
    let mut s = connect(addr);
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    for i in 0..12 {
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        // Read exactly one answer: its head, then Content-Length bytes.
        let mut got = Vec::new();
        let mut byte = [0u8; 1];
        while !got.ends_with(b"\r\n\r\n") {
            assert_eq!(s.read(&mut byte).unwrap(), 1, "answer {i} ended early");
            got.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&got).to_string();
        assert!(head.starts_with("HTTP/1.1 200"), "answer {i}: {head}");
        assert!(!head.to_ascii_lowercase().contains("connection: close"), "answer {i}: {head}");
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .and_then(|v| v.trim().parse().ok())
            .expect("a Content-Length");
        let mut body = vec![0u8; length];
        s.read_exact(&mut body).unwrap();
    }
    assert!(exp.alive());
}
