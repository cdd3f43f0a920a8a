//! Whatever the input and whatever the server does, every ID is accounted
//! for: the summary's identity holds, `--failed-ids` holds exactly the valid
//! IDs that were not confirmed, and every confirmed ID was accepted by the
//! server.

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use proptest::prelude::*;
use proptest::sample::Index;
use tagctl_mock::InvalidFieldsStyle;

use crate::support::*;

/// One generated input line.
#[derive(Debug, Clone)]
enum Line {
    /// A valid ID, `cus_p{n}`, padded with blanks (trimmed on reading).
    Valid { n: usize, padded: bool },
    /// An ID that breaks the pattern.
    Invalid(usize),
}

impl Line {
    fn text(&self) -> String {
        match self {
            Line::Valid { n, padded: false } => format!("cus_p{n}"),
            Line::Valid { n, padded: true } => format!("  cus_p{n}\t"),
            Line::Invalid(k) => match k % 4 {
                0 => format!("bad id{k}"),
                1 => format!("a/b{k}"),
                2 => format!("ünï{k}"),
                _ => format!("{k}{}", "x".repeat(51)),
            },
        }
    }
}

/// Everything one case is made of.
#[derive(Debug, Clone)]
struct Case {
    lines: Vec<Line>,
    batch_size: usize,
    concurrency: usize,
    max_retries: u32,
    faults: Vec<Fault>,
    reject: Vec<Index>,
    style: InvalidFieldsStyle,
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        3 => Just(Fault::Status500),
        3 => Just(Fault::Html502),
        3 => Just(Fault::Empty503),
        3 => Just(Fault::Drop),
        1 => (100u64..=500).prop_map(|ms| Fault::TooManyRequests {
            reset_in: Some(Duration::from_millis(ms)),
        }),
    ]
}

fn line() -> impl Strategy<Value = Line> {
    prop_oneof![
        8 => (0usize..40, prop::bool::weighted(0.1))
            .prop_map(|(n, padded)| Line::Valid { n, padded }),
        1 => (0usize..8).prop_map(Line::Invalid),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    (
        // Drawing from 40 numbers gives duplicates; repeated invalid IDs
        // count as invalid each time.
        prop::collection::vec(line(), 1..80),
        1usize..=15,
        1usize..=4,
        0u32..=3,
        prop::collection::vec(fault(), 0..6),
        prop::collection::vec(any::<Index>(), 0..=3),
        prop_oneof![
            Just(InvalidFieldsStyle::Indexed),
            Just(InvalidFieldsStyle::Bracketed),
            Just(InvalidFieldsStyle::Bare),
        ],
    )
        .prop_map(
            |(lines, batch_size, concurrency, max_retries, mut faults, reject, style)| {
                // At most one 429: each costs up to ~1.5 s of waiting.
                let mut seen_429 = false;
                faults.retain(|f| {
                    let is_429 = matches!(f, Fault::TooManyRequests { .. });
                    let keep = !(is_429 && seen_429);
                    seen_429 |= is_429;
                    keep
                });
                Case {
                    lines,
                    batch_size,
                    concurrency,
                    max_retries,
                    faults,
                    reject,
                    style,
                }
            },
        )
}

/// What the input implies: the valid IDs in first-occurrence order, and
/// the number of duplicates and invalid lines.
fn expected(lines: &[Line]) -> (Vec<String>, u64, u64) {
    let mut seen = HashSet::new();
    let (mut unique, mut duplicates, mut invalid) = (Vec::new(), 0, 0);
    for line in lines {
        match line {
            Line::Valid { .. } => {
                let id = line.text().trim().to_owned();
                if seen.insert(id.clone()) {
                    unique.push(id);
                } else {
                    duplicates += 1;
                }
            }
            Line::Invalid(_) => invalid += 1,
        }
    }
    (unique, duplicates, invalid)
}

fn check(case: &Case) -> Result<(), TestCaseError> {
    let (unique, duplicates, invalid) = expected(&case.lines);
    let rejected: BTreeSet<String> = if unique.is_empty() {
        BTreeSet::new()
    } else {
        case.reject.iter().map(|i| i.get(&unique).clone()).collect()
    };
    let server = mock(MockConfig {
        reject_ids: rejected.iter().cloned().collect(),
        invalid_fields_style: case.style,
        ..MockConfig::default()
    });
    server.push_faults(case.faults.iter().cloned());

    let dir = Dir::new();
    let text: Vec<String> = case.lines.iter().map(Line::text).collect();
    let input = dir.file("ids.txt", text.join("\n") + "\n");
    let failed_path = dir.path("failed.txt");
    let (batch, conc, retries) = (
        case.batch_size.to_string(),
        case.concurrency.to_string(),
        case.max_retries.to_string(),
    );
    let run = run_against(
        &server,
        &[
            "tag",
            "VIP",
            "-f",
            arg(&input),
            "--batch-size",
            &batch,
            "--concurrency",
            &conc,
            "--max-retries",
            &retries,
            "--timeout",
            "1",
            "--output",
            "json",
            "--failed-ids",
            arg(&failed_path),
        ],
    );
    let context = format!(
        "exit {}\nstdout:\n{}\nstderr:\n{}",
        run.code, run.stdout, run.stderr
    );
    let json = balanced(&run);
    let n = |k: &str| json[k].as_u64().unwrap_or(u64::MAX);

    prop_assert_eq!(n("ids_read"), case.lines.len() as u64, "{}", json);
    prop_assert_eq!(n("duplicates"), duplicates, "{}", json);
    prop_assert_eq!(n("invalid"), invalid, "{}", json);
    prop_assert_eq!(n("unsent"), 0, "nothing stops this run early: {}", json);
    prop_assert_eq!(json["stopped"].is_null(), true, "{}", json);
    let incomplete = n("invalid") + n("failed") + n("unsent") > 0;
    prop_assert_eq!(run.code, i32::from(incomplete), "{}", context);

    let failed = failed_lines(&failed_path);
    let failed_set: BTreeSet<&String> = failed.iter().collect();
    prop_assert_eq!(failed_set.len(), failed.len(), "repeats in --failed-ids");
    prop_assert_eq!(failed.len() as u64, n("failed") + n("unsent"), "{}", json);
    let unique_set: BTreeSet<&String> = unique.iter().collect();
    prop_assert!(
        failed_set.is_subset(&unique_set),
        "--failed-ids holds only valid input IDs: {:?}",
        failed
    );
    // (Their order is checked in isolation.rs.)
    let confirmed: Vec<&String> = unique
        .iter()
        .filter(|id| !failed_set.contains(id))
        .collect();

    let accepted: BTreeSet<String> = server.accepted_ids().into_iter().collect();
    for id in &confirmed {
        prop_assert!(
            accepted.contains(*id),
            "{} confirmed but never accepted",
            id
        );
    }
    for id in &failed {
        prop_assert!(
            !accepted.contains(id),
            "{} accepted but in --failed-ids",
            id
        );
    }
    for id in &rejected {
        prop_assert!(
            failed_set.contains(id),
            "rejected {} not in --failed-ids",
            id
        );
    }
    prop_assert_eq!(n("confirmed"), confirmed.len() as u64, "{}", json);
    prop_assert_eq!(n("confirmed"), accepted.len() as u64, "{}", json);

    let requests = server.requests();
    prop_assert_eq!(n("requests"), requests.len() as u64, "{}", json);
    let answered_429 = requests.iter().filter(|r| r.status == 429).count() as u64;
    prop_assert_eq!(n("rate_limited"), answered_429, "{}", json);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_id_is_accounted_for_whatever_the_input_and_the_faults(case in case()) {
        check(&case)?;
    }
}
