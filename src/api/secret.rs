//! Credentials, wrapped so that no formatting path can print them.

use reqwest::header::{AUTHORIZATION, HeaderName, HeaderValue};

use crate::exit::Fatal;

/// A secret string: `Debug` and `Display` print `***`. The only way to the
/// value is [`Secret::expose`], called only to check it and to build the
/// request header.
///
/// ```
/// let key = tagctl::api::Secret::new("sk_live_abc");
/// assert_eq!(format!("{key} {key:?}"), "*** Secret(***)");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value, for the request header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    /// Lets the command line parse straight into a `Secret`, so that not
    /// even the parsed arguments' `Debug` holds the key in clear.
    fn from_str(s: &str) -> Result<Secret, Self::Err> {
        Ok(Secret::new(s))
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// How requests authenticate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// A secret API key, sent as `REB-APIKEY`.
    ApiKey(Secret),
    /// A JWT, sent as `Authorization: Bearer`.
    Jwt(Secret),
}

/// Where the credentials were found; a flag draws a warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialSource {
    /// `--api-key` or `--jwt` on the command line.
    Flag(&'static str),
    /// `--api-key-file`.
    File,
    /// `REBILLY_API_KEY` or `REBILLY_JWT`.
    Environment,
}

impl Credentials {
    /// The request header, marked sensitive so that even the HTTP stack's own
    /// `Debug` output hides it.
    pub fn header(&self) -> Result<(HeaderName, HeaderValue), Fatal> {
        let (name, value, what) = match self {
            Credentials::ApiKey(s) => (
                HeaderName::from_static("reb-apikey"),
                s.expose().to_string(),
                "the API key",
            ),
            Credentials::Jwt(s) => (AUTHORIZATION, format!("Bearer {}", s.expose()), "the JWT"),
        };
        let mut value = HeaderValue::from_str(&value).map_err(|_| {
            Fatal::usage(format!(
                "{what} contains characters that cannot be sent in an HTTP header"
            ))
        })?;
        value.set_sensitive(true);
        Ok((name, value))
    }
}

/// The credential options of the command line.
#[derive(Debug, Default, Clone)]
pub struct CredentialArgs {
    /// `--api-key`.
    pub api_key: Option<Secret>,
    /// `--api-key-file`.
    pub api_key_file: Option<std::path::PathBuf>,
    /// `--jwt`.
    pub jwt: Option<Secret>,
}

impl CredentialSource {
    /// Where the credential came from, as the user would name it: for a
    /// hint after the API refused it.
    pub fn describe(self, credentials: &Credentials) -> &'static str {
        match (self, credentials) {
            (CredentialSource::Flag(flag), _) => flag,
            (CredentialSource::File, _) => "--api-key-file",
            (CredentialSource::Environment, Credentials::ApiKey(_)) => "REBILLY_API_KEY",
            (CredentialSource::Environment, Credentials::Jwt(_)) => "REBILLY_JWT",
        }
    }
}

/// Finds the credentials: flags first (at most one of them), then
/// `REBILLY_API_KEY`, then `REBILLY_JWT`. `Ok(None)` when there are none.
/// `warn` hears (once) about a key file others can read.
pub fn resolve(
    args: CredentialArgs,
    env: impl Fn(&str) -> Option<String>,
    warn: &mut dyn FnMut(String),
) -> Result<Option<(Credentials, CredentialSource)>, Fatal> {
    let given = [
        args.api_key.is_some(),
        args.api_key_file.is_some(),
        args.jwt.is_some(),
    ];
    if given.iter().filter(|&&g| g).count() > 1 {
        return Err(Fatal::usage(
            "give only one of --api-key, --api-key-file and --jwt",
        ));
    }
    let non_empty = |s: String, what: &str| {
        let s = s.trim().to_string();
        if s.is_empty() {
            Err(Fatal::usage(format!("{what} is empty")))
        } else {
            Ok(s)
        }
    };
    if let Some(key) = args.api_key {
        let key = non_empty(key.expose().to_string(), "--api-key")?;
        return Ok(Some((
            Credentials::ApiKey(Secret::new(key)),
            CredentialSource::Flag("--api-key"),
        )));
    }
    if let Some(path) = args.api_key_file {
        let (name, text) = read_key_file(&path, warn)?;
        let key = key_from_text(&text).ok_or_else(|| {
            Fatal::usage(format!("--api-key-file: the first line of {name} is empty"))
        })?;
        return Ok(Some((
            Credentials::ApiKey(Secret::new(key)),
            CredentialSource::File,
        )));
    }
    if let Some(jwt) = args.jwt {
        let jwt = non_empty(jwt.expose().to_string(), "--jwt")?;
        return Ok(Some((
            Credentials::Jwt(Secret::new(jwt)),
            CredentialSource::Flag("--jwt"),
        )));
    }
    let from_env = |name: &str| {
        env(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    if let Some(key) = from_env("REBILLY_API_KEY") {
        return Ok(Some((
            Credentials::ApiKey(Secret::new(key)),
            CredentialSource::Environment,
        )));
    }
    if let Some(jwt) = from_env("REBILLY_JWT") {
        return Ok(Some((
            Credentials::Jwt(Secret::new(jwt)),
            CredentialSource::Environment,
        )));
    }
    Ok(None)
}

/// Whether `--api-key-file` names standard input.
pub fn is_stdin(path: &std::path::Path) -> bool {
    path.as_os_str() == "-"
}

/// The key in a key file's text: its first line, without a UTF-8
/// byte-order mark (Notepad writes one) or surrounding whitespace.
pub fn key_from_text(text: &str) -> Option<String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first = text.lines().next().unwrap_or("").trim();
    (!first.is_empty()).then(|| first.to_string())
}

/// Reads the key file (`-`: standard input), warning when a regular file
/// is readable by group or others. Returns the name for messages and the
/// text.
fn read_key_file(
    path: &std::path::Path,
    warn: &mut dyn FnMut(String),
) -> Result<(String, String), Fatal> {
    use std::io::Read;
    if is_stdin(path) {
        let mut text = String::new();
        std::io::stdin()
            .lock()
            .take(64 * 1024)
            .read_to_string(&mut text)
            .map_err(|e| {
                Fatal::usage(format!(
                    "--api-key-file -: cannot read standard input: {}",
                    crate::ids::read::io_message(&e)
                ))
            })?;
        return Ok(("standard input".into(), text));
    }
    let name = crate::text::printable(&path.to_string_lossy(), 200);
    let text = std::fs::read_to_string(path).map_err(|e| {
        Fatal::usage(format!(
            "--api-key-file: cannot read {name}: {}",
            crate::ids::read::io_message(&e)
        ))
    })?;
    #[cfg(unix)]
    if let Ok(meta) = std::fs::metadata(path) {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if meta.is_file() && mode & 0o044 != 0 {
            warn(format!(
                "--api-key-file {name} is readable by other users (mode {mode:03o}); run chmod 600 on it"
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = warn;
    Ok((name, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_format() {
        let c = Credentials::ApiKey(Secret::new("sk_live_123"));
        assert!(!format!("{c:?}").contains("sk_live"));
        assert_eq!(Secret::new("x").to_string(), "***");
        let (_, v) = c.header().unwrap();
        assert!(v.is_sensitive());
        assert!(!format!("{v:?}").contains("sk_live"));
    }

    #[test]
    fn flags_win_over_environment_and_conflict_with_each_other() {
        let env = |n: &str| (n == "REBILLY_JWT").then(|| "jwt-env".to_string());
        let args = CredentialArgs {
            api_key: Some(Secret::new("k")),
            ..Default::default()
        };
        let (c, src) = resolve(args, env, &mut |_| {}).unwrap().unwrap();
        assert_eq!(c, Credentials::ApiKey(Secret::new("k")));
        assert_eq!(src, CredentialSource::Flag("--api-key"));
        let (c, src) = resolve(CredentialArgs::default(), env, &mut |_| {})
            .unwrap()
            .unwrap();
        assert_eq!(c, Credentials::Jwt(Secret::new("jwt-env")));
        assert_eq!(src, CredentialSource::Environment);
        let both = CredentialArgs {
            api_key: Some(Secret::new("k")),
            jwt: Some(Secret::new("j")),
            ..Default::default()
        };
        assert!(resolve(both, env, &mut |_| {}).is_err());
        assert!(
            resolve(CredentialArgs::default(), |_| Some(" ".into()), &mut |_| {})
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn key_files_lose_a_bom_and_whitespace() {
        for (text, want) in [
            ("sk_1\n", Some("sk_1")),
            ("\u{feff}sk_1\r\n", Some("sk_1")),
            ("\u{feff}  sk_1  \nsecond line\n", Some("sk_1")),
            ("\n  sk_1\n", None),
            ("\u{feff}", None),
            ("  \n", None),
        ] {
            assert_eq!(key_from_text(text).as_deref(), want, "{text:?}");
        }
    }

    #[test]
    fn sources_are_named_for_hints() {
        let key = Credentials::ApiKey(Secret::new("k"));
        let jwt = Credentials::Jwt(Secret::new("j"));
        assert_eq!(
            CredentialSource::Environment.describe(&key),
            "REBILLY_API_KEY"
        );
        assert_eq!(CredentialSource::Environment.describe(&jwt), "REBILLY_JWT");
        assert_eq!(CredentialSource::File.describe(&key), "--api-key-file");
        assert_eq!(CredentialSource::Flag("--jwt").describe(&jwt), "--jwt");
    }

    #[test]
    fn a_key_that_cannot_be_a_header_is_refused_without_echo() {
        let err = Credentials::ApiKey(Secret::new("bad\nkey"))
            .header()
            .unwrap_err();
        assert!(!err.message.contains("bad"));
    }
}
