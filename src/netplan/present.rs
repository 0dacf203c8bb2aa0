//! The interfaces present now, as Netplan's generator sees them: names from
//! `/sys/class/net`, the MAC from `/sys/class/net/NAME/address` and the driver from the
//! basename of the `/sys/class/net/NAME/device/driver` link (`_netplan_sysfs_get_mac_by_ifname()`,
//! `_netplan_sysfs_get_driver_by_ifname()`). Read-only.

use std::fs;
use std::path::Path;

use super::error::NetplanError;
use super::plan::PresentInterface;
use crate::bounded_read::{self, KERNEL_VALUE_CAP};

/// Where the kernel lists network interfaces.
pub const SYS_CLASS_NET: &str = "/sys/class/net";

/// The interfaces under `sys_class_net` (normally [`SYS_CLASS_NET`]), sorted by name. A MAC or
/// driver that cannot be read (not a regular file of at most a page, virtual devices have no driver; an interface may vanish while
/// being read) is `None`, as in Netplan; a directory that cannot be listed is an error.
pub fn discover(sys_class_net: &Path) -> Result<Vec<PresentInterface>, NetplanError> {
    let listing_error = |source| NetplanError::Interfaces {
        path: sys_class_net.to_path_buf(),
        source,
    };
    let mut found = Vec::new();
    for entry in fs::read_dir(sys_class_net).map_err(listing_error)? {
        let entry = entry.map_err(listing_error)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let dir = sys_class_net.join(entry.file_name());
        let mac = bounded_read::read(&dir.join("address"), KERNEL_VALUE_CAP)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .map(|text| text.trim().to_string())
            .filter(|mac| !mac.is_empty());
        let driver = fs::read_link(dir.join("device").join("driver"))
            .ok()
            .and_then(|link| {
                link.file_name()
                    .map(|base| base.to_string_lossy().into_owned())
            });
        found.push(PresentInterface { name, mac, driver });
    }
    found.sort();
    Ok(found)
}

/// [`discover`] on [`SYS_CLASS_NET`].
pub fn discover_system() -> Result<Vec<PresentInterface>, NetplanError> {
    discover(Path::new(SYS_CLASS_NET))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn reads_names_macs_and_drivers_from_a_sysfs_like_tree() {
        let root = std::env::temp_dir().join(format!("netplan-present-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let net = root.join("class/net");
        let drivers = root.join("bus/pci/drivers/e1000e");
        fs::create_dir_all(&drivers).unwrap();
        fs::create_dir_all(net.join("eth0/device")).unwrap();
        fs::write(net.join("eth0/address"), "52:54:00:12:34:56\n").unwrap();
        symlink(&drivers, net.join("eth0/device/driver")).unwrap();
        fs::create_dir_all(net.join("br0")).unwrap();
        fs::write(net.join("br0/address"), "\n").unwrap();
        fs::create_dir_all(net.join("lo")).unwrap();
        fs::write(net.join("lo/address"), "00:00:00:00:00:00\n").unwrap();

        let found = discover(&net).unwrap();
        fs::remove_dir_all(&root).unwrap();
        assert_eq!(
            found,
            [
                PresentInterface::named("br0"),
                PresentInterface {
                    name: "eth0".into(),
                    mac: Some("52:54:00:12:34:56".into()),
                    driver: Some("e1000e".into()),
                },
                PresentInterface {
                    name: "lo".into(),
                    mac: Some("00:00:00:00:00:00".into()),
                    driver: None,
                },
            ]
        );
    }

    #[test]
    fn a_missing_directory_is_an_error_naming_it() {
        let e = discover(Path::new("/nonexistent/class/net")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("/nonexistent/class/net: cannot list network interfaces: "),
            "{e}"
        );
    }

    #[test]
    fn the_real_sysfs_has_loopback() {
        if let Ok(found) = discover_system()
            && Path::new("/sys/class/net/lo").exists()
        {
            assert!(found.iter().any(|i| i.name == "lo"), "{found:?}");
        }
    }
}
