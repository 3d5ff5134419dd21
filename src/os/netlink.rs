//! Where nl80211 replies come from: the kernel's generic netlink socket, or
//! a directory of captured replies (fixtures, bug reports). Socket I/O stays
//! here; decoding is in [`crate::parse::nl80211`].

use crate::parse::netlink::{self as framing, DecodeError, NLM_F_DUMP};
use crate::parse::nl80211::{self, CMD_GET_INTERFACE, CMD_GET_STATION, CMD_GET_SURVEY};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

/// Largest reply accepted for one request.
const MAX_REPLY: usize = 4 * 1024 * 1024;

/// The three nl80211 dumps the collector needs, as raw reply bytes.
pub trait Transport {
    /// GET_INTERFACE dump.
    fn interfaces(&mut self) -> io::Result<Vec<u8>>;
    /// GET_STATION dump for one interface.
    fn stations(&mut self, ifindex: u32, ifname: &str) -> io::Result<Vec<u8>>;
    /// GET_SURVEY dump for one interface.
    fn survey(&mut self, ifindex: u32, ifname: &str) -> io::Result<Vec<u8>>;
}

/// Why the nl80211 socket could not be opened.
#[derive(Debug)]
pub enum OpenError {
    /// No nl80211 here (old kernels, Broadcom `wl` drivers), or the socket
    /// calls failed.
    Unavailable(io::Error),
    /// The kernel answered the family lookup with a reply that makes no sense.
    BadReply(DecodeError),
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenError::Unavailable(e) => write!(f, "{e}"),
            OpenError::BadReply(e) => write!(f, "the nl80211 family lookup failed: {e}"),
        }
    }
}

/// A generic netlink socket bound to nl80211.
pub struct Socket {
    fd: OwnedFd,
    family: u16,
    seq: u32,
}

impl Socket {
    /// Opens the socket and resolves the nl80211 family.
    pub fn open() -> Result<Socket, OpenError> {
        Socket::open_io().map_err(OpenError::Unavailable)?.resolve()
    }

    fn open_io() -> io::Result<Socket> {
        // SAFETY: plain socket(2); no SOCK_CLOEXEC flag because Linux 2.6.22
        // rejects it; FD_CLOEXEC is set right after.
        let raw = unsafe { libc::socket(libc::AF_NETLINK, libc::SOCK_RAW, libc::NETLINK_GENERIC) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: socket just returned this descriptor; we own it now.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: fcntl and setsockopt on a descriptor we own, with valid
        // pointers to locals of the stated sizes.
        unsafe {
            libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC);
            // A kernel that never answers must not hang the scrape.
            let tv = libc::timeval { tv_sec: 2, tv_usec: 0 };
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&tv as *const libc::timeval).cast(),
                std::mem::size_of::<libc::timeval>() as libc::socklen_t,
            );
            let mut addr: libc::sockaddr_nl = std::mem::zeroed();
            addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
            if libc::bind(
                fd.as_raw_fd(),
                (&addr as *const libc::sockaddr_nl).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            ) < 0
            {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(Socket { fd, family: 0, seq: 0 })
    }

    /// Asks the controller for the nl80211 family id.
    fn resolve(mut self) -> Result<Socket, OpenError> {
        let reply = self.exchange(&nl80211::get_family_request(1)).map_err(OpenError::Unavailable)?;
        self.family = nl80211::decode_family_id(&reply).map_err(|e| match e {
            DecodeError::Kernel(libc::ENOENT) => {
                OpenError::Unavailable(io::Error::new(io::ErrorKind::NotFound, "the kernel has no nl80211"))
            }
            other => OpenError::BadReply(other),
        })?;
        Ok(self)
    }

    /// Sends one request and reads until its dump ends (NLMSG_DONE) or an
    /// error or acknowledgement arrives. Returns all reply bytes.
    fn exchange(&mut self, msg: &[u8]) -> io::Result<Vec<u8>> {
        // SAFETY: send from a valid slice on a descriptor we own.
        let sent = unsafe { libc::send(self.fd.as_raw_fd(), msg.as_ptr().cast(), msg.len(), 0) };
        if sent < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut reply = Vec::new();
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            // SAFETY: recv into a buffer of the stated length.
            let n = unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            let chunk = &buf[..n as usize];
            reply.extend_from_slice(chunk);
            if reply.len() > MAX_REPLY {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "nl80211 reply too large"));
            }
            if ends_reply(chunk) {
                return Ok(reply);
            }
        }
    }

    fn dump(&mut self, cmd: u8, ifindex: Option<u32>) -> io::Result<Vec<u8>> {
        self.seq = self.seq.wrapping_add(1);
        let idx = ifindex.map(u32::to_ne_bytes);
        let attrs: Vec<(u16, &[u8])> = idx.as_ref().map(|b| vec![(nl80211::ATTR_IFINDEX, &b[..])]).unwrap_or_default();
        let msg = framing::genl_request(self.family, NLM_F_DUMP, self.seq, cmd, &attrs);
        self.exchange(&msg)
    }
}

/// Whether a received chunk holds the message that ends a reply. A chunk
/// that cannot be framed ends it too: the decoder then reports why.
fn ends_reply(chunk: &[u8]) -> bool {
    framing::messages(chunk).any(|m| m.map_or(true, |m| m.header.ends_reply()))
}

impl Transport for Socket {
    fn interfaces(&mut self) -> io::Result<Vec<u8>> {
        self.dump(CMD_GET_INTERFACE, None)
    }
    fn stations(&mut self, ifindex: u32, _ifname: &str) -> io::Result<Vec<u8>> {
        self.dump(CMD_GET_STATION, Some(ifindex))
    }
    fn survey(&mut self, ifindex: u32, _ifname: &str) -> io::Result<Vec<u8>> {
        self.dump(CMD_GET_SURVEY, Some(ifindex))
    }
}

/// Replies captured earlier: `interfaces.bin`, `stations-<ifname>.bin`,
/// `survey-<ifname>.bin` in one directory (byte order of the capturing host).
pub struct Replay {
    dir: PathBuf,
}

impl Replay {
    /// Replays from `dir`.
    pub fn new(dir: &Path) -> Replay {
        Replay { dir: dir.to_path_buf() }
    }

    fn read(&self, name: &str) -> io::Result<Vec<u8>> {
        let path = self.dir.join(name);
        std::fs::read(&path).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
    }
}

impl Transport for Replay {
    fn interfaces(&mut self) -> io::Result<Vec<u8>> {
        self.read("interfaces.bin")
    }
    fn stations(&mut self, _ifindex: u32, ifname: &str) -> io::Result<Vec<u8>> {
        self.read(&format!("stations-{ifname}.bin"))
    }
    fn survey(&mut self, _ifindex: u32, ifname: &str) -> io::Result<Vec<u8>> {
        self.read(&format!("survey-{ifname}.bin"))
    }
}

/// Passes replies through and saves them in the [`Replay`] layout
/// (`--nl80211-capture DIR`).
pub struct Capture<T> {
    inner: T,
    dir: PathBuf,
}

impl<T: Transport> Capture<T> {
    /// Captures `inner`'s replies into `dir`.
    pub fn new(inner: T, dir: &Path) -> Capture<T> {
        Capture { inner, dir: dir.to_path_buf() }
    }

    fn save(&self, name: &str, bytes: io::Result<Vec<u8>>) -> io::Result<Vec<u8>> {
        let bytes = bytes?;
        std::fs::create_dir_all(&self.dir)?;
        std::fs::write(self.dir.join(name), &bytes)?;
        Ok(bytes)
    }
}

impl<T: Transport> Transport for Capture<T> {
    fn interfaces(&mut self) -> io::Result<Vec<u8>> {
        let r = self.inner.interfaces();
        self.save("interfaces.bin", r)
    }
    fn stations(&mut self, ifindex: u32, ifname: &str) -> io::Result<Vec<u8>> {
        let r = self.inner.stations(ifindex, ifname);
        self.save(&format!("stations-{ifname}.bin"), r)
    }
    fn survey(&mut self, ifindex: u32, ifname: &str) -> io::Result<Vec<u8>> {
        let r = self.inner.survey(ifindex, ifname);
        self.save(&format!("survey-{ifname}.bin"), r)
    }
}

impl Transport for Box<dyn Transport> {
    fn interfaces(&mut self) -> io::Result<Vec<u8>> {
        (**self).interfaces()
    }
    fn stations(&mut self, ifindex: u32, ifname: &str) -> io::Result<Vec<u8>> {
        (**self).stations(ifindex, ifname)
    }
    fn survey(&mut self, ifindex: u32, ifname: &str) -> io::Result<Vec<u8>> {
        (**self).survey(ifindex, ifname)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::netlink::header;

    #[test]
    fn a_reply_ends_at_done_an_error_a_single_message_or_bad_framing() {
        let multi = framing::NLM_F_MULTI;
        assert!(!ends_reply(&header(16, 0x22, multi)), "one part of a dump");
        assert!(ends_reply(&[header(16, 0x22, multi), header(16, framing::NLMSG_DONE, multi)].concat()));
        assert!(ends_reply(&header(16, framing::NLMSG_ERROR, 0)), "an error or acknowledgement");
        assert!(ends_reply(&header(16, 0x22, 0)), "a single answer");
        // A length near u32::MAX must end the walk, not loop.
        assert!(ends_reply(&header(u32::MAX - 1, 0x22, multi)));
    }
}
