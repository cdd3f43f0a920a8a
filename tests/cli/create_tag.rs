//! `--create-tag`: before the first write, `GET /tags/{tag}`; a customer tag
//! goes on, another type is exit 2, a missing one is created (`POST /tags`,
//! 201, or 409 when someone else just did). Without it, a write that finds
//! no tag stops with a hint naming `--create-tag`.

use tagctl_mock::{MissingTag, Operation, TagSeed, TagType};

use crate::support::*;

/// A mock where writes to a missing tag get `missing` and `seeds` exist.
fn strict(missing: MissingTag, seeds: &[(&str, TagType)]) -> MockServer {
    mock(MockConfig {
        missing_tag: missing,
        tags: seeds
            .iter()
            .map(|(name, kind)| TagSeed {
                name: (*name).into(),
                kind: *kind,
            })
            .collect(),
        ..MockConfig::default()
    })
}

/// The operations the server saw, in order.
fn operations(server: &MockServer) -> Vec<Operation> {
    server.requests().into_iter().map(|r| r.operation).collect()
}

#[test]
fn a_missing_tag_is_created_then_written() {
    let server = strict(MissingTag::NotFound, &[]);
    let out = run_against(&server, &["tag", "Big Spender+1", "a", "b", "--create-tag"]);
    out.expect_code(0);
    assert_eq!(out.stderr, "created the customer tag \"Big Spender+1\"\n");
    assert_eq!(
        operations(&server),
        [Operation::GetTag, Operation::CreateTag, Operation::Tag]
    );
    let tags = server.tags();
    assert_eq!(
        (tags[0].name.as_str(), tags[0].kind),
        ("Big Spender+1", TagType::Customer)
    );
    let requests = server.requests();
    assert_eq!(requests[0].path, "/tags/Big%20Spender%2B1");
    assert_eq!(requests[1].path, "/tags");
    assert_eq!(requests[1].api_key.as_deref(), Some(KEY));
    assert_eq!(server.tagged("big spender+1").len(), 2);
}

#[test]
fn an_existing_customer_tag_in_any_case_is_used_as_is() {
    let server = strict(MissingTag::NotFound, &[("VIP", TagType::Customer)]);
    let out = run_against(&server, &["tag", "vip", "a", "--create-tag"]);
    out.expect_code(0);
    assert_eq!(out.stderr, "tag \"vip\" exists\n");
    assert_eq!(operations(&server), [Operation::GetTag, Operation::Tag]);
}

#[test]
fn a_tag_created_meanwhile_409_goes_on() {
    let server = strict(MissingTag::NotFound, &[]);
    // The GET says 404; by the POST someone else has created it.
    server.push_faults([
        Fault::RawProblem {
            status: 404,
            content_type: "application/problem+json".into(),
            body: r#"{"title":"Not Found","status":404}"#.into(),
        },
        Fault::RawProblem {
            status: 409,
            content_type: "application/problem+json".into(),
            body: r#"{"title":"Conflict","status":409}"#.into(),
        },
    ]);
    server.add_tag("VIP", TagType::Customer);
    let out = run_against(
        &server,
        &["tag", "VIP", "a", "--create-tag", "--output", "json"],
    );
    out.expect_code(0);
    assert_eq!(
        out.stderr,
        "tag \"VIP\" was created meanwhile by someone else\n"
    );
    assert_eq!(count(&out.json(), "confirmed"), 1);
}

#[test]
fn a_tag_of_another_type_is_exit_2_before_any_write() {
    let server = strict(MissingTag::NotFound, &[("Passport", TagType::KycDocument)]);
    let out = run_against(&server, &["tag", "passport", "a", "--create-tag"]);
    out.expect_code(2);
    assert_eq!(
        out.stderr,
        "error: the tag \"passport\" exists as a kyc-document tag, not a customer tag: it cannot be assigned to customers\n"
    );
    assert_eq!(operations(&server), [Operation::GetTag]);
}

#[test]
fn refused_credentials_exit_4_before_any_write() {
    let server = mock(MockConfig {
        forbidden: [KEY.to_owned()].into(),
        ..MockConfig::default()
    });
    let out = run_against(&server, &["tag", "VIP", "a", "--create-tag"]);
    out.expect_code(4);
    assert_eq!(
        out.stderr,
        "error: --create-tag: cannot read the tag \"VIP\": the API answered 403 Forbidden: These credentials may not read this resource; nothing was sent\n"
    );
    assert_eq!(operations(&server), [Operation::GetTag]);
}

#[test]
fn a_dry_run_says_what_it_would_do_and_sends_nothing() {
    let server = default_mock();
    let out = run(tagctl().env("REBILLY_API_URL", server.url()).args([
        "tag",
        "VIP",
        "a",
        "--create-tag",
        "--dry-run",
    ]));
    out.expect_code(0);
    let url = server.url();
    assert_eq!(
        out.stderr,
        format!(
            "would check GET {url}/tags/VIP and, if it is missing (404), create it with POST {url}/tags {{\"name\": …, \"type\": \"customer\"}}\n"
        )
    );
    assert!(server.requests().is_empty());
}

#[test]
fn without_create_tag_a_missing_tag_stops_with_a_hint() {
    for missing in [MissingTag::NotFound, MissingTag::Unprocessable] {
        let server = strict(missing, &[]);
        let all = ids(3);
        let mut args = vec![
            "tag",
            "VIP",
            "--batch-size",
            "1",
            "--concurrency",
            "1",
            "--output",
            "json",
        ];
        args.extend(id_args(&all));
        let out = run_against(&server, &args);
        out.expect_code(1);
        let hint = "  hint: the tag may not exist; run again with --create-tag to create it (as a customer tag) first";
        assert_eq!(
            out.stderr.lines().last(),
            Some(hint),
            "{missing:?}\n{}",
            out.stderr
        );
        assert_eq!(
            server.requests().len(),
            1,
            "the run stops at the first refusal"
        );
        let j = balanced(&out);
        assert_eq!((count(&j, "failed"), count(&j, "unsent")), (1, 2));
    }
}

#[test]
fn create_tag_is_only_for_tag() {
    let server = default_mock();
    let out = run_against(&server, &["untag", "VIP", "a", "--create-tag"]);
    out.expect_code(2);
    assert_eq!(
        out.stderr,
        "error: --create-tag is for tag: untag needs a tag that exists\n"
    );
    assert!(server.requests().is_empty());
}

#[test]
fn an_output_error_is_exit_2_before_the_create_tag_pre_flight() {
    // The contract: input errors are exit 2 before any request, and
    // --create-tag's GET/POST are requests.
    let server = default_mock();
    let dir = Dir::new();
    let not_a_journal = dir.file("ids.txt", "cus_1\n");
    let run = run_against(
        &server,
        &[
            "tag",
            "VIP",
            "cus_1",
            "--create-tag",
            "--journal",
            arg(&not_a_journal),
        ],
    );
    run.expect_code(2);
    assert_eq!(
        run.stderr,
        format!(
            "error: --journal {} is not a tagctl journal (refusing to overwrite it)\n",
            not_a_journal.display()
        )
    );
    assert_eq!(server.request_count(), 0);
}

#[test]
fn a_create_tag_pre_flight_that_reaches_no_api_is_exit_3() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let run = run(tagctl()
        .env("REBILLY_API_KEY", KEY)
        .args(["--api-url", &format!("http://127.0.0.1:{port}")])
        .args(["tag", "VIP", "cus_1", "--create-tag"]));
    run.expect_code(3);
    assert!(
        run.stderr.starts_with(
            "error: --create-tag: cannot read the tag \"VIP\": cannot reach the API (Cannot connect: "
        ) && run.stderr.ends_with("; nothing was sent\n"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1);
}
