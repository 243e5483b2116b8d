//! Replay answers from a snapshot only when one was made at the ledger's
//! head, and the answer is then the one folding the ledger gives, byte for
//! byte, in every format. `replay -v` says on stderr which path was taken.

mod common;

use std::path::Path;

use chrono::NaiveDate;
use common::TestEnv;
use fusion::generator::{self, Options};
use fusion::record::Entry;
use fusion::{snapshot, store, view};
use proptest::prelude::*;

const EVENTS: &str = concat!(
    r#"{"type":"created","date":"2008","id":"a","name":"A","kind":"k","sources":[{"doc":"d"}]}"#,
    "\n",
    r#"{"type":"renamed","date":"2012","org":"a","name":"A2","sources":[{"doc":"d"}]}"#,
    "\n",
);

const MORE: &str = concat!(
    r#"{"type":"created","date":"2009","id":"b","name":"B","kind":"k","sources":[{"doc":"d"}]}"#,
    "\n"
);

const FROM_SNAPSHOT: &str = "replay: from snapshot snapshots/2013-12-31.json\n";

/// `replay --as-of 2013 ARGS` in every format, as (stdout, stderr) of a
/// `-v` run after checking it matches the `--cold` run.
fn replay_all(env: &TestEnv, args: &[&str]) -> Vec<(String, String)> {
    ["text", "json", "markdown"]
        .iter()
        .map(|format| {
            let mut a = vec!["replay", "--as-of", "2013", "--format", format];
            a.extend_from_slice(args);
            let cold = env.run(&[a.as_slice(), &["--cold"]].concat());
            let r = env.run(&[a.as_slice(), &["-v"]].concat());
            assert_eq!((r.code, cold.code), (0, 0), "{r}\n{cold}");
            assert_eq!(r.stdout, cold.stdout, "{format} {args:?}");
            (r.stdout, r.stderr)
        })
        .collect()
}

fn all_from_snapshot(runs: &[(String, String)]) -> bool {
    runs.iter().all(|(_, e)| e == FROM_SNAPSHOT)
}

fn all_folded(runs: &[(String, String)]) -> bool {
    runs.iter()
        .all(|(_, e)| e.starts_with("replay: folding the ledger ("))
}

#[test]
fn a_snapshot_at_the_head_answers_and_anything_else_folds() {
    let env = TestEnv::with_events(EVENTS);
    assert!(all_folded(&replay_all(&env, &[])), "no snapshot yet");
    assert_eq!(env.run(&["snapshot", "--as-of", "2013"]).code, 0);
    let fresh = replay_all(&env, &[]);
    assert!(all_from_snapshot(&fresh), "{fresh:?}");
    assert!(fresh[0].0.contains("A2"));
    // an explicit --known-at that is plainly the head: used
    for pos in ["2", "seq:2", "2026-01-01"] {
        assert!(
            all_from_snapshot(&replay_all(&env, &["--known-at", pos])),
            "{pos}"
        );
    }
    // an earlier state of knowledge, --all, --cold: folded
    assert!(all_folded(&replay_all(&env, &["--known-at", "1"])));
    assert!(all_folded(&replay_all(&env, &["--all"])));
    let cold = env.run(&["replay", "--as-of", "2013", "--cold", "-v"]);
    assert_eq!(cold.stderr, "replay: folding the ledger (--cold)\n");
    // without -v nothing is said
    assert_eq!(env.run(&["replay", "--as-of", "2013"]).stderr, "");
}

#[test]
fn a_stale_snapshot_is_not_used_and_the_answer_is_current() {
    let env = TestEnv::with_events(EVENTS);
    assert_eq!(env.run(&["snapshot", "--as-of", "2013"]).code, 0);
    let before = replay_all(&env, &[]);
    env.append(MORE);
    let after = replay_all(&env, &[]);
    assert!(all_folded(&after), "{after:?}");
    assert!(
        after[0]
            .1
            .contains("is bound to seq 2, not to the head (seq 3)")
    );
    assert!(after[0].0.contains("B") && !before[0].0.contains("| b "));
    assert_ne!(before[0].0, after[0].0);
}

/// Given a snapshot whose view was edited (its text file untouched), when
/// the date is replayed, then JSON and Markdown, which the view answers,
/// fold the ledger; text is still answered by the text file, which its seal
/// and the header's (both intact) vouch for. Every answer is the cold one
/// (`replay_all` compares them).
#[test]
fn an_edited_snapshot_is_not_used() {
    let env = TestEnv::with_events(EVENTS);
    assert_eq!(env.run(&["snapshot", "--as-of", "2013"]).code, 0);
    let file = env.dir().join("snapshots/2013-12-31.json");
    let text = std::fs::read_to_string(&file).expect("read");
    std::fs::write(&file, text.replace("\"A2\"", "\"Z\"")).expect("write");
    let runs = replay_all(&env, &[]);
    assert_eq!(runs[0].1, FROM_SNAPSHOT, "text: {runs:?}");
    assert!(all_folded(&runs[1..]), "{runs:?}");
    assert!(runs[1].1.contains("was edited"), "{runs:?}");
    assert!(runs[0].0.contains("A2") && !runs[0].0.contains(" Z "));
    // the view's hash recomputed without resealing the header
    let (head, view) = text.split_once("\n\"view\": ").expect("layout");
    let view = view.replace("\"A2\"", "\"Z\"");
    let digest = fusion::record::sha256_hex(view.strip_suffix("}\n").expect("end").as_bytes());
    let old = head.split("\"view_sha256\":\"").nth(1).expect("member");
    let head = head.replace(&old[..64], &digest);
    std::fs::write(&file, format!("{head}\n\"view\": {view}")).expect("write");
    let runs = replay_all(&env, &[]);
    assert!(runs[1].1.contains("was edited"), "{runs:?}");
    // an unknown member in the header
    std::fs::write(&file, text.replacen("\"v\":3", "\"v\":3,\"x\":1", 1)).expect("write");
    assert!(all_folded(&replay_all(&env, &[])));
}

/// Given a snapshot whose text file was edited, removed or replaced by a
/// symbolic link, when the date is replayed in text, then the text is
/// rendered from the snapshot's view, `-v` says why, and the answer is the
/// cold one.
#[test]
fn a_text_file_that_does_not_hold_is_not_used() {
    let env = TestEnv::with_events(EVENTS);
    assert_eq!(env.run(&["snapshot", "--as-of", "2013"]).code, 0);
    let file = env.dir().join("snapshots/2013-12-31.txt");
    let text = std::fs::read_to_string(&file).expect("read");
    assert!(text.contains("A2"), "{text}");
    let rendered = |why: &str| {
        let runs = replay_all(&env, &[]);
        assert_eq!(
            runs[0].1,
            format!(
                "replay: from snapshot snapshots/2013-12-31.json, rendered from its view (its text file `snapshots/2013-12-31.txt` {why})\n"
            ),
        );
        assert!(all_from_snapshot(&runs[1..]), "{runs:?}");
    };
    std::fs::write(&file, text.replace("A2", "Z2")).expect("write");
    rendered("does not match the snapshot's `text_sha256`");
    std::fs::remove_file(&file).expect("rm");
    rendered("is missing");
    #[cfg(unix)]
    {
        let elsewhere = env.dir().join("elsewhere.txt");
        std::fs::write(&elsewhere, &text).expect("write");
        std::os::unix::fs::symlink(&elsewhere, &file).expect("symlink");
        rendered("is not a regular file");
    }
}

#[test]
fn a_snapshot_of_another_ledger_is_not_used() {
    let env = TestEnv::with_events(EVENTS);
    let other = TestEnv::with_events(&EVENTS.replace("\"A\"", "\"Other\""));
    assert_eq!(other.run(&["snapshot", "--as-of", "2013"]).code, 0);
    std::fs::create_dir(env.dir().join("snapshots")).expect("mkdir");
    std::fs::copy(
        other.dir().join("snapshots/2013-12-31.json"),
        env.dir().join("snapshots/2013-12-31.json"),
    )
    .expect("copy");
    let runs = replay_all(&env, &[]);
    assert!(all_folded(&runs), "{runs:?}");
    assert!(
        runs[0].1.contains("was made from another ledger"),
        "{runs:?}"
    );
    assert!(!runs[0].0.contains("Other"));
}

#[test]
fn an_interrupted_append_is_reported_as_without_snapshots() {
    let env = TestEnv::with_events(EVENTS);
    assert_eq!(env.run(&["snapshot", "--as-of", "2013"]).code, 0);
    let journal = env.dir().join("ledger.jsonl.journal");
    std::fs::write(&journal, "{}\n").expect("write");
    let r = env.run(&["replay", "--as-of", "2013"]);
    let cold = env.run(&["replay", "--as-of", "2013", "--cold"]);
    assert_ne!(r.code, 0);
    assert_eq!((r.code, &r.stderr), (cold.code, &cold.stderr));
}

#[test]
fn diff_gives_the_same_answer_with_snapshots_of_either_date() {
    let env = TestEnv::with_events(EVENTS);
    let before = env.run(&["diff", "2010", "2013", "--format", "json"]);
    assert_eq!(before.code, 0, "{before}");
    for date in ["2010", "2013"] {
        assert_eq!(env.run(&["snapshot", "--as-of", date]).code, 0);
        let after = env.run(&["diff", "2010", "2013", "--format", "json"]);
        assert_eq!(after.stdout, before.stdout);
    }
}

// ---------------------------------------------------------------------------
// Property: on random ledgers, a snapshot answer is the folded answer.
// ---------------------------------------------------------------------------

fn write_ledger(path: &Path, records: &[fusion::record::Record]) {
    let mut text = String::new();
    for r in records {
        text.push_str(&r.to_line());
        text.push('\n');
    }
    std::fs::write(path, text).expect("write ledger");
}

fn renders(v: &view::View) -> [String; 3] {
    [
        view::render_text(v),
        view::render_json(v),
        view::render_markdown(v),
    ]
}

fn day(days_since_1990: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(1990, 1, 1).expect("day") + chrono::Days::new(days_since_1990 as u64)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// A ledger of `n` generated records; the state of knowledge `k` (the
    /// ledger cut after record `k` is a valid ledger whose head is `k`) and
    /// the day `as_of`. A snapshot made at (as_of, k) answers on the cut
    /// ledger exactly as folding the full ledger at known-at k does, in
    /// every format; on the full ledger (head beyond k) it is not used.
    #[test]
    fn replay_from_a_snapshot_equals_replay_from_genesis(
        seed in 0u64..1_000_000,
        n in 1u64..250,
        cut in 0.0f64..=1.0,
        days in 0i64..16_000,
    ) {
        let records = generator::records(&Options {
            events: n,
            seed,
            recorded: "2026-01-01T00:00:00Z".into(),
            batch: 1,
        });
        let k = ((n as f64 * cut).ceil() as u64).clamp(1, n);
        let as_of = day(days);
        let dir = tempfile::tempdir().expect("dir");
        let full_path = dir.path().join("full.jsonl");
        let cut_path = dir.path().join("cut.jsonl");
        write_ledger(&full_path, &records);
        write_ledger(&cut_path, &records[..k as usize]);
        let full: Vec<Entry> = store::load(&full_path, 1).expect("full").entries;
        let cut: Vec<Entry> = store::load(&cut_path, 1).expect("cut").entries;

        let snaps = dir.path().join("snapshots");
        std::fs::create_dir(&snaps).expect("mkdir");
        let (name, bytes, text) = snapshot::build(&cut, &view::replay(&cut, as_of, k));
        let file = snaps.join(&name);
        std::fs::write(&file, &bytes).expect("write");
        std::fs::write(snapshot::text_path(&file), &text).expect("write text");
        // `verify` accepts it on both ledgers
        prop_assert_eq!(snapshot::check(&full, &bytes, Some(text.as_bytes()), true).0, snapshot::Status::Valid);

        let cold = renders(&view::replay(&full, as_of, k));
        let head = snapshot::read_head(&cut_path).expect("head");
        let found = snapshot::lookup(&snaps, &head, as_of, snapshot::Want::Json).expect("the snapshot is used");
        let warm_view = found.view().expect("reads back");
        let snapshot::Answer::Json(json) = &found.answer else {
            panic!("JSON was asked for");
        };
        let warm = [view::render_text(&warm_view), json.clone(), view::render_markdown(&warm_view)];
        prop_assert_eq!(&warm, &cold);
        // and text, from the text file beside it.
        let found = snapshot::lookup(&snaps, &head, as_of, snapshot::Want::Text).expect("the snapshot is used");
        prop_assert_eq!(found.answer, snapshot::Answer::Text(cold[0].clone()));

        // On the full ledger the snapshot is bound to k, not to the head.
        let head = snapshot::read_head(&full_path).expect("head");
        prop_assert_eq!(head.seq, n);
        prop_assert_eq!(snapshot::lookup(&snaps, &head, as_of, snapshot::Want::Text).is_ok(), k == n);
    }

    /// `diff FROM TO` at the head, with snapshots of one date, the other or
    /// both in the snapshots directory, is the diff folded from genesis.
    #[test]
    fn diff_with_snapshots_equals_diff_from_genesis(
        seed in 0u64..1_000_000,
        n in 1u64..120,
        a in 0i64..16_000,
        b in 0i64..16_000,
        which in 0u8..3,
    ) {
        let records = generator::records(&Options {
            events: n,
            seed,
            recorded: "2026-01-01T00:00:00Z".into(),
            batch: 1,
        });
        let (from, to) = (day(a.min(b)), day(a.max(b)));
        let env = TestEnv::new();
        write_ledger(&env.ledger(), &records);
        let args = ["diff", &from.to_string(), &to.to_string(), "--format", "json"];
        let cold = env.run(&args);
        prop_assert_eq!(cold.code, 0);
        let dates = match which { 0 => vec![from], 1 => vec![to], _ => vec![from, to] };
        let entries = store::load(&env.ledger(), 1).expect("load").entries;
        for d in dates {
            prop_assert_eq!(env.run(&["snapshot", "--as-of", &d.to_string()]).code, 0);
            // The command streams the ledger and writes the view's JSON as
            // it is built: the file is the one built from the loaded view.
            let (name, bytes, text) = snapshot::build(&entries, &view::replay(&entries, d, n));
            let file = env.dir().join("snapshots").join(&name);
            let written = std::fs::read(&file).expect("snapshot");
            prop_assert!(written == bytes, "{} differs", name);
            let written = std::fs::read_to_string(snapshot::text_path(&file)).expect("text");
            prop_assert!(written == text, "{}'s text differs", name);
        }
        let warm = env.run(&args);
        prop_assert_eq!(warm.stdout, cold.stdout);
    }
}
