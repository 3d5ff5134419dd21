//! Everything that touches the operating system: file reads under the
//! configured roots, helper commands, the nl80211 socket, signals and
//! logging. May import `config` (for settings) and `parse` (to frame
//! replies); nothing here knows about metrics.

pub mod child;
pub mod command;
pub mod duration;
pub mod interfaces;
pub mod listener;
pub mod logging;
pub mod netlink;
pub mod signals;
pub mod source;
pub mod supervisor;
