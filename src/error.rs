//! Why a run failed once its command line was accepted: one type for the binary's top, each
//! variant keeping the error it came from. (A command line that cannot be run is a
//! [`crate::cli::UsageError`], written on stderr before logging starts.)

use std::io;
use std::path::PathBuf;

use crate::engine::EngineError;
use crate::netplan::InvalidInterface;
use crate::netplan::NetplanError;

/// A failure that ends the run with upstream's failure status, logged as one line.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Netplan's configuration cannot be read (`--online-definition=ubuntu`).
    #[error(transparent)]
    Netplan(#[from] NetplanError),
    /// Netplan's configuration names an interface that cannot be waited for.
    #[error(transparent)]
    UbuntuDefinition(#[from] InvalidInterface),
    /// `--manager=networkd` (or auto with networkd's state files present), and the watch of
    /// its state directory failed.
    #[error(
        "cannot watch {}: {source}; is systemd-networkd running? (use --manager=none to judge links without it)",
        dir.display()
    )]
    WatchNetworkd {
        dir: PathBuf,
        #[source]
        source: io::Error,
    },
    /// `--require-connectivity` where nothing can say whether the Internet works.
    #[error(
        "--require-connectivity: no source can say whether the Internet works here (NetworkManager is not followed, and systemd-networkd never says it works); add --http-probe=URL"
    )]
    NoConnectivitySource,
    #[error("{0}")]
    Ifupdown(#[from] crate::ifupdown::interfaces::LoadError),
    #[error("failed to start the event loop: {0}")]
    EventLoop(#[source] io::Error),
    /// A source could not be set up or read.
    #[error(transparent)]
    Engine(#[from] EngineError),
}
