//! Injected misbehaviour: the failures a real API, proxy or network produces, on demand.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use super::config::InvalidOption;

/// One injected failure, consumed by one tag/untag request.
///
/// Faulted requests are not applied (their IDs are not accepted), except [`Fault::Slow`],
/// which only delays a normal answer. Text forms (for `POST /__mock/faults` and `--fault`)
/// are listed on [`Fault::from_str`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// 500 with a problem-details body.
    Status500,
    /// 502 with an HTML page, as a reverse proxy sends when the upstream is down.
    Html502,
    /// 503 with an empty body.
    Empty503,
    /// Close the TCP connection without any response.
    Drop,
    /// Wait this long, then answer normally (and apply the request).
    Slow(Duration),
    /// 429 even under the limit; the reset hint points at the current window end
    /// (or the next whole second when unlimited), or `reset_in` from now when given.
    TooManyRequests {
        /// Override of the reset instant, relative to now.
        reset_in: Option<Duration>,
    },
    /// A redirect response with a `Location` header.
    Redirect {
        /// Any status, normally 301, 302, 303, 307 or 308.
        status: u16,
        /// Sent verbatim as `Location`.
        location: String,
    },
    /// 500 whose body streams [`HUGE_BODY_BYTES`](super::HUGE_BODY_BYTES) bytes without a
    /// length, to test a client's body-size cap; streaming stops if the client hangs up.
    HugeBody,
    /// Any status, content type and body, to test hostile or malformed problem details.
    RawProblem {
        /// Response status.
        status: u16,
        /// Sent verbatim as `Content-Type`.
        content_type: String,
        /// Sent verbatim as the body.
        body: String,
    },
}

impl Fault {
    /// The kinds drawn by the random fault rate when no list is configured: the transient
    /// failures a well-behaved client must retry through.
    pub fn default_random_kinds() -> Vec<Fault> {
        vec![
            Fault::Status500,
            Fault::Html502,
            Fault::Empty503,
            Fault::Drop,
            Fault::TooManyRequests { reset_in: None },
        ]
    }
}

/// Parses `<digits>[ms|s]`; `bare_is_ms` decides the unit of a number without one.
fn parse_duration(text: &str, bare_is_ms: bool) -> Option<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits.parse().ok()?;
    match unit {
        "" if bare_is_ms => Some(Duration::from_millis(n)),
        "" | "s" => Some(Duration::from_secs(n)),
        "ms" => Some(Duration::from_millis(n)),
        _ => None,
    }
}

/// Parses a status code in `range`.
fn parse_status(text: &str, range: std::ops::RangeInclusive<u16>) -> Option<u16> {
    text.trim().parse().ok().filter(|s| range.contains(s))
}

impl FromStr for Fault {
    type Err = InvalidOption;

    /// Reads a fault name (case-insensitive kind):
    ///
    /// | name | fault |
    /// | --- | --- |
    /// | `500` | [`Fault::Status500`] |
    /// | `html502` (or `502`) | [`Fault::Html502`] |
    /// | `empty503` (or `503`) | [`Fault::Empty503`] |
    /// | `drop` | [`Fault::Drop`] |
    /// | `slow:1500`, `slow:1500ms`, `slow:2s` | [`Fault::Slow`] (bare number = ms) |
    /// | `429`, `429:5`, `429:500ms` | [`Fault::TooManyRequests`] (bare number = s) |
    /// | `redirect:307:http://host/path` | [`Fault::Redirect`] |
    /// | `huge` (or `hugebody`) | [`Fault::HugeBody`] |
    /// | `raw:500:text/plain:any body` | [`Fault::RawProblem`] |
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason: &str| InvalidOption::new("fault", s, reason);
        let (kind, arg) = match s.split_once(':') {
            Some((k, a)) => (k.trim().to_ascii_lowercase(), Some(a)),
            None => (s.trim().to_ascii_lowercase(), None),
        };
        match (kind.as_str(), arg) {
            ("500" | "status500", None) => Ok(Fault::Status500),
            ("502" | "html502", None) => Ok(Fault::Html502),
            ("503" | "empty503", None) => Ok(Fault::Empty503),
            ("drop", None) => Ok(Fault::Drop),
            ("huge" | "hugebody" | "huge-body", None) => Ok(Fault::HugeBody),
            ("slow", Some(d)) => parse_duration(d, true)
                .map(Fault::Slow)
                .ok_or_else(|| err("expected slow:MILLISECONDS, e.g. slow:1500")),
            ("slow", None) => Err(err("expected slow:MILLISECONDS, e.g. slow:1500")),
            ("429" | "too-many-requests", None) => Ok(Fault::TooManyRequests { reset_in: None }),
            ("429" | "too-many-requests", Some(d)) => parse_duration(d, false)
                .map(|d| Fault::TooManyRequests { reset_in: Some(d) })
                .ok_or_else(|| err("expected 429 or 429:SECONDS")),
            ("redirect", Some(rest)) => {
                let (status, location) = rest
                    .split_once(':')
                    .ok_or_else(|| err("expected redirect:STATUS:LOCATION"))?;
                let status = parse_status(status, 300..=399)
                    .ok_or_else(|| err("the redirect status must be 300 to 399"))?;
                if location.is_empty() {
                    return Err(err("the redirect location is empty"));
                }
                Ok(Fault::Redirect {
                    status,
                    location: location.to_owned(),
                })
            }
            ("raw", Some(rest)) => {
                let mut parts = rest.splitn(3, ':');
                let (Some(status), Some(content_type), Some(body)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    return Err(err("expected raw:STATUS:CONTENT-TYPE:BODY"));
                };
                let status = parse_status(status, 200..=999)
                    .ok_or_else(|| err("the status must be a number from 200 to 999"))?;
                Ok(Fault::RawProblem {
                    status,
                    content_type: content_type.to_owned(),
                    body: body.to_owned(),
                })
            }
            _ => Err(err(
                "expected 500, html502, empty503, drop, slow:MS, 429[:SECS], \
                 redirect:STATUS:URL, huge or raw:STATUS:TYPE:BODY",
            )),
        }
    }
}

impl fmt::Display for Fault {
    /// Writes the canonical name, which [`Fault::from_str`] reads back to the same fault.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Status500 => f.write_str("500"),
            Fault::Html502 => f.write_str("html502"),
            Fault::Empty503 => f.write_str("empty503"),
            Fault::Drop => f.write_str("drop"),
            Fault::Slow(d) => write!(f, "slow:{}", d.as_millis()),
            Fault::TooManyRequests { reset_in: None } => f.write_str("429"),
            Fault::TooManyRequests { reset_in: Some(d) } if d.subsec_nanos() == 0 => {
                write!(f, "429:{}", d.as_secs())
            }
            Fault::TooManyRequests { reset_in: Some(d) } => write!(f, "429:{}ms", d.as_millis()),
            Fault::Redirect { status, location } => write!(f, "redirect:{status}:{location}"),
            Fault::HugeBody => f.write_str("huge"),
            Fault::RawProblem {
                status,
                content_type,
                body,
            } => write!(f, "raw:{status}:{content_type}:{body}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse() {
        let cases = [
            ("500", Fault::Status500),
            ("html502", Fault::Html502),
            ("502", Fault::Html502),
            ("EMPTY503", Fault::Empty503),
            ("drop", Fault::Drop),
            ("slow:1500", Fault::Slow(Duration::from_millis(1500))),
            ("slow:2s", Fault::Slow(Duration::from_secs(2))),
            ("429", Fault::TooManyRequests { reset_in: None }),
            (
                "429:3",
                Fault::TooManyRequests {
                    reset_in: Some(Duration::from_secs(3)),
                },
            ),
            (
                "redirect:307:http://x/",
                Fault::Redirect {
                    status: 307,
                    location: "http://x/".into(),
                },
            ),
            ("huge", Fault::HugeBody),
            (
                "raw:500:application/json:{\"title\":1}",
                Fault::RawProblem {
                    status: 500,
                    content_type: "application/json".into(),
                    body: "{\"title\":1}".into(),
                },
            ),
        ];
        for (name, fault) in cases {
            assert_eq!(name.parse::<Fault>().as_ref(), Ok(&fault), "{name}");
        }
    }

    #[test]
    fn display_round_trips() {
        for name in [
            "500",
            "html502",
            "empty503",
            "drop",
            "slow:250",
            "429",
            "429:7",
            "429:1500ms",
            "redirect:308:https://a.example/b?c=d",
            "huge",
            "raw:418:text/plain:a:b:c",
        ] {
            let fault: Fault = name.parse().unwrap();
            assert_eq!(fault.to_string(), name);
            assert_eq!(fault.to_string().parse::<Fault>().unwrap(), fault);
        }
    }

    #[test]
    fn bad_names_are_refused() {
        for bad in [
            "",
            "404",
            "slow",
            "slow:abc",
            "slow:5x",
            "redirect:200:http://x/",
            "redirect:307",
            "redirect:307:",
            "raw:500:text/plain",
            "raw:50:text/plain:x",
            "drop:1",
        ] {
            assert!(bad.parse::<Fault>().is_err(), "{bad:?}");
        }
    }
}
