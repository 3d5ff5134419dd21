//! The HTTP server: one thread, one `poll(2)` loop over the listeners, the
//! signal pipe and a capped set of non-blocking connections, each with a
//! deadline. Nothing here waits on a lock, channel or condvar: on Linux
//! 2.6.22 std's futex waits fail with ENOSYS and would spin.

use super::{self as http, Parsed, Request, Status};
use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

/// How long a rejected or finished connection may take to close its side.
const LINGER: Duration = Duration::from_secs(2);
/// Connections accepted per listener per loop turn, so a flood cannot starve
/// the connections already being served.
const ACCEPTS_PER_TURN: usize = 64;
/// Response buffers above this are shrunk after use, to bound idle memory.
const KEEP_BUFFER_BYTES: usize = 64 * 1024;
/// At the cap, a connection that has waited this long for a complete request
/// (idle keep-alive or slowloris) gives its slot to a newcomer.
const EVICT_AFTER: Duration = Duration::from_secs(2);

/// What the server asks of the application.
pub trait Handler {
    /// Whether a client address may be served at all (else 403).
    fn permits(&self, peer: IpAddr) -> bool;
    /// Answers a request: writes the body into `body` (empty on entry) and
    /// returns the status, content type and extra headers.
    fn handle(&mut self, request: &Request, body: &mut Vec<u8>) -> Reply;
}

/// A handler's answer, apart from its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The status.
    pub status: Status,
    /// The Content-Type.
    pub content_type: &'static str,
    /// Further headers, such as `Allow`.
    pub headers: Vec<(&'static str, String)>,
}

/// Connection limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most connections being served; more are answered 503.
    pub max_connections: usize,
    /// Time a client has for each request, idle time included.
    pub timeout: Duration,
}

#[derive(Debug, PartialEq, Eq)]
enum Phase {
    /// Waiting for (the rest of) a request head.
    Reading,
    /// Sending `out[sent..]`.
    Writing,
    /// Our side is shut; reading until the client closes, so closing never
    /// resets a response the client has not read yet.
    Draining,
}

struct Connection {
    stream: TcpStream,
    phase: Phase,
    input: Vec<u8>,
    out: Vec<u8>,
    sent: usize,
    close_after_write: bool,
    deadline: Instant,
    /// When the current request (or the idle wait for it) began.
    waiting_since: Instant,
    /// Accepted over the cap or from a forbidden address: answered at once
    /// and never counted against the cap.
    rejected: bool,
}

/// A set of bound listeners and live connections.
pub struct Server {
    listeners: Vec<(SocketAddr, TcpListener)>,
    connections: Vec<Connection>,
    limits: Limits,
    body: Vec<u8>,
}

/// A listener that could not be bound.
#[derive(Debug)]
pub struct BindError {
    /// The address.
    pub addr: SocketAddr,
    /// Why.
    pub error: io::Error,
}

impl std::fmt::Display for BindError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot listen on {}: {}", self.addr, self.error)
    }
}

/// Whether a bind error means "this kernel has no IPv6", which is not fatal.
fn ipv6_unsupported(addr: &SocketAddr, e: &io::Error) -> bool {
    addr.is_ipv6()
        && matches!(
            e.raw_os_error(),
            Some(libc::EAFNOSUPPORT) | Some(libc::EADDRNOTAVAIL) | Some(libc::EPROTONOSUPPORT)
        )
}

impl Server {
    /// A server with no listeners yet.
    pub fn new(limits: Limits) -> Server {
        Server { listeners: Vec::new(), connections: Vec::new(), limits, body: Vec::new() }
    }

    /// Makes the listener set equal to `addrs`, all or nothing: either every
    /// address is listening afterwards (IPv6 ones may be skipped on kernels
    /// without IPv6) or nothing changed and the error is returned. Addresses
    /// already bound keep their socket.
    pub fn listen_on(&mut self, addrs: &[SocketAddr]) -> Result<(), BindError> {
        let mut old = std::mem::take(&mut self.listeners);
        let mut reused = Vec::new();
        let mut fresh = Vec::new();
        for &addr in addrs {
            if let Some(i) = old.iter().position(|(a, _)| *a == addr) {
                reused.push(old.swap_remove(i));
                continue;
            }
            match TcpListener::bind(addr).and_then(|l| l.set_nonblocking(true).map(|()| l)) {
                Ok(l) => fresh.push((addr, l)),
                Err(e) if ipv6_unsupported(&addr, &e) => log::warn!("skipping {addr}: this kernel has no IPv6 ({e})"),
                Err(error) => {
                    // Undo: keep every old listener, drop the fresh ones.
                    old.append(&mut reused);
                    self.listeners = old;
                    return Err(BindError { addr, error });
                }
            }
        }
        if reused.is_empty() && fresh.is_empty() {
            self.listeners = old;
            return Err(BindError {
                addr: addrs.first().copied().unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0))),
                error: io::Error::new(io::ErrorKind::AddrNotAvailable, "no listen address could be used"),
            });
        }
        for (addr, _) in &old {
            log::info!("no longer listening on {addr}");
        }
        for (addr, l) in &fresh {
            log::info!("listening on {}", l.local_addr().unwrap_or(*addr));
        }
        reused.append(&mut fresh);
        self.listeners = reused;
        Ok(())
    }

    /// Changes the limits; existing connections keep going.
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// Waits once for activity on the listeners, the connections or `wake`,
    /// up to `until`, and handles whatever is ready: connections first (they
    /// were in the poll set), then new ones.
    pub fn turn(&mut self, handler: &mut dyn Handler, wake: RawFd, until: Option<Instant>) -> io::Result<()> {
        let mut fds = self.poll_set(wake);
        let timeout_ms = self.poll_timeout(Instant::now(), until);
        // SAFETY: fds is a valid array of fds.len() pollfd structs.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
        if n < 0 {
            let e = io::Error::last_os_error();
            return if e.kind() == io::ErrorKind::Interrupted { Ok(()) } else { Err(e) };
        }
        let (listener_fds, connection_fds) = fds[1..].split_at(self.listeners.len());
        let listener_ready: Vec<bool> = listener_fds.iter().map(|p| p.revents != 0).collect();
        let connection_ready: Vec<bool> = connection_fds.iter().map(|p| p.revents != 0).collect();
        let now = Instant::now();
        self.advance(&connection_ready, handler, now);
        for (li, ready) in listener_ready.into_iter().enumerate() {
            if ready {
                self.accept_from(li, handler, now);
            }
        }
        Ok(())
    }

    /// The poll set: `wake`, then the listeners, then the connections, each
    /// waiting for what its phase needs.
    fn poll_set(&self, wake: RawFd) -> Vec<libc::pollfd> {
        let mut fds = Vec::with_capacity(1 + self.listeners.len() + self.connections.len());
        fds.push(libc::pollfd { fd: wake, events: libc::POLLIN, revents: 0 });
        for (_, l) in &self.listeners {
            fds.push(libc::pollfd { fd: l.as_raw_fd(), events: libc::POLLIN, revents: 0 });
        }
        for c in &self.connections {
            let events = if c.phase == Phase::Writing { libc::POLLOUT } else { libc::POLLIN };
            fds.push(libc::pollfd { fd: c.stream.as_raw_fd(), events, revents: 0 });
        }
        fds
    }

    /// Milliseconds until the earliest connection deadline or `until`; -1
    /// (forever) when there is neither.
    fn poll_timeout(&self, now: Instant, until: Option<Instant>) -> i32 {
        match self.connections.iter().map(|c| c.deadline).chain(until).min() {
            None => -1,
            Some(t) => {
                let d = t.saturating_duration_since(now);
                // Round up so we do not wake a hair early and spin.
                let ms = d.as_millis().saturating_add(u128::from(d.subsec_nanos() % 1_000_000 != 0));
                ms.min(i32::MAX as u128) as i32
            }
        }
    }

    /// Moves every ready connection forward, and drops those that closed or
    /// passed their deadline.
    fn advance(&mut self, ready: &[bool], handler: &mut dyn Handler, now: Instant) {
        let mut keep = Vec::with_capacity(self.connections.len());
        for (c, &ready) in std::mem::take(&mut self.connections).into_iter().zip(ready) {
            let alive = if ready { self.progress(c, handler, now) } else { Some(c) };
            keep.extend(alive.filter(|c| c.deadline > now));
        }
        self.connections = keep;
    }

    /// Accepts up to [`ACCEPTS_PER_TURN`] connections from listener `li`.
    /// Forbidden clients and those over the cap get their error reply at once.
    fn accept_from(&mut self, li: usize, handler: &mut dyn Handler, now: Instant) {
        for _ in 0..ACCEPTS_PER_TURN {
            let (stream, peer) = match self.listeners[li].1.accept() {
                Ok(s) => s,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // EMFILE and friends: back off until the next turn.
                    log::warn!("accept failed: {e}");
                    return;
                }
            };
            if stream.set_nonblocking(true).is_err() {
                continue;
            }
            let _ = stream.set_nodelay(true);
            let served = self.connections.iter().filter(|c| !c.rejected).count();
            let reject = if !handler.permits(peer.ip()) {
                Some(Status::Forbidden)
            } else if served >= self.limits.max_connections && !self.evict_longest_waiting(now) {
                Some(Status::ServiceUnavailable)
            } else {
                None
            };
            let mut c = Connection {
                stream,
                phase: Phase::Reading,
                input: Vec::new(),
                out: Vec::new(),
                sent: 0,
                close_after_write: false,
                deadline: now + self.limits.timeout,
                waiting_since: now,
                rejected: reject.is_some(),
            };
            if let Some(status) = reject {
                // Rejected clients cost no slot, but they are bounded too: past
                // twice the cap they are just closed.
                if self.connections.len() >= 2 * self.limits.max_connections {
                    continue;
                }
                c.deadline = now + LINGER;
                queue_error(&mut c, status);
            }
            if let Some(c) = self.progress(c, handler, now) {
                self.connections.push(c);
            }
        }
    }

    /// Closes the served connection that has waited longest for a complete
    /// request, if it has waited at least [`EVICT_AFTER`]. Slow or idle
    /// clients so cannot hold every slot against a scraper.
    fn evict_longest_waiting(&mut self, now: Instant) -> bool {
        let victim = self
            .connections
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                !c.rejected && c.phase == Phase::Reading && now.duration_since(c.waiting_since) >= EVICT_AFTER
            })
            .min_by_key(|(_, c)| c.waiting_since)
            .map(|(i, _)| i);
        match victim {
            Some(i) => {
                self.connections.swap_remove(i);
                true
            }
            None => false,
        }
    }

    /// Moves a connection forward, phase by phase, as far as it can go
    /// without blocking. Returns it if it stays open.
    fn progress(&mut self, mut c: Connection, handler: &mut dyn Handler, now: Instant) -> Option<Connection> {
        loop {
            let step = match c.phase {
                Phase::Reading => self.read_request(&mut c, handler),
                Phase::Writing => self.write_reply(&mut c, now),
                Phase::Draining => drain(&mut c),
            };
            match step {
                Step::Again => {}
                Step::Wait => return Some(c),
                Step::Close => return None,
            }
        }
    }

    /// Reading: serves a complete request head if one is buffered, else
    /// reads more bytes.
    fn read_request(&mut self, c: &mut Connection, handler: &mut dyn Handler) -> Step {
        match http::parse(&c.input) {
            Parsed::Complete { request, len } => {
                c.close_after_write = self.serve(&request, &mut c.out, handler);
                c.sent = 0;
                c.phase = Phase::Writing;
                c.input.drain(..len);
                return Step::Again;
            }
            Parsed::Reject(status) => {
                queue_error(c, status);
                return Step::Again;
            }
            Parsed::Partial => {}
        }
        let mut chunk = [0u8; 4096];
        match c.stream.read(&mut chunk) {
            Ok(0) => Step::Close,
            Ok(n) => {
                c.input.extend_from_slice(&chunk[..n]);
                if c.input.len() > http::MAX_HEAD_BYTES + chunk.len() {
                    queue_error(c, Status::HeaderFieldsTooLarge);
                }
                Step::Again
            }
            Err(e) => io_step(&e),
        }
    }

    /// Answers one request: writes the whole reply into `out`. Returns
    /// whether the connection closes after it.
    fn serve(&mut self, request: &Request<'_>, out: &mut Vec<u8>, handler: &mut dyn Handler) -> bool {
        self.body.clear();
        let reply = handler.handle(request, &mut self.body);
        let keep_alive = request.keep_alive && !request.has_body && reply.status == Status::Ok;
        let extra: Vec<(&str, &str)> = reply.headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        out.clear();
        http::write_head(out, reply.status, reply.content_type, self.body.len(), keep_alive, &extra);
        if request.method != "HEAD" {
            out.extend_from_slice(&self.body);
        }
        !keep_alive
    }

    /// Writing: sends what the socket takes; when all is sent, waits for the
    /// next request or shuts our side.
    fn write_reply(&mut self, c: &mut Connection, now: Instant) -> Step {
        if c.sent < c.out.len() {
            return match c.stream.write(&c.out[c.sent..]) {
                Ok(0) => Step::Close,
                Ok(n) => {
                    c.sent += n;
                    Step::Again
                }
                Err(e) => io_step(&e),
            };
        }
        c.out.clear();
        c.sent = 0;
        if c.out.capacity() > KEEP_BUFFER_BYTES {
            c.out.shrink_to(KEEP_BUFFER_BYTES);
        }
        if c.close_after_write {
            let _ = c.stream.shutdown(Shutdown::Write);
            c.input = Vec::new();
            c.phase = Phase::Draining;
            c.deadline = c.deadline.min(now + LINGER);
        } else {
            c.phase = Phase::Reading;
            c.deadline = now + self.limits.timeout;
            c.waiting_since = now;
        }
        Step::Again
    }
}

/// What a phase step leaves the connection to do.
enum Step {
    /// Go on at once.
    Again,
    /// Wait for the socket to be ready.
    Wait,
    /// Close the connection.
    Close,
}

/// The step after a read or write error: retry on EINTR, wait on
/// EWOULDBLOCK, close on anything else.
fn io_step(e: &io::Error) -> Step {
    match e.kind() {
        io::ErrorKind::WouldBlock => Step::Wait,
        io::ErrorKind::Interrupted => Step::Again,
        _ => Step::Close,
    }
}

/// Draining: reads and drops until the client closes, so closing never
/// resets a response it has not read yet.
fn drain(c: &mut Connection) -> Step {
    let mut sink = [0u8; 4096];
    match c.stream.read(&mut sink) {
        Ok(0) => Step::Close,
        Ok(_) => Step::Again,
        Err(e) => io_step(&e),
    }
}

/// Queues an error reply that closes the connection.
fn queue_error(c: &mut Connection, status: Status) {
    let body = format!("{} {}\n", status.code(), status.reason());
    c.out.clear();
    http::write_head(&mut c.out, status, "text/plain; charset=utf-8", body.len(), false, &[]);
    c.out.extend_from_slice(body.as_bytes());
    c.sent = 0;
    c.close_after_write = true;
    c.phase = Phase::Writing;
}
