//! Boot parameters: values for `--timeout`, `--carrier-timeout` and `--dns-grace` that come
//! from outside the command line, for machines whose units nobody wants to edit (slow machines
//! in an initrd, CI): the kernel command line (`wait_online.timeout=`,
//! `wait_online.carrier_timeout=`, `wait_online.dns_grace=`) and service credentials
//! (`wait-online.timeout`, `wait-online.carrier-timeout`, `wait-online.dns-grace` in
//! `$CREDENTIALS_DIRECTORY`, which the shipped units fill with `ImportCredential=`).
//!
//! Only reading and splitting happen here; which source wins is decided in
//! [`super::Options`]'s `TryFrom`, and a value is parsed only when it wins.
//!
//! The kernel command line is read as systemd's `proc_cmdline_get_key()` reads it
//! (src/basic/proc-cmdline.c, initrd-util.c, extract-word.c), written anew because no crate
//! does it and exactness matters: a user who writes a parameter the way systemd's own work
//! expects it to work here too.
//! - The text: `$SYSTEMD_PROC_CMDLINE` when set (systemd's override for tests and debugging),
//!   else in a container (`/run/systemd/container` exists) PID 1's arguments, which systemd in
//!   a container takes as its kernel command line, else `/proc/cmdline`. (systemd also reads
//!   the `SystemdOptions` EFI variable with lower priority; that variable is systemd's own
//!   and deprecated, and not read here.)
//! - Words: split at spaces, tabs and newlines; single or double quotes anywhere in a word
//!   group text with spaces and are removed (`wait_online.timeout="1min 30s"`); an unclosed
//!   quote runs to the end; backslashes are ordinary characters.
//! - Keys: `-` and `_` are the same (`wait-online.carrier-timeout=` works too); a key without
//!   `=` is ignored; the last occurrence wins.
//! - `rd.`: words starting with `rd.` are ignored outside the initrd; in the initrd the prefix
//!   is dropped, so `rd.wait_online.timeout=` and `wait_online.timeout=` both count there, the
//!   last one winning (systemd's `PROC_CMDLINE_STRIP_RD_PREFIX`, as for its own `rd.` keys).
//!   The initrd is `$SYSTEMD_IN_INITRD` when it is a boolean, else whether
//!   `/etc/initrd-release` exists.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::boolean::parse_boolean;
use super::timespan::TimeSpan;
use crate::bounded_read::{self, ReadError};

/// The kernel command line: at most this much is read (the kernel's own limit,
/// COMMAND_LINE_SIZE, is 2 KiB to 4 KiB on common architectures; PID 1's arguments in a
/// container are short too).
pub const CMDLINE_CAP: usize = 64 << 10;

/// One credential: a time span is a few bytes; more is a mistake worth naming.
pub const CREDENTIAL_CAP: usize = 4096;

/// The settings boot parameters can give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    /// `--timeout`.
    Timeout,
    /// `--carrier-timeout`.
    CarrierTimeout,
    /// `--dns-grace`.
    DnsGrace,
}

impl Setting {
    /// Every setting, in the order of the arrays indexed by [`Setting::index`].
    pub const ALL: [Setting; 3] = [Setting::Timeout, Setting::CarrierTimeout, Setting::DnsGrace];

    fn index(self) -> usize {
        self as usize
    }

    /// The command-line option.
    pub fn option(self) -> &'static str {
        match self {
            Setting::Timeout => "--timeout",
            Setting::CarrierTimeout => "--carrier-timeout",
            Setting::DnsGrace => "--dns-grace",
        }
    }

    /// The kernel command-line key, as documented (`-` works for `_` too).
    pub fn kernel_key(self) -> &'static str {
        match self {
            Setting::Timeout => "wait_online.timeout",
            Setting::CarrierTimeout => "wait_online.carrier_timeout",
            Setting::DnsGrace => "wait_online.dns_grace",
        }
    }

    /// The credential's name (its file name in `$CREDENTIALS_DIRECTORY`).
    pub fn credential(self) -> &'static str {
        match self {
            Setting::Timeout => "wait-online.timeout",
            Setting::CarrierTimeout => "wait-online.carrier-timeout",
            Setting::DnsGrace => "wait-online.dns-grace",
        }
    }
}

/// Where the value of a setting came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Nothing set it (`--timeout`'s 120 s).
    Default,
    /// The option on the command line.
    CommandLine,
    /// This environment variable.
    Environment(&'static str),
    /// The credential in this file.
    Credential(PathBuf),
    /// This key on the kernel command line.
    KernelCommandLine { key: String, source: CmdlineSource },
}

impl Origin {
    /// Whether the value came from outside the command line the unit shows: worth a line in
    /// the log at the default level.
    pub fn is_hidden(&self) -> bool {
        !matches!(self, Origin::Default | Origin::CommandLine)
    }
}

/// A setting's value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingSource {
    pub setting: Setting,
    pub value: TimeSpan,
    pub origin: Origin,
}

impl SettingSource {
    /// The value as the options hold it: `None` for 0 and infinity (wait forever, or off).
    pub fn finite(&self) -> Option<Duration> {
        match self.value {
            TimeSpan::Finite(span) if !span.is_zero() => Some(span),
            _ => None,
        }
    }
}

/// Where the kernel command line was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CmdlineSource {
    /// `/proc/cmdline`.
    #[default]
    ProcCmdline,
    /// PID 1's arguments (`/proc/1/cmdline`): systemd's kernel command line in a container.
    Pid1,
    /// `$SYSTEMD_PROC_CMDLINE`.
    Override,
}

/// One `KEY=VALUE` of the kernel command line that names a setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelParameter {
    /// The key as written (`rd.wait-online.timeout`), for messages.
    pub key: String,
    pub value: String,
    pub source: CmdlineSource,
}

/// The settings the kernel command line gives (the last occurrence of each key), and why it
/// could not be read, if it could not.
#[derive(Debug, Default)]
pub struct KernelCommandLine {
    values: [Option<KernelParameter>; 3],
    /// Why the command line was not read (nothing is taken from it then).
    pub unread: Option<ReadError>,
}

impl KernelCommandLine {
    /// The kernel command line of this system, read as systemd reads it (see the module).
    pub fn of_this_system() -> KernelCommandLine {
        let in_initrd = in_initrd();
        if let Some(text) = std::env::var_os("SYSTEMD_PROC_CMDLINE") {
            let text = text.to_string_lossy();
            return KernelCommandLine::from_words(
                split_words(&text),
                in_initrd,
                CmdlineSource::Override,
            );
        }
        if Path::new("/run/systemd/container").exists() {
            return KernelCommandLine::read_pid1(Path::new("/proc/1/cmdline"), in_initrd);
        }
        KernelCommandLine::read(Path::new("/proc/cmdline"), in_initrd)
    }

    /// The parameters of the text file at `path` (`/proc/cmdline`, or a fake one in tests).
    pub fn read(path: &Path, in_initrd: bool) -> KernelCommandLine {
        match bounded_read::read_lossy(path, CMDLINE_CAP) {
            Ok(text) => KernelCommandLine::from_words(
                split_words(&text),
                in_initrd,
                CmdlineSource::ProcCmdline,
            ),
            Err(err) => KernelCommandLine {
                unread: Some(err),
                ..KernelCommandLine::default()
            },
        }
    }

    /// The parameters among the NUL-separated arguments in the file at `path` (PID 1's
    /// `/proc/1/cmdline`): the program name and options (`-…`) are skipped, as systemd
    /// filters PID 1's own options out.
    pub fn read_pid1(path: &Path, in_initrd: bool) -> KernelCommandLine {
        match bounded_read::read(path, CMDLINE_CAP) {
            Ok(bytes) => {
                let words = bytes
                    .split(|&b| b == 0)
                    .skip(1)
                    .map(|word| String::from_utf8_lossy(word).into_owned())
                    .filter(|word| !word.is_empty() && !word.starts_with('-'));
                KernelCommandLine::from_words(words, in_initrd, CmdlineSource::Pid1)
            }
            Err(err) => KernelCommandLine {
                unread: Some(err),
                ..KernelCommandLine::default()
            },
        }
    }

    /// The parameters among `words` (already split and unquoted).
    pub fn from_words(
        words: impl IntoIterator<Item = String>,
        in_initrd: bool,
        source: CmdlineSource,
    ) -> KernelCommandLine {
        let mut parsed = KernelCommandLine::default();
        for word in words {
            let key_part = match word.strip_prefix("rd.") {
                Some(_) if !in_initrd => continue,
                Some(rest) => rest,
                None => word.as_str(),
            };
            let Some((key, value)) = key_part.split_once('=') else {
                continue;
            };
            let Some(setting) = Setting::ALL
                .into_iter()
                .find(|setting| keys_equal(key, setting.kernel_key()))
            else {
                continue;
            };
            let written = word.len() - key_part.len() + key.len();
            parsed.values[setting.index()] = Some(KernelParameter {
                key: word[..written].to_string(),
                value: value.to_string(),
                source,
            });
        }
        parsed
    }

    /// The parameter that gives `setting`, if any.
    pub fn get(&self, setting: Setting) -> Option<&KernelParameter> {
        self.values[setting.index()].as_ref()
    }

    /// Sets a parameter (tests).
    #[cfg(test)]
    pub(crate) fn with(mut self, setting: Setting, key: &str, value: &str) -> KernelCommandLine {
        self.values[setting.index()] = Some(KernelParameter {
            key: key.to_string(),
            value: value.to_string(),
            source: CmdlineSource::ProcCmdline,
        });
        self
    }
}

/// One credential file that names a setting: its path, and its text (without trailing
/// newlines) or why it could not be read.
#[derive(Debug, Clone)]
pub struct Credential {
    pub path: PathBuf,
    pub text: Result<String, String>,
}

/// The credentials in `$CREDENTIALS_DIRECTORY` that name settings.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    values: [Option<Credential>; 3],
}

impl Credentials {
    /// The credentials of this service (`$CREDENTIALS_DIRECTORY`; none when unset).
    pub fn of_this_service() -> Credentials {
        match std::env::var_os("CREDENTIALS_DIRECTORY") {
            Some(directory) if !directory.is_empty() => Credentials::read(Path::new(&directory)),
            _ => Credentials::default(),
        }
    }

    /// The credentials in `directory`: a missing file is no credential; one that cannot be
    /// read, is not UTF-8 or is larger than [`CREDENTIAL_CAP`] is kept as an error, judged only
    /// if its value would be used.
    pub fn read(directory: &Path) -> Credentials {
        let mut credentials = Credentials::default();
        for setting in Setting::ALL {
            let path = directory.join(setting.credential());
            let text = match bounded_read::read(&path, CREDENTIAL_CAP) {
                Err(err) if err.is_not_found() => continue,
                Err(err) => Err(err.to_string()),
                Ok(bytes) => String::from_utf8(bytes)
                    .map(|text| text.trim_end_matches(['\n', '\r']).to_string())
                    .map_err(|_| format!("{}: not valid UTF-8", path.display())),
            };
            credentials.values[setting.index()] = Some(Credential { path, text });
        }
        credentials
    }

    /// The credential that gives `setting`, if any.
    pub fn get(&self, setting: Setting) -> Option<&Credential> {
        self.values[setting.index()].as_ref()
    }

    /// Sets a credential, or one that could not be read (tests).
    #[cfg(test)]
    pub(crate) fn with(mut self, setting: Setting, text: Result<&str, &str>) -> Credentials {
        self.values[setting.index()] = Some(Credential {
            path: Path::new("/run/credentials/test").join(setting.credential()),
            text: text.map(str::to_string).map_err(str::to_string),
        });
        self
    }
}

/// systemd's `in_initrd()`: `$SYSTEMD_IN_INITRD` when it is a boolean, else whether
/// `/etc/initrd-release` exists.
pub fn in_initrd() -> bool {
    std::env::var("SYSTEMD_IN_INITRD")
        .ok()
        .and_then(|value| parse_boolean(&value))
        .unwrap_or_else(|| Path::new("/etc/initrd-release").exists())
}

/// Keys compared as systemd's `proc_cmdline_key_streq()` does: `-` and `_` are the same.
fn keys_equal(a: &str, b: &str) -> bool {
    let relaxed = |c: u8| if c == b'-' { b'_' } else { c };
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .all(|(x, y)| relaxed(x) == relaxed(y))
}

/// The words of a kernel command line, as systemd's `extract_first_word()` splits them with
/// `EXTRACT_UNQUOTE|EXTRACT_RELAX|EXTRACT_RETAIN_ESCAPE`: separated by runs of spaces, tabs,
/// CRs and newlines; `'…'` and `"…"` anywhere in a word keep separators and are removed; an
/// unclosed quote runs to the end of the text; backslashes are kept as they are.
pub fn split_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => word.get_or_insert_with(String::new).push(c),
            None if matches!(c, ' ' | '\t' | '\n' | '\r') => words.extend(word.take()),
            None if matches!(c, '\'' | '"') => {
                // a quote starts a word even when nothing follows it (`""` is an empty word)
                word.get_or_insert_with(String::new);
                quote = Some(c);
            }
            None => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        split_words(text)
    }

    /// A fresh directory of its own under the temporary directory, removed on drop.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Scratch {
            let dir = std::env::temp_dir()
                .join(format!("wait-online-boot-{}-{name}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }

        fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn words_are_split_and_unquoted_like_systemd() {
        assert_eq!(words(""), Vec::<String>::new());
        assert_eq!(words(" \t\n"), Vec::<String>::new());
        assert_eq!(words("a  b\tc\n"), ["a", "b", "c"]);
        assert_eq!(
            words("wait_online.timeout=\"1min 30s\" x"),
            ["wait_online.timeout=1min 30s", "x"]
        );
        assert_eq!(words("\"a=b c\""), ["a=b c"]);
        assert_eq!(words("a='x y'z"), ["a=x yz"]);
        assert_eq!(words("a=\"it's\""), ["a=it's"]);
        assert_eq!(words("a=\"unclosed b"), ["a=unclosed b"]);
        assert_eq!(words("a=\\\"b c\\"), ["a=\\b c\\"]);
        assert_eq!(words("\"\" x"), ["", "x"]);
        assert_eq!(words("a=\"\""), ["a="]);
    }

    proptest::proptest! {
        /// Words without quotes or separators come back as they were, joined by any run of
        /// separators; a word with spaces in double quotes comes back whole, unquoted.
        #[test]
        fn words_round_trip(
            plain in proptest::collection::vec("[^ \t\n\r'\"]{1,12}", 0..8),
            spaced in "[^\"]{0,20}",
            gap in "[ \t\n\r]{1,3}",
        ) {
            let text = plain.join(&gap);
            proptest::prop_assert_eq!(split_words(&text), plain.clone());
            let quoted = format!("{text}{gap}k=\"{spaced}\"{gap}");
            let mut want = plain;
            want.push(format!("k={spaced}"));
            proptest::prop_assert_eq!(split_words(&quoted), want);
        }
    }

    fn kernel(text: &str, in_initrd: bool) -> KernelCommandLine {
        KernelCommandLine::from_words(split_words(text), in_initrd, CmdlineSource::ProcCmdline)
    }

    fn value(line: &KernelCommandLine, setting: Setting) -> Option<(&str, &str)> {
        line.get(setting)
            .map(|p| (p.key.as_str(), p.value.as_str()))
    }

    #[test]
    fn the_last_occurrence_wins_and_dashes_are_underscores() {
        let line = kernel(
            "quiet wait_online.timeout=5 root=/dev/sda wait-online.timeout=300 \
             wait_online.carrier-timeout=10s wait_online.dns_grace wait_online.timeoutx=1",
            false,
        );
        assert_eq!(
            value(&line, Setting::Timeout),
            Some(("wait-online.timeout", "300"))
        );
        assert_eq!(
            value(&line, Setting::CarrierTimeout),
            Some(("wait_online.carrier-timeout", "10s"))
        );
        assert_eq!(value(&line, Setting::DnsGrace), None, "a key without =");
        let line = kernel("wait_online.timeout=5 wait_online.timeout=", false);
        assert_eq!(
            value(&line, Setting::Timeout),
            Some(("wait_online.timeout", "")),
            "an empty value is the last one (and means unset)"
        );
        assert_eq!(
            value(&kernel("wait_online.TIMEOUT=5", false), Setting::Timeout),
            None
        );
    }

    #[test]
    fn rd_keys_count_in_the_initrd_only() {
        let text = "wait_online.timeout=5 rd.wait_online.timeout=300 rd.wait-online.dns-grace=2s";
        let host = kernel(text, false);
        assert_eq!(
            value(&host, Setting::Timeout),
            Some(("wait_online.timeout", "5"))
        );
        assert_eq!(value(&host, Setting::DnsGrace), None);
        let initrd = kernel(text, true);
        assert_eq!(
            value(&initrd, Setting::Timeout),
            Some(("rd.wait_online.timeout", "300"))
        );
        assert_eq!(
            value(&initrd, Setting::DnsGrace),
            Some(("rd.wait-online.dns-grace", "2s"))
        );
        // the last one wins, with or without rd.
        let initrd = kernel("rd.wait_online.timeout=300 wait_online.timeout=5", true);
        assert_eq!(
            value(&initrd, Setting::Timeout),
            Some(("wait_online.timeout", "5"))
        );
        assert_eq!(
            value(
                &kernel("rd.rd.wait_online.timeout=1", true),
                Setting::Timeout
            ),
            None
        );
    }

    #[test]
    fn a_fake_proc_cmdline_is_read_bounded() {
        let dir = Scratch::new("cmdline");
        let path = dir.path().join("cmdline");
        std::fs::write(
            &path,
            "BOOT_IMAGE=/vmlinuz ro wait_online.timeout=\"2min 30s\" quiet\n",
        )
        .unwrap();
        let line = KernelCommandLine::read(&path, false);
        assert!(line.unread.is_none());
        assert_eq!(
            value(&line, Setting::Timeout),
            Some(("wait_online.timeout", "2min 30s"))
        );
        std::fs::write(&path, "x".repeat(CMDLINE_CAP + 1)).unwrap();
        let line = KernelCommandLine::read(&path, false);
        assert!(
            matches!(line.unread, Some(ReadError::TooLarge { .. })),
            "{:?}",
            line.unread
        );
        let line = KernelCommandLine::read(&dir.path().join("missing"), false);
        assert!(line.unread.as_ref().is_some_and(ReadError::is_not_found));
        assert_eq!(value(&line, Setting::Timeout), None);
    }

    #[test]
    fn pid1_arguments_skip_the_program_and_options() {
        let dir = Scratch::new("pid1");
        let path = dir.path().join("cmdline");
        std::fs::write(
            &path,
            b"/sbin/init\0--system\0wait_online.timeout=1min 5s\0-b\0wait-online.carrier-timeout=3\0",
        )
        .unwrap();
        let line = KernelCommandLine::read_pid1(&path, false);
        assert_eq!(
            value(&line, Setting::Timeout),
            Some(("wait_online.timeout", "1min 5s")),
            "one argument is one word: its spaces do not split it"
        );
        assert_eq!(
            value(&line, Setting::CarrierTimeout),
            Some(("wait-online.carrier-timeout", "3"))
        );
        assert_eq!(
            line.get(Setting::Timeout).unwrap().source,
            CmdlineSource::Pid1
        );
    }

    #[test]
    fn credentials_are_read_bounded_and_trimmed() {
        let dir = Scratch::new("credentials");
        std::fs::write(dir.path().join("wait-online.timeout"), "5min\n").unwrap();
        std::fs::write(dir.path().join("wait-online.carrier-timeout"), [0xff, b's']).unwrap();
        std::fs::write(
            dir.path().join("wait-online.dns-grace"),
            "1".repeat(CREDENTIAL_CAP + 1),
        )
        .unwrap();
        std::fs::write(dir.path().join("wait-online.unrelated"), "x").unwrap();
        let credentials = Credentials::read(dir.path());
        let timeout = credentials.get(Setting::Timeout).unwrap();
        assert_eq!(timeout.text.as_deref(), Ok("5min"));
        assert_eq!(timeout.path, dir.path().join("wait-online.timeout"));
        let carrier = credentials.get(Setting::CarrierTimeout).unwrap();
        assert!(
            carrier
                .text
                .as_ref()
                .unwrap_err()
                .ends_with("not valid UTF-8"),
            "{carrier:?}"
        );
        let grace = credentials.get(Setting::DnsGrace).unwrap();
        assert!(
            grace
                .text
                .as_ref()
                .unwrap_err()
                .contains("larger than 4 KiB"),
            "{grace:?}"
        );
        let none = Credentials::read(&dir.path().join("missing"));
        assert!(Setting::ALL.iter().all(|s| none.get(*s).is_none()));
    }
}
