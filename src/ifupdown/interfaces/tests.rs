use std::collections::BTreeMap;
use std::ffi::CString;

use proptest::prelude::*;

use super::*;

/// A file system in memory: files by path; directories are the parents of files.
#[derive(Default)]
struct Memory {
    files: BTreeMap<PathBuf, Vec<u8>>,
}

impl Memory {
    fn with(files: &[(&str, &str)]) -> Memory {
        Memory {
            files: files
                .iter()
                .map(|(path, text)| (PathBuf::from(path), text.as_bytes().to_vec()))
                .collect(),
        }
    }

    fn dirs(&self) -> BTreeSet<PathBuf> {
        self.files
            .keys()
            .flat_map(|path| path.ancestors().skip(1).map(Path::to_path_buf))
            .collect()
    }
}

/// `path` with `.` and `..` resolved lexically (the files here have no symbolic links).
fn normal(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

impl Files for Memory {
    fn read(&self, path: &Path) -> Result<Vec<u8>, ReadError> {
        self.files
            .get(&normal(path))
            .cloned()
            .ok_or_else(|| ReadError::Io {
                path: path.to_path_buf(),
                source: std::io::ErrorKind::NotFound.into(),
            })
    }

    /// Matches whole paths with fnmatch (a test's patterns have wildcards in the last
    /// component only).
    fn expand(&self, pattern: &[u8]) -> Vec<PathBuf> {
        let glob = CString::new(pattern).expect("no NUL");
        let found: Vec<PathBuf> = self
            .files
            .keys()
            .cloned()
            .chain(self.dirs())
            .filter(|path| {
                let name = CString::new(path.as_os_str().as_bytes()).expect("no NUL");
                crate::sys::fnmatch(&glob, &name)
            })
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        match found.is_empty() {
            true => vec![PathBuf::from(OsStr::from_bytes(pattern))],
            false => found,
        }
    }

    fn exists(&self, path: &Path) -> bool {
        let path = normal(path);
        self.files.contains_key(&path) || self.dirs().contains(&path)
    }

    fn list(&self, dir: &Path) -> Option<Vec<Vec<u8>>> {
        let dir = normal(dir);
        if !self.dirs().contains(&dir) {
            return None;
        }
        let names: BTreeSet<Vec<u8>> = self
            .files
            .keys()
            .chain(self.dirs().iter())
            .filter_map(|path| path.strip_prefix(&dir).ok())
            .filter_map(|rest| rest.components().next())
            .map(|c| c.as_os_str().as_bytes().to_vec())
            .collect();
        Some(names.into_iter().rev().collect())
    }
}

const TOP: &str = "/etc/network/interfaces";

fn load_top(files: &[(&str, &str)]) -> Result<Interfaces, LoadError> {
    load(Path::new(TOP), &Memory::with(files))
}

fn loaded(files: &[(&str, &str)]) -> Interfaces {
    load_top(files).expect("loads")
}

#[test]
fn the_installers_file_names_lo_auto_and_the_nic_hotplug() {
    let got = loaded(&[(
        TOP,
        "# This file describes the network interfaces available on your system\n\
         source /etc/network/interfaces.d/*\n\
         \n\
         # The loopback network interface\n\
         auto lo\n\
         iface lo inet loopback\n\
         \n\
         # The primary network interface\n\
         allow-hotplug enp1s0\n\
         iface enp1s0 inet dhcp\n\
         # This is an autoconfigured IPv6 interface\n\
         iface enp1s0 inet6 auto\n",
    )]);
    assert_eq!(got.auto, ["lo"]);
    assert_eq!(got.hotplug, ["enp1s0"]);
    assert_eq!(got.stanzas.iter().collect::<Vec<_>>(), ["enp1s0", "lo"]);
    assert_eq!(got.skipped, []);
    assert_eq!(got.files, [PathBuf::from(TOP)]);
}

#[test]
fn lines_are_read_as_ifupdowns_get_line_reads_them() {
    // (text, auto words)
    let table: &[(&str, &[&str])] = &[
        ("auto eth0 eth1\n", &["eth0", "eth1"]),
        ("   auto eth0\t\n", &["eth0"]),
        ("# auto eth0\n", &[]),
        ("   # auto eth0\n", &[]),
        // A # later on the line is a word.
        ("auto eth0 # primary\n", &["eth0", "#", "primary"]),
        // A trailing backslash joins the next line as it is.
        ("auto eth0 \\\n eth1\n", &["eth0", "eth1"]),
        ("auto eth\\\n0\n", &["eth0"]),
        // The joined line is not a comment even when it starts with #.
        ("auto eth0 \\\n# eth1\n", &["eth0", "#", "eth1"]),
        // At the end of the file, every trailing backslash goes.
        ("auto eth0\\\\", &["eth0"]),
        // A NUL ends its line.
        ("auto eth0\0 eth1\nauto eth2\n", &["eth0", "eth2"]),
        // Vertical tab and form feed are blanks in C.
        ("auto\x0beth0\x0ceth1\r\n", &["eth0", "eth1"]),
        // allow-auto is auto.
        ("allow-auto eth3\n", &["eth3"]),
        ("", &[]),
        ("\n\n\n", &[]),
        ("auto\n", &[]),
    ];
    for (text, auto) in table {
        let got = loaded(&[(TOP, text)]);
        assert_eq!(got.auto, *auto, "{text:?}");
    }
}

#[test]
fn a_bare_auto_line_names_the_current_stanza() {
    let got = loaded(&[(
        TOP,
        "iface eth0 inet dhcp\nauto\nallow-hotplug\n  address 1\niface eth1 inet manual\nallow-hotplug\n",
    )]);
    assert_eq!(got.auto, ["eth0"]);
    assert_eq!(got.hotplug, ["eth0", "eth1"]);
    // A bare line outside a stanza names nothing, and ends no stanza.
    assert_eq!(
        loaded(&[(TOP, "auto\nallow-hotplug\n")]).auto,
        Vec::<String>::new()
    );
}

#[test]
fn other_classes_and_lists_are_not_boot_classes() {
    let got = loaded(&[(
        TOP,
        "allow-ovs br0\nno-auto-down eth0\nno-scripts eth1\nrename eth2=lan\n",
    )]);
    assert_eq!((got.auto.len(), got.hotplug.len()), (0, 0));
    // `allow-` alone is not a class: an option outside a stanza.
    let err = load_top(&[(TOP, "allow- eth4\n")]).expect_err("misplaced");
    assert!(matches!(
        err,
        LoadError::Syntax(SyntaxError {
            line: 1,
            what: Problem::MisplacedOption,
            ..
        })
    ));
}

#[test]
fn errors_in_the_top_file_refuse_it_whole_with_ifupdowns_words() {
    let table: &[(&str, usize, Problem)] = &[
        ("iface\n", 1, Problem::TooFewParameters),
        ("iface eth0\n", 1, Problem::UnknownFamily),
        ("iface eth0 inet4 dhcp\n", 1, Problem::UnknownFamily),
        ("iface eth0 inet\n", 1, Problem::UnknownMethod),
        ("iface eth0 inet slaac\n", 1, Problem::UnknownMethod),
        (
            "iface eth0 inet6 dhcp inherits\n",
            1,
            Problem::InheritsWithoutName,
        ),
        ("iface eth0 inherits\n", 1, Problem::InheritsWithoutName),
        (
            "iface eth0 inherits eth9\n",
            1,
            Problem::UnknownInherited("eth9".into()),
        ),
        // inherits from the same family only, when the family is given.
        (
            "iface a inet dhcp\niface b inet6 inherits a\n",
            2,
            Problem::UnknownInherited("a".into()),
        ),
        ("iface eth0 inet dhcp\n  address\n", 2, Problem::EmptyOption),
        ("address 10.0.0.1\n", 1, Problem::MisplacedOption),
        (
            "auto eth0\n  address 10.0.0.1\n",
            2,
            Problem::MisplacedOption,
        ),
        (
            "mapping eth0\n script a\n script b\n",
            3,
            Problem::DuplicateScript,
        ),
        (
            "mapping eth0\n map a b\n up x\n",
            3,
            Problem::MisplacedOption,
        ),
        // After `source`, no stanza is open.
        (
            "iface eth0 inet dhcp\nsource x\n address 1\n",
            3,
            Problem::MisplacedOption,
        ),
    ];
    for (text, line, what) in table {
        match load_top(&[(TOP, text)]) {
            Err(LoadError::Syntax(err)) => {
                assert_eq!((err.line, &err.what), (*line, what), "{text:?}");
                assert_eq!(err.file, Path::new(TOP));
            }
            other => panic!("{text:?}: {other:?}"),
        }
    }
    let err = load_top(&[(TOP, "iface eth0 inet slaac\n")]).expect_err("bad method");
    assert_eq!(
        err.to_string(),
        "ifupdown's configuration: /etc/network/interfaces:1: unknown or no method and no \
         inherits keyword specified (ifup refuses the whole file)"
    );
}

#[test]
fn well_formed_iface_lines_pass() {
    let text = "iface a inet dhcp\n\
                iface b inet6 auto extra\n\
                iface c inherits a\n\
                iface d inet inherits a\n\
                iface e inet static inherits d\n\
                iface f meta none\n\
                iface g can static\n\
                iface h ipx dynamic\n\
                iface i inherits c\n";
    let got = loaded(&[(TOP, text)]);
    assert_eq!(got.stanzas.len(), 9);
    // c took a's family: i may inherit from it with inet.
    assert!(
        loaded(&[(TOP, &format!("{text}iface j inet inherits c\n"))])
            .stanzas
            .contains("j")
    );
}

#[test]
fn sources_are_relative_to_the_including_file_and_globbed() {
    let got = loaded(&[
        (
            TOP,
            "source interfaces.d/*\nsource-directory /etc/network/more\nauto top\n",
        ),
        ("/etc/network/interfaces.d/b", "auto b\n"),
        ("/etc/network/interfaces.d/a", "auto a\nsource ../nested\n"),
        ("/etc/network/nested", "allow-hotplug n\n"),
        ("/etc/network/more/z-1", "auto z\n"),
        ("/etc/network/more/y_2", "auto y\n"),
        // source-directory reads only names of letters, digits, _ and -.
        ("/etc/network/more/x.bak", "auto x\n"),
        ("/etc/network/more/.hidden", "auto h\n"),
    ]);
    assert_eq!(got.auto, ["a", "b", "y", "z", "top"]);
    assert_eq!(got.hotplug, ["n"]);
    assert_eq!(got.skipped, []);
    assert_eq!(
        got.files,
        [
            TOP,
            "/etc/network/interfaces.d/a",
            "/etc/network/interfaces.d/../nested",
            "/etc/network/interfaces.d/b",
            "/etc/network/more/y_2",
            "/etc/network/more/z-1",
        ]
        .map(PathBuf::from)
    );
}

#[test]
fn a_source_that_matches_nothing_or_is_missing_is_skipped_quietly() {
    let got = loaded(&[(
        TOP,
        "source interfaces.d/*\nsource /nowhere\nsource-dir /none\nauto eth0\n",
    )]);
    assert_eq!(got.auto, ["eth0"]);
    assert_eq!(got.skipped, []);
}

#[test]
fn several_words_are_several_patterns_the_second_relative_to_nothing() {
    // ifupdown prefixes only the line: `source a b` is `/etc/network/a` and `b`.
    let got = loaded(&[
        (TOP, "source a /etc/network/b\n"),
        ("/etc/network/a", "auto a\n"),
        ("/etc/network/b", "auto b\n"),
    ]);
    assert_eq!(got.auto, ["a", "b"]);
}

#[test]
fn an_error_in_an_included_file_drops_the_rest_of_that_file_only() {
    let got = loaded(&[
        (TOP, "source inc\nauto after\n"),
        ("/etc/network/inc", "auto before\naddress 1\nauto lost\n"),
    ]);
    assert_eq!(got.auto, ["before", "after"]);
    assert_eq!(
        got.skipped,
        [Skip::Syntax(SyntaxError {
            file: "/etc/network/inc".into(),
            line: 2,
            what: Problem::MisplacedOption,
        })]
    );
}

#[test]
fn shell_syntax_in_a_source_line_is_skipped_never_guessed() {
    for line in [
        "source $HOME/x",
        "source x ~/y",
        "source \"x\"",
        "source 'x'",
        "source x\\y",
    ] {
        let got = loaded(&[
            (TOP, &format!("{line}\nauto eth0\n")),
            ("/etc/network/x", "auto x\n"),
        ]);
        assert_eq!(got.auto, ["eth0"], "{line}");
        assert_eq!(
            got.skipped,
            [Skip::Expansion {
                file: TOP.into(),
                line: 1
            }],
            "{line}"
        );
    }
    // What wordexp refuses does nothing, as in ifupdown.
    for line in [
        "source x;y",
        "source $(x)",
        "source `x`",
        "source x|y",
        "source {x,y}",
    ] {
        let got = loaded(&[(TOP, &format!("{line}\n")), ("/etc/network/x", "auto x\n")]);
        assert_eq!((got.auto.len(), got.skipped.len()), (0, 0), "{line}");
    }
}

#[test]
fn loops_end_at_a_file_read_before_or_at_the_bound() {
    let got = loaded(&[(TOP, "auto a\nsource /etc/network/interfaces\n")]);
    assert_eq!(got.auto, ["a"]);
    // `./` makes a new path each time: the bound ends it.
    let got = loaded(&[(TOP, "auto a\nsource ./interfaces\n")]);
    assert_eq!(got.files.len(), MAX_FILES);
    assert!(matches!(got.skipped.as_slice(), [Skip::TooManyFiles(_)]));
}

#[test]
fn a_missing_top_file_is_empty_and_an_unreadable_one_refuses() {
    assert_eq!(loaded(&[]), Interfaces::default());
    let dir = std::env::temp_dir().join(format!("wait-online-ifupdown-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let err = load(&dir, &System).expect_err("a directory");
    std::fs::remove_dir(&dir).ok();
    assert!(err.to_string().contains("not a regular file"), "{err}");
}

#[test]
fn the_real_file_system_globs_in_byte_order_and_skips_dot_files() {
    let root = std::env::temp_dir().join(format!("wait-online-ifupdown-fs-{}", std::process::id()));
    let dir = root.join("interfaces.d");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(
        root.join("interfaces"),
        "source interfaces.d/*\nsource-directory interfaces.d\n",
    )
    .expect("write");
    for (name, text) in [
        ("b", "auto b\n"),
        ("a", "auto a\n"),
        (".c", "auto c\n"),
        ("d.e", "auto d\n"),
    ] {
        std::fs::write(dir.join(name), text).expect("write");
    }
    let got = load(&root.join("interfaces"), &System);
    std::fs::remove_dir_all(&root).ok();
    let got = got.expect("loads");
    // The glob takes d.e, not .c; the directory takes neither (a dot), and the files read by
    // the glob are not read again.
    assert_eq!(got.auto, ["a", "b", "d"]);
}

#[test]
fn dirname_is_posixs() {
    for (path, dir) in [
        ("/etc/network/interfaces", "/etc/network"),
        ("interfaces", "."),
        ("/interfaces", "/"),
        ("/", "/"),
        ("a//b//", "a"),
        ("", "."),
    ] {
        assert_eq!(dirname(path.as_bytes()), dir.as_bytes(), "{path}");
    }
}

fn hostile_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("auto ".to_string()),
        Just("allow-hotplug ".to_string()),
        Just("iface ".to_string()),
        Just("inet ".to_string()),
        Just("dhcp".to_string()),
        Just("inherits ".to_string()),
        Just("source ".to_string()),
        Just("source-directory ".to_string()),
        Just("mapping ".to_string()),
        Just("script ".to_string()),
        Just("\\".to_string()),
        Just("\n".to_string()),
        Just("#".to_string()),
        Just("\0".to_string()),
        Just("*".to_string()),
        Just("../".to_string()),
        Just("inc ".to_string()),
        Just("inc* ".to_string()),
        "[ -~\t]{0,12}",
        any::<char>().prop_map(String::from),
    ];
    proptest::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
}

proptest! {
    /// Any text in any file: never a panic, the bound holds, and an error names a line of
    /// the top file.
    #[test]
    fn hostile_files_never_panic(top in hostile_text(), inc in hostile_text()) {
        let files = Memory::with(&[(TOP, &top), ("/etc/network/inc", &inc), ("/etc/network/inc2", &inc)]);
        match load(Path::new(TOP), &files) {
            Ok(got) => {
                prop_assert!(got.files.len() <= MAX_FILES);
                for word in got.auto.iter().chain(&got.hotplug) {
                    prop_assert!(!word.is_empty());
                    prop_assert!(!word.bytes().any(is_space));
                }
            }
            Err(LoadError::Syntax(err)) => {
                prop_assert_eq!(err.file, PathBuf::from(TOP));
                prop_assert!(err.line >= 1 && err.line <= top.split('\n').count());
            }
            Err(LoadError::Unreadable(err)) => prop_assert!(false, "{err}"),
        }
    }

    /// The words of an `auto` line come back as they were, whatever blanks separate them.
    #[test]
    fn auto_words_round_trip(names in proptest::collection::vec("[a-z0-9.:=/*-]{1,15}", 1..6),
                             blank in "[ \t]{1,3}") {
        let text = format!("auto{blank}{}{blank}\n", names.join(&blank));
        let got = loaded(&[(TOP, &text)]);
        prop_assert_eq!(got.auto, names);
    }
}
