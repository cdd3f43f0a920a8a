//! The input hot path: reading, validating, de-duplicating and batching IDs.
//! Run with `cargo bench --bench input`; throughput is in bytes of input.

use std::hint::black_box;
use std::io::Write;
use std::ops::ControlFlow;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tagctl::cli::InputFormat;
use tagctl::ids::{self, Filter, IdList, InputSpec, Verdict};

const N: usize = 1_000_000;

fn write_input(path: &Path, csv: bool) -> u64 {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    if csv {
        writeln!(out, "email,customerId,name").unwrap();
    }
    for i in 0..N {
        if csv {
            writeln!(out, "user{i}@example.com,cus_{i:012},\"Customer, {i}\"").unwrap();
        } else {
            writeln!(out, "cus_{i:012}").unwrap();
        }
    }
    out.flush().unwrap();
    std::fs::metadata(path).unwrap().len()
}

/// Reads the whole file the way a job does, batching into lists of 1000.
fn ingest(path: &Path, format: InputFormat, dedupe: bool) -> usize {
    let spec = InputSpec {
        args: vec![],
        files: vec![path.to_path_buf()],
        format,
        column: None,
        header: true,
        stdin_when_empty: false,
        delimiter: None,
    };
    let sources = ids::open(&spec, &mut |_| {}).unwrap();
    let mut filter = Filter::with_expected(dedupe, ids::read::estimate_records(&sources));
    let mut batch = IdList::with_capacity(1000);
    let mut batches = 0;
    ids::read_all(sources, &mut |_, raw| {
        if let Verdict::New(id) = filter.judge(raw) {
            batch.push(id);
            if batch.len() == 1000 {
                black_box(batch.json_body());
                batch = IdList::with_capacity(1000);
                batches += 1;
            }
        }
        ControlFlow::Continue(())
    })
    .unwrap();
    batches
}

/// The plain list again, as UTF-16 LE with a byte-order mark (PowerShell's
/// `Out-File`), to measure decoding.
fn write_utf16(from: &Path, path: &Path) -> u64 {
    let text = std::fs::read_to_string(from).unwrap();
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    std::fs::write(path, &bytes).unwrap();
    bytes.len() as u64
}

fn input(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let lines = dir.path().join("ids.txt");
    let csv = dir.path().join("ids.csv");
    let lines_len = write_input(&lines, false);
    let csv_len = write_input(&csv, true);
    let utf16 = dir.path().join("ids-utf16.txt");
    let utf16_len = write_utf16(&lines, &utf16);

    let mut group = c.benchmark_group("input");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(lines_len));
    group.bench_function("lines, 1M IDs, dedupe", |b| {
        b.iter(|| ingest(&lines, InputFormat::Auto, true))
    });
    group.bench_function("lines, 1M IDs, no dedupe", |b| {
        b.iter(|| ingest(&lines, InputFormat::Auto, false))
    });
    group.throughput(Throughput::Bytes(csv_len));
    group.bench_function("csv, 1M rows, dedupe", |b| {
        b.iter(|| ingest(&csv, InputFormat::Csv, true))
    });
    group.bench_function("csv, 1M rows, no dedupe", |b| {
        b.iter(|| ingest(&csv, InputFormat::Csv, false))
    });
    group.throughput(Throughput::Bytes(utf16_len));
    group.bench_function("lines UTF-16, 1M IDs, no dedupe", |b| {
        b.iter(|| ingest(&utf16, InputFormat::Auto, false))
    });
    group.finish();
}

criterion_group!(benches, input);
criterion_main!(benches);
