//! Credentials stay home: never printed, never sent in clear text across a
//! network, never handed to another origin by a redirect.

use std::time::Duration;

use crate::support::*;

/// A JWT as distinctive as [`KEY`].
const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJsZWFrIn0.SIGNATURE_0d6c5b";

/// Asserts that neither stream holds `secret`, nor its distinctive tail.
#[track_caller]
fn assert_never_printed(out: &Run, secret: &str, what: &str) {
    let tail = &secret[secret.len() - 12..];
    for (stream, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        assert!(
            !text.contains(secret) && !text.contains(tail),
            "{what}: the secret appears on {stream}:\n{text}"
        );
    }
}

/// How a leak scenario passes its credentials and asks for output.
const MODES: [(&str, &[&str]); 3] = [
    ("REBILLY_API_KEY, --verbose", &["--verbose"]),
    (
        "--api-key, --verbose --output json",
        &["--verbose", "--output", "json", "--api-key", KEY],
    ),
    ("--jwt, --verbose", &["--verbose", "--jwt", JWT]),
];

/// Runs `tagctl tag VIP <n IDs> <args>` (batches of 2, one at a time) in
/// every mode against a fresh mock made by `server`, and checks no secret
/// is printed. Returns the runs and their servers for further checks.
fn leak_check(
    what: &str,
    n: usize,
    server: impl Fn() -> MockServer,
    api_url: impl Fn(&MockServer) -> String,
    args: &[&str],
) -> Vec<(Run, MockServer)> {
    let ids = ids(n);
    MODES
        .iter()
        .map(|(mode, flags)| {
            let server = server();
            let mut cmd = tagctl();
            if !flags.contains(&"--api-key") && !flags.contains(&"--jwt") {
                cmd.env("REBILLY_API_KEY", KEY);
            }
            cmd.env("REBILLY_API_URL", api_url(&server))
                .args(["tag", "VIP", "--batch-size", "2", "--concurrency", "1"])
                .args(*flags)
                .args(args)
                .args(id_args(&ids));
            let out = run(&mut cmd);
            let what = format!("{what} ({mode})");
            assert_never_printed(&out, KEY, &what);
            assert_never_printed(&out, JWT, &what);
            assert!(
                out.stderr.contains(" attempt 1: "),
                "{what}: the verbose trace is there:\n{}",
                out.stderr
            );
            // The secret was really in use: the server got it, in its header.
            let expected = if flags.contains(&"--jwt") {
                (None, Some(JWT))
            } else {
                (Some(KEY), None)
            };
            for r in server.requests() {
                assert_eq!(
                    (r.api_key.as_deref(), r.bearer.as_deref()),
                    expected,
                    "{what}"
                );
            }
            (out, server)
        })
        .collect()
}

fn own_url(server: &MockServer) -> String {
    server.url()
}

#[test]
fn the_secret_never_appears_in_the_output_of_a_successful_run() {
    for (out, server) in leak_check("success", 6, default_mock, own_url, &[]) {
        out.expect_code(0);
        assert_eq!(accepted_sorted(&server), ids(6));
    }
}

#[test]
fn the_secret_never_appears_in_the_output_of_a_401() {
    let server = || {
        mock(MockConfig {
            api_key: Some("sk_other".into()),
            jwt: Some("jwt_other".into()),
            ..MockConfig::default()
        })
    };
    for (out, server) in leak_check("401", 6, server, own_url, &[]) {
        out.expect_code(4);
        assert_eq!(server.requests()[0].status, 401);
    }
}

#[test]
fn the_secret_never_appears_in_the_output_of_retried_500s() {
    let server = || {
        let s = default_mock();
        // Each batch meets one failure, so every wait is a first, short one.
        let pass = Fault::Slow(Duration::ZERO);
        s.push_faults([
            Fault::Status500,
            pass.clone(),
            Fault::Html502,
            pass,
            Fault::Empty503,
        ]);
        s
    };
    for (out, server) in leak_check("5xx", 6, server, own_url, &["--max-retries", "3"]) {
        out.expect_code(0);
        assert_eq!(server.request_count(), 6);
        assert!(out.stderr.contains("waiting"), "{}", out.stderr);
    }
}

#[test]
fn the_secret_never_appears_in_the_output_of_network_errors() {
    // A dropped connection, then a timeout, then retries exhausted.
    let server = || {
        let s = default_mock();
        s.push_faults([
            Fault::Drop,
            Fault::Slow(Duration::from_millis(1500)),
            Fault::Drop,
        ]);
        s
    };
    let args = ["--max-retries", "1", "--timeout", "0.3"];
    for (out, _server) in leak_check("dropped and slow", 6, server, own_url, &args) {
        out.expect_code(1);
    }
    // Nobody listening at all.
    let closed = |_: &MockServer| {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let args = ["--max-retries", "1"];
    for (out, _server) in leak_check("refused", 2, default_mock, closed, &args) {
        out.expect_code(3);
        assert!(
            out.stderr.contains("cannot reach the API"),
            "{}",
            out.stderr
        );
    }
}

#[test]
fn the_secret_never_appears_in_the_output_of_a_refused_redirect() {
    let other = default_mock();
    let location = format!("{}/tags/VIP/customers", other.url());
    let server = || {
        let s = default_mock();
        s.push_faults([Fault::Redirect {
            status: 307,
            location: location.clone(),
        }]);
        s
    };
    for (out, _server) in leak_check("redirect", 6, server, own_url, &[]) {
        out.expect_code(1);
    }
    assert_eq!(other.request_count(), 0);
}

#[test]
fn the_secret_never_appears_in_the_output_of_rejected_ids() {
    let server = || {
        mock(MockConfig {
            reject_ids: ["cus_00003".to_string()].into(),
            ..MockConfig::default()
        })
    };
    for (out, server) in leak_check("422", 6, server, own_url, &[]) {
        out.expect_code(1);
        assert_eq!(server.accepted_ids().len(), 5);
    }
}

#[test]
fn the_secret_never_appears_in_the_output_of_a_dry_run() {
    let server = default_mock();
    for (mode, extra) in [("text", &[][..]), ("json", &["--output", "json"][..])] {
        let out = run(against(&server, &["--api-key", KEY, "--jwt", JWT])
            .args(["tag", "VIP", "cus_1", "cus_2", "--dry-run", "--verbose"])
            .args(extra));
        // Two credential flags are refused before anything else: with one...
        out.expect_code(2);
        assert_never_printed(&out, KEY, mode);
        assert_never_printed(&out, JWT, mode);
        let out = run(against(&server, &["--api-key", KEY])
            .args(["tag", "VIP", "cus_1", "cus_2", "--dry-run", "--verbose"])
            .args(extra));
        out.expect_code(0);
        assert_never_printed(&out, KEY, mode);
        // The requests go to stdout, unless stdout holds the JSON summary.
        let request = format!(
            "POST {}/tags/VIP/customers (2 IDs, cus_1 … cus_2)",
            server.url()
        );
        let stream = if mode == "json" {
            &out.stderr
        } else {
            &out.stdout
        };
        assert!(
            stream.lines().any(|l| l == request),
            "the dry run prints the request on {}:\n{}",
            if mode == "json" { "stderr" } else { "stdout" },
            stream
        );
    }
    assert_eq!(server.request_count(), 0, "a dry run sends nothing");
}

#[test]
fn a_key_that_cannot_be_sent_as_a_header_is_refused_without_echoing_it() {
    let server = default_mock();
    let bad = format!("{KEY}\u{7f}tail");
    let out = run(tagctl()
        .env("REBILLY_API_URL", server.url())
        .env("REBILLY_API_KEY", &bad)
        .args(["tag", "VIP", "cus_1"]));
    out.expect_code(2);
    assert_never_printed(&out, KEY, "bad header value");
    assert_eq!(server.request_count(), 0);
}

#[test]
fn a_password_in_the_api_url_is_never_printed() {
    let server = default_mock();
    server.push_faults([Fault::Status500]);
    let url = server
        .url()
        .replace("http://", "http://me:pw_SECRET_51fe2a@");
    let out = run(tagctl()
        .env("REBILLY_API_KEY", KEY)
        .env("REBILLY_API_URL", &url)
        .args(["tag", "VIP", "cus_1", "--verbose", "--max-retries", "1"]));
    out.expect_code(0);
    assert_never_printed(&out, "pw_SECRET_51fe2a", "userinfo");
    assert!(out.stderr.contains("attempt 2"), "{}", out.stderr);
}

/// `tagctl` with a plain-http proxy that is the mock itself: a request that
/// leaves for any non-loopback `http://` host lands there, so "no request
/// left" is observable without touching the network.
fn through_proxy(proxy: &MockServer, api_url: &str) -> assert_cmd::Command {
    let mut cmd = tagctl();
    for var in ["NO_PROXY", "no_proxy"] {
        cmd.env_remove(var);
    }
    cmd.env("REBILLY_API_KEY", KEY)
        .env("REBILLY_API_URL", api_url)
        .env("HTTP_PROXY", proxy.url())
        .env("http_proxy", proxy.url())
        .timeout(Duration::from_secs(20));
    cmd
}

const INSECURE_URLS: [&str; 5] = [
    "http://example.invalid",
    "HTTP://API.Example.Invalid:8080/proxy/",
    "http://10.255.255.1",
    "http://localhost.example.invalid",
    "http://[2001:db8::1]",
];

#[test]
fn plain_http_to_a_non_loopback_host_is_refused_before_any_connection() {
    let proxy = default_mock();
    for url in INSECURE_URLS {
        let out =
            run(through_proxy(&proxy, url).args(["tag", "VIP", "cus_1", "--max-retries", "0"]));
        out.expect_code(2);
        assert!(
            out.stderr.contains("--allow-insecure-http"),
            "{url}: says how to override:\n{}",
            out.stderr
        );
        assert_never_printed(&out, KEY, url);
    }
    assert_eq!(proxy.request_count(), 0, "nothing left for any of them");
}

#[test]
fn allow_insecure_http_sends_over_plain_http_to_any_host() {
    let proxy = default_mock();
    for url in INSECURE_URLS {
        let out = run(through_proxy(&proxy, url).args([
            "tag",
            "VIP",
            "cus_1",
            "--allow-insecure-http",
            "--max-retries",
            "0",
        ]));
        out.expect_code(0);
    }
    let requests = proxy.requests();
    assert_eq!(requests.len(), INSECURE_URLS.len(), "each one was sent");
    for r in &requests {
        assert_eq!(r.api_key.as_deref(), Some(KEY));
        assert_eq!(r.status, 204);
    }
    assert_eq!(requests[1].path, "/proxy/tags/VIP/customers");
}

#[test]
fn allow_insecure_http_tries_an_unresolvable_host_instead_of_refusing() {
    let out = run(tagctl()
        .env("REBILLY_API_KEY", KEY)
        .env("REBILLY_API_URL", "http://tagctl-test.invalid")
        .args([
            "tag",
            "VIP",
            "cus_1",
            "--allow-insecure-http",
            "--max-retries",
            "0",
            "--timeout",
            "2",
            "--output",
            "json",
        ]));
    // Never reached: exit 3, and nothing was sent.
    out.expect_code(3);
    let j = balanced(&out);
    assert_eq!(j["requests"], 1, "it tried: {j}");
    assert_eq!(j["unsent"], 1);
    assert_never_printed(&out, KEY, "unresolvable");
}

#[test]
fn a_dry_run_to_a_plain_http_host_with_allow_insecure_http_sends_nothing() {
    let proxy = default_mock();
    let out = run(through_proxy(&proxy, "http://example.invalid").args([
        "tag",
        "VIP",
        "cus_1",
        "--dry-run",
        "--allow-insecure-http",
    ]));
    out.expect_code(0);
    assert!(
        out.stdout
            .contains("http://example.invalid/tags/VIP/customers"),
        "{}",
        out.stdout
    );
    assert_eq!(proxy.request_count(), 0);
}

#[test]
fn https_to_any_host_is_not_refused() {
    let out = run(tagctl().env("REBILLY_API_KEY", KEY).args([
        "--api-url",
        "https://api.example.invalid",
        "tag",
        "VIP",
        "cus_1",
        "--dry-run",
    ]));
    out.expect_code(0);
    assert!(
        out.stdout
            .contains("https://api.example.invalid/tags/VIP/customers"),
        "{}",
        out.stdout
    );
}

/// Runs one tag job against `url` (the mock under some loopback name) and
/// checks it went through.
fn tags_over_loopback(server: &MockServer, url: &str) {
    let out = run(tagctl()
        .env("REBILLY_API_KEY", KEY)
        .env("REBILLY_API_URL", url)
        .args(["tag", "VIP", "cus_1", "cus_2", "--output", "json"]));
    out.expect_code(0);
    assert_eq!(balanced(&out)["confirmed"], 2, "{url}");
    assert_eq!(accepted_sorted(server), ["cus_1", "cus_2"], "{url}");
    assert_eq!(server.requests()[0].api_key.as_deref(), Some(KEY));
}

#[test]
fn plain_http_to_127_0_0_1_is_allowed() {
    let server = default_mock();
    tags_over_loopback(&server, &server.url());
}

#[test]
fn plain_http_to_localhost_is_allowed() {
    let server = default_mock();
    let url = format!("http://localhost:{}", server.addr().port());
    tags_over_loopback(&server, &url);
}

#[test]
fn plain_http_to_ipv6_loopback_is_allowed() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let addr = "[::1]:0".parse().unwrap();
    let server = match runtime.block_on(MockServer::start(MockConfig::default(), addr)) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("skipped: cannot bind [::1] here ({e})");
            return;
        }
    };
    let url = format!("http://[::1]:{}", server.addr().port());
    tags_over_loopback(&server, &url);
    drop(server);
}

/// A mock that requires [`KEY`] and answers its first request with `fault`.
fn redirecting(fault: Fault) -> MockServer {
    let server = mock(MockConfig {
        api_key: Some(KEY.into()),
        ..MockConfig::default()
    });
    server.push_faults([fault]);
    server
}

/// 6 IDs, batches of 2, concurrency 1, JSON, `--failed-ids`.
fn run_six(server: &MockServer, dir: &Dir) -> Run {
    let ids = ids(6);
    let failed = dir.path("failed.txt");
    run_against(server, &job_args("2", &failed, &id_args(&ids)))
}

#[test]
fn a_redirect_to_another_origin_is_not_followed_and_stops_the_run() {
    for status in [301, 302, 303, 307, 308] {
        let elsewhere = default_mock();
        let server = redirecting(Fault::Redirect {
            status,
            location: format!("{}/tags/VIP/customers", elsewhere.url()),
        });
        let dir = Dir::new();
        let out = run_six(&server, &dir);
        out.expect_code(1);
        assert_eq!(
            elsewhere.request_count(),
            0,
            "{status}: the other origin got nothing (so not the key)"
        );
        assert_eq!(server.request_count(), 1, "{status}: the run stopped");
        assert!(
            out.stderr.contains("redirect") && out.stderr.contains(&elsewhere.url()),
            "{status}: reported:\n{}",
            out.stderr
        );
        let j = balanced(&out);
        assert_eq!(j["confirmed"], 0);
        assert_eq!(j["failed"], 2);
        assert_eq!(j["unsent"], 4);
        assert!(j["stopped"].is_string(), "{j}");
        assert_eq!(
            read_failed(&dir.path("failed.txt")),
            ids(6).join("\n") + "\n"
        );
        assert_never_printed(&out, KEY, "redirect");
    }
}

#[test]
fn a_redirect_to_the_same_port_under_another_host_name_is_another_origin() {
    let server = mock(MockConfig {
        api_key: Some(KEY.into()),
        ..MockConfig::default()
    });
    server.push_faults([Fault::Redirect {
        status: 307,
        location: format!(
            "http://localhost:{}/tags/VIP/customers",
            server.addr().port()
        ),
    }]);
    let dir = Dir::new();
    let out = run_six(&server, &dir);
    out.expect_code(1);
    assert_eq!(server.request_count(), 1, "not followed");
    assert!(server.accepted_ids().is_empty());
}

#[test]
fn a_redirect_to_https_on_the_same_host_is_another_origin() {
    let server = redirecting(Fault::Redirect {
        status: 308,
        location: "https://127.0.0.1:1/tags/VIP/customers".into(),
    });
    let dir = Dir::new();
    let out = run_six(&server, &dir);
    out.expect_code(1);
    assert_eq!(server.request_count(), 1);
}

#[test]
fn a_307_or_308_to_the_same_origin_is_followed_and_the_ids_confirmed() {
    for (status, location) in [
        (307, "/v2/tags/VIP/customers".to_string()),
        (308, "{url}/v3/tags/VIP/customers".to_string()),
    ] {
        let server = mock(MockConfig {
            api_key: Some(KEY.into()),
            ..MockConfig::default()
        });
        server.push_faults([Fault::Redirect {
            status,
            location: location.replace("{url}", &server.url()),
        }]);
        let dir = Dir::new();
        let out = run_six(&server, &dir);
        out.expect_code(0);
        let j = balanced(&out);
        assert_eq!(j["confirmed"], 6, "{status}: {j}");
        assert_eq!(accepted_sorted(&server), ids(6), "{status}");
        let requests = server.requests();
        assert_eq!(requests.len(), 4, "{status}: one redirect, then 3 batches");
        assert_eq!(requests[0].status, status);
        let followed = &requests[1];
        let prefix = if status == 307 { "/v2" } else { "/v3" };
        assert_eq!(followed.path, format!("{prefix}/tags/VIP/customers"));
        assert_eq!(followed.method, "POST", "the method is kept");
        assert_eq!(followed.ids, requests[0].ids, "the body is kept");
        assert_eq!(followed.api_key.as_deref(), Some(KEY));
        assert_eq!(followed.status, 204);
        assert_eq!(read_failed(&dir.path("failed.txt")), "");
    }
}

#[test]
fn a_redirect_loop_on_the_same_origin_ends() {
    let server = default_mock();
    server.push_faults((0..20).map(|_| Fault::Redirect {
        status: 307,
        location: "/tags/VIP/customers".into(),
    }));
    let out = run(
        against(&server, &["tag", "VIP", "cus_1", "--output", "json"])
            .timeout(Duration::from_secs(10)),
    );
    out.expect_code(1);
    let j = balanced(&out);
    assert_eq!(j["failed"], 1);
    assert!(server.request_count() <= 11, "{}", server.request_count());
    assert!(server.accepted_ids().is_empty());
}

#[test]
fn a_same_origin_302_is_not_followed_as_it_would_drop_the_body() {
    let server = default_mock();
    server.push_faults([Fault::Redirect {
        status: 302,
        location: format!("{}/elsewhere/tags/VIP/customers", server.url()),
    }]);
    let run = run_against(&server, &["tag", "VIP", "cus_1", "--output", "json"]);
    run.expect_code(1);
    let json = balanced(&run);
    assert_eq!(count(&json, "confirmed"), 0, "{json}");
    assert_eq!(server.requests().len(), 1, "no GET followed the 302");
    assert!(run.stderr.contains("redirect (302)"), "{}", run.stderr);
}

#[test]
fn a_name_under_localhost_is_not_loopback() {
    let run = run(tagctl().env("REBILLY_API_KEY", KEY).args([
        "tag",
        "VIP",
        "cus_1",
        "--api-url",
        "http://api.localhost:9",
    ]));
    run.expect_code(2);
    assert!(run.stderr.contains("plain http://"), "{}", run.stderr);
}

#[test]
fn a_dry_run_without_credentials_may_name_a_plain_http_host() {
    let run = run(tagctl().args([
        "tag",
        "VIP",
        "cus_1",
        "--dry-run",
        "--api-url",
        "http://example.invalid",
    ]));
    run.expect_code(0);
    assert!(
        run.stdout
            .contains("http://example.invalid/tags/VIP/customers"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_key_echoed_back_by_the_server_is_not_printed() {
    let server = default_mock();
    let body = format!(
        r#"{{"title":"Unauthorized","status":401,"detail":"API key {KEY} is revoked","instance":"/keys/{KEY}"}}"#
    );
    server.push_faults([Fault::RawProblem {
        status: 401,
        content_type: "application/problem+json".into(),
        body,
    }]);
    let run = run_against(&server, &["tag", "VIP", "cus_1", "-v", "--output", "json"]);
    run.expect_code(4);
    assert!(!run.stderr.contains(KEY), "{}", run.stderr);
    assert!(!run.stdout.contains(KEY), "{}", run.stdout);
    assert!(
        run.stderr.contains("API key *** is revoked"),
        "{}",
        run.stderr
    );
}
