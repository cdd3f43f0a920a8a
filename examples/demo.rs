//! A real tagging job, end to end, against the bundled mock API: no
//! credentials, no network beyond 127.0.0.1.
//!
//! `cargo run --example demo`
//!
//! It starts the mock with a tight rate limit (8 requests per second), one
//! transient 503, and writes that take effect 2 s after their 204 (as a real
//! API schedules them); writes a CSV of 5,000 customers with two duplicates
//! and one invalid ID; runs `tagctl tag VIP` on it, then `tagctl verify VIP`,
//! which waits for the last writes to take effect; and asks the mock what it
//! tagged.

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use tagctl_mock::{Fault, MockConfig, MockServer, RateLimit};

fn main() -> ExitCode {
    let server = MockServer::start_background(MockConfig {
        rate_limit: Some(RateLimit::new(8, 1)),
        apply_delay: std::time::Duration::from_secs(2),
        ..MockConfig::default()
    });
    // The third request meets a proxy hiccup (an empty 503) and must be
    // retried; `Slow(0)` is a normal answer.
    let normal = Fault::Slow(std::time::Duration::ZERO);
    server.push_faults([normal.clone(), normal, Fault::Empty503]);

    let dir = std::env::temp_dir().join(format!("tagctl-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let csv = dir.join("customers.csv");
    let key = dir.join("demo.key");
    let failed = dir.join("failed.txt");
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&csv).expect("write the CSV"));
        writeln!(out, "email,customerId,plan").unwrap();
        for i in 0..5000 {
            writeln!(out, "user{i}@example.com,cus_{i:06},\"pro, yearly\"").unwrap();
        }
        writeln!(out, "again@example.com,cus_000007,pro").unwrap();
        writeln!(out, "again@example.com,cus_000042,pro").unwrap();
        writeln!(out, "typo@example.com,cus 4711,pro").unwrap();
    }
    std::fs::write(&key, "demo-key-not-secret\n").expect("write the key file");
    #[cfg(unix)]
    {
        // As a real key file should be, so tagctl does not warn about it.
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600));
    }

    let args: Vec<OsString> = [
        "tagctl",
        "--api-url",
        &server.url(),
        "--api-key-file",
        key.to_str().unwrap(),
        "tag",
        "VIP",
        "-f",
        csv.to_str().unwrap(),
        "--batch-size",
        "250",
        "--failed-ids",
        failed.to_str().unwrap(),
        "--verbose",
    ]
    .iter()
    .map(OsString::from)
    .collect();
    eprintln!(
        "mock API (8 requests/s, one 503 queued) at {}",
        server.url()
    );
    eprintln!(
        "$ tagctl --api-url {} --api-key-file {} tag VIP -f {} --batch-size 250 --failed-ids {} --verbose\n",
        server.url(),
        key.display(),
        csv.display(),
        failed.display()
    );
    let cli = <tagctl::cli::Cli as clap::Parser>::parse_from(args);
    let exit = tagctl::run(cli);

    // A 204 only schedules the tagging: read the customers back, waiting for
    // what has not taken effect yet.
    let verify_args: Vec<OsString> = [
        "tagctl",
        "--api-url",
        &server.url(),
        "--api-key-file",
        key.to_str().unwrap(),
        "verify",
        "VIP",
        "-f",
        csv.to_str().unwrap(),
        "--wait",
        "30",
    ]
    .iter()
    .map(OsString::from)
    .collect();
    eprintln!(
        "\n$ tagctl --api-url {} --api-key-file {} verify VIP -f {} --wait 30\n",
        server.url(),
        key.display(),
        csv.display(),
    );
    let cli = <tagctl::cli::Cli as clap::Parser>::parse_from(verify_args);
    let verified = tagctl::run(cli);

    let tagged = server.tagged("VIP");
    let requests = server.requests_of(tagctl_mock::Operation::Tag);
    let reads = server
        .requests_of(tagctl_mock::Operation::ListCustomers)
        .len();
    let statuses = |s: u16| requests.iter().filter(|r| r.status == s).count();
    println!(
        "\nThe mock says: {} customers carry VIP; it answered {} requests: {} × 204, {} × 429, {} × 503.",
        tagged.len(),
        requests.len(),
        statuses(204),
        statuses(429),
        statuses(503)
    );
    println!(
        "tagctl exited {} ({:?}): one ID was invalid, as a script would be told; {} lists the IDs left to do (none).",
        exit as u8,
        exit,
        failed.display()
    );
    println!(
        "tagctl verify exited {} ({:?}) after {reads} reads of at most 100 customers: every valid ID carries VIP (the invalid one is still counted).",
        verified as u8, verified,
    );
    let left = std::fs::read_to_string(&failed).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    if tagged.len() == 5000
        && exit == tagctl::Exit::Incomplete
        && verified == tagctl::Exit::Incomplete
        && reads > 50
        && left.is_empty()
        && statuses(429) > 0
        && statuses(503) == 1
    {
        println!("demo OK");
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "demo failed: expected 5000 tagged customers, exit 1, no IDs left, a 429 honoured, the 503 retried, and verify re-checking"
        );
        ExitCode::FAILURE
    }
}
