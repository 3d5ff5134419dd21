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
    // One copy of the fork code for every caller's closure type.
    let mut work = Some(work);
    spawn_dyn(&mut || work.take().map_or_else(Vec::new, |w| w()))
}

fn spawn_dyn(work: &mut dyn FnMut() -> Vec<u8>) -> io::Result<Child> {
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
    // SAFETY: fcntl on our read end. Set before fork, so a failure leaves nothing to undo.
    let flags = unsafe { libc::fcntl(read.as_raw_fd(), libc::F_GETFL) };
    // SAFETY: as above.
    if flags < 0 || unsafe { libc::fcntl(read.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    // Signals stay blocked across fork: one arriving before the child has its
    // own handlers would run the parent's, which write to the parent's pipe.
    // SAFETY: sigset_t is plain old data; sigfillset and sigprocmask fill and
    // read the locals they are given.
    let mut all: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let mut before: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    unsafe {
        libc::sigfillset(&mut all);
        libc::sigprocmask(libc::SIG_BLOCK, &all, &mut before);
    }
    // SAFETY: the process has a single thread, so the child gets a consistent
    // copy of memory and may run ordinary code.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        drop(read);
        run_child(write, parent, &before, work);
    }
    let forked = io::Error::last_os_error();
    // SAFETY: restoring the mask saved above.
    unsafe { libc::sigprocmask(libc::SIG_SETMASK, &before, std::ptr::null_mut()) };
    if pid < 0 {
        return Err(forked);
    }
    drop(write);
    Ok(Child { pid, pipe: read, output: Vec::new(), eof: false, reaped: false })
}

/// The child's side: its own signal handling, no descriptors but its pipe
/// and the standard streams, death with the parent, the work, its bytes,
/// `_exit`.
fn run_child(mut pipe: File, parent: libc::pid_t, mask: &libc::sigset_t, work: &mut dyn FnMut() -> Vec<u8>) -> ! {
    // SAFETY: installing plain handlers in the new process (the parent's
    // would write to the parent's signal pipe), then unblocking what the
    // parent had unblocked; prctl and getppid take plain values.
    unsafe {
        libc::signal(libc::SIGHUP, libc::SIG_IGN);
        libc::signal(libc::SIGINT, libc::SIG_DFL);
        libc::signal(libc::SIGTERM, on_term_in_child as *const () as libc::sighandler_t);
        libc::sigprocmask(libc::SIG_SETMASK, mask, std::ptr::null_mut());
        // If the exporter dies (SIGKILL, a crash), the child must not live on
        // with no budget: SIGTERM makes it stop its command and exit.
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM as libc::c_ulong, 0, 0, 0);
        if libc::getppid() != parent {
            libc::_exit(1);
        }
    }
    close_inherited(pipe.as_raw_fd());
    let bytes = work();
    let code = if pipe.write_all(&bytes).is_ok() { 0 } else { 1 };
    // SAFETY: _exit ends the child without running the parent's destructors.
    unsafe { libc::_exit(code) }
}

/// Closes every descriptor but the standard streams and `keep`: the
/// listeners, client connections and signal pipe belong to the parent. (A
/// listener held by a child that outlived the parent would keep the port
/// from a restarted exporter.) `close_range` is too new for Linux 2.6.22, so
/// the open descriptors are listed from `/proc/self/fd`, or tried one by one
/// up to a bound when that cannot be read.
fn close_inherited(keep: RawFd) {
    let listed: Option<Vec<RawFd>> = std::fs::read_dir("/proc/self/fd")
        .ok()
        .map(|dir| dir.filter_map(|e| crate::parse::int_i32(e.ok()?.file_name().to_str()?)).collect());
    let candidates = listed.unwrap_or_else(|| (3..1024).collect());
    for fd in candidates {
        if fd > 2 && fd != keep {
            // SAFETY: closing descriptors this process will not use again;
            // the directory handle above is already closed.
            unsafe { libc::close(fd) };
        }
    }
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
