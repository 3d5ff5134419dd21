//! The addresses of a network interface, for `listen_interface`: asked of
//! the kernel with getifaddrs(3) each time, because DHCP and netifd change
//! them while the exporter runs. musl answers it over rtnetlink, whose
//! socket falls back to fcntl on Linux 2.6.22 as its socket() always does.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};

/// One address of an interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InterfaceAddr {
    /// The address.
    pub ip: IpAddr,
    /// The interface index, which an IPv6 link-local address needs as its
    /// scope to be bound.
    pub index: u32,
}

/// What the kernel has: every interface's name, and the addresses of each.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Interfaces {
    /// (interface name, address), in the kernel's order. An IPv4 address
    /// with a label ("br-lan:1") is listed under its device's name.
    pub addrs: Vec<(String, InterfaceAddr)>,
    /// Names of every interface, with or without addresses, sorted.
    pub names: Vec<String>,
}

impl Interfaces {
    /// Asks the kernel.
    pub fn read() -> io::Result<Interfaces> {
        let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
        // SAFETY: getifaddrs writes a list head into `list`, which we free below.
        if unsafe { libc::getifaddrs(&mut list) } != 0 {
            return Err(io::Error::last_os_error());
        }
        let mut out = Interfaces::default();
        let mut cur = list;
        while !cur.is_null() {
            // SAFETY: cur is a node of the list getifaddrs made, not freed yet.
            let ifa = unsafe { &*cur };
            cur = ifa.ifa_next;
            if ifa.ifa_name.is_null() {
                continue;
            }
            // SAFETY: ifa_name is a NUL-terminated string in the list's memory.
            let label = unsafe { std::ffi::CStr::from_ptr(ifa.ifa_name) }.to_string_lossy();
            // An alias's label is "DEVICE:TAG"; the device is what a user names.
            let name = label.split(':').next().unwrap_or_default().to_string();
            if !out.names.contains(&name) {
                out.names.push(name.clone());
            }
            // SAFETY: ifa_addr, when set, points at a sockaddr of the family it names.
            if let Some(ip) = unsafe { ip_of(ifa.ifa_addr) } {
                let c_name = std::ffi::CString::new(name.as_str()).unwrap_or_default();
                // SAFETY: if_nametoindex reads a NUL-terminated string.
                let index = unsafe { libc::if_nametoindex(c_name.as_ptr()) };
                out.addrs.push((name, InterfaceAddr { ip, index }));
            }
        }
        // SAFETY: the list came from getifaddrs and no reference into it is kept.
        unsafe { libc::freeifaddrs(list) };
        out.names.sort();
        Ok(out)
    }

    /// The addresses of interface `name`.
    pub fn of<'a>(&'a self, name: &'a str) -> impl Iterator<Item = InterfaceAddr> + 'a {
        self.addrs.iter().filter(move |(n, _)| n == name).map(|(_, a)| *a)
    }
}

/// The IP address in a sockaddr, if it is IPv4 or IPv6.
///
/// # Safety
/// `sa` is null or points at a sockaddr as large as its family says.
unsafe fn ip_of(sa: *const libc::sockaddr) -> Option<IpAddr> {
    if sa.is_null() {
        return None;
    }
    // SAFETY: the caller's promise; sa_family is the first field of every sockaddr.
    match i32::from(unsafe { (*sa).sa_family }) {
        libc::AF_INET => {
            // SAFETY: an AF_INET sockaddr is a sockaddr_in.
            let sin = unsafe { &*sa.cast::<libc::sockaddr_in>() };
            Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr))))
        }
        libc::AF_INET6 => {
            // SAFETY: an AF_INET6 sockaddr is a sockaddr_in6.
            let sin6 = unsafe { &*sa.cast::<libc::sockaddr_in6>() };
            Some(IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr)))
        }
        _ => None,
    }
}

/// The addresses to bind for `listen` narrowed to interface `name`: each
/// unspecified address (`0.0.0.0`, `[::]`) becomes the interface's
/// addresses of that family on the same port; a specific address stays as
/// it is (so `127.0.0.1:9100` can serve `--status` beside the LAN).
pub fn narrow(listen: &[SocketAddr], name: &str, kernel: &Interfaces) -> Vec<SocketAddr> {
    let mut out = Vec::new();
    for addr in listen {
        if !addr.ip().is_unspecified() {
            if !out.contains(addr) {
                out.push(*addr);
            }
            continue;
        }
        for a in kernel.of(name).filter(|a| a.ip.is_ipv4() == addr.is_ipv4()) {
            let bound = match a.ip {
                IpAddr::V6(v6) => {
                    // Only a link-local address needs its interface as scope.
                    let link_local = v6.segments()[0] & 0xffc0 == 0xfe80;
                    SocketAddr::V6(SocketAddrV6::new(v6, addr.port(), 0, if link_local { a.index } else { 0 }))
                }
                ip => SocketAddr::new(ip, addr.port()),
            };
            if !out.contains(&bound) {
                out.push(bound);
            }
        }
    }
    out
}

/// What the listen addresses come to now: `listen` itself, or with an
/// interface named, narrowed to it (see [`narrow`]), and why the interface
/// gave none when it did not.
pub fn listen_addrs(listen: &[SocketAddr], interface: Option<&str>) -> (Vec<SocketAddr>, Option<Absence>) {
    let Some(name) = interface else { return (listen.to_vec(), None) };
    let kernel = match Interfaces::read() {
        Ok(k) => k,
        Err(e) => {
            let kept: Vec<SocketAddr> = listen.iter().copied().filter(|a| !a.ip().is_unspecified()).collect();
            return (kept, Some(Absence::Unreadable(e.to_string())));
        }
    };
    let addrs = narrow(listen, name, &kernel);
    let wanted = listen.iter().any(|a| a.ip().is_unspecified());
    let gave = addrs.iter().any(|a| !listen.contains(a));
    let why = (wanted && !gave).then(|| absence(name, &kernel));
    (addrs, why)
}

/// Why `listen_interface` gave no address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Absence {
    /// No interface has that name; these do.
    NoSuchInterface(Vec<String>),
    /// It exists with no IP address (yet: DHCP, or not up).
    NoAddress,
    /// The interfaces could not be listed.
    Unreadable(String),
}

impl std::fmt::Display for Absence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Absence::NoSuchInterface(names) => write!(f, "no such interface (there are: {})", names.join(", ")),
            Absence::NoAddress => f.write_str("no IP address yet"),
            Absence::Unreadable(e) => write!(f, "cannot list the interfaces: {e}"),
        }
    }
}

/// Why interface `name` gives no address.
pub fn absence(name: &str, kernel: &Interfaces) -> Absence {
    if kernel.names.iter().any(|n| n == name) {
        Absence::NoAddress
    } else {
        Absence::NoSuchInterface(kernel.names.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kernel() -> Interfaces {
        let a = |ip: &str, index| InterfaceAddr { ip: ip.parse().unwrap(), index };
        Interfaces {
            addrs: vec![
                ("lo".into(), a("127.0.0.1", 1)),
                ("br-lan".into(), a("192.168.1.1", 5)),
                ("br-lan".into(), a("192.168.2.1", 5)),
                ("br-lan".into(), a("fd00::1", 5)),
                ("br-lan".into(), a("fe80::1", 5)),
                ("wan".into(), a("203.0.113.7", 6)),
            ],
            names: vec!["br-lan".into(), "lo".into(), "wan".into(), "wlan0".into()],
        }
    }

    fn addrs(list: &[&str]) -> Vec<SocketAddr> {
        list.iter().map(|a| a.parse().unwrap()).collect()
    }

    #[test]
    fn unspecified_addresses_become_the_interfaces_own() {
        let k = kernel();
        assert_eq!(
            narrow(&addrs(&["0.0.0.0:9100", "[::]:9100"]), "br-lan", &k),
            addrs(&["192.168.1.1:9100", "192.168.2.1:9100", "[fd00::1]:9100", "[fe80::1%5]:9100"])
        );
        assert_eq!(narrow(&addrs(&["0.0.0.0:9100"]), "br-lan", &k), addrs(&["192.168.1.1:9100", "192.168.2.1:9100"]));
        assert_eq!(
            narrow(&addrs(&["[::]:9101", "127.0.0.1:9100"]), "br-lan", &k),
            addrs(&["[fd00::1]:9101", "[fe80::1%5]:9101", "127.0.0.1:9100"])
        );
    }

    #[test]
    fn an_interface_without_addresses_gives_only_the_specific_ones() {
        let k = kernel();
        assert_eq!(narrow(&addrs(&["0.0.0.0:9100", "[::]:9100"]), "wlan0", &k), vec![]);
        assert_eq!(narrow(&addrs(&["0.0.0.0:9100"]), "nosuch", &k), vec![]);
        assert_eq!(narrow(&addrs(&["[::]:9100", "[::1]:9100"]), "wan", &k), addrs(&["[::1]:9100"]));
    }

    #[test]
    fn absence_says_missing_or_not_yet() {
        let k = kernel();
        assert_eq!(absence("wlan0", &k).to_string(), "no IP address yet");
        assert_eq!(absence("br0", &k).to_string(), "no such interface (there are: br-lan, lo, wan, wlan0)");
    }

    #[test]
    fn listen_addrs_of_loopback_and_of_nothing() {
        let listen = addrs(&["0.0.0.0:9100", "127.0.0.1:9101"]);
        assert_eq!(listen_addrs(&listen, None), (listen.clone(), None));
        let (got, why) = listen_addrs(&listen, Some("lo"));
        assert_eq!((got, why), (addrs(&["127.0.0.1:9100", "127.0.0.1:9101"]), None));
        let (got, why) = listen_addrs(&listen, Some("nosuch0"));
        assert_eq!(got, addrs(&["127.0.0.1:9101"]));
        assert!(matches!(why, Some(Absence::NoSuchInterface(names)) if names.iter().any(|n| n == "lo")));
    }

    #[test]
    fn this_machine_has_loopback() {
        let k = Interfaces::read().unwrap();
        assert!(k.names.iter().any(|n| n == "lo"), "{k:?}");
        assert!(k.of("lo").any(|a| a.ip == IpAddr::from([127, 0, 0, 1])), "{k:?}");
    }
}
