//! The command line as users meet it: the real binary, its exit status and stderr.

use std::time::Duration;

use crate::common::run_bin;

#[test]
fn bad_input_fails_fast_with_one_line_quoting_it() {
    let cases: &[(&[&str], &str)] = &[
        (&["-i", "eth0:bogus"], "'bogus'"),
        (&["-i", "eth0:"], "empty operational state range"),
        (
            &["-i", "eth0:routable:carrier"],
            "'routable' is above maximum 'carrier'",
        ),
        (&["-i", "a/b"], "'a/b'"),
        (&["-i", "1234"], "'1234'"),
        (&["-i", "sixteen-chars-xx"], "longer than 15 bytes"),
        (&["--timeout=abc"], "'abc'"),
        (&["--timeout=-5"], "'-5'"),
        (&["--dns=maybe"], "'maybe'"),
        (&["--frobnicate"], "'--frobnicate'"),
        (&["positional"], "'positional'"),
        (&["-o", "up"], "'up'"),
        (&["--manager=nm"], "'nm'"),
        (
            &["-i", "eth0", "-i", "eth0:carrier"],
            "'eth0' is given more than once",
        ),
        (&["--require-route=10.0.0.1/8"], "the network is 10.0.0.0/8"),
        (&["--require-route=eth0"], "'eth0'"),
        (&["--reach=example.org"], "expected HOST:PORT"),
        (&["--reach=::1:80"], "in brackets: [::1]:80"),
        (&["--reach=example.org:99999"], "from 1 to 65535"),
    ];
    for (args, needle) in cases {
        let (output, elapsed) = run_bin(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("wait-online: "), "{args:?}: {stderr}");
        assert!(
            stderr.contains(needle),
            "{args:?} should mention {needle}: {stderr}"
        );
        assert!(output.stdout.is_empty(), "{args:?}");
        assert!(
            elapsed < Duration::from_secs(2),
            "{args:?} took {elapsed:?}"
        );
    }
}

#[test]
fn hostile_input_never_panics() {
    let long = "x".repeat(100_000);
    let cases: Vec<Vec<&str>> = vec![
        vec!["-i", ""],
        vec!["-i", ":"],
        vec!["-i", "::"],
        vec!["-i", "eth0:::"],
        vec!["-i", "\u{1F600}:routable"],
        vec!["-i", &long],
        vec!["--timeout", &long],
        vec!["--timeout=99999999999999999999999years"],
        vec!["--ignore="],
        vec!["--ignore=[", "--timeout=1ms", "--manager=none"],
        vec!["-o", ""],
        vec!["-o", ":::"],
        vec!["--dns=", "x"],
    ];
    for args in cases {
        let (output, _) = run_bin(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(
            matches!(output.status.code(), Some(0 | 1)),
            "{args:?}: {:?}",
            output.status
        );
    }
}

#[test]
fn help_and_version_exit_zero_on_stdout() {
    let (help, _) = run_bin(&["--help"]);
    assert_eq!(help.status.code(), Some(0));
    let text = String::from_utf8_lossy(&help.stdout);
    for option in [
        "--interface",
        "--ignore",
        "--operational-state",
        "--ipv4",
        "--ipv6",
        "--any",
        "--timeout",
        "--dns",
        "--quiet",
        "--manager",
    ] {
        assert!(text.contains(option), "--help lacks {option}");
    }
    let (version, _) = run_bin(&["--version"]);
    assert_eq!(version.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("wait-online "));
}
