//! The embedded PPTP client service: one supervised task per profile that
//! dials, keeps the tunnel up (reconnecting with back-off) and publishes its
//! status. Interface: `Handle::start(Profile, CallIds)`, then status and
//! stop through the handle.

mod dial;
mod status;
mod supervise;

use std::time::Duration;

pub use dial::{CallIds, Profile};
pub use supervise::Handle;

use crate::config::ClientCfg;

impl Profile {
    /// A profile from the config file: TUN `pptp-NAME` (cut to the 15
    /// characters Linux allows).
    pub fn from_config(cfg: ClientCfg) -> Profile {
        let mut tun = format!("pptp-{}", cfg.name);
        tun.truncate(15);
        Profile {
            cfg,
            tun,
            timeout: Duration::from_secs(15),
            hook: None,
        }
    }
}
