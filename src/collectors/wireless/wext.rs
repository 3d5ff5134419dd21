//! The Wireless Extensions backend: `/proc/net/wireless`, for drivers with
//! nothing better. It lists client-mode links with their signal and noise.
//! The mode is asked with the SIOCGIWMODE ioctl; a fixture's procfs root
//! replays it from `net/iwmode/IFNAME` (the ioctl's number), and only the
//! real `/proc` is asked of the kernel, so a fixture never sees the host's.

use super::{Backend, Context, Outcome};
use crate::collectors::{CollectError, read_parsed};
use crate::os::source::{Roots, read_bounded};
use crate::parse::wext;
use crate::parse::wifi::Network;

/// Reads `/proc/net/wireless`.
#[derive(Default)]
pub struct WextBackend {
    text: String,
}

impl Backend for WextBackend {
    fn networks(&mut self, ctx: &Context<'_>, covered: &[String]) -> Result<Outcome, CollectError> {
        let parsed = match read_parsed(&ctx.roots.proc_path("net/wireless"), &mut self.text, wext::parse) {
            Ok(parsed) => parsed,
            Err(CollectError::Source(e)) if e.is_missing() => return Ok(Outcome::Unavailable(e.to_string())),
            Err(e) => return Err(e),
        };
        let seen = parsed.len();
        let networks = parsed
            .into_iter()
            .filter(|w| !covered.iter().any(|s| s == w.name))
            .map(|w| Network {
                ifname: w.name.to_string(),
                mode: mode(ctx.roots, w.name).to_string(),
                down: super::admin_down(ctx.roots, w.name),
                // WEXT lists client-mode links; levels above 0 are not dBm.
                signal_dbm: Some(w.level).filter(|&l| l < 0),
                noise_dbm: Some(w.noise).filter(|&n| n < 0 && n != -256),
                link_quality: Some(w.quality),
                ..Network::default()
            })
            .collect();
        Ok(Outcome::Networks(networks, seen))
    }
}

/// The WEXT mode label of `ifname` (see the module's doc); empty when
/// unknown. Out of line: inlined into the iterator it cost 100 bytes more.
#[inline(never)]
fn mode(roots: &Roots, ifname: &str) -> &'static str {
    if ifname.contains('/') || ifname.starts_with('.') {
        return "";
    }
    let mut text = String::new();
    let mode = if read_bounded(&roots.proc_path("net/iwmode").join(ifname), &mut text).is_ok() {
        wext::parse_mode(&text)
    } else if roots.procfs.as_os_str() == "/proc" {
        crate::os::interfaces::wireless_mode(ifname)
    } else {
        None
    };
    wext::mode_label(mode)
}
