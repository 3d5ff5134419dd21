//! The Wireless Extensions backend: `/proc/net/wireless`, for drivers with
//! nothing better. It lists client-mode links with their signal and noise.
//! The mode is asked with the SIOCGIWMODE ioctl. A fixture's sysfs root
//! replays it from `class/net/IFNAME/iwmode` (the ioctl's number; no kernel
//! has that file), and only under the real `/sys` is the kernel asked, so
//! a fixture never sees the host's interfaces.

use super::{Backend, Context, Outcome};
use crate::collectors::{CollectError, read_parsed};
use crate::os::source::Roots;
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
/// unknown. Out of line, as it is smaller so.
#[inline(never)]
fn mode(roots: &Roots, ifname: &str) -> &'static str {
    let mut text = String::new();
    let mode = match super::iface_file(roots, ifname, "iwmode", &mut text) {
        Some(t) => wext::parse_mode(t),
        None if roots.sysfs.as_os_str() == "/sys" => crate::os::interfaces::wireless_mode(ifname),
        None => None,
    };
    wext::mode_label(mode)
}
