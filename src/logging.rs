//! Logging at the level `-q` and `SYSTEMD_LOG_LEVEL` ask for: to the journal with structured
//! fields when stderr is connected to it (`JOURNAL_STREAM`), otherwise to stderr in systemd's
//! plain style (message only).
//!
//! Records about one interface carry the tracing fields `interface` and, when known,
//! `operstate`; the journal gets them as `INTERFACE=` and `OPERSTATE=`
//! (`journalctl INTERFACE=eth0`), stderr shows only the message.

use std::fmt;
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing_journald::{Priority, PriorityMappings};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::core::goal::GoalVerdict;

/// Fields that only the journal shows (the message already names the interface).
const JOURNAL_ONLY_FIELDS: [&str; 2] = ["interface", "operstate"];

/// systemd's log level names and numbers, mapped to tracing levels.
pub fn level_from_systemd(text: &str) -> Option<LevelFilter> {
    Some(match text.trim().to_ascii_lowercase().as_str() {
        "emerg" | "alert" | "crit" | "err" | "0" | "1" | "2" | "3" => LevelFilter::ERROR,
        "warning" | "4" => LevelFilter::WARN,
        "notice" | "info" | "5" | "6" => LevelFilter::INFO,
        "debug" | "7" => LevelFilter::DEBUG,
        _ => return None,
    })
}

/// `JOURNAL_STREAM`'s `DEV:INODE` (decimal, as systemd writes it).
pub fn parse_journal_stream(value: &str) -> Option<(u64, u64)> {
    let (dev, ino) = value.trim().split_once(':')?;
    Some((dev.parse().ok()?, ino.parse().ok()?))
}

/// Whether `JOURNAL_STREAM`'s value names the file whose device and inode are `dev` and `ino`,
/// that is whether stderr is still the journal stream systemd connected (and not redirected
/// by a child of the service).
pub fn journal_stream_matches(value: &str, dev: u64, ino: u64) -> bool {
    parse_journal_stream(value) == Some((dev, ino))
}

/// Whether stderr is connected to the journal, as systemd's `log_target` decides it.
fn stderr_is_journal() -> bool {
    let Some(value) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Some(value) = value.to_str() else {
        return false;
    };
    let Ok(fd) = std::io::stderr().as_fd().try_clone_to_owned() else {
        return false;
    };
    match std::fs::File::from(fd).metadata() {
        Ok(meta) => journal_stream_matches(value, meta.dev(), meta.ino()),
        Err(_) => false,
    }
}

/// tracing's levels as syslog priorities, the way upstream's log_info()/log_debug() send them
/// (tracing-journald's default puts INFO at notice and DEBUG at info).
fn syslog_priorities() -> PriorityMappings {
    PriorityMappings {
        info: Priority::Informational,
        debug: Priority::Debug,
        ..PriorityMappings::new()
    }
}

/// Installs the subscriber. `-q` caps the level at errors, as upstream's `log_set_max_level`.
pub fn init(quiet: bool) {
    let mut level = std::env::var("SYSTEMD_LOG_LEVEL")
        .ok()
        .and_then(|value| level_from_systemd(&value))
        .unwrap_or(LevelFilter::INFO);
    if quiet {
        level = level.min(LevelFilter::ERROR);
    }
    if stderr_is_journal() {
        // When the journal socket cannot be opened, stderr (the journal stream) still works.
        if let Ok(journal) = tracing_journald::layer() {
            let _ = tracing_subscriber::registry()
                .with(level)
                .with(
                    journal
                        .with_field_prefix(None)
                        .with_priority_mappings(syslog_priorities()),
                )
                .try_init();
            return;
        }
    }
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .without_time()
        .with_target(false)
        .with_level(false)
        .fmt_fields(PlainFields)
        .try_init();
}

/// Logs why `verdict` does not hold, one record per reason, with the journal fields of the
/// link a reason is about: at error level on timeout (upstream's lines after "Timeout
/// occurred…", then, when no DNS server is configured anywhere, the fix as a warning), at
/// debug level (prefixed `waiting: `) while waiting.
pub fn reasons(verdict: &GoalVerdict, timeout: bool) {
    for reason in verdict.reasons() {
        let link = reason.link();
        let interface = link.map(|l| tracing::field::display(&l.name));
        let operstate = link
            .and_then(|l| l.status)
            .map(|s| tracing::field::display(s.oper));
        if timeout {
            tracing::error!(interface, operstate, "{reason}");
        } else {
            tracing::debug!(interface, operstate, "waiting: {reason}");
        }
    }
    // A wait that failed for want of any DNS server: what to change (the pitfall's words), so
    // that the journal says it without --explain; waiting will never configure one.
    if timeout && let Some(fix) = crate::core::pitfalls::no_dns_server(verdict) {
        tracing::warn!(interface = fix.interface(), "{fix}");
    }
}

/// Formats an event's fields for stderr like tracing-subscriber's default (the message, then
/// ` name=value` for other fields), leaving out the journal-only fields.
struct PlainFields;

impl<'writer> FormatFields<'writer> for PlainFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'writer>, fields: R) -> fmt::Result {
        let mut visitor = PlainVisitor {
            writer,
            result: Ok(()),
            first: true,
        };
        fields.record(&mut visitor);
        visitor.result
    }
}

struct PlainVisitor<'writer> {
    writer: Writer<'writer>,
    result: fmt::Result,
    first: bool,
}

impl Visit for PlainVisitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.result.is_err() || JOURNAL_ONLY_FIELDS.contains(&field.name()) {
            return;
        }
        let separator = if self.first { "" } else { " " };
        self.first = false;
        self.result = if field.name() == "message" {
            write!(self.writer, "{separator}{value:?}")
        } else {
            write!(self.writer, "{separator}{}={value:?}", field.name())
        };
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[test]
    fn systemd_levels() {
        assert_eq!(level_from_systemd("debug"), Some(LevelFilter::DEBUG));
        assert_eq!(level_from_systemd("7"), Some(LevelFilter::DEBUG));
        assert_eq!(level_from_systemd("err"), Some(LevelFilter::ERROR));
        assert_eq!(level_from_systemd("warning"), Some(LevelFilter::WARN));
        assert_eq!(level_from_systemd("loud"), None);
    }

    #[test]
    fn journal_stream_is_dev_colon_inode() {
        assert_eq!(parse_journal_stream("8:12345"), Some((8, 12345)));
        assert_eq!(parse_journal_stream("8:12345\n"), Some((8, 12345)));
        for bad in ["", "8", ":1", "8:", "a:1", "8:1:2", "-1:2", "8;1"] {
            assert_eq!(parse_journal_stream(bad), None, "{bad:?}");
        }
        assert!(journal_stream_matches("64769:918273", 64769, 918273));
        assert!(!journal_stream_matches("64769:918273", 64769, 918274));
        assert!(!journal_stream_matches("64769:918273", 64770, 918273));
        assert!(!journal_stream_matches("garbage", 0, 0));
    }

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn stderr_shows_the_message_without_journal_fields() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .without_time()
            .with_target(false)
            .with_level(false)
            .fmt_fields(PlainFields)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::error!(interface = "eth0", operstate = "off", "eth0: not present");
            tracing::warn!(length = 7, "netlink message truncated");
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        assert_eq!(
            text,
            "eth0: not present\nnetlink message truncated length=7\n"
        );
    }
}
