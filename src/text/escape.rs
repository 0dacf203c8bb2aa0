//! Control characters made visible, in the two forms the tree needs.
//!
//! Quoting input text into our messages ([`one_line`], [`excerpt`]): one line, and short.
//! Whatever a file, an argument or a peer gave us, an error or log line quoting it stays on one
//! line (control characters and Unicode line separators escaped as Rust writes them, `\n`,
//! `\u{1b}`, so it cannot split a journal record or move a terminal's cursor) and quotes at most
//! [`EXCERPT_BYTES`] of it (a 50 MB value must not make a 50 MB line).
//!
//! Writing a name the way Netplan writes it into a unit ([`g_strescape`]): GLib's C escapes
//! (`\t`, octal `\001`), because `--print-netplan-lines` must print Netplan's own bytes. The two
//! differ on purpose: one is for a person reading our message, the other for a diff against
//! Netplan's override.

use std::fmt::{self, Write as _};

/// Most bytes of input text one message quotes; the rest is summarised by its length.
pub const EXCERPT_BYTES: usize = 200;

/// `text` with control characters and line separators escaped (`\n`, `\u{1b}` …), whole.
/// Escaping twice changes nothing: an escape holds no control character.
pub fn one_line(text: &str) -> String {
    OneLine(text).to_string()
}

/// [`one_line`] of `text`, cut (on a character boundary) so that the quoted part is at most
/// [`EXCERPT_BYTES`] long, followed by `…(N bytes)` when it was cut: escapes count, so 200
/// NUL bytes make no 1,200-byte line.
pub fn excerpt(text: &str) -> String {
    Excerpt(text).to_string()
}

/// Displays [`one_line`] of the text without allocating.
pub struct OneLine<'a>(pub &'a str);

impl fmt::Display for OneLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
                write!(f, "{}", c.escape_default())?;
            } else {
                f.write_char(c)?;
            }
        }
        Ok(())
    }
}

/// Displays [`excerpt`] of the text without allocating.
pub struct Excerpt<'a>(pub &'a str);

impl fmt::Display for Excerpt<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0;
        let mut written = 0;
        let mut escaped = String::new();
        for (at, c) in text.char_indices() {
            escaped.clear();
            write!(escaped, "{}", OneLine(c.encode_utf8(&mut [0; 4])))?;
            written += escaped.len();
            if written > EXCERPT_BYTES {
                return write!(f, "{}…({} bytes)", OneLine(&text[..at]), text.len());
            }
        }
        OneLine(text).fmt(f)
    }
}

/// GLib's `g_strescape()` with Netplan's exceptions (`"`, `\` and bytes ≥ 0x80 kept as they
/// are), as Netplan's generator applies it to the names it writes (`set-name:` may hold any
/// text).
pub fn g_strescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\{:03o}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn control_characters_and_separators_are_escaped() {
        assert_eq!(
            one_line("a\nb\tc\u{1b}[2J\u{2028}"),
            "a\\nb\\tc\\u{1b}[2J\\u{2028}"
        );
        assert_eq!(one_line("plain 'text' ü"), "plain 'text' ü");
    }

    #[test]
    fn names_are_escaped_like_netplan() {
        assert_eq!(
            g_strescape("a\tb\nc\u{1}d\u{7f}\"\\é"),
            "a\\tb\\nc\\001d\\177\"\\é"
        );
    }

    #[test]
    fn long_text_is_cut_with_its_length() {
        let long = "x".repeat(50_000_000);
        let quoted = excerpt(&long);
        assert_eq!(
            quoted,
            format!("{}…(50000000 bytes)", "x".repeat(EXCERPT_BYTES))
        );
        assert_eq!(
            excerpt(&"y".repeat(EXCERPT_BYTES)),
            "y".repeat(EXCERPT_BYTES)
        );
        // A cut never splits a character.
        let wide = "é".repeat(EXCERPT_BYTES);
        assert!(excerpt(&wide).starts_with(&"é".repeat(EXCERPT_BYTES / 2)));
        // Escapes count: 200 NUL bytes quote 40 of them (`\u{0}`, 5 bytes each).
        let nul = excerpt(&"\0".repeat(EXCERPT_BYTES));
        assert_eq!(nul, format!("{}…(200 bytes)", "\\u{0}".repeat(40)));
    }

    proptest! {
        #[test]
        fn an_excerpt_is_one_short_line(text in "\\PC{0,300}|[\\x00-\\x7f\u{2028}]{0,600}") {
            let quoted = excerpt(&text);
            let line_breaking = |c: char| c.is_control() || c == '\u{2028}';
            prop_assert!(!quoted.chars().any(line_breaking), "{}", quoted);
            // The quoted part, plus the length note.
            prop_assert!(quoted.len() <= EXCERPT_BYTES + 40, "{}", quoted.len());
            prop_assert_eq!(one_line(&one_line(&text)), one_line(&text));
        }
    }
}
