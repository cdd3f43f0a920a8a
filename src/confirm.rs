//! The question `untag` asks before the first request when a person is at
//! the terminal: removing tags is one keystroke from disaster, and live is
//! the default host.

use std::io::{BufRead, IsTerminal, Write};

use crate::api::{Endpoint, Environment};
use crate::exit::{Exit, Fatal};
use crate::text::printable;

/// The question, naming the tag, the base URL and whether it is live.
pub fn untag_question(tag: &str, endpoint: &Endpoint) -> String {
    let tag = printable(tag, 60);
    let base = endpoint.base();
    match endpoint.environment() {
        Environment::Live => {
            format!("Remove the tag \"{tag}\" from these customers on LIVE ({base})? [y/N] ")
        }
        Environment::Sandbox => {
            format!("Remove the tag \"{tag}\" from these customers on the sandbox ({base})? [y/N] ")
        }
        Environment::Other => format!(
            "Remove the tag \"{tag}\" from these customers at {base} (not a Rebilly host)? [y/N] "
        ),
    }
}

/// Asks before an untag when a person is at the terminal (standard input
/// and standard error both terminals); a non-interactive run is never asked.
/// Anything but yes is an error (exit 1): nothing is sent.
pub fn before_untag(tag: &str, endpoint: &Endpoint) -> Result<(), Fatal> {
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return Ok(());
    }
    let yes = ask(
        &untag_question(tag, endpoint),
        &mut std::io::stdin().lock(),
        &mut std::io::stderr().lock(),
    )
    .unwrap_or(false);
    if yes {
        Ok(())
    } else {
        Err(Fatal {
            exit: Exit::Incomplete,
            message: "not confirmed, so nothing was sent (--yes skips the question)".into(),
        })
    }
}

/// Whether an answer means yes: `y` or `yes`, in any case.
pub fn is_yes(answer: &str) -> bool {
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// Asks `question` on `out` and reads one line from `input`; the end of the
/// input is a no.
pub fn ask(
    question: &str,
    input: &mut impl BufRead,
    out: &mut impl Write,
) -> std::io::Result<bool> {
    out.write_all(question.as_bytes())?;
    out.flush()?;
    let mut answer = String::new();
    if input.read_line(&mut answer)? == 0 {
        // No answer: end the prompt's line before what follows.
        writeln!(out)?;
        return Ok(false);
    }
    Ok(is_yes(&answer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_question_names_tag_host_and_environment() {
        let e = |api: Option<&str>, sandbox: bool| {
            Endpoint::new(api, sandbox, Some("org-1"), "VIP").unwrap()
        };
        assert_eq!(
            untag_question("VIP", &e(None, false)),
            "Remove the tag \"VIP\" from these customers on LIVE (https://api.rebilly.com/organizations/org-1)? [y/N] "
        );
        assert_eq!(
            untag_question("VIP", &e(None, true)),
            "Remove the tag \"VIP\" from these customers on the sandbox (https://api-sandbox.rebilly.com/organizations/org-1)? [y/N] "
        );
        assert_eq!(
            untag_question("Big \u{1b}[2J", &e(Some("http://127.0.0.1:9"), true)),
            "Remove the tag \"Big \\u{1b}[2J\" from these customers at http://127.0.0.1:9/organizations/org-1 (not a Rebilly host)? [y/N] "
        );
    }

    #[test]
    fn only_yes_is_yes() {
        for (answer, want) in [
            ("y\n", true),
            ("YES\r\n", true),
            (" yes ", true),
            ("n\n", false),
            ("\n", false),
            ("yep", false),
        ] {
            assert_eq!(is_yes(answer), want, "{answer:?}");
        }
        let mut out = Vec::new();
        assert!(!ask("Go? ", &mut &b""[..], &mut out).unwrap());
        assert_eq!(out, b"Go? \n");
        let mut out = Vec::new();
        assert!(ask("Go? ", &mut &b"y\n"[..], &mut out).unwrap());
        assert_eq!(out, b"Go? ");
    }
}
