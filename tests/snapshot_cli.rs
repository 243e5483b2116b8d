//! `fusion snapshot` writes a bound, sealed view; `fusion verify` re-derives
//! every snapshot and catches edited and stale ones.

mod common;

use common::TestEnv;

const EVENTS: &str = concat!(
    r#"{"type":"created","date":"2008","id":"a","name":"A","kind":"k","sources":[{"doc":"d"}]}"#,
    "\n",
    r#"{"type":"renamed","date":"2012","org":"a","name":"A2","sources":[{"doc":"d"}]}"#,
    "\n",
);

/// The first line of a snapshot of another ledger (whose organisation is
/// `b`, not `a`): a version 2 header naming that ledger.
fn another_ledgers_header() -> String {
    let other = TestEnv::with_ledger();
    other.append(&EVENTS.replace("\"a\"", "\"b\""));
    assert_eq!(other.run(&["snapshot", "--as-of", "2010"]).code, 0);
    let theirs = std::fs::read_to_string(other.dir().join("snapshots/2010-12-31.json"))
        .expect("their snapshot");
    theirs.lines().next().expect("header").to_owned()
}

/// Rewrites the snapshot file at `file` as anyone who can write it can: its
/// view through `view`, its header's `text_sha256` as `text_sha256` gives
/// it from the header, every hash recomputed.
fn forge(
    file: &std::path::Path,
    view: impl Fn(&str) -> String,
    text_sha256: impl Fn(&serde_json::Value) -> Option<String>,
) {
    let bytes = std::fs::read_to_string(file).expect("snapshot");
    let (first, rest) = bytes.split_once('\n').expect("two parts");
    let head: serde_json::Value =
        serde_json::from_str(&format!("{}}}", first.trim_end_matches(','))).expect("header");
    let stored = rest
        .strip_prefix("\"view\": ")
        .and_then(|v| v.strip_suffix("}\n"))
        .expect("laid out as version 3");
    let known = fusion::view::KnownAt {
        seq: head["known_at"]["seq"].as_u64().expect("seq"),
        hash: head["known_at"]["hash"].as_str().expect("hash").to_owned(),
    };
    let view = view(stored);
    let parts = fusion::snapshot::Parts::new(
        head["ledger"].as_str().expect("ledger"),
        2,
        head["as_of"].as_str().expect("as_of"),
        &known,
        view.as_bytes(),
        text_sha256(&head),
    );
    std::fs::write(file, parts.slices().concat()).expect("write");
}

/// Cuts the ledger back to its first record (a valid chain of one).
fn keep_first_record(env: &TestEnv) {
    let ledger = String::from_utf8(env.ledger_bytes()).expect("utf8");
    let first = ledger.lines().next().expect("line");
    std::fs::write(env.ledger(), format!("{first}\n")).expect("write");
}

#[test]
fn a_snapshots_path_that_is_a_file_is_a_usage_error() {
    let env = TestEnv::with_ledger();
    env.append(EVENTS);
    // verify too: a file there would turn its snapshot checks off silently
    for command in [&["snapshot", "--as-of", "2010"][..], &["verify"]] {
        let r = env.run(&[&["--snapshots", "ledger.jsonl"][..], command].concat());
        assert_eq!(r.code, 2, "{r}");
        assert!(
            r.stderr
                .starts_with("error: --snapshots `ledger.jsonl` is not a directory"),
            "{r}"
        );
    }
}

/// Two ledgers sharing a snapshots directory (the README's "five minutes"
/// ledger, run from the repository root, shares `snapshots/` with the
/// shipped one): a snapshot never replaces another ledger's file of the
/// same name, and one of this ledger is replaced as before.
#[test]
fn a_snapshot_never_replaces_another_ledgers_snapshot() {
    let env = TestEnv::with_ledger();
    env.append(EVENTS);
    let theirs = format!("{}\n{{\"view\":{{}}}}\n", another_ledgers_header());
    std::fs::create_dir_all(env.dir().join("snapshots")).expect("mkdir");
    let file = env.dir().join("snapshots/2010-12-31.json");
    std::fs::write(&file, &theirs).expect("write");
    let r = env.run(&["snapshot", "--as-of", "2010"]);
    assert_eq!(r.code, 2, "{r}");
    assert!(
        r.stderr
            .starts_with("error: `snapshots/2010-12-31.json` is a snapshot of another ledger")
            && r.stderr.contains("--snapshots DIR"),
        "{r}"
    );
    assert_eq!(std::fs::read_to_string(&file).expect("read"), theirs);
    // Once it is this ledger's own, it is replaced.
    std::fs::remove_file(&file).expect("rm");
    assert_eq!(env.run(&["snapshot", "--as-of", "2010"]).code, 0);
    let r = env.run(&["snapshot", "--as-of", "2010"]);
    assert_eq!(r.code, 0, "{r}");
}

/// A snapshot bound to records the ledger no longer holds is evidence that
/// records were removed or rewritten: `verify` says which, and asks to
/// restore the ledger before re-creating the snapshot (which would erase
/// the evidence).
#[test]
fn a_stale_snapshot_says_records_were_lost_or_rewritten() {
    let env = TestEnv::with_ledger();
    env.append(EVENTS);
    assert_eq!(env.run(&["snapshot", "--as-of", "2013"]).code, 0);
    // Given the ledger cut back to its first record
    keep_first_record(&env);
    let r = env.run(&["verify"]);
    assert_eq!(r.code, 4, "{r}");
    assert!(
        r.stderr.contains("bound to seq 2, beyond the ledger's head (seq 1): records 2..=2 were in the ledger when it was made, and are gone (cut short, or replaced by an older copy); restore the ledger from a backup"),
        "{r}"
    );
    // Given its second record another one
    let other = TestEnv::with_ledger();
    other.append(&EVENTS.replace("\"A2\"", "\"A3\""));
    std::fs::write(env.ledger(), other.ledger_bytes()).expect("write");
    let r = env.run(&["verify"]);
    assert_eq!(r.code, 4, "{r}");
    assert!(
        r.stderr.contains("which the ledger no longer has there: the ledger was rewritten since it was made; restore it from a backup, or, if the rewrite was deliberate (a rebuild), re-create it"),
        "{r}"
    );
}

#[test]
fn snapshot_then_verify_then_edit_is_caught() {
    let env = TestEnv::with_ledger();
    env.append(EVENTS);
    let w = env.run(&["snapshot", "--as-of", "2010"]);
    assert_eq!(w.code, 0, "{w}");
    assert!(
        w.stdout
            .starts_with("wrote snapshots/2010-12-31.json (as of 2010-12-31, known at seq 2 "),
        "{w}"
    );
    let ok = env.run(&["verify"]);
    assert_eq!(ok.code, 0, "{ok}");
    assert!(
        ok.stdout
            .contains("snapshot snapshots/2010-12-31.json: valid"),
        "{ok}"
    );

    let file = env.dir().join("snapshots/2010-12-31.json");
    let text = std::fs::read_to_string(&file).expect("read");
    assert!(
        text.contains("\"name\": \"A\""),
        "the view on 2010 shows the old name: {text}"
    );
    std::fs::write(&file, text.replace("\"name\": \"A\"", "\"name\": \"Z\"")).expect("write");
    let bad = env.run(&["verify"]);
    assert_eq!(bad.code, 4, "{bad}");
    assert!(bad.stderr.contains("2010-12-31.json: edited"), "{bad}");
}

/// Given a snapshot, its text file beside it is what `replay` prints in
/// text; when that file is edited, removed, or edited with its hash
/// recomputed into the sealed header, then `verify` fails (exit 4) and says
/// which, and the ledger is untouched.
#[test]
fn verify_checks_the_text_file_beside_a_snapshot() {
    let env = TestEnv::with_ledger();
    env.append(EVENTS);
    let w = env.run(&["snapshot", "--as-of", "2010"]);
    assert_eq!(w.code, 0, "{w}");
    assert!(
        w.stdout
            .ends_with(") and its text, snapshots/2010-12-31.txt\n"),
        "{w}"
    );
    let text_file = env.dir().join("snapshots/2010-12-31.txt");
    let text = std::fs::read_to_string(&text_file).expect("the text file");
    let printed = env.run(&["replay", "--as-of", "2010", "--cold"]);
    assert_eq!(text, printed.stdout);
    let ledger = env.ledger_bytes();
    let fails = |what: &str| {
        let r = env.run(&["verify"]);
        assert_eq!(r.code, 4, "{r}");
        assert!(
            r.stderr
                .contains(&format!("snapshot snapshots/2010-12-31.json: {what}")),
            "{r}"
        );
        assert_eq!(env.ledger_bytes(), ledger);
    };
    std::fs::write(&text_file, text.replace("a   A ", "a   Z ")).expect("write");
    fails(
        "edited: its text file (the same name ending in `.txt`) does not match its `text_sha256`",
    );
    std::fs::remove_file(&text_file).expect("rm");
    fails(
        "edited: its text file (the same name ending in `.txt`) is missing, or not a regular file; re-create the snapshot with `fusion snapshot`",
    );
    // Forged: the edited text's hash put into the header, resealed.
    let edited = text.replace("a   A ", "a   Z ");
    assert_ne!(edited, text, "{text}");
    std::fs::write(&text_file, &edited).expect("write");
    let text_sha256 = fusion::record::sha256_hex(edited.as_bytes());
    forge(
        &env.dir().join("snapshots/2010-12-31.json"),
        |view| view.to_owned(),
        |_| Some(text_sha256.clone()),
    );
    fails("differs: re-deriving the view from the ledger gives a different result");
    // and a fresh snapshot makes it whole again.
    assert_eq!(env.run(&["snapshot", "--as-of", "2010"]).code, 0);
    assert_eq!(std::fs::read_to_string(&text_file).expect("text"), text);
    assert_eq!(env.run(&["verify"]).code, 0);
}

#[test]
fn a_snapshot_of_a_rewritten_ledger_is_stale() {
    let env = TestEnv::with_ledger();
    env.append(EVENTS);
    assert_eq!(
        env.run(&["snapshot", "--as-of", "2013", "--known-at", "1"])
            .code,
        0
    );
    assert!(env.dir().join("snapshots/2013-12-31@1.json").exists());
    // Rebuild a different ledger with the same first record.
    keep_first_record(&env);
    assert_eq!(
        env.run(&["verify"]).code,
        0,
        "seq 1 is still there: the snapshot still holds"
    );
    std::fs::write(env.ledger(), "").expect("write");
    let r = env.run(&["verify"]);
    assert_eq!(
        r.code, 0,
        "an empty ledger is another ledger: snapshot skipped: {r}"
    );
    assert!(
        r.stdout
            .contains("snapshots: 1 made from another ledger, skipped"),
        "{r}"
    );
}

#[cfg(unix)]
#[test]
fn verify_never_follows_a_symlink_or_reads_outside_the_snapshots_directory() {
    let env = TestEnv::with_ledger();
    env.append(EVENTS);
    assert_eq!(env.run(&["snapshot", "--as-of", "2010"]).code, 0);
    let outside = env.dir().join("outside.json");
    std::fs::write(&outside, "not a snapshot").expect("write");
    let snapshots = env.dir().join("snapshots");
    std::os::unix::fs::symlink(&outside, snapshots.join("link.json")).expect("symlink");
    std::fs::create_dir(snapshots.join("nested.json")).expect("mkdir");
    std::fs::write(snapshots.join("notes.txt"), "ignored").expect("write");
    let r = env.run(&["verify"]);
    assert_eq!(r.code, 0, "{r}");
    assert!(
        !r.stdout.contains("link.json") && !r.stdout.contains("nested"),
        "{r}"
    );
    // junk that is a regular *.json file is reported, not trusted
    std::fs::write(snapshots.join("junk.json"), "{\"format\": 1}").expect("write");
    let junk = env.run(&["verify"]);
    assert_eq!(junk.code, 4, "{junk}");
    assert!(junk.stderr.contains("junk.json: not a snapshot"), "{junk}");
}

/// Given a snapshots directory whose only file names another ledger on its
/// first line and is malformed after it, when the ledger is verified, with
/// or without a checkpoint, then the file is skipped unread (the streaming
/// path), and the checkpoint is checked.
#[test]
fn a_malformed_snapshot_of_another_ledger_is_skipped_with_or_without_a_checkpoint() {
    let env = TestEnv::with_ledger();
    env.append(EVENTS);
    assert_eq!(env.run(&["checkpoint", "--out", "cp"]).code, 0);
    // The header of another ledger's snapshot, then no view at all.
    let header = another_ledgers_header();
    std::fs::create_dir_all(env.dir().join("snapshots")).expect("dir");
    std::fs::write(
        env.dir().join("snapshots/2010-12-31.json"),
        format!("{header}\n}}\n"),
    )
    .expect("write");
    for args in [vec!["verify"], vec!["verify", "--checkpoint", "cp"]] {
        let r = env.run(&args);
        assert_eq!(r.code, 0, "{args:?}: {r}");
        assert!(
            r.stdout
                .contains("snapshots: 1 made from another ledger, skipped"),
            "{args:?}: {r}"
        );
        assert_eq!(
            r.stdout.contains("extends checkpoint"),
            args.len() > 1,
            "{args:?}: {r}"
        );
    }
}

/// Given a snapshot of this ledger beside a file that names another ledger
/// on its first line and is malformed after it, when the ledger is verified
/// (streamed, with a checkpoint, or loaded to audit the index), then ours is
/// re-derived and valid, and theirs is skipped unread; and when ours is
/// forged, its hashes recomputed over another view, every way exits 4
/// naming it.
#[test]
fn snapshots_of_this_ledger_are_rederived_and_another_ledgers_skipped_in_every_way() {
    let env = TestEnv::with_ledger();
    env.append(EVENTS);
    assert_eq!(env.run(&["checkpoint", "--out", "cp"]).code, 0);
    assert_eq!(env.run(&["snapshot", "--as-of", "2010"]).code, 0);
    let header = another_ledgers_header();
    std::fs::write(
        env.dir().join("snapshots/theirs.json"),
        format!("{header}\nnot json\n"),
    )
    .expect("write");
    let ways = [
        vec!["verify"],
        vec!["verify", "--checkpoint", "cp"],
        vec!["verify", "--index"],
    ];
    for args in &ways {
        let r = env.run(args);
        assert_eq!(r.code, 0, "{args:?}: {r}");
        assert!(
            r.stdout
                .contains("snapshot snapshots/2010-12-31.json: valid\nsnapshots: 1 made from another ledger, skipped\n"),
            "{args:?}: {r}"
        );
    }
    // Forged: the view says `Z`, and both hashes are recomputed.
    forge(
        &env.dir().join("snapshots/2010-12-31.json"),
        |view| view.replace("\"name\": \"A\"", "\"name\": \"Z\""),
        |header| header["text_sha256"].as_str().map(str::to_owned),
    );
    for args in &ways {
        let r = env.run(args);
        assert_eq!(r.code, 4, "{args:?}: {r}");
        assert!(
            r.stderr.contains("but 1 snapshot(s) do not:\n  snapshot snapshots/2010-12-31.json: differs: re-deriving the view from the ledger gives a different result\n"),
            "{args:?}: {r}"
        );
    }
}

/// Given a snapshots directory holding a junk file whose name reads like a
/// verdict (`a: skipped.json`), when the ledger is verified, then the file
/// is a failure like any other, named in the error, and not counted as
/// another ledger's.
#[test]
fn a_snapshot_file_is_judged_by_its_status_not_its_name() {
    let env = TestEnv::with_ledger();
    env.append(EVENTS);
    assert_eq!(env.run(&["snapshot", "--as-of", "2010"]).code, 0);
    std::fs::write(env.dir().join("snapshots/a: skipped.json"), "{}").expect("write");
    let r = env.run(&["verify"]);
    assert_eq!(r.code, 4, "{r}");
    assert!(
        r.stderr.contains(
            "but 1 snapshot(s) do not:\n  snapshot snapshots/a: skipped.json: not a snapshot: `format` is not `fusion-snapshot`\n"
        ),
        "{r}"
    );
    std::fs::remove_file(env.dir().join("snapshots/a: skipped.json")).expect("remove");
    let ok = env.run(&["verify"]);
    assert_eq!(ok.code, 0, "{ok}");
    assert!(!ok.stdout.contains("skipped"), "{ok}");
}
