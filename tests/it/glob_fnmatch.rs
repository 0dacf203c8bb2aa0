//! Tests of `cli::glob`'s wrapper around the C library's `fnmatch(pattern, name, 0)`: random
//! patterns give exactly what a direct call gives (nothing is lost or rewritten on the way), and
//! `[^…]` follows POSIXLY_CORRECT as glibc decides it. Expects glibc in the C locale (the test
//! process never calls `setlocale`). The table of upstream's rules is in `src/cli/glob.rs`.

use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use std::ffi::CString;
use std::process::Command;
use wait_online::cli::glob::Glob;

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
    prop_assert_eq!(
        Glob::new(pattern).matches(name),
        libc_fnmatch(pattern, name),
        "pattern {:?} name {:?}",
        pattern,
        name
    );
    Ok(())
}

/// Set in the child processes of [`caret_negates_only_without_posixly_correct`] to what `^`
/// must do there.
const CARET_CHILD: &str = "WAIT_ONLINE_TEST_CARET";

/// glibc reads POSIXLY_CORRECT once per process, so each setting runs in a child process
/// (this same test, with `CARET_CHILD` telling it what to expect).
#[test]
fn caret_negates_only_without_posixly_correct() {
    if let Some(expected) = std::env::var_os(CARET_CHILD) {
        let negates = expected == "negates";
        let glob = Glob::new("[^0-9]");
        assert_eq!(glob.matches("a"), negates);
        assert_eq!(glob.matches("5"), !negates);
        assert!(glob.matches("^"));
        assert!(Glob::new("[!0-9]").matches("a"), "`!` always negates");
        return;
    }
    let exe = std::env::current_exe().expect("test binary path");
    for (posixly_correct, expected) in [(false, "negates"), (true, "literal")] {
        let mut child = Command::new(&exe);
        child
            .args([
                "--exact",
                "glob_fnmatch::caret_negates_only_without_posixly_correct",
            ])
            .args(["--test-threads=1", "--nocapture"])
            .env(CARET_CHILD, expected);
        if posixly_correct {
            child.env("POSIXLY_CORRECT", "1");
        } else {
            child.env_remove("POSIXLY_CORRECT");
        }
        let output = child.output().expect("run the test binary");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.contains("1 passed"),
            "POSIXLY_CORRECT {posixly_correct}: {stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
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
