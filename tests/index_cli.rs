//! The append index from the command line: built by the first append,
//! audited by `verify --index`, never needed for a correct answer.

mod common;

use common::TestEnv;
use insta::assert_snapshot;

const EDIT: &str = r#"{"type":"created","date":"2008","id":"edit","name":"Edit","kind":"cluster","sources":[{"doc":"a.txt"}]}"#;
const GRILOG: &str = r#"{"type":"created","date":"2000","id":"grilog","name":"GRILOG","kind":"cluster","sources":[{"doc":"b.txt"}]}"#;
const RENAME: &str = r#"{"type":"renamed","date":"2012","org":"edit","name":"Edit Lyon","sources":[{"doc":"a.txt"}]}"#;

fn index_dir(env: &TestEnv) -> std::path::PathBuf {
    let mut name = std::fs::canonicalize(env.ledger())
        .expect("ledger")
        .into_os_string();
    name.push(".index");
    name.into()
}

#[test]
fn the_first_append_builds_the_index_and_verify_audits_it() {
    let env = TestEnv::with_ledger();
    assert_snapshot!(env.run(&["verify", "--index"]), @r"
    exit: 0
    --- stdout
    ok: 0 records, head 0000000000000000000000000000000000000000000000000000000000000000
    append index: none (the next append builds it)
    ");
    env.append(&format!("{EDIT}\n{GRILOG}\n"));
    assert!(index_dir(&env).join("HEAD").exists());
    env.append(RENAME);
    assert_snapshot!(env.run(&["verify", "--index"]), @"
    exit: 0
    --- stdout
    ok: 3 records, head ac01ab8c93c9eb542207b2a0e617bf8c639d56dd1bbc085a7046c9319d2a4026
    append index: matches the ledger (2 ids)
    ");
}

/// Bucket 0 of the index of `env` with `edit`'s entry forgetting that it
/// ended: an index trusting it would accept `LATE`.
fn forgetting_the_dissolution(env: &TestEnv) -> String {
    let bucket = index_dir(env).join("bucket-0.json");
    let mut entries: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&bucket).expect("bucket")).expect("json");
    let removed = entries["edit"]["org"]
        .as_object_mut()
        .and_then(|o| o.remove("ended"));
    assert!(removed.is_some(), "{entries}");
    entries.to_string()
}

/// Asserts that `verify --index` finds the index of `env` matching its
/// ledger, with `ids` ids.
fn assert_index_matches(env: &TestEnv, ids: usize) {
    let r = env.run(&["verify", "--index"]);
    assert!(
        r.stdout
            .contains(&format!("append index: matches the ledger ({ids} ids)")),
        "{r}"
    );
}

/// Writes `text` as bucket 0 of the index of `env`, and its checksum in
/// the index's `HEAD`: an edit that appends would trust.
fn write_trusted(env: &TestEnv, text: &str) {
    let dir = index_dir(env);
    std::fs::write(dir.join("bucket-0.json"), text).expect("write");
    let head = dir.join("HEAD");
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&head).expect("HEAD")).expect("json");
    json["sums"][0] = fusion::index::bucket_sum(text.as_bytes()).into();
    std::fs::write(&head, json.to_string()).expect("write");
}

#[test]
fn an_edited_index_is_reported_and_a_deleted_one_is_rebuilt() {
    let env = TestEnv::with_ledger();
    env.append(&format!("{EDIT}\n{GRILOG}\n"));
    let bucket = index_dir(&env).join("bucket-0.json");
    let text = std::fs::read_to_string(&bucket).expect("bucket");
    let head = std::fs::read(index_dir(&env).join("HEAD")).expect("HEAD");
    // Someone edits the index: `edit` now claims another name, and `HEAD`
    // names the edited bucket's checksum.
    let forged = text.replace("\"Edit\"", "\"Forged\"");
    write_trusted(&env, &forged);
    let r = env.run(&["verify", "--index"]);
    assert_eq!(r.code, 4, "{r}");
    assert!(r.stderr.contains("first difference: `edit`"), "{r}");
    // The same edit without its checksum, as a crash that tore or lost the
    // bucket would leave it: appends never use that bucket, which is no
    // failure.
    std::fs::write(index_dir(&env).join("HEAD"), &head).expect("write");
    std::fs::write(&bucket, &forged).expect("write");
    let expected = fusion::index::bucket_sum(text.as_bytes());
    let found = fusion::index::bucket_sum(forged.as_bytes());
    let r = env.run(&["verify", "--index"]);
    assert_eq!(r.code, 0, "{r}");
    assert_eq!(
        r.stdout.lines().nth(1),
        Some(
            format!(
                "append index: `$TMP/ledger.jsonl.index/bucket-0.json` does not match the checksum `HEAD` names for it (`HEAD` names `{expected}`, the file's is `{found}`: torn by a crash, or edited); appends never use it (the first that needs it reads the whole ledger and rebuilds the index), and trust the other buckets, which match the ledger"
            )
            .as_str()
        ),
        "{r}"
    );
    // A bucket that is not JSON, though `HEAD` names its checksum, is not
    // trusted either.
    write_trusted(&env, "not json");
    let r = env.run(&["verify", "--index"]);
    assert_eq!(r.code, 0, "{r}");
    assert!(
        r.stdout.contains(
            "`$TMP/ledger.jsonl.index/bucket-0.json` is not an index bucket (expected ident at line 1 column 2); appends never use it"
        ),
        "{r}"
    );
    std::fs::write(index_dir(&env).join("HEAD"), &head).expect("write");
    std::fs::write(&bucket, &text).expect("write");
    // Without `--index`, verify reads the ledger only, which is intact.
    assert_eq!(env.run(&["verify"]).code, 0);
    // Deleting the index is always safe: the next append rebuilds it.
    std::fs::remove_dir_all(index_dir(&env)).expect("remove");
    assert_eq!(env.append(RENAME).code, 0);
    assert_index_matches(&env, 2);
}

#[test]
fn an_index_that_saw_records_the_ledger_no_longer_holds_is_an_integrity_failure() {
    // Given an index that saw three records
    let env = TestEnv::with_ledger();
    env.append(&format!("{EDIT}\n{GRILOG}\n"));
    let two = env.ledger_bytes();
    let old_index = std::fs::read(index_dir(&env).join("HEAD")).expect("head");
    env.append(RENAME);
    let three = env.ledger_bytes();
    // when the ledger loses its last record (a valid chain of two)
    std::fs::write(env.ledger(), &two).expect("write");
    // then the records the index saw are missing
    let r = env.run(&["verify", "--index"]);
    assert_eq!(r.code, 4, "{r}");
    assert!(
        r.stderr
            .contains("saw seq 3: records 3..=3 were appended, and are no longer in the ledger"),
        "{r}"
    );
    // when the third record is another one, the chain valid
    let other = TestEnv::with_ledger();
    other.append(&format!("{EDIT}\n{GRILOG}\n"));
    other.append(&RENAME.replace("Edit Lyon", "Edit Rhône"));
    std::fs::write(env.ledger(), other.ledger_bytes()).expect("write");
    assert_eq!(env.run(&["verify"]).code, 0);
    // then the index names the rewritten seq
    let r = env.run(&["verify", "--index"]);
    assert_eq!(r.code, 4, "{r}");
    assert!(
        r.stderr.contains("saw seq 3 with hash") && r.stderr.contains("the ledger was rewritten"),
        "{r}"
    );
    // when the index is only behind a ledger that extends what it saw
    std::fs::write(env.ledger(), &three).expect("write");
    std::fs::write(index_dir(&env).join("HEAD"), &old_index).expect("write");
    // then it is stale, which is no failure
    let r = env.run(&["verify", "--index"]);
    assert_eq!(r.code, 0, "{r}");
    assert!(
        r.stdout
            .contains("append index: describes seq 2, not the head"),
        "{r}"
    );
}

/// The same evidence stops an append: a new record would take the place of
/// a lost or rewritten one and hide it. Deleting the index, as the hint
/// says, is the way to go on when the loss is deliberate; and `repair
/// --discard-incomplete`, which consents to losing a torn record the index
/// saw, drops the index itself.
#[test]
fn an_append_is_refused_while_the_index_proves_records_lost_or_rewritten() {
    const MORE: &str = r#"{"type":"created","date":"2012","id":"more","name":"More","kind":"k","sources":[{"doc":"a.txt"}]}"#;
    // Given an index that saw three records, and a ledger cut back to two
    let env = TestEnv::with_ledger();
    env.append(&format!("{EDIT}\n{GRILOG}\n"));
    let two = env.ledger_bytes();
    env.append(RENAME);
    std::fs::write(env.ledger(), &two).expect("write");
    // When an event is appended, then nothing is written, exit 4
    let r = env.run_with_stdin(&["append"], MORE);
    assert_eq!(r.code, 4, "{r}");
    assert!(
        r.stderr.contains("holds 2 records, but its append index")
            && r.stderr
                .contains("saw seq 3: records 3..=3 were appended and acknowledged"),
        "{r}"
    );
    assert_eq!(env.ledger_bytes(), two);
    // Given a ledger rewritten at the seq the index saw
    let other = TestEnv::with_ledger();
    other.append(&format!("{EDIT}\n{GRILOG}\n"));
    other.append(&RENAME.replace("Edit Lyon", "Edit Rhône"));
    let rewritten = other.ledger_bytes();
    std::fs::write(env.ledger(), &rewritten).expect("write");
    let r = env.run_with_stdin(&["append"], MORE);
    assert_eq!(r.code, 4, "{r}");
    assert!(
        r.stderr
            .contains("holds another record at seq 3 than its append index"),
        "{r}"
    );
    assert_eq!(env.ledger_bytes(), rewritten);
    // When the index is deleted, as the hint says, the append goes through
    std::fs::remove_dir_all(index_dir(&env)).expect("rm");
    let r = env.run_with_stdin(&["append"], MORE);
    assert_eq!(r.code, 0, "{r}");
    // Given a torn last record the index saw, dropped with consent
    let mut torn = env.ledger_bytes();
    torn.truncate(torn.len() - 10);
    std::fs::write(env.ledger(), &torn).expect("write");
    let r = env.run(&["repair", "--discard-incomplete"]);
    assert_eq!(r.code, 0, "{r}");
    assert!(!index_dir(&env).exists(), "the index that saw it is gone");
    // then appends go on, and the index is rebuilt
    let r = env.run_with_stdin(&["append"], &MORE.replace("\"more\"", "\"more2\""));
    assert_eq!(r.code, 0, "{r}");
    assert!(index_dir(&env).join("HEAD").exists());
    let r = env.run(&["verify", "--index"]);
    assert_eq!(r.code, 0, "{r}");
}

/// A damaged `HEAD` is named as such, not as "no index"; a file sitting
/// where the index's directory goes is named, since no append can rebuild
/// the index there.
#[test]
fn an_unreadable_head_or_a_file_in_the_index_s_place_is_named() {
    let env = TestEnv::with_ledger();
    env.append(&format!("{EDIT}\n{GRILOG}\n"));
    std::fs::write(index_dir(&env).join("HEAD"), "{}").expect("write");
    let r = env.run(&["verify", "--index"]);
    assert_eq!(r.code, 0, "{r}");
    assert!(
        r.stdout.contains("HEAD` cannot be read (not what this build writes); appends do not trust it, the next one rebuilds it"),
        "{r}"
    );
    // The next append rebuilds it
    assert_eq!(env.append(RENAME).code, 0);
    let r = env.run(&["verify", "--index"]);
    assert!(r.stdout.contains("append index: matches the ledger"), "{r}");
    // Given a file where the index's directory goes
    std::fs::remove_dir_all(index_dir(&env)).expect("rm");
    std::fs::write(index_dir(&env), "mine").expect("write");
    let r = env.run_with_stdin(&["append"], &RENAME.replace("Edit Lyon", "Edit Rhône"));
    assert_eq!(r.code, 0, "{r}");
    assert!(
        r.stderr.contains("is a file, not the index's directory: move it away, and the next append builds the index"),
        "{r}"
    );
    assert_eq!(
        std::fs::read_to_string(index_dir(&env)).expect("read"),
        "mine"
    );
}

#[test]
fn an_index_that_cannot_be_written_is_named_and_each_append_tries_again() {
    let env = TestEnv::with_ledger();
    env.append(&format!("{EDIT}\n"));
    // Given a directory where the index's `HEAD` goes, which no append
    // removes (it is not the index's)…
    let head = index_dir(&env).join("HEAD");
    std::fs::remove_file(&head).expect("rm");
    std::fs::create_dir_all(head.join("mine")).expect("mkdir");
    // …each append succeeds, and warns that the index is not written, and
    // what that costs, without promising the next append mends it.
    for (i, event) in [GRILOG, RENAME].into_iter().enumerate() {
        let before = env.ledger_bytes().len();
        let r = env.run_with_stdin(&["append"], event);
        assert_eq!(r.code, 0, "{r}");
        assert!(
            env.ledger_bytes().len() > before,
            "append {i} wrote nothing"
        );
        assert!(
            r.stderr.contains(
                "warning: the events were appended, but the append index could not be updated ("
            ) && r.stderr.contains("HEAD")
                && r.stderr.ends_with(
                    "; until it is, each append reads the whole ledger and tries again\n"
                ),
            "{r}"
        );
    }
    assert!(head.join("mine").is_dir());
    // Once it is moved away, the next append rebuilds the index.
    std::fs::remove_dir_all(&head).expect("rm");
    assert_eq!(
        env.append(&LATE.replace("2011", "2012").replace("Late", "Later"))
            .code,
        0
    );
    assert_index_matches(&env, 2);
}

/// Ends `edit` in 2010.
const DISSOLVE: &str =
    r#"{"type":"dissolved","date":"2010","org":"edit","sources":[{"doc":"a.txt"}]}"#;
/// Renames `edit` in 2011, after it ended: refused by the history.
const LATE: &str =
    r#"{"type":"renamed","date":"2011","org":"edit","name":"Late","sources":[{"doc":"a.txt"}]}"#;

/// Two ledgers holding `events`, the first with its append index, the
/// second without.
fn with_and_without_index(events: &str) -> (TestEnv, TestEnv) {
    let with_index = TestEnv::with_ledger();
    let without = TestEnv::with_ledger();
    for env in [&with_index, &without] {
        env.append(events);
    }
    std::fs::remove_dir_all(index_dir(&without)).expect("remove");
    (with_index, without)
}

/// Appends `events` to both ledgers, asserting the same outcome, and
/// returns the first's.
fn append_to_both(with_index: &TestEnv, without: &TestEnv, events: &str) -> common::Run {
    let a = with_index.run_with_stdin(&["append"], events);
    let b = without.run_with_stdin(&["append"], events);
    assert_eq!(
        (a.code, &a.stdout, &a.stderr),
        (b.code, &b.stdout, &b.stderr)
    );
    a
}

#[test]
fn a_refused_event_is_refused_alike_with_or_without_the_index() {
    let (with_index, without) = with_and_without_index(&format!("{EDIT}\n{DISSOLVE}\n"));
    let a = append_to_both(&with_index, &without, LATE);
    assert_eq!(a.code, 3, "{a}");
    assert_snapshot!(a, @"
    exit: 3
    --- stderr
    error: <stdin>, line 1: event #1 of the batch (seq 3, `renamed`) is rejected: organisation `edit` (field `org`) ended on 2010 (dissolved); an event dated 2011 cannot refer to it (hint: if this happened before 2010, correct one of the two dates)
    ");
}

#[test]
fn an_index_of_an_older_format_version_is_never_trusted_and_the_next_append_rebuilds_it() {
    let env = TestEnv::with_ledger();
    env.append(&format!("{EDIT}\n{DISSOLVE}\n"));
    // Given an index whose HEAD says version 2, and whose entry for `edit`
    // forgets that it was dissolved: trusted, it would accept `LATE`.
    let head = index_dir(&env).join("HEAD");
    let text = std::fs::read_to_string(&head).expect("HEAD");
    assert!(text.starts_with(r#"{"index":3,"#), "{text}");
    // (The edited bucket's checksum in `HEAD`: only the version tells it
    // apart from an index of this build.)
    write_trusted(&env, &forgetting_the_dissolution(&env));
    let text = std::fs::read_to_string(&head).expect("HEAD");
    std::fs::write(&head, text.replacen(r#""index":3"#, r#""index":2"#, 1)).expect("write");
    assert_snapshot!(env.run(&["verify", "--index"]), @"
    exit: 0
    --- stdout
    ok: 2 records, head ec1f6884f4b57e2907215b2b5c85ac6860f42ec6ed2f8aef997d11b9ec2725a1
    append index: format version 2, not 3; appends do not trust it, the next one rebuilds it
    ");
    // Then `LATE` is refused by the full validation…
    let r = env.run_with_stdin(&["append"], LATE);
    assert_eq!(r.code, 3, "{r}");
    assert!(r.stderr.contains("ended on 2010 (dissolved)"), "{r}");
    // …and the next append, not an error, rebuilds the index as version 3.
    let r = env.append(GRILOG);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""), "{r}");
    let text = std::fs::read_to_string(&head).expect("HEAD");
    assert!(text.starts_with(r#"{"index":3,"#), "{text}");
    assert_index_matches(&env, 2);
}

#[test]
fn a_bucket_that_does_not_match_its_checksum_is_never_trusted() {
    let env = TestEnv::with_ledger();
    env.append(&format!("{EDIT}\n{DISSOLVE}\n"));
    // Given a bucket whose entry for `edit` forgets that it was dissolved,
    // its checksum not the one `HEAD` names (as a crash can leave a bucket
    // of an earlier update under a later `HEAD`: buckets are not synced)…
    let bucket = index_dir(&env).join("bucket-0.json");
    std::fs::write(&bucket, forgetting_the_dissolution(&env)).expect("write");
    // …then `LATE`, which that entry would accept, is refused by the full
    // validation, the ledger unchanged…
    let before = env.ledger_bytes();
    let r = env.run_with_stdin(&["append"], LATE);
    assert_eq!(r.code, 3, "{r}");
    assert!(r.stderr.contains("ended on 2010 (dissolved)"), "{r}");
    assert_eq!(env.ledger_bytes(), before);
    // …and the next append rebuilds the index.
    assert_eq!(env.append(GRILOG).code, 0);
    assert_index_matches(&env, 2);
}

/// `grilog` joins `edit` in 2012.
const JOIN: &str = r#"{"type":"joined","date":"2012","org":"edit","member":{"org":"grilog"},"relation":"member","sources":[{"doc":"a.txt"}]}"#;

#[test]
fn a_backdated_event_gets_the_same_answer_with_or_without_the_index() {
    let (with_index, without) = with_and_without_index(&format!("{EDIT}\n{GRILOG}\n{JOIN}\n"));
    // Ending `edit` in 2010 would leave the 2012 membership without its
    // organisation: refused in the same words either way, nothing written.
    let before = std::fs::read(with_index.ledger()).expect("read");
    let a = append_to_both(&with_index, &without, DISSOLVE);
    assert_snapshot!(a, @"
    exit: 3
    --- stderr
    error: <stdin>, line 1: appending event #1 of the batch (seq 4) would make seq 3 invalid: organisation `edit` (field `org`) ended on 2010 (dissolved); an event dated 2012 cannot refer to it (hint: if this happened before 2010, correct one of the two dates)
    ");
    assert_eq!(std::fs::read(with_index.ledger()).expect("read"), before);
    // A backdated rename fits: appended either way, and the index, whose
    // entries of the re-checked ids alone were rewritten, still matches.
    for env in [&with_index, &without] {
        let r = env.run_with_stdin(&["append"], RENAME);
        assert_eq!(r.code, 0, "{r}");
        assert_index_matches(env, 2);
    }
}

/// Figures of `edit`: `beds` in 2012.
const BEDS: &str = r#"{"type":"figures","date":"2012","org":"edit","values":{"beds":10},"sources":[{"doc":"a.txt"}]}"#;

#[test]
fn a_figure_named_like_a_series_but_for_case_is_refused_alike_with_or_without_the_index() {
    let (with_index, without) = with_and_without_index(&format!("{EDIT}\n{BEDS}\n"));
    let before = std::fs::read(with_index.ledger()).expect("read");
    // Dated after the series' figure (the index decides) and before it
    // (backdated: the state at its date has no series yet), "Beds" is
    // refused in the same words either way, nothing written.
    let later = BEDS.replace("2012", "2014").replace("beds", "Beds");
    assert_snapshot!(append_to_both(&with_index, &without, &later), @r#"
    exit: 3
    --- stderr
    error: <stdin>, line 1: event #1 of the batch (seq 3, `figures`) is rejected: the figure "Beds" of `edit` dated 2014 is named like its series "beds" but for case or spaces, so it would start a second series of one measure (hint: name it "beds", as seq 2 did (its figure for 2012); a name that differs by more than case or spaces starts a new series)
    "#);
    let backdated = BEDS.replace("2012", "2009").replace("beds", " beds");
    assert_snapshot!(append_to_both(&with_index, &without, &backdated), @r#"
    exit: 3
    --- stderr
    error: <stdin>, line 1: event #1 of the batch (seq 3, `figures`) is rejected: the figure " beds" of `edit` dated 2009 is named like its series "beds" but for case or spaces, so it would start a second series of one measure (hint: name it "beds", as seq 2 did (its figure for 2012); a name that differs by more than case or spaces starts a new series)
    "#);
    assert_eq!(std::fs::read(with_index.ledger()).expect("read"), before);
    // The series' own name, backdated, is appended either way.
    for env in [&with_index, &without] {
        let r = env.run_with_stdin(&["append"], &BEDS.replace("2012", "2009"));
        assert_eq!(r.code, 0, "{r}");
        assert_index_matches(env, 1);
    }
    // Absorbed, then re-established, `edit` starts its figures afresh:
    // "Beds" is appended either way.
    let absorbed = r#"{"type":"transformed","mode":"absorption","date":"2013","from":["edit"],"to":["grilog"],"sources":[{"doc":"a.txt"}]}
{"type":"transformed","mode":"reestablishment","date":"2014","from":["grilog"],"to":["edit"],"sources":[{"doc":"a.txt"}]}
"#;
    for env in [&with_index, &without] {
        env.append(&format!("{GRILOG}\n{absorbed}"));
    }
    std::fs::remove_dir_all(index_dir(&without)).expect("remove");
    let r = append_to_both(&with_index, &without, &later.replace("2014", "2015"));
    assert_eq!(r.code, 0, "{r}");
}

#[test]
fn a_milestone_listing_an_id_twice_is_refused_alike_with_or_without_the_index() {
    let (with_index, without) = with_and_without_index(&format!("{EDIT}\n{GRILOG}\n"));
    let before = std::fs::read(with_index.ledger()).expect("read");
    let twice = r#"{"type":"milestone","date":"2012","orgs":["edit","grilog","edit"],"summary":"joint event","sources":[{"doc":"a.txt"}]}"#;
    assert_snapshot!(append_to_both(&with_index, &without, twice), @"
    exit: 3
    --- stderr
    error: <stdin>, line 1: event #1 of the batch (seq 3, `milestone`) is rejected: `edit` is listed more than once in the milestone's `orgs` (dated 2012) (hint: list each organisation once)
    ");
    assert_eq!(std::fs::read(with_index.ledger()).expect("read"), before);
    let once = twice.replace(r#","edit"]"#, "]");
    let r = append_to_both(&with_index, &without, &once);
    assert_eq!(r.code, 0, "{r}");
}

#[test]
fn an_event_dated_after_the_day_it_is_appended_is_refused_alike_with_or_without_the_index() {
    let (with_index, without) = with_and_without_index(&format!("{EDIT}\n{BEDS}\n"));
    let before = std::fs::read(with_index.ledger()).expect("read");
    // The appends are stamped 2026-01-01 (`common::RECORDED`): figures
    // for 2099 are a typo, or a plan.
    let typo = format!(
        "{}\n{}\n",
        BEDS.replace("2012", "2013"),
        BEDS.replace("2012", "2099")
    );
    assert_snapshot!(append_to_both(&with_index, &without, &typo), @"
    exit: 3
    --- stderr
    error: <stdin>, line 2: event #2 of the batch (seq 4, `figures`) is rejected: it is dated 2099, after 2026-01-01, the day it is appended (hint: a record states what has happened; for a change announced for a later date, append a `planned` event dated when it was announced, and the event itself once it happens (its `fulfils` naming the plan); if the date is a typo, fix it)
    ");
    assert_eq!(std::fs::read(with_index.ledger()).expect("read"), before);
    // The next day (a time zone ahead of UTC) is no future.
    for env in [&with_index, &without] {
        let r = env.run_with_stdin(&["append"], &BEDS.replace("2012", "2026-01-02"));
        assert_eq!(r.code, 0, "{r}");
    }
}

#[test]
fn a_source_url_that_is_no_url_is_refused_alike_with_or_without_the_index() {
    let (with_index, without) = with_and_without_index(&format!("{EDIT}\n"));
    let before = std::fs::read(with_index.ledger()).expect("read");
    // A later event (the index decides) and a backdated one (the full
    // validation) are refused in the same words, nothing written.
    let renamed = |date: &str, url: &str| {
        format!(
            r#"{{"type":"renamed","date":"{date}","org":"edit","name":"Edit2","sources":[{{"doc":"a.txt","url":"{url}"}}]}}"#
        )
    };
    assert_snapshot!(append_to_both(&with_index, &without, &renamed("2012", "www.lemonde.fr/a")), @r#"
    exit: 3
    --- stderr
    error: <stdin>, line 1: event #1 of the batch (seq 2, `renamed`) is rejected: `sources[0].url` "www.lemonde.fr/a" is not a URL: it does not start with a scheme such as `https:` (hint: write the address in full, as a browser shows it: `https://` and all, a space as `%20`; a document with no address needs no `url`)
    "#);
    let r = append_to_both(&with_index, &without, &renamed("2007", "https://"));
    assert_eq!(r.code, 3, "{r}");
    assert!(r.stderr.contains("names its host after `//`"), "{r}");
    assert_eq!(std::fs::read(with_index.ledger()).expect("read"), before);
    // The address in full is appended either way.
    let fine = renamed("2012", "https://www.lemonde.fr/a%20b");
    let r = append_to_both(&with_index, &without, &fine);
    assert_eq!(r.code, 0, "{r}");
}
