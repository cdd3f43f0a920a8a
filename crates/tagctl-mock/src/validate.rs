//! The OpenAPI excerpt's rules for tags, customer IDs and the request body.

use serde::{Deserialize, Serialize};

use super::config::InvalidFieldsStyle;

/// Most IDs one request may carry (`maxItems`).
pub const MAX_IDS_PER_REQUEST: usize = 1000;
/// Longest customer ID (`maxLength`).
pub const MAX_CUSTOMER_ID_LEN: usize = 50;

/// The customer-ID pattern, quoted in messages.
pub(crate) const CUSTOMER_ID_PATTERN: &str = r"^[@~\-\.\w]+$";
/// The tag pattern, quoted in messages.
pub(crate) const TAG_PATTERN: &str = r"^[@~\-\.\w\s+]+$";

/// One entry of a 422's `invalidFields`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct InvalidField {
    /// Field name in dot (or configured) notation.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl InvalidField {
    /// Builds an entry.
    pub(crate) fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// `[@~\-\.\w]` with ASCII `\w`.
fn is_id_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'@' | b'~' | b'-' | b'.')
}

/// Why `id` breaks the customer-ID rules, or `None` when it is valid.
pub(crate) fn customer_id_error(id: &str) -> Option<String> {
    if id.is_empty() || !id.bytes().all(is_id_byte) {
        Some(format!("Must match {CUSTOMER_ID_PATTERN}"))
    } else if id.len() > MAX_CUSTOMER_ID_LEN {
        // The pattern is ASCII-only, so bytes are characters here.
        Some(format!("Must be at most {MAX_CUSTOMER_ID_LEN} characters"))
    } else {
        None
    }
}

/// Whether `tag` matches the tag pattern (`\s` taken as ASCII whitespace, including VT).
pub(crate) fn is_valid_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.bytes().all(|b| {
            is_id_byte(b) || b == b'+' || matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
        })
}

/// The request body as the schema describes it; unknown members are ignored.
#[derive(Deserialize)]
struct TagBody {
    /// The IDs to (un)tag.
    #[serde(rename = "customerIds")]
    customer_ids: Vec<String>,
}

/// Reads `{"customerIds": [...]}`; on failure, says what is wrong in words a person can act on.
///
/// The count limits are not checked here (see [`check_count`]) so that the IDs of an
/// oversized batch can still be recorded.
pub(crate) fn parse_body(body: &[u8]) -> Result<Vec<String>, String> {
    match serde_json::from_slice::<TagBody>(body) {
        Ok(parsed) => Ok(parsed.customer_ids),
        Err(error) => Err(explain_body_error(body, &error)),
    }
}

/// Re-reads a body the typed parse refused, to name the actual problem.
fn explain_body_error(body: &[u8], error: &serde_json::Error) -> String {
    let value: serde_json::Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(_) if body.iter().all(u8::is_ascii_whitespace) => {
            return "Request body is empty; expected {\"customerIds\": [...]}".into();
        }
        Err(e) => return format!("Request body is not valid JSON: {e}"),
    };
    let Some(object) = value.as_object() else {
        return "Request body must be a JSON object".into();
    };
    match object.get("customerIds") {
        None => "customerIds is required".into(),
        Some(serde_json::Value::Array(items)) => {
            match items.iter().position(|item| !item.is_string()) {
                Some(i) => format!("customerIds must contain only strings (item {i} is not)"),
                None => format!("Request body does not match the schema: {error}"),
            }
        }
        Some(_) => "customerIds must be an array".into(),
    }
}

/// Checks `minItems`/`maxItems`.
pub(crate) fn check_count(ids: &[String]) -> Result<(), String> {
    match ids.len() {
        0 => Err("customerIds must contain at least 1 item".into()),
        n if n > MAX_IDS_PER_REQUEST => Err(format!(
            "customerIds must contain at most {MAX_IDS_PER_REQUEST} items (got {n})"
        )),
        _ => Ok(()),
    }
}

/// The `invalidFields` name of item `index` of `customerIds`.
pub(crate) fn id_field_name(style: InvalidFieldsStyle, index: usize) -> String {
    match style {
        InvalidFieldsStyle::Indexed => format!("customerIds.{index}"),
        InvalidFieldsStyle::Bracketed => format!("customerIds[{index}]"),
        InvalidFieldsStyle::Bare => "customerIds".into(),
    }
}

/// Finds every ID that is malformed or on the reject list and describes them in `style`;
/// empty when the whole batch is acceptable.
pub(crate) fn invalid_ids(
    ids: &[String],
    is_rejected: impl Fn(&str) -> bool,
    style: InvalidFieldsStyle,
) -> Vec<InvalidField> {
    let bad = ids.iter().enumerate().filter_map(|(i, id)| {
        customer_id_error(id)
            .or_else(|| is_rejected(id).then(|| "Customer not found".to_owned()))
            .map(|message| (i, message))
    });
    if style == InvalidFieldsStyle::Bare {
        // No index and no count: the client has to find the culprits itself.
        return match bad.count() {
            0 => Vec::new(),
            _ => vec![InvalidField::new(
                "customerIds",
                "Some customer IDs are invalid or were not found",
            )],
        };
    }
    bad.map(|(i, message)| InvalidField::new(id_field_name(style, i), message))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customer_ids() {
        for ok in ["cus_1", "a", "@~-._Z9", &"x".repeat(50)] {
            assert_eq!(customer_id_error(ok), None, "{ok}");
        }
        for bad in ["", "a b", "a/b", "é", "a+b", "a,b", "a\n"] {
            assert!(
                customer_id_error(bad).unwrap().starts_with("Must match"),
                "{bad:?}"
            );
        }
        assert_eq!(
            customer_id_error(&"x".repeat(51)).unwrap(),
            "Must be at most 50 characters"
        );
    }

    #[test]
    fn tags() {
        for ok in ["VIP", "Big Spender", "a+b", "tab\there", "@~-._"] {
            assert!(is_valid_tag(ok), "{ok:?}");
        }
        for bad in ["", "a/b", "ünï", "a,b", "a#b", "\u{FFFD}"] {
            assert!(!is_valid_tag(bad), "{bad:?}");
        }
    }

    #[test]
    fn bodies() {
        assert_eq!(
            parse_body(br#"{"customerIds":["a","b"],"extra":1}"#),
            Ok(vec!["a".to_owned(), "b".to_owned()])
        );
        let message = |body: &[u8]| parse_body(body).unwrap_err();
        assert!(message(b"").contains("empty"));
        assert!(message(b"{").contains("not valid JSON"));
        assert!(message(b"[]").contains("JSON object"));
        assert!(message(b"{}").contains("required"));
        assert!(message(br#"{"customerIds":"a"}"#).contains("must be an array"));
        assert!(message(br#"{"customerIds":null}"#).contains("must be an array"));
        assert!(message(br#"{"customerIds":["a",1]}"#).contains("item 1"));
    }

    #[test]
    fn counts() {
        assert!(check_count(&[]).is_err());
        assert!(check_count(&vec!["a".to_owned(); 1000]).is_ok());
        assert!(check_count(&vec!["a".to_owned(); 1001]).is_err());
    }

    #[test]
    fn invalid_field_styles() {
        let ids: Vec<String> = ["ok", "bad id", "ok2", "gone"].map(String::from).into();
        let rejected = |id: &str| id == "gone";
        let fields = invalid_ids(&ids, rejected, InvalidFieldsStyle::Indexed);
        assert_eq!(
            fields,
            vec![
                InvalidField::new("customerIds.1", format!("Must match {CUSTOMER_ID_PATTERN}")),
                InvalidField::new("customerIds.3", "Customer not found"),
            ]
        );
        let fields = invalid_ids(&ids, rejected, InvalidFieldsStyle::Bracketed);
        assert_eq!(fields[1].field, "customerIds[3]");
        let fields = invalid_ids(&ids, rejected, InvalidFieldsStyle::Bare);
        assert_eq!(fields.len(), 1);
        assert_eq!(fields[0].field, "customerIds");
        assert!(invalid_ids(&ids[..1], rejected, InvalidFieldsStyle::Bare).is_empty());
    }
}
