//! A tiny HTTP server in a peer network namespace, for the connectivity checks
//! (`--http-probe`, NetworkManager's `[connectivity]`): a thread that entered the namespace
//! ([`Netns::spawn_thread`]) accepts on one address and answers every request the way it is
//! told at that moment ([`Answer`]; [`HttpServer::set`] changes it mid-wait). Drop stops it.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::netns::Netns;

/// How the server answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// `204 No Content`.
    NoContent,
    /// `200 OK` with this body.
    Text(String),
    /// `302 Found` to this location, as a captive portal does.
    Redirect(String),
    /// Accepts the connection, reads the request, never answers (the connection is held
    /// open until the server stops).
    Silence,
}

impl Answer {
    fn bytes(&self) -> Option<Vec<u8>> {
        let text = match self {
            Answer::NoContent => "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n".to_string(),
            Answer::Text(body) => format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            ),
            Answer::Redirect(location) => {
                format!("HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n")
            }
            Answer::Silence => return None,
        };
        Some(text.into_bytes())
    }
}

/// See the module documentation.
pub struct HttpServer {
    answer: Arc<Mutex<Answer>>,
    requests: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl HttpServer {
    /// Listens on `address` (`10.77.0.1:80`, configured in `peer`) and answers `answer`.
    pub fn start(peer: &Netns, address: &str, answer: Answer) -> HttpServer {
        let answer = Arc::new(Mutex::new(answer));
        let requests = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (bound, is_bound) = std::sync::mpsc::channel();
        let thread = {
            let (answer, requests, stop) = (answer.clone(), requests.clone(), stop.clone());
            let address = address.to_string();
            peer.spawn_thread(move || {
                let listener = TcpListener::bind(&address)
                    .unwrap_or_else(|e| panic!("HTTP server: bind {address}: {e}"));
                listener.set_nonblocking(true).expect("non-blocking");
                bound.send(()).expect("bound");
                // Silent connections stay open until the server stops.
                let mut held: Vec<TcpStream> = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((mut stream, _)) => {
                            requests.fetch_add(1, Ordering::Relaxed);
                            read_request(&mut stream);
                            let now = answer.lock().unwrap().clone();
                            match now.bytes() {
                                Some(bytes) => {
                                    let _ = stream.write_all(&bytes);
                                }
                                None => held.push(stream),
                            }
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_millis(5));
                        }
                        Err(e) => panic!("HTTP server: accept: {e}"),
                    }
                }
            })
        };
        is_bound
            .recv_timeout(Duration::from_secs(10))
            .expect("the HTTP server did not start");
        HttpServer {
            answer,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    /// Answers `answer` from now on.
    pub fn set(&self, answer: Answer) {
        *self.answer.lock().unwrap() = answer;
    }

    /// How many connections it accepted.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }
}

/// Reads until the end of the request's headers (bounded: 2 s, 16 KiB).
fn read_request(stream: &mut TcpStream) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16 * 1024 {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
