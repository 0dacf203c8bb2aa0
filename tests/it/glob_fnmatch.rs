//! Differential tests of `core::glob` against the C library's `fnmatch(pattern, name, 0)`.
//!
//! They live here rather than in `src/core/glob.rs` because calling `libc::fnmatch` needs
//! `unsafe`, which `core` forbids. Expects glibc in the C locale (the test process never calls
//! `setlocale`); `^` negates only when POSIXLY_CORRECT is unset: with it set the tests fail,
//! saying so.

use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use std::ffi::CString;
use wait_online::core::glob::Glob;

use crate::common;

/// The reference: `fnmatch(pattern, name, 0) == 0`. The strategies never generate NUL.
fn libc_fnmatch(pattern: &str, name: &str) -> bool {
    let pattern = CString::new(pattern).expect("no NUL in a generated pattern");
    let name = CString::new(name).expect("no NUL in a generated name");
    // SAFETY: both pointers are valid NUL-terminated strings that outlive the call.
    let r = unsafe { libc::fnmatch(pattern.as_ptr(), name.as_ptr(), 0) };
    r == 0
}

/// `Glob` decides like `fnmatch` on this pattern and name.
fn agrees(pattern: &str, name: &str) -> Result<(), TestCaseError> {
    prop_assert!(
        !posixly_correct(),
        "unset POSIXLY_CORRECT: glibc's fnmatch differs then"
    );
    prop_assert_eq!(
        Glob::new(pattern).matches(name),
        libc_fnmatch(pattern, name),
        "pattern {:?} name {:?}",
        pattern,
        name
    );
    Ok(())
}

fn posixly_correct() -> bool {
    std::env::var_os("POSIXLY_CORRECT").is_some()
}

fn pattern_strategy() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        proptest::sample::select(vec![
            'a', 'b', '*', '?', '[', ']', '!', '-', '\\', '0', '1', '.',
        ]),
        0..=12,
    )
    .prop_map(|v| v.into_iter().collect())
}

fn name_strategy() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        proptest::sample::select(vec!['a', 'b', '0', '1', '.', '-']),
        0..=12,
    )
    .prop_map(|v| v.into_iter().collect())
}

/// Pattern pieces that reach glibc's rarer paths: classes, equivalence classes, collating
/// symbols, `^`, escapes inside brackets and malformed variants of all of these.
fn rich_pattern_strategy() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        proptest::sample::select(vec![
            "a",
            "b",
            "0",
            "*",
            "?",
            "[",
            "]",
            "!",
            "^",
            "-",
            "\\",
            ".",
            ":",
            "=",
            "[:digit:]",
            "[:alpha:]",
            "[:punct:]",
            "[:space:]",
            "[:nope:]",
            "[:z:]",
            "[:",
            ":]",
            "[=a=]",
            "[=",
            "=]",
            "[.a.]",
            "[.-.]",
            "[.ab.]",
            "[.",
            ".]",
            "[]",
            "[!",
            "[^",
            "]]",
        ]),
        0..=8,
    )
    .prop_map(|v| v.concat())
}

fn rich_name_strategy() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        proptest::sample::select(vec![
            'a', 'b', '0', '1', '.', '-', '[', ']', '!', '^', '\\', '*', '?', ':', '=', ' ',
        ]),
        0..=10,
    )
    .prop_map(|v| v.into_iter().collect())
}

/// A name and a pattern built from it piece by piece (literal, `?`, `*`, escape, bracket
/// expressions that do or do not contain the character, junk), so that about one case in
/// ten matches, unlike with independent random patterns.
fn derived_strategy() -> impl Strategy<Value = (String, String)> {
    name_strategy()
        .prop_flat_map(|name| {
            let len = name.chars().count();
            let piece = (
                0..10u8,
                proptest::sample::select(vec![
                    "",
                    "]",
                    "!",
                    "-",
                    "a-",
                    "\\",
                    "[",
                    "^",
                    "z-a",
                    "[:digit:]",
                    "[.a.]",
                    "[=b=]",
                ]),
            );
            (
                Just(name),
                proptest::collection::vec(piece, len..=len),
                pattern_strategy(),
            )
        })
        .prop_map(|(name, pieces, junk)| {
            let mut pattern = String::new();
            for (c, (kind, extra)) in name.chars().zip(pieces) {
                let piece = match kind {
                    0 | 1 => c.to_string(),
                    2 => "?".to_owned(),
                    3 => "*".to_owned(),
                    4 => format!("*{c}"),
                    5 => format!("\\{c}"),
                    6 => format!("[{extra}{c}]"),
                    7 => format!("[!{extra}]"),
                    8 => format!("[{c}-{c}{extra}]"),
                    _ => format!("[[:punct:][:alnum:]{extra}]"),
                };
                pattern.push_str(&piece);
            }
            if junk.len() < 4 {
                pattern.push_str(&junk);
            }
            (pattern, name)
        })
}

/// `Glob` decides like `fnmatch` on 20,000 (pattern, name) pairs from `strategy`.
fn agrees_on(strategy: impl Strategy<Value = (String, String)>) {
    let _cpu = common::share_machine();
    let mut runner = TestRunner::new(ProptestConfig::with_cases(20_000));
    if let Err(e) = runner.run(&strategy, |(pattern, name)| agrees(&pattern, &name)) {
        panic!("{e}");
    }
}

#[test]
fn agrees_with_libc_fnmatch_on_derived_patterns() {
    agrees_on(derived_strategy());
}

#[test]
fn agrees_with_libc_fnmatch() {
    agrees_on((pattern_strategy(), name_strategy()));
}

#[test]
fn agrees_with_libc_fnmatch_on_rich_syntax() {
    agrees_on((rich_pattern_strategy(), rich_name_strategy()));
}
