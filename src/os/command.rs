//! Runs helper commands (`wl`, `nvram`) with a deadline: output is read with
//! poll(2), and a command still running at the deadline is killed with its
//! whole process group, so a hung driver tool cannot stall a scrape.
//!
//! Started with fork and execvp rather than `std::process::Command`, whose
//! environment map and posix_spawn path cost about 15 KB on MIPS for two
//! plain commands.

use crate::os::duration;
use crate::parse::excerpt;
use std::ffi::CString;
use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

/// Largest output accepted from one command.
pub const MAX_OUTPUT: usize = 1024 * 1024;

/// Most of a failed command's stderr line that its error quotes.
pub const MAX_STDERR: usize = 120;

/// Why a command gave no usable output.
#[derive(Debug)]
pub enum CommandError {
    /// The program does not exist.
    NotFound(String),
    /// It could not be started.
    Spawn(String, io::Error),
    /// It ran past the deadline and was killed.
    Timeout(String, Duration),
    /// It exited with a status other than 0.
    Failed {
        /// The command line.
        command: String,
        /// Its exit status.
        code: i32,
        /// The first line of its stderr, clipped to [`MAX_STDERR`] bytes.
        stderr: String,
    },
    /// A signal killed it (11: it crashed on a bad address).
    Killed {
        /// The command line.
        command: String,
        /// The signal's number.
        signal: i32,
        /// The first line of its stderr, clipped to [`MAX_STDERR`] bytes.
        stderr: String,
    },
    /// It printed more than [`MAX_OUTPUT`].
    TooLarge(String),
}

impl CommandError {
    /// True when the program is simply not installed.
    pub fn is_not_found(&self) -> bool {
        matches!(self, CommandError::NotFound(_))
    }
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::NotFound(c) => write!(f, "{c}: command not found"),
            CommandError::Spawn(c, e) => write!(f, "{c}: cannot run: {e}"),
            CommandError::Timeout(c, d) => write!(f, "{c}: killed after {} ms without finishing", duration::millis(*d)),
            CommandError::Failed { command, code, stderr } => {
                write!(f, "{command}: exit status {code}")?;
                said(f, stderr)
            }
            CommandError::Killed { command, signal, stderr } => {
                write!(f, "{command}: killed by signal {signal}")?;
                said(f, stderr)
            }
            CommandError::TooLarge(c) => write!(f, "{c}: more than {MAX_OUTPUT} bytes of output"),
        }
    }
}

/// What a failed command said on stderr, quoted (control characters
/// escaped: it is the command's text in our log), if anything.
fn said(f: &mut fmt::Formatter<'_>, stderr: &str) -> fmt::Result {
    if stderr.is_empty() { Ok(()) } else { write!(f, ": {stderr:?}") }
}

/// The process group of the command running now (0: none), for
/// [`kill_running`].
static RUNNING: AtomicI32 = AtomicI32::new(0);

/// Clears [`RUNNING`] however `run` returns.
struct Running;

impl Drop for Running {
    fn drop(&mut self) {
        RUNNING.store(0, Ordering::SeqCst);
    }
}

/// Kills the command running now, with its process group. Only atomics and
/// kill(2): safe in a signal handler, where a collector's child process
/// calls it when the exporter stops it.
pub fn kill_running() {
    let group = RUNNING.load(Ordering::SeqCst);
    if group > 0 {
        // SAFETY: kill(2) is async-signal-safe; the group is our command's.
        unsafe { libc::kill(-group, libc::SIGKILL) };
    }
}

/// Runs `program args...` and returns its stdout as text (lossy UTF-8).
pub fn run(program: &str, args: &[&str], timeout: Duration) -> Result<String, CommandError> {
    let line = std::iter::once(program).chain(args.iter().copied()).collect::<Vec<_>>().join(" ");
    let mut child = Child::spawn(program, args).map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            CommandError::NotFound(program.to_string())
        } else {
            CommandError::Spawn(line.clone(), e)
        }
    })?;
    RUNNING.store(child.pid, Ordering::SeqCst);
    let _running = Running;
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    let mut err = Vec::new();
    let outcome = read_both(&mut child, &mut out, &mut err, deadline);
    match outcome {
        Err(ReadEnd::Deadline) => {
            child.kill();
            return Err(CommandError::Timeout(line, timeout));
        }
        Err(ReadEnd::TooLarge) => {
            child.kill();
            return Err(CommandError::TooLarge(line));
        }
        Ok(()) => {}
    }
    // Output is complete; the process exits at once or is made to.
    let status = loop {
        match child.try_wait() {
            Some(status) => break status,
            None if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(2)),
            None => {
                child.kill();
                return Err(CommandError::Timeout(line, timeout));
            }
        }
    };
    // Exited with 0, exited with another code, or killed by a signal.
    if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
        return Ok(String::from_utf8_lossy(&out).into_owned());
    }
    let stderr = excerpt(String::from_utf8_lossy(&err).lines().next().unwrap_or("").trim(), MAX_STDERR);
    Err(if libc::WIFEXITED(status) {
        CommandError::Failed { command: line, code: libc::WEXITSTATUS(status), stderr }
    } else {
        CommandError::Killed { command: line, signal: libc::WTERMSIG(status), stderr }
    })
}

/// A started command: its process (leader of its own group) and the read
/// ends of its stdout and stderr.
struct Child {
    pid: libc::pid_t,
    stdout: Option<File>,
    stderr: Option<File>,
    reaped: bool,
}

/// A pipe as two files, both close-on-exec (pipe2 needs Linux 2.6.27).
fn pipe() -> io::Result<(File, File)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: fds has room for the two descriptors pipe writes.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe just returned these descriptors; we own them now.
    let ends = unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) };
    for fd in fds {
        // SAFETY: fcntl on a descriptor we own.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    Ok(ends)
}

impl Child {
    /// Forks and execs `program` (searched in PATH) with stdin from
    /// /dev/null, stdout and stderr into pipes, in a new process group. An
    /// exec failure comes back as its errno over a close-on-exec pipe, so a
    /// missing program is `NotFound` here, as with `Command::spawn`.
    fn spawn(program: &str, args: &[&str]) -> io::Result<Child> {
        let invalid = |_| io::Error::new(io::ErrorKind::InvalidInput, "NUL byte in the command line");
        let mut argv_owned = vec![CString::new(program).map_err(invalid)?];
        for a in args {
            argv_owned.push(CString::new(*a).map_err(invalid)?);
        }
        let mut argv: Vec<*const libc::c_char> = argv_owned.iter().map(|a| a.as_ptr()).collect();
        argv.push(std::ptr::null());
        // An ignored SIGCHLD (inherited from whoever started the exporter)
        // makes the kernel reap the command unseen, and its exit status, the
        // difference between "not a Broadcom interface" and "crashed", with it.
        // SAFETY: setting a disposition; the process has one thread.
        unsafe { libc::signal(libc::SIGCHLD, libc::SIG_DFL) };
        let null = File::open("/dev/null")?;
        let (out_r, out_w) = pipe()?;
        let (err_r, err_w) = pipe()?;
        let (status_r, status_w) = pipe()?;
        // SAFETY: the exporter (and the collector child this runs in) has one
        // thread, so the new process has a consistent copy of memory. Between
        // fork and exec it only calls async-signal-safe functions on values
        // prepared above, then execs or _exits.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(io::Error::last_os_error());
        }
        if pid == 0 {
            // SAFETY: see above; every descriptor and pointer is valid here.
            unsafe {
                libc::setpgid(0, 0);
                libc::dup2(null.as_raw_fd(), 0);
                libc::dup2(out_w.as_raw_fd(), 1);
                libc::dup2(err_w.as_raw_fd(), 2);
                // A clean start for the program, as Command gives: the Rust
                // runtime ignores SIGPIPE, and the caller may block signals.
                libc::signal(libc::SIGPIPE, libc::SIG_DFL);
                let mut none: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut none);
                libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
                libc::execvp(argv[0], argv.as_ptr());
                let errno = *libc::__errno_location();
                libc::write(status_w.as_raw_fd(), (&errno as *const libc::c_int).cast(), 4);
                libc::_exit(127);
            }
        }
        drop((null, out_w, err_w, status_w));
        let mut child = Child { pid, stdout: Some(out_r), stderr: Some(err_r), reaped: false };
        // EOF: exec succeeded and closed the pipe. Four bytes: its errno.
        let mut errno = [0u8; 4];
        let mut got = 0;
        let mut status_r = status_r;
        while got < 4 {
            match status_r.read(&mut errno[got..]) {
                Ok(0) => break,
                Ok(k) => got += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        if got == 4 {
            child.wait();
            return Err(io::Error::from_raw_os_error(i32::from_ne_bytes(errno)));
        }
        Ok(child)
    }

    /// The wait status once the process has exited; None while it runs.
    fn try_wait(&mut self) -> Option<libc::c_int> {
        let mut status = 0;
        // SAFETY: waitpid on our own child, with a valid status pointer.
        let r = unsafe { libc::waitpid(self.pid, &mut status, libc::WNOHANG) };
        if r == self.pid {
            self.reaped = true;
            return Some(status);
        }
        if r < 0 {
            // Already reaped (ECHILD): nothing left to wait for.
            self.reaped = true;
            return Some(-1);
        }
        None
    }

    /// Waits for the process to exit.
    fn wait(&mut self) {
        let mut status = 0;
        // SAFETY: as in try_wait; EINTR is retried.
        while !self.reaped && unsafe { libc::waitpid(self.pid, &mut status, 0) } < 0 {
            if io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                break;
            }
        }
        self.reaped = true;
    }

    /// Kills the process and its group, and reaps it.
    fn kill(&mut self) {
        // SAFETY: signalling the process group we created for this child.
        unsafe { libc::kill(-self.pid, libc::SIGKILL) };
        self.wait();
    }
}

impl Drop for Child {
    /// Never leaves a zombie: a child not yet reaped is killed and reaped.
    fn drop(&mut self) {
        if !self.reaped {
            self.kill();
        }
    }
}

enum ReadEnd {
    Deadline,
    TooLarge,
}

/// Reads stdout and stderr until both close, the deadline passes, or the
/// output grows too large.
fn read_both(child: &mut Child, out: &mut Vec<u8>, err: &mut Vec<u8>, deadline: Instant) -> Result<(), ReadEnd> {
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let mut chunk = [0u8; 4096];
    while stdout.is_some() || stderr.is_some() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ReadEnd::Deadline);
        }
        let mut fds = Vec::with_capacity(2);
        if let Some(s) = &stdout {
            fds.push(libc::pollfd { fd: s.as_raw_fd(), events: libc::POLLIN, revents: 0 });
        }
        if let Some(s) = &stderr {
            fds.push(libc::pollfd { fd: s.as_raw_fd(), events: libc::POLLIN, revents: 0 });
        }
        let ms = duration::millis(left).clamp(1, i32::MAX as u64) as i32;
        // SAFETY: fds is a valid array of fds.len() pollfd structs.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
        if n < 0 {
            if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(ReadEnd::Deadline);
        }
        if n == 0 {
            continue; // the loop head sees the deadline
        }
        for (pipe, buf) in
            [(&mut stdout as &mut dyn PipeSlot, &mut *out), (&mut stderr as &mut dyn PipeSlot, &mut *err)]
        {
            if let Some(fd) = pipe.fd() {
                if fds.iter().any(|p| p.fd == fd && p.revents != 0) {
                    match pipe.read(&mut chunk) {
                        Ok(0) | Err(_) => pipe.close(),
                        Ok(k) => {
                            buf.extend_from_slice(&chunk[..k]);
                            if buf.len() > MAX_OUTPUT {
                                return Err(ReadEnd::TooLarge);
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// An optional pipe end, read and closed uniformly.
trait PipeSlot {
    fn fd(&self) -> Option<i32>;
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize>;
    fn close(&mut self);
}

impl<R: Read + AsRawFd> PipeSlot for Option<R> {
    fn fd(&self) -> Option<i32> {
        self.as_ref().map(|r| r.as_raw_fd())
    }
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Some(r) => r.read(buf),
            None => Ok(0),
        }
    }
    fn close(&mut self) {
        *self = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_errors_and_timeouts() {
        assert_eq!(run("sh", &["-c", "echo hello; echo oops >&2"], Duration::from_secs(5)).unwrap(), "hello\n");
        let e = run("sh", &["-c", "echo bad >&2; exit 3"], Duration::from_secs(5)).unwrap_err();
        assert!(matches!(&e, CommandError::Failed { code: 3, stderr, .. } if stderr == "bad"), "{e}");
        assert_eq!(e.to_string(), "sh -c echo bad >&2; exit 3: exit status 3: \"bad\"");
        assert!(run("/nonexistent/wl", &[], Duration::from_secs(5)).unwrap_err().is_not_found());
        let started = Instant::now();
        // A hung tool with a child of its own: both are killed at the deadline.
        let e = run("sh", &["-c", "sleep 30 & sleep 30"], Duration::from_millis(300)).unwrap_err();
        assert!(matches!(e, CommandError::Timeout(..)), "{e}");
        assert!(started.elapsed() < Duration::from_secs(10));
        let e = run("sh", &["-c", "head -c 2000000 /dev/zero"], Duration::from_secs(10)).unwrap_err();
        assert!(matches!(e, CommandError::TooLarge(_)), "{e}");
    }

    /// An ignored SIGCHLD, inherited from whoever started the exporter,
    /// must not lose the exit status.
    #[test]
    fn exit_status_survives_an_ignored_sigchld() {
        // SAFETY: setting a disposition; `run` sets its own again.
        unsafe { libc::signal(libc::SIGCHLD, libc::SIG_IGN) };
        let e = run("sh", &["-c", "exit 3"], Duration::from_secs(5)).unwrap_err();
        assert!(matches!(e, CommandError::Failed { code: 3, .. }), "{e}");
    }

    #[test]
    fn odd_programs_and_endings() {
        let t = Duration::from_secs(5);
        // stdin is /dev/null: a program reading it ends at once.
        assert_eq!(run("cat", &[], t).unwrap(), "");
        // Found in PATH, with its arguments.
        assert_eq!(run("printf", &["%s-%s", "a b", "c"], t).unwrap(), "a b-c");
        // Killed by a signal: its number, and no stderr to quote.
        let e = run("sh", &["-c", "kill -9 $$"], t).unwrap_err();
        assert!(matches!(&e, CommandError::Killed { signal: 9, .. }), "{e}");
        assert_eq!(e.to_string(), "sh -c kill -9 $$: killed by signal 9");
        let e = run("sh", &["-c", "echo dying >&2; kill -SEGV $$"], t).unwrap_err();
        assert_eq!(e.to_string(), "sh -c echo dying >&2; kill -SEGV $$: killed by signal 11: \"dying\"");
        // A failure without stderr says no more than its status.
        assert_eq!(run("false", &[], t).unwrap_err().to_string(), "false: exit status 1");
        // Control characters are escaped in the message.
        let e = run("sh", &["-c", "printf 'a\\033[2Jb\\rc' >&2; exit 1"], t).unwrap_err();
        assert!(e.to_string().ends_with(r#": "a\u{1b}[2Jb\rc""#), "{e}");
        // A flood on stderr is quoted by its first line, clipped.
        let e = run("sh", &["-c", "head -c 5000 /dev/zero | tr '\\0' x >&2; exit 2"], t).unwrap_err();
        let CommandError::Failed { code: 2, stderr, .. } = &e else { panic!("{e}") };
        assert_eq!(stderr.len(), MAX_STDERR + '…'.len_utf8(), "{e}");
        // Not executable, or a directory: a spawn error, not "not found".
        let e = run("/dev/null", &[], t).unwrap_err();
        assert!(matches!(e, CommandError::Spawn(..)), "{e}");
        let e = run("/", &[], t).unwrap_err();
        assert!(matches!(e, CommandError::Spawn(..)), "{e}");
        assert!(run("no-such-program-here", &[], t).unwrap_err().is_not_found());
        // A NUL byte cannot reach execvp.
        let e = run("sh", &["-c", "echo\0x"], t).unwrap_err();
        assert!(matches!(e, CommandError::Spawn(..)), "{e}");
        // The program runs in its own process group.
        let out = run("sh", &["-c", "ps -o pgid= -p $$ 2>/dev/null || cut -d' ' -f5 /proc/$$/stat"], t).unwrap();
        let pgid: i32 = out.trim().parse().unwrap();
        // SAFETY: getpgrp has no preconditions.
        assert_ne!(pgid, unsafe { libc::getpgrp() });
    }
}
