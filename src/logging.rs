//! Logging to stderr in systemd's plain style (message only), at the level `-q` and
//! `SYSTEMD_LOG_LEVEL` ask for.

use tracing::level_filters::LevelFilter;

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

/// Installs the subscriber. `-q` caps the level at errors, as upstream's `log_set_max_level`.
pub fn init(quiet: bool) {
    let mut level = std::env::var("SYSTEMD_LOG_LEVEL")
        .ok()
        .and_then(|value| level_from_systemd(&value))
        .unwrap_or(LevelFilter::INFO);
    if quiet {
        level = level.min(LevelFilter::ERROR);
    }
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .without_time()
        .with_target(false)
        .with_level(false)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn systemd_levels() {
        assert_eq!(level_from_systemd("debug"), Some(LevelFilter::DEBUG));
        assert_eq!(level_from_systemd("7"), Some(LevelFilter::DEBUG));
        assert_eq!(level_from_systemd("err"), Some(LevelFilter::ERROR));
        assert_eq!(level_from_systemd("warning"), Some(LevelFilter::WARN));
        assert_eq!(level_from_systemd("loud"), None);
    }
}
