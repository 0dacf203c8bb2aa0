//! One attempt of the HTTP probe: resolve the host, connect, send a plain HTTP/1.1 GET, read
//! at most [`MAX_ANSWER_BYTES`] and judge the answer ([`judge`], sans I/O: `httparse` reads
//! the status line and headers). Always bounded by the attempt's own time limit.

use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::core::connectivity::{HttpProbe, HttpProbeFailure};

/// Most bytes of an answer read: the status line, the headers and the start of the body
/// (`--http-probe-expect` is at most 1 KiB). A portal's page may be longer; its start is
/// enough.
pub const MAX_ANSWER_BYTES: usize = 16 * 1024;
/// Most headers parsed.
const MAX_HEADERS: usize = 64;
/// Most bytes of an unexpected body kept to be shown.
const BODY_EXCERPT_BYTES: usize = 64;

/// Probes once, within `limit`.
pub async fn attempt(probe: &HttpProbe, limit: Duration) -> Result<(), HttpProbeFailure> {
    match tokio::time::timeout(limit, exchange(probe)).await {
        Ok(result) => result,
        Err(_) => Err(HttpProbeFailure::Timeout),
    }
}

async fn exchange(probe: &HttpProbe) -> Result<(), HttpProbeFailure> {
    let addresses = resolve(&probe.host, probe.port).await?;
    let mut stream = connect(&addresses).await?;
    stream
        .write_all(request(probe).as_bytes())
        .await
        .map_err(|err| HttpProbeFailure::Malformed(format!("sending the request failed: {err}")))?;
    let mut answer = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        let read = stream.read(&mut chunk).await;
        let ended = match read {
            Ok(0) => true,
            Ok(n) => {
                let room = MAX_ANSWER_BYTES - answer.len();
                answer.extend_from_slice(&chunk[..n.min(room)]);
                answer.len() == MAX_ANSWER_BYTES
            }
            Err(err) if answer.is_empty() => {
                return Err(HttpProbeFailure::Malformed(format!("no answer: {err}")));
            }
            // A reset after the answer: judge what came.
            Err(_) => true,
        };
        match judge(&answer, probe.expect.as_deref(), ended) {
            Judgement::Done(result) => return result,
            Judgement::NeedMore if ended => {
                return Err(HttpProbeFailure::Malformed(
                    "the answer ended before its headers did".into(),
                ));
            }
            Judgement::NeedMore => {}
        }
    }
}

/// The host's addresses: an address literal as it is, a name through the system's resolver
/// (`getaddrinfo`: nsswitch, /etc/hosts, systemd-resolved, as NetworkManager's check
/// resolves). The lookup runs on a thread of its own, not on tokio's blocking pool, whose
/// threads the runtime waits for when it shuts down: a resolver that hangs must not hold
/// the exit; the attempt's time limit abandons it.
async fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, HttpProbeFailure> {
    if let Ok(address) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(address, port)]);
    }
    let (sender, receiver) = futures::channel::oneshot::channel();
    let name = host.to_string();
    std::thread::Builder::new()
        .name("http-probe-resolve".into())
        .spawn(move || {
            let _ = sender.send((name.as_str(), port).to_socket_addrs().map(Vec::from_iter));
        })
        .map_err(|err| HttpProbeFailure::Resolve(format!("cannot start the lookup: {err}")))?;
    match receiver.await {
        Ok(Ok(addresses)) if !addresses.is_empty() => Ok(addresses),
        Ok(Ok(_)) => Err(HttpProbeFailure::Resolve("no address".into())),
        Ok(Err(err)) => Err(HttpProbeFailure::Resolve(err.to_string())),
        Err(_) => Err(HttpProbeFailure::Resolve(
            "the lookup ended without an answer".into(),
        )),
    }
}

/// The first address that accepts a connection; the last error otherwise.
async fn connect(addresses: &[SocketAddr]) -> Result<TcpStream, HttpProbeFailure> {
    let mut last = io::Error::other("no address");
    for address in addresses {
        match TcpStream::connect(address).await {
            Ok(stream) => return Ok(stream),
            Err(err) => last = io::Error::new(err.kind(), format!("{address}: {err}")),
        }
    }
    Err(HttpProbeFailure::Connect(last.to_string()))
}

/// The GET, as NetworkManager's check sends it (no cache, the connection closed after).
fn request(probe: &HttpProbe) -> String {
    let host = match probe.host.contains(':') {
        true => format!("[{}]", probe.host),
        false => probe.host.clone(),
    };
    let host = match probe.port {
        80 => host,
        port => format!("{host}:{port}"),
    };
    format!(
        "GET {} HTTP/1.1\r\nHost: {host}\r\nAccept: */*\r\nCache-Control: no-cache\r\n\
         User-Agent: wait-online\r\nConnection: close\r\n\r\n",
        probe.target
    )
}

/// What the bytes read so far say.
#[derive(Debug, PartialEq, Eq)]
pub enum Judgement {
    Done(Result<(), HttpProbeFailure>),
    /// The headers, or as much of the body as `expect` needs, have not all come.
    NeedMore,
}

/// Judges `answer` (the bytes read so far; `ended`: no more will come): a 2xx with no
/// redirect succeeds, and with `expect` its body must start with that text.
pub fn judge(answer: &[u8], expect: Option<&str>, ended: bool) -> Judgement {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let head = match response.parse(answer) {
        Ok(httparse::Status::Complete(head)) => head,
        Ok(httparse::Status::Partial) => return Judgement::NeedMore,
        Err(err) => {
            return Judgement::Done(Err(HttpProbeFailure::Malformed(format!(
                "not an HTTP answer ({err})"
            ))));
        }
    };
    let status = response.code.unwrap_or(0);
    let header = |name: &str| {
        response
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).into_owned())
    };
    let failure = match status {
        300..=399 => HttpProbeFailure::Redirect {
            status,
            location: header("Location"),
        },
        200..=299 => {
            let Some(expect) = expect else {
                return Judgement::Done(Ok(()));
            };
            let chunked = header("Transfer-Encoding")
                .is_some_and(|te| te.to_ascii_lowercase().contains("chunked"));
            let body = match chunked {
                true => dechunk(&answer[head..]),
                false => answer[head..].to_vec(),
            };
            if body.starts_with(expect.as_bytes()) {
                return Judgement::Done(Ok(()));
            }
            if !ended && expect.as_bytes().starts_with(&body) {
                return Judgement::NeedMore;
            }
            let shown = &body[..body.len().min(BODY_EXCERPT_BYTES)];
            HttpProbeFailure::UnexpectedBody(String::from_utf8_lossy(shown).into_owned())
        }
        other => HttpProbeFailure::Status(other),
    };
    Judgement::Done(Err(failure))
}

/// The data of the whole chunks of a chunked body read so far.
fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut data = Vec::new();
    while let Ok(httparse::Status::Complete((start, size))) = httparse::parse_chunk_size(body) {
        let Ok(size) = usize::try_from(size) else {
            break;
        };
        if size == 0 {
            break;
        }
        let end = start.saturating_add(size).min(body.len());
        data.extend_from_slice(&body[start..end]);
        // Past the chunk and its CRLF, when it is all there.
        match body.get(end + 2..) {
            Some(rest) if end == start + size => body = rest,
            _ => break,
        }
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(result: Result<(), HttpProbeFailure>) -> Judgement {
        Judgement::Done(result)
    }

    #[test]
    fn answers_are_judged_like_networkmanagers_check() {
        let no_content = b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(judge(no_content, None, false), done(Ok(())));
        // The expected text must start the body.
        let debian = b"HTTP/1.1 200 OK\r\nContent-Length: 24\r\n\r\nNetworkManager is online\n";
        assert_eq!(
            judge(debian, Some("NetworkManager is online"), false),
            done(Ok(()))
        );
        let portal = b"HTTP/1.1 200 OK\r\n\r\n<html>Log in</html>";
        assert_eq!(
            judge(portal, Some("OK"), true),
            done(Err(HttpProbeFailure::UnexpectedBody(
                "<html>Log in</html>".into()
            )))
        );
        assert_eq!(
            judge(no_content, Some("OK"), true),
            done(Err(HttpProbeFailure::UnexpectedBody(String::new())))
        );
        let redirect = b"HTTP/1.1 302 Found\r\nlocation: http://portal.example/login\r\n\r\n";
        assert_eq!(
            judge(redirect, None, false),
            done(Err(HttpProbeFailure::Redirect {
                status: 302,
                location: Some("http://portal.example/login".into())
            }))
        );
        assert_eq!(
            judge(b"HTTP/1.0 503 Busy\r\n\r\n", None, false),
            done(Err(HttpProbeFailure::Status(503)))
        );
        assert!(matches!(
            judge(b"SSH-2.0-OpenSSH\r\n", None, false),
            Judgement::Done(Err(HttpProbeFailure::Malformed(_)))
        ));
    }

    #[test]
    fn partial_answers_wait_for_more_until_they_end() {
        assert_eq!(
            judge(b"HTTP/1.1 200 OK\r\nContent-", None, false),
            Judgement::NeedMore
        );
        let half = b"HTTP/1.1 200 OK\r\n\r\nNetwork";
        assert_eq!(
            judge(half, Some("NetworkManager"), false),
            Judgement::NeedMore
        );
        assert_eq!(
            judge(half, Some("NetworkManager"), true),
            done(Err(HttpProbeFailure::UnexpectedBody("Network".into())))
        );
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nNet\r\n4\r\nwork\r\n0\r\n\r\n";
        assert_eq!(judge(chunked, Some("Network"), false), done(Ok(())));
    }

    #[test]
    fn the_request_names_the_host_and_port() {
        let probe = HttpProbe {
            url: String::new(),
            host: "2001:db8::1".into(),
            port: 8080,
            target: "/nm?x=1".into(),
            expect: None,
        };
        let text = request(&probe);
        assert!(
            text.starts_with("GET /nm?x=1 HTTP/1.1\r\nHost: [2001:db8::1]:8080\r\n"),
            "{text}"
        );
        assert!(text.ends_with("\r\n\r\n"));
    }
}
