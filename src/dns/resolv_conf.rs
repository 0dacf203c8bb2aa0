//! The `nameserver` lines of /etc/resolv.conf, the DNS source when systemd-resolved is not on
//! the bus.

use std::net::IpAddr;

/// resolved's stub listener: meaningless when resolved is absent.
const RESOLVED_STUBS: [&str; 2] = ["127.0.0.53", "127.0.0.54"];

/// The name servers listed in `text`, in order, without resolved's stub addresses. Lines that
/// do not parse are skipped (as the C library does).
pub fn nameservers(text: &str) -> Vec<IpAddr> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            (words.next()? == "nameserver").then_some(())?;
            let value = words.next()?;
            // A link-local IPv6 server may carry a zone: fe80::1%eth0.
            let address = value.split('%').next()?.parse::<IpAddr>().ok()?;
            (!RESOLVED_STUBS.contains(&value)).then_some(address)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nameservers_and_skips_the_resolved_stub() {
        let text = "# generated\nsearch example.test\nnameserver 127.0.0.53\nnameserver 192.0.2.53\n\
                    nameserver   2001:db8::53\nnameserver fe80::1%eth0\nnameserver bogus\n;nameserver 10.0.0.1\noptions edns0\n";
        let servers: Vec<String> = nameservers(text).iter().map(ToString::to_string).collect();
        assert_eq!(servers, ["192.0.2.53", "2001:db8::53", "fe80::1"]);
        assert!(nameservers("").is_empty());
    }
}
