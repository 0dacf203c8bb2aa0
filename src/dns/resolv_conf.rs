//! The `nameserver` lines of /etc/resolv.conf, the DNS source when systemd-resolved is not on
//! the bus. Read as glibc's resolver reads it (`res_vinit_1()` in resolv/res_init.c): bytes,
//! line by line; a line it does not understand is skipped and the rest still counts, so a
//! Latin-1 comment or a stray byte-order mark costs one line, never the file.

use std::net::{IpAddr, Ipv6Addr};

/// resolved's stub listener: meaningless when resolved is absent.
const RESOLVED_STUBS: [&str; 2] = ["127.0.0.53", "127.0.0.54"];

/// The name servers listed in `bytes`, in order, without resolved's stub addresses. As glibc:
/// a line starting with `;` or `#` is a comment; the keyword starts the line and is followed
/// by a blank (space or tab); the value runs to the next blank; an IPv6 value may carry a
/// zone (`fe80::1%eth0`, the zone is dropped here); a line whose value does not parse is
/// skipped, and so is every line that is not a `nameserver` line. A value must be ASCII.
/// One difference: an IPv4 value is a dotted quad (glibc's `inet_aton()` also takes `10.1`).
pub fn nameservers(bytes: &[u8]) -> Vec<IpAddr> {
    servers(bytes, false)
}

/// The name servers to send a query to (`--reach`'s names): as [`nameservers`], but
/// resolved's stub stays: where the file names it, asking it is asking resolved.
pub fn query_servers(bytes: &[u8]) -> Vec<IpAddr> {
    servers(bytes, true)
}

fn servers(bytes: &[u8], keep_stubs: bool) -> Vec<IpAddr> {
    bytes
        .split(|&b| b == b'\n')
        // glibc handles each line as a C string: a NUL byte ends it.
        .filter_map(|line| line.split(|&b| b == 0).next())
        .filter_map(|line| nameserver(line, keep_stubs))
        .collect()
}

/// The server of one line (without its newline), if it is a usable `nameserver` line.
fn nameserver(line: &[u8], keep_stubs: bool) -> Option<IpAddr> {
    let blank = |b: &u8| *b == b' ' || *b == b'\t';
    let rest = line.strip_prefix(b"nameserver")?;
    if !rest.first().is_some_and(blank) {
        return None;
    }
    let value = rest.split(blank).find(|word| !word.is_empty())?;
    let value = std::str::from_utf8(value).ok().filter(|v| v.is_ascii())?;
    if !keep_stubs && RESOLVED_STUBS.contains(&value) {
        return None;
    }
    if let Ok(address) = value.parse::<std::net::Ipv4Addr>() {
        return Some(IpAddr::V4(address));
    }
    // Only an IPv6 address may carry a zone.
    let address = value.split('%').next()?.parse::<Ipv6Addr>().ok()?;
    Some(IpAddr::V6(address))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn servers(bytes: &[u8]) -> Vec<String> {
        nameservers(bytes).iter().map(ToString::to_string).collect()
    }

    #[test]
    fn reads_nameservers_and_skips_the_resolved_stub() {
        let text = "# generated\nsearch example.test\nnameserver 127.0.0.53\nnameserver 192.0.2.53\n\
                    nameserver   2001:db8::53\nnameserver fe80::1%eth0\nnameserver bogus\n;nameserver 10.0.0.1\noptions edns0\n";
        assert_eq!(
            servers(text.as_bytes()),
            ["192.0.2.53", "2001:db8::53", "fe80::1"]
        );
        assert!(nameservers(b"").is_empty());
    }

    #[test]
    fn queries_keep_the_resolved_stub() {
        let text = b"nameserver 127.0.0.53\nnameserver 192.0.2.53\n";
        let queried: Vec<String> = query_servers(text)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(queried, ["127.0.0.53", "192.0.2.53"]);
        assert_eq!(servers(text), ["192.0.2.53"]);
    }

    #[test]
    fn lines_that_are_not_utf8_cost_only_themselves() {
        // A Latin-1 comment, a byte-order mark before a keyword (glibc does not recognise
        // that line either), invalid bytes in a value, and CRLF endings.
        let text = b"# r\xe9seau de l'\xe9cole\n\xef\xbb\xbfnameserver 10.0.0.9\n\
                     nameserver 10.0.0.1\nnameserver 10.0.0.\xff\nnameserver\t2001:db8::1 # c\n\
                     nameserver 192.0.2.1\r\n";
        assert_eq!(servers(text), ["10.0.0.1", "2001:db8::1"]);
    }

    #[test]
    fn the_keyword_starts_the_line_and_is_followed_by_a_blank() {
        let text = b" nameserver 10.0.0.1\nnameserver10.0.0.2\nNAMESERVER 10.0.0.3\n\
                     nameserver\n\nnameserver  \t 10.0.0.4\n";
        assert_eq!(servers(text), ["10.0.0.4"]);
    }

    #[test]
    fn a_zone_is_for_ipv6_only_and_a_nul_ends_the_line() {
        assert_eq!(servers(b"nameserver 10.0.0.1%eth0\n"), Vec::<String>::new());
        assert_eq!(servers(b"nameserver 10.0.0.1\0junk\n"), ["10.0.0.1"]);
        assert_eq!(servers(b"nameserver 10.0.0.2"), ["10.0.0.2"]);
    }
}
