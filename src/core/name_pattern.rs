//! An `--ignore=` pattern as the decision sees it: the text the user gave, and whether an
//! interface name matches it.
//!
//! Why core holds a matcher and does not match itself: upstream matches with glibc's
//! `fnmatch()`, and calling that function ([`crate::cli::glob`]) is exact by construction,
//! where a pure port would be exact only as far as its tests reach. The call is FFI, which
//! core does not make; so the command line hands core each pattern with its matcher already
//! built, and core stays pure (its tests may give any matcher).

use std::fmt;
use std::sync::Arc;

/// Whether a name matches; a pure function of the name.
type Matcher = dyn Fn(&str) -> bool + Send + Sync;

/// A name pattern with the function that matches it.
#[derive(Clone)]
pub struct NamePattern {
    text: String,
    matcher: Arc<Matcher>,
}

impl NamePattern {
    /// `text` as the user gave it, matched by `matcher`.
    pub fn new(text: &str, matcher: impl Fn(&str) -> bool + Send + Sync + 'static) -> Self {
        NamePattern {
            text: text.to_owned(),
            matcher: Arc::new(matcher),
        }
    }

    /// Whether `name` matches.
    pub fn matches(&self, name: &str) -> bool {
        (self.matcher)(name)
    }

    /// The pattern as given, for reasons and log lines.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// Patterns of one run are all matched the same way: the same text is the same pattern.
impl PartialEq for NamePattern {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for NamePattern {}

impl fmt::Debug for NamePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("NamePattern").field(&self.text).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asks_its_matcher_and_compares_by_text() {
        let exact = NamePattern::new("eth0", |name| name == "eth0");
        assert!(exact.matches("eth0"));
        assert!(!exact.matches("eth1"));
        assert_eq!(exact.as_str(), "eth0");
        assert_eq!(exact, NamePattern::new("eth0", |_| false));
        assert_ne!(exact, NamePattern::new("eth1", |name| name == "eth0"));
    }
}
