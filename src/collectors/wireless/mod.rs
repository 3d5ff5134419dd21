//! wireless: WiFi interfaces and stations. `backend = "auto"` asks nl80211
//! first, then Broadcom's `wl` for interfaces nl80211 did not cover, then
//! `/proc/net/wireless` (Wireless Extensions) for the rest. An interface
//! that is down or vanishes mid-scrape is skipped, not an error.

use super::{CollectError, Collector};
use crate::config::{WirelessBackend, WirelessConfig};
use crate::metrics::exposition::Exposition;
use crate::os::command::{self, CommandError};
use crate::os::netlink::{self, Transport};
use crate::os::source::{Roots, read_bounded};
use crate::parse::leases::{self, Leases};
use crate::parse::wifi::{self as wireless, Network, channel_from_mhz, format_mac};
use crate::parse::{self as procfs, ParseError};
use crate::parse::{nl80211, wl};
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The wireless collector.
pub struct WirelessCollector {
    config: WirelessConfig,
    nl80211_replay: PathBuf,
    capture: Option<PathBuf>,
    text: String,
    /// The last leases problem logged, so it is logged once.
    leases_error: Option<String>,
}

/// A Broadcom interface found by discovery.
struct WlInterface {
    ifname: String,
    radio: String,
    /// `Some(up)` when probing already asked `wl isup`.
    known_up: Option<bool>,
}

/// What one backend found.
enum Outcome {
    /// Interfaces it reports, and how many it saw in all (down ones too).
    Networks(Vec<Network>, usize),
    /// It cannot run here at all (as opposed to one that failed).
    Unavailable(String),
}

fn nl_error(e: nl80211::DecodeError) -> CollectError {
    CollectError::Unavailable(format!("nl80211: {e}"))
}

/// Whether an nl80211 error means the interface went away.
fn vanished(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENODEV) | Some(libc::ENOENT)) || e.kind() == io::ErrorKind::NotFound
}

impl WirelessCollector {
    /// A collector with the given settings.
    pub fn new(config: &WirelessConfig) -> Self {
        WirelessCollector {
            config: config.clone(),
            nl80211_replay: PathBuf::new(),
            capture: None,
            text: String::new(),
            leases_error: None,
        }
    }

    /// Takes new settings.
    pub fn configure(&mut self, config: &WirelessConfig, nl80211_replay: &Path) {
        self.config = config.clone();
        self.nl80211_replay = nl80211_replay.to_path_buf();
    }

    /// Saves every nl80211 reply into `dir` (for fixtures and bug reports).
    pub fn capture_nl80211(&mut self, dir: &Path) {
        self.capture = Some(dir.to_path_buf());
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(self.config.command_timeout_seconds.0)
    }

    fn nl80211(&mut self) -> Result<Outcome, CollectError> {
        let mut transport: Box<dyn Transport> = if self.nl80211_replay.as_os_str().is_empty() {
            match netlink::Socket::open() {
                Ok(s) => Box::new(s),
                Err(e) => return Ok(Outcome::Unavailable(format!("nl80211: {e}"))),
            }
        } else {
            Box::new(netlink::Replay::new(&self.nl80211_replay))
        };
        if let Some(dir) = &self.capture {
            transport = Box::new(netlink::Capture::new(transport, dir));
        }
        let reply =
            transport.interfaces().map_err(|e| CollectError::Unavailable(format!("nl80211 interface dump: {e}")))?;
        let mut networks = Vec::new();
        let interfaces = nl80211::decode_interfaces(&reply).map_err(nl_error)?;
        let seen = interfaces.len();
        for i in interfaces {
            let mut n = Network {
                radio: i.wiphy.map(|w| format!("phy{w}")).unwrap_or_default(),
                ssid: i.ssid.clone().unwrap_or_default(),
                bssid: i.mac.as_ref().map(format_mac).unwrap_or_default(),
                mode: i.mode().to_string(),
                band: i.band(),
                channel: i.freq_mhz.and_then(channel_from_mhz),
                frequency_mhz: i.freq_mhz,
                width_mhz: i.width_mhz(),
                ifname: i.ifname.clone(),
                ..Network::default()
            };
            if self.config.stations {
                match transport.stations(i.ifindex, &i.ifname) {
                    Ok(bytes) => n.stations = nl80211::decode_stations(&bytes).map_err(nl_error)?,
                    Err(e) if vanished(&e) => {
                        log::debug!("nl80211: {} went away during the scrape: {e}", i.ifname);
                        continue;
                    }
                    Err(e) => {
                        return Err(CollectError::Unavailable(format!("nl80211 station dump of {}: {e}", i.ifname)));
                    }
                }
            }
            // Not every driver has a survey; noise is then just unknown.
            if let Ok(bytes) = transport.survey(i.ifindex, &i.ifname) {
                n.noise_dbm = nl80211::decode_survey_noise(&bytes).unwrap_or(None);
            }
            networks.push(n);
        }
        Ok(Outcome::Networks(networks, seen))
    }

    fn run(&self, program: &str, args: &[&str]) -> Result<String, CommandError> {
        command::run(program, args, self.timeout())
    }

    /// Broadcom interfaces, with their radio names: from nvram where it
    /// exists (Merlin's `wl_ifnames`, or DD-WRT's `wlN_ifname` when that is
    /// empty, plus each radio's guest `wlN_vifs`), else by asking
    /// `wl isup` of every interface in /proc/net/dev.
    fn wl_interfaces(&mut self, roots: &Roots, skip: &[String]) -> Result<Option<Vec<WlInterface>>, CollectError> {
        let nvram = self.config.nvram_command.clone();
        let get = |this: &Self, key: &str| -> Result<Vec<String>, CommandError> {
            this.run(&nvram, &["get", key]).map(|v| v.split_ascii_whitespace().map(str::to_string).collect())
        };
        match get(self, "wl_ifnames") {
            Ok(mut radios) => {
                if radios.is_empty() {
                    // DD-WRT names each radio separately.
                    for i in 0..4 {
                        match get(self, &format!("wl{i}_ifname")) {
                            Ok(names) if !names.is_empty() => radios.extend(names.into_iter().take(1)),
                            _ => break,
                        }
                    }
                }
                if !radios.is_empty() {
                    let mut out = Vec::new();
                    for (i, ifname) in radios.into_iter().enumerate() {
                        let radio = format!("wl{i}");
                        out.push(WlInterface { ifname, radio: radio.clone(), known_up: None });
                        if let Ok(vifs) = get(self, &format!("wl{i}_vifs")) {
                            out.extend(vifs.into_iter().map(|v| WlInterface {
                                ifname: v,
                                radio: radio.clone(),
                                known_up: None,
                            }));
                        }
                    }
                    return Ok(Some(out));
                }
            }
            Err(CommandError::Timeout(..)) => {
                return Err(CollectError::Unavailable(format!("{nvram} get wl_ifnames timed out")));
            }
            Err(_) => {}
        }
        roots.read_proc("net/dev", &mut self.text)?;
        let names: Vec<String> = procfs::net_dev::parse(&self.text)
            .map_err(|error| CollectError::Parse { path: roots.proc_path("net/dev"), error })?
            .iter()
            .map(|d| d.name.to_string())
            .filter(|n| n != "lo" && !skip.contains(n))
            .collect();
        let wl = self.config.wl_command.clone();
        let mut out = Vec::new();
        for name in names {
            match self.run(&wl, &["-i", &name, "isup"]) {
                Ok(answer) => {
                    let up = wl::parse_int(&answer) != Some(0);
                    out.push(WlInterface { ifname: name.clone(), radio: name, known_up: Some(up) });
                }
                Err(e) if e.is_not_found() => return Ok(None),
                Err(CommandError::Timeout(c, _)) => return Err(CollectError::Unavailable(format!("{c} timed out"))),
                Err(_) => {}
            }
        }
        Ok(Some(out))
    }

    fn wl(&mut self, roots: &Roots, skip: &[String]) -> Result<Outcome, CollectError> {
        let wl = self.config.wl_command.clone();
        let Some(interfaces) = self.wl_interfaces(roots, skip)? else {
            return Ok(Outcome::Unavailable(format!("{wl}: command not found")));
        };
        // A hung wl is killed at the timeout and fails this backend for the
        // scrape; other errors (interface gone, radio off) skip the interface.
        let fatal = |e: CommandError| -> Result<(), CollectError> {
            match e {
                CommandError::Timeout(..) | CommandError::TooLarge(_) => Err(CollectError::Unavailable(e.to_string())),
                _ => Ok(()),
            }
        };
        let mut networks = Vec::new();
        let seen = interfaces.len();
        for WlInterface { ifname, radio, known_up } in interfaces {
            if skip.contains(&ifname) {
                continue;
            }
            let isup = match known_up {
                Some(true) => Ok("1".to_string()),
                Some(false) => Ok("0".to_string()),
                None => self.run(&wl, &["-i", &ifname, "isup"]),
            };
            match isup {
                Ok(out) if wl::parse_int(&out) == Some(0) => {
                    log::debug!("wl: {ifname} is down; skipped");
                    continue;
                }
                Ok(_) => {}
                Err(e) if e.is_not_found() => return Ok(Outcome::Unavailable(e.to_string())),
                Err(e) => {
                    fatal(e)?;
                    continue;
                }
            }
            let status = match self.run(&wl, &["-i", &ifname, "status"]) {
                Ok(out) => wl::parse_status(&out),
                Err(e) => {
                    fatal(e)?;
                    continue;
                }
            };
            let mode = match self.run(&wl, &["-i", &ifname, "ap"]).map(|o| wl::parse_int(&o)) {
                Ok(Some(1)) => "ap",
                Ok(Some(0)) => "station",
                Ok(_) => "",
                Err(e) => {
                    fatal(e)?;
                    ""
                }
            };
            let mut n = Network {
                ifname: ifname.clone(),
                radio,
                ssid: status.ssid.clone().unwrap_or_default(),
                bssid: status.bssid.clone().unwrap_or_default(),
                mode: mode.to_string(),
                band: status.band,
                channel: status.channel,
                frequency_mhz: status.frequency_mhz(),
                width_mhz: status.width_mhz,
                noise_dbm: status.noise_dbm,
                ..Network::default()
            };
            if self.config.stations {
                let macs = match self.run(&wl, &["-i", &ifname, "assoclist"]) {
                    Ok(out) => wl::parse_assoclist(&out),
                    Err(e) => {
                        fatal(e)?;
                        Vec::new()
                    }
                };
                for mac in macs {
                    match self.run(&wl, &["-i", &ifname, "sta_info", &mac]) {
                        Ok(out) => n.stations.push(wl::parse_sta_info(&mac, &out)),
                        // The station left between assoclist and sta_info.
                        Err(e) => fatal(e)?,
                    }
                }
            }
            networks.push(n);
        }
        Ok(Outcome::Networks(networks, seen))
    }

    fn wext(&mut self, roots: &Roots, skip: &[String]) -> Result<Outcome, CollectError> {
        const SOURCE: &str = "net/wireless";
        match roots.read_proc(SOURCE, &mut self.text) {
            Ok(()) => {}
            Err(e) if e.is_missing() => return Ok(Outcome::Unavailable(e.to_string())),
            Err(e) => return Err(e.into()),
        }
        let parsed = procfs::wext::parse(&self.text)
            .map_err(|error| CollectError::Parse { path: roots.proc_path(SOURCE), error })?;
        let seen = parsed.len();
        Ok(Outcome::Networks(
            parsed
                .into_iter()
                .filter(|w| !skip.iter().any(|s| s == w.name))
                .map(|w| Network {
                    ifname: w.name.to_string(),
                    // WEXT lists client-mode links; levels above 0 are not dBm.
                    signal_dbm: Some(w.level).filter(|&l| l < 0),
                    noise_dbm: Some(w.noise).filter(|&n| n < 0 && n != -256),
                    link_quality: Some(w.quality),
                    ..Network::default()
                })
                .collect(),
            seen,
        ))
    }

    fn leases(&mut self) -> Leases {
        let configured = self.config.leases.clone();
        let path: Option<PathBuf> = match configured.as_str() {
            "" => None,
            "auto" => leases::AUTO_PATHS.iter().map(PathBuf::from).find(|p| p.exists()),
            p => Some(PathBuf::from(p)),
        };
        let Some(path) = path else { return Leases::default() };
        let result = read_bounded(&path, &mut self.text)
            .map_err(|e| e.to_string())
            .and_then(|()| leases::parse(&self.text).map_err(|e: ParseError| format!("{}: {e}", path.display())));
        match result {
            Ok(l) => {
                self.leases_error = None;
                l
            }
            Err(msg) => {
                if self.leases_error.as_deref() != Some(msg.as_str()) {
                    log::warn!("wireless: no hostnames from the leases file: {msg}");
                    self.leases_error = Some(msg);
                }
                Leases::default()
            }
        }
    }
}

impl Collector for WirelessCollector {
    fn collect(&mut self, roots: &Roots, out: &mut Exposition) -> Result<(), CollectError> {
        let backend = self.config.backend;
        let mut networks: Vec<Network> = Vec::new();
        let mut unavailable: Vec<String> = Vec::new();
        let mut seen = 0;
        let wants = |b: WirelessBackend| backend == WirelessBackend::Auto || backend == b;
        let order = [WirelessBackend::Nl80211, WirelessBackend::Wl, WirelessBackend::Wext];
        for b in order.into_iter().filter(|&b| wants(b)) {
            let covered: Vec<String> = networks.iter().map(|n| n.ifname.clone()).collect();
            let outcome = match b {
                WirelessBackend::Nl80211 => self.nl80211()?,
                WirelessBackend::Wl => self.wl(roots, &covered)?,
                _ => self.wext(roots, &covered)?,
            };
            match outcome {
                Outcome::Networks(found, count) => {
                    seen += count;
                    networks.extend(found.into_iter().filter(|n| !covered.contains(&n.ifname)));
                }
                Outcome::Unavailable(why) => unavailable.push(why),
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
                n.frequency_mhz = n.band.zip(n.channel).and_then(|(b, c)| wireless::mhz_from_channel(b, c));
            }
        }
        let leases = if self.config.stations { self.leases() } else { Leases::default() };
        wireless::write_metrics(&mut networks, self.config.stations, &leases, out);
        Ok(())
    }
}
