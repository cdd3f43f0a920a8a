//! One bad ID does not sink 999 good ones: a 422 fails exactly the IDs it
//! names and resends the rest; a 422 that names no index is bisected; a 422
//! about the tag stops the run.

use std::collections::BTreeSet;

use crate::support::*;
use tagctl_mock::InvalidFieldsStyle;

/// A mock that answers 422 "Customer not found" for `bad`, naming them in `style`.
fn rejecting(bad: &[String], style: InvalidFieldsStyle) -> MockServer {
    mock(MockConfig {
        reject_ids: bad.iter().cloned().collect(),
        invalid_fields_style: style,
        ..MockConfig::default()
    })
}

/// What a run left behind: the run, its JSON summary (identity checked) and
/// the lines of its `--failed-ids` file.
struct Outcome {
    run: Run,
    json: serde_json::Value,
    failed_ids: Vec<String>,
}

impl Outcome {
    fn n(&self, key: &str) -> u64 {
        count(&self.json, key)
    }
}

/// Runs `tagctl tag VIP -f <ids> --output json --failed-ids F <extra>`.
fn tag_ids(server: &MockServer, ids: &[String], extra: &[&str]) -> Outcome {
    let dir = Dir::new();
    let input = dir.file("ids.txt", ids.join("\n") + "\n");
    let failed = dir.path("failed.txt");
    let mut args = vec![
        "tag",
        "VIP",
        "-f",
        arg(&input),
        "--output",
        "json",
        "--failed-ids",
        arg(&failed),
    ];
    args.extend_from_slice(extra);
    let run = run_against(server, &args);
    let json = balanced(&run);
    let failed_ids = failed_lines(&failed);
    Outcome {
        run,
        json,
        failed_ids,
    }
}

/// `all` without `bad`, sorted.
fn good_sorted(all: &[String], bad: &[String]) -> Vec<String> {
    let bad: BTreeSet<&String> = bad.iter().collect();
    let mut good: Vec<String> = all.iter().filter(|id| !bad.contains(id)).cloned().collect();
    good.sort();
    good
}

/// Asserts that stderr reports `id` as rejected, with `message`, on one line.
#[track_caller]
fn reports_rejected(run: &Run, id: &str, message: &str) {
    assert!(
        run.stderr
            .lines()
            .any(|l| l.contains(&format!("customer {id} rejected")) && l.contains(message)),
        "stderr does not report {id} as rejected with {message:?}:\n{}",
        run.stderr
    );
}

/// `k` IDs spread over `all` at fixed, irregular positions.
fn spread(all: &[String], k: usize) -> Vec<String> {
    (0..k)
        .map(|i| all[(i * 397 + 17) % all.len()].clone())
        .collect()
}

/// The number of extra requests bisection may spend: 2·k·⌈log2 n⌉.
fn bisection_bound(k: u64, n: u64) -> u64 {
    2 * k * u64::from(n.next_power_of_two().trailing_zeros())
}

fn indexed_style_fails_only_the_named_id(style: InvalidFieldsStyle) {
    let all = ids(1000);
    let bad = vec![all[17].clone()];
    let server = rejecting(&bad, style);
    let out = tag_ids(&server, &all, &["--concurrency", "1"]);
    out.run.expect_code(1);

    let requests = server.requests();
    assert_eq!(requests.len(), 2, "one rejected request, one resend");
    assert_eq!(requests[0].status, 422);
    assert_eq!(requests[0].ids, all, "the first request carries the batch");
    assert_eq!(requests[1].status, 204);
    assert_eq!(
        requests[1].ids,
        good_sorted(&all, &bad),
        "the resend is the batch without the named ID"
    );
    assert_eq!(accepted_sorted(&server), good_sorted(&all, &bad));

    assert_eq!(out.failed_ids, bad);
    reports_rejected(&out.run, &bad[0], "Customer not found");
    assert_eq!(
        (
            out.n("confirmed"),
            out.n("failed"),
            out.n("unsent"),
            out.n("requests"),
            out.n("retries"),
            out.n("isolation_requests"),
        ),
        (999, 1, 0, 2, 0, 1)
    );
    assert_eq!(out.json["problems"][0]["status"], 422, "{}", out.json);
}

#[test]
fn a_422_naming_customer_ids_dot_17_fails_that_id_and_resends_the_other_999_once() {
    indexed_style_fails_only_the_named_id(InvalidFieldsStyle::Indexed);
}

#[test]
fn a_422_naming_customer_ids_bracket_17_fails_that_id_and_resends_the_other_999_once() {
    indexed_style_fails_only_the_named_id(InvalidFieldsStyle::Bracketed);
}

#[test]
fn a_422_naming_several_ids_fails_them_all_in_one_resend() {
    let all = ids(1000);
    let bad = spread(&all, 3);
    let server = rejecting(&bad, InvalidFieldsStyle::Indexed);
    let out = tag_ids(&server, &all, &[]);
    out.run.expect_code(1);
    assert_eq!(server.request_count(), 2);
    assert_eq!(accepted_sorted(&server), good_sorted(&all, &bad));
    let mut failed = out.failed_ids.clone();
    failed.sort();
    let mut expected = bad.clone();
    expected.sort();
    assert_eq!(failed, expected);
    for id in &bad {
        reports_rejected(&out.run, id, "Customer not found");
    }
    assert_eq!(
        (
            out.n("confirmed"),
            out.n("failed"),
            out.n("isolation_requests")
        ),
        (997, 3, 1)
    );
}

#[test]
fn a_422_naming_every_id_of_the_batch_sends_nothing_more() {
    let all = ids(5);
    let server = rejecting(&all, InvalidFieldsStyle::Indexed);
    let out = tag_ids(&server, &all, &[]);
    out.run.expect_code(1);
    assert_eq!(server.request_count(), 1, "no empty resend");
    assert!(server.accepted_ids().is_empty());
    assert_eq!(out.failed_ids, all);
    assert_eq!(
        (
            out.n("confirmed"),
            out.n("failed"),
            out.n("isolation_requests")
        ),
        (0, 5, 0)
    );
}

#[test]
fn a_422_without_an_index_is_bisected_within_2_k_log2_n_extra_requests() {
    let all = ids(1000);
    for k in [1usize, 3, 10] {
        let bad = spread(&all, k);
        let server = rejecting(&bad, InvalidFieldsStyle::Bare);
        let out = tag_ids(&server, &all, &["--concurrency", "1"]);
        out.run.expect_code(1);

        let requests = server.request_count();
        let bound = 1 + bisection_bound(k as u64, 1000);
        eprintln!("bisection, batch of 1000, k = {k}: {requests} requests (bound {bound})");
        assert!(
            requests <= bound,
            "k = {k}: {requests} requests, more than 1 + 2·k·⌈log2 n⌉ = {bound}"
        );
        assert_eq!(
            out.n("requests"),
            requests,
            "the summary counts every request"
        );
        assert_eq!(
            out.n("isolation_requests"),
            requests - 1,
            "every request beyond the batch's first is an isolation request"
        );
        assert_eq!(out.n("retries"), 0);

        assert_eq!(
            accepted_sorted(&server),
            good_sorted(&all, &bad),
            "k = {k}: every good ID accepted exactly once"
        );
        let mut failed = out.failed_ids.clone();
        failed.sort();
        let mut expected = bad.clone();
        expected.sort();
        assert_eq!(failed, expected, "k = {k}: exactly the bad IDs failed");
        for id in &bad {
            reports_rejected(&out.run, id, "invalid or were not found");
        }
        assert_eq!(
            (out.n("confirmed"), out.n("failed"), out.n("unsent")),
            (1000 - k as u64, k as u64, 0)
        );
    }
}

#[test]
fn a_single_id_batch_rejected_without_an_index_is_failed_without_splitting() {
    let all = ids(3);
    let bad = vec![all[1].clone()];
    let server = rejecting(&bad, InvalidFieldsStyle::Bare);
    let out = tag_ids(&server, &all, &["--batch-size", "1", "--concurrency", "1"]);
    out.run.expect_code(1);
    assert_eq!(server.request_count(), 3);
    assert_eq!(accepted_sorted(&server), good_sorted(&all, &bad));
    assert_eq!(out.failed_ids, bad);
    assert_eq!(
        (
            out.n("confirmed"),
            out.n("failed"),
            out.n("isolation_requests")
        ),
        (2, 1, 0)
    );
}

#[test]
fn rejected_ids_in_several_batches_are_isolated_within_their_own_batch() {
    let all = ids(3000);
    // Batch 1: one ID; batch 2: none; batch 3: two IDs.
    let bad = vec![all[5].clone(), all[2100].clone(), all[2999].clone()];
    let server = rejecting(&bad, InvalidFieldsStyle::Indexed);
    let out = tag_ids(&server, &all, &["--concurrency", "2"]);
    out.run.expect_code(1);
    assert_eq!(server.request_count(), 5, "3 batches + 2 resends");
    assert_eq!(out.n("requests"), 5);
    assert_eq!(out.n("isolation_requests"), 5 - 3, "requests − batches");
    assert_eq!(accepted_sorted(&server), good_sorted(&all, &bad));
    assert_eq!(out.failed_ids, bad, "in input order");
    assert_eq!((out.n("confirmed"), out.n("failed")), (2997, 3));
    for id in &bad {
        reports_rejected(&out.run, id, "Customer not found");
    }
}

#[test]
fn rejected_ids_in_several_batches_are_bisected_within_their_own_batch() {
    let all = ids(3000);
    let bad = vec![all[5].clone(), all[2100].clone(), all[2999].clone()];
    let server = rejecting(&bad, InvalidFieldsStyle::Bare);
    let out = tag_ids(&server, &all, &["--concurrency", "3"]);
    out.run.expect_code(1);
    let requests = server.request_count();
    // Batch 1 holds one bad ID, batch 3 two, batch 2 none.
    let bound = 3 + bisection_bound(1, 1000) + bisection_bound(2, 1000);
    assert!(requests <= bound, "{requests} requests, bound {bound}");
    assert_eq!(out.n("requests"), requests);
    assert_eq!(
        out.n("isolation_requests"),
        requests - 3,
        "requests − batches"
    );
    assert_eq!(accepted_sorted(&server), good_sorted(&all, &bad));
    assert_eq!(out.failed_ids, bad, "in input order");
    assert_eq!((out.n("confirmed"), out.n("failed")), (2997, 3));
}

#[test]
fn failed_ids_stay_in_input_order_when_the_rest_of_a_split_batch_fails_too() {
    let all = ids(10);
    let server = default_mock();
    // The batch meets a 422 naming its fourth ID; the resend of the other
    // nine then meets a 500 and is not retried.
    server.push_faults([Fault::RawProblem {
        status: 422,
        content_type: "application/problem+json".into(),
        body: r#"{"title":"Validation error","status":422,"invalidFields":[{"field":"customerIds.3","message":"Customer not found"}]}"#.into(),
    }, Fault::Status500]);
    let out = tag_ids(&server, &all, &["--max-retries", "0"]);
    out.run.expect_code(1);
    assert_eq!(server.request_count(), 2);
    assert!(server.accepted_ids().is_empty());
    assert_eq!(
        out.failed_ids, all,
        "--failed-ids holds the unconfirmed IDs in input order"
    );
    assert_eq!((out.n("confirmed"), out.n("failed")), (0, 10));
}

#[test]
fn a_422_about_the_tag_stops_the_run_without_bisection_and_leaves_the_rest_unsent() {
    let all = ids(30);
    let server = default_mock();
    server.push_faults([Fault::RawProblem {
        status: 422,
        content_type: "application/problem+json".into(),
        body: r#"{"type":"about:blank","title":"Validation error","status":422,"detail":"The request has invalid fields.","invalidFields":[{"field":"tag","message":"Tag is archived"}]}"#.into(),
    }]);
    let out = tag_ids(&server, &all, &["--batch-size", "10", "--concurrency", "1"]);
    out.run.expect_code(1);
    assert_eq!(server.request_count(), 1, "no bisection, no later batch");
    assert!(server.accepted_ids().is_empty());
    assert_eq!(
        out.failed_ids, all,
        "the rejected batch and the unsent rest"
    );
    assert_eq!(
        (
            out.n("confirmed"),
            out.n("failed"),
            out.n("unsent"),
            out.n("requests"),
            out.n("isolation_requests"),
        ),
        (0, 10, 20, 1, 0)
    );
    assert_eq!(
        out.json["stopped"], "the API rejected the tag",
        "{}",
        out.json
    );
    assert_eq!(out.json["interrupted"], false);
    assert!(
        out.run.stderr.contains("tag: Tag is archived"),
        "the invalid field is shown:\n{}",
        out.run.stderr
    );
}

#[test]
fn a_422_that_rejects_whole_batches_stops_bisection_within_its_budget() {
    let server = mock(MockConfig {
        fault_rate: 1.0,
        fault_kinds: vec![Fault::RawProblem {
            status: 422,
            content_type: "application/problem+json".into(),
            body: r#"{"title":"Tag is archived","status":422}"#.into(),
        }],
        ..MockConfig::default()
    });
    let all = ids(2000);
    let dir = Dir::new();
    let input = dir.file("ids.txt", all.join("\n"));
    let failed = dir.path("failed.txt");
    let run = run_against(&server, &job_args("1000", &failed, &["-f", arg(&input)]));
    run.expect_code(1);
    let json = balanced(&run);
    // 1 + 20·⌈log2 1000⌉ at most, not 2·1000 − 1; and the second batch is never sent.
    assert!(count(&json, "requests") <= 201, "{json}");
    assert_eq!(count(&json, "confirmed"), 0, "{json}");
    assert_eq!(count(&json, "unsent"), 1000, "{json}");
    assert!(
        json["stopped"]
            .as_str()
            .unwrap_or("")
            .contains("refuse whole batches"),
        "{json}"
    );
    assert_eq!(failed_lines(&failed).len(), 2000);
}

#[test]
fn an_id_found_by_bisection_is_reported_with_the_whole_problem() {
    // A 422 that names no index says nothing per ID until bisection is down
    // to one: that line then carries the problem details, once.
    let server = rejecting(&["cus_bad".to_string()], InvalidFieldsStyle::Bare);
    let run = run_against(
        &server,
        &[
            "tag",
            "VIP",
            "cus_1",
            "cus_bad",
            "--concurrency",
            "1",
            "--quiet",
        ],
    );
    run.expect_code(1);
    assert_eq!(
        run.stderr,
        "error: customer cus_bad rejected (422): Some customer IDs are invalid or were not found\n  \
         422 Validation error\n  \
         The request has invalid fields.\n  \
         customerIds: Some customer IDs are invalid or were not found\n  \
         type: about:blank\n  \
         instance: urn:tagctl-mock:request:3\n"
    );
    assert_eq!(server.accepted_ids(), ["cus_1"]);
}
