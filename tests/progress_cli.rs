//! Progress bars are drawn only on a terminal: under the test helper stderr
//! is a pipe, so even work long enough for a bar (a 20,000-record ledger in a
//! debug build) leaves stderr empty and stdout exactly as without bars.

mod common;

use common::TestEnv;

const EVENT: &str = r#"{"type":"created","date":"2026","id":"zz-progress","name":"Progress","kind":"test","sources":[{"doc":"t"}]}"#;

#[test]
fn long_work_shows_nothing_on_stderr_when_it_is_not_a_terminal() {
    let env = TestEnv::new();
    let r = env.run(&[
        "gen",
        "--events",
        "20000",
        "--seed",
        "3",
        "--out",
        "big.jsonl",
    ]);
    assert_eq!(r.code, 0, "{r}");
    assert!(
        r.stdout.starts_with("wrote 20000 records to big.jsonl"),
        "{r}"
    );
    assert_eq!(r.stderr, "", "gen");
    assert!(
        std::fs::metadata(env.dir().join("big.jsonl"))
            .expect("generated")
            .len()
            > 4 << 20,
        "a ledger of several megabytes"
    );

    let runs: [&[&str]; 5] = [
        &["verify", "--ledger", "big.jsonl"],
        &["replay", "--ledger", "big.jsonl", "--as-of", "2010"],
        &["diff", "--ledger", "big.jsonl", "2005", "2015"],
        &["replay", "--ledger", "big.jsonl", "--as-of", "2010", "-q"],
        &["verify", "--ledger", "big.jsonl", "--quiet"],
    ];
    for args in runs {
        let r = env.run(args);
        assert_eq!(r.code, 0, "{args:?}: {r}");
        assert_eq!(r.stderr, "", "{args:?}");
        assert!(!r.stdout.is_empty(), "{args:?}");
        assert!(
            !r.stdout.contains('\r'),
            "{args:?}: a bar leaked into stdout"
        );
    }
    let verified = env.run(&["verify", "--ledger", "big.jsonl"]);
    assert!(
        verified.stdout.starts_with("ok: 20000 records, head "),
        "{verified}"
    );

    let r = env.run_with_stdin(&["append", "--ledger", "big.jsonl"], EVENT);
    assert_eq!(r.code, 0, "{r}");
    assert_eq!(r.stderr, "", "append");
    assert!(
        r.stdout
            .starts_with("appended 1 event(s); head is now seq 20001 "),
        "{r}"
    );
}

#[test]
fn an_error_after_long_work_is_the_only_thing_on_stderr() {
    let env = TestEnv::new();
    let r = env.run(&[
        "gen",
        "--events",
        "3000",
        "--seed",
        "4",
        "--out",
        "big.jsonl",
    ]);
    assert_eq!(r.code, 0, "{r}");
    // A torn final line: the whole file is read before the error.
    let path = env.dir().join("big.jsonl");
    let mut bytes = std::fs::read(&path).expect("read");
    bytes.extend_from_slice(b"{\"v\":1");
    std::fs::write(&path, bytes).expect("write");
    let r = env.run(&["verify", "--ledger", "big.jsonl"]);
    assert_ne!(r.code, 0, "{r}");
    assert_eq!(r.stdout, "", "{r}");
    assert!(r.stderr.starts_with("error: "), "{r}");
    assert_eq!(r.stderr.matches("error: ").count(), 1, "{r}");
    assert!(!r.stderr.contains('\r'), "{r}");
}
