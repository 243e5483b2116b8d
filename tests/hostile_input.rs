//! Hostile input to the record parser and the event validator: no panic, no
//! hang, no runaway allocation; always a clear refusal.

use proptest::prelude::*;

fn refuse_event(text: &str) -> String {
    match fusion::event::parse_batch(text) {
        Ok(events) if events.is_empty() => "empty".into(),
        Ok(_) => "accepted".into(),
        Err(e) => e.to_string(),
    }
}

#[test]
fn deep_nesting_is_refused_not_a_stack_overflow() {
    let deep = "[".repeat(1_000_000);
    assert!(
        refuse_event(&deep).contains("recursion limit"),
        "{}",
        refuse_event(&deep)
    );
    let deep_event = format!(
        r#"{{"type":"milestone","date":"2016","summary":"x","sources":[{{"doc":"d"}}],"note":{}{}}}"#,
        "[".repeat(200_000),
        "]".repeat(200_000)
    );
    assert!(refuse_event(&deep_event).contains("recursion limit"));
    let line = format!("{}\n", "{\"v\":".repeat(100_000));
    assert!(fusion::chain::verify(line.as_bytes(), 2).is_err());
}

#[test]
fn a_ten_megabyte_line_is_refused_or_accepted_cleanly() {
    let huge = "é".repeat(5 * 1024 * 1024);
    let event = format!(
        r#"{{"type":"milestone","date":"2016","summary":"{huge}","sources":[{{"doc":"d"}}]}}"#
    );
    assert_eq!(refuse_event(&event), "accepted", "a long string is legal");
    let line = format!("{}\n", "x".repeat(10 * 1024 * 1024));
    let err = fusion::chain::verify(line.as_bytes(), 2).expect_err("not a record");
    assert!(
        err.to_string()
            .starts_with("line 1 (seq 1): not valid JSON"),
        "{err}"
    );
}

#[test]
fn types_that_json_allows_but_the_vocabulary_does_not() {
    let base = r#"{"type":"figures","date":"2016","org":"a","values":{"members":VALUE},"sources":[{"doc":"d"}]}"#;
    for bad in [
        "-1",
        "1.0",
        "1e3",
        "9007199254740992",
        "\"12\"",
        "null",
        "true",
    ] {
        let text = base.replace("VALUE", bad);
        let msg = refuse_event(&text);
        assert!(msg.starts_with("event 1 (line 1):"), "{bad}: {msg}");
    }
    let dup = r#"{"type":"dissolved","type":"dissolved","date":"2016","org":"a","sources":[{"doc":"d"}]}"#;
    assert!(
        refuse_event(dup).contains("duplicate member `type`"),
        "{}",
        refuse_event(dup)
    );
    let nul = "{\"type\":\"dissolved\",\"date\":\"2016\",\"org\":\"a\\u0000\",\"sources\":[{\"doc\":\"d\"}]}";
    assert!(refuse_event(nul).contains("`org`"), "{}", refuse_event(nul));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics_the_event_parser(text in any::<String>()) {
        let _ = fusion::event::parse_batch(&text);
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_chain_verifier(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let _ = fusion::chain::verify(&bytes, 2);
    }

    #[test]
    fn json_shaped_noise_never_panics_the_validator(
        ty in prop::sample::select(fusion::event::TYPE_NAMES.to_vec()),
        date in "[0-9X]{4}(-[0-9]{2}){0,2}[~?%]?",
        id in "[a-z0-9 ._:/-]{0,12}",
        n in any::<i64>(),
    ) {
        let text = format!(
            r#"{{"type":"{ty}","date":"{date}","org":"{id}","id":"{id}","name":"{id}","kind":"k","values":{{"m":{n}}},"sources":[{{"doc":"d"}}]}}"#
        );
        if let Ok(events) = fusion::event::parse_batch(&text) {
            let _ = fusion::fold::validate(&[], &events, 1);
        }
    }
}

/// A ledger in a temporary directory holding the events of `batch`,
/// appended through the library.
fn ledger_of(batch: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("l.jsonl");
    fusion::store::init(&path).expect("init");
    let events = fusion::event::parse_batch(batch).expect("events");
    let options = fusion::store::AppendOptions {
        recorded: "2026-01-01T00:00:00Z".into(),
        ..Default::default()
    };
    fusion::store::append_events(&path, &options, &|_| {}, &events)
        .expect("store")
        .expect("accepted");
    (dir, path)
}

#[test]
fn endless_bytes_without_a_newline_are_refused_not_held() {
    use fusion::chain::{ChainError, LedgerError};
    // given a ledger with one good record followed by bytes that never end
    // in a newline (`--ledger /dev/zero`, say)
    let (_dir, path) = ledger_of(
        r#"{"type":"created","date":"2016","id":"a","name":"A","kind":"k","sources":[{"doc":"d"}]}"#,
    );
    let good = std::fs::read(&path).expect("read");
    let endless = std::io::Read::chain(&good[..], std::io::repeat(b'x'));
    // when it is verified, then the reading stops past the longest line a
    // record may have, naming the line after the good one
    match fusion::chain::verify_ledger(endless, 2) {
        Err(LedgerError::Chain(ChainError::LineTooLong { line, offset })) => {
            assert_eq!((line, offset), (2, good.len() as u64));
        }
        other => panic!("{:?}", other.map(|l| l.len())),
    }
    // and a line one byte too long is refused as such wherever it starts,
    // even when its newline follows
    let mut over = vec![b'x'; fusion::record::MAX_LINE_BYTES + 1];
    over.push(b'\n');
    for before in [&b""[..], &good[..]] {
        let file = std::io::Read::chain(before, &over[..]);
        match fusion::chain::verify_ledger(file, 2) {
            Err(LedgerError::Chain(ChainError::LineTooLong { line, .. })) => {
                assert_eq!(line, if before.is_empty() { 1 } else { 2 });
            }
            other => panic!("{:?}", other.map(|l| l.len())),
        }
    }
}

#[test]
fn an_event_too_long_for_a_ledger_line_is_refused_before_anything_is_written() {
    let event = |summary_len: usize| {
        let head = r#"{"type":"milestone","date":"2016","summary":""#;
        let tail = r#"","sources":[{"doc":"d"}]}"#;
        let mut text = String::with_capacity(head.len() + summary_len + tail.len() + 1);
        text.push_str(head);
        text.extend(std::iter::repeat_n('x', summary_len));
        text.push_str(tail);
        text
    };
    let overhead = event(0).len();
    // given events of exactly the longest length and one byte more
    let longest = event(fusion::event::MAX_EVENT_BYTES - overhead);
    assert_eq!(longest.len(), fusion::event::MAX_EVENT_BYTES);
    let over = event(fusion::event::MAX_EVENT_BYTES - overhead + 1);
    // then the longer one is refused with the limit named, in JSON Lines too
    for text in [over.clone(), format!("{over}\n")] {
        let why = refuse_event(&text);
        assert!(why.starts_with("event 1 (line 1): the event is 67107841 bytes of JSON; an event is at most 67107840 bytes"), "{why}");
    }
    // and the longest is appended (its canonical form gains the defaulted
    // `"orgs":[]`), its line within the limit, and read back
    let (dir, path) = ledger_of(&longest);
    let written = std::fs::metadata(&path).expect("ledger").len() as usize;
    assert!(written > fusion::event::MAX_EVENT_BYTES, "{written}");
    assert!(written <= fusion::record::MAX_LINE_BYTES + 1, "{written}");
    assert_eq!(fusion::store::load(&path, 2).expect("reads back").len(), 1);
    // while the library, handed a longer event directly, writes nothing
    let path = dir.path().join("m.jsonl");
    fusion::store::init(&path).expect("init");
    let huge = fusion::event::Event::from_json(
        &serde_json::from_str(&event(fusion::record::MAX_LINE_BYTES)).expect("json"),
    )
    .expect("event");
    let written = fusion::store::append_events(
        &path,
        &fusion::store::AppendOptions::default(),
        &|_| {},
        &[huge],
    );
    assert!(
        matches!(
            &written,
            Err(fusion::store::StoreError::LineTooLong { index: 1, seq: 1, bytes, max, .. })
                if *bytes > *max && *max == fusion::record::MAX_LINE_BYTES
        ),
        "{:?}",
        written.map(|_| ())
    );
    assert_eq!(std::fs::read(&path).expect("read"), b"");
    assert!(!fusion::store::journal_path(&path).exists());
}
