//! Listening sockets and the open-file limit: the system calls the server
//! needs at start and on reload, written for Linux 2.6.22 (no
//! `SOCK_CLOEXEC`; `fcntl` instead).

use std::io::{self, Read};
use std::net::{SocketAddr, TcpListener};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

/// Binds a non-blocking listener. IPv6 listeners are IPv6-only, so that
/// `0.0.0.0:9100` and `[::]:9100` can both be listed: by default Linux lets
/// `[::]` take IPv4 too, and the second bind then fails with EADDRINUSE.
pub fn bind_listener(addr: SocketAddr) -> io::Result<TcpListener> {
    let domain = if addr.is_ipv6() { libc::AF_INET6 } else { libc::AF_INET };
    // SAFETY: plain socket(2); no SOCK_CLOEXEC, which Linux 2.6.22 rejects.
    let raw = unsafe { libc::socket(domain, libc::SOCK_STREAM, 0) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: socket just returned this descriptor; we own it now.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    let one: libc::c_int = 1;
    let set = |level, name| {
        // SAFETY: setsockopt on our descriptor with a pointer to a c_int of the stated size.
        let r = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                level,
                name,
                (&one as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if r < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
    };
    // SAFETY: fcntl on our descriptor.
    if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // As std does: a restarted exporter can bind while old connections linger.
    set(libc::SOL_SOCKET, libc::SO_REUSEADDR)?;
    if addr.is_ipv6() {
        set(libc::IPPROTO_IPV6, libc::IPV6_V6ONLY)?;
    }
    let (storage, len) = sockaddr(addr);
    // SAFETY: bind and listen on our descriptor; storage holds `len` valid bytes of a sockaddr.
    unsafe {
        if libc::bind(fd.as_raw_fd(), (&storage as *const libc::sockaddr_storage).cast(), len as libc::socklen_t) < 0 {
            return Err(io::Error::last_os_error());
        }
        if libc::listen(fd.as_raw_fd(), 128) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    let listener = TcpListener::from(fd);
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// `addr` as a C socket address and its length.
fn sockaddr(addr: SocketAddr) -> (libc::sockaddr_storage, usize) {
    // SAFETY: sockaddr_storage is plain old data; all zeroes is valid.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            // SAFETY: sockaddr_storage is large and aligned enough for a sockaddr_in.
            let sin = unsafe { &mut *(&mut storage as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = a.port().to_be();
            sin.sin_addr = libc::in_addr { s_addr: u32::from_ne_bytes(a.ip().octets()) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            // SAFETY: sockaddr_storage is large and aligned enough for a sockaddr_in6.
            let sin6 = unsafe { &mut *(&mut storage as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = a.port().to_be();
            sin6.sin6_flowinfo = a.flowinfo();
            sin6.sin6_addr = libc::in6_addr { s6_addr: a.ip().octets() };
            sin6.sin6_scope_id = a.scope_id();
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len)
}

/// A blocking TCP connection to `addr` whose reads and writes give up after
/// `timeout`, for `--status`. Made with plain socket(2), like the listeners:
/// std's `TcpStream::connect` asks for SOCK_CLOEXEC, which Linux 2.6.22 rejects.
pub fn connect(addr: SocketAddr, timeout: std::time::Duration) -> io::Result<std::net::TcpStream> {
    let domain = if addr.is_ipv6() { libc::AF_INET6 } else { libc::AF_INET };
    // SAFETY: plain socket(2).
    let raw = unsafe { libc::socket(domain, libc::SOCK_STREAM, 0) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: socket just returned this descriptor; we own it now.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    let stream = std::net::TcpStream::from(fd);
    // A send timeout also bounds a blocking connect(2) on Linux.
    stream.set_write_timeout(Some(timeout))?;
    stream.set_read_timeout(Some(timeout))?;
    let (storage, len) = sockaddr(addr);
    // SAFETY: connect on our descriptor; storage holds `len` valid bytes of a sockaddr.
    let r = unsafe {
        libc::connect(stream.as_raw_fd(), (&storage as *const libc::sockaddr_storage).cast(), len as libc::socklen_t)
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(stream)
}

/// Why a listener could not be bound, in words a person can act on: what
/// start-up, a reload and `--diagnose` all say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindProblem {
    /// What went wrong and why, such as "in use by pid 812 (node_exporter)".
    pub cause: String,
    /// What to do about it.
    pub fix: &'static str,
    /// The pid of an ap-exporter that holds the address already.
    pub running: Option<u32>,
}

impl BindProblem {
    /// Explains the error `e` of binding `addr`. For an address in use, it
    /// looks in `/proc` for the process that holds the port.
    pub fn explain(addr: SocketAddr, e: &io::Error) -> BindProblem {
        // The OS's words, then ours: one format for all of them keeps this small.
        let mut cause = e.to_string();
        let mut running = None;
        let (tail, fix) = match e.raw_os_error() {
            Some(libc::EACCES) if addr.port() < 1024 => (
                ": ports below 1024 need root or the CAP_NET_BIND_SERVICE capability",
                "run the exporter as root, or listen on a port from 1024 up (9100 is the usual one)",
            ),
            Some(libc::EACCES) => ("", "run the exporter as root"),
            Some(libc::EADDRINUSE) => match port_holder(addr.port()) {
                Some((pid, name)) => {
                    cause = format!("in use by pid {pid} ({name})");
                    if name == "ap-exporter" {
                        running = Some(pid);
                        (
                            ": the exporter is running already",
                            "stop that one first (its init script's stop), or choose another port in listen",
                        )
                    } else {
                        ("", "stop that program, or choose another port in listen")
                    }
                }
                // Other users' descriptors are hidden from a non-root user.
                // SAFETY: geteuid has no preconditions.
                None if unsafe { libc::geteuid() } != 0 => {
                    ("; run as root to see which process holds it", "choose another port in listen")
                }
                None => ("; no process listening on it was found", "choose another port in listen"),
            },
            Some(libc::EADDRNOTAVAIL) => (
                ": not an address of this machine",
                "listen on an address this machine has (ip addr shows them), or on \":PORT\" for all of them",
            ),
            _ => ("", "check the address in listen"),
        };
        cause.push_str(tail);
        BindProblem { cause, fix, running }
    }
}

/// The process listening on TCP `port`, from the kernel's socket tables and
/// the processes' descriptors. The bind just failed on this machine, so this
/// reads the real `/proc`, not the configured procfs root.
pub fn port_holder(port: u16) -> Option<(u32, String)> {
    port_holder_in(Path::new("/proc"), port)
}

/// [`port_holder`] over the procfs at `proc`.
fn port_holder_in(proc: &Path, port: u16) -> Option<(u32, String)> {
    let mut inodes = Vec::new();
    for table in ["net/tcp", "net/tcp6"] {
        // Line by line, not whole: besides the listeners, the table has a
        // line for every connection and TIME_WAIT socket, 44,000 of them
        // (6.6 MB, past the 4 MiB file bound) after a burst of connections.
        let Ok(file) = std::fs::File::open(proc.join(table)) else { continue };
        for_each_line(file, |line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let Some(local) = f.get(1) else { return };
            let listening = f.get(3) == Some(&"0A");
            let local_port = local.rsplit_once(':').and_then(|(_, p)| u16::from_str_radix(p, 16).ok());
            if listening && local_port == Some(port) {
                if let Some(inode) = f.get(9).filter(|i| **i != "0") {
                    inodes.push(format!("socket:[{inode}]"));
                }
            }
        });
    }
    if inodes.is_empty() {
        return None;
    }
    for entry in std::fs::read_dir(proc).ok()?.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else { continue };
        for fd in fds.flatten() {
            let Ok(link) = std::fs::read_link(fd.path()) else { continue };
            if inodes.iter().any(|i| link.as_os_str() == i.as_str()) {
                let name = read(&entry.path().join("comm")).map(|s| s.trim().to_string()).unwrap_or_default();
                return Some((pid, name));
            }
        }
    }
    None
}

/// Calls `f` with each line of `file` read a chunk at a time, so memory
/// stays one chunk and one line however long the file. A line that is not
/// UTF-8, or longer than 4 KiB, is skipped; so is the rest after a read
/// error. (`BufReader::lines` does the same for 1.3 KB more on MIPS.)
fn for_each_line(mut file: std::fs::File, mut f: impl FnMut(&str)) {
    const MAX_LINE: usize = 4096;
    let mut chunk = [0u8; 4096];
    let mut line: Vec<u8> = Vec::new();
    let mut overlong = false;
    loop {
        let n = match file.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        for &b in chunk.get(..n).unwrap_or(&[]) {
            if b != b'\n' {
                overlong |= line.len() >= MAX_LINE;
                if !overlong {
                    line.push(b);
                }
                continue;
            }
            if let (false, Ok(text)) = (overlong, std::str::from_utf8(&line)) {
                f(text);
            }
            line.clear();
            overlong = false;
        }
    }
    if let (false, Ok(text)) = (overlong, std::str::from_utf8(&line)) {
        f(text);
    }
}

/// A small file of `/proc`, or `None`.
fn read(path: &Path) -> Option<String> {
    let mut buf = String::new();
    crate::os::source::read_bounded(path, &mut buf).ok().map(|()| buf)
}

/// Whether a bind error means "this kernel has no IPv6", which is not fatal.
pub fn ipv6_unsupported(addr: &SocketAddr, e: &io::Error) -> bool {
    // EADDRNOTAVAIL says "no IPv6" only for "[::]": for a particular address
    // it says that address is not (or not yet) this machine's.
    addr.is_ipv6()
        && match e.raw_os_error() {
            Some(libc::EAFNOSUPPORT) | Some(libc::EPROTONOSUPPORT) => true,
            Some(libc::EADDRNOTAVAIL) => addr.ip().is_unspecified(),
            _ => false,
        }
}

/// File descriptors the exporter needs beside its connections: standard
/// streams, the signal pipe, listeners, the syslog socket, the netlink
/// socket, a file being read, and a collector child's pipes.
pub const RESERVED_FDS: u64 = 32;

/// Makes sure `connections` sockets fit under the open-file limit
/// (`ulimit -n`), raising the soft limit towards the hard one if needed.
/// Fails with a message that says what to change.
pub fn ensure_fd_limit(connections: u64) -> Result<(), String> {
    let needed = connections.saturating_add(RESERVED_FDS);
    // SAFETY: rlimit is plain old data; all zeroes is a valid value.
    let mut lim: libc::rlimit = unsafe { std::mem::zeroed() };
    // SAFETY: getrlimit fills the local it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } < 0 {
        return Err(format!("cannot read the open-file limit: {}", io::Error::last_os_error()));
    }
    let soft = lim.rlim_cur as u64;
    if soft >= needed || lim.rlim_cur == libc::RLIM_INFINITY {
        return Ok(());
    }
    let hard = lim.rlim_max as u64;
    if lim.rlim_max == libc::RLIM_INFINITY || hard >= needed {
        lim.rlim_cur = needed as libc::rlim_t;
        // SAFETY: setrlimit reads the local it is given.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } == 0 {
            return Ok(());
        }
    }
    Err(format!(
        "max_connections needs up to {needed} open files with its rejected and lingering \
         connections, but the limit (ulimit -n) is {soft}: lower max_connections or raise the limit"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::os::source::MAX_SOURCE_BYTES;

    /// A procfs with one listener on port 9100 (inode 4242, held by pid 812)
    /// in front of `time_wait` TIME_WAIT lines.
    fn fake_proc(name: &str, time_wait: usize) -> std::path::PathBuf {
        let proc = std::env::temp_dir().join(format!("ap-exporter-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&proc);
        std::fs::create_dir_all(proc.join("net")).unwrap();
        std::fs::create_dir_all(proc.join("812/fd")).unwrap();
        let mut tcp = String::from(
            "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n",
        );
        tcp.push_str(
            "   0: 00000000:238C 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 \
             0000000000000000 100 0 0 10 0\n",
        );
        for i in 0..time_wait {
            tcp.push_str(&format!(
                "{i:4}: 0100007F:{:04X} 0100007F:238C 06 00000000:00000000 03:00000F9B 00000000     0        0 0 3 \
                 0000000000000000\n",
                i % 60000 + 1024
            ));
        }
        std::fs::write(proc.join("net/tcp"), tcp).unwrap();
        std::fs::write(proc.join("812/comm"), "node_exporter\n").unwrap();
        std::os::unix::fs::symlink("socket:[4242]", proc.join("812/fd/3")).unwrap();
        proc
    }

    #[test]
    fn the_holder_is_found_behind_a_table_larger_than_any_source_file() {
        // 44,000 TIME_WAIT sockets after a burst of connections made the
        // table 6.6 MB, past the 4 MiB bound of a whole-file read.
        let lines = (MAX_SOURCE_BYTES as usize) / 100;
        let proc = fake_proc("holder-big", lines);
        assert!(std::fs::metadata(proc.join("net/tcp")).unwrap().len() > MAX_SOURCE_BYTES);
        assert_eq!(port_holder_in(&proc, 9100), Some((812, "node_exporter".to_string())));
        assert_eq!(port_holder_in(&proc, 9101), None);
        std::fs::remove_dir_all(proc).unwrap();
    }

    #[test]
    fn lines_come_whole_across_chunks_and_bad_ones_alone_are_skipped() {
        let dir = std::env::temp_dir().join(format!("ap-exporter-lines-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("table");
        let long = "x".repeat(5000);
        let mut bytes = Vec::new();
        for i in 0..3000 {
            bytes.extend_from_slice(format!("line {i}\n").as_bytes());
        }
        bytes.extend_from_slice(format!("{long}\n").as_bytes());
        bytes.extend_from_slice(b"bad \xff byte\nafter\nlast without newline");
        std::fs::write(&path, &bytes).unwrap();
        let mut seen = Vec::new();
        for_each_line(std::fs::File::open(&path).unwrap(), |l| seen.push(l.to_string()));
        let expected: Vec<String> = (0..3000)
            .map(|i| format!("line {i}"))
            .chain(["after".to_string(), "last without newline".to_string()])
            .collect();
        assert_eq!(seen, expected);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
