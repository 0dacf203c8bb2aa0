//! What is known about the machine the wait runs on, beyond its links: whether it is a
//! container, and which network managers' wait-online units the boot starts. Read once when
//! the wait starts (`engine/machine_facts.rs`); the pitfalls about odd machines are made of them.

/// The machine's facts, as far as they were read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MachineFacts {
    /// The container manager systemd names in `/run/systemd/container` (`systemd-nspawn`,
    /// `lxc`, `docker` …) when it runs in a container; `None` on a host, or when not read.
    pub container: Option<String>,
    /// The wait-online units `network-online.target` pulls in at boot.
    pub waiters: Waiters,
    /// The kernel's tables hold every link: the wait follows them all, not only the links
    /// named with `-i` (whether a manager manages no link at all is only known then).
    pub every_link: bool,
}

/// Which of the two managers' wait-online units are enabled: a `.wants/` link of
/// `network-online.target` names them in a unit directory, and they are not masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Waiters {
    /// `systemd-networkd-wait-online.service`.
    pub networkd: bool,
    /// `NetworkManager-wait-online.service`.
    pub networkmanager: bool,
}

impl Waiters {
    /// The unit of systemd-networkd's waiter.
    pub const NETWORKD_UNIT: &'static str = "systemd-networkd-wait-online.service";
    /// The unit of NetworkManager's waiter.
    pub const NETWORKMANAGER_UNIT: &'static str = "NetworkManager-wait-online.service";

    /// Both are enabled: the boot waits for both, each on its own manager's links.
    pub fn both(self) -> bool {
        self.networkd && self.networkmanager
    }
}
