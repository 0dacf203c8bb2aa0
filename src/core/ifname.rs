//! Interface names as the kernel accepts them (systemd's `ifname_valid()`), so that a typo on
//! the command line is refused at once instead of being waited for until the timeout.

use std::fmt;

/// Longest interface name the kernel accepts (IFNAMSIZ − 1).
pub const IFNAME_MAX_LEN: usize = 15;

/// A validated interface name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IfName(String);

/// Why a string is not a valid interface name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IfNameError {
    #[error("invalid interface name '{0}': empty")]
    Empty(String),
    #[error("invalid interface name '{0}': longer than {IFNAME_MAX_LEN} bytes")]
    TooLong(String),
    #[error("invalid interface name '{0}': '.' and '..' are not allowed")]
    Dots(String),
    #[error("invalid interface name '{0}': purely numeric names are not allowed")]
    Numeric(String),
    #[error(
        "invalid interface name '{0}': only printable ASCII without '/', ':' or whitespace is allowed"
    )]
    BadCharacter(String),
}

impl IfName {
    /// Validates `name` like the kernel's `dev_valid_name()` plus systemd's extra rules (no
    /// `:`, printable ASCII only, not purely numeric).
    pub fn new(name: &str) -> Result<IfName, IfNameError> {
        // What an error shows: one line, an excerpt (a Netplan `set-name:` may be long).
        let owned = || crate::text::excerpt(name);
        if name.is_empty() {
            return Err(IfNameError::Empty(owned()));
        }
        if name.len() > IFNAME_MAX_LEN {
            return Err(IfNameError::TooLong(owned()));
        }
        if name == "." || name == ".." {
            return Err(IfNameError::Dots(owned()));
        }
        if name
            .bytes()
            .any(|b| !b.is_ascii_graphic() || b == b'/' || b == b':')
        {
            return Err(IfNameError::BadCharacter(owned()));
        }
        if name.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IfNameError::Numeric(owned()));
        }
        Ok(IfName(name.to_string()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IfName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_ordinary_names() {
        for name in [
            "eth0",
            "lo",
            "br-lan",
            "wlp3s0",
            "a",
            "bond0.100",
            "abcdefghijklmno",
            "0x1",
        ] {
            assert_eq!(
                IfName::new(name).map(|n| n.to_string()),
                Ok(name.to_string())
            );
        }
    }

    #[test]
    fn refuses_what_the_kernel_refuses() {
        assert!(matches!(IfName::new(""), Err(IfNameError::Empty(_))));
        assert!(matches!(
            IfName::new("abcdefghijklmnop"),
            Err(IfNameError::TooLong(_))
        ));
        assert!(matches!(IfName::new("."), Err(IfNameError::Dots(_))));
        assert!(matches!(IfName::new(".."), Err(IfNameError::Dots(_))));
        assert!(matches!(
            IfName::new("a/b"),
            Err(IfNameError::BadCharacter(_))
        ));
        assert!(matches!(
            IfName::new("a:b"),
            Err(IfNameError::BadCharacter(_))
        ));
        assert!(matches!(
            IfName::new("a b"),
            Err(IfNameError::BadCharacter(_))
        ));
        assert!(matches!(
            IfName::new("eth\u{e9}"),
            Err(IfNameError::BadCharacter(_))
        ));
        assert!(matches!(IfName::new("123"), Err(IfNameError::Numeric(_))));
    }

    #[test]
    fn error_quotes_a_long_or_multiline_name_as_an_excerpt() {
        let long = format!("a\n{}", "b".repeat(100_000));
        let message = IfName::new(&long).unwrap_err().to_string();
        assert!(message.len() < 400 && !message.contains('\n'), "{message}");
        assert!(message.contains("a\\nbbb") && message.contains("…(100002 bytes)"));
    }

    #[test]
    fn error_quotes_the_name() {
        let message = IfName::new("a/b").unwrap_err().to_string();
        assert!(message.contains("'a/b'"), "{message}");
    }

    proptest! {
        #[test]
        fn valid_names_are_short_printable_and_not_numeric(s in "\\PC{0,20}") {
            if let Ok(name) = IfName::new(&s) {
                prop_assert!(name.as_str().len() <= IFNAME_MAX_LEN);
                prop_assert!(!name.as_str().bytes().all(|b| b.is_ascii_digit()));
                prop_assert!(!name.as_str().contains(['/', ':', ' ']));
            }
        }
    }
}
