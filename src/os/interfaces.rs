//! The addresses of one network interface, for `listen_interface`, asked
//! of the kernel each time, because DHCP and netifd change them while the
//! exporter runs: its IPv4 address with the SIOCGIFADDR ioctl (which also
//! tells a name no interface has), its IPv6 ones from `/proc/net/if_inet6`.
//! Both work on Linux 2.6.22, and cost a fraction of musl's getifaddrs.
//! They read the live system, not the configured roots: the exporter binds
//! on this machine.
//!
//! SIOCGIFADDR gives the interface's primary IPv4 address, the one netifd
//! and DHCP set; further ones added by hand are not listened on.
//!
//! The wireless collector asks SIOCGIWMODE here too, the same way.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV6};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// One address of an interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InterfaceAddr {
    /// The address.
    pub ip: IpAddr,
    /// The interface index, which an IPv6 link-local address needs as its
    /// scope to be bound (0 for IPv4, which needs none).
    pub index: u32,
}

/// Why `listen_interface` gave no address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Absence {
    /// No interface has that name.
    NoSuchInterface,
    /// It exists with no IP address (yet: DHCP, or not up).
    NoAddress,
    /// The kernel could not be asked (the ioctl failed otherwise).
    Unreadable,
}

impl std::fmt::Display for Absence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Absence::NoSuchInterface => f.write_str("no such interface"),
            Absence::NoAddress => f.write_str("no IP address yet"),
            Absence::Unreadable => f.write_str("the kernel did not tell its addresses"),
        }
    }
}

/// The addresses of interface `name`, or why there are none.
pub fn addresses(name: &str) -> Result<Vec<InterfaceAddr>, Absence> {
    let mut out = Vec::new();
    let exists = match ipv4_addr(name) {
        Ok(Some(ip)) => {
            out.push(InterfaceAddr { ip: IpAddr::V4(ip), index: 0 });
            true
        }
        Ok(None) => true,
        Err(e) if e.raw_os_error() == Some(libc::ENODEV) => false,
        Err(_) => return Err(Absence::Unreadable),
    };
    // A kernel without IPv6 has no if_inet6.
    let mut text = String::new();
    if crate::os::source::read_bounded(std::path::Path::new("/proc/net/if_inet6"), &mut text).is_ok() {
        for a in crate::parse::if_inet6::parse(&text) {
            if a.name == name && bindable(a.flags) {
                out.push(InterfaceAddr { ip: IpAddr::V6(a.ip), index: a.index });
            }
        }
    }
    match (out.is_empty(), exists) {
        (false, _) => Ok(out),
        (true, true) => Err(Absence::NoAddress),
        (true, false) => Err(Absence::NoSuchInterface),
    }
}

/// Whether an IPv6 address with these `IFA_F_*` flags can be bound: not
/// while duplicate address detection runs (tentative, for a second or so
/// after ifup, when netifd's trigger fires) nor after it failed. Left out
/// then, it is bound at the next look, once it differs from what was bound.
fn bindable(flags: u32) -> bool {
    const TENTATIVE: u32 = 0x40;
    const DAD_FAILED: u32 = 0x08;
    flags & (TENTATIVE | DAD_FAILED) == 0
}

/// Asks ioctl `request` about interface `name` on a datagram socket, with
/// an `ifreq` (at least as large as the `iwreq` of Wireless Extensions,
/// whose union holds the answer at the same offset).
fn ifreq_ioctl(name: &str, request: libc::c_ulong) -> io::Result<libc::ifreq> {
    // SAFETY: ifreq is plain old data; all zeroes is valid.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    if name.len() >= req.ifr_name.len() {
        return Err(io::Error::from_raw_os_error(libc::ENODEV));
    }
    for (dst, &src) in req.ifr_name.iter_mut().zip(name.as_bytes()) {
        *dst = src as libc::c_char;
    }
    // SAFETY: plain socket(2), with no flags Linux 2.6.22 lacks; owned below.
    let raw = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM, 0) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: socket just returned this descriptor.
    let socket = unsafe { OwnedFd::from_raw_fd(raw) };
    // SAFETY: the request reads the name and writes its answer into the
    // ifreq given, which is as large as any request here copies.
    if unsafe { libc::ioctl(socket.as_raw_fd(), request as _, &mut req) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(req)
}

/// The primary IPv4 address of interface `name`: `None` when it has none,
/// ENODEV when there is no such interface.
fn ipv4_addr(name: &str) -> io::Result<Option<Ipv4Addr>> {
    let req = match ifreq_ioctl(name, libc::SIOCGIFADDR as _) {
        Ok(req) => req,
        Err(e) if e.raw_os_error() == Some(libc::EADDRNOTAVAIL) => return Ok(None),
        Err(e) => return Err(e),
    };
    // SAFETY: SIOCGIFADDR filled the union's address, an AF_INET sockaddr.
    let d = unsafe { req.ifr_ifru.ifru_addr }.sa_data;
    // sa_data holds the port (2 bytes), then the address.
    Ok(Some(Ipv4Addr::new(d[2] as u8, d[3] as u8, d[4] as u8, d[5] as u8)))
}

/// The Wireless Extensions mode of interface `name` (SIOCGIWMODE: 0 auto,
/// 1 ad-hoc, 2 managed, 3 master, ...), or `None` when the driver does not
/// tell (no WEXT, no such interface). Linux 2.6.22 has it.
pub fn wireless_mode(name: &str) -> Option<u32> {
    let req = ifreq_ioctl(name, 0x8B07).ok()?;
    // SAFETY: SIOCGIWMODE wrote the mode, a __u32, at the union's start,
    // where ifindex, an int of the same size, lies.
    Some(unsafe { req.ifr_ifru.ifru_ifindex } as u32)
}

/// The addresses to bind for `listen` narrowed to an interface with
/// addresses `own`: each unspecified address (`0.0.0.0`, `[::]`) becomes
/// those of its family on the same port; a specific address stays as it is
/// (so `127.0.0.1:9100` can serve `--status` beside the LAN).
pub fn narrow(listen: &[SocketAddr], own: &[InterfaceAddr]) -> Vec<SocketAddr> {
    let mut out = Vec::new();
    for addr in listen {
        let bound: Vec<SocketAddr> = if addr.ip().is_unspecified() {
            own.iter()
                .filter(|a| a.ip.is_ipv4() == addr.is_ipv4())
                .map(|a| match a.ip {
                    IpAddr::V6(v6) => {
                        // Only a link-local address needs its interface as scope.
                        let link_local = v6.segments()[0] & 0xffc0 == 0xfe80;
                        SocketAddr::V6(SocketAddrV6::new(v6, addr.port(), 0, if link_local { a.index } else { 0 }))
                    }
                    ip => SocketAddr::new(ip, addr.port()),
                })
                .collect()
        } else {
            vec![*addr]
        };
        for b in bound {
            if !out.contains(&b) {
                out.push(b);
            }
        }
    }
    out
}

/// What the listen addresses come to now: `listen` itself, or with an
/// interface named, narrowed to its addresses (see [`narrow`]), and why the
/// interface gave none when it did not.
pub fn listen_addrs(listen: &[SocketAddr], interface: Option<&str>) -> (Vec<SocketAddr>, Option<Absence>) {
    let Some(name) = interface else { return (listen.to_vec(), None) };
    match addresses(name) {
        Ok(own) => (narrow(listen, &own), None),
        Err(why) => (narrow(listen, &[]), Some(why)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own() -> Vec<InterfaceAddr> {
        let a = |ip: &str, index| InterfaceAddr { ip: ip.parse().unwrap(), index };
        vec![a("192.168.1.1", 0), a("fd00::1", 5), a("fe80::1", 5)]
    }

    fn addrs(list: &[&str]) -> Vec<SocketAddr> {
        list.iter().map(|a| a.parse().unwrap()).collect()
    }

    #[test]
    fn wireless_mode_of_what_has_none_is_unknown() {
        // Loopback has no Wireless Extensions, the second name no interface,
        // the third does not fit IFNAMSIZ: each is None, never a panic.
        assert_eq!(wireless_mode("lo"), None);
        assert_eq!(wireless_mode("no-such-if0"), None);
        assert_eq!(wireless_mode("a-name-longer-than-ifnamsiz"), None);
        assert_eq!(wireless_mode(""), None);
    }

    #[test]
    fn unspecified_addresses_become_the_interfaces_own() {
        assert_eq!(
            narrow(&addrs(&["0.0.0.0:9100", "[::]:9100"]), &own()),
            addrs(&["192.168.1.1:9100", "[fd00::1]:9100", "[fe80::1%5]:9100"])
        );
        assert_eq!(narrow(&addrs(&["0.0.0.0:9100"]), &own()), addrs(&["192.168.1.1:9100"]));
        assert_eq!(
            narrow(&addrs(&["[::]:9101", "127.0.0.1:9100", "127.0.0.1:9100"]), &own()),
            addrs(&["[fd00::1]:9101", "[fe80::1%5]:9101", "127.0.0.1:9100"])
        );
    }

    #[test]
    fn an_interface_without_addresses_gives_only_the_specific_ones() {
        assert_eq!(narrow(&addrs(&["0.0.0.0:9100", "[::]:9100"]), &[]), vec![]);
        assert_eq!(narrow(&addrs(&["[::]:9100", "[::1]:9100"]), &own()[..1]), addrs(&["[::1]:9100"]));
    }

    #[test]
    fn tentative_and_failed_addresses_wait() {
        assert!(bindable(0x80) && bindable(0x00) && bindable(0x20));
        assert!(!bindable(0x40) && !bindable(0xc0) && !bindable(0x08));
    }

    #[test]
    fn loopback_and_a_name_no_interface_has() {
        let lo = addresses("lo").unwrap();
        assert!(lo.iter().any(|a| a.ip == IpAddr::from([127, 0, 0, 1])), "{lo:?}");
        let listen = addrs(&["0.0.0.0:9100", "127.0.0.1:9101"]);
        assert_eq!(listen_addrs(&listen, None), (listen.clone(), None));
        assert_eq!(listen_addrs(&listen, Some("lo")), (addrs(&["127.0.0.1:9100", "127.0.0.1:9101"]), None));
        assert_eq!(
            listen_addrs(&listen, Some("nosuch0")),
            (addrs(&["127.0.0.1:9101"]), Some(Absence::NoSuchInterface))
        );
        assert_eq!(addresses("name-too-long-x"), Err(Absence::NoSuchInterface));
        assert_eq!(Absence::NoAddress.to_string(), "no IP address yet");
    }
}
