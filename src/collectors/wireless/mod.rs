//! wireless: WiFi interfaces and stations. `backend = "auto"` asks nl80211
//! first, then Broadcom's `wl` for interfaces nl80211 did not cover, then
//! `/proc/net/wireless` (Wireless Extensions) for the rest. An interface
//! that is down (or its radio disabled) is reported with
//! `wifi_network_up 0` and no stations; one that vanishes mid-scrape is
//! skipped. Neither is an error. Only AP-like interfaces have stations: a
//! client-mode one's AP is its link (`Network::keep_clients`). Each
//! backend is one file behind [`Backend`]; the families are written in
//! `families`.

mod families;
mod nl80211;
mod wext;
mod wl;

use super::{CollectError, Collector};
use crate::config::{Config, WirelessBackend, WirelessConfig};
use crate::metrics::exposition::Exposition;
use crate::os::source::{Roots, open_untrusted, read_bounded, read_file_bounded};
use crate::parse::leases::{self, Leases};
use crate::parse::wifi::{self, Network};
use std::path::{Path, PathBuf};

/// Where dnsmasq keeps its leases, by firmware; `leases = "auto"` tries the
/// list of the firmware it finds. Only OpenWrt's list names
/// `/tmp/dhcp.leases`: elsewhere that path in world-writable `/tmp` is
/// anyone's to plant.
fn auto_leases(openwrt: bool) -> &'static [&'static str] {
    if openwrt {
        &["/tmp/dhcp.leases"]
    } else {
        // ASUSWRT-Merlin (/var is /tmp/var there), then DD-WRT.
        &["/var/lib/misc/dnsmasq.leases", "/tmp/var/lib/misc/dnsmasq.leases", "/tmp/dnsmasq.leases"]
    }
}

/// What a backend needs to look around.
struct Context<'a> {
    config: &'a WirelessConfig,
    roots: &'a Roots,
}

/// What one backend found.
enum Outcome {
    /// Interfaces it reports (down ones too, marked), and how many it saw.
    Networks(Vec<Network>, usize),
    /// It cannot run here at all (as opposed to one that failed).
    Unavailable(String),
}

/// A source of WiFi interfaces and their stations.
trait Backend {
    /// The interfaces this backend reports, leaving out those in `covered`
    /// (found by an earlier backend).
    fn networks(&mut self, ctx: &Context<'_>, covered: &[String]) -> Result<Outcome, CollectError>;
}

/// A backend's name, as in the config.
fn backend_name(kind: WirelessBackend) -> &'static str {
    match kind {
        WirelessBackend::Auto => "auto",
        WirelessBackend::Nl80211 => "nl80211",
        WirelessBackend::Wl => "wl",
        WirelessBackend::Wext => "wext",
    }
}

/// The text of `/sys/class/net/IFNAME/FILE` under the sysfs root, read
/// into `text`; `None` when unreadable, or for a name that could leave
/// that directory.
fn iface_file<'t>(roots: &Roots, ifname: &str, file: &str, text: &'t mut String) -> Option<&'t str> {
    if ifname.contains('/') || ifname.starts_with('.') {
        return None;
    }
    read_bounded(&roots.sysfs.join("class/net").join(ifname).join(file), text).ok()?;
    Some(text)
}

/// Whether `/sys/class/net/IFNAME/flags` under the sysfs root says the
/// interface is down. Unreadable flags (no sysfs, a vanished interface)
/// count as up: the backend's own answers decide then.
fn admin_down(roots: &Roots, ifname: &str) -> bool {
    let mut text = String::new();
    iface_file(roots, ifname, "flags", &mut text).and_then(wifi::parse_iface_up) == Some(false)
}

/// The `--diagnose` line of one network a backend found.
fn describe(backend: &str, n: &Network) -> (bool, String) {
    if n.down {
        return (false, format!("{backend}: {} is down (wifi_network_up 0)", n.ifname));
    }
    let band = n.band.map_or("band unknown", |b| b.label());
    let stations = n.stations.len();
    let s = if stations == 1 { "" } else { "s" };
    let mode = if n.mode.is_empty() { "mode unknown" } else { &n.mode };
    let radio = if n.radio.is_empty() { String::new() } else { format!("radio {}, ", n.radio) };
    let airtime = match (n.airtime.is_some(), n.busy_per10k.is_some()) {
        (true, _) => ", airtime from survey",
        (_, true) => ", airtime from chanim_stats",
        _ => "",
    };
    // A client's AP is not counted (see `Network::keep_clients`): the mode
    // says why it has none.
    (true, format!("{backend}: {} ({mode}, {radio}{band}, {stations} station{s}{airtime})", n.ifname))
}

/// The wireless collector.
pub struct WirelessCollector {
    config: WirelessConfig,
    /// Every backend, in the order `auto` tries them.
    backends: [(WirelessBackend, Box<dyn Backend>); 3],
    text: String,
    /// The last leases problem logged, so it is logged once when the
    /// collector runs in this process (in a child, the registry dedupes).
    leases_error: Option<String>,
    /// What each backend found in the last collect, for `--diagnose`.
    found: Vec<(bool, String)>,
}

impl WirelessCollector {
    /// A collector with the given settings.
    pub fn new(config: &WirelessConfig) -> Self {
        WirelessCollector {
            config: config.clone(),
            backends: [
                (WirelessBackend::Nl80211, Box::new(nl80211::Nl80211Backend)),
                (WirelessBackend::Wl, Box::<wl::WlBackend>::default()),
                (WirelessBackend::Wext, Box::<wext::WextBackend>::default()),
            ],
            text: String::new(),
            leases_error: None,
            found: Vec::new(),
        }
    }

    /// The dnsmasq leases, for hostnames; none when the file is missing, bad,
    /// a link or not a regular file, or writable by everyone or another user
    /// (see `open_untrusted`). A line that cannot be read costs only its own
    /// hostname. Problems are logged once: hostnames are a nicety, not a
    /// failure. This collector runs in a child process, so "once" is kept
    /// by the registry, which logs a child's repeated warning once.
    fn leases(&mut self) -> Leases {
        let path: Option<PathBuf> = match self.config.leases.as_str() {
            "" => None,
            "auto" => {
                let openwrt = Path::new("/etc/openwrt_release").exists();
                auto_leases(openwrt).iter().map(PathBuf::from).find(|p| p.exists())
            }
            p => Some(PathBuf::from(p)),
        };
        let Some(path) = path else { return Leases::default() };
        let text = &mut self.text;
        let read = open_untrusted(&path).and_then(|file| read_file_bounded(&path, file, text));
        let (leases, problem) = match read {
            Ok(()) => {
                let mut l = leases::parse(text);
                let skipped = l.first_skipped.take().map(|error| {
                    let s = if l.skipped == 1 { "" } else { "s" };
                    format!(
                        "{} line{s} of the leases file skipped, the first: {}",
                        l.skipped,
                        CollectError::Parse { path, error }
                    )
                });
                (l, skipped)
            }
            Err(e) => (Leases::default(), Some(format!("no hostnames from the leases file: {e}"))),
        };
        match problem {
            None => self.leases_error = None,
            Some(msg) if self.leases_error.as_deref() != Some(msg.as_str()) => {
                log::warn!("wireless: {msg}");
                self.leases_error = Some(msg);
            }
            Some(_) => {}
        }
        leases
    }
}

impl Collector for WirelessCollector {
    fn configure(&mut self, config: &Config) {
        self.config = config.wireless.clone();
    }

    fn collect(&mut self, roots: &Roots, out: &mut Exposition) -> Result<(), CollectError> {
        let backend = self.config.backend;
        let mut networks: Vec<Network> = Vec::new();
        let mut unavailable: Vec<String> = Vec::new();
        let mut seen = 0;
        let ctx = Context { config: &self.config, roots };
        self.found.clear();
        for (kind, b) in &mut self.backends {
            if backend != WirelessBackend::Auto && backend != *kind {
                continue;
            }
            let name = backend_name(*kind);
            let covered: Vec<String> = networks.iter().map(|n| n.ifname.clone()).collect();
            let outcome =
                b.networks(&ctx, &covered).inspect_err(|e| self.found.push((false, format!("{name}: {e}"))))?;
            match outcome {
                Outcome::Networks(found, count) => {
                    seen += count;
                    let new: Vec<Network> = found.into_iter().filter(|n| !covered.contains(&n.ifname)).collect();
                    let up = new.iter().filter(|n| !n.down).count();
                    let with_airtime = new.iter().filter(|n| n.airtime.is_some() || n.busy_per10k.is_some()).count();
                    for mut n in new {
                        n.keep_clients();
                        self.found.push(describe(name, &n));
                        networks.push(n);
                    }
                    if up > 0 && with_airtime == 0 {
                        let what = if *kind == WirelessBackend::Wl { "chanim_stats" } else { "survey" };
                        self.found.push((true, format!("{name}: no channel airtime ({what}) from the driver")));
                    }
                    if count == 0 {
                        self.found.push((true, format!("{name}: no interface")));
                    }
                }
                Outcome::Unavailable(why) => {
                    let why_alone = why.strip_prefix(name).and_then(|w| w.strip_prefix(": ")).unwrap_or(&why);
                    self.found.push((true, format!("{name}: not available: {why_alone}")));
                    unavailable.push(why)
                }
            }
        }
        if backend != WirelessBackend::Auto && !unavailable.is_empty() {
            return Err(CollectError::Unavailable(unavailable.join("; ")));
        }
        // A backend chosen by name that sees no interface at all (not even a
        // disabled one) is misconfigured or broken: say so.
        if backend != WirelessBackend::Auto && seen == 0 {
            return Err(CollectError::Unavailable(format!("the {backend:?} backend found no wireless interface")));
        }
        if networks.is_empty() {
            log::debug!("wireless: no interfaces ({})", unavailable.join("; "));
            return Ok(());
        }
        for n in &mut networks {
            if let Some(o) = self.config.interfaces.get(&n.ifname) {
                if let Some(band) = o.band {
                    n.band = Some(band);
                }
                if let Some(radio) = &o.radio {
                    n.radio = radio.clone();
                }
            }
            if n.frequency_mhz.is_none() {
                n.frequency_mhz = n.band.zip(n.channel).and_then(|(b, c)| wifi::mhz_from_channel(b, c));
            }
        }
        let leases = if self.config.stations { self.leases() } else { Leases::default() };
        let limits = families::Limits { stations: self.config.stations, max_stations: self.config.max_stations.0 };
        families::write(&mut networks, limits, &leases, out);
        Ok(())
    }

    fn sources(&self) -> Vec<(bool, String)> {
        self.found.clone()
    }
}
