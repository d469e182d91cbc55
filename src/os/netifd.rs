//! Interface names as OpenWrt users write them: a netifd logical interface
//! (`wan`, `lan`, or the alias form `@wan`) stands for its layer-3 device
//! (`pppoe-wan` while a PPPoE link is up, `br-lan`), read from netifd's
//! `ubus call network.interface.NAME status`. Without netifd (plain Linux,
//! no `ubus`) a name is a device name.
//!
//! The logical name wins where both exist: on routers whose switch port is
//! called `wan` the logical `wan` may be a PPPoE link on top of it.

use std::process::Command;

use super::OsError;

/// What a configured name stands for now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// A device name, from netifd or as written.
    Device(String),
    /// A netifd interface that exists but has no layer-3 device now
    /// (down, or a PPPoE link not yet up).
    Down(String),
}

/// netifd's answer for one logical interface: its layer-3 device when up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Up(String),
    Down,
}

/// Read `ubus call network.interface.NAME status`: `l3_device` is the
/// device carrying the interface's addresses (the PPPoE device, not the
/// port under it); `up` false or no device means down.
pub fn parse_status(json: &str) -> Option<Status> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    let v = v.as_object()?;
    let up = v.get("up").and_then(|u| u.as_bool()).unwrap_or(false);
    let dev = ["l3_device", "device"]
        .iter()
        .find_map(|k| v.get(*k).and_then(|d| d.as_str()))
        .filter(|d| !d.is_empty());
    Some(match (up, dev) {
        (true, Some(d)) => Status::Up(d.to_string()),
        _ => Status::Down,
    })
}

/// Ask netifd about `name`; `None` when there is no netifd or it does not
/// know the name.
fn netifd_status(name: &str) -> Option<Status> {
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return None;
    }
    let out = Command::new("ubus")
        .args(["call", &format!("network.interface.{name}"), "status"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    parse_status(&String::from_utf8_lossy(&out.stdout))
}

/// The device a configured interface name stands for now.
pub fn resolve(name: &str) -> Result<Resolved, OsError> {
    let logical = name.strip_prefix('@').unwrap_or(name);
    match netifd_status(logical) {
        Some(Status::Up(dev)) => Ok(Resolved::Device(dev)),
        Some(Status::Down) => Ok(Resolved::Down(logical.to_string())),
        None if name.starts_with('@') => Err(OsError::NoInterface(name.to_string())),
        None => Ok(Resolved::Device(name.to_string())),
    }
}

/// Whether a network device of this name exists now.
pub fn device_exists(name: &str) -> bool {
    !name.is_empty()
        && !name.contains('/')
        && name != "."
        && name != ".."
        && std::path::Path::new("/sys/class/net").join(name).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_of_an_up_pppoe_wan_names_its_l3_device() {
        // Trimmed from netifd on OpenWrt 23.05 with PPPoE.
        let j = r#"{"up":true,"pending":false,"available":true,"proto":"pppoe",
            "l3_device":"pppoe-wan","device":"wan","ipv4-address":[{"address":"203.0.113.9","mask":32}]}"#;
        assert_eq!(parse_status(j), Some(Status::Up("pppoe-wan".into())));
    }

    #[test]
    fn status_without_l3_device_falls_back_to_device() {
        let j = r#"{"up":true,"proto":"static","device":"br-lan"}"#;
        assert_eq!(parse_status(j), Some(Status::Up("br-lan".into())));
    }

    #[test]
    fn down_interfaces_and_garbage() {
        let down = r#"{"up":false,"pending":true,"available":true,"proto":"pppoe","device":"wan"}"#;
        assert_eq!(parse_status(down), Some(Status::Down));
        assert_eq!(
            parse_status(r#"{"up":true,"l3_device":""}"#),
            Some(Status::Down)
        );
        assert_eq!(parse_status("Command failed: Not found"), None);
        assert_eq!(parse_status("[1,2]"), None);
    }

    #[test]
    fn names_that_cannot_be_ubus_objects_are_not_asked() {
        assert_eq!(netifd_status("wan status; reboot"), None);
        assert_eq!(netifd_status(""), None);
        assert!(!device_exists("../lo"));
    }
}
