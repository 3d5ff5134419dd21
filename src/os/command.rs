//! Runs helper commands (`wl`, `nvram`) with a deadline: output is read with
//! poll(2), and a command still running at the deadline is killed with its
//! whole process group, so a hung driver tool cannot stall a scrape.

use std::fmt;
use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

/// Largest output accepted from one command.
pub const MAX_OUTPUT: usize = 1024 * 1024;

/// Why a command gave no usable output.
#[derive(Debug)]
pub enum CommandError {
    /// The program does not exist.
    NotFound(String),
    /// It could not be started.
    Spawn(String, io::Error),
    /// It ran past the deadline and was killed.
    Timeout(String, Duration),
    /// It exited non-zero (or by a signal).
    Failed {
        /// The command line.
        command: String,
        /// Exit code, if it exited.
        code: Option<i32>,
        /// The first line of its stderr.
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
            CommandError::Timeout(c, d) => write!(f, "{c}: killed after {} ms without finishing", d.as_millis()),
            CommandError::Failed { command, code: Some(code), stderr } => {
                write!(f, "{command}: exit status {code}: {stderr}")
            }
            CommandError::Failed { command, code: None, stderr } => {
                write!(f, "{command}: killed by a signal: {stderr}")
            }
            CommandError::TooLarge(c) => write!(f, "{c}: more than {MAX_OUTPUT} bytes of output"),
        }
    }
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
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own group, so a timeout kills helpers it started too.
        .process_group(0)
        .spawn()
        .map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                CommandError::NotFound(program.to_string())
            } else {
                CommandError::Spawn(line.clone(), e)
            }
        })?;
    RUNNING.store(child.id() as i32, Ordering::SeqCst);
    let _running = Running;
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    let mut err = Vec::new();
    let outcome = read_both(&mut child, &mut out, &mut err, deadline);
    let kill = |child: &mut std::process::Child| {
        // SAFETY: signalling the process group we created for this child.
        unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
        let _ = child.wait();
    };
    match outcome {
        Err(ReadEnd::Deadline) => {
            kill(&mut child);
            return Err(CommandError::Timeout(line, timeout));
        }
        Err(ReadEnd::TooLarge) => {
            kill(&mut child);
            return Err(CommandError::TooLarge(line));
        }
        Ok(()) => {}
    }
    // Output is complete; the process exits at once or is made to.
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(2)),
            _ => {
                kill(&mut child);
                return Err(CommandError::Timeout(line, timeout));
            }
        }
    };
    if !status.success() {
        let stderr = String::from_utf8_lossy(&err).lines().next().unwrap_or("").trim().to_string();
        return Err(CommandError::Failed { command: line, code: status.code(), stderr });
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

enum ReadEnd {
    Deadline,
    TooLarge,
}

/// Reads stdout and stderr until both close, the deadline passes, or the
/// output grows too large.
fn read_both(
    child: &mut std::process::Child,
    out: &mut Vec<u8>,
    err: &mut Vec<u8>,
    deadline: Instant,
) -> Result<(), ReadEnd> {
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
        let ms = left.as_millis().clamp(1, i32::MAX as u128) as i32;
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
        assert!(matches!(&e, CommandError::Failed { code: Some(3), stderr, .. } if stderr == "bad"), "{e}");
        assert!(run("/nonexistent/wl", &[], Duration::from_secs(5)).unwrap_err().is_not_found());
        let started = Instant::now();
        // A hung tool with a child of its own: both are killed at the deadline.
        let e = run("sh", &["-c", "sleep 30 & sleep 30"], Duration::from_millis(300)).unwrap_err();
        assert!(matches!(e, CommandError::Timeout(..)), "{e}");
        assert!(started.elapsed() < Duration::from_secs(10));
        let e = run("sh", &["-c", "head -c 2000000 /dev/zero"], Duration::from_secs(10)).unwrap_err();
        assert!(matches!(e, CommandError::TooLarge(_)), "{e}");
    }
}
