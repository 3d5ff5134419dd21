//! `--supervise`: the exporter as a child of a small parent that starts it
//! again when it dies. Entware's rc.func has no respawn (procd has, on
//! OpenWrt), so there a crash would leave nothing serving until a reboot.
//!
//! The parent forks (no exec: the child goes on from `cli::main` as a plain
//! exporter, reading its config anew each time), then waits for signals:
//! SIGCHLD says the child died, SIGHUP is passed on (or, while it waits to
//! restart, restarts at once), SIGTERM and SIGINT are passed on and end
//! both. A child that exits with status 0 was told to stop (rc.func's
//! stop signals every process of the name at once), so the parent stops
//! too; any other death is a crash, restarted after a delay that doubles
//! from 1 s to 60 s and starts over after a minute of good running. Both
//! processes keep one thread, and fork is safe for that reason.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The first restart's delay; each quick crash doubles it.
const FIRST_DELAY: Duration = Duration::from_secs(1);
/// The longest delay between restarts.
const MAX_DELAY: Duration = Duration::from_secs(60);
/// A child that ran this long was healthy: its crash restarts after
/// [`FIRST_DELAY`] again.
const HEALTHY: Duration = Duration::from_secs(60);
/// How long a stopping child may take before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// Restarts so far, as the child knows it (for `ap_exporter_restarts_total`).
static RESTARTS: AtomicU32 = AtomicU32::new(0);
/// Whether this process runs under a supervisor.
static SUPERVISED: AtomicBool = AtomicBool::new(false);

/// In a supervised exporter: how often its supervisor restarted it. `None`
/// when it is not supervised.
pub fn restarts() -> Option<u32> {
    SUPERVISED.load(Ordering::Relaxed).then(|| RESTARTS.load(Ordering::Relaxed))
}

/// Which side of the fork the caller is on.
pub enum Role {
    /// The exporter: go on and serve.
    Exporter,
    /// The supervisor, done: exit with this code.
    Finished(u8),
}

/// How a child ended, from waitpid's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Death {
    /// Exit status 0: it was told to stop.
    Clean,
    /// Any other exit status.
    Status(i32),
    /// Killed by this signal.
    Signal(i32),
}

impl Death {
    fn of(status: libc::c_int) -> Death {
        if libc::WIFSIGNALED(status) {
            // The exporter handles these and exits 0, but a child killed
            // before its handlers were in place was told to stop too.
            match libc::WTERMSIG(status) {
                libc::SIGTERM | libc::SIGINT => Death::Clean,
                sig => Death::Signal(sig),
            }
        } else {
            match libc::WEXITSTATUS(status) {
                0 => Death::Clean,
                code => Death::Status(code),
            }
        }
    }
}

impl std::fmt::Display for Death {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Death::Clean => f.write_str("stopped"),
            Death::Status(code) => write!(f, "exited with status {code}"),
            Death::Signal(0) => f.write_str("is gone"),
            Death::Signal(sig) => write!(f, "was killed by signal {sig}"),
        }
    }
}

/// The delay before the next restart, after a child that ran `ran` and
/// the delay used last time.
fn next_delay(last: Duration, ran: Duration) -> Duration {
    if ran >= HEALTHY { FIRST_DELAY } else { (last * 2).min(MAX_DELAY) }
}

/// Becomes the supervisor of a forked exporter. Returns [`Role::Exporter`]
/// in each child, and [`Role::Finished`] in the parent when it is told to
/// stop, or when the first child could not start (a start-up error, such as
/// a port in use, is the exporter's to report once, not to repeat forever).
///
/// The parent needs no handlers: it blocks the signals it cares about and
/// takes them one at a time with sigtimedwait(2) (in Linux since 2.2). A
/// blocked SIGCHLD stays pending, though its default action is to ignore.
pub fn run() -> Role {
    // SAFETY: sigset_t is plain old data; the calls below fill the locals given.
    let (mut wanted, mut before): (libc::sigset_t, libc::sigset_t) = unsafe { std::mem::zeroed() };
    // SAFETY: as above; SIGCHLD set to its default, since an ignored one
    // (inherited from whoever started us) would reap the child unseen.
    unsafe {
        libc::signal(libc::SIGCHLD, libc::SIG_DFL);
        libc::sigemptyset(&mut wanted);
        for sig in [libc::SIGHUP, libc::SIGTERM, libc::SIGINT, libc::SIGCHLD] {
            libc::sigaddset(&mut wanted, sig);
        }
        libc::sigprocmask(libc::SIG_BLOCK, &wanted, &mut before);
    }
    // SAFETY: getpid has no preconditions.
    let supervisor = unsafe { libc::getpid() };
    let mut pid = match fork_exporter(supervisor, &before) {
        Ok(Some(pid)) => pid,
        Ok(None) => return Role::Exporter,
        Err(e) => {
            log::error!("--supervise: cannot fork the exporter: {e}");
            return Role::Finished(1);
        }
    };
    log::info!("supervising the exporter (pid {pid})");
    let mut started = Instant::now();
    // Halved, so that the first quick crash waits FIRST_DELAY.
    let mut delay = FIRST_DELAY / 2;
    // Set while no child runs: when to start the next.
    let mut restart_at: Option<Instant> = None;
    // Once told to stop: whether, and when the child is killed if still there.
    let mut stopping = false;
    let mut kill_at: Option<Instant> = None;
    loop {
        match next_signal(&wanted, [restart_at, kill_at].into_iter().flatten().min()) {
            libc::SIGTERM | libc::SIGINT if restart_at.is_some() => return Role::Finished(0),
            libc::SIGTERM | libc::SIGINT if !stopping => {
                stopping = true;
                kill_at = Some(Instant::now() + STOP_GRACE);
                send(pid, libc::SIGTERM);
            }
            // While waiting to restart (a config fixed after a crash): now.
            libc::SIGHUP if restart_at.is_some() => restart_at = Some(Instant::now()),
            libc::SIGHUP => send(pid, libc::SIGHUP),
            _ => {}
        }
        if kill_at.is_some_and(|t| t <= Instant::now()) {
            // Once: then wait for its death without a deadline.
            kill_at = None;
            send(pid, libc::SIGKILL);
        }
        if restart_at.is_none() {
            if let Some(death) = reap(pid) {
                match death {
                    _ if stopping => return Role::Finished(0),
                    Death::Clean => return Role::Finished(0),
                    // The first one never served: the exporter said why.
                    Death::Status(code) if RESTARTS.load(Ordering::Relaxed) == 0 => {
                        return Role::Finished(code.clamp(1, 255) as u8);
                    }
                    _ => {}
                }
                delay = next_delay(delay, started.elapsed());
                log::error!("the exporter (pid {pid}) {death}; starting it again in {} s", delay.as_secs());
                restart_at = Some(Instant::now() + delay);
            }
        }
        if restart_at.is_some_and(|t| t <= Instant::now()) {
            // Counted before the fork, so the child knows its number.
            RESTARTS.fetch_add(1, Ordering::Relaxed);
            match fork_exporter(supervisor, &before) {
                Ok(Some(p)) => (pid, started, restart_at) = (p, Instant::now(), None),
                Ok(None) => return Role::Exporter,
                // Out of memory or processes: try again after the same delay.
                Err(e) => {
                    RESTARTS.fetch_sub(1, Ordering::Relaxed);
                    log::error!("cannot fork the exporter: {e}");
                    restart_at = Some(Instant::now() + delay);
                }
            }
        }
    }
}

/// Forks: `Some(pid)` in the parent, `None` in the child. The child gets
/// back the signal mask from before the supervisor, but SIGHUP, SIGTERM and
/// SIGINT stay blocked until the exporter has its handlers
/// ([`crate::os::signals::Signals::install`] unblocks them): one arriving
/// while it reads its config would otherwise kill it. It dies with the
/// supervisor, so a killed supervisor leaves no unsupervised exporter.
fn fork_exporter(supervisor: libc::pid_t, mask: &libc::sigset_t) -> io::Result<Option<libc::pid_t>> {
    // SAFETY: the process has one thread, so the child gets a consistent copy.
    match unsafe { libc::fork() } {
        0 => {
            SUPERVISED.store(true, Ordering::Relaxed);
            // SAFETY: plain values; the mask is a copy sigprocmask gave,
            // with three signals added.
            unsafe {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM as libc::c_ulong, 0, 0, 0);
                if libc::getppid() != supervisor {
                    libc::_exit(0);
                }
                let mut child_mask = *mask;
                for sig in [libc::SIGHUP, libc::SIGTERM, libc::SIGINT] {
                    libc::sigaddset(&mut child_mask, sig);
                }
                libc::sigprocmask(libc::SIG_SETMASK, &child_mask, std::ptr::null_mut());
            }
            Ok(None)
        }
        p if p < 0 => Err(io::Error::last_os_error()),
        p => Ok(Some(p)),
    }
}

/// The next of the `wanted` (blocked) signals, waiting at most until
/// `until`; 0 when the time is up first or the wait was interrupted.
fn next_signal(wanted: &libc::sigset_t, until: Option<Instant>) -> libc::c_int {
    let timeout = until.map(|t| {
        let left = t.saturating_duration_since(Instant::now());
        libc::timespec { tv_sec: left.as_secs() as _, tv_nsec: left.subsec_nanos() as _ }
    });
    let timeout_ptr = timeout.as_ref().map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: a valid set and, when given, a valid timespec; no siginfo is asked for.
    unsafe { libc::sigtimedwait(wanted, std::ptr::null_mut(), timeout_ptr) }.max(0)
}

fn send(pid: libc::pid_t, sig: libc::c_int) {
    // SAFETY: kill with a pid of our own child; ESRCH (already gone) is fine.
    unsafe { libc::kill(pid, sig) };
}

/// How the child ended, if it has.
fn reap(pid: libc::pid_t) -> Option<Death> {
    let mut status = 0;
    // SAFETY: waitpid on our own child, writing into a local.
    let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
    match r {
        r if r == pid => Some(Death::of(status)),
        // No such child any more (reaped by someone else): gone, cause unknown.
        r if r < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::ECHILD) => Some(Death::Signal(0)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quick_crashes_back_off_and_a_healthy_run_starts_over() {
        let mut d = FIRST_DELAY / 2;
        let mut seen = Vec::new();
        for _ in 0..9 {
            d = next_delay(d, Duration::from_secs(2));
            seen.push(d.as_secs());
        }
        assert_eq!(seen, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(next_delay(Duration::from_secs(60), HEALTHY), FIRST_DELAY);
    }

    #[test]
    fn deaths_from_wait_statuses() {
        // Linux's encoding: exit code in bits 8-15; a signal in bits 0-6.
        assert_eq!(Death::of(0), Death::Clean);
        assert_eq!(Death::of(1 << 8), Death::Status(1));
        assert_eq!(Death::of(libc::SIGKILL), Death::Signal(libc::SIGKILL));
        assert_eq!(Death::of(libc::SIGSEGV | 0x80), Death::Signal(libc::SIGSEGV));
        assert_eq!(Death::of(libc::SIGTERM), Death::Clean);
        assert_eq!(Death::Signal(9).to_string(), "was killed by signal 9");
    }
}
