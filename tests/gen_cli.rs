//! `fusion gen` end to end: deterministic output, accepted by `verify`, and
//! the same ledger again when its events are replayed through `append`.

mod common;

use common::TestEnv;

const N: &str = "300";

#[test]
fn the_same_seed_writes_the_same_bytes_and_verify_accepts_them() {
    let env = TestEnv::new();
    for name in ["a.jsonl", "b.jsonl"] {
        let r = env.run(&["gen", "--events", N, "--seed", "11", "--out", name]);
        assert_eq!(r.code, 0, "{r}");
        assert!(
            r.stdout
                .starts_with(&format!("wrote {N} records to {name}")),
            "{r}"
        );
    }
    let r = env.run(&["gen", "--events", N, "--seed", "12", "--out", "c.jsonl"]);
    assert_eq!(r.code, 0, "{r}");
    let read = |n: &str| std::fs::read(env.dir().join(n)).expect("generated file");
    assert_eq!(read("a.jsonl"), read("b.jsonl"));
    assert_ne!(read("a.jsonl"), read("c.jsonl"));
    assert_eq!(read("a.jsonl").iter().filter(|b| **b == b'\n').count(), 300);
    let v = env.run(&["verify", "--ledger", "a.jsonl"]);
    assert_eq!(v.code, 0, "{v}");
    assert!(v.stdout.starts_with("ok: 300 records, head "), "{v}");
}

#[test]
fn gen_never_overwrites_a_file() {
    let env = TestEnv::new();
    std::fs::write(env.dir().join("x.jsonl"), "keep").expect("write");
    let r = env.run(&["gen", "--events", "5", "--out", "x.jsonl"]);
    assert_eq!(r.code, 2, "{r}");
    assert!(r.stderr.contains("already exists"), "{r}");
    assert_eq!(
        std::fs::read_to_string(env.dir().join("x.jsonl")).expect("read"),
        "keep"
    );
}

#[test]
fn replaying_the_events_through_append_in_batches_rebuilds_the_same_ledger() {
    let env = TestEnv::with_ledger();
    let gen_args = ["--events", N, "--seed", "5", "--batch", "100"];
    let r = env.run(&[&["gen", "--out", "gen.jsonl"][..], &gen_args[..]].concat());
    assert_eq!(r.code, 0, "{r}");
    let r = env.run(
        &[
            &["gen", "--out", "events.jsonl", "--format", "events"][..],
            &gen_args[..],
        ]
        .concat(),
    );
    assert_eq!(r.code, 0, "{r}");
    let events = std::fs::read_to_string(env.dir().join("events.jsonl")).expect("events");
    let lines: Vec<&str> = events.lines().collect();
    assert_eq!(lines.len(), 300);
    // Batches of 100 and of 50 (divisors of --batch 100), all validated.
    for chunk in [
        &lines[..100],
        &lines[100..150],
        &lines[150..200],
        &lines[200..],
    ] {
        let r = env.run_with_stdin(&["append"], &(chunk.join("\n") + "\n"));
        assert_eq!(r.code, 0, "{r}");
    }
    // Same events, same seqs, same `recorded`: the same hashes, byte for byte.
    assert_eq!(
        env.ledger_bytes(),
        std::fs::read(env.dir().join("gen.jsonl")).expect("gen")
    );
}

/// A `recorded` with a fraction: `FUSION_RECORDED` keeps it as
/// `gen --recorded` writes it, so the replay is still byte for byte.
#[test]
fn a_fractional_recorded_is_kept_by_gen_and_by_append_alike() {
    let mut env = TestEnv::with_ledger();
    let t = "2026-01-01T00:00:00.5Z";
    env.set_recorded(t);
    let args = ["--events", "20", "--seed", "3", "--recorded", t];
    let r = env.run(&[&["gen", "--out", "gen.jsonl"][..], &args[..]].concat());
    assert_eq!(r.code, 0, "{r}");
    let r = env.run(
        &[
            &["gen", "--out", "ev.jsonl", "--format", "events"][..],
            &args[..],
        ]
        .concat(),
    );
    assert_eq!(r.code, 0, "{r}");
    let r = env.run(&["append", "ev.jsonl"]);
    assert_eq!(r.code, 0, "{r}");
    let ledger = env.ledger_bytes();
    assert!(String::from_utf8_lossy(&ledger).contains(r#""recorded":"2026-01-01T00:00:00.500Z""#));
    assert_eq!(
        ledger,
        std::fs::read(env.dir().join("gen.jsonl")).expect("gen")
    );
}

/// Ctrl-C during `gen`: the process removes the file it was writing (under
/// a temporary name) and dies of the signal, as the shell expects; a
/// re-run is not blocked by a partial file.
#[cfg(unix)]
#[test]
fn an_interrupted_gen_leaves_no_file_and_dies_of_the_signal() {
    use std::os::unix::process::ExitStatusExt;
    use std::time::{Duration, Instant};

    let env = TestEnv::new();
    // Given a gen that would run for minutes
    let mut child = env
        .command(&["gen", "--events", "100000000", "--out", "big.jsonl"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let tmp = env.dir().join(format!("big.jsonl.tmp{}", child.id()));
    let start = Instant::now();
    while std::fs::metadata(&tmp).map_or(true, |m| m.len() == 0) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no temporary file"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!env.dir().join("big.jsonl").exists());
    // When it is interrupted
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = child.wait().expect("wait");
    // Then it died of SIGINT, and left nothing behind
    assert_eq!(status.signal(), Some(2), "{status:?}");
    let left: Vec<_> = std::fs::read_dir(env.dir())
        .expect("ls")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert!(left.is_empty(), "{left:?}");
    // and a re-run writes the file
    let r = env.run(&["gen", "--events", "5", "--out", "big.jsonl"]);
    assert_eq!(r.code, 0, "{r}");
}

/// A `recorded` time before the generated events start is refused: the
/// records would be older than the events they state, which `append`
/// refuses (rule `future`).
#[test]
fn a_recorded_time_before_the_generated_events_is_refused() {
    let env = TestEnv::with_ledger();
    let r = env.run(&[
        "gen",
        "--events",
        "10",
        "--out",
        "gen.jsonl",
        "--recorded",
        "1950-01-01T23:00:00Z",
    ]);
    insta::assert_snapshot!(r.to_string(), @"
    exit: 2
    --- stderr
    error: --recorded: `1950-01-01T23:00:00Z` is before 1950-01-02; the generated events start on 1950-01-01, and a record cannot be older than the event it states (rule `future`)
    ");
    assert!(!env.dir().join("gen.jsonl").exists());
}
