//! Where `--timeout`, `--carrier-timeout` and `--dns-grace` came from, in words: the line each
//! value gets in the log once at start (at the default level when the value came from outside
//! the command line the unit shows: the environment, a credential, the kernel command line).

use std::fmt;

use crate::cli::boot::{CmdlineSource, Origin, Setting, SettingSource};
use crate::cli::timespan::TimeSpan;
use crate::text::{OneLine, excerpt};

impl fmt::Display for SettingSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.setting {
            Setting::Timeout => "timeout",
            Setting::CarrierTimeout => "carrier timeout",
            Setting::DnsGrace => "DNS grace",
        };
        write!(f, "{name} {}", span(self.value))?;
        if self.finite().is_none() {
            let meaning = match self.setting {
                Setting::Timeout => "wait forever",
                Setting::CarrierTimeout | Setting::DnsGrace => "off",
            };
            write!(f, " ({meaning})")?;
        }
        match &self.origin {
            Origin::Default => write!(f, ", the default"),
            Origin::CommandLine => write!(f, " from the command line ({})", self.setting.option()),
            Origin::Environment(name) => write!(f, " from the environment (${name})"),
            Origin::Credential(path) => write!(
                f,
                " from the credential {} ({})",
                self.setting.credential(),
                excerpt(&path.to_string_lossy())
            ),
            Origin::File { path, variable } => {
                write!(f, " from {} ({variable})", excerpt(&path.to_string_lossy()))
            }
            Origin::KernelCommandLine { key, source } => {
                let place = match source {
                    CmdlineSource::ProcCmdline => "",
                    CmdlineSource::Pid1 => ", PID 1's arguments in this container",
                    CmdlineSource::Override => ", $SYSTEMD_PROC_CMDLINE",
                };
                write!(
                    f,
                    " from the kernel command line ({}={place})",
                    OneLine(key)
                )
            }
        }
    }
}

/// A time span as systemd's `format_timespan()` writes whole units: `2min 30s`, `500ms`,
/// `infinity`.
pub(crate) fn span(value: TimeSpan) -> String {
    const UNITS: [(u128, &str); 6] = [
        (86_400_000_000, "d"),
        (3_600_000_000, "h"),
        (60_000_000, "min"),
        (1_000_000, "s"),
        (1_000, "ms"),
        (1, "us"),
    ];
    let TimeSpan::Finite(duration) = value else {
        return "infinity".to_string();
    };
    let mut left = duration.as_micros();
    if left == 0 {
        return "0".to_string();
    }
    let mut parts = Vec::new();
    for (size, unit) in UNITS {
        if left >= size {
            parts.push(format!("{}{unit}", left / size));
            left %= size;
        }
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use super::*;

    fn line(setting: Setting, value: TimeSpan, origin: Origin) -> String {
        SettingSource {
            setting,
            value,
            origin,
        }
        .to_string()
    }

    #[test]
    fn each_origin_is_named() {
        let secs = |n| TimeSpan::Finite(Duration::from_secs(n));
        let kernel = |source| Origin::KernelCommandLine {
            key: "rd.wait-online.timeout".to_string(),
            source,
        };
        let cases = [
            (
                line(Setting::Timeout, secs(120), Origin::Default),
                "timeout 2min, the default",
            ),
            (
                line(Setting::Timeout, secs(0), Origin::CommandLine),
                "timeout 0 (wait forever) from the command line (--timeout)",
            ),
            (
                line(
                    Setting::CarrierTimeout,
                    secs(5),
                    Origin::Environment("WAIT_ONLINE_CARRIER_TIMEOUT"),
                ),
                "carrier timeout 5s from the environment ($WAIT_ONLINE_CARRIER_TIMEOUT)",
            ),
            (
                line(
                    Setting::DnsGrace,
                    TimeSpan::Infinity,
                    Origin::Credential(PathBuf::from("/run/credentials/x/wait-online.dns-grace")),
                ),
                "DNS grace infinity (off) from the credential wait-online.dns-grace \
                 (/run/credentials/x/wait-online.dns-grace)",
            ),
            (
                line(
                    Setting::Timeout,
                    secs(300),
                    kernel(CmdlineSource::ProcCmdline),
                ),
                "timeout 5min from the kernel command line (rd.wait-online.timeout=)",
            ),
            (
                line(Setting::Timeout, secs(90), kernel(CmdlineSource::Pid1)),
                "timeout 1min 30s from the kernel command line (rd.wait-online.timeout=, \
                 PID 1's arguments in this container)",
            ),
            (
                line(Setting::Timeout, secs(1), kernel(CmdlineSource::Override)),
                "timeout 1s from the kernel command line (rd.wait-online.timeout=, \
                 $SYSTEMD_PROC_CMDLINE)",
            ),
            (
                line(
                    Setting::Timeout,
                    secs(300),
                    Origin::File {
                        path: PathBuf::from("/etc/default/networking"),
                        variable: "WAIT_ONLINE_TIMEOUT",
                    },
                ),
                "timeout 5min from /etc/default/networking (WAIT_ONLINE_TIMEOUT)",
            ),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
    }

    #[test]
    fn spans_are_written_in_whole_units() {
        let finite = |d| span(TimeSpan::Finite(d));
        assert_eq!(finite(Duration::from_millis(500)), "500ms");
        assert_eq!(finite(Duration::from_secs(150)), "2min 30s");
        assert_eq!(finite(Duration::from_secs(90_061)), "1d 1h 1min 1s");
        assert_eq!(finite(Duration::from_micros(1_000_001)), "1s 1us");
        assert_eq!(finite(Duration::ZERO), "0");
        assert_eq!(span(TimeSpan::Infinity), "infinity");
    }
}
