//! The floor under a cold replay: the stages of `fusion replay --as-of DAY
//! --format json` timed apart, with every record of the ledger already
//! verified, parsed and in memory (which a replay cannot afford at 10^6
//! records: see the README's "What is left").
//!
//! ```text
//! cargo run --release --example floor -- LEDGER [DAY] [ROUNDS]
//! ```
//!
//! Prints, on stderr, the time to load the ledger (read, verify and parse
//! every record, on two threads), then for each round the knowledge, the
//! fold up to DAY (2020-12-31 by default: `--as-of 2020`), and the JSON view
//! written to nowhere on one and on two threads; then the median of each.
#![allow(missing_docs)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use fusion::fold::Knowledge;
use fusion::record::GENESIS_PREV;
use fusion::view::{ViewOptions, ViewSource};

/// As the `fusion` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next().map(PathBuf::from) else {
        eprintln!("usage: floor LEDGER [DAY] [ROUNDS]");
        return ExitCode::from(2);
    };
    let day = match args.next() {
        Some(text) => match NaiveDate::parse_from_str(&text, "%Y-%m-%d") {
            Ok(day) => day,
            Err(e) => {
                eprintln!("floor: DAY {text:?}: {e}");
                return ExitCode::from(2);
            }
        },
        None => NaiveDate::from_ymd_opt(2020, 12, 31).unwrap_or_default(),
    };
    let rounds: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(3);

    let t = Instant::now();
    let ledger = match fusion::store::load(&path, 2) {
        Ok(ledger) => ledger,
        Err(e) => {
            eprintln!("floor: {e}");
            return ExitCode::from(1);
        }
    };
    eprintln!(
        "load (read, verify, parse; 2 threads): {:.3} s, {} records",
        t.elapsed().as_secs_f64(),
        ledger.entries.len()
    );

    let stages = [
        "knowledge",
        "fold",
        "view json 1 thread",
        "view json 2 threads",
    ];
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); stages.len()];
    for round in 1..=rounds {
        let mut lap = Instant::now();
        let mut next = |i: usize, times: &mut Vec<Vec<Duration>>| {
            times[i].push(lap.elapsed());
            lap = Instant::now();
        };
        let knowledge = Knowledge::new(&ledger.entries, u64::MAX);
        next(0, &mut times);
        let state = knowledge.fold_until(day);
        next(1, &mut times);
        let source = ViewSource {
            knowledge: &knowledge,
            state: &state,
            hash: GENESIS_PREV,
            as_of: day,
            options: ViewOptions::default(),
        };
        for (i, threads) in [(2, 1), (3, 2)] {
            if let Err(e) = source.write_json(std::io::sink(), threads) {
                eprintln!("floor: {e}");
                return ExitCode::from(1);
            }
            next(i, &mut times);
        }
        eprintln!(
            "round {round}: {}",
            stages
                .iter()
                .zip(&times)
                .map(|(s, t)| format!("{s} {:.3} s", t[round - 1].as_secs_f64()))
                .collect::<Vec<_>>()
                .join(", ")
        );
        // Not timed: freeing the state, which a replay leaves to the exit.
        drop(state);
    }
    for (stage, mut t) in stages.iter().zip(times) {
        t.sort();
        if let Some(median) = t.get(t.len() / 2) {
            eprintln!("median {stage}: {:.3} s", median.as_secs_f64());
        }
    }
    ExitCode::SUCCESS
}
