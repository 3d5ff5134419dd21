//! The Broadcom backend: the `wl` tool of ASUSWRT-Merlin and DD-WRT, with
//! interfaces named by `nvram` where it exists. Every run has a timeout; a
//! hung `wl` is killed and fails the backend for that scrape, as does one
//! that cannot run or crashes (see [`fatal`]).
//!
//! The mode is `wl ap` alone (1 "ap", 0 "station", else unknown): `wl
//! wet`, `psta` and `infra` would cost a run each and only name kinds of
//! client, which `wl ap` 0 already says.
//!
//! Runs per scrape: `isup`, `status`, `ap` and `assoclist` per interface,
//! `sta_info` per station, and per radio (its first interface only; guest
//! networks share it) `chanim_stats` and `phy_tempsense`. `wl noise` runs
//! only where neither `status` nor `chanim_stats` gave the noise floor.

use super::{Backend, Context, Outcome};
use crate::collectors::{CollectError, read_parsed};
use crate::os::command::{self, CommandError};
use crate::parse::wifi::Network;
use crate::parse::{net_dev, wl};
use std::time::Duration;

/// Runs `wl` (and `nvram`) for interfaces and stations.
#[derive(Default)]
pub struct WlBackend {
    text: String,
}

/// A Broadcom interface found by discovery.
struct WlInterface {
    ifname: String,
    radio: String,
    /// `Some(up)` when probing already asked `wl isup`.
    known_up: Option<bool>,
}

/// Runs commands with the configured timeout.
struct Runner {
    timeout: Duration,
}

impl Runner {
    fn run(&self, program: &str, args: &[&str]) -> Result<String, CommandError> {
        command::run(program, args, self.timeout)
    }

    /// `wl -i IFNAME ARGS...`: its output, or `None` when it failed in a way
    /// that only leaves the value out (see [`fatal`]). One out-of-line copy
    /// for the many commands asked per interface.
    #[inline(never)]
    fn ask(&self, wl: &str, ifname: &str, args: &[&str]) -> Result<Option<String>, CollectError> {
        let mut argv: Vec<&str> = Vec::with_capacity(2 + args.len());
        argv.extend_from_slice(&["-i", ifname]);
        argv.extend_from_slice(args);
        match self.run(wl, &argv) {
            Ok(out) => Ok(Some(out)),
            Err(e) => fatal(e).map(|()| None),
        }
    }

    /// `nvram get KEY`, split into words.
    fn nvram_words(&self, nvram: &str, key: &str) -> Result<Vec<String>, CommandError> {
        self.run(nvram, &["get", key]).map(|v| v.split_ascii_whitespace().map(str::to_string).collect())
    }
}

/// A `wl` (or `nvram`) that cannot run, hangs, floods, crashes (killed by
/// a signal) or is refused by the shell or the loader (exit status 126 or
/// 127: not executable, a missing library) fails the backend for the
/// scrape. Its own answers with another exit status (not a Broadcom
/// interface, interface gone, command unsupported) only skip what was
/// asked, as does an interface name that cannot be an argument (a NUL).
fn fatal(e: CommandError) -> Result<(), CollectError> {
    match &e {
        CommandError::Spawn(_, io) if io.kind() == std::io::ErrorKind::InvalidInput => Ok(()),
        CommandError::Failed { code, .. } if *code != 126 && *code != 127 => Ok(()),
        CommandError::NotFound(_) => Ok(()),
        _ => Err(CollectError::Command(e)),
    }
}

impl WlBackend {
    /// Broadcom interfaces, with their radio names: from nvram where it
    /// exists (Merlin's `wl_ifnames`, or DD-WRT's `wlN_ifname` when that is
    /// empty, plus each radio's guest `wlN_vifs`), else by asking `wl isup`
    /// of every interface in /proc/net/dev. `None` when there is no `wl`.
    fn interfaces(
        &mut self,
        ctx: &Context<'_>,
        runner: &Runner,
        covered: &[String],
    ) -> Result<Option<Vec<WlInterface>>, CollectError> {
        let nvram = &ctx.config.nvram_command;
        match runner.nvram_words(nvram, "wl_ifnames") {
            Ok(mut radios) => {
                if radios.is_empty() {
                    // DD-WRT names each radio separately.
                    for i in 0..4 {
                        match runner.nvram_words(nvram, &format!("wl{i}_ifname")) {
                            Ok(names) if !names.is_empty() => radios.extend(names.into_iter().take(1)),
                            _ => break,
                        }
                    }
                }
                if !radios.is_empty() {
                    let mut out: Vec<WlInterface> = Vec::new();
                    // nvram may name an interface twice; the first mention wins,
                    // so no interface gives two sets of series.
                    let add = |out: &mut Vec<WlInterface>, ifname: String, radio: &str| {
                        if !out.iter().any(|i| i.ifname == ifname) {
                            out.push(WlInterface { ifname, radio: radio.to_string(), known_up: None });
                        }
                    };
                    for (i, ifname) in radios.into_iter().enumerate() {
                        if out.iter().any(|known| known.ifname == ifname) {
                            continue;
                        }
                        let radio = format!("wl{i}");
                        add(&mut out, ifname, &radio);
                        if let Ok(vifs) = runner.nvram_words(nvram, &format!("wl{i}_vifs")) {
                            for vif in vifs {
                                add(&mut out, vif, &radio);
                            }
                        }
                    }
                    return Ok(Some(out));
                }
            }
            // Without nvram (or with one that fails politely) wl is asked.
            Err(e) => fatal(e)?,
        }
        let devices = read_parsed(&ctx.roots.proc_path("net/dev"), &mut self.text, net_dev::parse)?;
        let names: Vec<String> =
            devices.iter().map(|d| d.name.to_string()).filter(|n| n != "lo" && !covered.contains(n)).collect();
        let mut out = Vec::new();
        for name in names {
            match runner.run(&ctx.config.wl_command, &["-i", &name, "isup"]) {
                // Only a number makes it a Broadcom interface: a `wl` that
                // prints anything else for every name must not turn eth0
                // and br0 into WiFi networks.
                Ok(answer) => {
                    if let Some(up) = wl::parse_int(&answer) {
                        out.push(WlInterface { ifname: name.clone(), radio: name, known_up: Some(up != 0) });
                    }
                }
                Err(e) if e.is_not_found() => return Ok(None),
                Err(e) => fatal(e)?,
            }
        }
        Ok(Some(out))
    }
}

impl WlBackend {
    /// What belongs to the radio rather than to one network: channel busy
    /// share, temperature, and the noise floor when `status` had none.
    /// A command the driver lacks only leaves its value out.
    fn radio_extras(&mut self, runner: &Runner, wl: &str, n: &mut Network) -> Result<(), CollectError> {
        let ifname = n.ifname.clone();
        let chanim =
            runner.ask(wl, &ifname, &["chanim_stats"])?.map(|o| wl::parse_chanim_stats(&o)).unwrap_or_default();
        n.busy_per10k = chanim.busy_per10k;
        n.noise_dbm = n.noise_dbm.or(chanim.noise_dbm);
        n.temperature_c = runner.ask(wl, &ifname, &["phy_tempsense"])?.and_then(|o| wl::parse_tempsense(&o));
        if n.noise_dbm.is_none() {
            n.noise_dbm = runner.ask(wl, &ifname, &["noise"])?.and_then(|o| wl::parse_noise(&o));
        }
        Ok(())
    }
}

impl Backend for WlBackend {
    fn networks(&mut self, ctx: &Context<'_>, covered: &[String]) -> Result<Outcome, CollectError> {
        let runner = Runner { timeout: Duration::from_secs(ctx.config.command_timeout_seconds.0) };
        let wl = ctx.config.wl_command.as_str();
        let Some(interfaces) = self.interfaces(ctx, &runner, covered)? else {
            return Ok(Outcome::Unavailable(format!("{wl}: command not found")));
        };
        let mut networks = Vec::new();
        let seen = interfaces.len();
        let mut radios_done: Vec<String> = Vec::new();
        for WlInterface { ifname, radio, known_up } in interfaces {
            if covered.contains(&ifname) {
                continue;
            }
            let up = match known_up {
                Some(up) => up,
                None => match runner.run(wl, &["-i", &ifname, "isup"]) {
                    Ok(out) => wl::parse_int(&out) != Some(0),
                    Err(e) if e.is_not_found() => return Ok(Outcome::Unavailable(e.to_string())),
                    Err(e) => {
                        fatal(e)?;
                        continue;
                    }
                },
            };
            if !up {
                log::debug!("wl: {ifname} is down");
                networks.push(Network { ifname, radio, down: true, ..Network::default() });
                continue;
            }
            let Some(status) = runner.ask(wl, &ifname, &["status"])? else { continue };
            let status = wl::parse_status(&status);
            let (mode, client) = match runner.ask(wl, &ifname, &["ap"])?.and_then(|o| wl::parse_int(&o)) {
                Some(1) => ("ap", false),
                Some(0) => ("station", true),
                _ => ("", false),
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
                standard: status.standard,
                ..Network::default()
            };
            if !radios_done.contains(&n.radio) {
                radios_done.push(n.radio.clone());
                self.radio_extras(&runner, wl, &mut n)?;
            }
            // On a client (`wl ap` 0: a repeater's or media bridge's uplink)
            // assoclist names its AP, whose sta_info is the link: wanted
            // even without per-station series (`Network::keep_clients`).
            if ctx.config.stations || client {
                let macs =
                    runner.ask(wl, &ifname, &["assoclist"])?.map(|o| wl::parse_assoclist(&o)).unwrap_or_default();
                for mac in macs {
                    // None: the station left between assoclist and sta_info.
                    if let Some(out) = runner.ask(wl, &ifname, &["sta_info", &mac])? {
                        n.stations.push(wl::parse_sta_info(&mac, &out));
                    }
                }
            }
            networks.push(n);
        }
        Ok(Outcome::Networks(networks, seen))
    }
}
