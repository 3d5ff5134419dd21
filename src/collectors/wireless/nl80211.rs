//! The nl80211 backend: mac80211 drivers (OpenWrt, current kernels), asked
//! over generic netlink, or replayed from captured replies.

use super::{Backend, Context, Outcome};
use crate::collectors::CollectError;
use crate::os::netlink::{Capture, OpenError, Replay, Socket, Transport};
use crate::parse::netlink::DecodeError;
use crate::parse::nl80211;
use crate::parse::wifi::{Airtime, Network, channel_from_mhz, format_mac};
use std::io;

/// Asks nl80211 for interfaces, stations and the survey.
pub struct Nl80211Backend;

/// Whether an nl80211 error means the interface went away.
fn vanished(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENODEV) | Some(libc::ENOENT)) || e.kind() == io::ErrorKind::NotFound
}

/// A decode error of the reply to `request`.
fn decode_error(request: String) -> impl FnOnce(DecodeError) -> CollectError {
    move |error| CollectError::Decode { request, error }
}

impl Backend for Nl80211Backend {
    fn networks(&mut self, ctx: &Context<'_>, _covered: &[String]) -> Result<Outcome, CollectError> {
        let mut transport: Box<dyn Transport> = if ctx.roots.nl80211.as_os_str().is_empty() {
            match Socket::open() {
                Ok(s) => Box::new(s),
                Err(OpenError::Unavailable(e)) => return Ok(Outcome::Unavailable(format!("nl80211: {e}"))),
                Err(OpenError::BadReply(error)) => {
                    return Err(CollectError::Decode { request: "nl80211 family lookup".into(), error });
                }
            }
        } else {
            Box::new(Replay::new(&ctx.roots.nl80211))
        };
        if let Some(dir) = &ctx.roots.nl80211_capture {
            transport = Box::new(Capture::new(transport, dir));
        }
        let reply =
            transport.interfaces().map_err(|e| CollectError::Unavailable(format!("nl80211 interface dump: {e}")))?;
        let interfaces = nl80211::decode_interfaces(&reply).map_err(decode_error("nl80211 interface dump".into()))?;
        let seen = interfaces.len();
        let mut networks = Vec::new();
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
                tx_power_mbm: i.tx_power_mbm,
                ifname: i.ifname.clone(),
                ..Network::default()
            };
            // A client's own MAC is no BSSID: its AP's comes from the
            // station dump (`Network::keep_clients`).
            let client = n.uplink();
            if client {
                n.bssid.clear();
            }
            if super::admin_down(ctx.roots, &i.ifname) {
                networks.push(Network { down: true, ..n });
                continue;
            }
            // A client's only "station" is its AP: its link, wanted even
            // without per-station series.
            if ctx.config.stations || client {
                let stations = transport.stations(i.ifindex, &i.ifname).map(|bytes| nl80211::decode_stations(&bytes));
                match stations {
                    Ok(Ok(stations)) => n.stations = stations,
                    // A dump reports a vanished interface in its NLMSG_DONE.
                    Ok(Err(DecodeError::Kernel(libc::ENODEV | libc::ENOENT))) => {
                        log::debug!("nl80211: {} went away during the scrape", i.ifname);
                        continue;
                    }
                    Ok(Err(error)) => {
                        return Err(decode_error(format!("nl80211 station dump of {}", i.ifname))(error));
                    }
                    Err(e) if vanished(&e) => {
                        log::debug!("nl80211: {} went away during the scrape: {e}", i.ifname);
                        continue;
                    }
                    Err(e) => {
                        return Err(CollectError::Unavailable(format!("nl80211 station dump of {}: {e}", i.ifname)));
                    }
                }
            }
            // Not every driver has a survey; noise and airtime are then
            // just unknown, never an error.
            let survey = transport.survey(i.ifindex, &i.ifname).ok().and_then(|b| nl80211::decode_survey(&b).ok());
            if let Some(e) = survey.as_deref().and_then(|s| nl80211::survey_in_use(s, i.freq_mhz)) {
                n.noise_dbm = e.noise_dbm;
                n.airtime = Some(e.airtime).filter(|a| *a != Airtime::default());
            }
            n.standard = n.stations.iter().filter_map(|s| s.standard).chain(i.channel_standard()).max();
            networks.push(n);
        }
        Ok(Outcome::Networks(networks, seen))
    }
}
