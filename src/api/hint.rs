//! What to do next: the hints that follow an error a user can fix. Pure
//! functions of what went wrong and where, so every wording is tested here.

use super::endpoint::{Endpoint, Environment};
use super::problem::Problem;
use super::secret::{CredentialSource, Credentials};

/// The hint after a 401 or 403: which credential (and from where) which
/// host refused, and what to try. A 401 on live suggests `--sandbox`, as a
/// sandbox key is the likeliest mistake.
pub fn auth_hint(
    problem: &Problem,
    source: CredentialSource,
    credentials: &Credentials,
    endpoint: &Endpoint,
) -> String {
    let what = match credentials {
        Credentials::ApiKey(_) => "API key",
        Credentials::Jwt(_) => "token",
    };
    let from = source.describe(credentials);
    let host = endpoint.host();
    match problem.status {
        Some(403) => format!(
            "hint: {host} knows the {what} from {from} but it may not change customer tags here; check its permissions and the organization ({})",
            endpoint.base()
        ),
        _ => {
            let mut hint = format!("hint: {host} did not accept the {what} from {from}; check it");
            match endpoint.environment() {
                Environment::Live => hint.push_str(" (a sandbox key needs --sandbox)"),
                Environment::Sandbox => hint.push_str(" (a live key needs no --sandbox)"),
                Environment::Other => {}
            }
            hint
        }
    }
}

/// The error line when the API was never reached: the URL, where it came
/// from, and why.
pub fn unreachable_message(endpoint: &Endpoint, why: &str) -> String {
    format!(
        "cannot reach the API at {} (from {}): {why}; nothing was sent",
        endpoint.base(),
        endpoint.source().name()
    )
}

/// What must change before a rerun can finish the job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstFix {
    /// Nothing: rerun as is.
    Nothing,
    /// The API refused the credentials or the permission.
    Credentials,
    /// The API was never reached.
    Reachability,
}

/// The summary's last line for a run that left IDs unconfirmed: how to
/// finish the job. `None` when there is nothing to finish.
pub fn finish_hint(
    unconfirmed: u64,
    failed_ids: Option<&std::path::Path>,
    first: FirstFix,
) -> Option<String> {
    if unconfirmed == 0 {
        return None;
    }
    let when = match first {
        FirstFix::Nothing => "",
        FirstFix::Credentials => "once the credentials are accepted, ",
        FirstFix::Reachability => "once the API can be reached, ",
    };
    Some(match failed_ids {
        Some(path) => format!(
            "  to finish: {when}rerun the same command with -f {} in place of the input ({unconfirmed} unconfirmed ID{})\n",
            shell_word(&path.display().to_string()),
            if unconfirmed == 1 { "" } else { "s" }
        ),
        None => format!(
            "  to finish: {when}rerun the same command (confirmed IDs are safe to send again); add --failed-ids PATH next time to rerun only the rest\n"
        ),
    })
}

/// A word as a POSIX shell reads it: quoted only when it has to be.
fn shell_word(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./@%+=:,".contains(&b));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Secret;
    use crate::api::endpoint::UrlSource;

    fn problem(status: u16) -> Problem {
        Problem::from_response(status, None, b"")
    }

    #[test]
    fn auth_hints_name_the_source_and_the_host() {
        let key = Credentials::ApiKey(Secret::new("sk"));
        let jwt = Credentials::Jwt(Secret::new("ey"));
        let live = Endpoint::new(None, false, Some("org-1"), "VIP").unwrap();
        let sandbox = Endpoint::new(None, true, None, "VIP").unwrap();
        let mock = Endpoint::from_source(
            Some("http://127.0.0.1:8080"),
            UrlSource::Environment,
            false,
            None,
            "VIP",
        )
        .unwrap();
        for (status, source, creds, endpoint, want) in [
            (
                401,
                CredentialSource::Environment,
                &key,
                &live,
                "hint: api.rebilly.com did not accept the API key from REBILLY_API_KEY; check it (a sandbox key needs --sandbox)",
            ),
            (
                401,
                CredentialSource::File,
                &key,
                &sandbox,
                "hint: api-sandbox.rebilly.com did not accept the API key from --api-key-file; check it (a live key needs no --sandbox)",
            ),
            (
                401,
                CredentialSource::Flag("--jwt"),
                &jwt,
                &mock,
                "hint: 127.0.0.1:8080 did not accept the token from --jwt; check it",
            ),
            (
                403,
                CredentialSource::Environment,
                &key,
                &live,
                "hint: api.rebilly.com knows the API key from REBILLY_API_KEY but it may not change customer tags here; check its permissions and the organization (https://api.rebilly.com/organizations/org-1)",
            ),
        ] {
            assert_eq!(
                auth_hint(&problem(status), source, creds, endpoint),
                want,
                "{status}"
            );
        }
    }

    #[test]
    fn unreachable_names_url_and_origin() {
        let e = Endpoint::new(Some("http://127.0.0.1:9/"), false, None, "t").unwrap();
        assert_eq!(
            unreachable_message(&e, "connection refused"),
            "cannot reach the API at http://127.0.0.1:9 (from --api-url): connection refused; nothing was sent"
        );
        let e = Endpoint::new(None, true, None, "t").unwrap();
        assert!(unreachable_message(&e, "x").contains("(from --sandbox)"));
    }

    #[test]
    fn finishing_hints() {
        assert_eq!(finish_hint(0, None, FirstFix::Nothing), None);
        assert_eq!(
            finish_hint(
                2,
                Some(std::path::Path::new("l.txt")),
                FirstFix::Reachability
            )
            .as_deref(),
            Some(
                "  to finish: once the API can be reached, rerun the same command with -f l.txt in place of the input (2 unconfirmed IDs)\n"
            )
        );
        assert!(
            finish_hint(2, None, FirstFix::Credentials)
                .unwrap()
                .starts_with("  to finish: once the credentials are accepted, rerun")
        );
        assert_eq!(
            finish_hint(3, Some(std::path::Path::new("left.txt")), FirstFix::Nothing).as_deref(),
            Some(
                "  to finish: rerun the same command with -f left.txt in place of the input (3 unconfirmed IDs)\n"
            )
        );
        assert_eq!(
            finish_hint(
                1,
                Some(std::path::Path::new("my dir/it's.txt")),
                FirstFix::Nothing
            )
            .as_deref(),
            Some(
                "  to finish: rerun the same command with -f 'my dir/it'\\''s.txt' in place of the input (1 unconfirmed ID)\n"
            )
        );
        assert!(
            finish_hint(5, None, FirstFix::Nothing)
                .unwrap()
                .contains("add --failed-ids PATH next time")
        );
    }
}
