//! No single-byte change to a ledger passes verification silently.

mod common;

use common::TestEnv;
use proptest::prelude::*;

/// What `fusion verify` checks, through the library: the chain, then every
/// event against the vocabulary.
fn verifies(bytes: &[u8]) -> bool {
    match fusion::chain::verify(bytes, 1) {
        Ok(chain) => chain.records.iter().all(|r| r.entry().is_ok()),
        Err(_) => false,
    }
}

fn small_ledger() -> Vec<u8> {
    let env = TestEnv::with_ledger();
    env.append(concat!(
        r#"{"type":"created","date":"2008","id":"edit","name":"Édit","kind":"cluster","sources":[{"doc":"a.txt","quote":"« Depuis 2008 »"}]}"#, "\n",
        r#"{"type":"figures","date":"2016-23","org":"edit","values":{"members":600},"sources":[{"doc":"b"}]}"#, "\n",
        r#"{"type":"renamed","date":"2015-05~","org":"edit","name":"E\"dit","sources":[{"doc":"c","url":"https://example.org/x"}]}"#, "\n",
    ));
    env.ledger_bytes()
}

#[test]
fn every_bit_flip_of_every_byte_is_caught() {
    let good = small_ledger();
    assert!(verifies(&good));
    for pos in 0..good.len() {
        for bit in 0..8 {
            let mut bad = good.clone();
            bad[pos] ^= 1 << bit;
            assert!(
                !verifies(&bad),
                "flipping bit {bit} of byte {pos} passed verification"
            );
        }
    }
}

proptest! {
    #[test]
    fn any_byte_replaced_by_any_other_is_caught(pos in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let good = small_ledger_cached();
        let i = pos.index(good.len());
        prop_assume!(good[i] != byte);
        let mut bad = good.to_vec();
        bad[i] = byte;
        prop_assert!(!verifies(&bad), "byte {} set to {:#04x} passed", i, byte);
    }
}

fn small_ledger_cached() -> &'static [u8] {
    static LEDGER: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    LEDGER.get_or_init(small_ledger)
}

/// A ledger written by other means, whose chain is sound and whose history
/// is not (seq 2 renames an organisation that never existed): `verify`
/// passes (it checks the chain), `verify --history` names the event and
/// exits 4, and a ledger only fusion wrote passes it.
#[test]
fn verify_history_names_an_event_that_does_not_hold_at_its_place() {
    use fusion::record::{GENESIS_PREV, Record};
    let env = TestEnv::with_ledger();
    let events = [
        serde_json::json!({"type": "created", "date": "2000", "id": "x", "name": "X", "kind": "k", "sources": [{"doc": "d"}]}),
        serde_json::json!({"type": "renamed", "date": "2001", "org": "ghost", "name": "G", "sources": [{"doc": "d"}]}),
        serde_json::json!({"type": "created", "date": "2002", "id": "y", "name": "Y", "kind": "k", "sources": [{"doc": "d"}]}),
    ];
    let mut prev = GENESIS_PREV.to_string();
    let mut text = String::new();
    for (i, event) in events.into_iter().enumerate() {
        let r = Record::seal(
            i as u64 + 1,
            "2026-01-01T00:00:00Z".into(),
            event,
            prev.clone(),
        );
        prev.clone_from(&r.hash);
        text.push_str(&r.to_line());
        text.push('\n');
    }
    std::fs::write(env.ledger(), &text).expect("write");
    let r = env.run(&["verify"]);
    assert_eq!(r.code, 0, "{r}");
    let r = env.run(&["verify", "--history"]);
    assert_eq!(r.code, 4, "{r}");
    insta::assert_snapshot!(r.stderr.replace(&prev, "HEAD"), @"error: the ledger's chain verifies (3 records, head HEAD), but its history does not: seq 2 (renamed, dated 2001): organisation `ghost` (field `org`) does not exist on 2001; replays fold it as if it had no effect on what it breaks, and `append` refuses every batch but one that corrects it (hint: `fusion log --seq 2` shows it; append a `correction` that retracts or supersedes it)");
    assert_eq!(std::fs::read_to_string(env.ledger()).expect("read"), text);
    // as it says: an append is refused, but not the correction that mends it
    let r = env.run_with_stdin(&["append"], r#"{"type":"created","date":"2003","id":"z","name":"Z","kind":"k","sources":[{"doc":"d"}]}"#);
    assert_eq!(r.code, 3, "{r}");
    assert!(
        r.stderr
            .contains("the ledger is already inconsistent at seq 2"),
        "{r}"
    );
    let second: serde_json::Value =
        serde_json::from_str(text.lines().nth(1).expect("seq 2")).expect("json");
    let retract = format!(
        r#"{{"type":"correction","date":"2003","target":"{}","mode":"retract","reason":"no such organisation","sources":[{{"doc":"d"}}]}}"#,
        second["hash"].as_str().expect("hash")
    );
    let r = env.run_with_stdin(&["append"], &retract);
    assert_eq!(r.code, 0, "{r}");
    let r = env.run(&["verify", "--history"]);
    assert_eq!(r.code, 0, "{r}");
    // a ledger fusion wrote
    let env = TestEnv::with_ledger();
    env.append(r#"{"type":"created","date":"2000","id":"x","name":"X","kind":"k","sources":[{"doc":"d"}]}"#);
    let r = env.run(&["verify", "--history"]);
    assert_eq!(r.code, 0, "{r}");
    assert!(
        r.stdout
            .contains("\nhistory: every event holds at its place in the timeline (1 records)\n"),
        "{r}"
    );
}

/// `(seq, hash)` of each record of a ledger's text.
fn hashes(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("json");
            v["hash"].as_str().expect("hash").to_owned()
        })
        .collect()
}

/// The ledger's text with record `seq`'s event changed by `edit`, and
/// every record sealed again after it: a sound chain, whose links (which
/// name hashes) still name the old records.
fn rewritten(text: &str, seq: usize, edit: impl Fn(&mut serde_json::Value)) -> String {
    use fusion::record::{GENESIS_PREV, Record};
    let mut prev = GENESIS_PREV.to_string();
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).expect("json");
        let mut event = v["event"].clone();
        if i + 1 == seq {
            edit(&mut event);
        }
        let recorded = v["recorded"].as_str().expect("recorded").to_owned();
        let r = Record::seal(i as u64 + 1, recorded, event, prev.clone());
        prev.clone_from(&r.hash);
        out.push_str(&r.to_line());
        out.push('\n');
    }
    out
}

/// A ledger rewritten with every hash recomputed after an edit has a
/// sound chain, but its corrections and fulfilments still name the old
/// hashes: `verify --history` names the first such link (exit 4), which
/// `verify` alone cannot see and replays ignore (helper-53).
#[test]
fn verify_history_names_a_link_to_no_earlier_record() {
    // Given a ledger fusion wrote: figures (seq 2) retracted by seq 3, and
    // a plan (seq 4) fulfilled by seq 5
    let env = TestEnv::with_ledger();
    env.append(concat!(
        r#"{"type":"created","date":"2000","id":"x","name":"X","kind":"k","sources":[{"doc":"d"}]}"#, "\n",
        r#"{"type":"figures","date":"2001","org":"x","values":{"beds":460},"sources":[{"doc":"d"}]}"#, "\n",
    ));
    let seq2 = hashes(&String::from_utf8(env.ledger_bytes()).expect("utf-8"))[1].clone();
    env.append(&format!(
        r#"{{"type":"correction","date":"2002","target":"{seq2}","mode":"retract","reason":"wrong","sources":[{{"doc":"d"}}]}}"#
    ));
    env.append(r#"{"type":"planned","date":"2003","planned":{"type":"renamed","date":"2004","org":"x","name":"X2","sources":[{"doc":"d"}]},"sources":[{"doc":"d"}]}"#);
    let seq4 = hashes(&String::from_utf8(env.ledger_bytes()).expect("utf-8"))[3].clone();
    env.append(&format!(
        r#"{{"type":"renamed","date":"2004","org":"x","name":"X2","fulfils":"{seq4}","sources":[{{"doc":"d"}}]}}"#
    ));
    let text = String::from_utf8(env.ledger_bytes()).expect("utf-8");
    let r = env.run(&["verify", "--history"]);
    assert_eq!(r.code, 0, "{r}");
    let r = env.run(&["replay", "--as-of", "2010", "--format", "json"]);
    assert!(r.stdout.contains("\"figures\": []"), "{r}");

    // When the figures are edited and every later hash recomputed
    let forged = rewritten(&text, 2, |e| e["values"]["beds"] = 400.into());
    std::fs::write(env.ledger(), &forged).expect("write");
    // Then the chain verifies, and the retraction no longer holds
    let r = env.run(&["verify"]);
    assert_eq!(r.code, 0, "{r}");
    let r = env.run(&["replay", "--as-of", "2010", "--format", "json"]);
    assert!(r.stdout.contains("\"value\": 400"), "{r}");
    // But `verify --history` names the retraction's dangling target
    let r = env.run(&["verify", "--history"]);
    assert_eq!(r.code, 4, "{r}");
    let head = hashes(&forged)[4].clone();
    insta::assert_snapshot!(r.stderr.replace(&head, "HEAD").replace(&seq2[..12], "SEQ2"), @"error: the ledger's chain verifies (5 records, head HEAD), but its history does not: seq 3 (correction, dated 2002): its `target` `SEQ2` names no earlier record of this ledger; no append writes such a link: the file was written, or rewritten with every hash recomputed, by other means, and replays ignore the link (hint: `fusion log --seq 3` shows it; `fusion verify --checkpoint CP` compares the ledger with a checkpoint taken before)");
    assert_eq!(std::fs::read_to_string(env.ledger()).expect("read"), forged);

    // And when only the plan is edited, the fulfilment's link is named
    let forged = rewritten(&text, 4, |e| e["planned"]["name"] = "X3".into());
    std::fs::write(env.ledger(), &forged).expect("write");
    let r = env.run(&["verify", "--history"]);
    assert_eq!(r.code, 4, "{r}");
    assert!(
        r.stderr.contains(&format!(
            "seq 5 (renamed, dated 2004): its `fulfils` `{}` names no earlier record of this ledger",
            &seq4[..12]
        )),
        "{r}"
    );
}

/// An event of a forged ledger, made from the hashes of the records before it.
type Forged<'a> = &'a dyn Fn(&[String]) -> serde_json::Value;

/// The ledger text of `events` sealed in order, each given the hashes of
/// the records before it: a file written by other means, with a sound chain.
fn forged(events: &[Forged<'_>]) -> String {
    use fusion::record::{GENESIS_PREV, Record};
    let (mut text, mut hashes) = (String::new(), Vec::new());
    let mut prev = GENESIS_PREV.to_string();
    for (i, event) in events.iter().enumerate() {
        let r = Record::seal(
            i as u64 + 1,
            "2026-01-01T00:00:00Z".into(),
            event(&hashes),
            prev,
        );
        prev = r.hash.clone();
        hashes.push(r.hash.clone());
        text.push_str(&r.to_line());
        text.push('\n');
    }
    text
}

/// Links that name a record of the wrong kind, which `append` refuses,
/// fail `verify --history` too, naming the record and why (helper-54).
#[test]
fn verify_history_names_a_link_to_a_record_of_the_wrong_kind() {
    use serde_json::json;
    let s = || json!([{"doc": "d"}]);
    let created = |_: &[String]| json!({"type": "created", "date": "2000", "id": "x", "name": "X", "kind": "k", "sources": s()});
    let figures = |_: &[String]| json!({"type": "figures", "date": "2001", "org": "x", "values": {"beds": 1}, "sources": s()});
    let retract = |seq: usize| move |h: &[String]| json!({"type": "correction", "date": "2002", "target": h[seq - 1], "mode": "retract", "reason": "r", "sources": s()});
    let cases: [(&[Forged<'_>], &str); 3] = [
        (
            &[&created, &figures, &retract(2), &retract(3)],
            "seq 4 (correction, dated 2002): its `target` `SHORT` names seq 3, a correction, which cannot be corrected;",
        ),
        (
            &[&created, &figures, &retract(2), &retract(2)],
            "seq 4 (correction, dated 2002): its `target` `SHORT` names seq 2, which seq 3 corrected already (only a record's first correction counts);",
        ),
        (
            &[
                &created,
                &|h: &[String]| json!({"type": "renamed", "date": "2003", "org": "x", "name": "Y", "fulfils": h[0], "sources": s()}),
            ],
            "seq 2 (renamed, dated 2003): its `fulfils` `SHORT` names seq 1, which states no plan;",
        ),
    ];
    for (events, expected) in cases {
        let env = TestEnv::with_ledger();
        let text = forged(events);
        std::fs::write(env.ledger(), &text).expect("write");
        assert_eq!(env.run(&["verify"]).code, 0);
        let r = env.run(&["verify", "--history"]);
        assert_eq!(r.code, 4, "{r}");
        let target = expected
            .split(" names seq ")
            .nth(1)
            .and_then(|t| t.split(',').next())
            .expect("seq");
        let hashes = hashes(&text);
        let short = &hashes[target.parse::<usize>().expect("seq") - 1][..12];
        assert!(
            r.stderr.contains(&expected.replace("SHORT", short)),
            "{expected}\n{r}"
        );
    }
}
