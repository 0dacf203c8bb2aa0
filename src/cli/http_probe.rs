//! `--http-probe=URL` and `--http-probe-expect=TEXT`: a plain HTTP URL, parsed with the `url`
//! crate (WHATWG parsing, already built for hickory-resolver), into what the probe sends.

use crate::core::connectivity::HttpProbe;

/// Longest `--http-probe-expect=` text: the probe reads only this much of the body.
pub const MAX_EXPECT_BYTES: usize = 1024;

/// `--http-probe=`: an `http://` URL with a host.
pub fn parse_http_probe(text: &str) -> Result<HttpProbe, String> {
    let url = url::Url::parse(text).map_err(|err| {
        format!("not a URL ({err}); expected one such as http://example.com/check")
    })?;
    match url.scheme() {
        "http" => {}
        "https" => {
            return Err(
                "https:// is not probed: the check is a plain HTTP GET, as NetworkManager's is \
                 (a captive portal can only intercept plain HTTP, and a TLS client would need the \
                 clock and certificates the boot may not have yet); use an http:// URL"
                    .into(),
            );
        }
        other => return Err(format!("'{other}:' is not HTTP; use an http:// URL")),
    }
    let host = match url.host() {
        Some(url::Host::Domain(name)) => name.to_string(),
        Some(url::Host::Ipv4(address)) => address.to_string(),
        Some(url::Host::Ipv6(address)) => address.to_string(),
        None => {
            return Err("the URL names no host; use one such as http://example.com/check".into());
        }
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Err("the probe sends no credentials; leave user:password@ out of the URL".into());
    }
    let mut target = url.path().to_string();
    if let Some(query) = url.query() {
        target.push('?');
        target.push_str(query);
    }
    Ok(HttpProbe {
        url: text.to_string(),
        host,
        // An http:// URL always has a port, explicit or the scheme's.
        port: url.port_or_known_default().unwrap_or(80),
        target,
        expect: None,
    })
}

/// `--http-probe-expect=`: any text up to [`MAX_EXPECT_BYTES`].
pub fn parse_expect(text: &str) -> Result<String, String> {
    match text.len() {
        0 => Err("expected the text the body starts with (NetworkManager's response=)".into()),
        n if n > MAX_EXPECT_BYTES => Err(format!(
            "{n} bytes is longer than the {MAX_EXPECT_BYTES} bytes of the body the probe reads"
        )),
        _ => Ok(text.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_urls_become_host_port_and_target() {
        let probe = parse_http_probe("http://network-test.debian.org/nm").unwrap();
        assert_eq!(
            (probe.host.as_str(), probe.port, probe.target.as_str()),
            ("network-test.debian.org", 80, "/nm")
        );
        let probe = parse_http_probe("http://[2001:db8::1]:8080/a?b=c#frag").unwrap();
        assert_eq!(
            (probe.host.as_str(), probe.port, probe.target.as_str()),
            ("2001:db8::1", 8080, "/a?b=c")
        );
        let probe = parse_http_probe("HTTP://10.77.0.1").unwrap();
        assert_eq!(
            (probe.host.as_str(), probe.target.as_str()),
            ("10.77.0.1", "/")
        );
        assert_eq!(probe.url, "HTTP://10.77.0.1");
    }

    #[test]
    fn other_urls_are_refused_with_the_fix() {
        let https = parse_http_probe("https://example.com/").unwrap_err();
        assert!(https.contains("use an http:// URL"), "{https}");
        for bad in [
            "example.com",
            "ftp://example.com/",
            "http://",
            "http://u:p@example.com/",
        ] {
            assert!(parse_http_probe(bad).is_err(), "{bad}");
        }
        assert!(parse_expect("").is_err());
        assert!(parse_expect(&"x".repeat(MAX_EXPECT_BYTES + 1)).is_err());
        assert_eq!(parse_expect("OK").unwrap(), "OK");
    }
}
