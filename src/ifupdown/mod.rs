//! The ifupdown adapter (`--manager=ifupdown`): which interfaces Debian's ifupdown brings up
//! at boot, from `/etc/network/interfaces` ([`interfaces`]), and how far it got, from its
//! state directory `/run/network` ([`state`]), kept current with inotify (no polling). The
//! decision is `crate::core::ifupdown`.

pub mod interfaces;
pub mod state;
