//! The man page (`man/wait-online.8`) documents every option that `wait-online --help` lists,
//! names the operational states the program accepts, in their order, and renders without a
//! warning. Fails when an option is added to src/cli/mod.rs without documenting it.
//!
//! Needs `man` (package man-db, which brings groff-base); tests/run.sh installs it.

use std::process::Command;

const MAN_PAGE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/man/wait-online.8");

fn page() -> String {
    std::fs::read_to_string(MAN_PAGE).unwrap_or_else(|e| panic!("cannot read {MAN_PAGE}: {e}"))
}

/// Runs the real binary with `args`; returns (exit code, stdout, stderr).
fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let (out, _) = crate::common::run_bin(args);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The long options of `--help`, from the option header lines (`  -q, --quiet`,
/// `      --dns[=<BOOL>]`, `      --timeout <SECS>`).
fn help_long_options() -> Vec<String> {
    let (code, help, stderr) = run(&["--help"]);
    assert_eq!(code, Some(0), "wait-online --help failed: {stderr}");
    let mut options = Vec::new();
    for line in help.lines() {
        let header = line.trim_start();
        if line.len() == header.len() {
            continue; // not indented: usage, section titles, prose
        }
        // `-q, --quiet` or `--ignore <INTERFACE>`
        let rest = match header.split_once(", ") {
            Some((short, rest)) if short.len() == 2 && short.starts_with('-') => rest,
            _ => header,
        };
        let Some(long) = rest.strip_prefix("--") else {
            continue;
        };
        let name: String = long
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        if !name.is_empty() && !options.contains(&name) {
            options.push(name);
        }
    }
    options
}

/// The lines of the roff section `.SH title`, up to the next `.SH`.
fn section<'a>(page: &'a str, title: &str) -> Vec<&'a str> {
    let heading = format!(".SH {title}");
    let mut lines = page.lines().skip_while(|l| l.trim_end() != heading);
    assert!(
        lines.next().is_some(),
        "{MAN_PAGE} has no section {heading:?}"
    );
    lines.take_while(|l| !l.starts_with(".SH ")).collect()
}

/// The lines that follow a `.TP` (item tags) in `lines`.
fn item_tags<'a>(lines: &[&'a str]) -> Vec<&'a str> {
    lines
        .windows(2)
        .filter(|pair| pair[0].trim_end() == ".TP")
        .map(|pair| pair[1])
        .collect()
}

/// Whether `line` names `--name` in roff (`\-\-name`), not just a longer option that starts
/// the same (`\-\-dns` in `\-\-dns\-probe`).
fn names_option(line: &str, name: &str) -> bool {
    let roff = format!("\\-\\-{}", name.replace('-', "\\-"));
    line.match_indices(&roff).any(|(at, _)| {
        let after = &line[at + roff.len()..];
        let continues_name = after.starts_with(|c: char| c.is_ascii_alphanumeric())
            || after
                .strip_prefix("\\-")
                .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_alphanumeric()));
        !continues_name
    })
}

#[test]
fn help_lists_the_options_this_test_knows_how_to_parse() {
    let options = help_long_options();
    for expected in [
        "quiet",
        "interface",
        "ignore",
        "timeout",
        "dns",
        "help",
        "version",
    ] {
        assert!(
            options.iter().any(|o| o == expected),
            "--{expected} not found in the parsed --help output: {options:?} (did the --help format change?)"
        );
    }
}

#[test]
fn every_option_of_help_is_documented_in_the_man_page() {
    let page = page();
    let options_section = section(&page, "OPTIONS");
    let tags = item_tags(&options_section);
    let missing: Vec<String> = help_long_options()
        .into_iter()
        .filter(|name| !tags.iter().any(|tag| names_option(tag, name)))
        .map(|name| format!("--{name}"))
        .collect();
    assert!(
        missing.is_empty(),
        "{MAN_PAGE}: OPTIONS has no item (a `.TP` tag line with \\-\\-name) for {missing:?}; \
         document every option that `wait-online --help` lists"
    );
}

#[test]
fn every_documented_option_exists() {
    let known = help_long_options();
    let page = page();
    let options_section = section(&page, "OPTIONS");
    for tag in item_tags(&options_section) {
        for (at, _) in tag.match_indices("\\-\\-") {
            let mut name = String::new();
            let mut rest = &tag[at + 4..];
            loop {
                if let Some(c) = rest.chars().next().filter(char::is_ascii_alphanumeric) {
                    name.push(c);
                    rest = &rest[1..];
                } else if let Some(r) = rest
                    .strip_prefix("\\-")
                    .filter(|r| r.starts_with(|c: char| c.is_ascii_alphanumeric()))
                {
                    name.push('-');
                    rest = r;
                } else {
                    break;
                }
            }
            assert!(
                known.contains(&name),
                "{MAN_PAGE} documents --{name} in OPTIONS, but `wait-online --help` does not list it: {known:?}"
            );
        }
    }
}

#[test]
fn operational_states_are_the_programs_in_order() {
    // The program lists the states it accepts, lowest first, when given an unknown one.
    let (code, _, stderr) = run(&["-o", "bogus"]);
    assert_eq!(code, Some(1), "{stderr}");
    let list = stderr
        .split("expected one of: ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap_or_else(|| panic!("no state list in: {stderr}"));
    let program: Vec<&str> = list.split(", ").map(str::trim).collect();
    assert_eq!(program.len(), 9, "{stderr}");

    let page = page();
    let states_section = section(&page, "OPERATIONAL STATES");
    let documented: Vec<String> = item_tags(&states_section)
        .iter()
        .map(|tag| tag.trim_start_matches(".B ").replace("\\-", "-"))
        .collect();
    assert_eq!(
        documented, program,
        "{MAN_PAGE}: OPERATIONAL STATES must list the program's states in its order"
    );
}

#[test]
fn man_renders_without_warnings() {
    let out = Command::new("man")
        .args(["--warnings", "-l", MAN_PAGE])
        .env("MANWIDTH", "80")
        .env_remove("MAN_KEEP_FORMATTING")
        // man-db sandboxes its filters with seccomp; that fails in some containers
        .env("MAN_DISABLE_SECCOMP", "1")
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run `man` ({e}): install man-db (apt-get install man-db groff-base)")
        });
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "MANWIDTH=80 man --warnings -l {MAN_PAGE}: status {:?}\n{stderr}",
        out.status.code()
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for heading in [
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "OPTIONS",
        "OPERATIONAL STATES",
        "MANAGER SELECTION",
        "THE UBUNTU DEFINITION OF ONLINE",
        "EXIT STATUS",
        "ENVIRONMENT",
        "EXAMPLES",
        "SEE ALSO",
    ] {
        assert!(
            text.lines().any(|l| l.trim_end() == heading),
            "rendered page lacks the section {heading}"
        );
    }
}
