//! A real crash: `fusion append` killed with SIGKILL at various moments of a
//! large batch. Whatever the moment, the ledger is either as before or holds
//! the whole batch once `fusion repair` has run — never part of it, never
//! less than before.
#![cfg(unix)]

mod common;

use std::time::Duration;

use common::TestEnv;

const EVENTS: &str = "5000";

fn count(env: &TestEnv) -> usize {
    let v = env.run(&["verify"]);
    assert_eq!(v.code, 0, "{v}");
    v.stdout
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("record count")
}

#[test]
fn a_killed_append_leaves_all_or_nothing_after_repair() {
    let env = TestEnv::with_ledger();
    let g = env.run(&[
        "gen",
        "--events",
        EVENTS,
        "--seed",
        "7",
        "--format",
        "events",
        "--batch",
        EVENTS,
        "--out",
        "batch.jsonl",
    ]);
    assert_eq!(g.code, 0, "{g}");
    let batch_len = std::fs::read_to_string(env.dir().join("batch.jsonl"))
        .expect("read")
        .lines()
        .count();
    // A first record, so that "as before" is not just "empty".
    env.append(r#"{"type":"created","date":"1900","id":"zz-first","name":"First","kind":"k","sources":[{"doc":"d"}]}"#);
    // How long a whole append takes here, to aim the kills at its end,
    // where the journal and the writes are.
    let probe = TestEnv::with_ledger();
    std::fs::copy(
        env.dir().join("batch.jsonl"),
        probe.dir().join("batch.jsonl"),
    )
    .expect("copy");
    let start = std::time::Instant::now();
    assert_eq!(probe.run(&["append", "batch.jsonl"]).code, 0);
    let full = start.elapsed().as_millis() as u64;
    let mut outcomes = Vec::new();
    for percent in [10_u64, 50, 80, 90, 95, 97, 99, 100] {
        let delay_ms = full * percent / 100;
        let before = env.ledger_bytes();
        let n_before = count(&env);
        let mut child = env
            .command(&["append", "batch.jsonl"])
            .spawn()
            .expect("spawn");
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let status = child.wait().expect("wait");
        let verify = env.run(&["verify"]);
        assert!(
            matches!(verify.code, 0 | 5),
            "after a kill at {delay_ms} ms: {verify}"
        );
        let repair = env.run(&["repair"]);
        assert_eq!(repair.code, 0, "{repair}");
        let n_after = count(&env);
        assert!(
            n_after == n_before || n_after == n_before + batch_len,
            "after a kill at {delay_ms} ms the ledger holds {n_after} records: neither {n_before} nor {}",
            n_before + batch_len
        );
        if n_after == n_before {
            assert_eq!(
                env.ledger_bytes(),
                before,
                "rolled back, but not to the same bytes"
            );
        } else {
            assert!(
                env.ledger_bytes().starts_with(&before),
                "the earlier records changed"
            );
            // The batch is in: start again from a fresh copy of the ids.
            outcomes.push((delay_ms, "whole"));
            break;
        }
        let seen = if verify.code == 5 {
            "interrupted, rolled back"
        } else if status.success() {
            "done"
        } else {
            "nothing"
        };
        outcomes.push((delay_ms, seen));
    }
    eprintln!("kill outcomes (delay ms, result): {outcomes:?}");
}
