//! Structured logging to the journal: when `JOURNAL_STREAM` names stderr, records go to the
//! journal's native socket with `INTERFACE=` (and `OPERSTATE=` when known) fields; otherwise,
//! and when the socket cannot be opened, to stderr as plain lines.
//!
//! The binary runs in a private mount namespace (`unshare --mount`, as root) with a tmpfs over
//! /run and this test's directory bind-mounted on /run/systemd/journal, where the test listens
//! on a unix datagram socket: the host's journal is never touched.

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common;

/// One journal entry: its fields in order, values as text.
type Entry = Vec<(String, String)>;

fn field<'a>(entry: &'a Entry, name: &str) -> Option<&'a str> {
    entry
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Parses journald's native protocol: `NAME=value\n`, or `NAME\n` + 64-bit little-endian
/// length + value + `\n` for values that may hold newlines.
fn parse_native(mut data: &[u8]) -> Result<Entry, String> {
    let mut entry = Vec::new();
    while !data.is_empty() {
        let end = data
            .iter()
            .position(|&b| b == b'=' || b == b'\n')
            .ok_or("field name without '=' or newline")?;
        let name = String::from_utf8_lossy(&data[..end]).into_owned();
        let value;
        if data[end] == b'=' {
            let rest = &data[end + 1..];
            let stop = rest
                .iter()
                .position(|&b| b == b'\n')
                .ok_or("value without newline")?;
            value = &rest[..stop];
            data = &rest[stop + 1..];
        } else {
            let rest = &data[end + 1..];
            let size: [u8; 8] = rest.get(..8).ok_or("truncated length")?.try_into().unwrap();
            let size = usize::try_from(u64::from_le_bytes(size)).map_err(|e| e.to_string())?;
            let rest = &rest[8..];
            value = rest.get(..size).ok_or("truncated value")?;
            if rest.get(size) != Some(&b'\n') {
                return Err(format!("{name}: value not followed by a newline"));
            }
            data = &rest[size + 1..];
        }
        entry.push((name, String::from_utf8_lossy(value).into_owned()));
    }
    Ok(entry)
}

struct Run {
    code: Option<i32>,
    stderr: String,
    entries: Vec<Entry>,
}

/// How `JOURNAL_STREAM` is set for the run.
enum Stream {
    /// `DEV:INODE` of the file stderr goes to.
    OfStderr,
    /// Some other value.
    Other(&'static str),
}

/// Runs wait-online with `args` in a private mount namespace whose /run is a tmpfs; with
/// `listen`, a socket of this test is /run/systemd/journal/socket there.
fn run(args: &[&str], stream: Stream, listen: bool) -> Run {
    run_at_level(args, stream, listen, None)
}

/// [`run`] with `SYSTEMD_LOG_LEVEL` set to `level` (None: unset).
fn run_at_level(args: &[&str], stream: Stream, listen: bool, level: Option<&str>) -> Run {
    let dir = common::TempDir::new();
    let journal_dir = dir.0.join("journal");
    std::fs::create_dir(&journal_dir).unwrap();
    let socket = listen.then(|| {
        let socket = UnixDatagram::bind(journal_dir.join("socket")).expect("bind the socket");
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        socket
    });
    let stderr_path = dir.0.join("stderr");
    let stderr = File::create(&stderr_path).unwrap();
    let meta = stderr.metadata().unwrap();
    let stream = match stream {
        Stream::OfStderr => format!("{}:{}", meta.dev(), meta.ino()),
        Stream::Other(value) => value.to_string(),
    };
    let script = r#"set -e
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/systemd/journal
mount --bind "$1" /run/systemd/journal
shift
exec "$@""#;
    let mut command = Command::new("unshare");
    match level {
        Some(level) => command.env("SYSTEMD_LOG_LEVEL", level),
        None => command.env_remove("SYSTEMD_LOG_LEVEL"),
    };
    let mut child = command
        .args([
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            script,
            "sh",
        ])
        .arg(&journal_dir)
        .arg(common::wait_online_bin())
        .args(args)
        .env("JOURNAL_STREAM", &stream)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("run unshare (util-linux)");
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut entries = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    let status = loop {
        let exited = child.try_wait().expect("wait for wait-online");
        // Every datagram was queued before the sender exited: drain them, then stop.
        if let Some(socket) = &socket {
            while let Ok(len) = socket.recv(&mut buf) {
                if len > 0 {
                    // (wait-online first sends an empty datagram to check the socket)
                    let entry = parse_native(&buf[..len]).unwrap_or_else(|e| {
                        panic!(
                            "bad datagram {:?}: {e}",
                            String::from_utf8_lossy(&buf[..len])
                        )
                    });
                    entries.push(entry);
                }
            }
        } else if exited.is_none() {
            std::thread::sleep(Duration::from_millis(20));
        }
        if let Some(status) = exited {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("wait-online {args:?} did not exit within 20 s");
        }
    };
    Run {
        code: status.code(),
        stderr: std::fs::read_to_string(&stderr_path).unwrap(),
        entries,
    }
}

const ARGS: [&str; 4] = ["-i", "nonexistent0", "--timeout=1", "--manager=none"];

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn records_about_an_interface_carry_interface_in_the_journal() {
    let _root = common::require_root();
    let r = run(&ARGS, Stream::OfStderr, true);
    assert_eq!(r.code, Some(1), "stderr: {}", r.stderr);
    assert_eq!(
        r.stderr, "",
        "stderr is the journal stream: nothing goes there"
    );
    let messages: Vec<&str> = r
        .entries
        .iter()
        .filter_map(|e| field(e, "MESSAGE"))
        .collect();
    assert!(
        messages.contains(&"Timeout occurred while waiting for network connectivity."),
        "{:?}",
        r.entries
    );
    let about = r
        .entries
        .iter()
        .find(|e| field(e, "INTERFACE").is_some())
        .unwrap_or_else(|| panic!("no entry with INTERFACE=: {:?}", r.entries));
    assert_eq!(field(about, "INTERFACE"), Some("nonexistent0"), "{about:?}");
    assert_eq!(
        field(about, "MESSAGE"),
        Some("nonexistent0: not present"),
        "{about:?}"
    );
    assert_eq!(field(about, "PRIORITY"), Some("3"), "{about:?}");
    assert_eq!(
        field(about, "SYSLOG_IDENTIFIER"),
        Some("wait-online"),
        "{about:?}"
    );
    // An absent link has no operational state; the general timeout line names no interface.
    assert_eq!(field(about, "OPERSTATE"), None, "{about:?}");
    for entry in &r.entries {
        if field(entry, "MESSAGE").is_some_and(|m| m.starts_with("Timeout occurred")) {
            assert_eq!(field(entry, "INTERFACE"), None, "{entry:?}");
        }
        assert!(
            !entry.iter().any(|(n, _)| n.starts_with("F_")),
            "fields are not prefixed: {entry:?}"
        );
    }
}

/// Priorities are syslog's, as upstream's log_info()/log_debug() send them: info is 6 and
/// debug 7, so `journalctl -p info` leaves the debug records out.
#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn records_have_syslog_priorities() {
    let _root = common::require_root();
    // Without a system bus, --dns logs at info which DNS source it uses; debug adds the
    // reasons while waiting; the timeout lines are errors.
    let args = [
        "-i",
        "lo:routable",
        "--dns",
        "--timeout=1",
        "--manager=none",
    ];
    let r = run_at_level(&args, Stream::OfStderr, true, Some("debug"));
    assert_eq!(r.code, Some(1), "stderr: {}", r.stderr);
    let priority_of = |prefix: &str| {
        let entry = r
            .entries
            .iter()
            .find(|e| field(e, "MESSAGE").is_some_and(|m| m.starts_with(prefix)))
            .unwrap_or_else(|| panic!("no record starting with {prefix:?}: {:?}", r.entries));
        field(entry, "PRIORITY").map(str::to_string)
    };
    assert_eq!(priority_of("waiting: ").as_deref(), Some("7"));
    assert_eq!(priority_of("DNS: ").as_deref(), Some("6"));
    assert_eq!(priority_of("Timeout occurred").as_deref(), Some("3"));
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn operstate_is_sent_when_the_link_exists() {
    let _root = common::require_root();
    // lo exists, and is never "routable": its state is known and it blocks.
    let r = run(
        &["-i", "lo:routable", "--timeout=1", "--manager=none"],
        Stream::OfStderr,
        true,
    );
    assert_eq!(r.code, Some(1), "stderr: {}", r.stderr);
    let about = r
        .entries
        .iter()
        .find(|e| field(e, "INTERFACE") == Some("lo"))
        .unwrap_or_else(|| panic!("no entry with INTERFACE=lo: {:?}", r.entries));
    let state = field(about, "OPERSTATE").unwrap_or_else(|| panic!("no OPERSTATE: {about:?}"));
    assert!(
        field(about, "MESSAGE")
            .is_some_and(|m| m.contains(&format!("operational state is {state}"))),
        "{about:?}"
    );
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn another_stream_keeps_the_plain_stderr_format() {
    let _root = common::require_root();
    let r = run(&ARGS, Stream::Other("1:2"), true);
    assert_eq!(r.code, Some(1));
    assert!(r.entries.is_empty(), "{:?}", r.entries);
    assert_eq!(
        r.stderr,
        "Timeout occurred while waiting for network connectivity.\nnonexistent0: not present\n"
    );
}

#[test]
#[cfg_attr(wait_online_no_root, ignore = "needs root")]
fn without_a_journal_socket_logs_go_to_stderr() {
    let _root = common::require_root();
    let r = run(&ARGS, Stream::OfStderr, false);
    assert_eq!(r.code, Some(1));
    assert_eq!(
        r.stderr,
        "Timeout occurred while waiting for network connectivity.\nnonexistent0: not present\n"
    );
}

#[test]
fn native_protocol_parser() {
    let mut data = b"PRIORITY=3\nMESSAGE\n".to_vec();
    data.extend_from_slice(&5u64.to_le_bytes());
    data.extend_from_slice(b"a\nb=c\nX=\n");
    assert_eq!(
        parse_native(&data).unwrap(),
        [
            ("PRIORITY".to_string(), "3".to_string()),
            ("MESSAGE".to_string(), "a\nb=c".to_string()),
            ("X".to_string(), String::new()),
        ]
    );
    assert!(parse_native(b"NOEND").is_err());
}
