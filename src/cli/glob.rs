//! Shell wildcard matching for `--ignore=GLOB` (and Netplan's `match:` names and drivers):
//! glibc's `fnmatch(pattern, name, 0)`, the call upstream makes, so patterns behave exactly as
//! with systemd-networkd-wait-online. Every pattern is valid, as for `fnmatch()`: malformed
//! syntax is taken literally or matches nothing.
//!
//! Flags 0 means: `*` and `?` also match `/` and leading dots, a backslash escapes the next
//! character, no case folding. Like upstream, the process runs in the C locale, so `?` takes one
//! byte and classes are ASCII. Text after a NUL is ignored, as a C program never sees it.
//!
//! The decision core receives `--ignore=` patterns as [`NamePattern`]s built from a [`Glob`]:
//! it asks whether a name matches and never calls `fnmatch()` itself (see
//! [`crate::core::name_pattern`] for why). No `unsafe` here: the call goes through
//! [`crate::sys::fnmatch`], a pure function.

use std::ffi::CString;

use crate::core::NamePattern;

/// A compiled `--ignore=` pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    /// The pattern exactly as given.
    source: String,
    /// The pattern as `fnmatch()` receives it.
    pattern: CString,
}

impl Glob {
    /// Wraps a pattern. Never fails: `fnmatch()` accepts every pattern.
    pub fn new(pattern: &str) -> Glob {
        Glob {
            source: pattern.to_owned(),
            pattern: c_string(pattern),
        }
    }

    /// Whether `name` (e.g. an interface name) matches, as `fnmatch(pattern, name, 0) == 0`.
    pub fn matches(&self, name: &str) -> bool {
        crate::sys::fnmatch(&self.pattern, &c_string(name))
    }
}

/// The pattern for the decision core, named as given (NUL and all) in its reasons.
impl From<Glob> for NamePattern {
    fn from(glob: Glob) -> NamePattern {
        let text = glob.source.clone();
        NamePattern::new(&text, move |name| glob.matches(name))
    }
}

/// `text` up to its first NUL: what a C program receives.
fn c_string(text: &str) -> CString {
    let before_nul = text.split('\0').next().unwrap_or_default();
    CString::new(before_nul).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Upstream's rules, recorded from glibc 2.36 in the C locale (POSIXLY_CORRECT unset).
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
        // Non-ASCII is matched per byte (C locale): é is two bytes.
        ("?", "\u{e9}", false),
        ("??", "\u{e9}", true),
        ("caf?", "caf\u{e9}", false),
        ("caf??", "caf\u{e9}", true),
        ("[\u{e0}-\u{ff}]", "\u{e9}", false),
        ("\u{3bc}*", "\u{3bc}x", true),
        ("*\u{e9}", "caf\u{e9}", true),
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
    fn text_after_a_nul_is_not_seen() {
        let glob = Glob::new("eth0\0*");
        assert!(glob.matches("eth0"));
        assert!(!glob.matches("eth0x"));
        assert!(glob.matches("eth0\0x"));
        assert_eq!(NamePattern::from(glob).as_str(), "eth0\0*");
    }

    #[test]
    fn accessors() {
        let g = NamePattern::from(Glob::new("eth*"));
        assert!(g.matches("eth0") && !g.matches("wlan0"));
        assert_eq!(g.as_str(), "eth*");
        assert_eq!(Glob::new("eth*"), Glob::new("eth*"));
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
        fn a_name_without_metacharacters_matches_itself(name in "[a-z0-9.@_-]{0,15}") {
            prop_assert!(Glob::new(&name).matches(&name));
        }

        #[test]
        fn star_matches_everything(name in "[^\\x00]*") {
            prop_assert!(Glob::new("*").matches(&name));
            prop_assert!(Glob::new("**").matches(&name));
        }

        #[test]
        fn escaped_name_matches_itself_exactly(
            name in "[^\\x00]{0,20}",
            other in "[^\\x00]{0,20}",
        ) {
            let escaped: String = name.chars().flat_map(|c| ['\\', c]).collect();
            let glob = Glob::new(&escaped);
            prop_assert!(glob.matches(&name));
            prop_assert_eq!(glob.matches(&other), other == name);
        }
    }
}
