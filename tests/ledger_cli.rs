//! The ledger commands end to end: init, append, verify, log, repair, with
//! their output and exit codes pinned by insta snapshots.

mod common;

use common::TestEnv;
use insta::assert_snapshot;

const EDIT: &str = r#"{"type":"created","date":"2008","id":"edit","name":"Edit","kind":"cluster","attrs":{"seat":"Lyon"},"sources":[{"doc":"a.txt","quote":"Depuis 2008"}]}"#;
const GRILOG: &str = r#"{"type":"created","date":"2000","id":"grilog","name":"GRILOG","kind":"cluster","sources":[{"doc":"b.txt"}]}"#;
const FUSION: &str = r#"{"type":"transformed","mode":"fusion","date":"2015-05~","from":["edit","grilog"],"to":["clustr"],"new":[{"id":"clustr","name":"Clust'R Numérique","kind":"cluster"}],"sources":[{"doc":"a.txt"}],"note":"début mai, year inferred"}"#;

fn landscape() -> TestEnv {
    let env = TestEnv::with_ledger();
    env.append(&format!("{EDIT}\n{GRILOG}\n{FUSION}\n"));
    env
}

#[test]
fn init_creates_an_empty_ledger_once() {
    let env = TestEnv::new();
    assert_snapshot!(env.run(&["init"]), @r"
    exit: 0
    --- stdout
    created empty ledger $TMP/ledger.jsonl
    ");
    assert_snapshot!(env.run(&["init"]), @r"
    exit: 2
    --- stderr
    error: `$TMP/ledger.jsonl` already exists; fusion never overwrites a ledger
    ");
    assert_snapshot!(env.run(&["verify"]), @r"
    exit: 0
    --- stdout
    ok: 0 records, head 0000000000000000000000000000000000000000000000000000000000000000
    ");
}

#[test]
fn append_prints_the_new_head_and_verify_agrees() {
    let env = TestEnv::with_ledger();
    let r = env.run_with_stdin(&["append"], &format!("{EDIT}\n{GRILOG}\n"));
    assert_snapshot!(r, @"
    exit: 0
    --- stdout
    appended 2 event(s); head is now seq 2 fc7dcb938b3e13e9e88eeb0826ef0b522feb59f04a5ccb96b828314a9238bfb5
    ");
    let head = r.stdout.split_whitespace().last().expect("hash").to_owned();
    let v = env.run(&["verify"]);
    assert_eq!(v.stdout, format!("ok: 2 records, head {head}\n"));
}

#[test]
fn append_from_a_file_and_a_pretty_printed_single_event() {
    let env = TestEnv::with_ledger();
    let pretty = serde_json::to_string_pretty(
        &serde_json::from_str::<serde_json::Value>(EDIT).expect("json"),
    )
    .expect("pretty");
    std::fs::write(env.dir().join("one.json"), pretty).expect("write");
    let r = env.run(&["append", "one.json"]);
    assert_eq!(r.code, 0, "{r}");
    assert!(
        r.stdout
            .starts_with("appended 1 event(s); head is now seq 1 "),
        "{r}"
    );
}

#[test]
fn log_lists_filters_and_prints_json_as_stored() {
    let env = landscape();
    assert_snapshot!(env.run(&["log"]), @r#"
    exit: 0
    --- stdout
        1  2026-01-01T00:00:00Z  2008          created           edit "Edit" (cluster)  6754157b1909
        2  2026-01-01T00:00:00Z  2000          created           grilog "GRILOG" (cluster)  fc7dcb938b3e
        3  2026-01-01T00:00:00Z  2015-05~      transformed       fusion edit + grilog -> clustr  5a691a4072ec
    "#);
    assert_snapshot!(env.run(&["log", "--org", "grilog", "--type", "transformed"]), @"
    exit: 0
    --- stdout
        3  2026-01-01T00:00:00Z  2015-05~      transformed       fusion edit + grilog -> clustr  5a691a4072ec
    ");
    assert_snapshot!(env.run(&["log", "--seq", "2..2"]), @r#"
    exit: 0
    --- stdout
        2  2026-01-01T00:00:00Z  2000          created           grilog "GRILOG" (cluster)  fc7dcb938b3e
    "#);
    let json = env.run(&["log", "--format", "json"]);
    assert_eq!(json.stdout.as_bytes(), env.ledger_bytes().as_slice());
    assert_snapshot!(env.run(&["log", "--seq", "x"]), @"
    exit: 2
    --- stderr
    error: --seq `x` is not a seq range; use a range such as 5..10, 5.., ..10 or one seq such as 7 (seqs start at 1)
    ");
    assert_snapshot!(env.run(&["log", "--type", "merger"]), @"
    exit: 2
    --- stderr
    error: --type `merger` is not an event type; one of: created, transformed, renamed, dissolved, attribute_set, label_granted, label_withdrawn, candidacy, program_launched, program_ended, site_opened, site_closed, joined, left, role_started, role_ended, figures, milestone, planned, plan_abandoned, correction
    ");
}

#[test]
fn log_text_marks_the_records_corrections_retracted_or_superseded() {
    // given the landscape and a rename of clustr (seq 4), then corrections
    // retracting the rename (seq 5) and superseding GRILOG's creation (seq 6)
    let env = landscape();
    env.append(
        r#"{"type":"renamed","date":"2016","org":"clustr","name":"C","sources":[{"doc":"r"}]}"#,
    );
    let (four, two) = (env.hash_of(4), env.hash_of(2));
    env.append(&format!(
        r#"{{"type":"correction","date":"2020","target":"{four}","mode":"retract","reason":"r","sources":[{{"doc":"c"}}]}}
{{"type":"correction","date":"2020","target":"{two}","mode":"supersede","reason":"r","replacement":{{"type":"created","date":"2001","id":"grilog","name":"GRILOG","kind":"cluster","sources":[{{"doc":"c"}}]}},"sources":[{{"doc":"c"}}]}}"#
    ));
    // when the log is listed, in full and in part, then each corrected
    // record says by which seq, whatever is shown
    assert_snapshot!(env.run(&["log"]), @r#"
    exit: 0
    --- stdout
        1  2026-01-01T00:00:00Z  2008          created           edit "Edit" (cluster)  6754157b1909
        2  2026-01-01T00:00:00Z  2000          created           grilog "GRILOG" (cluster)  fc7dcb938b3e  superseded by seq 6
        3  2026-01-01T00:00:00Z  2015-05~      transformed       fusion edit + grilog -> clustr  5a691a4072ec
        4  2026-01-01T00:00:00Z  2016          renamed           clustr -> "C"  aff081f95841  retracted by seq 5
        5  2026-01-01T00:00:00Z  2020          correction        retract aff081f95841  37c47f59152e
        6  2026-01-01T00:00:00Z  2020          correction        supersede fc7dcb938b3e  f520b0868f39
    "#);
    assert_snapshot!(env.run(&["log", "--seq", "2"]), @r#"
    exit: 0
    --- stdout
        2  2026-01-01T00:00:00Z  2000          created           grilog "GRILOG" (cluster)  fc7dcb938b3e  superseded by seq 6
    "#);
}

#[test]
fn log_of_an_id_no_record_mentions_is_a_usage_error_with_a_hint() {
    let env = landscape();
    assert_snapshot!(env.run(&["log", "--org", "grilg"]), @"
    exit: 2
    --- stderr
    error: --org `grilg`: no record mentions this id (hint: did you mean `grilog`?)
    ");
    assert_snapshot!(env.run(&["log", "--org", "zzzzzzzz"]), @"
    exit: 2
    --- stderr
    error: --org `zzzzzzzz`: no record mentions this id (hint: no id is close to it; `fusion replay --all` lists the organisations, `fusion log` every record)
    ");
    // An id the ledger mentions, outside the range or types asked for,
    // lists nothing, without an error.
    assert_snapshot!(env.run(&["log", "--org", "grilog", "--seq", "1"]), @"exit: 0");
    assert_snapshot!(env.run(&["log", "--org", "clustr", "--type", "renamed"]), @"exit: 0");
}

/// Given a generated ledger of more than a megabyte, when its records are
/// logged as JSON (read back from the file in runs of adjacent lines of at
/// most a megabyte), then each record shown is its line as stored, whole
/// and in order, for every record and for records scattered by a filter.
#[test]
fn log_as_json_prints_the_lines_as_stored_across_reads() {
    let env = TestEnv::new();
    let r = env.run(&["gen", "--events", "5000", "--seed", "3", "--out", "g.jsonl"]);
    assert_eq!(r.code, 0, "{r}");
    let text = std::fs::read_to_string(env.dir().join("g.jsonl")).expect("ledger");
    assert!(text.len() > 1 << 20, "{} bytes", text.len());
    let all = env.run(&["log", "--ledger", "g.jsonl", "--format", "json"]);
    assert_eq!(all.code, 0, "{all}");
    assert!(all.stdout == text, "the log differs from the file");
    let created: String = text
        .lines()
        .filter(|l| l.contains(r#""type":"created""#))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(created.lines().count() > 100);
    let some = env.run(&[
        "log", "--ledger", "g.jsonl", "--format", "json", "--type", "created",
    ]);
    assert!(
        some.stdout == created,
        "{} lines",
        some.stdout.lines().count()
    );
    let range = env.run(&[
        "log",
        "--ledger",
        "g.jsonl",
        "--format",
        "json",
        "--seq",
        "2990..3010",
    ]);
    let expected: String = text
        .lines()
        .skip(2989)
        .take(21)
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(range.stdout, expected);
}

#[test]
fn rejections_name_the_place_and_rule_and_leave_the_ledger_unchanged() {
    let env = landscape();
    let before = env.ledger_bytes();
    let cases = [
        ("bad json", format!("{EDIT}\n{{\"type\": ")),
        ("unknown field", GRILOG.replace("\"kind\"", "\"knid\"")),
        ("bad date", GRILOG.replace("2000", "2000-13").replace("grilog", "g2")),
        ("id reused", GRILOG.to_owned()),
        ("ended org", r#"{"type":"renamed","date":"2016","org":"edit","name":"E","sources":[{"doc":"x"}]}"#.to_owned()),
        ("unknown org", r#"{"type":"site_opened","date":"2016","org":"nope","site":"Lyon","sources":[{"doc":"x"}]}"#.to_owned()),
        ("no source", r#"{"type":"dissolved","date":"2016","org":"clustr","sources":[]}"#.to_owned()),
        ("backdated break", r#"{"type":"dissolved","date":"2010","org":"grilog","sources":[{"doc":"x"}]}"#.to_owned()),
    ];
    let mut all = String::new();
    for (name, input) in cases {
        let r = env.run_with_stdin(&["append"], &input);
        all.push_str(&format!("## {name}\n{r}\n"));
        assert_eq!(env.ledger_bytes(), before, "{name} changed the ledger");
    }
    assert_snapshot!(all);
}

#[test]
fn one_bad_event_in_a_batch_writes_nothing() {
    let env = TestEnv::with_ledger();
    let before = env.ledger_bytes();
    let r = env.run_with_stdin(&["append"], &format!("{EDIT}\n{GRILOG}\n{}\n", EDIT));
    assert_eq!(r.code, 3, "{r}");
    assert!(
        r.stderr
            .contains("event #3 of the batch (seq 3, `created`)"),
        "{r}"
    );
    assert_eq!(env.ledger_bytes(), before);
}

#[test]
fn expect_head_detects_a_moved_head() {
    let env = TestEnv::with_ledger();
    env.append(EDIT);
    let head = env
        .run(&["verify"])
        .stdout
        .split_whitespace()
        .last()
        .expect("h")
        .to_owned();
    let before = env.ledger_bytes();
    let stale = env.run_with_stdin(&["append", "--expect-head", "0000000000"], GRILOG);
    assert_eq!(stale.code, 6, "{stale}");
    assert!(stale.stderr.contains("head moved"), "{stale}");
    assert_eq!(env.ledger_bytes(), before);
    // A prefix copied in uppercase names the same head.
    let ok = env.run_with_stdin(
        &["append", "--expect-head", &head[..12].to_ascii_uppercase()],
        GRILOG,
    );
    assert_eq!(ok.code, 0, "{ok}");
}

#[test]
fn verify_names_the_first_bad_line_and_exits_4() {
    let env = landscape();
    let text = String::from_utf8(env.ledger_bytes()).expect("utf8");
    std::fs::write(env.ledger(), text.replace("GRILOG", "GRIL0G")).expect("write");
    assert_snapshot!(env.run(&["verify"]), @"
    exit: 4
    --- stderr
    error: `$TMP/ledger.jsonl` line 2 (seq 2): hash mismatch: stored fc7dcb938b3e13e9e88eeb0826ef0b522feb59f04a5ccb96b828314a9238bfb5, content hashes to 2edd3aedee856a00655bab4a5dd8d6254dc280253cfa5b189c522e7c403ebf60
    ");
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(env.ledger(), format!("{}\n{}\n", lines[0], lines[2])).expect("write");
    assert_snapshot!(env.run(&["verify"]), @"
    exit: 4
    --- stderr
    error: `$TMP/ledger.jsonl` line 2: `seq` is 3, expected 2 (records must be numbered 1, 2, 3… without gaps)
    ");
}

#[test]
fn a_torn_last_line_is_reported_apart_from_tampering_and_repaired() {
    let env = landscape();
    let good = env.ledger_bytes();
    let mut torn = good.clone();
    torn.extend_from_slice(br#"{"v":1,"seq":4,"recorded":"2026"#);
    std::fs::write(env.ledger(), &torn).expect("write");
    assert_snapshot!(env.run(&["verify"]), @"
    exit: 5
    --- stderr
    error: `$TMP/ledger.jsonl` line 4: incomplete last line (31 bytes without a final newline): an append was interrupted or the file was cut short; `fusion repair` rolls back an interrupted append (a line cut short otherwise is a lost record: restore the ledger, or drop it with `fusion repair --discard-incomplete`)
    ");
    let refused = env.run_with_stdin(&["append"], GRILOG.replace("grilog", "g2").as_str());
    assert_eq!(refused.code, 5, "{refused}");
    assert_eq!(env.ledger_bytes(), torn);
    // No journal: no append was interrupted, so the line is a record cut
    // short by something else, and repair drops it only when told to.
    assert_snapshot!(env.run(&["repair"]), @"
    exit: 4
    --- stderr
    error: `$TMP/ledger.jsonl` line 4: incomplete last line (31 bytes without a final newline), and no journal says an append was interrupted: fusion's appends never leave one, so this is a record cut short by something else (a copy or download cut short, a disk fault); nothing was changed (hint: restore the ledger from a backup or from where it came; `fusion repair --discard-incomplete` drops the incomplete line)
    ");
    assert_eq!(env.ledger_bytes(), torn);
    assert_snapshot!(env.run(&["repair", "--discard-incomplete"]), @"
    exit: 0
    --- stdout
    $TMP/ledger.jsonl: removed the incomplete line 4 (31 bytes), as --discard-incomplete asked; the record it held is lost
    ");
    assert_eq!(env.ledger_bytes(), good);
    assert_snapshot!(env.run(&["repair"]), @"
    exit: 0
    --- stdout
    $TMP/ledger.jsonl: nothing to repair
    ");
}

#[test]
fn a_ledger_cut_short_inside_acknowledged_records_is_not_repaired_silently() {
    // Given a ledger whose appends the index saw up to seq 4
    let env = landscape();
    let more = GRILOG.replace("grilog", "g2");
    assert_eq!(env.append(&format!("{more}\n")).code, 0);
    let good = env.ledger_bytes();
    // when the file is cut 40 bytes into line 3 (records 3 and 4 lost)
    let start3 = good
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .nth(1)
        .map(|(i, _)| i + 1)
        .expect("line 3");
    let cut = &good[..start3 + 40];
    std::fs::write(env.ledger(), cut).expect("write");
    // then repair says what the index saw, and changes nothing
    let r = env.run(&["repair"]);
    assert_eq!(r.code, 4, "{r}");
    assert!(
        r.stderr.contains(
            "line 3: incomplete last line (40 bytes without a final newline), and no journal"
        ) && r.stderr.contains(
            "the append index last saw seq 4, so records 3..=4 were acknowledged; nothing was changed"
        ),
        "{r}"
    );
    assert_eq!(env.ledger_bytes(), cut);
}

#[test]
fn repair_never_touches_a_tampered_ledger() {
    let env = landscape();
    let text = String::from_utf8(env.ledger_bytes())
        .expect("utf8")
        .replace("Lyon", "Lyom");
    std::fs::write(env.ledger(), &text).expect("write");
    let r = env.run(&["repair"]);
    assert_eq!(r.code, 4, "{r}");
    assert_eq!(env.ledger_bytes(), text.as_bytes());
}

#[test]
fn missing_ledger_and_bad_flags_are_usage_errors() {
    let env = TestEnv::new();
    assert_snapshot!(env.run(&["verify"]), @"
    exit: 2
    --- stderr
    error: no ledger at `$TMP/ledger.jsonl`; create one with `fusion init --ledger $TMP/ledger.jsonl`, or pass --ledger / set FUSION_LEDGER
    ");
    assert_eq!(env.run(&["frobnicate"]).code, 2);
    // A directory where the ledger should be is the same mistake, whatever
    // the command (helper-53: it was an I/O error, exit 1)
    std::fs::create_dir(env.ledger()).expect("mkdir");
    for args in [
        &["verify"][..],
        &["replay", "--as-of", "2020"],
        &["log"],
        &["repair"],
    ] {
        let r = env.run(args);
        assert_eq!(r.code, 2, "{args:?}: {r}");
        assert_eq!(
            r.stderr,
            "error: `$TMP/ledger.jsonl` is a directory, not a ledger; pass the ledger's file with --ledger (or FUSION_LEDGER)\n",
            "{args:?}"
        );
    }
    let mut cmd = env.command(&["verify"]);
    cmd.env("FUSION_RECORDED", "yesterday");
    let out = cmd.output().expect("run");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_closed_stdout_pipe_exits_quietly() {
    let env = landscape();
    let mut child = env
        .command(&["log"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn no_command_writes_its_output_over_the_ledger() {
    let env = landscape();
    let before = env.ledger_bytes();
    let cp = env.run(&["checkpoint"]);
    assert_eq!(cp.code, 0, "{cp}");
    std::fs::write(env.dir().join("cp"), &cp.stdout).expect("write");
    for args in [
        vec!["report", "--as-of", "2017", "--out", "ledger.jsonl"],
        vec!["checkpoint", "--out", "ledger.jsonl"],
        vec![
            "prove",
            "inclusion",
            "1",
            "--checkpoint",
            "cp",
            "--out",
            "./ledger.jsonl",
        ],
    ] {
        let r = env.run(&args);
        assert_eq!(r.code, 2, "{args:?}: {r}");
        assert!(r.stderr.contains("is the ledger"), "{args:?}: {r}");
        assert_eq!(env.ledger_bytes(), before, "{args:?} changed the ledger");
    }
}

#[test]
fn an_append_after_a_record_from_the_future_says_it_reuses_its_time() {
    let mut env = TestEnv::with_ledger();
    // given a last record stamped far ahead of the clock
    env.set_recorded("9999-12-31T23:59:59Z");
    assert_eq!(env.append(EDIT).code, 0);
    env.set_recorded("2026-01-01T00:00:00Z");
    // when an event is appended, then it carries that time, and says so
    let r = env.run_with_stdin(&["append"], GRILOG);
    assert_eq!(r.code, 0, "{r}");
    insta::assert_snapshot!(r.stderr, @"warning: the ledger's last record was recorded at 9999-12-31T23:59:59Z, after this machine's clock (2026-01-01T00:00:00Z); the new records carry that time too, since `recorded` never decreases (hint: check the clock, or how that record was written)");
    let log = env.run(&["log", "--format", "json", "--seq", "2"]);
    assert!(
        log.stdout.contains(r#""recorded":"9999-12-31T23:59:59Z""#),
        "{log}"
    );
    // and an append whose clock has caught up says nothing
    env.set_recorded("9999-12-31T23:59:59Z");
    let on_time = env.run_with_stdin(
        &["append"],
        r#"{"type":"dissolved","date":"2020","org":"grilog","sources":[{"doc":"x"}]}"#,
    );
    assert_eq!(
        (on_time.code, on_time.stderr.as_str()),
        (0, ""),
        "{on_time}"
    );
}

/// Outputs to a file or a pipe are the data exactly: characters that a
/// terminal would get replaced (C1 such as U+0092, which text decoded from
/// Windows-1252 often holds, DEL, NUL) pass unchanged, so a copy made with
/// `log --format json` verifies, a proof bundle verifies, and CSV cells
/// hold what the ledger holds.
#[test]
fn machine_readable_output_keeps_every_character_of_the_data() {
    let env = TestEnv::with_ledger();
    env.append(
        r#"{"type":"created","date":"2000","id":"c","name":"L\u0092Oreal\u007f","kind":"k","sources":[{"doc":"d\u0000x"}]}"#,
    );
    // a copy of the records verifies
    let log = env.run(&["log", "--format", "json"]);
    assert_eq!(log.code, 0, "{log}");
    assert!(log.stdout.contains("L\u{92}Oreal\u{7f}"), "{log}");
    std::fs::write(env.dir().join("copy.jsonl"), &log.stdout).expect("write");
    assert_eq!(
        std::fs::read(env.dir().join("copy.jsonl")).expect("read"),
        env.ledger_bytes()
    );
    let r = env.run(&["verify", "--ledger", "copy.jsonl"]);
    assert_eq!(r.code, 0, "{r}");
    // a proof bundle verifies
    let cp = env.run(&["checkpoint"]);
    std::fs::write(env.dir().join("cp.txt"), &cp.stdout).expect("write");
    let bundle = env.run(&["prove", "inclusion", "1", "--checkpoint", "cp.txt"]);
    assert_eq!(bundle.code, 0, "{bundle}");
    std::fs::write(env.dir().join("b.json"), &bundle.stdout).expect("write");
    let r = env.run(&["verify-proof", "b.json", "--checkpoint", "cp.txt"]);
    assert_eq!(r.code, 0, "{r}");
    // the view and the CSV keep the name
    let replay = env.run(&["replay", "--format", "json"]);
    assert!(replay.stdout.contains("L\u{92}Oreal\u{7f}"), "{replay}");
    let csv = env.run(&["export", "--format", "csv"]);
    assert!(csv.stdout.contains("L\u{92}Oreal\u{7f}"), "{csv}");
    assert!(!csv.stdout.contains('\u{fffd}'), "{csv}");
}

/// `log --org X --follow` lists the records of every id an id change links
/// X to, either way and along a chain; without `--follow`, X's alone
/// (helper-53: a journalist following a hospital across its id change).
#[test]
fn log_follow_lists_the_records_of_every_id_an_id_change_links() {
    // Given a (seq 1) renamed to id b (seq 3), b to c (seq 5), and other
    // records of each id and of an unrelated x
    let env = TestEnv::with_ledger();
    env.append(concat!(
        r#"{"type":"created","date":"2000","id":"a","name":"A","kind":"k","sources":[{"doc":"d"}]}"#, "\n",
        r#"{"type":"created","date":"2000","id":"x","name":"X","kind":"k","sources":[{"doc":"d"}]}"#, "\n",
        r#"{"type":"transformed","mode":"id_change","date":"2001","from":["a"],"to":["b"],"sources":[{"doc":"d"}]}"#, "\n",
        r#"{"type":"renamed","date":"2002","org":"b","name":"B","sources":[{"doc":"d"}]}"#, "\n",
        r#"{"type":"transformed","mode":"id_change","date":"2003","from":["b"],"to":["c"],"sources":[{"doc":"d"}]}"#, "\n",
        r#"{"type":"renamed","date":"2004","org":"x","name":"X2","sources":[{"doc":"d"}]}"#, "\n",
    ));
    let seqs = |r: &common::Run| -> Vec<u64> {
        r.stdout
            .lines()
            .filter_map(|l| l.split_whitespace().next()?.parse().ok())
            .collect()
    };
    // When b's records are listed, then only those that mention b
    let r = env.run(&["log", "--org", "b"]);
    assert_eq!((r.code, seqs(&r)), (0, vec![3, 4, 5]), "{r}");
    // When they are listed with --follow, from any id of the chain, then
    // a's and c's too, and nothing of x
    for id in ["a", "b", "c"] {
        let r = env.run(&["log", "--org", id, "--follow"]);
        assert_eq!((r.code, seqs(&r)), (0, vec![1, 3, 4, 5]), "{id}: {r}");
    }
    // And --follow needs --org
    assert_eq!(env.run(&["log", "--follow"]).code, 2);
}
