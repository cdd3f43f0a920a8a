//! `tagctl man`: the manual page, rendered from the same clap definitions
//! as `--help` and the completions, so the three cannot drift apart.

use clap::CommandFactory;

use crate::cli::Cli;

/// What the exit codes mean (the contract's table).
const EXIT_STATUS: [(&str, &str); 6] = [
    ("0", "Every valid ID was confirmed (204), none was invalid."),
    (
        "1",
        "The run finished, but some IDs are invalid, failed or unsent (or the untag question was declined).",
    ),
    (
        "2",
        "A usage or input error before any request: bad flags, an unreadable file, an unknown column, an invalid tag, no IDs, no credentials.",
    ),
    (
        "3",
        "Nothing could be sent: the API was never reached (connection refused, DNS failure, TLS error); the rest is unsent.",
    ),
    (
        "4",
        "The API refused the credentials (401) or the permission (403).",
    ),
    (
        "130",
        "Interrupted (Ctrl-C): nothing new is sent, the requests in flight finish, the summary and --failed-ids are still written.",
    ),
];

/// The environment variables read.
const ENVIRONMENT: [(&str, &str); 5] = [
    ("REBILLY_API_KEY", "The secret API key, sent as REB-APIKEY."),
    (
        "REBILLY_JWT",
        "A JSON Web Token, sent as Authorization: Bearer.",
    ),
    (
        "REBILLY_ORGANIZATION_ID",
        "Adds /organizations/{ID} to the base URL.",
    ),
    (
        "REBILLY_SANDBOX",
        "1: use the sandbox host instead of live.",
    ),
    (
        "REBILLY_API_URL",
        "Another API host (a local mock, a proxy).",
    ),
];

/// The whole page, in roff.
pub fn render() -> Vec<u8> {
    let cmd = Cli::command().disable_help_subcommand(true);
    let man = clap_mangen::Man::new(cmd.clone());
    let mut out = Vec::new();
    // Writing to memory does not fail.
    let _ = man.render_title(&mut out);
    let _ = man.render_name_section(&mut out);
    let _ = man.render_synopsis_section(&mut out);
    let _ = man.render_description_section(&mut out);
    let mut commands = Vec::new();
    let _ = man.render_subcommands_section(&mut commands);
    // One page holds every command: point at its section, not at a
    // `tagctl-tag(1)` page that does not exist.
    let mut commands = String::from_utf8_lossy(&commands).into_owned();
    for sub in cmd.get_subcommands() {
        commands = commands.replace(
            &format!("tagctl\\-{}(1)", sub.get_name()),
            &format!("\\fBtagctl {}\\fR", sub.get_name()),
        );
    }
    out.extend_from_slice(commands.as_bytes());
    let _ = man.render_options_section(&mut out);
    for sub in cmd.get_subcommands() {
        let name = format!("tagctl {}", sub.get_name());
        let page = clap_mangen::Man::new(sub.clone().bin_name(name.clone()));
        let mut part = Vec::new();
        let _ = page.render_synopsis_section(&mut part);
        let _ = page.render_description_section(&mut part);
        if sub.get_arguments().any(|a| !a.is_hide_set()) {
            let _ = page.render_options_section(&mut part);
        }
        if sub.get_after_help().is_some() {
            let _ = page.render_extra_section(&mut part);
        }
        out.extend_from_slice(format!(".SH \"{}\"\n", name.to_uppercase()).as_bytes());
        // Each command is a section; its parts are subsections.
        let text = String::from_utf8_lossy(&part)
            .replace(".SH EXTRA", ".SS EXAMPLES")
            .replace("\n.SH ", "\n.SS ");
        let text = text
            .strip_prefix(".SH ")
            .map_or(text.clone(), |t| format!(".SS {t}"));
        out.extend_from_slice(text.as_bytes());
    }
    out.extend_from_slice(b".SH \"EXIT STATUS\"\n");
    for (code, meaning) in EXIT_STATUS {
        out.extend_from_slice(format!(".TP\n\\fB{code}\\fR\n{}\n", escape(meaning)).as_bytes());
    }
    out.extend_from_slice(b".SH ENVIRONMENT\n");
    for (name, meaning) in ENVIRONMENT {
        out.extend_from_slice(format!(".TP\n\\fB{name}\\fR\n{}\n", escape(meaning)).as_bytes());
    }
    let _ = man.render_version_section(&mut out);
    out
}

/// Text safe in a roff paragraph: backslashes and leading dots or quotes.
fn escape(text: &str) -> String {
    let t = text.replace('\\', "\\e").replace('-', "\\-");
    if t.starts_with(['.', '\'']) {
        format!("\\&{t}")
    } else {
        t
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_page_has_every_command_and_the_exit_codes() {
        let page = String::from_utf8(super::render()).unwrap();
        for needle in [
            ".TH tagctl 1",
            ".SH \"TAGCTL TAG\"",
            ".SH \"TAGCTL UNTAG\"",
            ".SS EXAMPLES",
            "\\-\\-progress",
            "\\-\\-yes",
            ".SH \"EXIT STATUS\"",
            "\\fB3\\fR",
            "REBILLY_API_URL",
        ] {
            assert!(page.contains(needle), "{needle} missing:\n{page}");
        }
    }
}
