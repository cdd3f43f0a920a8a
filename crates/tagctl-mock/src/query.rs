//! The query string of a collection read: `limit`, `offset` (each 0 to 1000), `filter`
//! (`field:value,value;field:value`), `fields` and `sort`, as the OpenAPI excerpt
//! defines them.

use percent_encoding::percent_decode_str;

use super::validate::InvalidField;

/// Most items one page may hold, and the largest offset (both `maximum: 1000`).
pub const MAX_LIMIT: usize = 1000;
/// Items per page when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 100;

/// The query string's pairs, decoded as a form (`+` is a space, then `%XX`).
pub(crate) fn parse_query(query: Option<&str>) -> Vec<(String, String)> {
    let decode = |s: &str| {
        let spaced = s.replace('+', " ");
        percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
    };
    query
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(name), decode(value))
        })
        .collect()
}

/// One `field:value,value` clause: the item matches when its field equals any value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Clause {
    /// The field.
    pub field: String,
    /// The allowed values (OR).
    pub values: Vec<String>,
}

/// A parsed `filter`: every clause must match (AND).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Filter {
    /// The clauses.
    pub clauses: Vec<Clause>,
}

impl Filter {
    /// The values allowed for `field`, if a clause names it (the first such clause).
    pub(crate) fn values(&self, field: &str) -> Option<&[String]> {
        self.clauses
            .iter()
            .find(|c| c.field == field)
            .map(|c| c.values.as_slice())
    }
}

/// Reads `field:value,value;field:value`; `known` lists the fields this collection can
/// be filtered on.
pub(crate) fn parse_filter(text: &str, known: &[&str]) -> Result<Filter, String> {
    let mut filter = Filter::default();
    for clause in text.split(';').map(str::trim).filter(|c| !c.is_empty()) {
        let (field, values) = clause
            .split_once(':')
            .ok_or_else(|| format!("`{clause}` is not field:value"))?;
        let field = field.trim();
        if !known.contains(&field) {
            return Err(format!(
                "cannot filter on `{field}`; known fields: {}",
                known.join(", ")
            ));
        }
        let values: Vec<String> = values
            .split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .collect();
        if values.is_empty() {
            return Err(format!("`{field}` has no value"));
        }
        filter.clauses.push(Clause {
            field: field.to_owned(),
            values,
        });
    }
    Ok(filter)
}

/// What a collection read asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Collection {
    /// Page size.
    pub limit: usize,
    /// Items skipped.
    pub offset: usize,
    /// The filter (empty when none).
    pub filter: Filter,
    /// The fields to return (`id` always is); `None` = all.
    pub fields: Option<Vec<String>>,
    /// `sort=-…`: newest (here: highest ID) first.
    pub descending: bool,
}

/// Reads `limit` (default [`DEFAULT_LIMIT`]), `offset`, `filter`, `fields` and `sort`
/// (only its direction is honoured); the last of a repeated parameter wins. Every
/// problem is reported at once, as a 422's `invalidFields`.
pub(crate) fn parse_collection(
    pairs: &[(String, String)],
    filterable: &[&str],
) -> Result<Collection, Vec<InvalidField>> {
    let last = |name: &str| {
        pairs
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let mut errors = Vec::new();
    let mut bounded = |name: &str, default: usize| match last(name) {
        None => default,
        Some(text) => match text.trim().parse::<usize>() {
            Ok(n) if n <= MAX_LIMIT => n,
            _ => {
                errors.push(InvalidField::new(
                    name,
                    format!("Must be an integer from 0 to {MAX_LIMIT}"),
                ));
                default
            }
        },
    };
    let limit = bounded("limit", DEFAULT_LIMIT);
    let offset = bounded("offset", 0);
    let filter = match last("filter").map(|f| parse_filter(f, filterable)) {
        None => Filter::default(),
        Some(Ok(filter)) => filter,
        Some(Err(message)) => {
            errors.push(InvalidField::new("filter", message));
            Filter::default()
        }
    };
    let fields = last("fields").map(|f| {
        f.split(',')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(str::to_owned)
            .collect()
    });
    let descending = last("sort").is_some_and(|s| s.trim().starts_with('-'));
    if errors.is_empty() {
        Ok(Collection {
            limit,
            offset,
            filter,
            fields,
            descending,
        })
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(q: &str) -> Vec<(String, String)> {
        parse_query(Some(q))
    }

    #[test]
    fn query_strings_decode_as_forms() {
        assert_eq!(
            pairs("filter=id%3Aa%2Cb&fields=id,tags&x&q=Big+Spender%2B"),
            [
                ("filter".into(), "id:a,b".into()),
                ("fields".into(), "id,tags".into()),
                ("x".into(), String::new()),
                ("q".into(), "Big Spender+".into()),
            ]
        );
        assert!(parse_query(None).is_empty());
    }

    #[test]
    fn filter_grammar() {
        let known = ["id", "tags"];
        let filter = parse_filter("id:a,b, c;tags:VIP", &known).unwrap();
        assert_eq!(
            filter.values("id"),
            Some(&["a".to_owned(), "b".into(), "c".into()][..])
        );
        assert_eq!(filter.values("tags"), Some(&["VIP".to_owned()][..]));
        assert_eq!(filter.values("email"), None);
        assert_eq!(parse_filter("", &known), Ok(Filter::default()));
        for bad in ["id", "email:x", "id:", "id:,", "tags:a;nope:b"] {
            assert!(parse_filter(bad, &known).is_err(), "{bad}");
        }
    }

    #[test]
    fn limits_and_offsets_are_capped() {
        let parse = |q: &str| parse_collection(&pairs(q), &["id"]);
        let c = parse("").unwrap();
        assert_eq!(
            (c.limit, c.offset, c.fields, c.descending),
            (100, 0, None, false)
        );
        let c = parse("limit=1000&offset=1000&fields=id,tags&sort=-createdTime").unwrap();
        assert_eq!((c.limit, c.offset, c.descending), (1000, 1000, true));
        assert_eq!(c.fields, Some(vec!["id".to_owned(), "tags".into()]));
        assert_eq!(parse("limit=5&limit=7").unwrap().limit, 7, "the last wins");
        let errors = parse("limit=1001&offset=-1&filter=zz:1").unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["limit", "offset", "filter"]);
    }
}
