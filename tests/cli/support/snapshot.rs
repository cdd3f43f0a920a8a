//! Whole-output expectations: a run's command line, exit code, standard output and
//! standard error, compared whole with a file under `tests/cli/snapshots/`, so that a
//! wording regression fails a test with a readable diff.
//! `TAGCTL_BLESS=1 cargo test --test cli` rewrites the files; review them with `git diff`.

use std::path::{Path, PathBuf};

use super::{Dir, MockServer, Run};

/// Masks what changes from run to run: elapsed times, loopback ports, scratch paths.
#[derive(Debug, Default, Clone)]
pub struct Normalizer {
    literal: Vec<(String, String)>,
}

impl Normalizer {
    /// Masks elapsed times and loopback ports only.
    pub fn new() -> Normalizer {
        Normalizer::default()
    }

    /// Also shows `server`'s URL as `<api>`.
    pub fn server(self, server: &MockServer) -> Normalizer {
        self.replace(&server.url(), "<api>")
    }

    /// Also shows paths inside `dir` as `<tmp>/…`.
    pub fn dir(self, dir: &Dir) -> Normalizer {
        let root = dir.root().to_string_lossy().into_owned();
        self.replace(&root, "<tmp>")
    }

    /// Also replaces every `from` with `to` (applied longest first).
    pub fn replace(mut self, from: &str, to: &str) -> Normalizer {
        self.literal.push((from.to_owned(), to.to_owned()));
        self.literal
            .sort_by_key(|(from, _)| std::cmp::Reverse(from.len()));
        self
    }

    /// `text` with everything masked.
    pub fn apply(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for (from, to) in &self.literal {
            out = out.replace(from.as_str(), to);
        }
        mask_elapsed(&mask_ports(&out))
    }
}

/// `127.0.0.1:<digits>` becomes `127.0.0.1:PORT`.
pub fn mask_ports(text: &str) -> String {
    const HOST: &str = "127.0.0.1:";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(HOST) {
        let (head, tail) = rest.split_at(at + HOST.len());
        out.push_str(head);
        let digits = tail.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 {
            out.push_str("PORT");
        }
        rest = &tail[digits..];
    }
    out.push_str(rest);
    out
}

/// A number of seconds with a fraction (`0.0s`, `12.34s`), standing alone, becomes `#.#s`.
pub fn mask_elapsed(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut copied = 0;
    while i < bytes.len() {
        let starts_word = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'.');
        if starts_word && bytes[i].is_ascii_digit() {
            let digits = |from: usize| {
                bytes
                    .get(from..)
                    .map_or(0, |b| b.iter().take_while(|b| b.is_ascii_digit()).count())
            };
            let dot = i + digits(i);
            let frac = digits(dot + 1);
            let unit = dot + 1 + frac;
            let ends_word = |j: usize| j >= bytes.len() || !bytes[j].is_ascii_alphanumeric();
            if bytes.get(dot) == Some(&b'.')
                && frac > 0
                && bytes.get(unit) == Some(&b's')
                && ends_word(unit + 1)
            {
                out.push_str(&text[copied..i]);
                out.push_str("#.#s");
                i = unit + 1;
                copied = i;
                continue;
            }
            i = dot.max(i + 1);
            continue;
        }
        i += 1;
    }
    out.push_str(&text[copied..]);
    out
}

/// The command line as a shell would show it: arguments with spaces or quotes quoted.
pub fn shell_line(args: &[&str]) -> String {
    std::iter::once("tagctl")
        .chain(args.iter().copied())
        .map(|a| {
            if !a.is_empty()
                && a.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@,+<>".contains(&b))
            {
                a.to_owned()
            } else {
                // Anything but printable ASCII is shown as its code point, so that
                // the snapshot file itself holds nothing invisible.
                let shown: String = a
                    .chars()
                    .map(|c| {
                        if c == ' ' || c.is_ascii_graphic() {
                            c.to_string()
                        } else {
                            c.escape_unicode().to_string()
                        }
                    })
                    .collect();
                format!("'{}'", shown.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// One run as a readable record: `$ command`, `exit N`, then each stream whole.
pub fn transcript(args: &[&str], run: &Run, normalize: &Normalizer) -> String {
    let mut out = format!(
        "$ {}\nexit {}\n",
        normalize.apply(&shell_line(args)),
        run.code
    );
    for (name, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        if text.is_empty() {
            out.push_str(&format!("--- {name}: empty\n"));
            continue;
        }
        out.push_str(&format!("--- {name}\n"));
        out.push_str(&normalize.apply(text));
        if !text.ends_with('\n') {
            out.push_str("\n\\ no newline at the end\n");
        }
    }
    out
}

fn snapshot_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/cli/snapshots")
        .join(format!("{name}.txt"))
}

/// Asserts that `actual` is exactly `tests/cli/snapshots/<name>.txt`, or, with
/// `TAGCTL_BLESS` set, writes it there.
#[track_caller]
pub fn assert_snapshot(name: &str, actual: &str) {
    let path = snapshot_path(name);
    if std::env::var_os("TAGCTL_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("the snapshot dir");
        std::fs::write(&path, actual).expect("write the snapshot");
        return;
    }
    let Ok(expected) = std::fs::read_to_string(&path) else {
        panic!(
            "no snapshot {}: run `TAGCTL_BLESS=1 cargo test --test cli` and review it\n--- actual\n{actual}",
            path.display()
        );
    };
    if expected != actual {
        let diff = similar::TextDiff::from_lines(&expected, actual)
            .unified_diff()
            .context_radius(3)
            .header("expected (snapshot)", "actual")
            .to_string();
        panic!(
            "{} differs from the output (`TAGCTL_BLESS=1 cargo test --test cli` accepts it):\n{diff}",
            path.display()
        );
    }
}

/// Runs nothing: asserts the [`transcript`] of `run` against snapshot `name`.
#[track_caller]
pub fn assert_transcript(name: &str, args: &[&str], run: &Run, normalize: &Normalizer) {
    assert_snapshot(name, &transcript(args, run, normalize));
}

#[test]
fn the_normalizer_masks_times_ports_and_paths() {
    let cases = [
        ("in 1 request (0.0s).", "in 1 request (#.#s)."),
        ("(2 requests, 12.34s)", "(2 requests, #.#s)"),
        ("wait 1.5s, then", "wait #.#s, then"),
        (
            "v1.2.3s 0.5 10s 1.0sec x1.0s",
            "v1.2.3s 0.5 10s 1.0sec x1.0s",
        ),
        ("http://127.0.0.1:43117/tags", "http://127.0.0.1:PORT/tags"),
        ("127.0.0.1: nothing", "127.0.0.1: nothing"),
    ];
    for (input, expected) in cases {
        assert_eq!(Normalizer::new().apply(input), expected, "{input:?}");
    }
    let n = Normalizer::new().replace("/tmp/.tmpAbc", "<tmp>");
    assert_eq!(
        n.apply("cannot read /tmp/.tmpAbc/x.csv"),
        "cannot read <tmp>/x.csv"
    );
    assert_eq!(
        shell_line(&["tag", "Big Spender", "it's", "--batch-size", "0"]),
        r"tagctl tag 'Big Spender' 'it'\''s' --batch-size 0"
    );
    assert_eq!(shell_line(&["V\u{200b}IP"]), r"tagctl 'V\u{200b}IP'");
}
