//! systemd time spans for `--timeout=`: parsing that accepts exactly what systemd's `parse_sec()`
//! accepts (`parse_time()` with seconds as the default unit, src/basic/time-util.c), so that the
//! option behaves like the original tool.
//!
//! Pure code: no I/O, no `unsafe`, no panics on any input.
//!
//! Why a port and not a crate: three crates were run against this module's accepted and
//! rejected tables (127 cases, December 2026), and each gets a quarter or more wrong:
//! - fundu-systemd 0.4.1 (32 wrong) keeps fractions of a microsecond (`1.5us`,
//!   `1.9999999s`; systemd truncates), accepts what systemd rejects (`-0`, `1..5`,
//!   `12.34.56`, `5.`, `5.s`, `+.5`, a bare `s`, `ms` or `min` as one unit, `\v` inside a
//!   span), rejects `12.34s.56`, and saturates an overflow (`584543y`,
//!   `9223372036854775808`) to the very value it gives `infinity`, so the two cannot be told
//!   apart;
//! - systemd-duration 0.3.1 (33 wrong) has months and years of other lengths (`1y` is
//!   31556952 s, systemd's 31557600 s), rejects a bare number after a part (`1min30`, `5 3`,
//!   `5s3`) and a trailing `\r\n`, accepts `5mins`, `5secs`, `5mo`, has no `infinity`, and
//!   panics on `9223372036854775807us 9223372036854775807us`;
//! - humantime 2.4.0 (40 wrong) needs a unit (`30` is an error), has no `infinity` and other
//!   month lengths.

use std::fmt;
use std::time::Duration;

use crate::text::{StrToLl, strtoll};

const USEC_PER_MSEC: u64 = 1_000;
const USEC_PER_SEC: u64 = 1_000_000;
const USEC_PER_MINUTE: u64 = 60 * USEC_PER_SEC;
const USEC_PER_HOUR: u64 = 60 * USEC_PER_MINUTE;
const USEC_PER_DAY: u64 = 24 * USEC_PER_HOUR;
const USEC_PER_WEEK: u64 = 7 * USEC_PER_DAY;
/// 30.44 days, as in systemd.
const USEC_PER_MONTH: u64 = 2_629_800 * USEC_PER_SEC;
/// 365.25 days, as in systemd.
const USEC_PER_YEAR: u64 = 31_557_600 * USEC_PER_SEC;

/// systemd's `USEC_INFINITY`; every finite span must stay strictly below it.
const USEC_INFINITY: u64 = u64::MAX;

/// Unit suffixes in the order systemd's `extract_multiplier()` tries them. The order matters:
/// the first entry that is a prefix of the remaining text wins (`ms` before `m`, `min` before
/// `m`, `M` is months, and `5mins` is rejected because `min` leaves a stray `s`).
const UNITS: &[(&str, u64)] = &[
    ("seconds", USEC_PER_SEC),
    ("second", USEC_PER_SEC),
    ("sec", USEC_PER_SEC),
    ("s", USEC_PER_SEC),
    ("minutes", USEC_PER_MINUTE),
    ("minute", USEC_PER_MINUTE),
    ("min", USEC_PER_MINUTE),
    ("months", USEC_PER_MONTH),
    ("month", USEC_PER_MONTH),
    ("M", USEC_PER_MONTH),
    ("msec", USEC_PER_MSEC),
    ("ms", USEC_PER_MSEC),
    ("m", USEC_PER_MINUTE),
    ("hours", USEC_PER_HOUR),
    ("hour", USEC_PER_HOUR),
    ("hr", USEC_PER_HOUR),
    ("h", USEC_PER_HOUR),
    ("days", USEC_PER_DAY),
    ("day", USEC_PER_DAY),
    ("d", USEC_PER_DAY),
    ("weeks", USEC_PER_WEEK),
    ("week", USEC_PER_WEEK),
    ("w", USEC_PER_WEEK),
    ("years", USEC_PER_YEAR),
    ("year", USEC_PER_YEAR),
    ("y", USEC_PER_YEAR),
    ("usec", 1),
    ("us", 1),
    ("\u{3bc}s", 1), // GREEK SMALL LETTER MU
    ("\u{b5}s", 1),  // MICRO SIGN
];

/// What the error messages offer as valid examples.
const EXPECTED: &str = "expected e.g. 30, 30s, 1min 30s, 500ms or infinity";

/// A parsed time span; `Infinity` is systemd's USEC_INFINITY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeSpan {
    /// A finite span; parsed values are whole microseconds below `u64::MAX` µs.
    Finite(Duration),
    /// `infinity`: wait forever.
    Infinity,
}

/// Why a time span was rejected, so the caller can report the bad `--timeout=` value in one
/// line that quotes it and says what is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeSpanError {
    /// The text was empty or only whitespace.
    #[error("empty time span {} ({EXPECTED})", Quoted(.input))]
    Empty {
        /// The complete text that was given.
        input: String,
    },
    /// The text is not a sequence of `<number>[unit]` parts (or `infinity`).
    #[error("invalid time span {}{} ({EXPECTED})", Quoted(.input), At(.input, .near))]
    Invalid {
        /// The complete text that was given.
        input: String,
        /// The part of `input` where parsing failed, starting at the offending number or unit.
        near: String,
    },
    /// A minus sign: time spans cannot be negative (systemd rejects even `-0`).
    #[error("negative time span {} is not allowed ({EXPECTED})", Quoted(.input))]
    Negative {
        /// The complete text that was given.
        input: String,
    },
    /// The total does not fit below `u64::MAX` microseconds.
    #[error(
        "time span {} is too large (at most about 584542 years; use infinity for no limit)",
        Quoted(.input)
    )]
    Overflow {
        /// The complete text that was given.
        input: String,
    },
}

/// Displays a string in single quotes, on one line and cut to an excerpt
/// ([`crate::text::excerpt`]).
struct Quoted<'a>(&'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{}'", crate::text::Excerpt(self.0))
    }
}

/// Displays ` at '<near>'` when the failing part is not simply the whole (trimmed) input.
struct At<'a>(&'a str, &'a str);

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let At(input, near) = *self;
        if near.is_empty() || near == trim_ws(input) {
            Ok(())
        } else {
            write!(f, " at {}", Quoted(near))
        }
    }
}

/// systemd's `WHITESPACE` set: `" \t\n\r"`.
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

fn trim_ws(s: &str) -> &str {
    s.trim_matches(|c: char| u8::try_from(c).is_ok_and(is_ws))
}

/// Index of the first byte at or after `i` that does not satisfy `pred`.
fn skip(b: &[u8], mut i: usize, pred: fn(u8) -> bool) -> usize {
    while b.get(i).is_some_and(|&c| pred(c)) {
        i += 1;
    }
    i
}

/// The bytes from `i` on (empty past the end).
fn tail(b: &[u8], i: usize) -> &[u8] {
    b.get(i..).unwrap_or_default()
}

/// systemd's `extract_multiplier()`: the byte length of the unit at the start of `rest` and its
/// size in microseconds, or `None` if no unit starts there.
fn extract_multiplier(rest: &[u8]) -> Option<(usize, u64)> {
    UNITS
        .iter()
        .find(|(suffix, _)| rest.starts_with(suffix.as_bytes()))
        .map(|&(suffix, usec)| (suffix.len(), usec))
}

/// Parses a `--timeout=` value exactly like systemd's `parse_sec()`, so that every value the
/// original tool accepts is accepted here with the same meaning, and everything it rejects is
/// rejected.
///
/// A bare number means seconds; fractions are truncated to whole microseconds the way systemd
/// does it (digit by digit). One deliberate extension of the C semantics: Rust strings may
/// contain NUL, which is rejected like any other unexpected character instead of ending the text.
pub fn parse_timespan(s: &str) -> Result<TimeSpan, TimeSpanError> {
    let b = s.as_bytes();
    let invalid = |at: usize| TimeSpanError::Invalid {
        input: s.to_owned(),
        near: trim_ws(s.get(at..).unwrap_or_default()).to_owned(),
    };
    let negative = || TimeSpanError::Negative {
        input: s.to_owned(),
    };
    let overflow = || TimeSpanError::Overflow {
        input: s.to_owned(),
    };

    let mut p = skip(b, 0, is_ws);
    if let Some(rest) = tail(b, p).strip_prefix(b"infinity") {
        return if rest.iter().all(|&c| is_ws(c)) {
            Ok(TimeSpan::Infinity)
        } else {
            Err(invalid(p))
        };
    }

    let mut usec: u64 = 0;
    let mut something = false;
    loop {
        p = skip(b, p, is_ws);
        let part = p;
        match b.get(p) {
            None if something => break,
            None => {
                return Err(TimeSpanError::Empty {
                    input: s.to_owned(),
                });
            }
            // systemd rejects a leading minus even for "-0".
            Some(b'-') => return Err(negative()),
            Some(_) => {}
        }

        // The integer part; `e` is where strtoll() stopped (== p when it converted nothing).
        let (whole, e, converted) = match strtoll(b, p) {
            StrToLl::NoDigits => (0, p, false),
            StrToLl::Value {
                negative: true,
                magnitude: 1..,
                ..
            }
            | StrToLl::OutOfRange { negative: true } => return Err(negative()),
            StrToLl::OutOfRange { negative: false } => return Err(overflow()),
            StrToLl::Value { magnitude, end, .. } => (magnitude, end, true),
        };

        let has_fraction = b.get(e) == Some(&b'.');
        let after_number = if has_fraction {
            skip(b, e + 1, |c| c.is_ascii_digit())
        } else if !converted {
            return Err(invalid(part));
        } else {
            e
        };

        // Whitespace may separate number and unit; no unit means the default unit (seconds).
        let unit_start = skip(b, after_number, is_ws);
        let (after_unit, multiplier) = match extract_multiplier(tail(b, unit_start)) {
            Some((len, usec_per_unit)) => (unit_start + len, usec_per_unit),
            None => (unit_start, USEC_PER_SEC),
        };
        // Neither whitespace nor a unit after the number, but more text: "12.34.56", "10x".
        if after_unit == after_number && after_number < b.len() {
            return Err(invalid(part));
        }
        p = after_unit;

        if whole >= USEC_INFINITY / multiplier {
            return Err(overflow());
        }
        let k = whole.checked_mul(multiplier).ok_or_else(overflow)?;
        if k >= USEC_INFINITY - usec {
            return Err(overflow());
        }
        usec += k;
        something = true;

        if has_fraction {
            // Each fractional digit adds digit * (multiplier / 10^position), truncating.
            let mut m = multiplier / 10;
            let mut i = e + 1;
            while let Some(&d) = b.get(i).filter(|d| d.is_ascii_digit()) {
                let k = u64::from(d - b'0') * m;
                if k >= USEC_INFINITY - usec {
                    return Err(overflow());
                }
                usec += k;
                i += 1;
                m /= 10;
            }
            // "3.", "3.s", "3. 1" and "0.-0" are not numbers.
            if i == e + 1 {
                return Err(invalid(part));
            }
        }
    }

    Ok(TimeSpan::Finite(Duration::from_micros(usec)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn us(n: u64) -> TimeSpan {
        TimeSpan::Finite(Duration::from_micros(n))
    }

    /// Units and their length in microseconds, written out independently of `UNITS`.
    const UNIT_VALUES: &[(&str, u64)] = &[
        ("", 1_000_000),
        ("us", 1),
        ("ms", 1_000),
        ("s", 1_000_000),
        ("min", 60_000_000),
        ("h", 3_600_000_000),
        ("d", 86_400_000_000),
        ("w", 604_800_000_000),
        ("M", 2_629_800_000_000),
        ("y", 31_557_600_000_000),
    ];

    #[test]
    fn accepted() {
        let s = USEC_PER_SEC;
        let cases: &[(&str, u64)] = &[
            ("0", 0),
            ("30", 30 * s),
            ("30s", 30 * s),
            (" 30 ", 30 * s),
            ("\t\n30s\r\n", 30 * s),
            ("0.5", s / 2),
            ("1.5s", 3 * s / 2),
            (".5", s / 2),
            ("0.000001", 1),
            ("0.0000019", 1),
            ("1.9999999s", 1_999_999),
            ("500ms", 500_000),
            ("500 ms", 500_000),
            ("500msec", 500_000),
            ("1us", 1),
            ("1usec", 1),
            ("1\u{3bc}s", 1),
            ("1\u{b5}s", 1),
            ("1.5ms", 1_500),
            ("1.5us", 1),
            ("2s", 2 * s),
            ("2sec", 2 * s),
            ("2second", 2 * s),
            ("2seconds", 2 * s),
            ("2m", 120 * s),
            ("2min", 120 * s),
            ("2minute", 120 * s),
            ("2minutes", 120 * s),
            ("1min 30s", 90 * s),
            ("1min30s", 90 * s),
            ("1min30", 90 * s),
            ("1m 30", 90 * s),
            ("1 min 30 s", 90 * s),
            ("5 3", 8 * s),
            ("5s3", 8 * s),
            ("12.34 .56", 12_900_000),
            ("12.34s.56", 12_900_000),
            ("2h", 2 * USEC_PER_HOUR),
            ("2hr", 2 * USEC_PER_HOUR),
            ("2hour", 2 * USEC_PER_HOUR),
            ("2hours", 2 * USEC_PER_HOUR),
            ("1.5h", 90 * 60 * s),
            ("1d", USEC_PER_DAY),
            ("1day", USEC_PER_DAY),
            ("3days", 3 * USEC_PER_DAY),
            ("1w", USEC_PER_WEEK),
            ("1week", USEC_PER_WEEK),
            ("2weeks", 2 * USEC_PER_WEEK),
            ("1M", 2_629_800 * s),
            ("1month", 2_629_800 * s),
            ("2months", 2 * 2_629_800 * s),
            ("0.5M", 1_314_900 * s),
            ("1y", 31_557_600 * s),
            ("1year", 31_557_600 * s),
            ("2years", 2 * 31_557_600 * s),
            ("1y 2month 3w 4d 5h 6min 7s 8ms 9us", {
                31_557_600 * s
                    + 2 * 2_629_800 * s
                    + 3 * USEC_PER_WEEK
                    + 4 * USEC_PER_DAY
                    + 5 * USEC_PER_HOUR
                    + 6 * USEC_PER_MINUTE
                    + 7 * s
                    + 8_000
                    + 9
            }),
            ("+5", 5 * s),
            ("5s +3s", 8 * s),
            ("007", 7 * s),
            ("1.0", s),
            // strtoll() skips \v and \f itself, and then accepts "-0".
            ("\u{b}5", 5 * s),
            ("\u{c}-0", 0),
            ("\u{b}-0.5", s / 2),
            ("9223372036854775807us", 9_223_372_036_854_775_807),
            ("9223372036854775807us 9223372036854775807us", u64::MAX - 1),
        ];
        for &(input, expected) in cases {
            assert_eq!(parse_timespan(input), Ok(us(expected)), "input {input:?}");
        }
    }

    #[test]
    fn infinity() {
        for input in ["infinity", " infinity", "infinity ", "\tinfinity\r\n"] {
            assert_eq!(parse_timespan(input), Ok(TimeSpan::Infinity), "{input:?}");
        }
    }

    #[test]
    fn rejected() {
        let cases = [
            "",
            " ",
            "\t\r\n",
            "abc",
            "10x",
            "1..5",
            "12.34.56",
            "-5",
            "-0",
            " -1s",
            "5s-3s",
            "-",
            "s",
            "ms",
            "min",
            ".",
            "5.",
            "5.s",
            "5. 1",
            "0.-0",
            "3.+1",
            "+",
            "+-5",
            "+.5",
            "5mins",
            "5secs",
            "5mo",
            "5u",
            "5S",
            "5H",
            "5 x",
            "1min 30x",
            "inf",
            "infinityx",
            "infinity5",
            "infinity infinity",
            "5 infinity",
            "Infinity",
            "0x10",
            "1e3",
            "1,5",
            "5\0",
            "5 \0",
            "\0",
            "5s\u{b}",
            "\u{b}",
            "\u{b}.5",
            "\u{b}-5",
            "5\u{b}s",
            "1µ",
            "9223372036854775808",
            "99999999999999999999999",
            "18446744073709551615us",
            "584543y",
            "5124096000h",
            "213503983w",
            "18446744073709551614us 1us",
            "9223372036854775807us 9223372036854775807us 1us",
        ];
        for input in cases {
            assert!(parse_timespan(input).is_err(), "accepted {input:?}");
        }
    }

    #[test]
    fn error_kinds_and_messages() {
        let e = parse_timespan("abc").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid time span 'abc' (expected e.g. 30, 30s, 1min 30s, 500ms or infinity)"
        );
        let e = parse_timespan("1min 30x").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid time span '1min 30x' at '30x' (expected e.g. 30, 30s, 1min 30s, 500ms or infinity)"
        );
        let e = parse_timespan("  ").unwrap_err();
        assert!(matches!(e, TimeSpanError::Empty { .. }));
        assert_eq!(
            e.to_string(),
            "empty time span '  ' (expected e.g. 30, 30s, 1min 30s, 500ms or infinity)"
        );
        let e = parse_timespan("-5s").unwrap_err();
        assert!(matches!(e, TimeSpanError::Negative { .. }));
        assert!(e.to_string().contains("'-5s'"));
        let e = parse_timespan("600000y").unwrap_err();
        assert!(matches!(e, TimeSpanError::Overflow { .. }));
        assert_eq!(
            e.to_string(),
            "time span '600000y' is too large (at most about 584542 years; use infinity for no limit)"
        );
        // Control characters are escaped: the message stays on one line.
        let e = parse_timespan("5\nx\0\u{2028}").unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.lines().count() == 1 && !msg.contains(['\0', '\u{2028}']),
            "{msg:?}"
        );
        assert!(
            msg.starts_with("invalid time span '5\\nx\\u{0}\\u{2028}' at 'x\\u{0}"),
            "{msg}"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn parse_never_panics(s in any::<String>()) {
            let _ = parse_timespan(&s);
        }

        #[test]
        fn parse_never_panics_on_near_misses(
            s in "[0-9 .+\\-a-zMµμ\t\u{b}\u{c}\n\r\0]{0,24}",
        ) {
            if let Ok(TimeSpan::Finite(d)) = parse_timespan(&s) {
                prop_assert!(d.as_micros() < u128::from(u64::MAX));
            }
        }

        #[test]
        fn sums_of_parts(parts in proptest::collection::vec((0u64..100_000, 0..UNIT_VALUES.len()), 1..5)) {
            let text: Vec<String> = parts
                .iter()
                .map(|&(n, unit)| format!("{n}{}", UNIT_VALUES[unit].0))
                .collect();
            let text = text.join(" ");
            let sum: u64 = parts.iter().map(|&(n, unit)| n * UNIT_VALUES[unit].1).sum();
            prop_assert_eq!(parse_timespan(&text), Ok(us(sum)), "text {}", text);
        }
    }
}
