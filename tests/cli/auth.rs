//! Credentials: where they come from, how they are sent, and what happens
//! when the API refuses them.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

use crate::support::*;

/// `tagctl` pointed at `server` with no credentials at all.
fn bare(server: &MockServer) -> assert_cmd::Command {
    let mut cmd = tagctl();
    cmd.env("REBILLY_API_URL", server.url());
    cmd
}

/// Lines of standard error that are warnings.
fn warnings(run: &Run) -> Vec<&str> {
    run.stderr_lines_starting("warning:")
}

/// A one-shot HTTP server that answers `204` to the first request and hands
/// back its head (request line and headers, exactly as sent), so that the
/// absence of a header can be asserted, not only the presence of one.
fn capture_one_request() -> (String, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let Ok((stream, _)) = listener.accept() else {
            return;
        };
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut reader = BufReader::new(stream);
        let mut head = String::new();
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
            head.push_str(&line);
        }
        let mut body = vec![0; length];
        let _ = reader.read_exact(&mut body);
        let mut stream = reader.into_inner();
        let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
        let _ = tx.send(head);
    });
    (url, rx)
}

/// The header lines of a captured request head, names lower-cased.
fn header_lines(head: &str) -> Vec<(String, String)> {
    head.lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect()
}

#[test]
fn rebilly_api_key_is_sent_as_reb_apikey_and_nothing_else() {
    let (url, heads) = capture_one_request();
    let out = run(tagctl()
        .env("REBILLY_API_KEY", KEY)
        .env("REBILLY_API_URL", &url)
        .args(["tag", "VIP", "cus_1", "--output", "json"]));
    out.expect_code(0);
    let head = heads
        .recv_timeout(Duration::from_secs(5))
        .expect("the request reached the server");
    let headers = header_lines(&head);
    let keys: Vec<&str> = headers
        .iter()
        .filter(|(n, _)| n == "reb-apikey")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(keys, [KEY], "exactly one REB-APIKEY header:\n{head}");
    assert!(
        !headers.iter().any(|(n, _)| n == "authorization"),
        "no Authorization header with an API key:\n{head}"
    );
}

#[test]
fn rebilly_api_key_reaches_the_api_on_every_request() {
    let server = mock(MockConfig {
        api_key: Some(KEY.into()),
        ..MockConfig::default()
    });
    let ids = ids(6);
    let mut args = vec!["tag", "VIP", "--batch-size", "2", "--output", "json"];
    args.extend(id_args(&ids));
    let out = run_against(&server, &args);
    out.expect_code(0);
    assert_eq!(balanced(&out)["confirmed"], 6);
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    for r in &requests {
        assert_eq!(r.api_key.as_deref(), Some(KEY));
        assert_eq!(r.bearer, None);
        assert_eq!(r.status, 204);
    }
    assert_eq!(accepted_sorted(&server), ids);
}

#[test]
fn api_key_flag_works_and_warns_once_without_echoing_the_key() {
    let server = mock(MockConfig {
        api_key: Some(KEY.into()),
        ..MockConfig::default()
    });
    let out = run(bare(&server).args(["--api-key", KEY, "tag", "VIP", "cus_1", "cus_2"]));
    out.expect_code(0);
    assert_eq!(accepted_sorted(&server), ["cus_1", "cus_2"]);
    assert_eq!(server.requests()[0].api_key.as_deref(), Some(KEY));
    let warned = warnings(&out);
    assert_eq!(warned.len(), 1, "one warning line:\n{}", out.stderr);
    assert!(warned[0].contains("--api-key"), "{}", warned[0]);
    assert!(
        !out.stderr.contains(KEY) && !out.stdout.contains(KEY),
        "the key is echoed:\n{}{}",
        out.stdout,
        out.stderr
    );
}

#[test]
fn api_key_flag_warning_leaves_the_json_summary_alone() {
    let server = default_mock();
    let out =
        run(bare(&server).args(["--api-key", KEY, "tag", "VIP", "cus_1", "--output", "json"]));
    out.expect_code(0);
    assert_eq!(balanced(&out)["confirmed"], 1, "stdout is only the summary");
    assert_eq!(warnings(&out).len(), 1, "{}", out.stderr);
    assert!(!out.stdout.contains("warning"));
}

#[test]
fn api_key_flag_after_the_command_works_too() {
    let server = default_mock();
    let out = run(bare(&server).args(["tag", "VIP", "cus_1", "--api-key", KEY]));
    out.expect_code(0);
    assert_eq!(server.requests()[0].api_key.as_deref(), Some(KEY));
    assert_eq!(warnings(&out).len(), 1, "{}", out.stderr);
}

#[test]
fn api_key_file_sends_its_first_line_trimmed_without_a_warning() {
    let server = mock(MockConfig {
        api_key: Some(KEY.into()),
        ..MockConfig::default()
    });
    let dir = Dir::new();
    let file = dir.file("key", format!("  {KEY}\t \r\nsecond-line-is-ignored\n"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let out = run(bare(&server).args(["--api-key-file", arg(&file), "tag", "VIP", "cus_1"]));
    out.expect_code(0);
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].api_key.as_deref(), Some(KEY));
    assert_eq!(requests[0].status, 204);
    assert!(warnings(&out).is_empty(), "{}", out.stderr);
    assert!(!out.stderr.contains(KEY));
}

#[test]
fn api_key_file_that_is_missing_is_a_usage_error() {
    let server = default_mock();
    let dir = Dir::new();
    let missing = dir.path("no-such-key");
    let out = run(bare(&server).args(["--api-key-file", arg(&missing), "tag", "VIP", "cus_1"]));
    out.expect_code(2);
    assert!(
        out.stderr.contains("no-such-key"),
        "names the file:\n{}",
        out.stderr
    );
    assert_eq!(server.request_count(), 0);
}

#[test]
fn api_key_file_that_is_empty_or_blank_is_a_usage_error() {
    let server = default_mock();
    let dir = Dir::new();
    for (name, content) in [("empty", ""), ("blank", "   \n"), ("newline", "\n{KEY}\n")] {
        let file = dir.file(name, content.replace("{KEY}", KEY));
        let out = run(bare(&server).args(["--api-key-file", arg(&file), "tag", "VIP", "cus_1"]));
        out.expect_code(2);
        assert!(
            out.stderr.contains("empty"),
            "{name}: says why:\n{}",
            out.stderr
        );
        assert!(!out.stderr.contains(KEY), "{name}: {}", out.stderr);
    }
    assert_eq!(server.request_count(), 0);
}

#[test]
fn jwt_flag_is_sent_as_authorization_bearer() {
    let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0YWdjdGwifQ.c2lnbmF0dXJl";
    let server = mock(MockConfig {
        jwt: Some(jwt.into()),
        ..MockConfig::default()
    });
    let out = run(bare(&server).args(["--jwt", jwt, "tag", "VIP", "cus_1", "cus_2"]));
    out.expect_code(0);
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].bearer.as_deref(), Some(jwt));
    assert_eq!(requests[0].api_key, None);
    assert_eq!(accepted_sorted(&server), ["cus_1", "cus_2"]);
    let warned = warnings(&out);
    assert_eq!(
        warned.len(),
        1,
        "a token on the command line warns:\n{}",
        out.stderr
    );
    assert!(!out.stderr.contains(jwt));
}

#[test]
fn rebilly_jwt_is_sent_as_authorization_bearer_and_nothing_else() {
    let jwt = "eyJ0eXAiOiJKV1QifQ.e30.sig";
    let (url, heads) = capture_one_request();
    let out = run(tagctl()
        .env("REBILLY_JWT", jwt)
        .env("REBILLY_API_URL", &url)
        .args(["tag", "VIP", "cus_1"]));
    out.expect_code(0);
    let head = heads.recv_timeout(Duration::from_secs(5)).unwrap();
    let headers = header_lines(&head);
    let auth: Vec<&str> = headers
        .iter()
        .filter(|(n, _)| n == "authorization")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(auth, [format!("Bearer {jwt}")], "{head}");
    assert!(!headers.iter().any(|(n, _)| n == "reb-apikey"), "{head}");
    assert!(warnings(&out).is_empty(), "{}", out.stderr);
}

#[test]
fn a_flag_wins_over_the_environment() {
    let server = default_mock();
    // --api-key over REBILLY_API_KEY.
    run_against(&server, &["--api-key", "sk_flag", "tag", "VIP", "cus_1"]).expect_code(0);
    // --jwt over REBILLY_API_KEY: a bearer token and no key at all.
    run_against(&server, &["--jwt", "jwt_flag", "tag", "VIP", "cus_2"]).expect_code(0);
    // --api-key over REBILLY_JWT.
    run(bare(&server).env("REBILLY_JWT", "jwt_env").args([
        "--api-key",
        "sk_flag2",
        "tag",
        "VIP",
        "cus_3",
    ]))
    .expect_code(0);
    let seen: Vec<(Option<String>, Option<String>)> = server
        .requests()
        .into_iter()
        .map(|r| (r.api_key, r.bearer))
        .collect();
    assert_eq!(
        seen,
        [
            (Some("sk_flag".into()), None),
            (None, Some("jwt_flag".into())),
            (Some("sk_flag2".into()), None),
        ]
    );
}

#[test]
fn with_only_the_environment_rebilly_api_key_wins_over_rebilly_jwt() {
    let server = default_mock();
    run(bare(&server)
        .env("REBILLY_API_KEY", KEY)
        .env("REBILLY_JWT", "jwt_env")
        .args(["tag", "VIP", "cus_1"]))
    .expect_code(0);
    let r = &server.requests()[0];
    assert_eq!(
        (r.api_key.as_deref(), r.bearer.as_deref()),
        (Some(KEY), None)
    );
}

#[test]
fn two_credential_flags_are_a_usage_error() {
    let server = default_mock();
    let dir = Dir::new();
    let file = dir.file("key", KEY);
    let combos: [&[&str]; 3] = [
        &["--api-key", KEY, "--jwt", "jwt"],
        &["--api-key", KEY, "--api-key-file", arg(&file)],
        &["--api-key-file", arg(&file), "--jwt", "jwt"],
    ];
    for flags in combos {
        let mut args = flags.to_vec();
        args.extend(["tag", "VIP", "cus_1"]);
        let out = run(bare(&server).args(&args));
        out.expect_code(2);
        assert!(!out.stderr.contains(KEY), "{flags:?}: {}", out.stderr);
    }
    assert_eq!(server.request_count(), 0);
}

#[test]
fn no_credentials_is_a_usage_error_before_any_request() {
    let server = default_mock();
    let out = run(bare(&server).args(["tag", "VIP", "cus_1", "cus_2"]));
    out.expect_code(2);
    assert!(out.stderr.contains("credentials"), "{}", out.stderr);
    // Blank variables are no credentials either.
    run(bare(&server)
        .env("REBILLY_API_KEY", "  ")
        .env("REBILLY_JWT", "")
        .args(["tag", "VIP", "cus_1"]))
    .expect_code(2);
    assert_eq!(server.request_count(), 0, "the server saw nothing");
}

/// Runs 6 IDs in batches of 2 at concurrency 1 against `server`, which
/// refuses the credentials, and checks the run stopped after the first request.
fn refused_run(server: &MockServer, status: u16, title: &str) -> serde_json::Value {
    let dir = Dir::new();
    let failed = dir.path("failed.txt");
    let ids = ids(6);
    let out = run_against(server, &job_args("2", &failed, &id_args(&ids)));
    out.expect_code(4);
    let status_line = format!("{status} {title}");
    assert!(
        out.stderr.lines().any(|l| l.trim() == status_line),
        "a `{status_line}` line on stderr:\n{}",
        out.stderr
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 1, "only the first request is sent");
    assert_eq!(requests[0].status, status);
    assert!(server.accepted_ids().is_empty());
    let j = balanced(&out);
    assert_eq!(j["confirmed"], 0);
    assert_eq!(j["failed"], 2, "the refused batch");
    assert_eq!(j["unsent"], 4, "the rest is unsent");
    assert_eq!(j["requests"], 1);
    assert_eq!(j["stopped"], "unauthorized");
    assert_eq!(
        read_failed(&failed),
        ids.join("\n") + "\n",
        "--failed-ids holds every ID"
    );
    j
}

#[test]
fn a_401_stops_the_run_with_exit_4_and_the_rest_unsent() {
    let server = mock(MockConfig {
        api_key: Some("sk_the_right_one".into()),
        ..MockConfig::default()
    });
    let j = refused_run(&server, 401, "Unauthorized");
    assert_eq!(server.requests()[0].api_key.as_deref(), Some(KEY));
    let problems = j["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{j}");
    assert_eq!(problems[0]["status"], 401);
    assert_eq!(problems[0]["title"], "Unauthorized");
}

#[test]
fn a_403_stops_the_run_with_exit_4_and_the_rest_unsent() {
    let server = mock(MockConfig {
        forbidden: [KEY.to_string()].into(),
        ..MockConfig::default()
    });
    let j = refused_run(&server, 403, "Forbidden");
    let problems = j["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{j}");
    assert_eq!(problems[0]["status"], 403);
}

#[test]
fn a_401_in_text_mode_prints_the_problem_and_exits_4() {
    let server = mock(MockConfig {
        api_key: Some("sk_the_right_one".into()),
        ..MockConfig::default()
    });
    let out = run_against(&server, &["tag", "VIP", "cus_1"]);
    out.expect_code(4);
    let lines: Vec<&str> = out.stderr.lines().map(str::trim).collect();
    let at = lines
        .iter()
        .position(|l| *l == "401 Unauthorized")
        .unwrap_or_else(|| panic!("status and title on one line:\n{}", out.stderr));
    assert_eq!(
        lines.get(at + 1).copied(),
        Some("Invalid credentials used."),
        "then the detail:\n{}",
        out.stderr
    );
    assert!(!out.stderr.contains(KEY) && !out.stdout.contains(KEY));
}

#[test]
fn a_401_stops_every_worker_not_only_the_one_that_met_it() {
    // Concurrency 4 with 20 batches: at most the requests already in flight
    // when the first 401 arrives are sent, never the whole input.
    let server = mock(MockConfig {
        api_key: Some("sk_the_right_one".into()),
        ..MockConfig::default()
    });
    let ids = ids(20);
    let mut args = vec!["tag", "VIP", "--batch-size", "1", "--output", "json"];
    args.extend(id_args(&ids));
    let out = run_against(&server, &args);
    out.expect_code(4);
    let j = balanced(&out);
    let sent = server.request_count();
    assert!((1..=4).contains(&sent), "{sent} requests sent");
    assert_eq!(j["requests"], sent);
    assert_eq!(j["confirmed"], 0);
    assert_eq!(
        j["failed"].as_u64().unwrap() + j["unsent"].as_u64().unwrap(),
        20
    );
    assert_eq!(j["unsent"].as_u64().unwrap(), 20 - sent);
}
