//! Denial of service by an allowed client, against the real binary on
//! loopback. Each attack runs for a few seconds while a victim scrapes every
//! 0.5 s; at least 90 % of the victim's scrapes must be complete 200s within
//! 2 s. The attacks are the ones that held the one thread before: a
//! pipelining hog, clients that never read, slowloris clients that
//! reconnect, wrong passwords against costly bcrypt hashes, and a crowd of
//! connections held open, from one address and from many (each attacker
//! its own address in 127.0.1.0/24), with the victim on another address or
//! on an attacker's. Every loop is bounded in time.

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

/// The address the victim scrapes from unless a test says otherwise: another
/// loopback address than the attackers' (127.0.0.1), as a Prometheus server
/// is another host than an attacker.
const VICTIM_ADDRESS: [u8; 4] = [127, 0, 0, 2];

/// A connection to `addr` from the loopback address `from` (all of
/// 127.0.0.0/8 is this machine's, so each attacker can have its own), given
/// up after a second: a full accept queue drops SYNs, and a blocking
/// connect would retry them for minutes.
fn connect_from(from: [u8; 4], addr: SocketAddr) -> std::io::Result<TcpStream> {
    use std::os::fd::FromRawFd;
    let sockaddr = |ip: [u8; 4], port: u16| libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr { s_addr: u32::from_ne_bytes(ip) },
        sin_zero: [0; 8],
    };
    let SocketAddr::V4(to) = addr else { panic!("the test server listens on IPv4") };
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    let last = std::io::Error::last_os_error;
    // SAFETY: socket, bind, connect, poll and getsockopt with valid
    // arguments; the descriptor is owned by the TcpStream from the start.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK, 0);
        if fd < 0 {
            return Err(last());
        }
        let stream = TcpStream::from_raw_fd(fd);
        let from = sockaddr(from, 0);
        let to = sockaddr(to.ip().octets(), to.port());
        if libc::bind(fd, (&from as *const libc::sockaddr_in).cast(), len) < 0 {
            return Err(last());
        }
        if libc::connect(fd, (&to as *const libc::sockaddr_in).cast(), len) < 0 {
            let e = last();
            if e.raw_os_error() != Some(libc::EINPROGRESS) {
                return Err(e);
            }
            let mut p = libc::pollfd { fd, events: libc::POLLOUT, revents: 0 };
            if libc::poll(&mut p, 1, 1000) != 1 {
                return Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "connect took over 1 s"));
            }
            let mut error: libc::c_int = 0;
            let mut size = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
            libc::getsockopt(fd, libc::SOL_SOCKET, libc::SO_ERROR, (&mut error as *mut libc::c_int).cast(), &mut size);
            if error != 0 {
                return Err(std::io::Error::from_raw_os_error(error));
            }
        }
        stream.set_nonblocking(false)?;
        Ok(stream)
    }
}

/// One scrape by the victim: a complete 200 within [`VICTIM_DEADLINE`].
fn victim_scrape(from: [u8; 4], addr: SocketAddr, authorization: &str) -> Result<(), String> {
    let started = Instant::now();
    let mut s = connect_from(from, addr).map_err(|e| format!("connect: {e}"))?;
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
fn victim(from: [u8; 4], addr: SocketAddr, authorization: &str, during: Duration) -> (usize, usize, Vec<String>) {
    let end = Instant::now() + during;
    let (mut ok, mut all, mut failures) = (0, 0, Vec::new());
    while Instant::now() < end {
        let next = Instant::now() + Duration::from_millis(500);
        all += 1;
        match victim_scrape(from, addr, authorization) {
            Ok(()) => ok += 1,
            Err(e) => failures.push(format!("at scrape {all}: {e}")),
        }
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    (ok, all, failures)
}

/// Runs `attackers` until the victim is done; returns a complaint if fewer
/// than 90 % of the victim's scrapes were complete 200s within 2 s.
fn under_attack(
    name: &str,
    addr: SocketAddr,
    victim_from: [u8; 4],
    authorization: &str,
    attackers: Vec<Attack>,
) -> Option<String> {
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
    let (ok, all, failures) = victim(victim_from, addr, authorization, ATTACK);
    stop.store(true, Ordering::SeqCst);
    for t in threads {
        let _ = t.join();
    }
    eprintln!("{name}: {ok}/{all} complete 200s within 2 s");
    let mut first: Vec<String> = failures.into_iter().take(3).collect();
    first.iter_mut().for_each(|f| f.truncate(120));
    (ok * 10 < all * 9).then(|| format!("{name}: only {ok} of {all} scrapes were complete 200s within 2 s: {first:?}"))
}

/// Where attackers connect from.
#[derive(Clone, Copy)]
enum Origin {
    /// All from 127.0.0.1.
    OneAddress,
    /// Each from an address of its own, 127.0.1.1 onwards, as from an IPv6
    /// /64 or a botnet.
    ManyAddresses,
}

use Origin::{ManyAddresses as Many, OneAddress as One};

impl Origin {
    fn of(self, attacker: usize) -> [u8; 4] {
        match self {
            Origin::OneAddress => [127, 0, 0, 1],
            Origin::ManyAddresses => [127, 0, 1 + (attacker / 250) as u8, 1 + (attacker % 250) as u8],
        }
    }
}

fn attackers(n: usize, f: fn([u8; 4], SocketAddr, &AtomicBool), addr: SocketAddr, origin: Origin) -> Vec<Attack> {
    (0..n).map(|i| Box::new(move |stop: &AtomicBool| f(origin.of(i), addr, stop)) as Attack).collect()
}

fn quick_connect(from: [u8; 4], addr: SocketAddr) -> Option<TcpStream> {
    let s = connect_from(from, addr).ok()?;
    s.set_read_timeout(Some(Duration::from_millis(200))).ok()?;
    s.set_write_timeout(Some(Duration::from_millis(200))).ok()?;
    Some(s)
}

/// Pipelines `burst` GETs at a time from one thread, pausing `pause`
/// between bursts, while another thread reads every answer as it comes;
/// reconnects whenever the server drops the connection.
fn pipeline_and_read(from: [u8; 4], addr: SocketAddr, stop: &AtomicBool, burst: usize, pause: Duration) {
    let requests = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".repeat(burst);
    while !stop.load(Ordering::SeqCst) {
        let Some(mut s) = quick_connect(from, addr) else { continue };
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
fn pipelining_hog(from: [u8; 4], addr: SocketAddr, stop: &AtomicBool) {
    pipeline_and_read(from, addr, stop, 64, Duration::ZERO);
}

/// Pipelines 400 GETs and never reads; holds the connection.
fn non_reader(from: [u8; 4], addr: SocketAddr, stop: &AtomicBool) {
    let requests = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".repeat(400);
    while !stop.load(Ordering::SeqCst) {
        let Some(mut s) = quick_connect(from, addr) else { continue };
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
fn slowloris(from: [u8; 4], addr: SocketAddr, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        let Some(mut s) = quick_connect(from, addr) else { continue };
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
fn crowd(from: [u8; 4], addr: SocketAddr, stop: &AtomicBool) {
    let mut held: Vec<TcpStream> = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        if held.len() < 20 {
            if let Some(s) = quick_connect(from, addr) {
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
        under_attack("pipelining hog", addr, VICTIM_ADDRESS, "", attackers(1, pipelining_hog, addr, One)),
        under_attack("16 non-readers", addr, VICTIM_ADDRESS, "", attackers(16, non_reader, addr, One)),
        under_attack("100 slowloris clients", addr, VICTIM_ADDRESS, "", attackers(100, slowloris, addr, One)),
        under_attack("a crowd of 200 idle connections", addr, VICTIM_ADDRESS, "", attackers(10, crowd, addr, One)),
    ]
    .into_iter()
    .flatten()
    .collect();
    assert!(complaints.is_empty(), "{}", complaints.join("\n"));
    assert!(exp.alive());
}

#[test]
fn attackers_from_many_addresses_do_not_lock_out_a_scraper_from_theirs_or_another() {
    // With wireless on (a wl in a child), as on a router, every scrape is
    // answered later: a connection waiting for one is busy, not idle.
    let (_dir, mut exp, addr) = start_slow_wl("0", "");
    let one_of_them = Many.of(0);
    let complaints: Vec<String> = [
        under_attack(
            "16 non-readers from 16 addresses, victim from another",
            addr,
            VICTIM_ADDRESS,
            "",
            attackers(16, non_reader, addr, Many),
        ),
        under_attack(
            "16 non-readers from 16 addresses, victim from one of theirs",
            addr,
            one_of_them,
            "",
            attackers(16, non_reader, addr, Many),
        ),
        under_attack(
            "16 non-readers from one address, victim from the same",
            addr,
            One.of(0),
            "",
            attackers(16, non_reader, addr, One),
        ),
        under_attack(
            "100 slowloris clients from 100 addresses",
            addr,
            one_of_them,
            "",
            attackers(100, slowloris, addr, Many),
        ),
        under_attack(
            "a crowd of 200 idle connections from 10 addresses",
            addr,
            one_of_them,
            "",
            attackers(10, crowd, addr, Many),
        ),
    ]
    .into_iter()
    .flatten()
    .collect();
    assert!(complaints.is_empty(), "{}", complaints.join("\n"));
    assert!(exp.alive());
}

/// Pipelines whole scrapes, reading every answer, so its connections are
/// always being answered (waiting on the wireless child, or written).
fn pipelining_scraper(from: [u8; 4], addr: SocketAddr, stop: &AtomicBool) {
    pipeline_and_read(from, addr, stop, 8, Duration::from_millis(50));
}

#[test]
fn one_client_keeping_every_slot_busy_with_slow_scrapes_does_not_lock_out_another() {
    // A wl that takes 50 ms a call: a wireless scrape takes most of a second.
    let (_dir, mut exp, addr) = start_slow_wl("0.05", "");
    let complaint = under_attack(
        "16 clients pipelining wireless scrapes",
        addr,
        VICTIM_ADDRESS,
        "",
        attackers(16, pipelining_scraper, addr, One),
    );
    assert_eq!(complaint, None);
    assert!(exp.alive());
}

/// An exporter whose one user has a cost-10 bcrypt hash, and that user's
/// right `Authorization` header line.
fn start_with_costly_hash() -> (common::TempDir, Exporter, SocketAddr, String) {
    let hash = bcrypt::hash_with_salt("secret", 10, [7u8; 16]).unwrap().format_for_version(bcrypt::Version::TwoY);
    let (dir, exp, addr) = start_on_fixture(&format!("[auth]\nbasic_auth_users = {{ prometheus = {hash:?} }}"));
    let secret = base64::engine::general_purpose::STANDARD.encode("prometheus:secret");
    (dir, exp, addr, format!("Authorization: Basic {secret}\r\n"))
}

/// Tries a new wrong password on each connection, reading each answer.
fn guesser(from: [u8; 4], addr: SocketAddr, stop: &AtomicBool) {
    let mut n = 0u64;
    while !stop.load(Ordering::SeqCst) {
        n += 1;
        let Some(mut s) = quick_connect(from, addr) else { continue };
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("prometheus:guess-{n}"));
        let _ = s.write_all(
            format!("GET /metrics HTTP/1.1\r\nAuthorization: Basic {auth}\r\nConnection: close\r\n\r\n").as_bytes(),
        );
        let mut sink = Vec::new();
        s.set_read_timeout(Some(Duration::from_secs(3))).ok();
        let _ = s.read_to_end(&mut sink);
    }
}

// The guessers start first: the scraper's credentials are checked for the
// first time while they keep hashing busy.
#[test]
fn wrong_passwords_against_costly_hashes_do_not_lock_out_a_scraper() {
    let (_dir, mut exp, addr, secret) = start_with_costly_hash();
    let name = "12 wrong-password clients on a cost-10 hash";
    let complaint = under_attack(name, addr, VICTIM_ADDRESS, &secret, attackers(12, guesser, addr, One));
    assert_eq!(complaint, None);
    assert!(exp.alive());
}

// Each guesser from an address of its own has a fresh per-address budget:
// right after start, only the global budget and its fairness stand between
// them and the scraper.
#[test]
fn wrong_passwords_from_many_addresses_right_after_start_do_not_lock_out_a_scraper() {
    let (_dir, mut exp, addr, secret) = start_with_costly_hash();
    let name = "64 wrong-password clients from 64 addresses on a cost-10 hash";
    let complaint = under_attack(name, addr, VICTIM_ADDRESS, &secret, attackers(64, guesser, addr, Many));
    assert_eq!(complaint, None);
    assert!(exp.alive());
}

// The worst moment, made on purpose: the exporter is stopped while 64
// guessers from 64 addresses queue their requests, then a scraper whose
// credentials were verified before; then it goes on. Each guess costs a
// bcrypt check and the budget has a full burst to spend, but the one
// thread must not spend it all before the scraper's turn: a check that
// needs no hashing waits for at most one check in progress.
#[test]
fn a_queue_of_wrong_passwords_does_not_hold_a_verified_scraper_behind_every_check() {
    let (_dir, mut exp, addr, secret) = start_with_costly_hash();
    victim_scrape(VICTIM_ADDRESS, addr, &secret).expect("the scraper's first check, before any guess");
    exp.signal(libc::SIGSTOP);
    let guessers: Vec<TcpStream> = (0..64)
        .filter_map(|i| {
            let mut s = connect_from(Many.of(i), addr).ok()?;
            let auth = base64::engine::general_purpose::STANDARD.encode(format!("prometheus:guess-{i}"));
            s.write_all(format!("GET /metrics HTTP/1.1\r\nAuthorization: Basic {auth}\r\n\r\n").as_bytes()).ok()?;
            Some(s)
        })
        .collect();
    assert!(guessers.len() >= 32, "only {} guessers could connect", guessers.len());
    let scraper = std::thread::spawn(move || victim_scrape(VICTIM_ADDRESS, addr, &secret));
    std::thread::sleep(Duration::from_millis(300));
    exp.signal(libc::SIGCONT);
    let answer = scraper.join().unwrap();
    drop(guessers);
    assert_eq!(answer, Ok(()), "with {} guesses queued ahead", 64);
    assert!(exp.alive());
}
