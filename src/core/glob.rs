//! Shell wildcard matching for `--ignore=GLOB`, with the semantics of glibc's
//! `fnmatch(pattern, name, 0)` so that patterns behave exactly as with
//! systemd-networkd-wait-online.
//!
//! Flags 0 means: `*` and `?` also match `/` and leading dots, a backslash escapes the next
//! character, and no case folding. Bracket expressions follow glibc in the C locale, including
//! its corner cases: `]` first in the list is literal, `!` and `^` negate, `a-z` ranges compare
//! code points, `[:class:]` classes are ASCII-only, `[=c=]` and `[.c.]` accept a single
//! character, an unterminated `[` is a literal `[`, and malformed class, equivalence or collating
//! syntax makes the whole match fail where glibc's does. Matching works on `char`s (`?` takes a
//! whole non-ASCII character, as in a UTF-8 locale) while classes and ranges keep their C-locale
//! meaning (ASCII-only classes, code-point ranges); NUL is an ordinary character here (C strings
//! cannot contain it).
//!
//! Runs in O(pattern length × name length): like glibc, a `*` only ever backtracks to itself
//! (the most recent `*`), never to earlier ones.
//!
//! Pure code: no I/O, no `unsafe`, no panics on any input.

use std::fmt;

/// glibc's `CHAR_CLASS_MAX_LENGTH` (`CHARCLASS_NAME_MAX`): class names this long make the match
/// fail.
const CHAR_CLASS_MAX_LENGTH: usize = 2048;

/// A compiled `--ignore=` pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    /// The pattern exactly as given; every pattern is valid, like with `fnmatch()`.
    source: String,
}

impl Glob {
    /// Wraps a pattern. Never fails: like `fnmatch()`, malformed syntax is either taken literally
    /// or simply matches nothing.
    pub fn new(pattern: &str) -> Glob {
        Glob {
            source: pattern.to_owned(),
        }
    }

    /// Whether `name` (e.g. an interface name) matches, as `fnmatch(pattern, name, 0) == 0`.
    pub fn matches(&self, name: &str) -> bool {
        let pattern: Vec<char> = self.source.chars().collect();
        let name: Vec<char> = name.chars().collect();
        fnmatch(&pattern, &name)
    }

    /// The pattern as given, for log messages and diagnostics.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

impl fmt::Display for Glob {
    /// Shows the pattern as given, so log lines can name the `--ignore=` value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.source)
    }
}

/// Result of matching one pattern element against one name character.
enum Step {
    /// Matched; continue with the pattern at this index and the next name character.
    Next(usize),
    /// Did not match.
    Fail,
}

/// The top-level loop of glibc's `internal_fnmatch()` with its `*` handling.
///
/// glibc matches the text between one run of `*`/`?` and the next `*` at the first name
/// position where it fits and then commits to it; only the most recent `*` is ever retried.
/// Because every other element consumes exactly one character, this is also what full
/// backtracking would find, but it is linear per `*`.
fn fnmatch(pat: &[char], name: &[char]) -> bool {
    let mut p = 0;
    let mut n = 0;
    // Pattern index just after the most recent `*` run, and the name index it was last tried at.
    let mut resume: Option<(usize, usize)> = None;
    loop {
        let step = match pat.get(p) {
            None if n == name.len() => return true,
            None => Step::Fail,
            Some('*') => {
                // A run of `*` and `?`: each `?` needs one character right away.
                let mut q = p;
                loop {
                    match pat.get(q) {
                        Some('*') => q += 1,
                        Some('?') => {
                            if n >= name.len() {
                                return false;
                            }
                            n += 1;
                            q += 1;
                        }
                        _ => break,
                    }
                }
                if q >= pat.len() {
                    // Trailing wildcards match the rest, including nothing.
                    return true;
                }
                resume = Some((q, n));
                p = q;
                continue;
            }
            Some(&c) => element(pat, p, c, name.get(n).copied()),
        };
        match step {
            Step::Next(next) => {
                p = next;
                n += 1;
            }
            Step::Fail => match resume {
                // glibc tries the text after a `*` only at positions before the end of the name.
                Some((rp, rn)) if rn + 1 < name.len() => {
                    resume = Some((rp, rn + 1));
                    p = rp;
                    n = rn + 1;
                }
                _ => return false,
            },
        }
    }
}

/// Matches the pattern element starting with `c` at `pat[p]` (anything but `*`) against one
/// name character (`None` at the end of the name).
fn element(pat: &[char], p: usize, c: char, sc: Option<char>) -> Step {
    // Every element other than `*` needs a character.
    let Some(sc) = sc else {
        return Step::Fail;
    };
    match c {
        '?' => Step::Next(p + 1),
        // A trailing backslash matches nothing.
        '\\' => match pat.get(p + 1) {
            Some(&e) if e == sc => Step::Next(p + 2),
            _ => Step::Fail,
        },
        '[' => match bracket(pat, p + 1, sc) {
            Bracket::Matched(next) => Step::Next(next),
            // Not a bracket expression after all: a literal `[`, continue right after it.
            Bracket::Literal if sc == '[' => Step::Next(p + 1),
            Bracket::Literal | Bracket::Fail => Step::Fail,
        },
        _ if c == sc => Step::Next(p + 1),
        _ => Step::Fail,
    }
}

/// Outcome of a bracket expression for one character.
enum Bracket {
    /// The character is accepted; the pattern continues at this index (after the `]`).
    Matched(usize),
    /// The `[` is unterminated and stands for itself.
    Literal,
    /// The character is rejected, or the expression is malformed in a way that makes glibc give
    /// up on this position.
    Fail,
}

/// Pattern access with C-string semantics: `None` plays the part of the terminating NUL.
fn at(pat: &[char], i: usize) -> Option<char> {
    pat.get(i).copied()
}

/// Characters glibc accepts in a class name: `'a' <= c < 'z'` (sic: `z` is excluded).
fn is_class_name_char(c: Option<char>) -> bool {
    c.is_some_and(|c| ('a'..='y').contains(&c))
}

/// A POSIX character class, ASCII only (the C locale).
#[derive(Clone, Copy)]
enum CharClass {
    Alnum,
    Alpha,
    Blank,
    Cntrl,
    Digit,
    Graph,
    Lower,
    Print,
    Punct,
    Space,
    Upper,
    Xdigit,
}

impl CharClass {
    const ALL: [(&'static str, CharClass); 12] = [
        ("alnum", CharClass::Alnum),
        ("alpha", CharClass::Alpha),
        ("blank", CharClass::Blank),
        ("cntrl", CharClass::Cntrl),
        ("digit", CharClass::Digit),
        ("graph", CharClass::Graph),
        ("lower", CharClass::Lower),
        ("print", CharClass::Print),
        ("punct", CharClass::Punct),
        ("space", CharClass::Space),
        ("upper", CharClass::Upper),
        ("xdigit", CharClass::Xdigit),
    ];

    fn from_name(name: &[char]) -> Option<CharClass> {
        CharClass::ALL
            .iter()
            .find(|(n, _)| n.chars().eq(name.iter().copied()))
            .map(|&(_, class)| class)
    }

    fn contains(self, c: char) -> bool {
        match self {
            CharClass::Alnum => c.is_ascii_alphanumeric(),
            CharClass::Alpha => c.is_ascii_alphabetic(),
            CharClass::Blank => matches!(c, ' ' | '\t'),
            CharClass::Cntrl => c.is_ascii_control(),
            CharClass::Digit => c.is_ascii_digit(),
            CharClass::Graph => c.is_ascii_graphic(),
            CharClass::Lower => c.is_ascii_lowercase(),
            CharClass::Print => c.is_ascii_graphic() || c == ' ',
            CharClass::Punct => c.is_ascii_punctuation(),
            CharClass::Space => matches!(c, ' ' | '\t' | '\n' | '\u{b}' | '\u{c}' | '\r'),
            CharClass::Upper => c.is_ascii_uppercase(),
            CharClass::Xdigit => c.is_ascii_hexdigit(),
        }
    }
}

/// Parses a collating symbol `[.x.]` whose `.` is at `pat[dot]`. Returns the symbol if it is a
/// single character (`Ok(None)` otherwise) and the index after the closing `.]`; `Err` if it is
/// unterminated.
fn collating_symbol(pat: &[char], dot: usize) -> Result<(Option<char>, usize), ()> {
    let mut q = dot;
    let mut len = 0;
    loop {
        q += 1;
        let c = at(pat, q);
        if c == Some('.') && at(pat, q + 1) == Some(']') {
            let symbol = if len == 1 { at(pat, dot + 1) } else { None };
            return Ok((symbol, q + 2));
        }
        if c.is_none() {
            return Err(());
        }
        len += 1;
    }
}

/// glibc's `case '['` for the character `fc`; `p_init` is the index just after the `[`.
fn bracket(pat: &[char], p_init: usize, fc: char) -> Bracket {
    let mut p = p_init;
    let negated = matches!(at(pat, p), Some('!' | '^'));
    if negated {
        p += 1;
    }
    // `c` is the character that starts the next list member and `p` the index after it. The
    // first member is never the closing `]`.
    let mut c = at(pat, p);
    p += 1;
    loop {
        let member = match c {
            None => return Bracket::Literal,
            Some('\\') => {
                let Some(e) = at(pat, p) else {
                    return Bracket::Fail;
                };
                p += 1;
                Member::Ordinary(e)
            }
            Some('[') if at(pat, p) == Some(':') => match class_member(pat, p) {
                ClassMember::TooLong => return Bracket::Fail,
                ClassMember::NotAClass => Member::Ordinary('['),
                ClassMember::Class { name, end } => {
                    let Some(class) = CharClass::from_name(name) else {
                        return Bracket::Fail;
                    };
                    p = end;
                    if class.contains(fc) {
                        return matched(pat, p, negated);
                    }
                    Member::Done
                }
            },
            Some('[') if at(pat, p) == Some('=') => {
                // `[=x=]`: in the C locale, just the character x.
                match (at(pat, p + 1), at(pat, p + 2), at(pat, p + 3)) {
                    (Some(x), Some('='), Some(']')) => {
                        p += 4;
                        if fc == x {
                            return matched(pat, p, negated);
                        }
                        Member::Done
                    }
                    _ => Member::Ordinary('['),
                }
            }
            Some('[') if at(pat, p) == Some('.') => {
                // `[.x.]`: in the C locale only single characters are known.
                let Ok((symbol, end)) = collating_symbol(pat, p) else {
                    return Bracket::Fail;
                };
                p = end;
                let is_range = at(pat, p) == Some('-') && at(pat, p + 1).is_some();
                let Some(symbol) = symbol else {
                    return Bracket::Fail;
                };
                if !is_range && fc == symbol {
                    return matched(pat, p, negated);
                }
                Member::RangeStart(symbol)
            }
            Some(ch) => Member::Ordinary(ch),
        };

        let lower = match member {
            Member::Done => None,
            Member::RangeStart(symbol) => Some(symbol),
            Member::Ordinary(ch) => {
                let next = at(pat, p + 1);
                let is_range = at(pat, p) == Some('-') && next.is_some() && next != Some(']');
                if !is_range && ch == fc {
                    return matched(pat, p, negated);
                }
                Some(ch)
            }
        };

        c = at(pat, p);
        p += 1;
        let range = match lower {
            Some(lower) if c == Some('-') && at(pat, p) != Some(']') => Some(lower),
            _ => None,
        };
        if let Some(lower) = range {
            let mut upper = at(pat, p);
            p += 1;
            if upper == Some('[') && at(pat, p) == Some('.') {
                let Ok((Some(symbol), end)) = collating_symbol(pat, p) else {
                    return Bracket::Fail;
                };
                upper = Some(symbol);
                p = end;
            } else if upper == Some('\\') {
                upper = at(pat, p);
                p += 1;
            }
            let Some(upper) = upper else {
                return Bracket::Fail;
            };
            if lower <= fc && fc <= upper {
                return matched(pat, p, negated);
            }
            c = at(pat, p);
            p += 1;
        }

        if c == Some(']') {
            break;
        }
    }
    // The list ended without accepting `fc`.
    if negated {
        Bracket::Matched(p)
    } else {
        Bracket::Fail
    }
}

/// One parsed member of a bracket list, before range handling.
enum Member {
    /// A plain (possibly escaped) character; it may start a range.
    Ordinary(char),
    /// A collating symbol that did not accept the character directly; it may start a range.
    RangeStart(char),
    /// A class or equivalence class that did not accept the character; no range can follow.
    Done,
}

/// Result of looking for `[:name:]` after a `[` whose `:` is at `pat[colon]`.
enum ClassMember<'a> {
    /// A `[:name:]` with `name` made of glibc's class-name characters; `end` is after `:]`.
    Class { name: &'a [char], end: usize },
    /// Not a class: the `[` is an ordinary member and the list continues at the `:`.
    NotAClass,
    /// The name reached glibc's length limit; the match fails.
    TooLong,
}

/// Looks for `[:name:]` while parsing the list, with glibc's limits on the name.
fn class_member(pat: &[char], colon: usize) -> ClassMember<'_> {
    let mut q = colon;
    let mut len = 0;
    loop {
        if len == CHAR_CLASS_MAX_LENGTH {
            return ClassMember::TooLong;
        }
        q += 1;
        let c = at(pat, q);
        if c == Some(':') && at(pat, q + 1) == Some(']') {
            let name = pat.get(colon + 1..q).unwrap_or_default();
            return ClassMember::Class { name, end: q + 2 };
        }
        if !is_class_name_char(c) {
            return ClassMember::NotAClass;
        }
        len += 1;
    }
}

/// glibc's `matched:` label: skip the rest of the list after a member accepted the character.
/// This scan has its own, slightly different, rules for malformed members.
fn matched(pat: &[char], mut p: usize, negated: bool) -> Bracket {
    loop {
        let c = at(pat, p);
        p += 1;
        match c {
            Some(']') => break,
            None => return Bracket::Literal,
            Some('\\') => {
                if at(pat, p).is_none() {
                    return Bracket::Fail;
                }
                p += 1;
            }
            Some('[') if at(pat, p) == Some(':') => {
                let colon = p;
                let mut read = 0;
                loop {
                    p += 1;
                    let ch = at(pat, p);
                    read += 1;
                    if read == CHAR_CLASS_MAX_LENGTH {
                        return Bracket::Fail;
                    }
                    if ch == Some(':') && at(pat, p + 1) == Some(']') {
                        p += 2;
                        break;
                    }
                    if !is_class_name_char(ch) {
                        // Not a class: continue right after the `[`.
                        p = colon;
                        break;
                    }
                }
            }
            Some('[') if at(pat, p) == Some('=') => {
                if at(pat, p + 1).is_none() {
                    return Bracket::Fail;
                }
                if at(pat, p + 2) != Some('=') || at(pat, p + 3) != Some(']') {
                    return Bracket::Fail;
                }
                p += 4;
            }
            Some('[') if at(pat, p) == Some('.') => loop {
                p += 1;
                let ch = at(pat, p);
                if ch.is_none() {
                    return Bracket::Fail;
                }
                if ch == Some('.') && at(pat, p + 1) == Some(']') {
                    p += 2;
                    break;
                }
            },
            Some(_) => {}
        }
    }
    if negated {
        Bracket::Fail
    } else {
        Bracket::Matched(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const CASES: &[(&str, &str, bool)] = &[
        // Literals and the empty pattern.
        ("", "", true),
        ("", "a", false),
        ("eth0", "eth0", true),
        ("eth0", "eth1", false),
        ("eth0", "eth0.1", false),
        ("eth", "eth0", false),
        // `?`
        ("eth?", "eth0", true),
        ("eth?", "eth", false),
        ("eth?", "eth10", false),
        ("?", "/", true),
        ("?", ".", true),
        ("??", "a", false),
        // `*`
        ("*", "", true),
        ("*", "anything", true),
        ("*", ".hidden", true),
        ("*", "a/b", true),
        ("eth*", "eth", true),
        ("eth*", "eth0", true),
        ("eth*", "wlan0", false),
        ("*0", "eth0", true),
        ("*0", "eth1", false),
        ("e*0", "eth10", true),
        ("veth*", "veth1234@if5", true),
        ("*.*", "eth0.100", true),
        ("*.*", "eth0", false),
        ("a*b*c", "abc", true),
        ("a*b*c", "aXbYc", true),
        ("a*b*c", "acb", false),
        ("*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false),
        ("*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaab", true),
        ("*?", "", false),
        ("*?", "a", true),
        ("*??", "a", false),
        ("?*?", "ab", true),
        ("**", "", true),
        ("a**b", "ab", true),
        // Backslash escapes.
        ("\\*", "*", true),
        ("\\*", "a", false),
        ("\\?", "?", true),
        ("\\[a]", "[a]", true),
        ("\\a", "a", true),
        ("\\\\", "\\", true),
        ("a\\", "a", false),
        ("a\\", "a\\", false),
        ("*\\", "a\\", false),
        // Bracket expressions.
        ("[abc]", "b", true),
        ("[abc]", "d", false),
        ("[abc]", "", false),
        ("eth[0-9]", "eth5", true),
        ("eth[0-9]", "ethx", false),
        ("eth[0-9]", "eth10", false),
        ("[a-cx-z]", "y", true),
        ("[a-cx-z]", "m", false),
        ("[z-a]", "m", false),
        ("[z-a]", "z", false),
        ("[!0-9]", "a", true),
        ("[!0-9]", "5", false),
        ("[^0-9]", "a", true),
        ("[^0-9]", "5", false),
        ("[!]", "!", false),
        ("[!]", "[!]", true),
        ("[]]", "]", true),
        ("[]a]", "a", true),
        ("[]a]", "]", true),
        ("[]-a]", "^", true),
        ("[!]]", "]", false),
        ("[!]]", "a", true),
        ("[]", "[]", true),
        ("[]", "]", false),
        ("[a-]", "-", true),
        ("[-a]", "-", true),
        ("[a-]", "b", false),
        ("[\\]]", "]", true),
        ("[\\!a]", "!", true),
        ("[a\\-z]", "-", true),
        ("[a\\-z]", "b", false),
        ("[a-\\z]", "m", true),
        ("[*]", "*", true),
        ("[*]", "a", false),
        ("[?]", "?", true),
        ("[/]", "/", true),
        ("[.]", ".", true),
        // Unterminated brackets are literal.
        ("[", "[", true),
        ("[", "a", false),
        ("[a", "[a", true),
        ("[a", "a", false),
        ("[!a", "[!a", true),
        ("eth[0", "eth[0", true),
        ("[a*", "[abc", true),
        ("*[", "x[", true),
        ("[a-", "[a-", false),
        // Character classes.
        ("[[:digit:]]", "7", true),
        ("[[:digit:]]", "x", false),
        ("eth[[:digit:]]*", "eth0.100", true),
        ("[[:alpha:]]", "Q", true),
        ("[[:alpha:]]", "1", false),
        ("[[:alnum:]]", "z", true),
        ("[[:alnum:]]", "_", false),
        ("[[:upper:]]", "A", true),
        ("[[:upper:]]", "a", false),
        ("[[:lower:]]", "a", true),
        ("[[:lower:]]", "A", false),
        ("[[:space:]]", " ", true),
        ("[[:space:]]", "\u{b}", true),
        ("[[:space:]]", "x", false),
        ("[[:xdigit:]]", "F", true),
        ("[[:xdigit:]]", "g", false),
        ("[[:punct:]]", "-", true),
        ("[[:punct:]]", "a", false),
        ("[[:blank:]]", "\t", true),
        ("[[:cntrl:]]", "\u{7f}", true),
        ("[[:graph:]]", " ", false),
        ("[[:print:]]", " ", true),
        ("[![:digit:]]", "a", true),
        ("[![:digit:]]", "1", false),
        ("[a[:digit:]]", "5", true),
        ("[[:digit:]a]", "a", true),
        ("[[:digit:]-z]", "-", true),
        ("[[:digit:]-z]", "m", false),
        ("[[:nope:]]", "n", false),
        ("[[:nope:]]", "[[:nope:]]", false),
        ("[[:DIGIT:]]", ":", false),
        ("[[:DIGIT:]]", ":]", true),
        ("[[:digit:]", "[[:digit:]", false),
        ("[[:digit:]", "[:", true),
        ("[[:z:]]", "z", false),
        ("[[:z:]]", "z]", true),
        ("[[:alpha:]]", "\u{e9}", false),
        // Equivalence classes and collating symbols (single characters in the C locale).
        ("[[=a=]]", "a", true),
        ("[[=a=]]", "b", false),
        ("[[.a.]]", "a", true),
        ("[[.-.]]", "-", true),
        ("[[.ab.]]", "a", false),
        ("[[.a.]-c]", "b", true),
        ("[a-[.c.]]", "b", true),
        ("[[.a.]", "a", false),
        ("[a[=b]", "[", true),
        ("[a[=b]", "a", false),
        // Non-ASCII is matched per character.
        ("?", "\u{e9}", true),
        ("caf?", "caf\u{e9}", true),
        ("[\u{e0}-\u{ff}]", "\u{e9}", true),
        ("\u{3bc}*", "\u{3bc}x", true),
    ];

    #[test]
    fn table() {
        for &(pattern, name, expected) in CASES {
            assert_eq!(
                Glob::new(pattern).matches(name),
                expected,
                "pattern {pattern:?} name {name:?}"
            );
        }
    }

    #[test]
    fn class_name_length_limit() {
        // Recorded from glibc: a run of CHAR_CLASS_MAX_LENGTH name characters fails the match
        // while parsing the list, and one character less already fails it while skipping the
        // rest of a list that has matched.
        let max = CHAR_CLASS_MAX_LENGTH;
        for (len, literal_ok, skip_ok) in [
            (max - 2, true, true),
            (max - 1, true, false),
            (max, false, false),
        ] {
            let run = "a".repeat(len);
            let parse = Glob::new(&format!("[[:{run}X]"));
            assert_eq!(parse.matches("["), literal_ok, "len {len}");
            assert_eq!(parse.matches("X"), literal_ok, "len {len}");
            assert!(!parse.matches("b"), "len {len}");
            let skip = Glob::new(&format!("[x[:{run}X]"));
            assert_eq!(skip.matches("x"), skip_ok, "len {len}");
        }
    }

    #[test]
    fn accessors() {
        let g = Glob::new("eth*");
        assert_eq!(g.as_str(), "eth*");
        assert_eq!(g.to_string(), "eth*");
        assert_eq!(format!("{g:>6}"), "  eth*");
        assert_eq!(g, Glob::new("eth*"));
    }

    #[test]
    fn no_exponential_blowup() {
        let name = "a".repeat(5000);
        let pattern = format!("{}b", "*a".repeat(50));
        assert!(!Glob::new(&pattern).matches(&name));
        let pattern = format!("{}*", "*a".repeat(50));
        assert!(Glob::new(&pattern).matches(&name));
        let pattern = "*[a]?*[!b]".repeat(20);
        assert!(Glob::new(&pattern).matches(&name));
        assert!(!Glob::new(&format!("{pattern}b")).matches(&name));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        #[test]
        fn never_panics(pattern in any::<String>(), name in any::<String>()) {
            let _ = Glob::new(&pattern).matches(&name);
        }

        #[test]
        fn never_panics_on_metacharacters(
            pattern in "[\\]\\[a*?!^\\\\:=.\\-]{0,24}",
            name in "[\\]\\[a*?!^\\\\:=.\\-]{0,12}",
        ) {
            let _ = Glob::new(&pattern).matches(&name);
        }

        #[test]
        fn a_name_without_metacharacters_matches_itself(name in "[a-z0-9.@_-]{0,15}") {
            prop_assert!(Glob::new(&name).matches(&name));
        }

        #[test]
        fn star_matches_everything(name in any::<String>()) {
            prop_assert!(Glob::new("*").matches(&name));
            prop_assert!(Glob::new("**").matches(&name));
        }

        #[test]
        fn escaped_name_matches_itself_exactly(name in any::<String>(), other in any::<String>()) {
            let escaped: String = name.chars().flat_map(|c| ['\\', c]).collect();
            let glob = Glob::new(&escaped);
            prop_assert!(glob.matches(&name));
            prop_assert_eq!(glob.matches(&other), other == name);
        }
    }
}
