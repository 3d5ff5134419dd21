//! Work in a forked child process, its output read over a pipe that the
//! poll loop watches. A collector that can stall (Broadcom's `wl` at 1.5 s
//! a call, a driver that hangs) runs this way, so it never holds the only
//! thread: the server keeps answering, SIGTERM acts at once, and a child
//! past its budget is stopped.
//!
//! fork(2) is safe here because the exporter has one thread. The child
//! writes its whole result and exits with `_exit`, running no destructors
//! of the parent's state.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};

/// A running (or finished) child and what it has written so far.
pub struct Child {
    pid: libc::pid_t,
    pipe: File,
    output: Vec<u8>,
    eof: bool,
    reaped: bool,
}

/// In the child: SIGTERM from the parent (or from `killall` in an init
/// script) kills the command it is running, then exits.
extern "C" fn on_term_in_child(_sig: libc::c_int) {
    crate::os::command::kill_running();
    // SAFETY: _exit is async-signal-safe.
    unsafe { libc::_exit(1) };
}

/// Most output a child may send; past it the child is stopped.
pub const MAX_CHILD_OUTPUT: usize = 8 * 1024 * 1024;

/// Runs `work` in a child process; its return value arrives through
/// [`Child::read_available`].
pub fn spawn(work: impl FnOnce() -> Vec<u8>) -> io::Result<Child> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: fds has room for the two descriptors pipe writes. pipe2 would
    // set the flags in one step but needs Linux 2.6.27.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe just returned these descriptors; we own them now.
    let (read, write) = unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) };
    // SAFETY: fcntl on descriptors we own.
    unsafe {
        libc::fcntl(read.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC);
        libc::fcntl(write.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC);
    }
    // SAFETY: the process has a single thread, so the child gets a consistent
    // copy of memory and may run ordinary code.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        drop(read);
        run_child(write, work);
    }
    drop(write);
    let flags = {
        // SAFETY: fcntl on our read end.
        unsafe { libc::fcntl(read.as_raw_fd(), libc::F_GETFL) }
    };
    // SAFETY: as above.
    unsafe { libc::fcntl(read.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) };
    Ok(Child { pid, pipe: read, output: Vec::new(), eof: false, reaped: false })
}

/// The child's side: own signal handling, the work, its bytes, `_exit`.
fn run_child(mut pipe: File, work: impl FnOnce() -> Vec<u8>) -> ! {
    // SAFETY: installing plain handlers in the new process; the parent's
    // handlers would write to the parent's signal pipe.
    unsafe {
        libc::signal(libc::SIGHUP, libc::SIG_IGN);
        libc::signal(libc::SIGINT, libc::SIG_DFL);
        libc::signal(libc::SIGTERM, on_term_in_child as *const () as libc::sighandler_t);
    }
    let bytes = work();
    let code = if pipe.write_all(&bytes).is_ok() { 0 } else { 1 };
    // SAFETY: _exit ends the child without running the parent's destructors.
    unsafe { libc::_exit(code) }
}

impl Child {
    /// The pipe to poll for readability.
    pub fn fd(&self) -> RawFd {
        self.pipe.as_raw_fd()
    }

    /// Reads what has arrived without blocking. Returns true once the child
    /// has closed its end (its output is complete).
    pub fn read_available(&mut self) -> io::Result<bool> {
        let mut chunk = [0u8; 16 * 1024];
        while !self.eof {
            match self.pipe.read(&mut chunk) {
                Ok(0) => self.eof = true,
                Ok(n) => {
                    self.output.extend_from_slice(&chunk[..n]);
                    if self.output.len() > MAX_CHILD_OUTPUT {
                        return Err(io::Error::new(io::ErrorKind::InvalidData, "child output too large"));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.eof)
    }

    /// What the child wrote.
    pub fn output(&self) -> &[u8] {
        &self.output
    }

    /// Asks the child to stop (SIGTERM: it kills its running command first).
    pub fn stop(&mut self) {
        if !self.reaped {
            // SAFETY: signalling our own child, not reaped yet, so the pid is still ours.
            unsafe { libc::kill(self.pid, libc::SIGTERM) };
        }
    }

    /// Collects the child's exit status if it has exited. Returns whether it
    /// is gone.
    pub fn try_reap(&mut self) -> bool {
        if !self.reaped {
            let mut status = 0;
            // SAFETY: waitpid on our own child with a valid status pointer.
            let r = unsafe { libc::waitpid(self.pid, &mut status, libc::WNOHANG) };
            self.reaped = r == self.pid || r < 0;
        }
        self.reaped
    }

    /// Kills the child outright (SIGKILL) if it is still there.
    pub fn kill(&mut self) {
        if !self.try_reap() {
            // SAFETY: signalling our own child, not reaped yet.
            unsafe { libc::kill(self.pid, libc::SIGKILL) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn wait(child: &mut Child, within: Duration) -> bool {
        let end = Instant::now() + within;
        while Instant::now() < end {
            if child.read_available().unwrap() {
                while !child.try_reap() {
                    std::thread::sleep(Duration::from_millis(1));
                }
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    }

    #[test]
    fn output_arrives_and_the_child_is_reaped() {
        let mut child = spawn(|| b"hello from the child".to_vec()).unwrap();
        assert!(wait(&mut child, Duration::from_secs(10)));
        assert_eq!(child.output(), b"hello from the child");
    }

    #[test]
    fn a_stuck_child_is_stopped() {
        let mut child = spawn(|| {
            std::thread::sleep(Duration::from_secs(30));
            Vec::new()
        })
        .unwrap();
        assert!(!child.read_available().unwrap());
        child.stop();
        assert!(wait(&mut child, Duration::from_secs(10)), "SIGTERM did not end the child");
        assert!(child.output().is_empty());
    }
}
