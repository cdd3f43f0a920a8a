//! The tag itself, before the first write: `--create-tag` reads it
//! (`GET {base}/tags/{tag}`) and creates it when it is missing
//! (`POST {base}/tags`), with the job's client, so the same credentials,
//! timeout and redirect policy apply. And the hint a write gets when the tag
//! is missing and `--create-tag` was not given.

use bytes::Bytes;
use reqwest::Method;

use super::client::{Client, Outcome, Reply};
use crate::exit::{Exit, Fatal};

/// What the pre-flight found or did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagCheck {
    /// The tag exists and is a customer tag.
    Exists,
    /// It did not exist; it was created (201).
    Created,
    /// It did not exist, and was created by someone else meanwhile (409).
    CreatedMeanwhile,
}

impl TagCheck {
    /// A line for standard error.
    pub fn describe(self, tag: &str) -> String {
        match self {
            TagCheck::Exists => format!("tag \"{tag}\" exists"),
            TagCheck::Created => format!("created the customer tag \"{tag}\""),
            TagCheck::CreatedMeanwhile => {
                format!("tag \"{tag}\" was created meanwhile by someone else")
            }
        }
    }
}

/// The hint shown under the error when a write is answered 404, or 422
/// about the tag, and `--create-tag` was not given: the runner's
/// [`decide`](crate::runner::decide) adds it to the message that stops the run.
pub const MISSING_TAG_HINT: &str = "hint: the tag may not exist; run again with --create-tag to create it (as a customer tag) first";

/// What `--dry-run --create-tag` says instead of sending.
pub fn dry_run_note(client: &Client) -> String {
    format!(
        "would check GET {} and, if it is missing (404), create it with POST {} {{\"name\": …, \"type\": \"customer\"}}",
        super::endpoint::redacted(&client.endpoint().tag_url()),
        super::endpoint::redacted(&client.endpoint().tags_url()),
    )
}

/// Reads the tag and creates it when it is missing. A tag of another type
/// is exit 2 (it belongs to other entities); 401/403 exit 4; anything else
/// unexpected is exit 1 with the problem, before any write.
pub async fn ensure_customer_tag(client: &Client, tag: &str) -> Result<TagCheck, Fatal> {
    let reply = client
        .call(Method::GET, client.endpoint().tag_url(), None)
        .await;
    match (&reply.outcome, reply.status) {
        (Outcome::Data { body, .. }, _) => match tag_type(body) {
            Some(kind) if kind == "customer" => Ok(TagCheck::Exists),
            Some(kind) => Err(Fatal::usage(format!(
                "the tag \"{tag}\" exists as a {kind} tag, not a customer tag: it cannot be assigned to customers"
            ))),
            None => Err(unexpected(tag, "read", &reply)),
        },
        (Outcome::Refused(_), Some(404)) => create(client, tag).await,
        _ => Err(refusal(tag, "read", &reply)),
    }
}

/// `POST {base}/tags` with `{"name": tag, "type": "customer"}`.
async fn create(client: &Client, tag: &str) -> Result<TagCheck, Fatal> {
    let body = serde_json::json!({ "name": tag, "type": "customer" }).to_string();
    let reply = client
        .call(
            Method::POST,
            client.endpoint().tags_url(),
            Some(Bytes::from(body)),
        )
        .await;
    match (&reply.outcome, reply.status) {
        (Outcome::Data { .. } | Outcome::Confirmed, Some(200..=299)) => Ok(TagCheck::Created),
        (Outcome::Refused(_), Some(409)) => Ok(TagCheck::CreatedMeanwhile),
        _ => Err(refusal(tag, "create", &reply)),
    }
}

/// The `type` of a Tag object, if the body is one.
fn tag_type(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    value.get("type")?.as_str().map(str::to_owned)
}

/// A refused pre-flight request: exit 4 for the credentials, 3 when the API
/// was not reached at all (it is the run's first request), else 1.
fn refusal(tag: &str, what: &str, reply: &Reply) -> Fatal {
    let exit = match &reply.outcome {
        Outcome::Unauthorized(_) => Exit::Auth,
        Outcome::Network(_) if reply.status.is_none() => Exit::Unreachable,
        _ => Exit::Incomplete,
    };
    let why = match &reply.outcome {
        Outcome::Redirect { location, .. } => format!("a redirect to {location} was refused"),
        Outcome::Network(p) => format!(
            "cannot reach the API ({}: {})",
            p.title,
            p.detail.as_deref().unwrap_or("no answer")
        ),
        outcome => outcome
            .problem()
            .map(|p| {
                let mut text = format!("the API answered {}", p.headline());
                if let Some(detail) = &p.detail {
                    text.push_str(": ");
                    text.push_str(detail.trim_end_matches('.'));
                }
                text
            })
            .unwrap_or_else(|| "unexpected answer".into()),
    };
    Fatal {
        exit,
        message: format!("--create-tag: cannot {what} the tag \"{tag}\": {why}; nothing was sent"),
    }
}

/// A 200 that is not a Tag.
fn unexpected(tag: &str, what: &str, reply: &Reply) -> Fatal {
    Fatal {
        exit: Exit::Incomplete,
        message: format!(
            "--create-tag: cannot {what} the tag \"{tag}\": the answer ({}) is not a tag; nothing was sent",
            reply.status.unwrap_or(0)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_types_are_read_from_tag_objects_only() {
        assert_eq!(
            tag_type(br#"{"name":"VIP","type":"customer"}"#).as_deref(),
            Some("customer")
        );
        assert_eq!(tag_type(br#"{"name":"VIP"}"#), None);
        assert_eq!(tag_type(b"[]"), None);
        assert_eq!(tag_type(b"<html>"), None);
    }
}
