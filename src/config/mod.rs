//! The TOML configuration. Every key is optional; the defaults here equal
//! the shipped `files/ap-exporter.toml` (a test keeps them equal). Values
//! that need checking beyond their TOML type (addresses, networks, globs,
//! collector names) are checked while reading, so errors carry TOML's span
//! and name the file, line and column. The file is parsed by our own
//! reader of the TOML a config uses (`doc`), which keeps every span, and
//! read by hand (`read`), without serde or the `toml` crate: about 130 KB
//! and 58 KB less on MIPS (docs/design.md).
//!
//! Holds the config types and their value types (`cidr`, `glob`). May import
//! `collectors` (for the table of collector names), `http::auth` (for the
//! hash type), `os::source` and `parse::wifi`; does no I/O but reading the
//! file in [`Config::load`].

use crate::collectors::CollectorSet;
use crate::config::cidr::Cidr;
use crate::config::glob::Glob;
use crate::config::read::{
    Error as ReadError, FromToml, Value, array, fields, int_in, read_table, str, table, unknown, variant,
};
use crate::http::auth::BcryptHash;
use crate::os::source::Roots;
use crate::parse::wifi::Band;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Where Entware installs the config; the CLI default.
pub const DEFAULT_PATH: &str = "/opt/etc/ap-exporter.toml";

/// The whole configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Addresses to listen on.
    pub listen: ListenAddrs,
    /// When set, the unspecified addresses of `listen` stand for this
    /// interface's addresses, followed as they change.
    pub listen_interface: InterfaceName,
    /// Client networks allowed to scrape; others get 403.
    pub allow: AllowList,
    /// Most concurrent client connections; more get 503.
    pub max_connections: Bounded<1, 1024>,
    /// Seconds a connection may take per request, idle time included.
    pub connection_timeout_seconds: Bounded<1, 3600>,
    /// Seconds a collector that runs in a child process (wireless) may take
    /// per scrape before it is stopped and reports failure.
    pub collector_timeout_seconds: Bounded<1, 300>,
    /// Logging.
    pub log: LogConfig,
    /// Optional HTTP basic authentication.
    pub auth: AuthConfig,
    /// Which device collectors run (`[collectors]`, keyed by the names in
    /// the collector table).
    pub collectors: CollectorSet,
    /// The netdev collector.
    pub netdev: NetdevConfig,
    /// The wireless collector.
    pub wireless: WirelessConfig,
    /// The textfile collector.
    pub textfile: TextfileConfig,
    /// The filesystem collector.
    pub filesystem: FilesystemConfig,
    /// Where procfs and sysfs are.
    pub paths: PathsConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: ListenAddrs(vec![SocketAddr::from(([0, 0, 0, 0], 9100))]),
            listen_interface: InterfaceName::default(),
            allow: AllowList(
                ["127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "::1/128", "fe80::/10", "fc00::/7"]
                    .iter()
                    .filter_map(|s| Cidr::parse(s).ok())
                    .collect(),
            ),
            max_connections: Bounded(16),
            connection_timeout_seconds: Bounded(10),
            collector_timeout_seconds: Bounded(5),
            log: LogConfig::default(),
            auth: AuthConfig::default(),
            collectors: CollectorSet::defaults(),
            netdev: NetdevConfig::default(),
            wireless: WirelessConfig::default(),
            textfile: TextfileConfig::default(),
            filesystem: FilesystemConfig::default(),
            paths: PathsConfig::default(),
        }
    }
}

/// Non-empty list of distinct socket addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenAddrs(pub Vec<SocketAddr>);

impl FromToml for ListenAddrs {
    fn from_toml(v: &Value) -> Result<Self, ReadError> {
        let items = array(v, "an array of addresses such as [\"0.0.0.0:9100\"]")?;
        if items.is_empty() {
            return Err(ReadError::at(v, "listen is empty: give at least one address such as \"0.0.0.0:9100\"".into()));
        }
        let mut addrs: Vec<SocketAddr> = Vec::with_capacity(items.len());
        for item in items {
            let text = str(item)?;
            let parsed = parse_listen(text).ok_or_else(|| {
                ReadError::at(
                    item,
                    format!("{text:?} is not IP:PORT or :PORT (examples: \"0.0.0.0:9100\", \"[::]:9100\", \":9100\")"),
                )
            })?;
            for addr in parsed.into_iter().flatten() {
                if addrs.contains(&addr) {
                    return Err(ReadError::at(item, format!("{text:?} is listed twice ({addr})")));
                }
                addrs.push(addr);
            }
        }
        Ok(ListenAddrs(addrs))
    }
}

/// One `listen` entry: `IP:PORT`, or `:PORT` for every address of both
/// families (as node_exporter's `--web.listen-address=:9100`), which is
/// `0.0.0.0:PORT` and `[::]:PORT`: IPv6 listeners are IPv6-only, and one
/// on a kernel without IPv6 is skipped.
fn parse_listen(text: &str) -> Option<[Option<SocketAddr>; 2]> {
    if let Some(port) = text.strip_prefix(':') {
        // u16's parser takes a leading '+'; a port is digits only.
        if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let port: u16 = port.parse().ok()?;
        let v6 = SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, port));
        return Some([Some(SocketAddr::from(([0, 0, 0, 0], port))), Some(v6)]);
    }
    Some([Some(text.parse().ok()?), None])
}

/// A network interface's name as Linux accepts it (1 to 15 bytes, no `/`,
/// `:` or white space), or empty for none.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InterfaceName(pub String);

impl FromToml for InterfaceName {
    fn from_toml(v: &Value) -> Result<Self, ReadError> {
        let name = str(v)?;
        let bad = |why: &str| Err(ReadError::at(v, format!("{name:?} is not an interface name: {why}")));
        if name.len() > 15 {
            return bad("Linux allows at most 15 bytes");
        }
        if name == "." || name == ".." || name.bytes().any(|b| b == b'/' || b == b':' || !b.is_ascii_graphic()) {
            return bad("letters, digits and punctuation but '/' and ':'; ip link shows the names, such as \"br-lan\"");
        }
        Ok(InterfaceName(name.to_string()))
    }
}

impl InterfaceName {
    /// The name, or `None` when empty.
    pub fn get(&self) -> Option<&str> {
        if self.0.is_empty() { None } else { Some(&self.0) }
    }
}

/// Non-empty list of client networks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowList(pub Vec<Cidr>);

impl FromToml for AllowList {
    fn from_toml(v: &Value) -> Result<Self, ReadError> {
        let items = array(v, "an array of networks such as [\"192.168.0.0/16\"]")?;
        if items.is_empty() {
            return Err(ReadError::at(
                v,
                "allow is empty, so no client could scrape; use [\"0.0.0.0/0\", \"::/0\"] to allow all".into(),
            ));
        }
        let mut nets = Vec::with_capacity(items.len());
        for item in items {
            nets.push(Cidr::parse(str(item)?).map_err(|e| ReadError::at(item, e))?);
        }
        Ok(AllowList(nets))
    }
}

impl AllowList {
    /// Whether a client address may connect.
    pub fn permits(&self, ip: std::net::IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(ip))
    }
}

/// An integer that must lie in `MIN..=MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounded<const MIN: u64, const MAX: u64>(pub u64);

impl<const MIN: u64, const MAX: u64> FromToml for Bounded<MIN, MAX> {
    fn from_toml(v: &Value) -> Result<Self, ReadError> {
        int_in(v, MIN, MAX).map(Bounded)
    }
}

/// A glob pattern, checked at load time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobPattern(pub Glob);

impl FromToml for GlobPattern {
    fn from_toml(v: &Value) -> Result<Self, ReadError> {
        let s = str(v)?;
        Glob::new(s).map(GlobPattern).map_err(|e| ReadError::at(v, format!("{s:?} is not a valid glob: {e}")))
    }
}

/// Log settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// Least severe level written.
    pub level: LogLevel,
    /// Where log lines go.
    pub target: LogTarget,
    /// The local syslog socket (datagram).
    pub syslog_socket: PathBuf,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig { level: LogLevel::Info, target: LogTarget::Stderr, syslog_socket: PathBuf::from("/dev/log") }
    }
}

/// Log levels, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogLevel {
    /// Errors only.
    Error,
    /// Warnings and errors.
    Warn,
    /// Normal operation (default).
    #[default]
    Info,
    /// Everything.
    Debug,
}

/// Log destinations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogTarget {
    /// Standard error (default).
    #[default]
    Stderr,
    /// The local syslog socket `/dev/log` (init scripts use this).
    Syslog,
}

/// HTTP basic authentication (off when no users are listed).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthConfig {
    /// User name to bcrypt hash, as made by `htpasswd -nBC 10 USER`.
    pub basic_auth_users: std::collections::BTreeMap<String, BcryptHash>,
}

/// netdev collector settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetdevConfig {
    /// Only interfaces matching one of these (empty: all).
    pub include: Vec<GlobPattern>,
    /// Never interfaces matching one of these.
    pub exclude: Vec<GlobPattern>,
    /// Seconds between the exporter's own samples of `/proc/net/dev`, which
    /// catch 32-bit counter wraps between scrapes; 0 turns sampling off.
    pub sample_interval_seconds: Bounded<0, 3600>,
}

impl Default for NetdevConfig {
    fn default() -> Self {
        NetdevConfig {
            include: Vec::new(),
            exclude: vec![GlobPattern(Glob::new("lo").unwrap_or_else(|_| unreachable!("\"lo\" is a literal glob")))],
            sample_interval_seconds: Bounded(5),
        }
    }
}

impl NetdevConfig {
    /// Whether an interface passes the include and exclude filters.
    pub fn selects(&self, name: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|g| g.0.matches(name)))
            && !self.exclude.iter().any(|g| g.0.matches(name))
    }
}

/// Mount points the filesystem collector leaves out by default, space
/// separated: the kernel's own trees and container storage, as
/// node_exporter does.
pub const DEFAULT_MOUNT_POINTS_EXCLUDE: &str =
    "/dev /dev/* /proc /proc/* /sys /sys/* /run/credentials/* /var/lib/docker/* /var/lib/containers/storage/*";

/// Filesystem types the filesystem collector leaves out by default, space
/// separated: node_exporter's list without `overlay` (OpenWrt's `/`, whose
/// free space is the free flash), plus `rootfs` (the initramfs under
/// everything). `squashfs` stays out: read-only, always full.
pub const DEFAULT_FS_TYPES_EXCLUDE: &str = "autofs binfmt_misc bpf cgroup cgroup2 configfs debugfs devpts devtmpfs \
     fusectl hugetlbfs iso9660 mqueue nsfs proc procfs pstore rootfs rpc_pipefs securityfs selinuxfs squashfs sysfs \
     tracefs";

/// filesystem collector settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilesystemConfig {
    /// Mount points left out.
    pub mount_points_exclude: Vec<GlobPattern>,
    /// Filesystem types left out.
    pub fs_types_exclude: Vec<GlobPattern>,
    /// Seconds a mount's statfs may take before it counts as hung.
    pub mount_timeout_seconds: Bounded<1, 60>,
}

impl Default for FilesystemConfig {
    fn default() -> Self {
        let globs = |list: &str| list.split(' ').filter_map(|g| Glob::new(g).ok().map(GlobPattern)).collect();
        FilesystemConfig {
            mount_points_exclude: globs(DEFAULT_MOUNT_POINTS_EXCLUDE),
            fs_types_exclude: globs(DEFAULT_FS_TYPES_EXCLUDE),
            mount_timeout_seconds: Bounded(1),
        }
    }
}

impl FilesystemConfig {
    /// Whether a mount passes both exclude lists.
    pub fn selects(&self, mountpoint: &str, fstype: &str) -> bool {
        !self.mount_points_exclude.iter().any(|g| g.0.matches(mountpoint))
            && !self.fs_types_exclude.iter().any(|g| g.0.matches(fstype))
    }
}

/// Wireless backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WirelessBackend {
    /// Try nl80211, then wl, then WEXT (default).
    #[default]
    Auto,
    /// Linux nl80211 (OpenWrt mac80211 drivers).
    Nl80211,
    /// Broadcom's `wl` tool.
    Wl,
    /// `/proc/net/wireless`.
    Wext,
}

/// wireless collector settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WirelessConfig {
    /// Which backend to use.
    pub backend: WirelessBackend,
    /// Per-station series (a cardinality switch).
    pub stations: bool,
    /// Most stations given series per interface; the rest are dropped (by
    /// MAC order) and counted.
    pub max_stations: Bounded<1, 4096>,
    /// The Broadcom `wl` command.
    pub wl_command: String,
    /// The `nvram` command that names Broadcom interfaces.
    pub nvram_command: String,
    /// Seconds each `wl` or `nvram` run may take before it is killed.
    pub command_timeout_seconds: Bounded<1, 60>,
    /// dnsmasq leases file for hostnames: "auto", a path, or "" for none.
    pub leases: String,
    /// Per-interface overrides, keyed by interface name.
    pub interfaces: std::collections::BTreeMap<String, WirelessInterface>,
}

impl Default for WirelessConfig {
    fn default() -> Self {
        WirelessConfig {
            backend: WirelessBackend::Auto,
            stations: true,
            max_stations: Bounded(64),
            wl_command: "wl".into(),
            nvram_command: "nvram".into(),
            command_timeout_seconds: Bounded(2),
            leases: "auto".into(),
            interfaces: Default::default(),
        }
    }
}

/// Overrides for one wireless interface (`[wireless.interfaces.eth1]`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WirelessInterface {
    /// The band label, when the driver does not tell it.
    pub band: Option<Band>,
    /// The radio label (a friendly name such as "5GHz-main").
    pub radio: Option<String>,
}

/// textfile collector settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextfileConfig {
    /// The directory whose `*.prom` files are merged into every scrape. The
    /// built-in default is Entware's; the OpenWrt packages ship
    /// `/var/lib/ap-exporter` (tmpfs) in their config. A directory that does
    /// not exist gives no textfile metrics and no error.
    pub directory: PathBuf,
    /// Bytes read from all files together per scrape; a file that would
    /// pass it is skipped unread. Bounds the scrape's size and memory.
    pub max_bytes: Bounded<1024, { 64 << 20 }>,
    /// Samples from all files together; a file that would pass it is skipped.
    pub max_series: Bounded<1, 20_000>,
}

impl Default for TextfileConfig {
    fn default() -> Self {
        TextfileConfig {
            directory: PathBuf::from(DEFAULT_TEXTFILE_DIRECTORY),
            max_bytes: Bounded(256 << 10),
            max_series: Bounded(5000),
        }
    }
}

/// Where Entware's package keeps the textfile directory; the built-in default.
pub const DEFAULT_TEXTFILE_DIRECTORY: &str = "/opt/var/lib/ap-exporter";

/// Filesystem roots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathsConfig {
    /// Where procfs is mounted.
    pub procfs: PathBuf,
    /// Where sysfs is mounted.
    pub sysfs: PathBuf,
    /// The system's `/etc` (firmware release files, the `TZ` file).
    pub etc: PathBuf,
    /// Where the mounts of `/proc/mounts` are seen (node_exporter's
    /// `--path.rootfs`): `/`, or the host's root from inside a container.
    pub rootfs: PathBuf,
    /// Empty: ask the kernel over netlink. A directory: replay nl80211
    /// replies captured there with `--nl80211-capture` (tests, bug reports).
    pub nl80211: PathBuf,
}

impl Default for PathsConfig {
    fn default() -> Self {
        let r = Roots::default();
        PathsConfig { procfs: r.procfs, sysfs: r.sysfs, etc: r.etc, rootfs: r.rootfs, nl80211: PathBuf::new() }
    }
}

impl PathsConfig {
    /// The roots collectors read from.
    pub fn roots(&self) -> Roots {
        Roots {
            procfs: self.procfs.clone(),
            sysfs: self.sysfs.clone(),
            etc: self.etc.clone(),
            rootfs: self.rootfs.clone(),
            nl80211: self.nl80211.clone(),
            nl80211_capture: None,
        }
    }
}

// How each table is read. Adding a key: a field in the struct, its value
// in `Default`, and one line in `fields!` below (the field's type says how
// the value is read and checked: see `read::FromToml`).

impl FromToml for Config {
    fn from_toml(v: &Value) -> Result<Self, ReadError> {
        read_table(v)
    }

    fn read_onto(&mut self, v: &Value) -> Result<(), ReadError> {
        let c = self;
        fields!(v, {
            "listen" => c.listen,
            "listen_interface" => c.listen_interface,
            "allow" => c.allow,
            "max_connections" => c.max_connections,
            "connection_timeout_seconds" => c.connection_timeout_seconds,
            "collector_timeout_seconds" => c.collector_timeout_seconds,
            "log" => c.log,
            "auth" => c.auth,
            "collectors" => c.collectors,
            "netdev" => c.netdev,
            "wireless" => c.wireless,
            "textfile" => c.textfile,
            "filesystem" => c.filesystem,
            "paths" => c.paths,
        });
        Ok(())
    }
}

impl FromToml for LogConfig {
    fn from_toml(v: &Value) -> Result<Self, ReadError> {
        read_table(v)
    }

    fn read_onto(&mut self, v: &Value) -> Result<(), ReadError> {
        let c = self;
        fields!(v, {
            "level" => c.level,
            "target" => c.target,
            "syslog_socket" => c.syslog_socket,
        });
        Ok(())
    }
}

impl FromToml for LogLevel {
    fn from_toml(v: &Value) -> Result<Self, ReadError> {
        let all = [LogLevel::Error, LogLevel::Warn, LogLevel::Info, LogLevel::Debug];
        Ok(all[variant(v, &["error", "warn", "info", "debug"])?])
    }
}

impl FromToml for LogTarget {
    fn from_toml(v: &Value) -> Result<Self, ReadError> {
        Ok([LogTarget::Stderr, LogTarget::Syslog][variant(v, &["stderr", "syslog"])?])
    }
}

impl FromToml for AuthConfig {
    fn from_toml(v: &Value) -> Result<Self, ReadError> {
        read_table(v)
    }

    fn read_onto(&mut self, v: &Value) -> Result<(), ReadError> {
        let c = self;
        fields!(v, {
            "basic_auth_users" => c.basic_auth_users,
        });
        Ok(())
    }
}

impl FromToml for BcryptHash {
    fn from_toml(v: &Value) -> Result<Self, ReadError> {
        BcryptHash::try_from(str(v)?.to_string()).map_err(|e| ReadError::at(v, e))
    }
}

/// `[collectors]`: a table of `name = true|false`, any subset of the device
/// collectors; names not given keep their default. An unknown name is an
/// error at that key's line and column.
impl FromToml for CollectorSet {
    fn from_toml(v: &Value) -> Result<Self, ReadError> {
        let mut set = CollectorSet::defaults();
        set.read_onto(v)?;
        Ok(set)
    }

    fn read_onto(&mut self, v: &Value) -> Result<(), ReadError> {
        let set = self;
        for (key, value) in table(v, "a table of collector = true or false")? {
            let Some(i) = CollectorSet::device_position(&key.name) else {
                return Err(ReadError {
                    span: key.span.clone(),
                    message: unknown("collector", &key.name, crate::collectors::device_names(), ""),
                });
            };
            if bool::from_toml(value)? {
                set.insert(i);
            } else {
                set.remove(i);
            }
        }
        Ok(())
    }
}

impl FromToml for NetdevConfig {
    fn from_toml(v: &Value) -> Result<Self, ReadError> {
        read_table(v)
    }

    fn read_onto(&mut self, v: &Value) -> Result<(), ReadError> {
        let c = self;
        fields!(v, {
            "include" => c.include,
            "exclude" => c.exclude,
            "sample_interval_seconds" => c.sample_interval_seconds,
        });
        Ok(())
    }
}

impl FromToml for WirelessBackend {
    fn from_toml(v: &Value) -> Result<Self, ReadError> {
        let all = [WirelessBackend::Auto, WirelessBackend::Nl80211, WirelessBackend::Wl, WirelessBackend::Wext];
        Ok(all[variant(v, &["auto", "nl80211", "wl", "wext"])?])
    }
}

impl FromToml for WirelessConfig {
    fn from_toml(v: &Value) -> Result<Self, ReadError> {
        read_table(v)
    }

    fn read_onto(&mut self, v: &Value) -> Result<(), ReadError> {
        let c = self;
        fields!(v, {
            "backend" => c.backend,
            "stations" => c.stations,
            "wl_command" => c.wl_command,
            "nvram_command" => c.nvram_command,
            "command_timeout_seconds" => c.command_timeout_seconds,
            "leases" => c.leases,
            "max_stations" => c.max_stations,
            "interfaces" => c.interfaces,
        });
        Ok(())
    }
}

impl FromToml for WirelessInterface {
    fn from_toml(v: &Value) -> Result<Self, ReadError> {
        read_table(v)
    }

    fn read_onto(&mut self, v: &Value) -> Result<(), ReadError> {
        let c = self;
        fields!(v, {
            "band" => c.band,
            "radio" => c.radio,
        });
        Ok(())
    }
}

impl FromToml for Band {
    fn from_toml(v: &Value) -> Result<Self, ReadError> {
        let all = [Band::G2_4, Band::G5, Band::G6];
        Ok(all[variant(v, &all.map(Band::label))?])
    }
}

impl FromToml for TextfileConfig {
    fn from_toml(v: &Value) -> Result<Self, ReadError> {
        read_table(v)
    }

    fn read_onto(&mut self, v: &Value) -> Result<(), ReadError> {
        let c = self;
        fields!(v, {
            "directory" => c.directory,
            "max_bytes" => c.max_bytes,
            "max_series" => c.max_series,
        });
        Ok(())
    }
}

impl FromToml for FilesystemConfig {
    fn from_toml(v: &Value) -> Result<Self, ReadError> {
        read_table(v)
    }

    fn read_onto(&mut self, v: &Value) -> Result<(), ReadError> {
        let c = self;
        fields!(v, {
            "mount_points_exclude" => c.mount_points_exclude,
            "fs_types_exclude" => c.fs_types_exclude,
            "mount_timeout_seconds" => c.mount_timeout_seconds,
        });
        Ok(())
    }
}

impl FromToml for PathsConfig {
    fn from_toml(v: &Value) -> Result<Self, ReadError> {
        read_table(v)
    }

    fn read_onto(&mut self, v: &Value) -> Result<(), ReadError> {
        let c = self;
        fields!(v, {
            "procfs" => c.procfs,
            "sysfs" => c.sysfs,
            "etc" => c.etc,
            "rootfs" => c.rootfs,
            "nl80211" => c.nl80211,
        });
        Ok(())
    }
}

/// A config file that could not be used.
#[derive(Debug)]
pub enum ConfigError {
    /// The file could not be read.
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        error: ReadFailure,
    },
    /// The file is not valid TOML or not a valid configuration.
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line and column, when TOML knows them.
        position: Option<(usize, usize)>,
        /// What is wrong.
        message: String,
        /// The offending line with a caret under the spot.
        excerpt: String,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Read { path, error } => write!(f, "{}: cannot read config: {error}", path.display()),
            ConfigError::Invalid { path, position, message, excerpt } => {
                match position {
                    Some((line, col)) => write!(f, "{}:{line}:{col}: {message}", path.display())?,
                    None => write!(f, "{}: {message}", path.display())?,
                }
                if !excerpt.is_empty() {
                    write!(f, "\n{excerpt}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ConfigError {}

/// Why a config file could not be read.
#[derive(Debug)]
pub enum ReadFailure {
    /// Nothing is at the path.
    Missing,
    /// A directory, FIFO or device is at the path.
    NotRegular,
    /// The file is larger than [`MAX_CONFIG_BYTES`].
    TooLarge,
    /// Reading failed (permission, I/O).
    Io(std::io::Error),
}

impl fmt::Display for ReadFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadFailure::Missing => f.write_str("no such file"),
            ReadFailure::NotRegular => f.write_str("not a regular file"),
            ReadFailure::TooLarge => f.write_str("larger than 1 MiB"),
            ReadFailure::Io(e) => write!(f, "{e}"),
        }?;
        if let ReadFailure::Missing = self {
            f.write_str("; fix: check the path given to --config")?;
        }
        Ok(())
    }
}

impl Config {
    /// Parses config text; `path` is only used in error messages.
    pub fn from_toml(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let mut config = Config::default();
        config.read_text_onto(text, path)?;
        config.check(path)
    }

    /// What no single key can say is wrong, checked once every file is
    /// read: a wildcard `listen` address and a particular one of its family
    /// on the same port, which Linux will not both bind (unless
    /// `listen_interface` narrows the wildcard to that interface's addresses).
    fn check(self, path: &Path) -> Result<Config, ConfigError> {
        if self.listen_interface.get().is_none() {
            for wild in self.listen.0.iter().filter(|a| a.ip().is_unspecified()) {
                let clash = self
                    .listen
                    .0
                    .iter()
                    .find(|a| !a.ip().is_unspecified() && a.port() == wild.port() && a.is_ipv4() == wild.is_ipv4());
                if let Some(clash) = clash {
                    return Err(ConfigError::Invalid {
                        path: path.to_path_buf(),
                        position: None,
                        message: format!(
                            "listen: {wild} covers {clash} already, and Linux binds only one of them; keep one, \
                             or set listen_interface so that {wild} stands for one interface's addresses"
                        ),
                        excerpt: String::new(),
                    });
                }
            }
        }
        Ok(self)
    }

    /// Reads config text over this config: the keys it gives replace the
    /// ones set before. On error `self` is half-read: use a copy.
    fn read_text_onto(&mut self, text: &str, path: &Path) -> Result<(), ConfigError> {
        let root = doc::parse(text).map_err(|e| invalid(text, path, Some(e.span), &e.message))?;
        self.read_onto(&root).map_err(|e| invalid(text, path, Some(e.span), &e.message))
    }

    /// Reads and parses a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Config::load_all(&[path])
    }

    /// Reads config files in order, each over the ones before (`--config A
    /// --config B`: B's keys win, a table's other keys stay as A set them).
    /// The first error, in any file, fails the whole load.
    pub fn load_all<P: AsRef<Path>>(paths: &[P]) -> Result<Config, ConfigError> {
        let mut config = Config::default();
        let mut last = Path::new("");
        for path in paths {
            let text = Config::read_text(path.as_ref())?;
            config.read_text_onto(&text, path.as_ref())?;
            last = path.as_ref();
        }
        config.check(last)
    }

    /// A config file's text: UTF-8, not empty.
    fn read_text(path: &Path) -> Result<String, ConfigError> {
        let bytes = read_config_bytes(path).map_err(|error| ConfigError::Read { path: path.to_path_buf(), error })?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let upto = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = upto.iter().filter(|&&b| b == b'\n').count() + 1;
            ConfigError::Invalid {
                path: path.to_path_buf(),
                position: Some((line, 1)),
                message: "the file is not UTF-8 text".into(),
                excerpt: String::new(),
            }
        })?;
        if text.trim().is_empty() {
            // Often a write cut short by a full flash; silently falling back to
            // defaults would change the listen and allow lists behind the user's back.
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                position: Some((1, 1)),
                message: "the file is empty; write at least one key, or delete the file to use built-in defaults"
                    .into(),
                excerpt: String::new(),
            });
        }
        Ok(text)
    }
}

/// The error for `message` at `span` of `text`, with its line, column and
/// excerpt (none without a span). One copy for parse and value errors.
#[inline(never)]
fn invalid(text: &str, path: &Path, span: Option<std::ops::Range<usize>>, message: &str) -> ConfigError {
    let (position, excerpt) = match span {
        Some(span) => {
            let (line, col) = line_col(text, span.start);
            (Some((line, col)), excerpt(text, span, line, col))
        }
        None => (None, String::new()),
    };
    ConfigError::Invalid { path: path.to_path_buf(), position, message: message.trim().to_string(), excerpt }
}

/// Largest config file accepted; real ones are a few KiB.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// The config file's bytes. It must be a regular file (a FIFO at the path
/// would block the reload forever) of at most [`MAX_CONFIG_BYTES`].
fn read_config_bytes(path: &Path) -> Result<Vec<u8>, ReadFailure> {
    use crate::os::source::{SourceErrorKind, open_regular};
    use std::io::Read;
    let file = open_regular(path).map_err(|e| match e.kind {
        SourceErrorKind::Missing => ReadFailure::Missing,
        SourceErrorKind::Io(io) => ReadFailure::Io(io),
        _ => ReadFailure::NotRegular,
    })?;
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_BYTES + 1).read_to_end(&mut bytes).map_err(ReadFailure::Io)?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(ReadFailure::TooLarge);
    }
    Ok(bytes)
}

/// The line holding `span` with carets under it, as toml prints it:
/// ```text
///   |
/// 3 | level = "loud"
///   |         ^^^^^^
/// ```
///
/// A line longer than [`EXCERPT_CHARS`] is shown as that many characters
/// around the column, `…` marking what is left out: a 400 KB line must not
/// go to the log whole. Control characters are shown as `?`, so a config
/// cannot write escape sequences to a terminal.
fn excerpt(text: &str, span: std::ops::Range<usize>, line: usize, col: usize) -> String {
    let content = text.split('\n').nth(line.saturating_sub(1)).unwrap_or("").trim_end_matches('\r');
    let gutter = " ".repeat(line.to_string().len() + 1);
    let at = col.saturating_sub(1);
    let chars = content.chars().count();
    let start =
        if chars <= EXCERPT_CHARS { 0 } else { at.saturating_sub(EXCERPT_CHARS / 2).min(chars - EXCERPT_CHARS) };
    let end = (start + EXCERPT_CHARS).min(chars);
    let mut shown = String::from(if start > 0 { "…" } else { "" });
    shown.extend(content.chars().skip(start).take(end - start).map(|c| if c.is_control() { '?' } else { c }));
    if end < chars {
        shown.push('…');
    }
    let caret_at = at.saturating_sub(start) + usize::from(start > 0) + 1;
    let width = text.get(span).map_or(1, |s| s.lines().next().unwrap_or("").chars().count()).max(1);
    let width = width.min(end.saturating_sub(at).max(1));
    format!("{gutter}|\n{line} | {shown}\n{gutter}|{}{}", " ".repeat(caret_at), "^".repeat(width))
}

/// The most characters of a line an error's excerpt shows.
const EXCERPT_CHARS: usize = 80;

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        Config::from_toml(text, Path::new("t.toml")).unwrap_err().to_string()
    }

    #[test]
    fn an_excerpt_of_a_long_line_shows_the_part_around_the_column() {
        let line = format!("log_level = \"info\"{}\"x\"", " ".repeat(400_000));
        let e = err(&line);
        assert!(e.len() < 600, "{} bytes: {}", e.len(), &e[..600.min(e.len())]);
        let lines: Vec<&str> = e.lines().collect();
        let shown = lines.iter().find(|l| l.starts_with("1 | ")).unwrap();
        let carets = lines.iter().find(|l| l.contains('^')).unwrap();
        assert!(shown.contains('…') && shown.contains("\"x\""), "{e}");
        // The caret stands under the character the error is about.
        let caret = carets.find('^').unwrap();
        assert_eq!(shown.chars().nth(carets[..caret].chars().count()), Some('"'), "{e}");
        // A short line is shown whole, control characters as `?`.
        let e = err("log_level = \"lo\u{1b}[2Jud\"");
        assert!(e.contains("1 | log_level = \"lo?[2Jud\""), "{e:?}");
        assert!(!e.contains('\u{1b}'), "{e:?}");
    }

    #[test]
    fn filesystem_excludes_keep_what_a_router_fills() {
        let d = FilesystemConfig::default();
        // OpenWrt's free flash is the overlay on /, Merlin's is jffs2 on /jffs;
        // /tmp is RAM on every router.
        for (mp, ty) in [("/", "overlay"), ("/overlay", "ubifs"), ("/jffs", "jffs2"), ("/tmp", "tmpfs")] {
            assert!(d.selects(mp, ty), "{mp} {ty}");
        }
        assert!(d.selects("/tmp/mnt/sda1", "ext4") && d.selects("/mnt", "vfat") && d.selects("/devices", "ext4"));
        for (mp, ty) in [("/rom", "squashfs"), ("/", "rootfs"), ("/dev", "tmpfs"), ("/dev/pts", "devpts")] {
            assert!(!d.selects(mp, ty), "{mp} {ty}");
        }
        assert!(!d.selects("/sys/fs/cgroup", "tmpfs") && !d.selects("/proc/bus/usb", "usbfs"));
        assert!(!d.selects("/var/lib/docker/overlay2/x/merged", "overlay") && d.selects("/var/lib/docker", "ext4"));
        let c = Config::from_toml(
            "[filesystem]\nmount_points_exclude = [\"/tmp/mnt/*\"]\nfs_types_exclude = []\nmount_timeout_seconds = 3\n\
             [paths]\nrootfs = \"/host\"\n",
            Path::new("t.toml"),
        )
        .unwrap();
        assert!(c.filesystem.selects("/rom", "squashfs") && !c.filesystem.selects("/tmp/mnt/sda1", "ext4"));
        assert_eq!((c.filesystem.mount_timeout_seconds.0, c.paths.roots().rootfs), (3, PathBuf::from("/host")));
        let e = Config::from_toml("[filesystem]\nmount_timeout_seconds = 0\n", Path::new("t.toml")).unwrap_err();
        assert!(e.to_string().contains("t.toml:2"), "{e}");
    }

    #[test]
    fn shipped_file_equals_builtin_defaults() {
        let shipped = include_str!("../../files/ap-exporter.toml");
        assert_eq!(Config::from_toml(shipped, Path::new("files/ap-exporter.toml")).unwrap(), Config::default());
        assert_eq!(Config::from_toml("", Path::new("empty.toml")).unwrap(), Config::default());
    }

    #[test]
    fn full_config_parses() {
        let c = Config::from_toml(
            r#"
listen = ["127.0.0.1:9100", "[::1]:9101"]
allow = ["10.0.0.0/8"]
max_connections = 4
[log]
level = "debug"
target = "syslog"
[collectors]
wireless = false
[netdev]
include = ["eth*", "wl[0-9]*"]
exclude = []
sample_interval_seconds = 0
[auth]
basic_auth_users = { prometheus = "$2y$04$4SppoHq90W10tCcxhnR1DOsbAzDBifZmh2OT7Qq.IekPaQWG8M.kC" }
[wireless]
backend = "wl"
[wireless.interfaces.eth1]
band = "2.4GHz"
radio = "main"
[textfile]
directory = "/var/lib/ap-exporter"
[paths]
procfs = "/tmp/p"
"#,
            Path::new("x"),
        )
        .unwrap();
        assert_eq!(c.listen.0.len(), 2);
        assert_eq!(c.log.level, LogLevel::Debug);
        let on = |name| c.collectors.contains(CollectorSet::device_position(name).unwrap());
        assert!(!on("wireless") && on("netdev"));
        assert!(c.netdev.selects("eth0") && c.netdev.selects("wl1.1") && !c.netdev.selects("br0"));
        assert_eq!(c.paths.procfs, PathBuf::from("/tmp/p"));
        assert_eq!(c.wireless.backend, WirelessBackend::Wl);
        assert_eq!(c.auth.basic_auth_users.len(), 1);
        assert_eq!(c.wireless.interfaces["eth1"].band, Some(crate::parse::wifi::Band::G2_4));
        assert_eq!(c.textfile.directory, PathBuf::from("/var/lib/ap-exporter"));
    }

    #[test]
    fn later_files_read_over_earlier_ones_key_by_key() {
        let dir = std::env::temp_dir().join(format!("apx-layers-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let base = dir.join("base.toml");
        let over = dir.join("over.toml");
        std::fs::write(
            &base,
            "listen = [\"127.0.0.1:9100\", \"[::1]:9100\"]\nmax_connections = 4\n[collectors]\nconntrack = false\n\
             load = false\n[wireless]\nmax_stations = 8\nwl_command = \"/usr/sbin/wl\"\n\
             [wireless.interfaces.eth1]\nband = \"2.4GHz\"\nradio = \"main\"\n",
        )
        .unwrap();
        std::fs::write(
            &over,
            "# from uci\nlisten = [\":9101\"]\n[collectors]\nload = true\nwireless = false\n[wireless]\nmax_stations = 32\n\
             [wireless.interfaces.eth1]\nband = \"5GHz\"\n[wireless.interfaces.eth2]\nradio = \"guest\"\n",
        )
        .unwrap();
        let c = Config::load_all(&[&base, &over]).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        // Arrays are replaced whole; scalars the overlay leaves alone stay.
        assert_eq!(c.listen.0.len(), 2);
        assert_eq!(c.listen.0[0], "0.0.0.0:9101".parse().unwrap());
        assert_eq!(c.max_connections.0, 4);
        let on = |name| c.collectors.contains(CollectorSet::device_position(name).unwrap());
        assert!(!on("conntrack") && on("load") && !on("wireless") && on("netdev"));
        assert_eq!(c.wireless.max_stations.0, 32);
        assert_eq!(c.wireless.wl_command, "/usr/sbin/wl");
        let eth1 = &c.wireless.interfaces["eth1"];
        assert_eq!((eth1.band, eth1.radio.as_deref()), (Some(crate::parse::wifi::Band::G5), Some("main")));
        assert_eq!(c.wireless.interfaces["eth2"].radio.as_deref(), Some("guest"));
    }

    #[test]
    fn an_error_in_any_file_names_that_file_and_fails_the_load() {
        let dir = std::env::temp_dir().join(format!("apx-layers-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good.toml");
        let bad = dir.join("bad.toml");
        std::fs::write(&good, "max_connections = 4\n").unwrap();
        std::fs::write(&bad, "\n[wireless]\nmax_stations = 0\n").unwrap();
        let e = Config::load_all(&[&good, &bad]).unwrap_err().to_string();
        assert!(e.starts_with(&format!("{}:3:16: ", bad.display())), "{e}");
        let e = Config::load_all(&[&bad, &good]).unwrap_err().to_string();
        assert!(e.starts_with(&format!("{}:3:16: ", bad.display())), "{e}");
        let e = Config::load_all(&[good.clone(), dir.join("missing.toml")]).unwrap_err().to_string();
        assert!(e.contains("missing.toml: cannot read config: no such file"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn listen_interface_is_a_linux_interface_name() {
        let c = Config::from_toml("listen_interface = \"br-lan\"\n", Path::new("x")).unwrap();
        assert_eq!(c.listen_interface.get(), Some("br-lan"));
        assert_eq!(Config::default().listen_interface.get(), None);
        assert_eq!(
            Config::from_toml("listen_interface = \"\"\n", Path::new("x")).unwrap().listen_interface.get(),
            None
        );
        for bad in ["eth0:1", "a/b", "br lan", "..", "sixteen-chars-xx", "x\n", "tab\t", "é"] {
            let e = err(&format!("listen_interface = {bad:?}"));
            assert!(e.starts_with("t.toml:1:20: ") && e.contains("is not an interface name"), "{bad}: {e}");
        }
        let e = err("listen_interface = 5");
        assert!(e.contains("expected a string"), "{e}");
    }

    #[test]
    fn a_wildcard_and_an_address_it_covers_are_refused_without_listen_interface() {
        for listen in [r#"[":9100", "127.0.0.1:9100"]"#, r#"["[::]:9100", "[::1]:9100"]"#] {
            let e = err(&format!("listen = {listen}\n"));
            assert!(e.starts_with("t.toml: listen: ") && e.contains("Linux binds only one of them"), "{e}");
        }
        // Other ports, the other family, or narrowed to an interface: fine.
        for ok in [
            "listen = [\"0.0.0.0:9100\", \"127.0.0.1:9101\"]\n",
            "listen = [\"0.0.0.0:9100\", \"[::1]:9100\"]\n",
            "listen = [\":9100\", \"127.0.0.1:9100\"]\nlisten_interface = \"br-lan\"\n",
        ] {
            assert!(Config::from_toml(ok, Path::new("t.toml")).is_ok(), "{ok}");
        }
    }

    #[test]
    fn colon_port_is_every_address_of_both_families() {
        let c = Config::from_toml("listen = [\":9100\", \"127.0.0.1:9101\"]\n", Path::new("x")).unwrap();
        let want: Vec<SocketAddr> =
            ["0.0.0.0:9100", "[::]:9100", "127.0.0.1:9101"].iter().map(|a| a.parse().unwrap()).collect();
        assert_eq!(c.listen.0, want);
        let e = err("listen = [\":9100\", \"0.0.0.0:9100\"]");
        assert!(e.starts_with("t.toml:1:20: \"0.0.0.0:9100\" is listed twice (0.0.0.0:9100)"), "{e}");
        let e = err("listen = [\"[::]:9100\", \":9100\"]");
        assert!(e.contains("\":9100\" is listed twice ([::]:9100)"), "{e}");
        for bad in [":", ":+9100", ":65536", ": 9100", ":-1", "::9100x", ":9100:"] {
            let e = err(&format!("listen = [{bad:?}]"));
            assert!(e.contains("is not IP:PORT or :PORT"), "{bad}: {e}");
        }
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let e = err("listen = [\"0.0.0.0:9100\"]\n[netdev]\ninclude = [\"eth[0\"]\n");
        assert!(e.starts_with("t.toml:3:"), "{e}");
        assert!(e.contains("not a valid glob"), "{e}");
        let e = err("[collectors]\nnetdev = \"yes\"\n");
        assert!(e.starts_with("t.toml:2:10: "), "{e}");
        assert!(e.contains("bool"), "{e}");
        let e = err("\n\nlisten = 5\n");
        assert!(e.starts_with("t.toml:3:"), "{e}");
        let e = err("bogus = 1\n");
        assert!(e.starts_with("t.toml:1:1: unknown field `bogus`"), "{e}");
        let e = err("[netdev]\nincludes = []\n");
        assert!(e.starts_with("t.toml:2:1: unknown field `includes`"), "{e}");
        let e = err("allow = [\"10.0.0.0/33\"]");
        assert!(e.contains("t.toml:1:") && e.contains("prefix"), "{e}");
        let e = err("listen = [\"1.2.3.4:1\", \"1.2.3.4:1\"]");
        assert!(e.contains("listed twice"), "{e}");
        let e = err("listen = [\"localhost:9100\"]");
        assert!(e.contains("not IP:PORT"), "{e}");
        let e = err("max_connections = 0");
        assert!(e.contains("out of range"), "{e}");
        let e = err("[log]\nlevel = \"loud\"\n");
        assert!(e.starts_with("t.toml:2:9: unknown variant `loud`"), "{e}");
        let e = err("listen = [");
        assert!(e.starts_with("t.toml:1:"), "{e}");
        assert!(err("allow = []").contains("allow is empty"));
    }

    #[test]
    fn collector_keys_come_from_the_collector_table() {
        let e = err("[collectors]\nnetdev = true\nno_such_collector = false\n");
        assert!(e.starts_with("t.toml:3:1: unknown collector `no_such_collector`, expected one of "), "{e}");
        let e = err("[collectors]\nprocess = false\n");
        assert!(e.starts_with("t.toml:2:1: unknown collector `process`"), "{e}");
        let e = err("[collectors]\nload = 1\n");
        assert!(e.starts_with("t.toml:2:8: "), "{e}");
        let e = err("collectors = 5\n");
        assert!(e.starts_with("t.toml:1:14: "), "{e}");
    }

    #[test]
    fn every_table_refuses_unknown_keys_and_wrong_types() {
        let e = err("[wireless.interfaces.eth1]\nbnd = \"5GHz\"\n");
        assert!(e.starts_with("t.toml:2:1: unknown field `bnd`, expected one of `band`, `radio`"), "{e}");
        let e = err("[wireless.interfaces.eth1]\nband = \"5 GHz\"\n");
        assert!(e.starts_with("t.toml:2:8: unknown variant `5 GHz`, expected one of `2.4GHz`, `5GHz`, `6GHz`"), "{e}");
        let e = err("log = 5\n");
        assert!(e.starts_with("t.toml:1:7: invalid type: integer `5`, expected a table"), "{e}");
        let e = err("[wireless]\ninterfaces = [1]\n");
        assert!(e.starts_with("t.toml:2:14: invalid type: array, expected a table"), "{e}");
        let e = err("[paths]\nprocfs = 1979-05-27\n");
        assert!(e.starts_with("t.toml:2:10: invalid type: datetime, expected a string"), "{e}");
        let e = err("max_connections = 1.5\n");
        assert!(e.starts_with("t.toml:1:19: invalid type: floating point `1.5`, expected an integer"), "{e}");
        let e = err("max_connections = 99999999999999999999999\n");
        assert!(e.contains("out of range (expected 1 to 1024)"), "{e}");
        let e = err("listen = [\"0.0.0.0:9100\", 9101]\n");
        assert!(e.starts_with("t.toml:1:27: invalid type: integer `9101`, expected a string"), "{e}");
        let e = err("[auth]\nbasic_auth_users = { u = \"x\" }\n");
        assert!(e.starts_with("t.toml:2:26: not a bcrypt hash"), "{e}");
        for (text, range) in [
            ("[textfile]\nmax_bytes = 0\n", "(expected 1024 to 67108864)"),
            ("[textfile]\nmax_bytes = 67108865\n", "(expected 1024 to 67108864)"),
            ("[textfile]\nmax_series = 0\n", "(expected 1 to 20000)"),
            ("[textfile]\nmax_series = 1000000\n", "(expected 1 to 20000)"),
        ] {
            let e = err(text);
            let key = text.lines().nth(1).unwrap_or_default();
            assert!(e.starts_with("t.toml:2:") && e.contains(range) && e.contains(key), "{e}");
        }
        let e = err("[netdev]\ninclude = \"eth*\"\n");
        assert!(e.starts_with("t.toml:2:11: invalid type: string \"eth*\", expected an array"), "{e}");
    }

    #[test]
    fn integers_in_any_toml_form_and_dotted_keys() {
        let c = Config::from_toml(
            "max_connections = 0x10\nlog.level = \"warn\"\nnetdev.sample_interval_seconds = 1_0\n",
            Path::new("x"),
        )
        .unwrap();
        assert_eq!(c.max_connections, Bounded(16));
        assert_eq!(c.log.level, LogLevel::Warn);
        assert_eq!(c.netdev.sample_interval_seconds, Bounded(10));
    }

    #[test]
    fn excerpt_points_at_the_value() {
        let e = err("[log]\nlevel = \"loud\"\n");
        assert!(e.ends_with("\n  |\n2 | level = \"loud\"\n  |         ^^^^^^"), "{e}");
        // A span running past its line is cut at the line's end.
        let e = err("listen = [\n  \"x\",\n]\n");
        assert!(e.starts_with("t.toml:2:3: "), "{e}");
        assert!(e.ends_with("|   ^^^"), "{e}");
    }

    #[test]
    fn damaged_configs_never_panic_and_errors_point_inside_the_file() {
        // Every third byte of the shipped file deleted or replaced by a
        // character that TOML gives meaning to: an error, never a panic, and
        // the position and excerpt stay inside the text.
        let shipped = include_str!("../../files/ap-exporter.toml");
        let lines = shipped.lines().count() + 1;
        for at in (0..shipped.len()).step_by(3).filter(|&i| shipped.is_char_boundary(i)) {
            let end = (at + 1..=shipped.len()).find(|&i| shipped.is_char_boundary(i)).unwrap_or(at);
            for with in ["", "\"", "[", "=", "\n", "é", "{"] {
                let text = format!("{}{with}{}", &shipped[..at], &shipped[end..]);
                if let Err(ConfigError::Invalid { position: Some((line, col)), excerpt, .. }) =
                    Config::from_toml(&text, Path::new("t.toml"))
                {
                    assert!(line <= lines && col >= 1, "{line}:{col} for {text:?}");
                    assert!(excerpt.contains('^'), "{excerpt}");
                }
            }
        }
    }

    #[test]
    fn line_col_counts_characters() {
        assert_eq!(line_col("ab\ncé\nx", 0), (1, 1));
        assert_eq!(line_col("ab\ncé\nx", 3), (2, 1));
        assert_eq!(line_col("ab\ncé\nx", 7), (3, 1));
        assert_eq!(line_col("ab\ncé\nx", 99), (3, 2));
    }
}

pub mod cidr;
mod doc;
pub mod glob;
mod read;
