//! Denial of service by an allowed client, against the real binary on
//! loopback. Each attack runs for a few seconds while a victim scrapes every
//! 0.5 s; at least 90 % of the victim's scrapes must be complete 200s within
//! 2 s. The attacks are the ones that held the one thread before: a
//! pipelining hog, clients that never read, slowloris clients that
//! reconnect, wrong passwords against costly bcrypt hashes, and a crowd of
//! connections held open. Every loop is bounded in time.

mod common;

use base64::Engine;
use common::*;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const ATTACK: Duration = Duration::from_secs(5);

/// One attacking client, looping until told to stop.
type Attack = Box<dyn FnMut(&AtomicBool) + Send>;
const VICTIM_DEADLINE: Duration = Duration::from_secs(2);

/// A connection from another loopback address than the attackers'
/// (127.0.0.2), as a Prometheus server is another host than an attacker.
fn connect_from_victim_address(addr: SocketAddr) -> std::io::Result<TcpStream> {
    use std::os::fd::FromRawFd;
    let sockaddr = |ip: [u8; 4], port: u16| libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr { s_addr: u32::from_ne_bytes(ip) },
        sin_zero: [0; 8],
    };
    let SocketAddr::V4(to) = addr else { panic!("the test server listens on IPv4") };
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: socket, bind and connect with valid sockaddr_in values; the
    // descriptor is owned by the TcpStream from then on.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let stream = TcpStream::from_raw_fd(fd);
        let from = sockaddr([127, 0, 0, 2], 0);
        let to = sockaddr(to.ip().octets(), to.port());
        if libc::bind(fd, (&from as *const libc::sockaddr_in).cast(), len) < 0
            || libc::connect(fd, (&to as *const libc::sockaddr_in).cast(), len) < 0
        {
            return Err(std::io::Error::last_os_error());
        }
        Ok(stream)
    }
}

/// One scrape by the victim: a complete 200 within [`VICTIM_DEADLINE`].
fn victim_scrape(addr: SocketAddr, authorization: &str) -> Result<(), String> {
    let started = Instant::now();
    let mut s = connect_from_victim_address(addr).map_err(|e| format!("connect: {e}"))?;
    s.write_all(format!("GET /metrics HTTP/1.1\r\nHost: x\r\n{authorization}Connection: close\r\n\r\n").as_bytes())
        .map_err(|e| format!("send: {e}"))?;
    let mut got = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let left = VICTIM_DEADLINE.saturating_sub(started.elapsed());
        if left.is_zero() {
            return Err(format!("no complete answer within 2 s ({} bytes)", got.len()));
        }
        s.set_read_timeout(Some(left)).map_err(|e| e.to_string())?;
        match s.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&chunk[..n]),
            Err(e) => return Err(format!("read after {} bytes: {e}", got.len())),
        }
    }
    let text = String::from_utf8_lossy(&got);
    let (head, body) = text.split_once("\r\n\r\n").ok_or("no head")?;
    if !head.starts_with("HTTP/1.1 200") {
        return Err(head.lines().next().unwrap_or("").to_string());
    }
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .and_then(|v| v.trim().parse().ok())
        .ok_or("no Content-Length")?;
    if body.len() != length || !body.contains("node_load1") {
        return Err(format!("body of {} bytes, expected {length}", body.len()));
    }
    Ok(())
}

/// Scrapes every 0.5 s for `during`; returns (complete, all, failures).
fn victim(addr: SocketAddr, authorization: &str, during: Duration) -> (usize, usize, Vec<String>) {
    let end = Instant::now() + during;
    let (mut ok, mut all, mut failures) = (0, 0, Vec::new());
    while Instant::now() < end {
        let next = Instant::now() + Duration::from_millis(500);
        all += 1;
        match victim_scrape(addr, authorization) {
            Ok(()) => ok += 1,
            Err(e) => failures.push(e),
        }
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    (ok, all, failures)
}

/// Runs `attackers` until the victim is done; returns a complaint if fewer
/// than 90 % of the victim's scrapes were complete 200s within 2 s.
fn under_attack(name: &str, addr: SocketAddr, authorization: &str, attackers: Vec<Attack>) -> Option<String> {
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<JoinHandle<()>> = attackers
        .into_iter()
        .map(|mut attack| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || attack(&stop))
        })
        .collect();
    // Let the attack take hold first.
    std::thread::sleep(Duration::from_millis(500));
    let (ok, all, failures) = victim(addr, authorization, ATTACK);
    stop.store(true, Ordering::SeqCst);
    for t in threads {
        let _ = t.join();
    }
    eprintln!("{name}: {ok}/{all} complete 200s within 2 s");
    let mut first: Vec<String> = failures.into_iter().take(3).collect();
    first.iter_mut().for_each(|f| f.truncate(120));
    (ok * 10 < all * 9).then(|| format!("{name}: only {ok} of {all} scrapes were complete 200s within 2 s: {first:?}"))
}

fn attackers(n: usize, f: fn(SocketAddr, &AtomicBool), addr: SocketAddr) -> Vec<Attack> {
    (0..n).map(|_| Box::new(move |stop: &AtomicBool| f(addr, stop)) as Attack).collect()
}

fn quick_connect(addr: SocketAddr) -> Option<TcpStream> {
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    s.set_read_timeout(Some(Duration::from_millis(200))).ok()?;
    s.set_write_timeout(Some(Duration::from_millis(200))).ok()?;
    Some(s)
}

/// Pipelines `burst` GETs at a time from one thread, pausing `pause`
/// between bursts, while another thread reads every answer as it comes;
/// reconnects whenever the server drops the connection.
fn pipeline_and_read(addr: SocketAddr, stop: &AtomicBool, burst: usize, pause: Duration) {
    let requests = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".repeat(burst);
    while !stop.load(Ordering::SeqCst) {
        let Some(mut s) = quick_connect(addr) else { continue };
        let Ok(mut reader) = s.try_clone() else { continue };
        let _ = reader.set_read_timeout(Some(Duration::from_secs(3)));
        let drain = std::thread::spawn(move || {
            let mut sink = vec![0u8; 256 * 1024];
            while matches!(reader.read(&mut sink), Ok(n) if n > 0) {}
        });
        while !stop.load(Ordering::SeqCst) && s.write_all(&requests).is_ok() {
            std::thread::sleep(pause);
        }
        let _ = s.shutdown(std::net::Shutdown::Both);
        let _ = drain.join();
    }
}

/// Back-to-back pipelined GETs, every answer read at once: the server
/// never waits on this client.
fn pipelining_hog(addr: SocketAddr, stop: &AtomicBool) {
    pipeline_and_read(addr, stop, 64, Duration::ZERO);
}

/// Pipelines 400 GETs and never reads; holds the connection.
fn non_reader(addr: SocketAddr, stop: &AtomicBool) {
    let requests = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".repeat(400);
    while !stop.load(Ordering::SeqCst) {
        let Some(mut s) = quick_connect(addr) else { continue };
        let _ = s.write_all(&requests);
        // Hold it, unread, until the server gives up on it.
        let mut probe = [0u8; 1];
        while !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(100));
            if s.peek(&mut probe).is_ok_and(|n| n == 0) {
                break;
            }
        }
    }
}

/// Trickles header lines, reconnecting whenever it is dropped.
fn slowloris(addr: SocketAddr, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        let Some(mut s) = quick_connect(addr) else { continue };
        if s.write_all(b"GET /metrics HTTP/1.1\r\n").is_err() {
            continue;
        }
        let mut i = 0u32;
        while !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(100));
            i += 1;
            if s.write_all(format!("X-Slow-{i}: x\r\n").as_bytes()).is_err() {
                break;
            }
        }
    }
}

/// Connects and holds idle connections, reconnecting when dropped.
fn crowd(addr: SocketAddr, stop: &AtomicBool) {
    let mut held: Vec<TcpStream> = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        if held.len() < 20 {
            if let Some(s) = quick_connect(addr) {
                held.push(s);
            }
        } else {
            std::thread::sleep(Duration::from_millis(50));
            let mut probe = [0u8; 1];
            held.retain(|s| !s.peek(&mut probe).is_ok_and(|n| n == 0));
        }
    }
}

#[test]
fn pipelining_non_readers_slowloris_and_crowds_do_not_lock_out_a_scraper() {
    let (_dir, mut exp, addr) = start_on_fixture("");
    let complaints: Vec<String> = [
        under_attack("pipelining hog", addr, "", attackers(1, pipelining_hog, addr)),
        under_attack("16 non-readers", addr, "", attackers(16, non_reader, addr)),
        under_attack("100 slowloris clients", addr, "", attackers(100, slowloris, addr)),
        under_attack("a crowd of 200 idle connections", addr, "", attackers(10, crowd, addr)),
    ]
    .into_iter()
    .flatten()
    .collect();
    assert!(complaints.is_empty(), "{}", complaints.join("\n"));
    assert!(exp.alive());
}

/// Pipelines whole scrapes, reading every answer, so its connections are
/// always being answered (waiting on the wireless child, or written).
fn pipelining_scraper(addr: SocketAddr, stop: &AtomicBool) {
    pipeline_and_read(addr, stop, 8, Duration::from_millis(50));
}

#[test]
fn one_client_keeping_every_slot_busy_with_slow_scrapes_does_not_lock_out_another() {
    // A wl that takes 50 ms a call: a wireless scrape takes most of a second.
    let (_dir, mut exp, addr) = start_slow_wl("0.05", "");
    let complaint =
        under_attack("16 clients pipelining wireless scrapes", addr, "", attackers(16, pipelining_scraper, addr));
    assert_eq!(complaint, None);
    assert!(exp.alive());
}

#[test]
fn wrong_passwords_against_costly_hashes_do_not_lock_out_a_scraper() {
    let hash = bcrypt::hash_with_salt("secret", 10, [7u8; 16]).unwrap().format_for_version(bcrypt::Version::TwoY);
    let (_dir, mut exp, addr) = start_on_fixture(&format!("[auth]\nbasic_auth_users = {{ prometheus = {hash:?} }}"));
    let basic = |user: &str, pass: &str| {
        format!(
            "Authorization: Basic {}\r\n",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
        )
    };
    // The guessers start first: the scraper's credentials are checked for
    // the first time while they keep hashing busy.
    fn guesser(addr: SocketAddr, stop: &AtomicBool) {
        let mut n = 0u64;
        while !stop.load(Ordering::SeqCst) {
            n += 1;
            let Some(mut s) = quick_connect(addr) else { continue };
            let auth = base64::engine::general_purpose::STANDARD.encode(format!("prometheus:guess-{n}"));
            let _ = s.write_all(
                format!("GET /metrics HTTP/1.1\r\nAuthorization: Basic {auth}\r\nConnection: close\r\n\r\n").as_bytes(),
            );
            let mut sink = Vec::new();
            s.set_read_timeout(Some(Duration::from_secs(3))).ok();
            let _ = s.read_to_end(&mut sink);
        }
    }
    let name = "12 wrong-password clients on a cost-10 hash";
    let complaint = under_attack(name, addr, &basic("prometheus", "secret"), attackers(12, guesser, addr));
    assert_eq!(complaint, None);
    assert!(exp.alive());
}
