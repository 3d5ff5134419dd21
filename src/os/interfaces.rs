//! The addresses of a network interface, for `listen_interface`, asked of
//! the kernel each time, because DHCP and netifd change them while the
//! exporter runs: IPv4 with the SIOCGIFCONF ioctl, IPv6 from
//! `/proc/net/if_inet6`, the names from `/sys/class/net`. All three work
//! on Linux 2.6.22, and cost a fraction of musl's getifaddrs (rtnetlink).
//! They read the live system, not the configured roots: the exporter binds
//! on this machine.

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

/// The addresses the kernel has, with the name of each one's interface.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Interfaces {
    /// (interface name, address). An IPv4 address with a label
    /// ("br-lan:1") is listed under its device's name.
    pub addrs: Vec<(String, InterfaceAddr)>,
}

impl Interfaces {
    /// Asks the kernel. Only the IPv4 list is required: a kernel without
    /// IPv6 has no `if_inet6`.
    pub fn read() -> io::Result<Interfaces> {
        let mut out = Interfaces::default();
        ipv4_addrs(&mut out.addrs)?;
        let mut text = String::new();
        if crate::os::source::read_bounded(std::path::Path::new("/proc/net/if_inet6"), &mut text).is_ok() {
            for a in crate::parse::if_inet6::parse(&text).unwrap_or_default() {
                out.addrs.push((a.name, InterfaceAddr { ip: IpAddr::V6(a.ip), index: a.index }));
            }
        }
        Ok(out)
    }

    /// The names of the interfaces that have an address, sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.addrs.iter().map(|(n, _)| n.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// The addresses of interface `name`.
    pub fn of<'a>(&'a self, name: &'a str) -> impl Iterator<Item = InterfaceAddr> + 'a {
        self.addrs.iter().filter(move |(n, _)| n == name).map(|(_, a)| *a)
    }
}

/// Appends every IPv4 address of the machine, from SIOCGIFCONF.
fn ipv4_addrs(out: &mut Vec<(String, InterfaceAddr)>) -> io::Result<()> {
    // SAFETY: plain socket(2), no flags Linux 2.6.22 lacks; owned below.
    let raw = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM, 0) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: socket just returned this descriptor.
    let socket = unsafe { OwnedFd::from_raw_fd(raw) };
    let size = std::mem::size_of::<libc::ifreq>();
    let mut capacity = 32;
    loop {
        // SAFETY: ifreq is plain old data; all zeroes is valid.
        let mut reqs: Vec<libc::ifreq> = (0..capacity).map(|_| unsafe { std::mem::zeroed() }).collect();
        let mut conf = libc::ifconf {
            ifc_len: (capacity * size) as libc::c_int,
            ifc_ifcu: libc::__c_anonymous_ifc_ifcu { ifcu_req: reqs.as_mut_ptr() },
        };
        // SAFETY: SIOCGIFCONF fills at most ifc_len bytes of the buffer it points at.
        if unsafe { libc::ioctl(socket.as_raw_fd(), libc::SIOCGIFCONF as _, &mut conf) } < 0 {
            return Err(io::Error::last_os_error());
        }
        let used = (conf.ifc_len.max(0) as usize / size).min(capacity);
        // A full buffer may have cut the list short: ask again with more room.
        if used == capacity && capacity < 4096 {
            capacity *= 2;
            continue;
        }
        for req in &reqs[..used] {
            let name: Vec<u8> = req.ifr_name.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
            let name = String::from_utf8_lossy(&name);
            // SAFETY: for SIOCGIFCONF the kernel fills the union's address.
            let sa = unsafe { req.ifr_ifru.ifru_addr };
            if i32::from(sa.sa_family) != libc::AF_INET {
                continue;
            }
            // sa_data holds the port (2 bytes), then the address.
            let d = sa.sa_data;
            let ip = Ipv4Addr::new(d[2] as u8, d[3] as u8, d[4] as u8, d[5] as u8);
            // An alias's label is "DEVICE:TAG"; the device is what a user names.
            let device = name.split(':').next().unwrap_or_default().to_string();
            out.push((device, InterfaceAddr { ip: IpAddr::V4(ip), index: 0 }));
        }
        return Ok(());
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
    /// No interface has that name; these have addresses.
    NoSuchInterface(Vec<String>),
    /// It exists with no IP address (yet: DHCP, or not up).
    NoAddress,
    /// The interfaces could not be listed.
    Unreadable(String),
}

impl std::fmt::Display for Absence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Absence::NoSuchInterface(names) => {
                write!(f, "no such interface (those with an address: {})", names.join(", "))
            }
            Absence::NoAddress => f.write_str("no IP address yet"),
            Absence::Unreadable(e) => write!(f, "cannot list the interfaces: {e}"),
        }
    }
}

/// Why interface `name` gives no address.
pub fn absence(name: &str, kernel: &Interfaces) -> Absence {
    let exists = std::ffi::CString::new(name).is_ok_and(|c| {
        // SAFETY: if_nametoindex reads a NUL-terminated string.
        let index = unsafe { libc::if_nametoindex(c.as_ptr()) };
        index != 0
    });
    if exists {
        Absence::NoAddress
    } else {
        Absence::NoSuchInterface(kernel.names().iter().map(|n| n.to_string()).collect())
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
        // lo exists on every machine, and has no address in this made-up list.
        let k_without_lo = Interfaces { addrs: k.addrs.iter().filter(|(n, _)| n != "lo").cloned().collect() };
        assert_eq!(absence("lo", &k_without_lo).to_string(), "no IP address yet");
        assert_eq!(absence("nosuch0", &k).to_string(), "no such interface (those with an address: br-lan, lo, wan)");
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
        assert!(k.names().contains(&"lo"), "{k:?}");
        assert!(k.of("lo").any(|a| a.ip == IpAddr::from([127, 0, 0, 1])), "{k:?}");
    }
}
