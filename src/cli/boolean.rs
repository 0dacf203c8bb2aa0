//! systemd's `parse_boolean()` (src/basic/parse-util.c), for `--dns=` and networkd's
//! `REQUIRED_FOR_ONLINE=`: the same words, compared the way `strcasecmp()` does in the C locale.

/// `1/yes/y/true/t/on` or `0/no/n/false/f/off`, ASCII case-insensitive; `None` otherwise
/// (no trimming, no prefixes: `" yes"` and `"yess"` are not booleans).
pub fn parse_boolean(text: &str) -> Option<bool> {
    const TRUE: [&str; 6] = ["1", "yes", "y", "true", "t", "on"];
    const FALSE: [&str; 6] = ["0", "no", "n", "false", "f", "off"];
    let is = |word: &&str| word.eq_ignore_ascii_case(text);
    if TRUE.iter().any(is) {
        Some(true)
    } else if FALSE.iter().any(is) {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn systemd_words_in_any_ascii_case() {
        for word in ["1", "yes", "y", "true", "t", "on", "YES", "Y", "True", "oN"] {
            assert_eq!(parse_boolean(word), Some(true), "{word:?}");
        }
        for word in [
            "0", "no", "n", "false", "f", "off", "NO", "N", "False", "OFF",
        ] {
            assert_eq!(parse_boolean(word), Some(false), "{word:?}");
        }
    }

    #[test]
    fn nothing_else() {
        for text in [
            "", " yes", "yes ", "yess", "ye", "2", "-1", "01", "enable", "tru", "nein", "\u{130}",
            "o", "yes\0", "ON\n",
        ] {
            assert_eq!(parse_boolean(text), None, "{text:?}");
        }
    }
}
