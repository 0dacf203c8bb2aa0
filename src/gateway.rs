//! `--probe-gateway`: one empty UDP datagram to the discard port of a default gateway that
//! has not answered, sent from the route's interface. The kernel must resolve the gateway's
//! link-layer address to send it, which is the point: the neighbour entry that
//! `--require-gateway` waits for then appears (or turns FAILED). Only sent when asked for.

use std::io;
use std::net::{IpAddr, SocketAddr, SocketAddrV6, UdpSocket};
use std::os::fd::AsFd;
use std::time::Duration;

use crate::core::Snapshot;
use crate::core::goal::{Goal, GoalVerdict};
use crate::engine::EngineError;
use crate::engine::source::{Facts, Source};
use crate::sys::{BoottimeTimer, expired};

/// The discard service: whatever answers there ignores the datagram.
const DISCARD_PORT: u16 = 9;

/// Sends the probe to `gateway` through the interface `ifindex`.
pub fn probe(gateway: IpAddr, ifindex: u32) -> io::Result<()> {
    let (local, target): (SocketAddr, SocketAddr) = match gateway {
        IpAddr::V4(v4) => (
            SocketAddr::from(([0, 0, 0, 0], 0)),
            SocketAddr::from((v4, DISCARD_PORT)),
        ),
        // A link-local gateway (the usual IPv6 case) is only meaningful on its interface.
        IpAddr::V6(v6) => (
            SocketAddr::from(([0u16; 8], 0)),
            SocketAddr::V6(SocketAddrV6::new(v6, DISCARD_PORT, 0, ifindex)),
        ),
    };
    let socket = UdpSocket::bind(local)?;
    crate::sys::bind_to_ifindex(socket.as_fd(), ifindex)?;
    socket.send_to(&[], target)?;
    Ok(())
}

/// Pause between probes of a gateway that does not answer (ARP gives up after about 3 s).
const PROBE_INTERVAL: Duration = Duration::from_secs(3);

/// `--probe-gateway` as a source: after each decision it probes the gateways that have not
/// answered, and again every `PROBE_INTERVAL` while they still have not. It keeps no facts:
/// the neighbour entries its probes make the kernel resolve come from the kernel.
#[derive(Default)]
pub struct GatewayProber {
    /// Armed after probes were sent; when it fires, the next decision probes again.
    next_round: Option<BoottimeTimer>,
}

impl GatewayProber {
    pub fn new() -> GatewayProber {
        GatewayProber::default()
    }
}

impl Source for GatewayProber {
    /// The round of probes is due.
    type Event = ();
    const FACTS: Facts = Facts::Time;

    async fn next(&mut self) -> Result<(), EngineError> {
        expired(self.next_round.as_ref()).await;
        Ok(())
    }

    /// The round is due: the next decision probes again.
    fn apply(&mut self, (): (), _: &mut Snapshot, _: &Goal) -> bool {
        self.next_round = None;
        true
    }

    /// Probes every unanswered gateway of `verdict`, unless a round is already under way.
    fn decided(&mut self, _: &Snapshot, verdict: &GoalVerdict) {
        let gateways: Vec<(IpAddr, u32)> = verdict
            .verdicts
            .iter()
            .flat_map(|(_, v)| v.route_unmet.iter())
            .filter_map(|problem| problem.gateway_to_probe())
            .collect();
        if gateways.is_empty() {
            self.next_round = None;
            return;
        }
        if self.next_round.is_some() {
            return;
        }
        for (gateway, ifindex) in gateways {
            match probe(gateway, ifindex) {
                Ok(()) => tracing::debug!("probed gateway {gateway} (ifindex {ifindex})"),
                Err(err) => tracing::warn!("could not probe gateway {gateway}: {err}"),
            }
        }
        self.next_round = BoottimeTimer::new(PROBE_INTERVAL).ok();
    }
}
