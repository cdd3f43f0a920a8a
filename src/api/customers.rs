//! Reading customers back (`verify`): what one `GET /customers?filter=id:…`
//! answer says about each ID asked for. Pure, so every rule of safety is a
//! table test: an ID matches only when the server returned that very
//! customer with (or without) the tag; a customer not asked for means the
//! filter was ignored; anything not shaped like the definitions is unchecked,
//! never matching.

use std::borrow::Cow;
use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;

use crate::ids::IdList;

/// What one ID came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Returned, with the tag (`present`) or without it (`absent`).
    Matching,
    /// Returned, but not as expected (yet).
    Missing,
    /// Asked for and not returned: no such customer.
    NotFound,
    /// Not checked: the answer was not usable for this ID.
    Unchecked,
}

/// What an answer as a whole says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// One fate per ID asked, in the order asked.
    Fates(Vec<Fate>),
    /// The server returned a customer that was not asked for: it ignored the
    /// filter, so nothing it says can be trusted.
    Foreign(String),
    /// Not a JSON array of customers: every ID is unchecked.
    Malformed(String),
}

/// Judges the body of a 200 to a read of `asked`. `total` is the
/// `Pagination-Total` header: when it says more customers matched than came
/// back, the IDs not returned are unchecked rather than not found.
pub fn judge(body: &[u8], asked: &IdList, tag: &str, present: bool, total: Option<u64>) -> Verdict {
    let wanted = tag.to_lowercase();
    // The usual answer parses into borrowed, typed customers, skipping every
    // other field; anything odder takes the slower path, which tells the
    // customers it cannot use one by one. Both reach the same verdicts.
    if let Ok(fast) = serde_json::from_slice::<Vec<Fast<'_>>>(body) {
        let items = fast.iter().map(|c| {
            let carries = c.tags.as_ref().and_then(|tags| {
                let mut found = false;
                for t in tags {
                    found |= same_name(t.name.as_deref()?, &wanted);
                }
                Some(found)
            });
            (c.id.as_deref(), carries)
        });
        return fates_of(items, asked, present, total);
    }
    let items = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(items)) => items,
        Ok(_) => return Verdict::Malformed("the answer is not a JSON array".into()),
        Err(e) => return Verdict::Malformed(format!("the answer is not JSON ({e})")),
    };
    let items = items.iter().map(|item| {
        let id = item.get("id").and_then(Value::as_str);
        (id, carries(item, &wanted))
    });
    fates_of(items, asked, present, total)
}

/// A customer as the fast path reads it: only `id` and the tags' names.
#[derive(Deserialize)]
struct Fast<'a> {
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    tags: Option<Vec<FastTag<'a>>>,
}

/// A tag as the fast path reads it.
#[derive(Deserialize)]
struct FastTag<'a> {
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
}

/// Tag names compare case-insensitively (`wanted` is lower-cased already).
fn same_name(name: &str, wanted: &str) -> bool {
    if name.is_ascii() && wanted.is_ascii() {
        name.eq_ignore_ascii_case(wanted)
    } else {
        name.to_lowercase() == wanted
    }
}

/// The fates of `asked` from the returned customers: each one's ID (`None`
/// when it has none) and whether it carries the tag (`None` when its `tags`
/// are not usable).
fn fates_of<'a>(
    items: impl ExactSizeIterator<Item = (Option<&'a str>, Option<bool>)>,
    asked: &IdList,
    present: bool,
    total: Option<u64>,
) -> Verdict {
    let returned = items.len() as u64;
    // An ID asked twice (`--no-dedupe`) shares its first position's fate.
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(asked.len());
    for (i, id) in asked.iter().enumerate() {
        index.entry(id).or_insert(i);
    }
    let mut fates: Vec<Option<Fate>> = vec![None; asked.len()];
    for (id, carries) in items {
        let Some(id) = id else {
            return Verdict::Malformed("a customer has no \"id\"".into());
        };
        let Some(&i) = index.get(id) else {
            return Verdict::Foreign(id.to_owned());
        };
        let fate = match carries {
            None => Fate::Unchecked,
            Some(has) if has == present => Fate::Matching,
            Some(_) => Fate::Missing,
        };
        // The same customer twice must say the same thing twice.
        fates[i] = match fates[i] {
            None => Some(fate),
            Some(before) if before == fate => Some(fate),
            Some(_) => Some(Fate::Unchecked),
        };
    }
    let absent = if total.is_some_and(|t| t > returned) {
        Fate::Unchecked
    } else {
        Fate::NotFound
    };
    Verdict::Fates(
        asked
            .iter()
            .map(|id| fates[index[id]].unwrap_or(absent))
            .collect(),
    )
}

/// Whether a customer object's `tags` holds `wanted` (lower-cased); `None`
/// when `tags` is missing or not an array of objects with a string `name`.
fn carries(customer: &Value, wanted: &str) -> Option<bool> {
    let tags = customer.get("tags")?.as_array()?;
    let mut found = false;
    for tag in tags {
        found |= same_name(tag.get("name")?.as_str()?, wanted);
    }
    Some(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Fate::*;

    fn asked(ids: &[&str]) -> IdList {
        ids.iter().copied().collect()
    }

    fn fates(body: &str, present: bool, total: Option<u64>) -> Verdict {
        judge(
            body.as_bytes(),
            &asked(&["a", "b", "c"]),
            "Big Spender",
            present,
            total,
        )
    }

    #[test]
    fn each_id_gets_its_fate() {
        let body = r#"[
            {"id":"a","tags":[{"name":"big spender","type":"customer"}]},
            {"id":"b","tags":[{"name":"Other","type":"customer"}]}
        ]"#;
        let cases = [
            (true, None, vec![Matching, Missing, NotFound]),
            (false, None, vec![Missing, Matching, NotFound]),
            (true, Some(2), vec![Matching, Missing, NotFound]),
            (true, Some(3), vec![Matching, Missing, Unchecked]),
        ];
        for (present, total, want) in cases {
            assert_eq!(
                fates(body, present, total),
                Verdict::Fates(want),
                "{present} {total:?}"
            );
        }
    }

    #[test]
    fn anything_not_shaped_like_a_customer_is_unchecked() {
        let cases = [
            (r#"[{"id":"a"}]"#, vec![Unchecked, NotFound, NotFound]),
            (
                r#"[{"id":"a","tags":null}]"#,
                vec![Unchecked, NotFound, NotFound],
            ),
            (
                r#"[{"id":"a","tags":["Big Spender"]}]"#,
                vec![Unchecked, NotFound, NotFound],
            ),
            (
                r#"[{"id":"a","tags":[{"type":"customer"}]}]"#,
                vec![Unchecked, NotFound, NotFound],
            ),
            (
                r#"[{"id":"a","tags":[]},{"id":"a","tags":[{"name":"BIG SPENDER"}]}]"#,
                vec![Unchecked, NotFound, NotFound],
            ),
            (
                r#"[{"id":"a","tags":[]},{"id":"a","tags":[]}]"#,
                vec![Missing, NotFound, NotFound],
            ),
            ("[]", vec![NotFound, NotFound, NotFound]),
        ];
        for (body, want) in cases {
            assert_eq!(fates(body, true, None), Verdict::Fates(want), "{body}");
        }
        for body in ["", "{", r#"{"id":"a"}"#, r#"[{"tags":[]}]"#, "<html>"] {
            assert!(
                matches!(fates(body, true, None), Verdict::Malformed(_)),
                "{body}"
            );
        }
    }

    #[test]
    fn an_id_asked_twice_gets_one_fate_twice() {
        let body = r#"[{"id":"a","tags":[{"name":"big spender"}]}]"#;
        assert_eq!(
            judge(
                body.as_bytes(),
                &asked(&["a", "b", "a"]),
                "Big Spender",
                true,
                None
            ),
            Verdict::Fates(vec![Matching, NotFound, Matching])
        );
    }

    #[test]
    fn a_customer_not_asked_for_means_the_filter_was_ignored() {
        let body = r#"[{"id":"a","tags":[{"name":"Big Spender"}]},{"id":"zz","tags":[]}]"#;
        assert_eq!(fates(body, true, None), Verdict::Foreign("zz".into()));
    }
}
