//! Input errors end to end: event type errors name the field in words,
//! `--known-at` digits are a seq, `log --seq` refuses backward ranges, and
//! global options are listed apart in every command's help.

mod common;

use common::TestEnv;

const EDIT: &str = r#"{"type":"created","date":"2008","id":"edit","name":"Edit","kind":"cluster","sources":[{"doc":"a.txt"}]}"#;
const GRILOG: &str = r#"{"type":"created","date":"2000","id":"grilog","name":"GRILOG","kind":"cluster","sources":[{"doc":"b.txt"}]}"#;

fn two_records() -> TestEnv {
    let env = TestEnv::with_ledger();
    env.append(&format!("{EDIT}\n{GRILOG}\n"));
    env
}

#[test]
fn event_type_errors_name_the_field_and_quote_the_input() {
    let env = two_records();
    let before = env.ledger_bytes();
    let cases = [
        (
            r#"{"type":"dissolved","date":2008,"org":"edit","sources":[{"doc":"x"}]}"#,
            "event 1 (line 1): field `date`: expected an EDTF date string like \"2015-05\", found the integer `2008`",
        ),
        (
            r#"{"type":"figures","date":"2016","org":"edit","values":{"members":-1},"sources":[{"doc":"x"}]}"#,
            "field `values.members`: expected a non-negative integer (figures are counts), found the integer `-1`",
        ),
        (
            r#"{"type":"dissolved","date":"2016","org":"edit","sources":{"doc":"x"}}"#,
            "field `sources`: expected an array of sources",
        ),
        (
            r#"{"type":"dissolved","date":"2016","org":"edit","note":null,"sources":[{"doc":"x"}]}"#,
            "field `note` is null; omit an optional field instead of writing null",
        ),
        (
            r#"{"type":"planned","date":"2016","planned":{"type":"dissolved","date":"2017-13","org":"edit","sources":[{"doc":"x"}]},"sources":[{"doc":"x"}]}"#,
            "field `planned.date`: `2017-13` is not an EDTF date",
        ),
    ];
    for (input, says) in cases {
        let r = env.run_with_stdin(&["append"], input);
        assert_eq!(r.code, 3, "{r}");
        assert!(r.stderr.contains(says), "{input}\n{r}");
        assert!(!r.stderr.contains("invalid type"), "{r}");
    }
    assert_eq!(env.ledger_bytes(), before);
}

/// `known_at.seq` of a `replay --format json` output.
/// Given a batch with blank lines and an event spread over three lines,
/// when the fold refuses a later event, or finds that one would break a
/// record, then the error names the line on which that event starts.
#[test]
fn a_refused_batch_event_is_named_with_its_line() {
    let env = two_records();
    let before = env.ledger_bytes();
    let three_lines = "{\"type\":\"renamed\",\"date\":\"2009\",\n \"org\":\"edit\",\"name\":\"Edit 2\",\n \"sources\":[{\"doc\":\"x\"}]}";
    let unknown =
        r#"{"type":"renamed","date":"2010","org":"nope","name":"N","sources":[{"doc":"x"}]}"#;
    let r = env.run_with_stdin(&["append"], &format!("\n{three_lines}\n\n{unknown}\n"));
    assert_eq!(r.code, 3, "{r}");
    assert!(
        r.stderr
            .starts_with("error: <stdin>, line 6: event #2 of the batch (seq 4, `renamed`) is rejected: organisation `nope`"),
        "{r}"
    );
    // Given `grilog` a member of `edit` from 2009 (seq 3), a batch whose
    // second event dissolves `grilog` in 2001 would break that record: the
    // error names the line of the event blamed.
    let dissolve = r#"{"type":"dissolved","date":"2001","org":"grilog","sources":[{"doc":"x"}]}"#;
    let join = r#"{"type":"joined","date":"2009","org":"edit","member":{"org":"grilog"},"relation":"member","sources":[{"doc":"x"}]}"#;
    env.append(join);
    let before_breaking = env.ledger_bytes();
    let r = env.run_with_stdin(&["append"], &format!("{three_lines}\n{dissolve}\n"));
    assert_eq!(r.code, 3, "{r}");
    assert!(
        r.stderr
            .starts_with("error: <stdin>, line 4: appending event #2 of the batch (seq 5) would make seq 3 invalid"),
        "{r}"
    );
    assert_eq!(env.ledger_bytes(), before_breaking);
    assert_ne!(before, before_breaking);
}

/// An unknown id that no record mentions is most likely a typo: the
/// closest ids the ledger mentions or the batch creates are suggested,
/// with or without the append index (helper-53).
#[test]
fn an_unknown_id_close_to_known_ones_is_suggested() {
    let env = two_records();
    let before = env.ledger_bytes();
    let typo =
        r#"{"type":"renamed","date":"2010","org":"grilgo","name":"N","sources":[{"doc":"x"}]}"#;
    let expected = "error: <stdin>, line 1: event #1 of the batch (seq 3, `renamed`) is rejected: organisation `grilgo` (field `org`) does not exist on 2010 (hint: did you mean `grilog`? Otherwise, append a `created` (or `transformed`) event for `grilgo` dated on or before 2010 first)\n";
    // Through the index the first append built
    let r = env.run_with_stdin(&["append"], typo);
    assert_eq!((r.code, r.stderr.as_str()), (3, expected), "{r}");
    // And through the full validation
    std::fs::remove_dir_all(env.dir().join("ledger.jsonl.index")).expect("index");
    let r = env.run_with_stdin(&["append"], typo);
    assert_eq!((r.code, r.stderr.as_str()), (3, expected), "{r}");
    // An id the batch creates is suggested too
    let created = r#"{"type":"created","date":"2009","id":"newcomer","name":"N","kind":"k","sources":[{"doc":"x"}]}"#;
    let r = env.run_with_stdin(
        &["append"],
        &format!("{created}\n{}", typo.replace("grilgo", "newcomr")),
    );
    assert!(
        r.stderr
            .contains("(hint: did you mean `newcomer`? Otherwise,"),
        "{r}"
    );
    // An id far from every other one gets the plain hint
    let r = env.run_with_stdin(&["append"], &typo.replace("grilgo", "zzzzzz"));
    assert!(r.stderr.contains("(hint: append a `created`"), "{r}");
    assert_eq!(env.ledger_bytes(), before);
    // Given a program `grilogs`, an organisation's id is suggested where
    // an organisation is named, and the program's where a program is
    env.append(r#"{"type":"program_launched","date":"2012","program":"grilogs","name":"P","owner":"edit","sources":[{"doc":"x"}]}"#);
    let r = env.run_with_stdin(&["append"], &typo.replace("grilgo", "grilgos"));
    assert!(
        r.stderr
            .contains("(hint: did you mean `grilog`? Otherwise,"),
        "{r}"
    );
    let ended =
        r#"{"type":"program_ended","date":"2015","program":"grilgos","sources":[{"doc":"x"}]}"#;
    let r = env.run_with_stdin(&["append"], ended);
    assert!(
        r.stderr
            .contains("(hint: did you mean `grilogs`? Otherwise,"),
        "{r}"
    );
}

fn known_seq(stdout: &str) -> u64 {
    let v: serde_json::Value = serde_json::from_str(stdout).expect("replay json");
    v["known_at"]["seq"].as_u64().expect("known_at.seq")
}

#[test]
fn known_at_digits_are_a_seq_even_beyond_the_head() {
    let env = two_records();
    let log = env.run(&["log", "--format", "json"]);
    let first_hash: String = log
        .stdout
        .lines()
        .next()
        .and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .and_then(|v| v["hash"].as_str().map(str::to_owned))
        .expect("hash");
    // Bare digits beyond the head are a seq, refused with a hint; they
    // are never quietly read as a hash prefix.
    let r = env.run(&["replay", "--known-at", "9933"]);
    assert_eq!(r.code, 2, "{r}");
    assert!(
        r.stderr.contains(
            "--known-at: seq 9933 is beyond the ledger's head (seq 2); digits are read as a seq: for a hash prefix write `hash:9933`"
        ),
        "{r}"
    );
    let prefix = &first_hash[..6];
    let r = env.run(&[
        "replay",
        "--format",
        "json",
        "--known-at",
        &format!("hash:{prefix}"),
    ]);
    assert_eq!(known_seq(&r.stdout), 1, "{r}");
    // A month means its end: both records were recorded on 2026-01-01.
    let r = env.run(&["replay", "--format", "json", "--known-at", "2026-01"]);
    assert_eq!(known_seq(&r.stdout), 2, "{r}");
    let r = env.run(&["replay", "--format", "json", "--known-at", "2025-12"]);
    assert_eq!(known_seq(&r.stdout), 0, "{r}");
}

#[test]
fn log_seq_refuses_backward_ranges_seq_zero_and_ranges_past_the_head() {
    let env = two_records();
    let r = env.run(&["log", "--seq", "5..2"]);
    assert_eq!(r.code, 2, "{r}");
    assert!(
        r.stderr
            .contains("--seq `5..2` runs backwards (5 > 2); write the lower seq first: `2..5`"),
        "{r}"
    );
    let r = env.run(&["log", "--seq", "0"]);
    assert_eq!(r.code, 2, "{r}");
    assert!(r.stderr.contains("(seqs start at 1)"), "{r}");
    // A range that starts past the head names no record: an error, as an
    // unknown `--org` is; one that ends past it shows what there is.
    let r = env.run(&["log", "--seq", "999"]);
    assert_eq!(r.code, 2, "{r}");
    assert!(
        r.stderr.contains(
            "--seq `999` starts past the head: the ledger's last record is seq 2 (hint: `fusion log --seq 1..` shows the last ten)"
        ) && r.stdout.is_empty(),
        "{r}"
    );
    let empty = TestEnv::with_ledger();
    let r = empty.run(&["log", "--seq", "1.."]);
    assert_eq!(r.code, 2, "{r}");
    assert!(r.stderr.contains("an empty ledger, which has none"), "{r}");
    let r = env.run(&["log", "--seq", "2..999"]);
    assert_eq!(r.code, 0, "{r}");
    assert_eq!(r.stdout.lines().count(), 1, "{r}");
}

#[test]
fn global_options_come_after_each_commands_own() {
    let env = TestEnv::new();
    for (command, own) in [
        ("log", "--org"),
        ("replay", "--as-of"),
        ("append", "--expect-head"),
    ] {
        let r = env.run(&[command, "--help"]);
        assert_eq!(r.code, 0, "{r}");
        let at = |s: &str| {
            r.stdout
                .find(s)
                .unwrap_or_else(|| panic!("{command}: no {s}\n{r}"))
        };
        assert!(at(own) < at("Global options:"), "{command}\n{r}");
        assert!(
            at("Global options:") < at("--ledger <PATH>"),
            "{command}\n{r}"
        );
        assert!(
            at("Global options:") < at("--snapshots <DIR>"),
            "{command}\n{r}"
        );
        assert!(at("Global options:") < at("--quiet"), "{command}\n{r}");
    }
}

/// Events to append are JSON values separated by JSON whitespace, CR
/// included: a batch with CR LF line ends is read as written, and the
/// ledger gets canonical lines ending in LF alone (see README, "Strict
/// JSON"). A byte-order mark stays refused.
#[test]
fn a_batch_with_crlf_line_ends_is_stored_as_canonical_lf_lines() {
    let env = TestEnv::with_ledger();
    let crlf = "{\"type\":\"created\",\"date\":\"2000\",\"id\":\"a\",\"name\":\"A\",\"kind\":\"k\",\"sources\":[{\"doc\":\"d\"}]}\r\n{\r\n  \"type\": \"created\", \"date\": \"2001\", \"id\": \"b\",\r\n  \"name\": \"B\", \"kind\": \"k\", \"sources\": [{\"doc\": \"d\"}]\r\n}\r\n";
    let r = env.run_with_stdin(&["append"], crlf);
    assert_eq!(r.code, 0, "{r}");
    let ledger = String::from_utf8(env.ledger_bytes()).expect("utf-8");
    assert_eq!(ledger.lines().count(), 2);
    assert!(!ledger.contains('\r'), "{ledger}");
    assert!(ledger.contains(r#""name":"B""#), "{ledger}");
    let r = env.run(&["verify"]);
    assert_eq!(r.code, 0, "{r}");
    let before = env.ledger_bytes();
    let r = env.run_with_stdin(&["append"], &format!("\u{feff}{crlf}"));
    assert_eq!(r.code, 3, "{r}");
    assert!(r.stderr.contains("byte-order mark"), "{r}");
    assert_eq!(env.ledger_bytes(), before);
}

/// An environment variable set to nothing is named as such, not reported as
/// a flag given no value; a flag given no value keeps clap's wording.
#[test]
fn an_empty_fusion_ledger_or_fusion_snapshots_is_named() {
    let env = TestEnv::with_ledger();
    let run = |var: &str, args: &[&str]| {
        let out = env.command(args).env(var, "").output().expect("run");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    for var in ["FUSION_LEDGER", "FUSION_SNAPSHOTS"] {
        let (code, stderr) = run(var, &["replay"]);
        assert_eq!(code, Some(2), "{stderr}");
        assert_eq!(
            stderr,
            format!(
                "error: {var} is set but empty; set it to a path, or unset it (`unset {var}`) for the default\n"
            )
        );
    }
    let (code, stderr) = run("FUSION_LEDGER", &["replay", "--ledger", ""]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.starts_with("error: a value is required for '--ledger <PATH>'"),
        "{stderr}"
    );
}

#[test]
fn a_line_longer_than_any_event_stops_the_reading_and_a_directory_is_a_usage_error() {
    let env = two_records();
    let before = env.ledger_bytes();
    // given a file whose second line runs past 64 MiB with no newline
    // (as `/dev/zero` would, forever)
    let path = env.dir().join("long.jsonl");
    let mut text = format!("{EDIT}\n").into_bytes();
    text.resize(text.len() + (64 << 20) + 1, b' ');
    std::fs::write(&path, &text).expect("write");
    // when it is appended, from the file or from stdin
    let r = env.run(&["append", "long.jsonl"]);
    // then it is refused, naming the line, and the ledger is unchanged
    assert_eq!(r.code, 3, "{r}");
    assert_eq!(
        r.stderr,
        "error: long.jsonl: line 2 runs past 67108864 bytes without a newline; a line of events is at most that long, as a ledger line is (hint: put each event on a line of its own; an event is at most 67107840 bytes); reading stopped there\n"
    );
    let stdin = std::fs::File::open(&path).expect("open");
    let out = env.command(&["append"]).stdin(stdin).output().expect("run");
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: <stdin>: line 2 runs past"));
    assert_eq!(env.ledger_bytes(), before);
    // and so is a line just over the limit that ends in a newline
    let mut text = format!("{EDIT}\n").into_bytes();
    text.resize(text.len() + (64 << 20) + 1, b' ');
    text.extend_from_slice(format!("\n{GRILOG}\n").as_bytes());
    std::fs::write(&path, &text).expect("write");
    let r = env.run(&["append", "long.jsonl"]);
    assert_eq!(r.code, 3, "{r}");
    assert!(
        r.stderr.starts_with("error: long.jsonl: line 2 runs past"),
        "{r}"
    );
    assert_eq!(env.ledger_bytes(), before);
    // and a directory given as the events is a usage error (exit 2)
    std::fs::create_dir(env.dir().join("events.d")).expect("mkdir");
    let r = env.run(&["append", "events.d"]);
    assert_eq!(r.code, 2, "{r}");
    assert!(
        r.stderr.starts_with("error: cannot read `events.d`: "),
        "{r}"
    );
    assert_eq!(env.ledger_bytes(), before);
}
