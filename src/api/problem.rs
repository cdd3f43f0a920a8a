//! RFC 7807 problem details: parsed leniently from whatever the server (or a
//! proxy in front of it) sent, and rendered safely for a terminal.

use serde::Serialize;
use serde_json::Value;

use crate::text::clean;

const MAX_TITLE: usize = 200;
const MAX_DETAIL: usize = 1000;
const MAX_FIELDS: usize = 1000;
const MAX_EXCERPT: usize = 200;

/// One entry of `invalidFields`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvalidField {
    /// The field, e.g. `customerIds.17`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// A problem, from a response or from the network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The HTTP status; `None` when no response arrived.
    pub status: Option<u16>,
    /// The problem type URI.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// A short summary.
    pub title: String,
    /// This occurrence's explanation.
    pub detail: Option<String>,
    /// This occurrence's URI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// The fields the server rejected (422).
    #[serde(rename = "invalidFields")]
    pub invalid_fields: Vec<InvalidField>,
}

impl Problem {
    /// A problem with no response behind it (timeout, refused connection).
    pub fn network(title: &str, detail: String) -> Problem {
        Problem {
            status: None,
            kind: None,
            title: title.to_string(),
            detail: Some(clean(&detail, MAX_DETAIL)),
            instance: None,
            invalid_fields: Vec::new(),
        }
    }

    /// Reads a problem from an error response. Never fails: a body that is not
    /// a JSON object (a proxy's HTML page, nothing at all) becomes the
    /// status's reason and a short, sanitised excerpt.
    pub fn from_response(status: u16, content_type: Option<&str>, body: &[u8]) -> Problem {
        let reason = reqwest::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Unexpected status")
            .to_string();
        let looks_json = content_type.is_some_and(|c| c.to_ascii_lowercase().contains("json"))
            || body.trim_ascii_start().starts_with(b"{");
        if looks_json && let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) {
            let text =
                |key: &str, max: usize| map.get(key).and_then(scalar).map(|s| clean(&s, max));
            return Problem {
                status: Some(status),
                kind: text("type", MAX_TITLE),
                title: text("title", MAX_TITLE)
                    .filter(|t| !t.is_empty())
                    .unwrap_or(reason),
                detail: text("detail", MAX_DETAIL).filter(|d| !d.is_empty()),
                instance: text("instance", MAX_TITLE),
                invalid_fields: map
                    .get("invalidFields")
                    .map(invalid_fields)
                    .unwrap_or_default(),
            };
        }
        Problem {
            status: Some(status),
            kind: None,
            title: reason,
            detail: excerpt(body),
            instance: None,
            invalid_fields: Vec::new(),
        }
    }

    /// Replaces every occurrence of `secret` in the text with `***`.
    pub fn redact(&mut self, secret: &str) {
        if secret.is_empty() {
            return;
        }
        let scrub = |s: &mut String| {
            if s.contains(secret) {
                *s = s.replace(secret, "***");
            }
        };
        scrub(&mut self.title);
        for s in [&mut self.kind, &mut self.detail, &mut self.instance]
            .into_iter()
            .flatten()
        {
            scrub(s);
        }
        for f in &mut self.invalid_fields {
            scrub(&mut f.field);
            scrub(&mut f.message);
        }
    }

    /// `status title`, the first line of [`Problem::render`].
    pub fn headline(&self) -> String {
        match self.status {
            Some(s) => format!("{s} {}", self.title),
            None => self.title.clone(),
        }
    }

    /// The lines for standard error: `status title`, then the detail, each
    /// invalid field as `field: message`, then type and instance.
    pub fn render(&self) -> Vec<String> {
        let mut lines = vec![self.headline()];
        if let Some(d) = &self.detail {
            lines.push(d.clone());
        }
        for f in &self.invalid_fields {
            lines.push(format!("{}: {}", f.field, f.message));
        }
        if let Some(t) = &self.kind {
            lines.push(format!("type: {t}"));
        }
        if let Some(i) = &self.instance {
            lines.push(format!("instance: {i}"));
        }
        lines
    }
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn invalid_fields(v: &Value) -> Vec<InvalidField> {
    let make = |field: String, message: String| InvalidField {
        field: clean(&field, MAX_TITLE),
        message: clean(&message, MAX_DETAIL),
    };
    match v {
        Value::Array(items) => items
            .iter()
            .take(MAX_FIELDS)
            .filter_map(|item| match item {
                Value::Object(o) => Some(make(
                    o.get("field").and_then(scalar).unwrap_or_default(),
                    o.get("message").and_then(scalar).unwrap_or_default(),
                )),
                other => scalar(other).map(|m| make(String::new(), m)),
            })
            .collect(),
        // Some servers send {"field": "message"}.
        Value::Object(o) => o
            .iter()
            .take(MAX_FIELDS)
            .map(|(k, v)| make(k.clone(), scalar(v).unwrap_or_default()))
            .collect(),
        _ => Vec::new(),
    }
}

/// The readable text of a non-JSON body: tags removed, whitespace collapsed.
fn excerpt(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let mut plain = String::new();
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                plain.push(' ');
            }
            _ if !in_tag => plain.push(c),
            _ => {}
        }
    }
    let cleaned = clean(&plain, MAX_EXCERPT);
    (!cleaned.is_empty()).then_some(cleaned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_validation_problem() {
        let body = br#"{"type":"https://api.rebilly.com/errors/validation","title":"Invalid data","status":422,"detail":"Bad ids","instance":"/x/1","invalidFields":[{"field":"customerIds.2","message":"Customer not found"}]}"#;
        let p = Problem::from_response(422, Some("application/problem+json"), body);
        assert_eq!(
            p.render(),
            [
                "422 Invalid data",
                "Bad ids",
                "customerIds.2: Customer not found",
                "type: https://api.rebilly.com/errors/validation",
                "instance: /x/1"
            ]
        );
    }

    #[test]
    fn html_and_empty_bodies_become_a_status_line_and_excerpt() {
        let p = Problem::from_response(
            502,
            Some("text/html"),
            b"<html><head><title>502 Bad Gateway</title></head><body><h1>Bad   Gateway</h1></body></html>",
        );
        assert_eq!(p.title, "Bad Gateway");
        assert_eq!(p.detail.as_deref(), Some("502 Bad Gateway Bad Gateway"));
        let p = Problem::from_response(503, None, b"");
        assert_eq!(p.render(), ["503 Service Unavailable"]);
    }

    #[test]
    fn an_echoed_secret_is_redacted() {
        let body = br#"{"title":"Bad key sk_1","detail":"API key sk_1 is revoked","instance":"/k/sk_1","invalidFields":[{"field":"sk_1","message":"sk_1!"}]}"#;
        let mut p = Problem::from_response(401, Some("application/json"), body);
        p.redact("sk_1");
        assert!(!format!("{p:?}").contains("sk_1"), "{p:?}");
        assert_eq!(p.detail.as_deref(), Some("API key *** is revoked"));
    }

    #[test]
    fn hostile_shapes_are_rendered_safely() {
        let detail = "x".repeat(5000);
        let body = format!(
            r#"{{"title":"\u001b[2J\u001b]0;pwned\u0007Boom","status":"500","detail":"{detail}","invalidFields":"nope","instance":12}}"#
        );
        let p = Problem::from_response(500, Some("application/json"), body.as_bytes());
        assert_eq!(p.title, "[2J]0;pwnedBoom");
        assert!(!p.render().concat().contains('\u{1b}'));
        assert_eq!(p.detail.as_ref().unwrap().chars().count(), MAX_DETAIL + 1);
        assert_eq!(p.instance.as_deref(), Some("12"));
        assert!(p.invalid_fields.is_empty());
        let p = Problem::from_response(422, Some("application/json"), b"[1,2]");
        assert_eq!(p.title, "Unprocessable Entity");
        let p = Problem::from_response(
            422,
            Some("application/json"),
            br#"{"title":"t","invalidFields":{"tag":"bad"}}"#,
        );
        assert_eq!(
            p.invalid_fields,
            [InvalidField {
                field: "tag".into(),
                message: "bad".into()
            }]
        );
    }
}
