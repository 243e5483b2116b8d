//! The shipped landscape, `events/auvergne-rhone-alpes.jsonl`: its sources,
//! its integrity, and that `events/build.sh` rebuilds it byte for byte from
//! the three batches in `events/batches/`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const LEDGER: &str = "events/auvergne-rhone-alpes.jsonl";
const BATCHES: [&str; 3] = [
    "events/batches/1-article-2015.jsonl",
    "events/batches/2-article-2016.jsonl",
    "events/batches/3-later-facts.jsonl",
];
/// The `recorded` stand-ins of the three batches (see events/build.sh).
const RECORDED: [&str; 3] = [
    "2015-06-15T12:00:00Z",
    "2016-07-15T12:00:00Z",
    "2026-11-22T12:00:00Z",
];
/// The seq of the last record from the 2016 article (README, "The shipped landscape").
const LAST_2016_ARTICLE_SEQ: u64 = 50;

/// The shipped source texts and the SHA-256 of their bytes: the two seed
/// articles, byte-identical to the originals, and the fact sheet.
const SOURCES: [(&str, &str); 3] = [
    (
        "000_83cd426afbe3fc0a.txt",
        "2ab8a972dc00c56b968c721242ad40701f73b40ebb2c886c402fd882e341eacc",
    ),
    (
        "003_3b54702e53d06fb4.txt",
        "43a2ef37a7e26b43a355452fda33c0c7599f6ae7d5d11c63fcccb2a16c401f2b",
    ),
    (
        "landscape-facts.md",
        "f1c626625e78a30018412eec4d2e526b1d734a459dbe3893a3dde9c6ded990f8",
    ),
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fusion() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_fusion"));
    c.current_dir(root())
        .env_remove("FUSION_LEDGER")
        .env_remove("FUSION_RECORDED")
        .env_remove("FUSION_SNAPSHOTS");
    c
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("cannot read {rel}: {e}"))
}

fn records() -> Vec<Value> {
    read(LEDGER)
        .lines()
        .map(|l| serde_json::from_str(l).expect("ledger line is JSON"))
        .collect()
}

/// Every event of a record: the event itself, the event inside a plan and
/// a correction's replacement, each with a path for messages.
fn events_within<'a>(event: &'a Value, path: String, out: &mut Vec<(String, &'a Value)>) {
    out.push((path.clone(), event));
    if let Some(p) = event.get("planned") {
        events_within(p, format!("{path}.planned"), out);
    }
    if let Some(r) = event.get("replacement") {
        events_within(r, format!("{path}.replacement"), out);
    }
}

/// What is wrong with one source citation, if anything. A `doc` naming a
/// file of `events/sources/` needs a quote found verbatim in that file; a
/// `doc` that looks like a file name must name one of them; any other `doc`
/// is a publication and must end with its date (`, 2016` or `, 2016-09-12`).
fn source_problem(source: &Value, sources_dir: &Path) -> Option<String> {
    let Some(doc) = source.get("doc").and_then(Value::as_str) else {
        return Some("no `doc`".into());
    };
    let looks_like_file = !doc.contains(' ') && (doc.ends_with(".txt") || doc.ends_with(".md"));
    if looks_like_file {
        let Ok(text) = std::fs::read_to_string(sources_dir.join(doc)) else {
            return Some(format!(
                "`{doc}` is not a file of {}",
                sources_dir.display()
            ));
        };
        return match source.get("quote").and_then(Value::as_str) {
            None => Some(format!("cites `{doc}` without a quote")),
            Some("") => Some(format!("cites `{doc}` with an empty quote")),
            Some(q) if !text.contains(q) => Some(format!("quote not verbatim in `{doc}`: {q:?}")),
            Some(_) => None,
        };
    }
    let date = doc.rsplit_once(", ").map(|(_, d)| d).unwrap_or("");
    let is_date = |d: &str| {
        let parts: Vec<&str> = d.split('-').collect();
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        match parts.as_slice() {
            [y] => digits(y, 4),
            [y, m, dd] => digits(y, 4) && digits(m, 2) && digits(dd, 2),
            _ => false,
        }
    };
    if is_date(date) {
        None
    } else {
        Some(format!(
            "`{doc}` is neither a shipped source file nor \"<publication>, <date>\""
        ))
    }
}

/// Every problem with the sources of one ledger event (nested ones included).
fn event_problems(event: &Value, path: &str, sources_dir: &Path) -> Vec<String> {
    let mut all = Vec::new();
    events_within(event, path.to_owned(), &mut all);
    let mut problems = Vec::new();
    for (p, e) in all {
        match e.get("sources").and_then(Value::as_array) {
            None => problems.push(format!("{p}: no `sources`")),
            Some(list) if list.is_empty() => problems.push(format!("{p}: empty `sources`")),
            Some(list) => {
                for (i, s) in list.iter().enumerate() {
                    if let Some(why) = source_problem(s, sources_dir) {
                        problems.push(format!("{p}.sources[{i}]: {why}"));
                    }
                }
            }
        }
    }
    problems
}

#[test]
fn every_event_and_every_nested_event_cites_a_checkable_source() {
    let dir = root().join("events/sources");
    let mut problems = Vec::new();
    let mut nested = 0;
    for r in records() {
        let seq = r["seq"].as_u64().expect("seq");
        let event = &r["event"];
        nested += usize::from(event.get("planned").is_some() || event.get("replacement").is_some());
        problems.extend(event_problems(event, &format!("seq {seq}"), &dir));
    }
    assert!(
        problems.is_empty(),
        "source problems:\n{}",
        problems.join("\n")
    );
    assert!(
        nested >= 20,
        "expected the plans and corrections to be walked, found {nested}"
    );
}

#[test]
fn the_source_check_catches_a_missing_quote_a_doctored_quote_and_an_unknown_file() {
    let dir = root().join("events/sources");
    let ok: Value = serde_json::json!({"doc": "003_3b54702e53d06fb4.txt",
        "quote": "Depuis 2008, avec la naissance du cluster lyonnais Edit"});
    assert_eq!(source_problem(&ok, &dir), None);
    // One apostrophe changed to a typographic one is no longer verbatim.
    let doctored = serde_json::json!({"doc": "003_3b54702e53d06fb4.txt",
        "quote": "Annecy et Saint-Étienne qui vont à nouveau prétendre à l\u{2019}obtention du label"});
    assert!(source_problem(&doctored, &dir).is_some_and(|w| w.contains("not verbatim")));
    let no_quote = serde_json::json!({"doc": "000_83cd426afbe3fc0a.txt"});
    assert!(source_problem(&no_quote, &dir).is_some_and(|w| w.contains("without a quote")));
    let missing = serde_json::json!({"doc": "001_missing.txt", "quote": "x"});
    assert!(source_problem(&missing, &dir).is_some_and(|w| w.contains("not a file")));
    let undated = serde_json::json!({"doc": "La Tribune"});
    assert!(source_problem(&undated, &dir).is_some());
    let dated = serde_json::json!({"doc": "La Tribune Auvergne-Rhône-Alpes, 2016-09-12"});
    assert_eq!(source_problem(&dated, &dir), None);
    // A plan whose inner event has no source is caught.
    let plan = serde_json::json!({"type": "planned", "date": "2016", "sources": [dated],
        "planned": {"type": "dissolved", "date": "2017", "org": "a", "sources": []}});
    assert_eq!(
        event_problems(&plan, "x", &dir),
        vec!["x.planned: empty `sources`".to_owned()]
    );
}

#[test]
fn the_shipped_source_texts_are_unchanged() {
    for (name, pinned) in SOURCES {
        let bytes = std::fs::read(root().join("events/sources").join(name)).expect("source file");
        assert_eq!(
            fusion::record::sha256_hex(&bytes),
            pinned,
            "events/sources/{name} changed"
        );
    }
}

#[test]
fn every_seed_article_is_cited() {
    let ledger = read(LEDGER);
    for (name, _) in SOURCES {
        assert!(
            ledger.contains(&format!("\"doc\":\"{name}\"")),
            "{name} is never cited"
        );
    }
}

#[test]
fn verify_accepts_the_shipped_ledger() {
    let out = fusion()
        .args(["--ledger", LEDGER, "verify"])
        .output()
        .expect("run fusion");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "verify failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("{} records", records().len())),
        "{stdout}"
    );
}

#[test]
fn build_sh_rebuilds_the_committed_ledger_byte_for_byte() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out_path = dir.path().join("rebuilt.jsonl");
    let out = Command::new("sh")
        .arg(root().join("events/build.sh"))
        .arg(&out_path)
        .env("FUSION", env!("CARGO_BIN_EXE_fusion"))
        .env_remove("FUSION_LEDGER")
        .env_remove("FUSION_RECORDED")
        .output()
        .expect("run events/build.sh");
    assert!(
        out.status.success(),
        "build.sh failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let rebuilt = std::fs::read(&out_path).expect("rebuilt ledger");
    let committed = std::fs::read(root().join(LEDGER)).expect("committed ledger");
    assert!(
        rebuilt == committed,
        "events/build.sh does not reproduce {LEDGER}; rerun `events/build.sh` and commit the result"
    );
}

#[test]
fn the_batches_are_recorded_in_order_with_their_stand_in_times() {
    let recs = records();
    let mut seq = 0;
    for (batch, recorded) in BATCHES.iter().zip(RECORDED) {
        let events: Vec<Value> = read(batch)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).expect("batch line is JSON"))
            .collect();
        assert!(!events.is_empty(), "{batch} is empty");
        for e in events {
            let r = &recs[seq];
            seq += 1;
            assert_eq!(r["seq"].as_u64(), Some(seq as u64));
            assert_eq!(r["recorded"], recorded, "seq {seq}");
            assert_eq!(r["event"], e, "seq {seq} differs from its line in {batch}");
        }
        if *batch == BATCHES[1] {
            assert_eq!(
                seq as u64, LAST_2016_ARTICLE_SEQ,
                "the documented last seq of the 2016 article moved"
            );
        }
    }
    assert_eq!(seq, recs.len(), "the ledger holds records from no batch");
}

#[test]
fn ids_are_short_lowercase_ascii() {
    let mut all = Vec::new();
    for r in records() {
        let mut within = Vec::new();
        events_within(&r["event"], String::new(), &mut within);
        for (_, e) in within {
            let mut ids: Vec<&str> = Vec::new();
            ids.extend(e.get("id").and_then(Value::as_str));
            ids.extend(e.get("program").and_then(Value::as_str));
            if let Some(new) = e.get("new").and_then(Value::as_array) {
                ids.extend(new.iter().filter_map(|n| n["id"].as_str()));
            }
            all.extend(ids.into_iter().map(str::to_owned));
        }
    }
    assert!(all.len() >= 20, "found only {} ids", all.len());
    for id in all {
        assert!(
            id.len() <= 32
                && id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "id `{id}` is not short lowercase ASCII"
        );
    }
}

fn replay(as_of: &str, known_at: Option<&str>) -> Value {
    let mut cmd = fusion();
    cmd.args([
        "--ledger", LEDGER, "replay", "--as-of", as_of, "--format", "json",
    ]);
    if let Some(k) = known_at {
        cmd.args(["--known-at", k]);
    }
    let dir = tempfile::tempdir().expect("temp dir");
    cmd.env("FUSION_SNAPSHOTS", dir.path());
    let out = cmd.output().expect("run fusion replay");
    assert!(
        out.status.success(),
        "replay failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("replay JSON")
}

fn org_ids(view: &Value) -> Vec<String> {
    view["organisations"]
        .as_array()
        .expect("organisations")
        .iter()
        .filter_map(|o| o["id"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn mid_2017_as_believed_in_mid_2016_differs_from_what_happened() {
    let seq = LAST_2016_ARTICLE_SEQ.to_string();
    let believed = replay("2017-06-01", Some(&seq));
    let ids = org_ids(&believed);
    assert!(
        ids.contains(&"clustr-numerique".to_owned()) && ids.contains(&"numelink".to_owned()),
        "{ids:?}"
    );
    assert!(!ids.contains(&"digital-league".to_owned()), "{ids:?}");
    let merger = believed["planned"]
        .as_array()
        .expect("planned")
        .iter()
        .find(|p| p["type"] == "transformed")
        .expect("the planned merger is listed");
    assert_eq!(merger["date"], "2017-01-01");
    assert_eq!(merger["status"], "overdue");
    assert!(
        merger["summary"]
            .as_str()
            .is_some_and(|s| s.contains("clustr-numelink"))
    );

    let happened = replay("2017-06-01", None);
    let ids = org_ids(&happened);
    assert!(ids.contains(&"digital-league".to_owned()), "{ids:?}");
    assert!(
        !ids.contains(&"clustr-numerique".to_owned()) && !ids.contains(&"numelink".to_owned()),
        "{ids:?}"
    );
    assert!(
        !happened["planned"]
            .as_array()
            .expect("planned")
            .iter()
            .any(|p| p["type"] == "transformed"),
        "the fulfilled merger plan is no longer listed as pending or overdue"
    );
}
