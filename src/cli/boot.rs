//! Boot parameters: values for `--timeout`, `--carrier-timeout` and `--dns-grace` that come
//! from outside the command line, for machines whose units nobody wants to edit (slow machines
//! in an initrd, CI): the kernel command line (`wait_online.timeout=`,
//! `wait_online.carrier_timeout=`, `wait_online.dns_grace=`) and service credentials
//! (`wait-online.timeout`, `wait-online.carrier-timeout`, `wait-online.dns-grace` in
//! `$CREDENTIALS_DIRECTORY`, which the shipped units fill with `LoadCredential=`).
//!
//! Reading and splitting happen here, and [`resolve`], which [`super::Options`]'s `TryFrom`
//! calls for each setting, picks the source that wins: the command line, the environment
//! variable, the credential, the kernel command line; a value is parsed only when it wins.
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
use super::timespan::{TimeSpan, parse_timespan};
use super::{CARRIER_TIMEOUT_ENV, DNS_GRACE_ENV, Environment, UsageError, span_from_environment};
use crate::bounded_read::{self, ReadError};
use crate::text::{excerpt, one_line};

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
    /// This variable of the file `--ifupdown-defaults` names.
    File {
        path: PathBuf,
        variable: &'static str,
    },
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

/// `--timeout` when nothing sets it: upstream's.
pub(super) const DEFAULT_TIMEOUT: TimeSpan = TimeSpan::Finite(Duration::from_secs(120));

/// The value of `setting` and where it came from: `explicit` (the command line), else the
/// first of the environment variable, the credential and the kernel command line that gives
/// one (an empty value gives none); `None` when none does. Only the value used is judged: a bad
/// one is a usage error naming where it came from.
pub(super) fn resolve(
    setting: Setting,
    explicit: Option<TimeSpan>,
    environment: &Environment,
) -> Result<Option<SettingSource>, UsageError> {
    let found = |value, origin| {
        Ok(Some(SettingSource {
            setting,
            value,
            origin,
        }))
    };
    if let Some(value) = explicit {
        return found(value, Origin::CommandLine);
    }
    let variable = match setting {
        Setting::Timeout => None,
        Setting::CarrierTimeout => Some((CARRIER_TIMEOUT_ENV, &environment.carrier_timeout)),
        Setting::DnsGrace => Some((DNS_GRACE_ENV, &environment.dns_grace)),
    };
    if let Some((name, value)) = variable
        && let Some(value) = span_from_environment(name, value.clone())?
    {
        return found(value, Origin::Environment(name));
    }
    if let Some(credential) = environment.credentials.get(setting) {
        let name = setting.credential();
        let text = credential.text.as_ref().map_err(|why| {
            UsageError(format!(
                "credential {name}: {}; fix or remove it",
                one_line(why)
            ))
        })?;
        if !text.is_empty() {
            let value = parse_timespan(text).map_err(|err| {
                UsageError(format!(
                    "credential {name}='{}' ({}): {err}; set it to a time span such as 5s, or remove it",
                    excerpt(text),
                    excerpt(&credential.path.to_string_lossy())
                ))
            })?;
            return found(value, Origin::Credential(credential.path.clone()));
        }
    }
    if let Some(parameter) = environment.kernel.get(setting)
        && !parameter.value.is_empty()
    {
        let value = parse_timespan(&parameter.value).map_err(|err| {
            let place = match parameter.source {
                CmdlineSource::ProcCmdline => "",
                CmdlineSource::Pid1 => " (PID 1's arguments in this container)",
                CmdlineSource::Override => " ($SYSTEMD_PROC_CMDLINE)",
            };
            UsageError(format!(
                "{}='{}' on the kernel command line{place}: {err}; set it to a time span such as 5s, or remove it",
                excerpt(&parameter.key),
                excerpt(&parameter.value)
            ))
        })?;
        return found(
            value,
            Origin::KernelCommandLine {
                key: parameter.key.clone(),
                source: parameter.source,
            },
        );
    }
    Ok(None)
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

/// Where each value comes from, through the whole command-line parser.
#[cfg(test)]
mod precedence_tests {
    use std::ffi::OsString;

    use super::*;
    use crate::cli::{Command, Options, parse_in_environment};

    /// The options for `args` with these boot parameters (and no environment variable but
    /// `carrier_env`).
    fn with_boot(
        args: &[&str],
        carrier_env: Option<&str>,
        credentials: Credentials,
        kernel: KernelCommandLine,
    ) -> Result<Options, String> {
        let argv = std::iter::once("wait-online").chain(args.iter().copied());
        let environment = Environment {
            carrier_timeout: carrier_env.map(OsString::from),
            credentials,
            kernel,
            ..Environment::default()
        };
        match parse_in_environment(argv, environment) {
            Ok(Command::Run(options)) => Ok(options),
            Ok(Command::Print(text)) => Err(format!("printed: {text}")),
            Err(UsageError(message)) => Err(message),
        }
    }

    fn origin_of(options: &Options, setting: Setting) -> Option<&Origin> {
        options
            .settings
            .iter()
            .find(|source| source.setting == setting)
            .map(|source| &source.origin)
    }

    #[test]
    fn the_timeout_comes_from_the_command_line_a_credential_the_kernel_or_the_default() {
        let secs = |n| Some(Duration::from_secs(n));
        let none = Credentials::default;
        let kernel = |value: &str| {
            KernelCommandLine::default().with(Setting::Timeout, "wait_online.timeout", value)
        };
        let credential = |value: &str| none().with(Setting::Timeout, Ok(value));
        let timeout = |args: &[&str], credentials, kernel| {
            with_boot(args, None, credentials, kernel).map(|options| options.timeout)
        };
        let options = with_boot(&[], None, none(), KernelCommandLine::default()).unwrap();
        assert_eq!(options.timeout, secs(120));
        assert_eq!(options.settings.len(), 1, "{:?}", options.settings);
        assert_eq!(
            origin_of(&options, Setting::Timeout),
            Some(&Origin::Default)
        );
        let options = with_boot(&[], None, none(), kernel("5min")).unwrap();
        assert_eq!(options.timeout, secs(300));
        assert_eq!(
            origin_of(&options, Setting::Timeout),
            Some(&Origin::KernelCommandLine {
                key: "wait_online.timeout".to_string(),
                source: CmdlineSource::ProcCmdline
            })
        );
        assert_eq!(
            timeout(&[], credential("200"), kernel("5min")),
            Ok(secs(200))
        );
        assert_eq!(timeout(&[], credential(""), kernel("5min")), Ok(secs(300)));
        assert_eq!(
            timeout(&[], none(), kernel("")),
            Ok(secs(120)),
            "empty: unset"
        );
        assert_eq!(timeout(&[], none(), kernel("infinity")), Ok(None));
        // an explicit --timeout wins, even when it is the default's value, and what it
        // overrides is not judged
        let explicit = timeout(&["--timeout=120"], credential("soon"), kernel("soon"));
        assert_eq!(explicit, Ok(secs(120)));
        assert_eq!(
            timeout(&["--timeout=10"], none(), kernel("5min")),
            Ok(secs(10))
        );
        let options = with_boot(&["--timeout=0"], None, credential("5"), kernel("5")).unwrap();
        assert_eq!(options.timeout, None);
        assert_eq!(
            origin_of(&options, Setting::Timeout),
            Some(&Origin::CommandLine)
        );
    }

    #[test]
    fn carrier_timeout_and_dns_grace_rank_environment_credential_kernel() {
        let none = Credentials::default;
        let kernel = KernelCommandLine::default()
            .with(Setting::CarrierTimeout, "wait-online.carrier-timeout", "9s")
            .with(Setting::DnsGrace, "rd.wait_online.dns_grace", "3s");
        let credentials = || {
            none()
                .with(Setting::CarrierTimeout, Ok("7s"))
                .with(Setting::DnsGrace, Ok("2s"))
        };
        let carrier = |env, credentials, kernel| {
            with_boot(&[], env, credentials, kernel)
                .map(|options| options.requirements.carrier_timeout)
        };
        let secs = |n| Ok(Some(Duration::from_secs(n)));
        let kernel_only = || {
            KernelCommandLine::default().with(
                Setting::CarrierTimeout,
                "wait_online.carrier_timeout",
                "9s",
            )
        };
        assert_eq!(carrier(Some("5s"), credentials(), kernel_only()), secs(5));
        assert_eq!(carrier(None, credentials(), kernel_only()), secs(7));
        assert_eq!(carrier(Some(""), none(), kernel_only()), secs(9));
        assert_eq!(
            carrier(None, none(), KernelCommandLine::default()),
            Ok(None)
        );
        let options = with_boot(
            &["--carrier-timeout=1s"],
            Some("bogus"),
            none(),
            kernel_only(),
        );
        assert_eq!(options.map(|o| o.requirements.carrier_timeout), secs(1));
        // --dns-grace: only when DNS is required (Netplan's first line is not concerned)
        let netplans_first = ["-i", "eth0:degraded"];
        let options = with_boot(&netplans_first, None, credentials(), kernel).unwrap();
        assert_eq!(options.requirements.dns_grace, None);
        assert_eq!(origin_of(&options, Setting::DnsGrace), None);
        assert_eq!(
            options.requirements.carrier_timeout,
            Some(Duration::from_secs(7))
        );
        let bad = none().with(Setting::DnsGrace, Ok("soon"));
        assert!(with_boot(&netplans_first, None, bad, KernelCommandLine::default()).is_ok());
        let kernel =
            KernelCommandLine::default().with(Setting::DnsGrace, "rd.wait_online.dns_grace", "3s");
        let options = with_boot(&["--dns"], None, none(), kernel).unwrap();
        assert_eq!(options.requirements.dns_grace, Some(Duration::from_secs(3)));
        assert!(matches!(
            origin_of(&options, Setting::DnsGrace),
            Some(Origin::KernelCommandLine { key, .. }) if key == "rd.wait_online.dns_grace"
        ));
        let options = with_boot(
            &["--dns"],
            None,
            credentials(),
            KernelCommandLine::default(),
        );
        assert_eq!(options.map(|o| o.requirements.dns_grace), secs(2));
    }

    #[test]
    fn a_bad_boot_parameter_is_one_line_naming_where_it_came_from() {
        let message =
            |credentials, kernel| with_boot(&[], None, credentials, kernel).expect_err("must fail");
        let kernel = |source| {
            let mut line = KernelCommandLine::from_words(
                ["wait-online.timeout=5 parsecs".to_string()],
                false,
                source,
            );
            line.unread = None;
            line
        };
        let text = message(Credentials::default(), kernel(CmdlineSource::ProcCmdline));
        assert!(
            text.starts_with(
                "wait-online.timeout='5 parsecs' on the kernel command line: invalid time span"
            ) && text.ends_with("; set it to a time span such as 5s, or remove it"),
            "{text}"
        );
        let text = message(Credentials::default(), kernel(CmdlineSource::Pid1));
        assert!(
            text.contains("on the kernel command line (PID 1's arguments in this container): "),
            "{text}"
        );
        let text = message(Credentials::default(), kernel(CmdlineSource::Override));
        assert!(
            text.contains("on the kernel command line ($SYSTEMD_PROC_CMDLINE): "),
            "{text}"
        );
        let credentials = Credentials::default().with(Setting::Timeout, Ok("soon\nlater"));
        let text = message(credentials, KernelCommandLine::default());
        assert!(
            text.starts_with(
                "credential wait-online.timeout='soon\\nlater' (/run/credentials/test/wait-online.timeout): invalid time span"
            ) && text.ends_with("; set it to a time span such as 5s, or remove it")
                && !text.contains('\n'),
            "{text}"
        );
        let credentials = Credentials::default()
            .with(Setting::Timeout, Err("/run/credentials/x/wait-online.timeout: is a FIFO, not a regular file; not reading it"));
        let text = message(credentials, KernelCommandLine::default());
        assert_eq!(
            text,
            "credential wait-online.timeout: /run/credentials/x/wait-online.timeout: is a FIFO, \
             not a regular file; not reading it; fix or remove it"
        );
    }

    proptest::proptest! {
        /// Any kernel command line and credential text: options, or one line naming the source.
        #[test]
        fn hostile_boot_parameters_give_options_or_one_line(
            cmdline in "(wait[-_]online\\.(timeout|carrier[-_]timeout)=|rd\\.| |\"|'|\\PC){0,40}",
            credential in "\\PC{0,30}|[\\x00-\\x7f\u{2028}]{0,30}",
        ) {
            let kernel = KernelCommandLine::from_words(
                split_words(&cmdline),
                true,
                CmdlineSource::ProcCmdline,
            );
            let credentials = Credentials::default().with(Setting::CarrierTimeout, Ok(&credential));
            match with_boot(&[], None, credentials, kernel) {
                Ok(_) => {}
                Err(message) => {
                    proptest::prop_assert!(!message.contains('\n'), "{}", message);
                    proptest::prop_assert!(
                        message.contains("kernel command line") || message.starts_with("credential "),
                        "{}",
                        message
                    );
                }
            }
        }
    }
}
