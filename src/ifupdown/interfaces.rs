//! `/etc/network/interfaces` as ifupdown 0.8 reads it (its `config.c`), for one question:
//! which interfaces does it bring up at boot. So the reader keeps the names on `auto`,
//! `allow-auto` and `allow-hotplug` lines and the `iface` stanzas' names, follows `source`
//! and `source-directory` includes, and stops where ifupdown stops:
//!
//! - lines: leading blanks dropped, a line whose first character is then `#` is a comment
//!   (a `#` later on a line is a word like any other), a trailing backslash joins the next
//!   line as it is, trailing blanks dropped; a NUL ends its line (a C string ends there);
//! - `iface NAME FAMILY METHOD [inherits OTHER]`, options under it, `mapping` stanzas, and the
//!   errors that make ifupdown drop the rest of a file: an `iface` line with an unknown family
//!   or method, a missing or unknown `inherits` source, an option with no value, an option
//!   outside a stanza, a second `script` in a mapping. In the top file such an error makes
//!   ifup refuse the whole configuration ([`LoadError::Syntax`]); in an included file ifupdown
//!   ignores the error and keeps what that file said before it ([`Interfaces::skipped`]);
//! - `source PATTERN` and `source-directory PATTERN` (any word starting `source-dir`): the
//!   pattern is relative to the including file's directory unless absolute, split into words
//!   and each expanded as a glob, as `wordexp(…, WRDE_NOCMD)` does; words that do not exist
//!   are skipped; a directory's entries are read in byte order when their names are only
//!   letters, digits, `_` and `-`; a file already read is not read again (by its path as
//!   written, as ifupdown compares).
//!
//! What wordexp would do and this reader does not: expand `$VARIABLES`, `~`, quotes and
//! backslashes. A pattern with one of those is skipped and said ([`Skip::Expansion`]), never
//! guessed. Bounded: at most [`MAX_FILES`] files of [`FILE_CAP`] bytes each.

use std::collections::BTreeSet;
use std::ffi::{CString, OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::bounded_read;
pub use crate::bounded_read::ReadError;
use crate::text::OneLine;

/// One interfaces file (real ones are a few KiB).
pub const FILE_CAP: usize = 1 << 20;
/// Files read for one configuration, includes and all: a loop that renames itself
/// (`source ./interfaces`) ends here.
pub const MAX_FILES: usize = 256;

/// What the configuration says about bringing interfaces up.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Interfaces {
    /// Words on `auto` and `allow-auto` lines (`NAME`, `NAME=LOGICAL` or a `/GLOB/` pattern).
    pub auto: Vec<String>,
    /// Words on `allow-hotplug` lines.
    pub hotplug: Vec<String>,
    /// Logical names of the `iface` stanzas.
    pub stanzas: BTreeSet<String>,
    /// The files read, in order.
    pub files: Vec<PathBuf>,
    /// What ifupdown skips too (or this reader could not follow), in order.
    pub skipped: Vec<Skip>,
}

/// A part of the configuration that was not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Skip {
    /// An included file could not be read (ifupdown warns and goes on).
    #[error("{0}; ifupdown skips it too")]
    Unreadable(String),
    /// An error in an included file: ifupdown ignores the rest of that file.
    #[error("{0}; ifupdown ignores the rest of that file")]
    Syntax(SyntaxError),
    /// A `source` pattern with shell syntax this reader does not expand (variables, `~`,
    /// quotes, backslashes).
    #[error(
        "{}:{line}: a source pattern with shell expansions ($, ~, quotes, backslashes) is not followed",
        OneLine(&.file.to_string_lossy())
    )]
    Expansion { file: PathBuf, line: usize },
    /// More than [`MAX_FILES`] files.
    #[error("{}: not read: more than {MAX_FILES} files", OneLine(&.0.to_string_lossy()))]
    TooManyFiles(PathBuf),
}

/// An error that makes ifupdown stop reading a file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}: {what}", OneLine(&.file.to_string_lossy()))]
pub struct SyntaxError {
    pub file: PathBuf,
    pub line: usize,
    pub what: Problem,
}

/// What is wrong on the line, in ifupdown's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("too few parameters for iface line")]
    TooFewParameters,
    #[error("unknown or no address type and no inherits keyword specified")]
    UnknownFamily,
    #[error("unknown or no method and no inherits keyword specified")]
    UnknownMethod,
    #[error("'inherits' keyword is missing a parameter")]
    InheritsWithoutName,
    #[error("unknown iface to inherit from: {}", OneLine(.0))]
    UnknownInherited(String),
    #[error("option with empty value")]
    EmptyOption,
    #[error("misplaced option")]
    MisplacedOption,
    #[error("duplicate script in mapping")]
    DuplicateScript,
}

/// Why the configuration cannot be used at all: ifup would refuse it too.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("ifupdown's configuration: {0}")]
    Unreadable(#[source] ReadError),
    #[error("ifupdown's configuration: {0} (ifup refuses the whole file)")]
    Syntax(SyntaxError),
}

/// How the reader reaches the file system: the real one ([`System`]) or a test's.
pub trait Files {
    /// The file's contents, at most [`FILE_CAP`] bytes.
    fn read(&self, path: &Path) -> Result<Vec<u8>, ReadError>;
    /// `glob(pattern, GLOB_NOCHECK)`: sorted matches, or the pattern itself.
    fn expand(&self, pattern: &[u8]) -> Vec<PathBuf>;
    /// Whether something exists at `path` (`stat()` succeeds).
    fn exists(&self, path: &Path) -> bool;
    /// The names in a directory, `None` when it cannot be listed.
    fn list(&self, dir: &Path) -> Option<Vec<Vec<u8>>>;
}

/// The real file system.
pub struct System;

impl Files for System {
    fn read(&self, path: &Path) -> Result<Vec<u8>, ReadError> {
        bounded_read::read(path, FILE_CAP)
    }

    fn expand(&self, pattern: &[u8]) -> Vec<PathBuf> {
        let Ok(pattern) = CString::new(pattern) else {
            return Vec::new();
        };
        crate::sys::glob(&pattern)
            .into_iter()
            .map(|path| PathBuf::from(OsStr::from_bytes(&path)))
            .collect()
    }

    fn exists(&self, path: &Path) -> bool {
        std::fs::metadata(path).is_ok()
    }

    fn list(&self, dir: &Path) -> Option<Vec<Vec<u8>>> {
        let entries = std::fs::read_dir(dir).ok()?;
        Some(
            entries
                .flatten()
                .take(MAX_FILES * 4)
                .map(|entry| entry.file_name().as_bytes().to_vec())
                .collect(),
        )
    }
}

/// Reads the configuration that starts at `path`. A missing top file is an empty
/// configuration (ifupdown warns and brings up only `lo`).
pub fn load(path: &Path, files: &dyn Files) -> Result<Interfaces, LoadError> {
    let mut reader = Reader {
        files,
        seen: BTreeSet::new(),
        stanzas: Vec::new(),
        out: Interfaces::default(),
    };
    match files.read(path) {
        Ok(bytes) => {
            reader.seen.insert(path.as_os_str().to_owned());
            reader.out.files.push(path.to_path_buf());
            reader.parse(path, &bytes).map_err(LoadError::Syntax)?;
        }
        Err(err) if err.is_not_found() => {}
        Err(err) => return Err(LoadError::Unreadable(err)),
    }
    Ok(reader.out)
}

/// Address families and their methods on Linux (ifupdown's `*.defn`).
const FAMILIES: &[(&str, &[&str])] = &[
    (
        "inet",
        &[
            "loopback", "static", "manual", "dhcp", "bootp", "tunnel", "ppp", "wvdial", "ipv4ll",
        ],
    ),
    (
        "inet6",
        &[
            "auto", "loopback", "static", "manual", "dhcp", "tunnel", "v4tunnel", "6to4",
        ],
    ),
    ("ipx", &["static", "dynamic"]),
    ("can", &["static"]),
    ("meta", &["none"]),
];

struct Reader<'a> {
    files: &'a dyn Files,
    /// Paths read, compared as strings as ifupdown does (`Path` would equate `a/./b` and
    /// `a/b`).
    seen: BTreeSet<OsString>,
    /// `(logical name, family)` of each stanza so far, for `inherits`.
    stanzas: Vec<(String, String)>,
    out: Interfaces,
}

/// What the lines that follow belong to.
enum Current {
    None,
    Iface(String),
    Mapping { script: bool },
}

impl Reader<'_> {
    /// Reads an included file, unless it was read before.
    fn include(&mut self, path: PathBuf) {
        if self.seen.contains(path.as_os_str()) {
            return;
        }
        if self.seen.len() >= MAX_FILES {
            self.out.skipped.push(Skip::TooManyFiles(path));
            return;
        }
        self.seen.insert(path.as_os_str().to_owned());
        match self.files.read(&path) {
            Ok(bytes) => {
                self.out.files.push(path.clone());
                if let Err(err) = self.parse(&path, &bytes) {
                    self.out.skipped.push(Skip::Syntax(err));
                }
            }
            Err(err) => self.out.skipped.push(Skip::Unreadable(err.to_string())),
        }
    }

    /// One file's lines; an error ends the file (what came before it stays).
    fn parse(&mut self, file: &Path, bytes: &[u8]) -> Result<(), SyntaxError> {
        let mut current = Current::None;
        let mut lines = Lines::new(bytes);
        while let Some((line, number)) = lines.next_line() {
            let error = |what| SyntaxError {
                file: file.to_path_buf(),
                line: number,
                what,
            };
            let Some((first, rest)) = next_word(&line) else {
                continue;
            };
            match first {
                b"mapping" => current = Current::Mapping { script: false },
                b"source" => {
                    for path in self.expand(file, number, rest) {
                        if self.files.exists(&path) {
                            self.include(path);
                        }
                    }
                    current = Current::None;
                }
                _ if first.starts_with(b"source-dir") => {
                    for dir in self.expand(file, number, rest) {
                        let Some(mut names) = self.files.list(&dir) else {
                            continue;
                        };
                        names.retain(|name| {
                            !name.is_empty()
                                && name
                                    .iter()
                                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
                        });
                        names.sort();
                        for name in names {
                            self.include(dir.join(OsStr::from_bytes(&name)));
                        }
                    }
                    current = Current::None;
                }
                b"iface" => {
                    let name = self.iface(rest).map_err(error)?;
                    current = Current::Iface(name);
                }
                b"auto" | b"no-auto-down" | b"no-scripts" => {
                    let class = match first {
                        b"auto" => Some(true),
                        _ => None,
                    };
                    self.names(class, rest, &mut current);
                }
                _ if first.len() > 6 && first.starts_with(b"allow-") => {
                    let class = match &first[6..] {
                        b"auto" => Some(true),
                        b"hotplug" => Some(false),
                        _ => None,
                    };
                    self.names(class, rest, &mut current);
                }
                b"rename" => current = Current::None,
                _ => match &mut current {
                    Current::Iface(_) if rest.is_empty() => {
                        return Err(error(Problem::EmptyOption));
                    }
                    Current::Iface(_) => {}
                    Current::Mapping { script } if first == b"script" => {
                        if *script {
                            return Err(error(Problem::DuplicateScript));
                        }
                        *script = true;
                    }
                    Current::Mapping { .. } if first == b"map" => {}
                    Current::Mapping { .. } | Current::None => {
                        return Err(error(Problem::MisplacedOption));
                    }
                },
            }
        }
        Ok(())
    }

    /// An `auto`/`allow-*`/`no-*` line: its words, or the current stanza's name when it has
    /// none. `class`: `Some(true)` auto, `Some(false)` hotplug, `None` neither.
    fn names(&mut self, class: Option<bool>, rest: &[u8], current: &mut Current) {
        let list = match class {
            Some(true) => Some(&mut self.out.auto),
            Some(false) => Some(&mut self.out.hotplug),
            None => None,
        };
        if rest.is_empty()
            && let Current::Iface(name) = current
        {
            if let Some(list) = list {
                list.push(name.clone());
            }
            return;
        }
        if let Some(list) = list {
            list.extend(words(rest).map(|w| String::from_utf8_lossy(w).into_owned()));
        }
        *current = Current::None;
    }

    /// An `iface` line: its logical name, or the error ifupdown gives.
    fn iface(&mut self, rest: &[u8]) -> Result<String, Problem> {
        let (name, rest) = next_word(rest).ok_or(Problem::TooFewParameters)?;
        let name = String::from_utf8_lossy(name).into_owned();
        let mut family_name = None;
        let mut inherits = false;
        let mut rest = Some(rest);
        if let Some((word, after)) = rest.and_then(next_word) {
            rest = Some(after);
            match FAMILIES.iter().find(|(f, _)| f.as_bytes() == word) {
                Some((family, methods)) => {
                    family_name = Some(*family);
                    match next_word(after) {
                        Some((method, after)) => {
                            rest = Some(after);
                            if !methods.iter().any(|m| m.as_bytes() == method) {
                                inherits = method == b"inherits";
                                if !inherits {
                                    return Err(Problem::UnknownMethod);
                                }
                            }
                        }
                        None => return Err(Problem::UnknownMethod),
                    }
                }
                None if word == b"inherits" => inherits = true,
                None => return Err(Problem::UnknownFamily),
            }
        } else {
            return Err(Problem::UnknownFamily);
        }
        if !inherits {
            // An extra word: `inherits`, or ignored with a warning.
            if let Some((word, after)) = rest.and_then(next_word) {
                inherits = word == b"inherits";
                rest = Some(after);
            }
        }
        let mut family = family_name.map(str::to_owned);
        if inherits {
            let (other, _) = rest
                .and_then(next_word)
                .ok_or(Problem::InheritsWithoutName)?;
            let other = String::from_utf8_lossy(other).into_owned();
            let inherited = self
                .stanzas
                .iter()
                .find(|(n, f)| *n == other && family_name.is_none_or(|family| f == family))
                .ok_or(Problem::UnknownInherited(other))?;
            family.get_or_insert_with(|| inherited.1.clone());
        }
        let family = family.unwrap_or_default();
        self.stanzas.push((name.clone(), family));
        self.out.stanzas.insert(name.clone());
        Ok(name)
    }

    /// The paths a `source` pattern names: relative to the including file's directory,
    /// split into words, each expanded as a glob. Shell syntax wordexp would refuse makes the
    /// line do nothing; syntax it would expand is skipped and said.
    fn expand(&mut self, file: &Path, line: usize, rest: &[u8]) -> Vec<PathBuf> {
        let mut pattern = Vec::new();
        if rest.first() != Some(&b'/') {
            pattern.extend_from_slice(&dirname(file.as_os_str().as_bytes()));
            pattern.push(b'/');
        }
        pattern.extend_from_slice(rest);
        // WRDE_BADCHAR and WRDE_CMDSUB: wordexp fails, ifupdown reads nothing.
        if pattern.iter().any(|b| {
            matches!(
                b,
                b'|' | b'&' | b';' | b'<' | b'>' | b'(' | b')' | b'{' | b'}' | b'`'
            )
        }) {
            return Vec::new();
        }
        let shell = |word: &[u8]| {
            word.first() == Some(&b'~')
                || word
                    .iter()
                    .any(|b| matches!(b, b'$' | b'\'' | b'"' | b'\\'))
        };
        if words(&pattern).any(shell) {
            self.out.skipped.push(Skip::Expansion {
                file: file.to_path_buf(),
                line,
            });
            return Vec::new();
        }
        words(&pattern)
            .flat_map(|word| {
                if word.iter().any(|b| matches!(b, b'*' | b'?' | b'[')) {
                    self.files.expand(word)
                } else {
                    vec![PathBuf::from(OsStr::from_bytes(word))]
                }
            })
            .collect()
    }
}

/// C's `isspace()` in the C locale.
fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// The first word of `text` and what follows it with the blanks after the word dropped;
/// `None` when `text` is empty (ifupdown's `next_word()`).
fn next_word(text: &[u8]) -> Option<(&[u8], &[u8])> {
    if text.is_empty() {
        return None;
    }
    let end = text.iter().position(|&b| is_space(b)).unwrap_or(text.len());
    let (word, rest) = text.split_at(end);
    let skip = rest
        .iter()
        .position(|&b| !is_space(b))
        .unwrap_or(rest.len());
    Some((word, &rest[skip..]))
}

/// The blank-separated words of `text`.
fn words(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    text.split(|&b| is_space(b)).filter(|w| !w.is_empty())
}

/// POSIX `dirname()`.
fn dirname(path: &[u8]) -> Vec<u8> {
    let trimmed = trim_end_slashes(path);
    match trimmed.iter().rposition(|&b| b == b'/') {
        None if trimmed.is_empty() && !path.is_empty() => b"/".to_vec(),
        None => b".".to_vec(),
        Some(slash) => {
            let parent = trim_end_slashes(&trimmed[..slash]);
            match parent.is_empty() {
                true => b"/".to_vec(),
                false => parent.to_vec(),
            }
        }
    }
}

fn trim_end_slashes(path: &[u8]) -> &[u8] {
    let end = path.iter().rposition(|&b| b != b'/').map_or(0, |i| i + 1);
    &path[..end]
}

/// ifupdown's `get_line()`: logical lines with their last physical line's number.
struct Lines<'a> {
    physical: std::slice::Split<'a, u8, fn(&u8) -> bool>,
    number: usize,
}

impl<'a> Lines<'a> {
    fn new(bytes: &'a [u8]) -> Lines<'a> {
        // A final newline does not start one more (empty) line.
        let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
        let newline: fn(&u8) -> bool = |&b| b == b'\n';
        let mut physical = bytes.split(newline);
        if bytes.is_empty() {
            physical.next();
        }
        Lines {
            physical,
            number: 0,
        }
    }

    /// The next physical line, cut at a NUL as a C string is.
    fn physical(&mut self) -> Option<&'a [u8]> {
        let line = self.physical.next()?;
        self.number += 1;
        Some(line.split(|&b| b == 0).next().unwrap_or_default())
    }

    fn next_line(&mut self) -> Option<(Vec<u8>, usize)> {
        let mut line = loop {
            let raw = self.physical()?;
            let start = raw.iter().position(|&b| !is_space(b)).unwrap_or(raw.len());
            if raw.get(start) != Some(&b'#') {
                break raw[start..].to_vec();
            }
        };
        while line.last() == Some(&b'\\') {
            line.pop();
            if let Some(next) = self.physical() {
                line.extend_from_slice(next);
            }
        }
        let end = line
            .iter()
            .rposition(|&b| !is_space(b))
            .map_or(0, |i| i + 1);
        line.truncate(end);
        Some((line, self.number))
    }
}

#[cfg(test)]
mod tests;
