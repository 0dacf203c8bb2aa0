//! Value parsers: a node's type (`assert_type()`), scalars read as Netplan reads them
//! (`handle_generic_bool()`, `parse_renderer()`, one entry of `handle_generic_addresses()`,
//! `_is_valid_macaddress()`, `assert_valid_id()`), and the one-line error each refusal gives,
//! naming the file, the position and the dotted key.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

use super::Result;
use crate::netplan::config::Backend;
use crate::netplan::error::NetplanError;
use crate::netplan::yaml::{Mark, Node, Value};
use crate::text::{excerpt, g_ascii_strtoull, one_line};

/// The error at `mark` of `path`, about `key`: both made one line.
pub(super) fn invalid(path: &Path, mark: Mark, key: &str, message: String) -> NetplanError {
    NetplanError::Invalid {
        path: path.to_path_buf(),
        line: mark.line,
        column: mark.column,
        key: one_line(key),
        message: one_line(&message),
    }
}

fn type_error(path: &Path, node: &Node, key: &str, expected: &str) -> NetplanError {
    invalid(
        path,
        node.mark,
        key,
        format!("expected {expected}, found {}", node.kind()),
    )
}

/// `assert_type(…, YAML_MAPPING_NODE)`: the node's entries.
pub(super) fn mapping<'n>(path: &Path, node: &'n Node, key: &str) -> Result<&'n [(Node, Node)]> {
    match &node.value {
        Value::Mapping(pairs) => Ok(pairs),
        _ => Err(type_error(path, node, key, "mapping (check indentation)")),
    }
}

/// `assert_type(…, YAML_SEQUENCE_NODE)`: the node's items.
pub(super) fn sequence<'n>(path: &Path, node: &'n Node, key: &str) -> Result<&'n [Node]> {
    match &node.value {
        Value::Sequence(items) => Ok(items),
        _ => Err(type_error(path, node, key, "sequence")),
    }
}

/// `assert_type(…, YAML_SCALAR_NODE)`: the node's text.
pub(super) fn scalar<'n>(path: &Path, node: &'n Node, key: &str) -> Result<&'n str> {
    node.as_scalar()
        .ok_or_else(|| type_error(path, node, key, "scalar"))
}

/// A mapping key, which Netplan requires to be a scalar. `parent` names the mapping.
pub(super) fn key_text<'n>(path: &Path, key: &'n Node, parent: &str) -> Result<&'n str> {
    key.as_scalar()
        .ok_or_else(|| type_error(path, key, parent, "scalar key"))
}

/// `handle_generic_bool()`: the scalar's text, whatever its YAML type.
pub(super) fn boolean(path: &Path, node: &Node, key: &str) -> Result<bool> {
    let text = scalar(path, node, key)?;
    let is = |words: &[&str]| words.iter().any(|w| text.eq_ignore_ascii_case(w));
    if is(&["true", "on", "yes", "y"]) {
        Ok(true)
    } else if is(&["false", "off", "no", "n"]) {
        Ok(false)
    } else {
        Err(invalid(
            path,
            node.mark,
            key,
            format!("invalid boolean value '{}'", excerpt(text)),
        ))
    }
}

/// `parse_renderer()`.
pub(super) fn renderer(path: &Path, node: &Node, key: &str) -> Result<Backend> {
    match scalar(path, node, key)? {
        "networkd" => Ok(Backend::Networkd),
        "NetworkManager" => Ok(Backend::NetworkManager),
        other => Err(invalid(
            path,
            node.mark,
            key,
            format!("unknown renderer '{}'", excerpt(other)),
        )),
    }
}

/// One entry of `addresses:` (`handle_generic_addresses()`): `ADDR/PREFIX` or a mapping
/// `{ADDR/PREFIX: {options}}`. Returns the address text.
pub(super) fn address(path: &Path, item: &Node, key: &str) -> Result<String> {
    let (entry, options) = match &item.value {
        Value::Scalar(_) => (item, None),
        Value::Mapping(pairs) => match pairs.first() {
            Some((k, v)) => (k, Some(v)),
            None => return Err(type_error(path, item, key, "address")),
        },
        Value::Sequence(_) => {
            return Err(invalid(
                path,
                item.mark,
                key,
                "expected either scalar or mapping (check indentation)".to_string(),
            ));
        }
    };
    let text = scalar(path, entry, key)?;
    let quoted = excerpt(text);
    let Some((addr, prefix)) = text.rsplit_once('/') else {
        return Err(invalid(
            path,
            entry.mark,
            key,
            format!("address '{quoted}' is missing /prefixlength"),
        ));
    };
    let malformed = || {
        invalid(
            path,
            entry.mark,
            key,
            format!("malformed address '{quoted}', must be X.X.X.X/NN or X:X:X:X:X:X:X:X/NN"),
        )
    };
    let ipv4 = addr.parse::<Ipv4Addr>().is_ok();
    let ipv6 = !ipv4 && addr.parse::<Ipv6Addr>().is_ok();
    if let Some(options) = options {
        if !ipv4 && !ipv6 {
            return Err(malformed());
        }
        mapping(path, options, key)?;
        return Ok(text.to_string());
    }
    let prefix_len = g_ascii_strtoull(prefix);
    let bad_prefix = || {
        invalid(
            path,
            entry.mark,
            key,
            format!("invalid prefix length in address '{quoted}'"),
        )
    };
    if ipv4 {
        if prefix_len == 0 || prefix_len > 32 {
            return Err(bad_prefix());
        }
    } else if ipv6 {
        if prefix_len == 0 || prefix_len > 128 {
            return Err(bad_prefix());
        }
    } else {
        return Err(malformed());
    }
    Ok(text.to_string())
}

/// `assert_valid_id()`: a definition id or a `match: name:` (`text`, at `mark`) is printable
/// ASCII without blanks (`^[[:alnum:][:punct:]]+$`).
pub(super) fn valid_id(path: &Path, mark: Mark, text: &str, key: &str) -> Result<()> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(invalid(
            path,
            mark,
            key,
            format!("Invalid name '{}'", excerpt(text)),
        ));
    }
    Ok(())
}

/// `_is_valid_macaddress()`: 6 or 20 colon-separated hex octets.
pub(super) fn valid_mac(text: &str) -> bool {
    let octets: Vec<&str> = text.split(':').collect();
    (octets.len() == 6 || octets.len() == 20)
        && octets
            .iter()
            .all(|o| o.len() == 2 && o.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_validation() {
        assert!(valid_mac("00:11:22:aa:BB:ff"));
        assert!(valid_mac(&["0a"; 20].join(":")));
        assert!(!valid_mac("00:11:22:33:44"));
        assert!(!valid_mac("00:11:22:33:44:5g"));
        assert!(!valid_mac("001122334455"));
    }
}
