//! The HTTP server: one thread, one `poll(2)` loop over the listeners, the
//! signal pipe and a capped set of non-blocking connections, each with a
//! deadline. Nothing here waits on a lock, channel or condvar: on Linux
//! 2.6.22 std's futex waits fail with ENOSYS and would spin.

use super::{self as http, Parsed, Request, Status};
use crate::os::duration;
use crate::os::listener::{bind_listener, ipv6_unsupported};
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
/// What one connection gets per turn before the others have theirs: one
/// request served, and this many bytes written. A client that pipelines
/// without end, or reads a huge body fast, so cannot hold the thread.
const REQUESTS_PER_TURN: usize = 1;
/// See [`REQUESTS_PER_TURN`].
const BYTES_PER_TURN: usize = 64 * 1024;
/// Requests answered on one connection in a row, each sent before the
/// answer to the one before was complete (pipelined), after which the
/// server closes it: no Prometheus pipelines, and a client that pipelines
/// without end (reading or not) costs this many scrapes, not one per
/// request it sent. A client that waits for each answer is never closed
/// for this.
pub const MAX_PIPELINED: usize = 4;
/// How long accepting pauses after the kernel refuses a descriptor (EMFILE
/// and friends), so a full fd table does not spin the loop.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(250);
/// Accept failures are logged at most once per this interval, with a count.
const ACCEPT_LOG_EVERY: Duration = Duration::from_secs(10);

/// What the server asks of the application.
pub trait Handler {
    /// Whether a client address may be served at all (else 403). Asked at
    /// accept, and again for open connections by [`Server::revalidate`].
    fn permits(&self, peer: IpAddr) -> bool;
    /// Answers a request from `peer`: writes the body into `body` (empty on
    /// entry), or says the answer comes later.
    fn handle(&mut self, request: &Request, peer: IpAddr, body: &mut Vec<u8>) -> Answer;
    /// The reply to a request answered [`Answer::Later`], once it is ready,
    /// with its body written into `body`.
    fn finish(&mut self, ticket: u64, body: &mut Vec<u8>) -> Option<Reply>;
    /// Forgets a request answered later whose connection is gone.
    fn abandon(&mut self, ticket: u64);
    /// Descriptors the handler's unfinished work waits on (added to the poll
    /// set), and when it must be looked at again at the latest.
    fn pending(&self, fds: &mut Vec<RawFd>) -> Option<Instant>;
    /// Moves unfinished work forward; called once per turn.
    fn advance(&mut self, now: Instant);
}

/// A handler's answer to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The reply; its body is written.
    Now(Reply),
    /// Not ready yet (a collector is still running): the server asks
    /// [`Handler::finish`] with `ticket` after each turn, and serves other
    /// connections meanwhile. The handler promises an answer by `ready_by`;
    /// past that (and a grace), the client gets 503.
    Later {
        /// Names the answer for [`Handler::finish`].
        ticket: u64,
        /// When the answer will be ready at the latest.
        ready_by: Instant,
    },
    /// Not answered: the server asks again with the same request in its
    /// next turn, after the other connections had theirs.
    NextTurn,
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
    /// Time a client has for each phase: to send a request (idle time
    /// included), and between two writes that make progress.
    pub timeout: Duration,
}

impl Limits {
    /// The most sockets open at once: served connections, plus up to twice
    /// as many rejected ones lingering to deliver their 403 or 503.
    pub fn max_open(&self) -> usize {
        3 * self.max_connections
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for (the rest of) a request head.
    Reading,
    /// Waiting for the handler to finish an answer it gave as `Later`.
    Waiting { ticket: u64, head_only: bool, keep_alive: bool },
    /// Sending `out[sent..]`.
    Writing,
    /// Our side is shut; reading until the client closes, so closing never
    /// resets a response the client has not read yet.
    Draining,
}

struct Connection {
    stream: TcpStream,
    peer: IpAddr,
    phase: Phase,
    input: Vec<u8>,
    out: Vec<u8>,
    sent: usize,
    close_after_write: bool,
    /// When the current phase times out; progress while writing extends it.
    deadline: Instant,
    /// When the current request (or the idle wait for it) began.
    waiting_since: Instant,
    /// Since when the client has not taken what we write (the socket's send
    /// buffer is full); `None` while writes go through.
    blocked_since: Option<Instant>,
    /// Used up its share of a turn with work left: served next turn
    /// without waiting for the socket.
    yielded: bool,
    /// Has completed at least one request.
    answered: bool,
    /// Requests answered in a row that the client sent before the answer
    /// to the one before was complete: see [`MAX_PIPELINED`].
    back_to_back: usize,
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
    /// Accepting is paused until then after the kernel refused a descriptor.
    accept_paused_until: Option<Instant>,
    /// Accept failures not logged yet, and when the last log line went out.
    accept_failures: (u64, Option<Instant>),
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
        let problem = crate::os::listener::BindProblem::explain(self.addr, &self.error);
        write!(f, "cannot listen on {}: {}; fix: {}", self.addr, problem.cause, problem.fix)
    }
}

impl Server {
    /// A server with no listeners yet.
    pub fn new(limits: Limits) -> Server {
        Server {
            listeners: Vec::new(),
            connections: Vec::new(),
            limits,
            body: Vec::new(),
            accept_paused_until: None,
            accept_failures: (0, None),
        }
    }

    /// Makes the listener set equal to `addrs`, all or nothing: either every
    /// address is listening afterwards (IPv6 ones may be skipped on kernels
    /// without IPv6) or nothing changed and the error is returned. Addresses
    /// already bound keep their socket. An empty `addrs` (an interface with
    /// no address yet) closes every listener.
    pub fn listen_on(&mut self, addrs: &[SocketAddr]) -> Result<(), BindError> {
        let mut old = std::mem::take(&mut self.listeners);
        let mut reused = Vec::new();
        let mut fresh = Vec::new();
        for &addr in addrs {
            if let Some(i) = old.iter().position(|(a, _)| *a == addr) {
                reused.push(old.swap_remove(i));
                continue;
            }
            match bind_listener(addr) {
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
        if !addrs.is_empty() && reused.is_empty() && fresh.is_empty() {
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

    /// Closes the open connections whose client the handler no longer
    /// permits (after a reload narrowed `allow`).
    pub fn revalidate(&mut self, handler: &mut dyn Handler) {
        let before = self.connections.len();
        let mut kept = Vec::with_capacity(before);
        for c in std::mem::take(&mut self.connections) {
            if c.rejected || handler.permits(c.peer) {
                kept.push(c);
            } else if let Phase::Waiting { ticket, .. } = c.phase {
                handler.abandon(ticket);
            }
        }
        if kept.len() < before {
            log::info!("closed {} connection(s) from clients the new allow list refuses", before - kept.len());
        }
        self.connections = kept;
    }

    /// Waits once for activity on the listeners, the connections, the
    /// handler's pending work or `wake`, up to `until`, and handles whatever
    /// is ready: the handler's work first, then connections (they were in
    /// the poll set), then new ones, then answers that became ready.
    pub fn turn(&mut self, handler: &mut dyn Handler, wake: RawFd, until: Option<Instant>) -> io::Result<()> {
        let mut handler_fds = Vec::new();
        let handler_due = handler.pending(&mut handler_fds);
        let now = Instant::now();
        let accepting = self.accept_paused_until.is_none_or(|t| t <= now);
        let mut fds = self.poll_set(wake, &handler_fds, accepting);
        let wake_at = [until, handler_due, self.accept_paused_until].into_iter().flatten().min();
        let timeout_ms = self.poll_timeout(now, wake_at);
        // SAFETY: fds is a valid array of fds.len() pollfd structs.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
        if n < 0 {
            let e = io::Error::last_os_error();
            return if e.kind() == io::ErrorKind::Interrupted { Ok(()) } else { Err(e) };
        }
        let rest = &fds[1 + handler_fds.len()..];
        let (listener_fds, connection_fds) = rest.split_at(self.listeners.len());
        let listener_ready: Vec<bool> = listener_fds.iter().map(|p| p.revents != 0).collect();
        let connection_ready: Vec<bool> = connection_fds.iter().map(|p| p.revents != 0).collect();
        let now = Instant::now();
        handler.advance(now);
        self.advance(&connection_ready, handler, now);
        if self.accept_paused_until.is_some_and(|t| t <= now) {
            self.accept_paused_until = None;
        }
        for (li, ready) in listener_ready.into_iter().enumerate() {
            if ready && self.accept_paused_until.is_none() {
                self.accept_from(li, handler, now);
            }
        }
        self.finish_waiting(handler, now);
        Ok(())
    }

    /// The poll set: `wake`, the handler's descriptors, the listeners (fd -1,
    /// ignored, while accepting is paused), then the connections, each
    /// waiting for what its phase needs (none while the handler works).
    fn poll_set(&self, wake: RawFd, handler_fds: &[RawFd], accepting: bool) -> Vec<libc::pollfd> {
        let mut fds = Vec::with_capacity(1 + handler_fds.len() + self.listeners.len() + self.connections.len());
        let entry = |fd, events| libc::pollfd { fd, events, revents: 0 };
        fds.push(entry(wake, libc::POLLIN));
        fds.extend(handler_fds.iter().map(|&fd| entry(fd, libc::POLLIN)));
        for (_, l) in &self.listeners {
            fds.push(entry(if accepting { l.as_raw_fd() } else { -1 }, libc::POLLIN));
        }
        for c in &self.connections {
            fds.push(match c.phase {
                Phase::Writing => entry(c.stream.as_raw_fd(), libc::POLLOUT),
                // A hang-up would be reported at once and forever: leave the
                // socket out until the answer is ready.
                Phase::Waiting { .. } => entry(-1, 0),
                Phase::Reading | Phase::Draining => entry(c.stream.as_raw_fd(), libc::POLLIN),
            });
        }
        fds
    }

    /// Milliseconds until the earliest connection deadline or `wake_at`; 0
    /// when a connection yielded with work left; -1 (forever) when there is
    /// nothing to wait for.
    fn poll_timeout(&self, now: Instant, wake_at: Option<Instant>) -> i32 {
        if self.connections.iter().any(|c| c.yielded) {
            return 0;
        }
        match self.connections.iter().map(|c| c.deadline).chain(wake_at).min() {
            None => -1,
            Some(t) => {
                // Round up so we do not wake a hair early and spin.
                duration::millis_ceil(t.saturating_duration_since(now)).min(i32::MAX as u64) as i32
            }
        }
    }

    /// Moves every ready (or yielded) connection forward by one share, and
    /// drops those that closed or passed their deadline.
    fn advance(&mut self, ready: &[bool], handler: &mut dyn Handler, now: Instant) {
        let mut keep = Vec::with_capacity(self.connections.len());
        for (mut c, &ready) in std::mem::take(&mut self.connections).into_iter().zip(ready) {
            let alive = if ready || c.yielded {
                c.yielded = false;
                self.progress(c, handler, now)
            } else {
                Some(c)
            };
            match alive {
                Some(c) if c.deadline > now => keep.push(c),
                Some(mut c) => {
                    if let Phase::Waiting { ticket, .. } = c.phase {
                        // The handler broke its promise: say so rather than close in silence.
                        handler.abandon(ticket);
                        queue_error(&mut c, Status::ServiceUnavailable);
                        c.start_writing(now, LINGER);
                        c.yielded = true;
                        keep.push(c);
                    }
                }
                None => {}
            }
        }
        self.connections = keep;
    }

    /// Gives the connections whose answer became ready their reply.
    fn finish_waiting(&mut self, handler: &mut dyn Handler, now: Instant) {
        for i in 0..self.connections.len() {
            let Phase::Waiting { ticket, head_only, keep_alive } = self.connections[i].phase else { continue };
            self.body.clear();
            let Some(reply) = handler.finish(ticket, &mut self.body) else { continue };
            let c = &mut self.connections[i];
            c.close_after_write = !write_reply(&mut c.out, &reply, &self.body, head_only, keep_alive);
            give_back(&mut self.body);
            c.start_writing(now, self.limits.timeout);
            // Written on the next turn, when the socket is known writable.
            c.yielded = true;
        }
    }

    /// Accepts up to [`ACCEPTS_PER_TURN`] connections from listener `li`.
    /// Forbidden clients and those over the cap get their error reply at once.
    fn accept_from(&mut self, li: usize, handler: &mut dyn Handler, now: Instant) {
        for _ in 0..ACCEPTS_PER_TURN {
            let (stream, peer) = match self.listeners[li].1.accept() {
                Ok(s) => s,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return self.accept_failed(&e, now),
            };
            if stream.set_nonblocking(true).is_err() {
                continue;
            }
            let _ = stream.set_nodelay(true);
            let served = self.connections.iter().filter(|c| !c.rejected).count();
            let reject = if !handler.permits(peer.ip()) {
                Some(Status::Forbidden)
            } else if served >= self.limits.max_connections && !self.evict_for_newcomer(peer.ip(), handler) {
                Some(Status::ServiceUnavailable)
            } else {
                None
            };
            let mut c = Connection {
                stream,
                peer: peer.ip(),
                phase: Phase::Reading,
                input: Vec::new(),
                out: Vec::new(),
                sent: 0,
                close_after_write: false,
                deadline: now + self.limits.timeout,
                waiting_since: now,
                blocked_since: None,
                yielded: false,
                answered: false,
                back_to_back: 0,
                rejected: reject.is_some(),
            };
            if let Some(status) = reject {
                // Rejected clients cost no slot, but they are bounded too: past
                // twice the cap, the oldest of them makes room, so a newcomer
                // is always answered.
                let rejected = self.connections.iter().filter(|c| c.rejected).count();
                if rejected >= 2 * self.limits.max_connections {
                    self.evict_oldest_rejected();
                }
                queue_error(&mut c, status);
                c.deadline = now + LINGER;
            }
            if let Some(c) = self.progress(c, handler, now) {
                self.connections.push(c);
            }
        }
    }

    /// The kernel refused a new descriptor (EMFILE, ENFILE, ENOBUFS, ...):
    /// pause accepting for a while instead of spinning on a listener that
    /// stays readable, and log once per interval with a count.
    fn accept_failed(&mut self, e: &io::Error, now: Instant) {
        self.accept_paused_until = Some(now + ACCEPT_BACKOFF);
        let (failures, last_log) = &mut self.accept_failures;
        *failures += 1;
        if last_log.is_none_or(|t| now.duration_since(t) >= ACCEPT_LOG_EVERY) {
            log::warn!(
                "accept failed {} time(s) since the last report: {e}; pausing new connections for {} ms each time",
                *failures,
                duration::millis(ACCEPT_BACKOFF)
            );
            *failures = 0;
            *last_log = Some(now);
        }
    }

    /// At the cap, makes room for a newcomer from `newcomer`, by closing:
    /// 1. a connection that was answered and only lingers for its client to
    ///    close;
    /// 2. else, one whose client does not take what it was sent (the send
    ///    buffer is full: a client that pipelines and never reads), or that
    ///    has more requests pipelined behind the scrape it waits for (no
    ///    Prometheus pipelines; a flood does), the one stalled longest first;
    /// 3. else, whatever its age, one that waits for a complete request (a
    ///    slowloris, an idle keep-alive): first those that never completed
    ///    a request, then the one waiting longest;
    /// 4. else, one of the address holding the most slots, if it holds more
    ///    than the newcomer's address: one client that keeps every slot busy
    ///    (pipelined scrapes waiting on a slow collector) cannot shut out
    ///    another.
    fn evict_for_newcomer(&mut self, newcomer: IpAddr, handler: &mut dyn Handler) -> bool {
        let served = || self.connections.iter().enumerate().filter(|(_, c)| !c.rejected);
        let lingering = served().filter(|(_, c)| c.phase == Phase::Draining).min_by_key(|(_, c)| c.waiting_since);
        let stalled_since = |c: &Connection| match c.phase {
            Phase::Writing => c.blocked_since,
            Phase::Waiting { .. } if !c.input.is_empty() => Some(c.waiting_since),
            _ => None,
        };
        let not_reading = || served().filter_map(|(i, c)| stalled_since(c).map(|t| (i, t))).min_by_key(|(_, t)| *t);
        let idle = || {
            served()
                .filter(|(_, c)| c.phase == Phase::Reading)
                .map(|(i, c)| (i, (c.answered, c.waiting_since)))
                .min_by_key(|(_, key)| *key)
        };
        let slots_of = |peer: IpAddr| served().filter(|(_, c)| c.peer == peer).count();
        let busiest = || {
            let (i, c) = served().max_by_key(|(_, c)| (slots_of(c.peer), std::cmp::Reverse(c.waiting_since)))?;
            (slots_of(c.peer) > slots_of(newcomer) + 1).then_some(i)
        };
        let Some(i) = lingering
            .map(|(i, _)| i)
            .or_else(|| not_reading().map(|(i, _)| i))
            .or_else(|| idle().map(|(i, _)| i))
            .or_else(busiest)
        else {
            return false;
        };
        let c = self.connections.swap_remove(i);
        if let Phase::Waiting { ticket, .. } = c.phase {
            handler.abandon(ticket);
        }
        true
    }

    /// Closes the rejected connection accepted first.
    fn evict_oldest_rejected(&mut self) {
        let oldest =
            self.connections.iter().enumerate().filter(|(_, c)| c.rejected).min_by_key(|(_, c)| c.waiting_since);
        if let Some((i, _)) = oldest {
            self.connections.swap_remove(i);
        }
    }

    /// Moves a connection forward, phase by phase, as far as its share of
    /// this turn allows without blocking. Returns it if it stays open.
    fn progress(&mut self, mut c: Connection, handler: &mut dyn Handler, now: Instant) -> Option<Connection> {
        let mut share = Share { requests: REQUESTS_PER_TURN, bytes: BYTES_PER_TURN };
        loop {
            let step = match c.phase {
                Phase::Reading => self.read_request(&mut c, handler, &mut share, now),
                Phase::Waiting { .. } => Step::Wait,
                Phase::Writing => self.write_out(&mut c, &mut share, now),
                Phase::Draining => drain(&mut c),
            };
            match step {
                Step::Again => {}
                Step::Wait => return Some(c),
                Step::Yield => {
                    c.yielded = true;
                    return Some(c);
                }
                Step::Close => return None,
            }
        }
    }

    /// Reading: serves a complete request head if one is buffered (and the
    /// connection's share allows), else reads more bytes.
    fn read_request(&mut self, c: &mut Connection, handler: &mut dyn Handler, share: &mut Share, now: Instant) -> Step {
        match http::parse(&c.input) {
            Parsed::Complete { request, len } => {
                if share.requests == 0 {
                    return Step::Yield;
                }

                share.requests -= 1;
                self.body.clear();
                let keep_alive = request.keep_alive && !request.has_body && c.back_to_back + 1 < MAX_PIPELINED;
                let head_only = request.method == "HEAD";
                let answer = handler.handle(&request, c.peer, &mut self.body);
                if answer == Answer::NextTurn {
                    return Step::Yield;
                }
                c.answered = true;
                c.back_to_back += 1;
                match answer {
                    Answer::NextTurn => {}
                    Answer::Now(reply) => {
                        c.close_after_write = !write_reply(&mut c.out, &reply, &self.body, head_only, keep_alive);
                        give_back(&mut self.body);
                        c.start_writing(now, self.limits.timeout);
                    }
                    Answer::Later { ticket, ready_by } => {
                        c.phase = Phase::Waiting { ticket, head_only, keep_alive };
                        c.deadline = ready_by.max(now) + LINGER;
                    }
                }
                c.input.drain(..len);
                return Step::Again;
            }
            Parsed::Reject(status) => {
                queue_error(c, status);
                c.start_writing(now, self.limits.timeout);
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
                    c.start_writing(now, self.limits.timeout);
                }
                Step::Again
            }
            Err(e) => io_step(&e),
        }
    }

    /// Writing: sends what the socket takes, within the connection's share;
    /// every write that makes progress extends the deadline. When all is
    /// sent, waits for the next request or shuts our side.
    fn write_out(&mut self, c: &mut Connection, share: &mut Share, now: Instant) -> Step {
        if c.sent < c.out.len() {
            if share.bytes == 0 {
                return Step::Yield;
            }
            let end = c.out.len().min(c.sent + share.bytes);
            // Before the answer is complete, a client that waits for it has
            // sent nothing more; one that did pipelines. (Looked at before
            // the last write: after it, the client may have read the answer
            // and sent its next request before the server looks.)
            let pipelined = end == c.out.len() && (!c.input.is_empty() || bytes_to_read(&c.stream) > 0);
            return match c.stream.write(&c.out[c.sent..end]) {
                Ok(0) => Step::Close,
                Ok(n) => {
                    c.sent += n;
                    if c.sent == c.out.len() && !pipelined {
                        c.back_to_back = 0;
                    }
                    share.bytes -= n;
                    c.blocked_since = None;
                    c.deadline = now + self.limits.timeout;
                    Step::Again
                }
                Err(e) => {
                    if e.kind() == io::ErrorKind::WouldBlock {
                        c.blocked_since.get_or_insert(now);
                    }
                    io_step(&e)
                }
            };
        }
        c.out.clear();
        c.sent = 0;
        give_back(&mut c.out);
        if c.close_after_write {
            let _ = c.stream.shutdown(Shutdown::Write);
            c.input = Vec::new();
            c.phase = Phase::Draining;
            c.deadline = now + LINGER;
        } else {
            c.phase = Phase::Reading;
            c.deadline = now + self.limits.timeout;
            c.waiting_since = now;
        }
        Step::Again
    }
}

impl Connection {
    /// Enters the writing phase with a fresh deadline.
    fn start_writing(&mut self, now: Instant, timeout: Duration) {
        self.sent = 0;
        self.phase = Phase::Writing;
        self.deadline = now + timeout;
        self.blocked_since = None;
    }
}

/// What a connection may still do in this turn.
struct Share {
    requests: usize,
    bytes: usize,
}

/// What a phase step leaves the connection to do.
enum Step {
    /// Go on at once.
    Again,
    /// Wait for the socket (or the handler) to be ready.
    Wait,
    /// Its share of the turn is used up, with work left: go on next turn.
    Yield,
    /// Close the connection.
    Close,
}

/// Writes a whole response into `out`. Returns whether the connection stays
/// open afterwards (only after a 200 to a request that allows it).
fn write_reply(out: &mut Vec<u8>, reply: &Reply, body: &[u8], head_only: bool, keep_alive: bool) -> bool {
    let keep_alive = keep_alive && reply.status == Status::Ok;
    let extra: Vec<(&str, &str)> = reply.headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    out.clear();
    http::write_head(out, reply.status, reply.content_type, body.len(), keep_alive, &extra);
    if !head_only {
        out.extend_from_slice(body);
    }
    keep_alive
}

/// Bytes the client sent that wait in the socket's receive queue (FIONREAD);
/// 0 when the kernel will not say.
fn bytes_to_read(stream: &TcpStream) -> usize {
    let mut waiting: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int through the pointer, valid for it.
    let r = unsafe { libc::ioctl(stream.as_raw_fd(), libc::FIONREAD, &mut waiting) };
    if r < 0 { 0 } else { usize::try_from(waiting).unwrap_or(0) }
}

/// Empties a buffer and shrinks it to [`KEEP_BUFFER_BYTES`] if it grew past
/// that, so one big response does not keep its memory for good.
fn give_back(buf: &mut Vec<u8>) {
    buf.clear();
    if buf.capacity() > KEEP_BUFFER_BYTES {
        buf.shrink_to(KEEP_BUFFER_BYTES);
    }
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
