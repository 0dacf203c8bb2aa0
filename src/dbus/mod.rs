//! What the D-Bus sources share: following a service by its owner's unique name
//! ([`owner`]). The natural home of the one bus connection they will share.

pub mod owner;
