//! SIGHUP, SIGTERM and SIGINT delivered through a self-pipe, so the single
//! poll loop wakes for them without any lock or extra thread.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

static WRITE_FD: AtomicI32 = AtomicI32::new(-1);
static HUP: AtomicBool = AtomicBool::new(false);
static TERM: AtomicBool = AtomicBool::new(false);

/// Signals seen since the last [`Signals::take`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pending {
    /// SIGHUP: reload the config.
    pub reload: bool,
    /// SIGTERM or SIGINT: exit.
    pub terminate: bool,
}

/// The installed handlers and the pipe's read end.
pub struct Signals {
    read: OwnedFd,
    _write: OwnedFd,
}

extern "C" fn on_signal(sig: libc::c_int) {
    // Only async-signal-safe work here: atomics and write(2). errno is saved
    // because write may change it under the interrupted code.
    // SAFETY: __errno_location returns this thread's errno slot.
    let errno = unsafe { *libc::__errno_location() };
    if sig == libc::SIGHUP {
        HUP.store(true, Ordering::SeqCst);
    } else {
        TERM.store(true, Ordering::SeqCst);
    }
    let fd = WRITE_FD.load(Ordering::SeqCst);
    if fd >= 0 {
        let byte = 1u8;
        // SAFETY: writing one byte from a valid local to a non-blocking pipe;
        // a full pipe (EAGAIN) is fine, the flag above is what counts.
        unsafe { libc::write(fd, (&byte as *const u8).cast(), 1) };
    }
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = errno };
}

fn cloexec_nonblock(fd: RawFd) -> io::Result<()> {
    // SAFETY: plain fcntl calls on a descriptor we own. pipe2 does this in one
    // step but needs Linux 2.6.27; routers run 2.6.22.
    unsafe {
        if libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) < 0 {
            return Err(io::Error::last_os_error());
        }
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

impl Signals {
    /// Creates the pipe and installs the handlers.
    pub fn install() -> io::Result<Signals> {
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: fds has room for the two descriptors pipe writes.
        if unsafe { libc::pipe(fds.as_mut_ptr()) } < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: pipe just returned these descriptors; we own them now.
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        cloexec_nonblock(read.as_raw_fd())?;
        cloexec_nonblock(write.as_raw_fd())?;
        WRITE_FD.store(write.as_raw_fd(), Ordering::SeqCst);
        for sig in [libc::SIGHUP, libc::SIGTERM, libc::SIGINT] {
            // SAFETY: a zeroed sigaction with a valid handler and an empty mask
            // is a well-formed argument; SA_RESTART keeps other syscalls simple.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_signal as *const () as libc::sighandler_t;
                action.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut action.sa_mask);
                if libc::sigaction(sig, &action, std::ptr::null_mut()) < 0 {
                    return Err(io::Error::last_os_error());
                }
            }
        }
        // Blocked by a supervisor until now (see os::supervisor); harmless otherwise.
        // SAFETY: sigset_t is plain old data; the calls fill and read the local.
        unsafe {
            let mut handled: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut handled);
            for sig in [libc::SIGHUP, libc::SIGTERM, libc::SIGINT] {
                libc::sigaddset(&mut handled, sig);
            }
            libc::sigprocmask(libc::SIG_UNBLOCK, &handled, std::ptr::null_mut());
        }
        Ok(Signals { read, _write: write })
    }

    /// The descriptor to poll for readability.
    pub fn fd(&self) -> RawFd {
        self.read.as_raw_fd()
    }

    /// Drains the pipe and returns what arrived.
    pub fn take(&self) -> Pending {
        let mut buf = [0u8; 64];
        // SAFETY: reading into a local buffer of the given length from a
        // non-blocking pipe we own; stops at EAGAIN.
        while unsafe { libc::read(self.read.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) } > 0 {}
        Pending { reload: HUP.swap(false, Ordering::SeqCst), terminate: TERM.swap(false, Ordering::SeqCst) }
    }
}
