//! Receive-buffer overflow (ENOBUFS) against the real kernel: with a tiny socket buffer and a
//! burst of address changes that the reader does not drain in time, the kernel drops events;
//! the source must notice, re-dump, replay only what is newer than the dump, and end up with
//! exactly the kernel's addresses (no lost address, no resurrected one).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::os::fd::AsRawFd;
use std::time::Duration;

use common::Netns;
use wait_online::core::KernelLink;
use wait_online::netlink::{KernelSource, KernelSourceConfig};
use wait_online::sys::boottime_now;

/// (ifindex, "address/prefix") of every address, as `ip -o addr` shows them.
fn kernel_addresses(ns: &Netns) -> BTreeSet<(u32, String)> {
    ns.ip(&["-o", "address", "show"])
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let ifindex = words.next()?.trim_end_matches(':').parse().ok()?;
            let _name = words.next()?;
            let _family = words.next()?;
            Some((ifindex, words.next()?.to_string()))
        })
        .collect()
}

/// (ifindex, name) of every link, as `ip -o link` shows them.
fn kernel_links(ns: &Netns) -> BTreeSet<(u32, String)> {
    ns.ip(&["-o", "link", "show"])
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let ifindex = words.next()?.trim_end_matches(':').parse().ok()?;
            let name = words.next()?.trim_end_matches(':');
            Some((ifindex, name.split('@').next()?.to_string()))
        })
        .collect()
}

fn our_addresses(links: &BTreeMap<u32, KernelLink>) -> BTreeSet<(u32, String)> {
    links
        .values()
        .flat_map(|l| {
            l.addresses
                .iter()
                .map(move |a| (l.ifindex, format!("{}/{}", a.address, a.prefix_len)))
        })
        .collect()
}

/// Reads until nothing arrives for `quiet`.
async fn drain(source: &mut KernelSource, links: &mut BTreeMap<u32, KernelLink>, quiet: Duration) {
    while let Ok(result) = tokio::time::timeout(quiet, source.process(links, boottime_now)).await {
        result.expect("netlink read");
    }
}

#[test]
fn overflow_triggers_an_exact_resynchronisation() {
    if !common::require_root() {
        return;
    }
    let ns = Netns::new();
    let mut batch = String::new();
    for i in 0..20 {
        batch.push_str(&format!(
            "link add name v{i} type veth peer name p{i}\nlink set v{i} up\nlink set p{i} up\n"
        ));
    }
    let setup = std::env::temp_dir().join(format!("{}-setup", ns.name()));
    std::fs::write(&setup, &batch).unwrap();
    ns.ip(&["-batch", setup.to_str().unwrap()]);

    // The burst: many adds and deletes, ending with a known set of addresses left.
    let mut burst = String::new();
    for round in 0..30 {
        // Links that come and go: a stale RTM_NEWLINK replayed after the dump would resurrect one.
        burst.push_str(&format!(
            "link add name t{round} type veth peer name tp{round}\n"
        ));
        if round > 0 {
            burst.push_str(&format!("link del t{}\n", round - 1));
        }
        for i in 0..20 {
            burst.push_str(&format!("address add 10.{i}.{round}.1/24 dev v{i}\n"));
        }
        for i in 0..20 {
            if round % 3 != 0 {
                burst.push_str(&format!("address del 10.{i}.{round}.1/24 dev v{i}\n"));
            }
        }
    }
    let burst_file = std::env::temp_dir().join(format!("{}-burst", ns.name()));
    std::fs::write(&burst_file, &burst).unwrap();

    let netns_path = ns.path();
    let (stats, ours, our_links) = std::thread::spawn(move || {
        let netns = File::open(&netns_path).unwrap();
        // SAFETY: setns on this thread only; it then runs its own current-thread runtime.
        assert_eq!(
            unsafe { libc::setns(netns.as_raw_fd(), libc::CLONE_NEWNET) },
            0
        );
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let config = KernelSourceConfig {
                receive_buffer: 4096,
            };
            let mut source = KernelSource::open(config).unwrap();
            let mut links = BTreeMap::new();
            while !source.is_synced() {
                source.process(&mut links, boottime_now).await.unwrap();
            }
            // Not reading while the burst runs: the tiny buffer must overflow.
            let status = std::process::Command::new("ip")
                .args(["-batch", burst_file.to_str().unwrap()])
                .status()
                .unwrap();
            assert!(status.success());
            drain(&mut source, &mut links, Duration::from_millis(300)).await;
            assert!(source.is_synced(), "resynchronisation did not finish");
            let names: BTreeSet<(u32, String)> = links
                .values()
                .map(|l| (l.ifindex, l.name.clone()))
                .collect();
            (source.stats(), our_addresses(&links), names)
        })
    })
    .join()
    .unwrap();
    std::fs::remove_file(&setup).ok();

    assert!(
        stats.overruns >= 1,
        "the burst did not overflow a 4 KiB buffer: {stats:?}"
    );
    assert!(stats.dumps >= 2, "no re-dump after the overflow: {stats:?}");
    assert_eq!(
        our_links,
        kernel_links(&ns),
        "links after resync ({stats:?})"
    );
    let kernel = kernel_addresses(&ns);
    assert_eq!(
        ours, kernel,
        "after resync our addresses must equal the kernel's ({stats:?})"
    );
    let kept = ours.iter().filter(|(_, a)| a.starts_with("10.")).count();
    assert_eq!(kept, 20 * 10, "every third round's addresses are kept");
}
