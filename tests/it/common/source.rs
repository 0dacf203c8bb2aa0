//! The library's kernel source, in process, inside a test namespace.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::thread;

use wait_online::core::update::KernelTables;
use wait_online::netlink::{KernelSource, KernelSourceConfig};

use super::netns::Netns;

/// A future for [`in_netns`] and [`spawn_in_netns`].
pub type Body<T> = Pin<Box<dyn Future<Output = T>>>;

/// Runs `body` on a thread inside `ns` with a current-thread runtime; returns its handle.
pub fn spawn_in_netns<T: Send + 'static>(
    ns: &Netns,
    body: impl FnOnce() -> Body<T> + Send + 'static,
) -> thread::JoinHandle<T> {
    ns.spawn_thread(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        runtime.block_on(body())
    })
}

/// [`spawn_in_netns`] and wait for the result.
pub fn in_netns<T: Send + 'static>(
    ns: &Netns,
    body: impl FnOnce() -> Body<T> + Send + 'static,
) -> T {
    spawn_in_netns(ns, body)
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e))
}

/// A kernel source opened with `config` in the calling thread's namespace, read until its
/// first dump is complete.
pub async fn synced_source(config: KernelSourceConfig) -> (KernelSource, KernelTables) {
    let mut source = KernelSource::open(config).expect("open the kernel source");
    let mut tables = KernelTables::default();
    while !source.is_synced() {
        process(&mut source, &mut tables)
            .await
            .expect("netlink read");
    }
    (source, tables)
}

/// Reads what the kernel sent and applies it to `tables`: the engine's two steps in one.
/// Cancel-safe, as [`KernelSource::next`] is.
pub async fn process(source: &mut KernelSource, tables: &mut KernelTables) -> io::Result<()> {
    let messages = source.next().await?;
    source.apply(messages, tables);
    Ok(())
}
