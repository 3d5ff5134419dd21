//! wireless: WiFi interfaces and stations (nl80211, Broadcom `wl`, WEXT).

use super::{CollectError, Collector};
use crate::config::WirelessConfig;
use crate::exposition::Exposition;
use crate::source::Roots;

/// The wireless collector.
pub struct WirelessCollector {
    config: WirelessConfig,
}

impl WirelessCollector {
    /// A collector with the given settings.
    pub fn new(config: &WirelessConfig) -> Self {
        WirelessCollector { config: config.clone() }
    }

    /// Takes new settings.
    pub fn configure(&mut self, config: &WirelessConfig) {
        self.config = config.clone();
    }
}

impl Collector for WirelessCollector {
    fn name(&self) -> &'static str {
        "wireless"
    }

    fn collect(&mut self, _roots: &Roots, _out: &mut Exposition) -> Result<(), CollectError> {
        let _ = &self.config;
        Err(CollectError::Unavailable("the wireless collector is not built yet".into()))
    }
}
