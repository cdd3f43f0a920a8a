//! What reaches the API: batches, method, URL (tag encoding, organization,
//! proxy prefix, hosts), headers and body.

use crate::support::*;

/// The IDs of each request, in arrival order.
fn batches(server: &MockServer) -> Vec<Vec<String>> {
    server.requests().into_iter().map(|r| r.ids).collect()
}

/// The only request the server received.
#[track_caller]
fn only_request(server: &MockServer) -> tagctl_mock::RecordedRequest {
    let mut requests = server.requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    requests.remove(0)
}

// ---- batching ----

#[test]
fn ids_are_sent_in_batches_of_1000_each_accepted_once() {
    let server = default_mock();
    let dir = Dir::new();
    let all = ids(2500);
    let file = dir.file("ids.txt", all.join("\n"));
    let run = run_against(
        &server,
        &["tag", "VIP", "-f", arg(&file), "--output", "json"],
    );
    run.expect_code(0);
    let j = balanced(&run);
    assert_eq!(
        (j["confirmed"].as_u64(), j["requests"].as_u64()),
        (Some(2500), Some(3))
    );
    // Batches may arrive in any order with --concurrency 4; each is a run of the input.
    let mut got = batches(&server);
    got.sort_by(|a, b| a[0].cmp(&b[0]));
    let expected: Vec<Vec<String>> = all.chunks(1000).map(<[String]>::to_vec).collect();
    assert_eq!(
        got.iter().map(Vec::len).collect::<Vec<_>>(),
        [1000, 1000, 500]
    );
    assert_eq!(got, expected);
    assert_eq!(accepted_sorted(&server), all);
    assert!(server.requests().iter().all(|r| r.status == 204));
}

#[test]
fn batch_size_splits_the_ids_accordingly() {
    let server = default_mock();
    let all = ids(20);
    let mut args = vec!["tag", "VIP", "--batch-size", "7", "--concurrency", "1"];
    args.extend(id_args(&all));
    run_against(&server, &args).expect_code(0);
    let expected: Vec<Vec<String>> = all.chunks(7).map(<[String]>::to_vec).collect();
    assert_eq!(batches(&server), expected);
    assert_eq!(expected.iter().map(Vec::len).collect::<Vec<_>>(), [7, 7, 6]);
}

#[test]
fn batch_size_1000_is_allowed() {
    let server = default_mock();
    run_against(&server, &["tag", "VIP", "cus_1", "--batch-size", "1000"]).expect_code(0);
    assert_eq!(batches(&server), [["cus_1"]]);
}

// ---- the URL ----

#[test]
fn a_tag_with_a_space_is_percent_encoded_in_the_path() {
    let server = default_mock();
    run_against(&server, &["tag", "Big Spender", "cus_1"]).expect_code(0);
    let r = only_request(&server);
    assert_eq!(r.tag, "Big Spender");
    assert_eq!(r.path, "/tags/Big%20Spender/customers");
    assert_eq!(
        server.tagged("Big Spender").into_iter().collect::<Vec<_>>(),
        ["cus_1"]
    );
}

#[test]
fn a_tag_with_plus_and_at_reaches_the_server_intact() {
    let server = default_mock();
    run_against(&server, &["tag", "a+b@c d", "cus_1"]).expect_code(0);
    let r = only_request(&server);
    assert_eq!(r.tag, "a+b@c d");
    // Everything but RFC 3986's unreserved characters is encoded: `+` must
    // be (a server may read it as a space), and `@` is, for the same rule.
    assert_eq!(r.path, "/tags/a%2Bb%40c%20d/customers");
}

#[test]
fn organization_id_flag_adds_the_organization_path() {
    let server = default_mock();
    run_against(
        &server,
        &["--organization-id", "acme-1", "tag", "VIP", "cus_1"],
    )
    .expect_code(0);
    let r = only_request(&server);
    assert_eq!(r.path, "/organizations/acme-1/tags/VIP/customers");
    assert_eq!(r.organization.as_deref(), Some("acme-1"));
}

#[test]
fn organization_id_from_the_environment_adds_the_organization_path() {
    let server = default_mock();
    let mut cmd = against(&server, &["tag", "VIP", "cus_1"]);
    cmd.env("REBILLY_ORGANIZATION_ID", "org_env");
    run(&mut cmd).expect_code(0);
    let r = only_request(&server);
    assert_eq!(r.path, "/organizations/org_env/tags/VIP/customers");
    assert_eq!(r.organization.as_deref(), Some("org_env"));
}

#[test]
fn api_url_path_prefix_is_kept_and_a_trailing_slash_is_harmless() {
    let server = default_mock();
    for (base, expected) in [
        (
            format!("{}/proxy/v1/", server.url()),
            "/proxy/v1/tags/VIP/customers",
        ),
        (
            format!("{}/proxy/v1", server.url()),
            "/proxy/v1/tags/VIP/customers",
        ),
        (format!("{}/", server.url()), "/tags/VIP/customers"),
    ] {
        server.reset();
        run_against(&server, &["tag", "VIP", "cus_1", "--api-url", &base]).expect_code(0);
        assert_eq!(only_request(&server).path, expected, "--api-url {base}");
    }
    server.reset();
    let base = format!("{}/proxy/v1/", server.url());
    run_against(
        &server,
        &[
            "tag",
            "VIP",
            "cus_1",
            "--api-url",
            &base,
            "--organization-id",
            "o1",
        ],
    )
    .expect_code(0);
    assert_eq!(
        only_request(&server).path,
        "/proxy/v1/organizations/o1/tags/VIP/customers"
    );
}

#[test]
fn untag_sends_delete_and_the_server_drops_the_tag() {
    let server = default_mock();
    run_against(&server, &["tag", "VIP", "cus_1", "cus_2", "cus_3"]).expect_code(0);
    let run = run_against(
        &server,
        &["untag", "VIP", "cus_1", "cus_3", "--output", "json"],
    );
    run.expect_code(0);
    assert_eq!(balanced(&run)["confirmed"], 2);
    let requests = server.requests();
    assert_eq!(
        requests
            .iter()
            .map(|r| r.method.as_str())
            .collect::<Vec<_>>(),
        ["POST", "DELETE"]
    );
    assert_eq!(requests[1].path, "/tags/VIP/customers");
    assert_eq!(requests[1].ids, ["cus_1", "cus_3"]);
    assert_eq!(
        server.tagged("VIP").into_iter().collect::<Vec<_>>(),
        ["cus_2"]
    );
}

#[test]
fn global_options_work_after_the_subcommand() {
    let server = default_mock();
    let url = server.url();
    let run = run(tagctl().args([
        "tag",
        "VIP",
        "cus_1",
        "--api-url",
        &url,
        "--api-key",
        KEY,
        "--organization-id",
        "o2",
        "--output",
        "json",
        "--quiet",
    ]));
    run.expect_code(0);
    assert_eq!(balanced(&run)["confirmed"], 1);
    let r = only_request(&server);
    assert_eq!(r.path, "/organizations/o2/tags/VIP/customers");
    assert_eq!(r.api_key.as_deref(), Some(KEY));
}

#[test]
fn dry_run_targets_the_live_host_by_default_and_the_sandbox_host_with_sandbox() {
    let dry = |extra: &[&str], env: Option<(&str, &str)>| {
        let mut cmd = tagctl();
        cmd.args(["tag", "VIP", "cus_1", "--dry-run"]).args(extra);
        if let Some((k, v)) = env {
            cmd.env(k, v);
        }
        let run = run(&mut cmd);
        run.expect_code(0);
        run.stdout
    };
    let live = "POST https://api.rebilly.com/tags/VIP/customers ";
    let sandbox = "POST https://api-sandbox.rebilly.com/tags/VIP/customers ";
    let first_line = |out: String| out.lines().next().unwrap_or_default().to_owned();
    assert!(
        first_line(dry(&[], None)).starts_with(live),
        "live by default"
    );
    assert!(first_line(dry(&["--sandbox"], None)).starts_with(sandbox));
    assert!(first_line(dry(&[], Some(("REBILLY_SANDBOX", "1")))).starts_with(sandbox));
    assert!(first_line(dry(&[], Some(("REBILLY_SANDBOX", "0")))).starts_with(live));
    assert!(
        first_line(dry(
            &["--organization-id", "o3"],
            Some(("REBILLY_SANDBOX", "1"))
        ))
        .starts_with("POST https://api-sandbox.rebilly.com/organizations/o3/tags/VIP/customers "),
    );
    assert!(
        first_line(dry(
            &["--sandbox", "--api-url", "http://127.0.0.1:9/x"],
            None
        ))
        .starts_with("POST http://127.0.0.1:9/x/tags/VIP/customers ")
    );
}

#[test]
fn api_url_flag_wins_over_the_environment() {
    let env_server = default_mock();
    let flag_server = default_mock();
    run_against(
        &env_server,
        &["tag", "VIP", "cus_1", "--api-url", &flag_server.url()],
    )
    .expect_code(0);
    assert_eq!(env_server.request_count(), 0);
    assert_eq!(only_request(&flag_server).ids, ["cus_1"]);
}

// ---- headers and body ----

#[test]
fn requests_carry_user_agent_content_type_and_the_key() {
    let server = default_mock();
    run_against(&server, &["tag", "VIP", "cus_1"]).expect_code(0);
    let r = only_request(&server);
    assert_eq!(
        r.user_agent.as_deref(),
        Some(concat!("tagctl/", env!("CARGO_PKG_VERSION")))
    );
    assert_eq!(r.content_type.as_deref(), Some("application/json"));
    assert_eq!(r.api_key.as_deref(), Some(KEY));
    assert_eq!(r.bearer, None);
    assert_eq!(r.method, "POST");
}

#[test]
fn body_is_customer_ids_in_input_order() {
    let server = default_mock();
    let order = ["cus_z", "cus_a", "m@x.y", "cus_5", "A~b-c_d.e"];
    let mut args = vec!["tag", "VIP"];
    args.extend(order);
    run_against(&server, &args).expect_code(0);
    let r = only_request(&server);
    assert_eq!(
        r.ids, order,
        "the server read {{\"customerIds\":[...]}} in order"
    );
    assert_eq!(r.status, 204);
}
