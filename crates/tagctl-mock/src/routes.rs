//! Which endpoint a request path names.
//!
//! API paths are matched on their suffix so that any base the client was given (an
//! `/organizations/{org}` part, a proxy prefix such as `/proxy/v1`) is accepted as-is.

use percent_encoding::percent_decode_str;

/// A tag/untag endpoint, with its path parameters percent-decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiTarget {
    /// The `{tag}` segment, decoded (`Big%20Spender` → `Big Spender`); not yet validated.
    pub tag: String,
    /// The `{org}` of a `.../organizations/{org}/tags/...` path, decoded.
    pub organization: Option<String>,
    /// The `{customerId}` of the single-customer endpoint, decoded; `None` for the collection.
    pub customer_id: Option<String>,
}

/// Decodes one path segment; invalid UTF-8 becomes U+FFFD, which then fails validation.
pub(crate) fn decode_segment(segment: &str) -> String {
    percent_decode_str(segment).decode_utf8_lossy().into_owned()
}

/// Matches `…/tags/{tag}/customers` or `…/tags/{tag}/customers/{customerId}`, optionally
/// preceded by `/organizations/{org}`, and anything before that.
///
/// When both readings fit (`…/tags/tags/customers/customers`), the collection wins.
pub(crate) fn parse_api_path(path: &str) -> Option<ApiTarget> {
    let mut tail = [None::<&str>; 6];
    for (slot, segment) in tail.iter_mut().zip(path.rsplit('/')) {
        *slot = Some(segment);
    }
    let at = |i: usize| tail[i].unwrap_or_default();
    let is = |i: usize, word: &str| tail[i] == Some(word);
    let organization_at = |i: usize| is(i + 1, "organizations").then(|| decode_segment(at(i)));

    if is(0, "customers") && is(2, "tags") {
        return Some(ApiTarget {
            tag: decode_segment(at(1)),
            organization: organization_at(3),
            customer_id: None,
        });
    }
    // An empty last segment is a trailing slash on the collection, not a customer.
    if is(1, "customers") && is(3, "tags") && !at(0).is_empty() {
        return Some(ApiTarget {
            tag: decode_segment(at(2)),
            organization: organization_at(4),
            customer_id: Some(decode_segment(at(0))),
        });
    }
    None
}

/// An API endpoint the mock serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ApiRoute {
    /// `…/tags/{tag}/customers[/{customerId}]`: tag (POST) and untag (DELETE).
    Assign(ApiTarget),
    /// `…/customers`: read customers (GET).
    Customers {
        /// The `{org}` of an `/organizations/{org}/…` path.
        organization: Option<String>,
    },
    /// `…/tags`: read (GET) or create (POST) tags.
    Tags {
        /// The `{org}` of an `/organizations/{org}/…` path.
        organization: Option<String>,
    },
    /// `…/tags/{tag}`: read one tag (GET).
    Tag {
        /// The `{tag}` segment, decoded.
        tag: String,
        /// The `{org}` of an `/organizations/{org}/…` path.
        organization: Option<String>,
    },
}

impl ApiRoute {
    /// The methods the endpoint accepts, for a 405's `Allow`.
    pub(crate) fn allow(&self) -> &'static str {
        match self {
            ApiRoute::Assign(_) => "POST, DELETE",
            ApiRoute::Customers { .. } | ApiRoute::Tag { .. } => "GET",
            ApiRoute::Tags { .. } => "GET, POST",
        }
    }
}

/// Matches every API endpoint, each under any prefix, in this order: the tag/untag
/// endpoints, then `…/tags/{tag}` (so a tag may be called `customers`), `…/tags`, and
/// `…/customers`. A trailing slash matches nothing.
pub(crate) fn parse_route(path: &str) -> Option<ApiRoute> {
    if let Some(target) = parse_api_path(path) {
        return Some(ApiRoute::Assign(target));
    }
    let segments: Vec<&str> = path.rsplit('/').take(4).collect();
    let at = |i: usize| segments.get(i).copied();
    let organization_at = |i: usize| {
        (at(i + 1) == Some("organizations")).then(|| decode_segment(at(i).unwrap_or("")))
    };
    match (at(0), at(1)) {
        (Some(tag), Some("tags")) if !tag.is_empty() => Some(ApiRoute::Tag {
            tag: decode_segment(tag),
            organization: organization_at(2),
        }),
        (Some("tags"), _) => Some(ApiRoute::Tags {
            organization: organization_at(1),
        }),
        (Some("customers"), _) => Some(ApiRoute::Customers {
            organization: organization_at(1),
        }),
        _ => None,
    }
}

/// An endpoint of the admin API under `/__mock/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AdminRoute {
    /// `/__mock/requests`
    Requests,
    /// `/__mock/tags/{tag}`, tag decoded.
    Tag(String),
    /// `/__mock/tags`
    Tags,
    /// `/__mock/customers`
    Customers,
    /// `/__mock/customers/{id}`, decoded.
    Customer(String),
    /// `/__mock/faults`
    Faults,
    /// `/__mock/reset`
    Reset,
    /// `/__mock/stats`
    Stats,
    /// Anything else under `/__mock/`.
    Unknown,
}

/// The prefix reserved for the admin API; never matched as a proxy prefix.
pub(crate) const ADMIN_PREFIX: &str = "/__mock/";

/// Reads an admin path, or `None` when the path is not under [`ADMIN_PREFIX`].
pub(crate) fn parse_admin_path(path: &str) -> Option<AdminRoute> {
    let rest = path.strip_prefix(ADMIN_PREFIX)?;
    Some(match rest.trim_end_matches('/') {
        "requests" => AdminRoute::Requests,
        "faults" => AdminRoute::Faults,
        "reset" => AdminRoute::Reset,
        "stats" => AdminRoute::Stats,
        "tags" => AdminRoute::Tags,
        "customers" => AdminRoute::Customers,
        other => {
            let named = |prefix: &str| {
                other
                    .strip_prefix(prefix)
                    .filter(|rest| !rest.is_empty() && !rest.contains('/'))
                    .map(decode_segment)
            };
            if let Some(tag) = named("tags/") {
                AdminRoute::Tag(tag)
            } else if let Some(id) = named("customers/") {
                AdminRoute::Customer(id)
            } else {
                AdminRoute::Unknown
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(tag: &str, org: Option<&str>, id: Option<&str>) -> Option<ApiTarget> {
        Some(ApiTarget {
            tag: tag.into(),
            organization: org.map(Into::into),
            customer_id: id.map(Into::into),
        })
    }

    #[test]
    fn collection_paths() {
        assert_eq!(
            parse_api_path("/tags/VIP/customers"),
            target("VIP", None, None)
        );
        assert_eq!(
            parse_api_path("/organizations/org-1/tags/VIP/customers"),
            target("VIP", Some("org-1"), None)
        );
        assert_eq!(
            parse_api_path("/proxy/v1/organizations/o%201/tags/Big%20Spender/customers"),
            target("Big Spender", Some("o 1"), None)
        );
        assert_eq!(
            parse_api_path("/proxy/v1/tags/a+b/customers"),
            target("a+b", None, None)
        );
        assert_eq!(parse_api_path("/tags//customers"), target("", None, None));
    }

    #[test]
    fn single_customer_paths() {
        assert_eq!(
            parse_api_path("/tags/VIP/customers/cus_1"),
            target("VIP", None, Some("cus_1"))
        );
        assert_eq!(
            parse_api_path("/p/organizations/o/tags/V%20IP/customers/c%2D1"),
            target("V IP", Some("o"), Some("c-1"))
        );
        assert_eq!(
            parse_api_path("/tags/tags/customers/customers"),
            target("customers", None, None),
            "the collection reading wins"
        );
    }

    #[test]
    fn other_paths() {
        for path in [
            "/",
            "/tags",
            "/tags/VIP",
            "/tags/VIP/customers/",
            "/tags/VIP/customer",
            "/customers",
            "/tags/VIP/customers/a/b",
        ] {
            assert_eq!(parse_api_path(path), None, "{path}");
        }
    }

    #[test]
    fn read_and_tag_routes() {
        let org = |o: &str| Some(o.to_owned());
        let cases = [
            (
                "/customers",
                Some(ApiRoute::Customers { organization: None }),
            ),
            (
                "/p/organizations/o%201/customers",
                Some(ApiRoute::Customers {
                    organization: org("o 1"),
                }),
            ),
            ("/tags", Some(ApiRoute::Tags { organization: None })),
            (
                "/organizations/o/tags",
                Some(ApiRoute::Tags {
                    organization: org("o"),
                }),
            ),
            (
                "/organizations/o/tags/Big%20Spender",
                Some(ApiRoute::Tag {
                    tag: "Big Spender".into(),
                    organization: org("o"),
                }),
            ),
            (
                "/tags/customers",
                Some(ApiRoute::Tag {
                    tag: "customers".into(),
                    organization: None,
                }),
            ),
            (
                "/tags/VIP/customers",
                Some(ApiRoute::Assign(ApiTarget {
                    tag: "VIP".into(),
                    organization: None,
                    customer_id: None,
                })),
            ),
            ("/customers/", None),
            ("/tags/", None),
            ("/", None),
            ("/customers/cus_1", None),
        ];
        for (path, route) in cases {
            assert_eq!(parse_route(path), route, "{path}");
        }
    }

    #[test]
    fn percent_decoding_is_lossy_not_fatal() {
        assert_eq!(
            parse_api_path("/tags/%FF/customers").unwrap().tag,
            "\u{FFFD}"
        );
    }

    #[test]
    fn admin_paths() {
        assert_eq!(
            parse_admin_path("/__mock/requests"),
            Some(AdminRoute::Requests)
        );
        assert_eq!(
            parse_admin_path("/__mock/tags/Big%20Spender"),
            Some(AdminRoute::Tag("Big Spender".into()))
        );
        assert_eq!(
            parse_admin_path("/__mock/faults/"),
            Some(AdminRoute::Faults)
        );
        assert_eq!(parse_admin_path("/__mock/nope"), Some(AdminRoute::Unknown));
        assert_eq!(parse_admin_path("/__mock/tags"), Some(AdminRoute::Tags));
        assert_eq!(
            parse_admin_path("/__mock/customers/cus_1"),
            Some(AdminRoute::Customer("cus_1".into()))
        );
        assert_eq!(
            parse_admin_path("/__mock/customers/"),
            Some(AdminRoute::Customers)
        );
        assert_eq!(parse_admin_path("/x/__mock/reset"), None);
    }
}
