//! The checked-in completion scripts match what the binary generates.
//! `TAGCTL_BLESS=1 cargo test completions` rewrites them.

use crate::support::*;

const SCRIPTS: [(&str, &str); 5] = [
    ("bash", "tagctl.bash"),
    ("zsh", "_tagctl"),
    ("fish", "tagctl.fish"),
    ("powershell", "_tagctl.ps1"),
    ("elvish", "tagctl.elv"),
];

#[test]
fn completions_are_up_to_date() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
    let bless = std::env::var_os("TAGCTL_BLESS").is_some();
    let mut stale = Vec::new();
    for (shell, file) in SCRIPTS {
        let out = run(tagctl().args(["completions", shell]));
        out.expect_code(0);
        assert!(
            out.stdout.contains("tagctl"),
            "{shell} script mentions tagctl"
        );
        let path = dir.join(file);
        if bless {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &out.stdout).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(out.stdout.as_str()) {
            stale.push(file);
        }
    }
    assert!(
        stale.is_empty(),
        "stale completion scripts {stale:?}: run `TAGCTL_BLESS=1 cargo test completions` and commit completions/"
    );
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    run(tagctl().args(["completions", "tcsh"])).expect_code(2);
}

#[test]
fn a_closed_pipe_is_not_a_crash() {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tagctl"))
        .args(["completions", "zsh"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("tagctl starts");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("tagctl ends");
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
