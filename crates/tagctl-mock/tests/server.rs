//! The mock over real sockets: raw HTTP/1.1 written by hand, so the bytes on the wire
//! (headers, closes, streaming) are what is checked, not a client's interpretation of them.

use std::collections::HashSet;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tagctl_mock::{
    Fault, InvalidFieldsStyle, MissingTag, MockConfig, MockServer, Operation, ProblemContentType,
    RateLimit, RetryAfterStyle, TagSeed, TagType, Universe,
};

/// A response as read off the socket.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    /// Every value of header `name` (case-insensitive).
    fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The only value of header `name`.
    fn header(&self, name: &str) -> Option<&str> {
        let values = self.all(name);
        assert!(values.len() <= 1, "{name} sent {} times", values.len());
        values.first().copied()
    }

    /// The body as JSON.
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

/// Writes one request (with `Connection: close`) and reads until the server closes.
/// `None` when the server closed without sending a byte.
fn send_raw(server: &MockServer, request: &str) -> Option<Reply> {
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    match stream.read_to_end(&mut raw) {
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        Err(e) => panic!("reading the response: {e}"),
    }
    if raw.is_empty() {
        return None;
    }
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .map(|line| {
            let (name, value) = line.split_once(':').unwrap();
            (name.to_owned(), value.trim().to_owned())
        })
        .collect();
    Some(Reply {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    })
}

/// Sends `method path` with extra header lines and a body.
fn send(
    server: &MockServer,
    method: &str,
    path: &str,
    headers: &[&str],
    body: &str,
) -> Option<Reply> {
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
        server.addr(),
        body.len()
    );
    for header in headers {
        request.push_str(header);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    request.push_str(body);
    send_raw(server, &request)
}

/// A tag request with an API key and a JSON body of `ids`.
fn tag(server: &MockServer, path: &str, ids: &[&str]) -> Reply {
    let body = serde_json::json!({ "customerIds": ids }).to_string();
    send(
        server,
        "POST",
        path,
        &[
            "REB-APIKEY: key",
            "Content-Type: application/json",
            "User-Agent: t/1",
        ],
        &body,
    )
    .expect("a response")
}

/// An authenticated GET.
fn get(server: &MockServer, path: &str) -> Reply {
    send(server, "GET", path, &["REB-APIKEY: key"], "").expect("a response")
}

/// An authenticated POST of a JSON body.
fn post_json(server: &MockServer, path: &str, body: &serde_json::Value) -> Reply {
    send(
        server,
        "POST",
        path,
        &["REB-APIKEY: key", "Content-Type: application/json"],
        &body.to_string(),
    )
    .expect("a response")
}

/// `(id, [tag names])` of each customer of a `GET /customers` answer.
fn customer_tags(reply: &Reply) -> Vec<(String, Vec<String>)> {
    reply
        .json()
        .as_array()
        .expect("an array")
        .iter()
        .map(|c| {
            let names = c["tags"]
                .as_array()
                .expect("tags")
                .iter()
                .map(|t| t["name"].as_str().unwrap().to_owned())
                .collect();
            (c["id"].as_str().unwrap().to_owned(), names)
        })
        .collect()
}

/// The three `Pagination-*` headers.
fn pagination(reply: &Reply) -> [Option<&str>; 3] {
    [
        reply.header("pagination-total"),
        reply.header("pagination-limit"),
        reply.header("pagination-offset"),
    ]
}

/// The true Unix time in seconds, fractional.
fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Waits, if needed, until early in a second, so a few quick requests share a 1 s window.
fn start_of_a_second() {
    let fraction = now_secs().fract();
    if fraction > 0.6 {
        std::thread::sleep(Duration::from_secs_f64(1.0 - fraction + 0.01));
    }
}

fn strings(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn tag_is_accepted_and_recorded_then_untag_removes() {
    let server = MockServer::start_background(MockConfig::default());
    let reply = tag(&server, "/tags/VIP/customers", &["c1", "c2", "c1"]);
    assert_eq!(reply.status, 204);
    assert!(reply.body.is_empty());
    assert_eq!(
        reply.header("x-ratelimit-limit"),
        None,
        "unlimited sends none"
    );

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str(), r.tag.as_str()),
        ("POST", "/tags/VIP/customers", "VIP")
    );
    assert_eq!(r.api_key.as_deref(), Some("key"));
    assert_eq!(r.user_agent.as_deref(), Some("t/1"));
    assert_eq!(r.content_type.as_deref(), Some("application/json"));
    assert_eq!(
        (r.status, r.fault.as_deref(), r.organization.as_deref()),
        (204, None, None)
    );
    assert_eq!(r.ids, strings(&["c1", "c2", "c1"]));
    assert_eq!(server.accepted_ids(), strings(&["c1", "c2", "c1"]));
    assert_eq!(
        server.tagged("VIP").into_iter().collect::<Vec<_>>(),
        strings(&["c1", "c2"])
    );

    let reply = send(
        &server,
        "DELETE",
        "/tags/VIP/customers",
        &["Authorization: Bearer a.b.c"],
        r#"{"customerIds":["c1"]}"#,
    )
    .unwrap();
    assert_eq!(reply.status, 204);
    assert_eq!(server.requests()[1].bearer.as_deref(), Some("a.b.c"));
    assert_eq!(
        server.tagged("VIP").into_iter().collect::<Vec<_>>(),
        strings(&["c2"])
    );
    assert_eq!(server.accepted_ids().len(), 4);
    assert_eq!((server.request_count(), server.accepted_count()), (2, 4));
}

#[test]
fn credentials_401_and_403() {
    let server = MockServer::start_background(MockConfig {
        api_key: Some("good".into()),
        forbidden: HashSet::from(["readonly".to_owned()]),
        ..MockConfig::default()
    });
    let body = r#"{"customerIds":["c1"]}"#;
    let path = "/tags/VIP/customers";
    let none = send(&server, "POST", path, &[], body).unwrap();
    assert_eq!(none.status, 401);
    assert_eq!(
        none.header("content-type"),
        Some("application/problem+json")
    );
    let problem = none.json();
    assert_eq!(problem["status"], 401);
    assert_eq!(problem["title"], "Unauthorized");
    assert!(problem["instance"].is_string() && problem["detail"].is_string());

    let wrong = send(&server, "POST", path, &["REB-APIKEY: bad"], body).unwrap();
    assert_eq!(wrong.status, 401);
    let forbidden = send(&server, "POST", path, &["REB-APIKEY: readonly"], body).unwrap();
    assert_eq!(forbidden.status, 403);
    assert_eq!(forbidden.json()["status"], 403);
    let good = send(&server, "POST", path, &["REB-APIKEY: good"], body).unwrap();
    assert_eq!(good.status, 204);

    assert_eq!(server.accepted_ids(), strings(&["c1"]));
    let statuses: Vec<u16> = server.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [401, 401, 403, 204]);
}

#[test]
fn invalid_ids_422_in_each_style_and_nothing_applied() {
    let server = MockServer::start_background(MockConfig {
        reject_ids: HashSet::from(["gone".to_owned()]),
        problem_content_type: ProblemContentType::Json,
        ..MockConfig::default()
    });
    let ids = ["ok1", "bad id", "ok2", "gone"];
    let fields = |reply: &Reply| -> Vec<String> {
        reply.json()["invalidFields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["field"].as_str().unwrap().to_owned())
            .collect()
    };

    let reply = tag(&server, "/tags/VIP/customers", &ids);
    assert_eq!(reply.status, 422);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(fields(&reply), ["customerIds.1", "customerIds.3"]);
    assert_eq!(
        reply.json()["invalidFields"][1]["message"],
        "Customer not found"
    );

    server.set_config(|c| c.invalid_fields_style = InvalidFieldsStyle::Bracketed);
    assert_eq!(
        fields(&tag(&server, "/tags/VIP/customers", &ids)),
        ["customerIds[1]", "customerIds[3]"]
    );

    server.set_config(|c| c.invalid_fields_style = InvalidFieldsStyle::Bare);
    assert_eq!(
        fields(&tag(&server, "/tags/VIP/customers", &ids)),
        ["customerIds"]
    );

    let empty = tag(&server, "/tags/VIP/customers", &[]);
    assert_eq!(
        (empty.status, fields(&empty)),
        (422, vec!["customerIds".to_owned()])
    );
    let bad_tag = tag(&server, "/tags/a%2Fb/customers", &["ok1"]);
    assert_eq!(
        (bad_tag.status, fields(&bad_tag)),
        (422, vec!["tag".to_owned()])
    );
    let malformed = send(
        &server,
        "POST",
        "/tags/VIP/customers",
        &["REB-APIKEY: k"],
        "{",
    )
    .unwrap();
    assert_eq!(
        (malformed.status, fields(&malformed)),
        (422, vec!["customerIds".to_owned()])
    );

    assert!(server.accepted_ids().is_empty());
    assert!(server.tagged("VIP").is_empty());
    assert_eq!(
        server.requests()[0].ids,
        strings(&ids),
        "refused IDs are still recorded"
    );
}

#[test]
fn paths_decode_tags_and_accept_organization_and_proxy_prefix() {
    let server = MockServer::start_background(MockConfig::default());
    assert_eq!(
        tag(&server, "/tags/Big%20Spender/customers", &["a"]).status,
        204
    );
    assert_eq!(
        tag(&server, "/organizations/org%201/tags/VIP/customers", &["b"]).status,
        204
    );
    assert_eq!(
        tag(
            &server,
            "/proxy/v1/organizations/o2/tags/a+b/customers",
            &["c"]
        )
        .status,
        204
    );
    let single = send(
        &server,
        "POST",
        "/x/tags/VIP/customers/d",
        &["REB-APIKEY: k"],
        "",
    )
    .unwrap();
    assert_eq!(single.status, 204);
    assert_eq!(tag(&server, "/tags/VIP/nope", &["e"]).status, 404);

    let requests = server.requests();
    assert_eq!(requests.len(), 4, "the 404 is not a tag request");
    assert_eq!(requests[0].tag, "Big Spender");
    assert_eq!(requests[0].path, "/tags/Big%20Spender/customers");
    assert_eq!(requests[1].organization.as_deref(), Some("org 1"));
    assert_eq!(
        (
            requests[2].tag.as_str(),
            requests[2].organization.as_deref()
        ),
        ("a+b", Some("o2"))
    );
    assert_eq!(requests[3].customer_id.as_deref(), Some("d"));
    assert!(server.tagged("Big Spender").contains("a"));
    assert!(server.tagged("VIP").contains("b") && server.tagged("VIP").contains("d"));
}

#[test]
fn rate_limit_429_carries_the_window_end_and_counts() {
    let server = MockServer::start_background(MockConfig {
        rate_limit: Some(RateLimit::new(2, 1)),
        ..MockConfig::default()
    });
    start_of_a_second();
    let before = now_secs();
    let replies: Vec<Reply> = (0..3)
        .map(|_| tag(&server, "/tags/VIP/customers", &["a"]))
        .collect();
    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [204, 204, 429]);
    let remaining: Vec<&str> = replies
        .iter()
        .map(|r| r.header("x-ratelimit-remaining").unwrap())
        .collect();
    assert_eq!(remaining, ["1", "0", "0"]);
    assert!(
        replies
            .iter()
            .all(|r| r.header("x-ratelimit-limit") == Some("2"))
    );

    let limited = &replies[2];
    let reset: u64 = limited
        .header("x-ratelimit-retry-after")
        .expect("reset timestamp")
        .parse()
        .expect("an integer");
    assert_eq!(
        reset,
        before.floor() as u64 + 1,
        "the end of the current 1 s window"
    );
    assert_eq!(limited.header("retry-after"), None);
    assert_eq!(limited.json()["status"], 429);
    assert_eq!(server.accepted_ids().len(), 2);
}

#[test]
fn retry_after_styles() {
    let server = MockServer::start_background(MockConfig {
        rate_limit: Some(RateLimit::new(0, 1)),
        retry_after_style: RetryAfterStyle::RetryAfterSeconds,
        ..MockConfig::default()
    });
    let reply = tag(&server, "/tags/VIP/customers", &["a"]);
    assert_eq!(
        (reply.status, reply.header("retry-after")),
        (429, Some("1"))
    );
    assert_eq!(reply.header("x-ratelimit-retry-after"), None);

    server.set_config(|c| c.retry_after_style = RetryAfterStyle::RetryAfterHttpDate);
    let reply = tag(&server, "/tags/VIP/customers", &["a"]);
    let at = httpdate::parse_http_date(reply.header("retry-after").unwrap()).unwrap();
    let at = at.duration_since(UNIX_EPOCH).unwrap().as_secs_f64();
    assert!(at > now_secs() - 1.0 && at <= now_secs() + 1.0, "{at}");

    server.set_config(|c| c.retry_after_style = RetryAfterStyle::None);
    let reply = tag(&server, "/tags/VIP/customers", &["a"]);
    assert_eq!(reply.status, 429);
    assert_eq!(reply.header("retry-after"), None);
    assert_eq!(reply.header("x-ratelimit-retry-after"), None);
}

#[test]
fn clock_offset_shifts_date_and_reset_consistently() {
    let offset = -3600;
    let server = MockServer::start_background(MockConfig {
        clock_offset_secs: offset,
        rate_limit: Some(RateLimit::new(0, 1)),
        ..MockConfig::default()
    });
    let before = now_secs();
    let reply = tag(&server, "/tags/VIP/customers", &["a"]);
    let after = now_secs();
    assert_eq!(reply.all("date").len(), 1, "exactly one Date header");
    let date = httpdate::parse_http_date(reply.header("date").unwrap()).unwrap();
    let date = date.duration_since(UNIX_EPOCH).unwrap().as_secs() as f64;
    let shown = offset as f64;
    assert!(
        date >= (before + shown).floor() && date <= after + shown,
        "{date}"
    );

    let reset: i64 = reply
        .header("x-ratelimit-retry-after")
        .unwrap()
        .parse()
        .unwrap();
    let true_end = before.floor() as i64 + 1;
    assert!(
        reset == true_end + offset || reset == true_end + 1 + offset,
        "{reset} vs {true_end}"
    );
    // A client correcting by Date waits less than one window.
    assert!((0..=1).contains(&(reset - date as i64)));
}

#[test]
fn drop_closes_the_connection_without_a_response() {
    let server = MockServer::start_background(MockConfig::default());
    server.push_faults([Fault::Drop]);
    let reply = send(
        &server,
        "POST",
        "/tags/VIP/customers",
        &["REB-APIKEY: k"],
        r#"{"customerIds":["a"]}"#,
    );
    assert!(reply.is_none(), "got {reply:?}");
    assert_eq!(tag(&server, "/tags/VIP/customers", &["b"]).status, 204);

    let requests = server.requests();
    assert_eq!(
        (requests[0].status, requests[0].fault.as_deref()),
        (0, Some("drop"))
    );
    assert_eq!(requests[0].ids, strings(&["a"]));
    assert_eq!(server.accepted_ids(), strings(&["b"]));
}

#[test]
fn faults_are_consumed_in_order_before_auth_and_not_applied() {
    let server = MockServer::start_background(MockConfig {
        api_key: Some("secret".into()),
        ..MockConfig::default()
    });
    server.push_faults([
        Fault::Html502,
        Fault::Empty503,
        Fault::Redirect {
            status: 307,
            location: "http://127.0.0.1:1/elsewhere".into(),
        },
        Fault::RawProblem {
            status: 500,
            content_type: "application/problem+json".into(),
            body: r#"{"title":42,"detail":"\u001b[2J"}"#.into(),
        },
        Fault::TooManyRequests {
            reset_in: Some(Duration::from_secs(5)),
        },
        Fault::Slow(Duration::from_millis(50)),
    ]);
    // No credentials at all: the faults come first anyway.
    let path = "/tags/VIP/customers";
    let body = r#"{"customerIds":["a"]}"#;
    let next = || send(&server, "POST", path, &[], body).unwrap();

    let html = next();
    assert_eq!(html.status, 502);
    assert_eq!(
        html.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(String::from_utf8_lossy(&html.body).contains("<html>"));

    let empty = next();
    assert_eq!((empty.status, empty.body.len()), (503, 0));

    let redirect = next();
    assert_eq!(redirect.status, 307);
    assert_eq!(
        redirect.header("location"),
        Some("http://127.0.0.1:1/elsewhere")
    );

    let raw = next();
    assert_eq!(raw.status, 500);
    assert_eq!(raw.json()["title"], 42);

    let before = now_secs();
    let limited = next();
    assert_eq!(limited.status, 429);
    let reset: f64 = limited
        .header("x-ratelimit-retry-after")
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        reset >= before + 5.0 && reset <= before + 7.0,
        "{reset} vs {before}"
    );

    let slow = send(&server, "POST", path, &["REB-APIKEY: secret"], body).unwrap();
    assert_eq!(slow.status, 204, "slow is applied");
    assert_eq!(next().status, 401, "the queue is empty again");

    let faults: Vec<Option<String>> = server.requests().into_iter().map(|r| r.fault).collect();
    assert_eq!(
        faults,
        [
            Some("html502".to_owned()),
            Some("empty503".to_owned()),
            Some("redirect:307:http://127.0.0.1:1/elsewhere".to_owned()),
            Some(
                r#"raw:500:application/problem+json:{"title":42,"detail":"\u001b[2J"}"#.to_owned()
            ),
            Some("429:5".to_owned()),
            Some("slow:50".to_owned()),
            None,
        ]
    );
    assert_eq!(server.accepted_ids(), strings(&["a"]));
}

#[test]
fn huge_body_streams_without_a_length() {
    let server = MockServer::start_background(MockConfig::default());
    server.push_faults([Fault::HugeBody]);
    let body = r#"{"customerIds":["a"]}"#;
    let request = format!(
        "POST /tags/VIP/customers HTTP/1.1\r\nHost: x\r\nREB-APIKEY: k\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut buffer = vec![0; 1 << 20];
    let mut received = Vec::new();
    while received.len() < 4 << 20 {
        let n = stream.read(&mut buffer).unwrap();
        assert!(n > 0, "the body ended early");
        received.extend_from_slice(&buffer[..n]);
    }
    let head = String::from_utf8_lossy(&received[..200]).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 500"));
    assert!(head.contains("transfer-encoding: chunked"));
    assert!(!head.contains("content-length"));
    drop(stream);
    // The server stops streaming and keeps answering.
    assert_eq!(tag(&server, "/tags/VIP/customers", &["b"]).status, 204);
}

#[test]
fn admin_endpoints_queue_faults_and_show_state() {
    let server = MockServer::start_background(MockConfig::default());
    let queued = send(
        &server,
        "POST",
        "/__mock/faults",
        &[],
        r#"["500","slow:1"]"#,
    )
    .unwrap();
    assert_eq!(queued.status, 200);
    assert_eq!(queued.json()["pending"], 2);
    let bad = send(&server, "POST", "/__mock/faults", &[], r#"["nope"]"#).unwrap();
    assert_eq!(bad.status, 400);

    assert_eq!(tag(&server, "/tags/VIP/customers", &["z"]).status, 500);
    assert_eq!(tag(&server, "/tags/VIP/customers", &["y", "x"]).status, 204);

    let tags = send(&server, "GET", "/__mock/tags/VIP", &[], "").unwrap();
    assert_eq!(tags.json(), serde_json::json!(["x", "y"]));
    let requests = send(&server, "GET", "/__mock/requests", &[], "").unwrap();
    let requests = requests.json();
    assert_eq!(requests.as_array().unwrap().len(), 2);
    assert_eq!(requests[0]["status"], 500);
    assert_eq!(requests[1]["ids"], serde_json::json!(["y", "x"]));

    let reset = send(&server, "POST", "/__mock/reset", &[], "").unwrap();
    assert_eq!(reset.status, 204);
    assert!(server.requests().is_empty() && server.tagged("VIP").is_empty());
    assert_eq!(server.request_count(), 0);
}

#[test]
fn counts_are_kept_without_recording() {
    let server = MockServer::start_background(MockConfig {
        record: false,
        ..MockConfig::default()
    });
    assert_eq!(tag(&server, "/tags/VIP/customers", &["a", "b"]).status, 204);
    assert_eq!((server.request_count(), server.accepted_count()), (1, 2));
    assert!(server.requests().is_empty() && server.accepted_ids().is_empty());
}

#[tokio::test]
async fn async_start_serves_http2_with_prior_knowledge() {
    let server = MockServer::start(MockConfig::default(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    // reqwest's `rustls-no-provider` panics when a client is built without a crypto
    // provider, even for plain http; another test may have installed it already.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let response = client
        .post(format!("{}/tags/VIP/customers", server.url()))
        .header("REB-APIKEY", "k")
        .header("Content-Type", "application/json")
        .body(r#"{"customerIds":["a"]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    assert_eq!(response.status(), 204);
    assert_eq!(response.headers().get_all("date").iter().count(), 1);
    assert_eq!(server.accepted_ids(), strings(&["a"]));
}

/// Throughput sanity check, run by hand (set `MOCK_NO_RECORD=1` to measure counting only):
/// `cargo test --release -p tagctl-mock --test server throughput -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark, not a check"]
async fn throughput_of_full_batches() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let record = std::env::var_os("MOCK_NO_RECORD").is_none();
    let server = MockServer::start_background(MockConfig {
        record,
        ..MockConfig::default()
    });
    let client = reqwest::Client::new();
    let url = format!("{}/tags/VIP/customers", server.url());
    let (requests, concurrency) = (2000usize, 8usize);
    // Bodies are built before the clock starts: the server and HTTP are what is measured.
    let bodies: Vec<String> = (0..requests)
        .map(|r| {
            let ids: Vec<String> = (0..1000).map(|i| format!("cus_{r}_{i}")).collect();
            serde_json::json!({ "customerIds": ids }).to_string()
        })
        .collect();
    let bodies = std::sync::Arc::new(bodies);
    let started = std::time::Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|w| {
            let (client, url, bodies) = (client.clone(), url.clone(), bodies.clone());
            tokio::spawn(async move {
                for body in bodies.iter().skip(w).step_by(concurrency) {
                    let response = client
                        .post(&url)
                        .header("REB-APIKEY", "k")
                        .header("Content-Type", "application/json")
                        .body(body.clone())
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(response.status(), 204);
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.unwrap();
    }
    let elapsed = started.elapsed();
    println!(
        "record={record}: {requests} requests of 1000 IDs in {elapsed:?}: {:.0} requests/s",
        requests as f64 / elapsed.as_secs_f64()
    );
    assert_eq!(server.accepted_count(), requests as u64 * 1000);
    if record {
        let started = std::time::Instant::now();
        let tagged = server.tagged("VIP").len();
        println!("tagged() replayed {tagged} IDs in {:?}", started.elapsed());
        assert_eq!(tagged, requests * 1000);
    }
}

#[test]
fn customers_read_back_by_id_with_fields_and_pagination_headers() {
    let server = MockServer::start_background(MockConfig {
        rate_limit: Some(RateLimit::new(100, 60)),
        ..MockConfig::default()
    });
    assert_eq!(
        tag(&server, "/tags/VIP/customers", &["c1", "c2"]).status,
        204
    );
    let reply = get(
        &server,
        "/organizations/o/customers?filter=id%3Ac3,c1,z!z,c2&fields=id,tags&limit=10",
    );
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(pagination(&reply), [Some("3"), Some("10"), Some("0")]);
    assert_eq!(
        reply.header("x-ratelimit-limit"),
        None,
        "GETs are not limited"
    );
    assert_eq!(
        customer_tags(&reply),
        [
            ("c1".into(), vec!["VIP".into()]),
            ("c2".into(), vec!["VIP".into()]),
            ("c3".into(), vec![]),
        ]
    );
    let first = &reply.json()[0];
    let keys: Vec<&String> = first.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["id", "tags"], "only the asked fields");
    assert_eq!(first["tags"][0]["type"], "customer");
    assert!(first["tags"][0]["id"].as_str().unwrap().starts_with("tag_"));

    let everything = get(&server, "/customers?filter=id:c1");
    let keys: Vec<String> = everything.json()[0]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert!(
        keys.len() > 2 && keys.contains(&"email".to_owned()),
        "{keys:?}"
    );
    let both = get(&server, "/customers?filter=id:c1,c3;id:c3,c2");
    assert_eq!(
        customer_tags(&both),
        [("c3".into(), vec![])],
        "AND of clauses"
    );
    let tagged = get(&server, "/customers?filter=id:c1,c3;tags:vip");
    assert_eq!(customer_tags(&tagged), [("c1".into(), vec!["VIP".into()])]);
    let id_only = get(&server, "/customers?filter=id:c1&fields=email");
    assert_eq!(
        id_only.json(),
        serde_json::json!([{"id": "c1", "email": null}])
    );

    let read = &server.requests_of(Operation::ListCustomers)[0];
    assert_eq!(read.ids, strings(&["c3", "c1", "z!z", "c2"]));
    assert_eq!(read.organization.as_deref(), Some("o"));
    assert_eq!((read.method.as_str(), read.status), ("GET", 200));
    let unauthenticated = send(&server, "GET", "/customers?filter=id:c1", &[], "").unwrap();
    assert_eq!(unauthenticated.status, 401);
}

#[test]
fn a_numbered_universe_limits_offsets_and_bad_parameters() {
    let server = MockServer::start_background(MockConfig {
        customers: Universe::Numbered(3),
        ..MockConfig::default()
    });
    let ids = |reply: &Reply| -> Vec<String> {
        customer_tags(reply).into_iter().map(|(id, _)| id).collect()
    };
    let found = get(&server, "/customers?filter=id:cus_00001,cus_00009,cus_1");
    assert_eq!(ids(&found), strings(&["cus_00001"]));
    assert_eq!(pagination(&found)[0], Some("1"));
    let page = get(&server, "/customers?limit=2&offset=1");
    assert_eq!(ids(&page), strings(&["cus_00001", "cus_00002"]));
    assert_eq!(pagination(&page), [Some("3"), Some("2"), Some("1")]);
    let newest = get(&server, "/customers?limit=1&sort=-createdTime");
    assert_eq!(ids(&newest), strings(&["cus_00002"]));
    assert!(ids(&get(&server, "/customers?offset=1000&limit=1000")).is_empty());

    let bad = get(&server, "/customers?limit=1001&offset=-1&filter=email:x");
    assert_eq!(bad.status, 422);
    let body = bad.json();
    let fields: Vec<&str> = body["invalidFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["limit", "offset", "filter"]);

    // Writes to IDs that are not customers are answered 204 and ignored.
    assert_eq!(
        tag(&server, "/tags/VIP/customers", &["cus_00000", "ghost"]).status,
        204
    );
    assert_eq!(server.tagged("VIP"), ["cus_00000".to_owned()].into());
    assert!(!server.customer("ghost").exists);
}

#[test]
fn writes_take_effect_after_the_delay_and_never_for_chosen_ids() {
    let server = MockServer::start_background(MockConfig {
        apply_delay: Duration::from_millis(300),
        never_apply: ["b".to_owned()].into(),
        ..MockConfig::default()
    });
    assert_eq!(tag(&server, "/tags/VIP/customers", &["a", "b"]).status, 204);
    let before = get(&server, "/customers?filter=id:a,b&fields=tags");
    assert_eq!(
        customer_tags(&before),
        [("a".into(), vec![]), ("b".into(), vec![])]
    );
    assert_eq!(server.pending_writes(), 1);
    let pending = &server.customer("a").pending;
    assert_eq!((pending.len(), pending[0].action), (1, "tag"));
    std::thread::sleep(Duration::from_millis(350));
    let after = get(&server, "/customers?filter=id:a,b&fields=tags");
    assert_eq!(
        customer_tags(&after),
        [("a".into(), vec!["VIP".into()]), ("b".into(), vec![])]
    );
    assert_eq!(server.pending_writes(), 0);
    assert_eq!(server.customer("a").tags, strings(&["VIP"]));
}

#[test]
fn tag_names_are_not_case_sensitive() {
    let server = MockServer::start_background(MockConfig::default());
    assert_eq!(
        tag(&server, "/tags/Big%20Spender/customers", &["a", "b"]).status,
        204
    );
    let untag = send(
        &server,
        "DELETE",
        "/tags/big%20SPENDER/customers",
        &["REB-APIKEY: key"],
        r#"{"customerIds":["a"]}"#,
    )
    .unwrap();
    assert_eq!(untag.status, 204);
    assert_eq!(server.tagged("BIG spender"), ["b".to_owned()].into());
    let by_tag = get(&server, "/customers?filter=tags:big%20spender");
    assert_eq!(
        customer_tags(&by_tag),
        [("b".into(), vec!["Big Spender".into()])]
    );
    let one = get(&server, "/tags/bIg%20sPeNdEr");
    assert_eq!(
        (one.status, one.json()["name"].clone()),
        (200, "Big Spender".into())
    );
    assert_eq!(server.tags().len(), 1, "one tag, however spelled");
}

#[test]
fn tags_are_created_read_and_listed() {
    let server = MockServer::start_background(MockConfig {
        tags: vec![TagSeed {
            name: "Passport".into(),
            kind: TagType::KycDocument,
        }],
        ..MockConfig::default()
    });
    let created = post_json(
        &server,
        "/organizations/o/tags",
        &serde_json::json!({"name": "Big Spender+1", "type": "customer"}),
    );
    assert_eq!(created.status, 201);
    assert_eq!(created.json()["name"], "Big Spender+1");
    assert_eq!(created.json()["type"], "customer");
    assert_eq!(
        created.header("location"),
        Some(
            format!(
                "http://{}/organizations/o/tags/Big%20Spender%2B1",
                server.addr()
            )
            .as_str()
        )
    );
    let again = post_json(
        &server,
        "/tags",
        &serde_json::json!({"name": "big spender+1", "type": "customer"}),
    );
    assert_eq!(again.status, 409);
    let read = get(&server, "/tags/Big%20Spender%2B1");
    assert_eq!(read.status, 200);
    assert_eq!(read.json(), created.json());
    assert_eq!(get(&server, "/tags/Nope").status, 404);

    let invalid = |body: serde_json::Value| {
        let reply = post_json(&server, "/tags", &body);
        assert_eq!(reply.status, 422, "{body}");
        reply.json()["invalidFields"][0]["field"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        invalid(serde_json::json!({"name": "x", "type": "account"})),
        "type"
    );
    assert_eq!(invalid(serde_json::json!({"name": "x"})), "type");
    assert_eq!(invalid(serde_json::json!({"type": "customer"})), "name");
    assert_eq!(
        invalid(serde_json::json!({"name": "a/b", "type": "customer"})),
        "name"
    );
    assert_eq!(
        invalid(serde_json::json!({"name": "x".repeat(256), "type": "customer"})),
        "name"
    );
    let longest = post_json(
        &server,
        "/tags",
        &serde_json::json!({"name": "y".repeat(255), "type": "aml-check"}),
    );
    assert_eq!(longest.status, 201);

    let all = get(&server, "/tags?limit=2");
    assert_eq!(pagination(&all), [Some("3"), Some("2"), Some("0")]);
    let names: Vec<String> = all
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, strings(&["Passport", "Big Spender+1"]));
    let kyc = get(
        &server,
        "/tags?filter=type:kyc-document,aml-check;name:PASSPORT",
    );
    assert_eq!(kyc.json().as_array().unwrap().len(), 1);
    assert_eq!(
        server.requests_of(Operation::CreateTag)[0].tag,
        "Big Spender+1"
    );
}

#[test]
fn writes_to_missing_or_foreign_tags_are_refused_as_configured() {
    let seeds = vec![TagSeed {
        name: "Passport".into(),
        kind: TagType::KycDocument,
    }];
    let server = MockServer::start_background(MockConfig {
        tags: seeds,
        missing_tag: MissingTag::NotFound,
        ..MockConfig::default()
    });
    let missing = tag(&server, "/tags/VIP/customers", &["a"]);
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["detail"], "Tag not found.");
    let foreign = tag(&server, "/tags/passport/customers", &["a"]);
    assert_eq!(foreign.status, 422);
    assert_eq!(foreign.json()["invalidFields"][0]["field"], "tag");
    server.set_config(|c| c.missing_tag = MissingTag::Unprocessable);
    let missing = tag(&server, "/tags/VIP/customers", &["a"]);
    assert_eq!(missing.status, 422);
    assert_eq!(missing.json()["invalidFields"][0]["field"], "tag");
    assert!(server.add_tag("vip", TagType::Customer));
    assert_eq!(tag(&server, "/tags/VIP/customers", &["a"]).status, 204);
    assert!(server.accepted_ids() == strings(&["a"]));
    server.set_config(|c| c.missing_tag = MissingTag::Create);
    assert_eq!(tag(&server, "/tags/New/customers", &["a"]).status, 204);
    let names: Vec<String> = server.tags().into_iter().map(|t| t.name).collect();
    assert_eq!(names, strings(&["Passport", "vip", "New"]));
}

#[test]
fn an_ignored_filter_returns_customers_not_asked_for() {
    let server = MockServer::start_background(MockConfig {
        customers: Universe::Numbered(5),
        ignore_filter: true,
        ..MockConfig::default()
    });
    let reply = get(
        &server,
        "/customers?filter=id:cus_00003&fields=id,tags&limit=2",
    );
    let ids: Vec<String> = customer_tags(&reply)
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(ids, strings(&["cus_00000", "cus_00001"]));
    assert_eq!(pagination(&reply)[0], Some("5"));
}

#[test]
fn reads_meet_faults_and_are_limited_only_when_asked() {
    let server = MockServer::start_background(MockConfig {
        rate_limit: Some(RateLimit::new(1, 60)),
        ..MockConfig::default()
    });
    server.push_faults([Fault::Status500]);
    assert_eq!(get(&server, "/customers?filter=id:a").status, 500);
    for _ in 0..3 {
        assert_eq!(get(&server, "/tags").status, 200);
    }
    assert_eq!(
        tag(&server, "/tags/VIP/customers", &["a"]).status,
        204,
        "budget intact"
    );
    server.set_config(|c| c.rate_limit_reads = true);
    let limited = get(&server, "/customers?filter=id:a");
    assert_eq!(limited.status, 429);
    assert_eq!(limited.header("x-ratelimit-remaining"), Some("0"));
    assert!(limited.header("x-ratelimit-retry-after").is_some());
    server.set_config(|c| c.forbidden = ["key".to_owned()].into());
    assert_eq!(get(&server, "/tags/VIP").status, 403);
}

#[test]
fn admin_shows_customers_and_tags_and_routes_refuse_other_methods() {
    let server = MockServer::start_background(MockConfig::default());
    let created = send(
        &server,
        "POST",
        "/__mock/tags",
        &[],
        r#"{"name":"Doc","type":"kyc-document"}"#,
    )
    .unwrap();
    assert_eq!(created.status, 201);
    assert_eq!(tag(&server, "/tags/VIP/customers", &["b", "a"]).status, 204);
    let tags = send(&server, "GET", "/__mock/tags", &[], "").unwrap();
    assert_eq!(
        tags.json(),
        serde_json::json!([
            {"name": "Doc", "type": "kyc-document", "customers": 0},
            {"name": "VIP", "type": "customer", "customers": 2},
        ])
    );
    let customers = send(&server, "GET", "/__mock/customers", &[], "").unwrap();
    assert_eq!(
        customers.json(),
        serde_json::json!({"a": ["VIP"], "b": ["VIP"]})
    );
    let one = send(&server, "GET", "/__mock/customers/a", &[], "").unwrap();
    assert_eq!(
        one.json(),
        serde_json::json!({"id": "a", "exists": true, "tags": ["VIP"], "pending": []})
    );
    let stats = send(&server, "GET", "/__mock/stats", &[], "").unwrap();
    assert_eq!(stats.json()["pendingWrites"], 0);

    let refused = send(&server, "POST", "/customers", &["REB-APIKEY: key"], "").unwrap();
    assert_eq!(
        (refused.status, refused.header("allow")),
        (405, Some("GET"))
    );
    let refused = send(&server, "DELETE", "/tags", &["REB-APIKEY: key"], "").unwrap();
    assert_eq!(
        (refused.status, refused.header("allow")),
        (405, Some("GET, POST"))
    );
    let refused = send(&server, "PATCH", "/tags/VIP", &["REB-APIKEY: key"], "").unwrap();
    assert_eq!(
        (refused.status, refused.header("allow")),
        (405, Some("GET"))
    );
}
