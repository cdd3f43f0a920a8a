//! Building the one URL a job talks to, and deciding whether it is safe to
//! send credentials there.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use url::{Host, Url};

use crate::exit::Fatal;

/// The live API host.
pub const LIVE: &str = "https://api.rebilly.com";
/// The sandbox API host.
pub const SANDBOX: &str = "https://api-sandbox.rebilly.com";

/// Everything but RFC 3986's unreserved characters is encoded, so a tag such
/// as `a+b c` reaches the server as `a%2Bb%20c` and no proxy can misread it.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Where the base URL came from, so that an error can say what to change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlSource {
    /// `--api-url`.
    Flag,
    /// `REBILLY_API_URL`.
    Environment,
    /// `--sandbox` (or `REBILLY_SANDBOX`).
    Sandbox,
    /// Nothing was given: live.
    Default,
}

impl UrlSource {
    /// The knob a user turns to change it.
    pub fn name(self) -> &'static str {
        match self {
            UrlSource::Flag => "--api-url",
            UrlSource::Environment => "REBILLY_API_URL",
            UrlSource::Sandbox => "--sandbox",
            UrlSource::Default => "the default (live)",
        }
    }
}

/// Which Rebilly environment a base URL is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    /// The live host: real customers.
    Live,
    /// The sandbox host.
    Sandbox,
    /// Another host (a mock, a proxy).
    Other,
}

impl Environment {
    /// How prompts and hints name it.
    pub fn label(self) -> &'static str {
        match self {
            Environment::Live => "LIVE",
            Environment::Sandbox => "sandbox",
            Environment::Other => "not a Rebilly host",
        }
    }
}

/// The collection endpoint `{base}[/organizations/{org}]/tags/{tag}/customers`.
#[derive(Debug, Clone)]
pub struct Endpoint {
    url: Url,
    /// `{base}[/organizations/{org}]`, without any user:password part.
    base: String,
    source: UrlSource,
}

impl Endpoint {
    /// Builds the endpoint from the connection options; `--api-url` is
    /// taken to come from the flag.
    pub fn new(
        api_url: Option<&str>,
        sandbox: bool,
        organization: Option<&str>,
        tag: &str,
    ) -> Result<Endpoint, Fatal> {
        Endpoint::from_source(api_url, UrlSource::Flag, sandbox, organization, tag)
    }

    /// Builds the endpoint; `api_source` says where `api_url` came from
    /// (the flag or the environment), for the messages.
    pub fn from_source(
        api_url: Option<&str>,
        api_source: UrlSource,
        sandbox: bool,
        organization: Option<&str>,
        tag: &str,
    ) -> Result<Endpoint, Fatal> {
        let (base, source) = match api_url.map(str::trim) {
            Some(u) if !u.is_empty() => (u, api_source),
            _ if sandbox => (SANDBOX, UrlSource::Sandbox),
            _ => (LIVE, UrlSource::Default),
        };
        let what = source.name();
        let shown = crate::text::printable(&hide_userinfo(base), 100);
        if !base.contains("://") {
            // `127.0.0.1:8080` is a relative URL, `localhost:8080` one with
            // the scheme "localhost": both mean a missing scheme.
            return Err(Fatal::usage(format!(
                "{what} '{shown}' has no scheme: try 'https://{shown}' (or 'http://{shown}' for a local server)"
            )));
        }
        let mut url = Url::parse(base)
            .map_err(|e| Fatal::usage(format!("{what} '{shown}' is not a valid URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Fatal::usage(format!(
                "{what} '{shown}' must start with https:// (or http:// for a local server)"
            )));
        }
        if url.host().is_none() {
            return Err(Fatal::usage(format!("{what} '{shown}' has no host")));
        }
        let mut path = url.path().trim_end_matches('/').to_string();
        if let Some(org) = organization.map(str::trim).filter(|o| !o.is_empty()) {
            path.push_str("/organizations/");
            path.extend(utf8_percent_encode(org, SEGMENT));
        }
        url.set_fragment(None);
        url.set_query(None);
        let mut base_url = url.clone();
        base_url.set_path(&path);
        let base = redacted(&base_url).trim_end_matches('/').to_string();
        path.push_str("/tags/");
        path.extend(utf8_percent_encode(tag, SEGMENT));
        path.push_str("/customers");
        url.set_path(&path);
        Ok(Endpoint { url, base, source })
    }

    /// The base URL (with the organization), for the summary and prompts:
    /// never a credential.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Where the base URL came from.
    pub fn source(&self) -> UrlSource {
        self.source
    }

    /// Live, sandbox or another host, by the host itself (an `--api-url`
    /// of `https://api.rebilly.com` is live too).
    pub fn environment(&self) -> Environment {
        match self
            .url
            .host_str()
            .map(|h| h.trim_end_matches('.').to_ascii_lowercase())
        {
            Some(h) if h == "api.rebilly.com" => Environment::Live,
            Some(h) if h == "api-sandbox.rebilly.com" => Environment::Sandbox,
            _ => Environment::Other,
        }
    }

    /// The host (and port, when not the scheme's default), for hints.
    pub fn host(&self) -> String {
        match (self.url.host_str(), self.url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            _ => "?".to_string(),
        }
    }

    /// The URL to send to.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The URL for messages: any user:password part is hidden.
    pub fn display(&self) -> String {
        redacted(&self.url)
    }

    /// Whether the host is this machine.
    pub fn is_loopback(&self) -> bool {
        is_loopback(&self.url)
    }

    /// Refuses to send credentials in clear text across a network.
    pub fn check_transport(&self, allow_insecure_http: bool) -> Result<(), Fatal> {
        if self.url.scheme() == "http" && !self.is_loopback() && !allow_insecure_http {
            return Err(Fatal::usage(format!(
                "refusing to send credentials over plain http:// to {}; use https:// or --allow-insecure-http",
                self.url.host_str().unwrap_or("?")
            )));
        }
        Ok(())
    }
}

/// The text of a URL, perhaps unparseable, with anything between `://` and
/// an `@` before the path hidden: it may be a password.
fn hide_userinfo(text: &str) -> String {
    let Some(scheme_end) = text.find("://").map(|i| i + 3) else {
        return text.to_string();
    };
    let authority_end = text[scheme_end..]
        .find(['/', '?', '#'])
        .map_or(text.len(), |i| scheme_end + i);
    match text[scheme_end..authority_end].rfind('@') {
        Some(at) => format!("{}***{}", &text[..scheme_end], &text[scheme_end + at..]),
        None => text.to_string(),
    }
}

/// A URL without its user:password part.
pub fn redacted(url: &Url) -> String {
    if url.username().is_empty() && url.password().is_none() {
        return url.to_string();
    }
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.to_string()
}

/// Whether the URL's host is a loopback address or `localhost`.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        // Only the name itself: `*.localhost` may be resolved by DNS here.
        Some(Host::Domain(d)) => d.trim_end_matches('.').eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Same scheme, host and port: the only places a redirect may lead.
pub fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host() == b.host()
        && a.port_or_known_default() == b.port_or_known_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(api: Option<&str>, sandbox: bool, org: Option<&str>, tag: &str) -> String {
        Endpoint::new(api, sandbox, org, tag)
            .unwrap()
            .url()
            .to_string()
    }

    #[test]
    fn hosts_organizations_and_prefixes() {
        assert_eq!(
            url(None, false, None, "VIP"),
            "https://api.rebilly.com/tags/VIP/customers"
        );
        assert_eq!(
            url(None, true, Some("org-1"), "VIP"),
            "https://api-sandbox.rebilly.com/organizations/org-1/tags/VIP/customers"
        );
        assert_eq!(
            url(
                Some("http://127.0.0.1:9/proxy/v1/"),
                false,
                Some("o"),
                "VIP"
            ),
            "http://127.0.0.1:9/proxy/v1/organizations/o/tags/VIP/customers"
        );
        assert_eq!(
            url(Some("http://localhost:9"), true, None, "x"),
            "http://localhost:9/tags/x/customers"
        );
    }

    #[test]
    fn base_source_and_environment() {
        let e = Endpoint::new(None, false, Some("org 1"), "VIP").unwrap();
        assert_eq!(e.base(), "https://api.rebilly.com/organizations/org%201");
        assert_eq!(
            (e.source(), e.environment()),
            (UrlSource::Default, Environment::Live)
        );
        let e = Endpoint::new(None, true, None, "VIP").unwrap();
        assert_eq!(e.base(), "https://api-sandbox.rebilly.com");
        assert_eq!(
            (e.source(), e.environment()),
            (UrlSource::Sandbox, Environment::Sandbox)
        );
        let e = Endpoint::from_source(
            Some("http://u:pw@127.0.0.1:9/p/"),
            UrlSource::Environment,
            true,
            None,
            "t",
        )
        .unwrap();
        assert_eq!(e.base(), "http://127.0.0.1:9/p");
        assert_eq!(
            (e.source(), e.environment()),
            (UrlSource::Environment, Environment::Other)
        );
        assert_eq!(e.host(), "127.0.0.1:9");
    }

    #[test]
    fn a_url_without_a_scheme_suggests_one() {
        for (given, source, want) in [
            (
                "127.0.0.1:8080",
                UrlSource::Flag,
                "--api-url '127.0.0.1:8080' has no scheme: try 'https://127.0.0.1:8080' (or 'http://127.0.0.1:8080' for a local server)",
            ),
            (
                "localhost:8080/x",
                UrlSource::Environment,
                "REBILLY_API_URL 'localhost:8080/x' has no scheme: try 'https://localhost:8080/x' (or 'http://localhost:8080/x' for a local server)",
            ),
        ] {
            let e = Endpoint::from_source(Some(given), source, false, None, "t").unwrap_err();
            assert_eq!(e.message, want);
        }
    }

    #[test]
    fn tags_are_percent_encoded() {
        assert_eq!(
            url(Some("http://127.0.0.1"), false, None, "Big Spender+1@x"),
            "http://127.0.0.1/tags/Big%20Spender%2B1%40x/customers"
        );
    }

    #[test]
    fn plain_http_only_to_loopback() {
        let e = |u: &str| Endpoint::new(Some(u), false, None, "t").unwrap();
        assert!(e("http://127.0.0.5:1").check_transport(false).is_ok());
        assert!(e("http://[::1]:1").check_transport(false).is_ok());
        assert!(e("http://localhost").check_transport(false).is_ok());
        assert!(e("http://foo.localhost").check_transport(false).is_err());
        assert!(e("http://example.com").check_transport(false).is_err());
        assert!(e("http://example.com").check_transport(true).is_ok());
        assert!(e("https://example.com").check_transport(false).is_ok());
        assert!(Endpoint::new(Some("ftp://x"), false, None, "t").is_err());
        assert!(Endpoint::new(Some("not a url"), false, None, "t").is_err());
    }

    #[test]
    fn a_password_in_a_bad_url_is_not_echoed() {
        let e = Endpoint::new(Some("ftp://u:hunter2@host/x"), false, None, "t").unwrap_err();
        assert!(!e.message.contains("hunter2"), "{}", e.message);
        let e = Endpoint::new(Some("https://u:hunter2@[bad/x"), false, None, "t").unwrap_err();
        assert!(!e.message.contains("hunter2"), "{}", e.message);
        assert_eq!(hide_userinfo("http://a/b@c"), "http://a/b@c");
    }

    #[test]
    fn userinfo_is_hidden_and_origins_compared() {
        let e = Endpoint::new(Some("https://u:p@example.com"), false, None, "t").unwrap();
        assert!(!e.display().contains("u:p"));
        let a = Url::parse("https://a.com/x").unwrap();
        assert!(same_origin(&a, &Url::parse("https://a.com:443/y").unwrap()));
        assert!(!same_origin(&a, &Url::parse("http://a.com/x").unwrap()));
        assert!(!same_origin(&a, &Url::parse("https://b.com/x").unwrap()));
        assert!(!same_origin(
            &a,
            &Url::parse("https://a.com:8443/x").unwrap()
        ));
    }
}
