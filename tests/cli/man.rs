//! The checked-in manual page matches what `tagctl man` prints.
//! `TAGCTL_BLESS=1 cargo test man` rewrites it.

use crate::support::*;

#[test]
fn the_man_page_is_up_to_date() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("doc/tagctl.1");
    let out = run(tagctl().arg("man"));
    out.expect_code(0);
    assert!(
        out.stdout.starts_with(".ie"),
        "roff:\n{}",
        &out.stdout[..200.min(out.stdout.len())]
    );
    assert_eq!(out.stderr, "");
    if std::env::var_os("TAGCTL_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &out.stdout).unwrap();
    } else {
        assert!(
            std::fs::read_to_string(&path).ok().as_deref() == Some(out.stdout.as_str()),
            "stale doc/tagctl.1: run `TAGCTL_BLESS=1 cargo test man` and commit doc/"
        );
    }
}

#[test]
fn every_command_has_examples_in_its_help() {
    for command in ["tag", "untag", "completions", "man"] {
        let out = run(tagctl().args([command, "--help"]));
        out.expect_code(0);
        assert!(
            out.stdout.contains("\nExamples:\n  tagctl "),
            "{command} --help:\n{}",
            out.stdout
        );
    }
}
