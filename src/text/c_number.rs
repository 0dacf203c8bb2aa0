//! Decimal numbers read like C's `strtol()` family in the C locale: leading `isspace()`
//! characters, an optional sign, then digits, and whatever follows ignored. Where a format is
//! defined by the C program that reads it (systemd's `parse_sec()`, Netplan's `version:` and
//! prefix lengths), reading numbers any other way would accept or refuse different text.

/// C `isspace()` in the C locale: space, `\t`, `\n`, `\v`, `\f`, `\r`.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// What the `strto*()` functions scan from `b[i..]`.
struct Scanned {
    negative: bool,
    /// The digits' value; `None` when it does not fit a `u64`.
    magnitude: Option<u64>,
    /// Where the digits end; `None` when there are no digits (C then converts nothing).
    end: Option<usize>,
}

fn scan(b: &[u8], i: usize) -> Scanned {
    let mut j = i;
    while b.get(j).copied().is_some_and(is_c_space) {
        j += 1;
    }
    let negative = b.get(j) == Some(&b'-');
    if matches!(b.get(j), Some(b'-' | b'+')) {
        j += 1;
    }
    let start = j;
    let mut magnitude = Some(0u64);
    while let Some(&d) = b.get(j).filter(|d| d.is_ascii_digit()) {
        magnitude = magnitude
            .and_then(|m| m.checked_mul(10))
            .and_then(|m| m.checked_add(u64::from(d - b'0')));
        j += 1;
    }
    Scanned {
        negative,
        magnitude,
        end: (j > start).then_some(j),
    }
}

/// Outcome of glibc's `strtoll(b + i, &e, 10)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrToLl {
    /// No digits: `strtoll()` converts nothing and sets `e = b + i`.
    NoDigits,
    /// A value in range; `end` is where `strtoll()` stopped.
    Value {
        negative: bool,
        magnitude: u64,
        end: usize,
    },
    /// The digits do not fit a `long long` (`errno = ERANGE`).
    OutOfRange { negative: bool },
}

/// glibc's `strtoll(b + i, &e, 10)`.
pub fn strtoll(b: &[u8], i: usize) -> StrToLl {
    let Scanned {
        negative,
        magnitude,
        end,
    } = scan(b, i);
    let Some(end) = end else {
        return StrToLl::NoDigits;
    };
    let limit = if negative {
        i64::MIN.unsigned_abs()
    } else {
        i64::MAX.unsigned_abs()
    };
    match magnitude.filter(|&m| m <= limit) {
        Some(magnitude) => StrToLl::Value {
            negative,
            magnitude,
            end,
        },
        None => StrToLl::OutOfRange { negative },
    }
}

/// C's `strtol(text, NULL, 10)` (a 64-bit `long`): 0 without digits, clamped to the `long`
/// range when out of it.
pub fn strtol(text: &str) -> i64 {
    match strtoll(text.as_bytes(), 0) {
        StrToLl::NoDigits => 0,
        StrToLl::Value {
            negative: false,
            magnitude,
            ..
        } => i64::try_from(magnitude).unwrap_or(i64::MAX),
        StrToLl::Value {
            negative: true,
            magnitude,
            ..
        } => 0i64.checked_sub_unsigned(magnitude).unwrap_or(i64::MIN),
        StrToLl::OutOfRange { negative: false } => i64::MAX,
        StrToLl::OutOfRange { negative: true } => i64::MIN,
    }
}

/// `g_ascii_strtoull(text, NULL, 10)` as Netplan uses it for prefix lengths: 0 without digits,
/// `u64::MAX` when out of range. One simplification: GLib negates a negative number modulo
/// 2^64 (`-1` is `u64::MAX`), here every negative number but `-0` is `u64::MAX`; the two
/// differ only for magnitudes within 128 of 2^64, which Netplan's prefix checks would read as
/// valid prefix lengths.
pub fn g_ascii_strtoull(text: &str) -> u64 {
    let Scanned {
        negative,
        magnitude,
        end,
    } = scan(text.as_bytes(), 0);
    match (end, negative, magnitude) {
        (None, ..) | (_, true, Some(0)) => 0,
        (_, true, _) => u64::MAX,
        (_, false, magnitude) => magnitude.unwrap_or(u64::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_number_parsing() {
        assert_eq!(strtol("2"), 2);
        assert_eq!(strtol(" 2abc"), 2);
        assert_eq!(strtol("-2"), -2);
        assert_eq!(strtol(""), 0);
        assert_eq!(strtol("\x0b+7"), 7);
        assert_eq!(strtol("-9223372036854775808"), i64::MIN);
        assert_eq!(strtol("99999999999999999999"), i64::MAX);
        assert_eq!(g_ascii_strtoull("24"), 24);
        assert_eq!(g_ascii_strtoull("24x"), 24);
        assert_eq!(g_ascii_strtoull("x"), 0);
        assert_eq!(g_ascii_strtoull("-0"), 0);
        assert_eq!(g_ascii_strtoull("-1"), u64::MAX);
        assert_eq!(g_ascii_strtoull("99999999999999999999999"), u64::MAX);
    }

    #[test]
    fn strtoll_says_where_it_stopped() {
        assert_eq!(
            strtoll(b"x 12s", 1),
            StrToLl::Value {
                negative: false,
                magnitude: 12,
                end: 4
            }
        );
        assert_eq!(strtoll(b" s", 0), StrToLl::NoDigits);
        assert_eq!(strtoll(b"-", 0), StrToLl::NoDigits);
        assert_eq!(
            strtoll(b"-9223372036854775808", 0),
            StrToLl::Value {
                negative: true,
                magnitude: 1 << 63,
                end: 20
            }
        );
        assert_eq!(
            strtoll(b"9223372036854775808", 0),
            StrToLl::OutOfRange { negative: false }
        );
        assert_eq!(
            strtoll(b"-99999999999999999999999", 0),
            StrToLl::OutOfRange { negative: true }
        );
    }
}
