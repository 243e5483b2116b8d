//! Micro-benchmarks of the ledger's hot paths on generated ledgers
//! (`cargo bench --bench ledger`). The end-to-end figures with baselines
//! come from `bench/run.sh`; these isolate the library stages.
#![allow(missing_docs)]

use std::sync::OnceLock;

use fusion::chain;
use fusion::fold::{Knowledge, validate};
use fusion::generator::{self, Options};
use fusion::record::Entry;

const SIZES: &[u64] = &[1_000, 20_000];

fn main() {
    divan::main();
}

struct Ledger {
    bytes: Vec<u8>,
    entries: Vec<Entry>,
}

fn ledger(n: u64) -> &'static Ledger {
    static CACHE: OnceLock<Vec<(u64, Ledger)>> = OnceLock::new();
    let all = CACHE.get_or_init(|| {
        SIZES
            .iter()
            .map(|&n| {
                let records = generator::records(&Options {
                    events: n,
                    seed: 1,
                    recorded: "2026-01-01T00:00:00Z".into(),
                    batch: 1000,
                });
                let mut bytes = Vec::new();
                for r in &records {
                    bytes.extend_from_slice(r.to_line().as_bytes());
                    bytes.push(b'\n');
                }
                let entries = records
                    .iter()
                    .map(|r| r.entry().expect("generated events parse"))
                    .collect();
                (n, Ledger { bytes, entries })
            })
            .collect()
    });
    &all.iter()
        .find(|(m, _)| *m == n)
        .expect("a benchmarked size")
        .1
}

/// Parse, canonicalise, hash and link every record, on 1 and 2 threads.
#[divan::bench(args = SIZES, consts = [1, 2])]
fn verify_chain<const THREADS: usize>(bencher: divan::Bencher, n: u64) {
    let l = ledger(n);
    bencher
        .counter(divan::counter::BytesCount::new(l.bytes.len()))
        .bench(|| chain::verify(divan::black_box(&l.bytes), THREADS).expect("valid"));
}

/// SHA-256 of the raw file: the physical floor of `verify`.
#[divan::bench(args = SIZES)]
fn sha256_of_file(bencher: divan::Bencher, n: u64) {
    let l = ledger(n);
    bencher
        .counter(divan::counter::BytesCount::new(l.bytes.len()))
        .bench(|| fusion::record::sha256_hex(divan::black_box(&l.bytes)));
}

/// Typed parse of every event (records already checked).
#[divan::bench(args = SIZES)]
fn parse_entries(bencher: divan::Bencher, n: u64) {
    let l = ledger(n);
    let chain = chain::verify(&l.bytes, 2).expect("valid");
    bencher.bench(|| {
        chain
            .records
            .iter()
            .map(|r| r.entry().expect("valid"))
            .collect::<Vec<_>>()
    });
}

/// Knowledge at the head plus the fold to a day: the core of `replay`.
#[divan::bench(args = SIZES)]
fn fold_to_day(bencher: divan::Bencher, n: u64) {
    let l = ledger(n);
    let day = chrono::NaiveDate::from_ymd_opt(2020, 12, 31).expect("a day");
    bencher.bench(|| {
        let k = Knowledge::new(&l.entries, u64::MAX);
        k.fold_until(day).orgs.len()
    });
}

/// Validation of one appended event against the whole history (what
/// `append` pays on every call).
#[divan::bench(args = SIZES)]
fn validate_one(bencher: divan::Bencher, n: u64) {
    let l = ledger(n);
    let (history, last) = l.entries.split_at(l.entries.len() - 1);
    let batch = [last[0].event.clone()];
    bencher.bench(|| validate(history, &batch, n).is_ok());
}

/// The generator itself, per 1000 records.
#[divan::bench]
fn generate_1000() -> usize {
    generator::records(&Options {
        events: 1000,
        seed: divan::black_box(3),
        recorded: "2026-01-01T00:00:00Z".into(),
        batch: 1000,
    })
    .len()
}
