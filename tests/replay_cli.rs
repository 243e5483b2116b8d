//! `fusion replay`: the landscape on a date, as known at a position.

mod common;

use common::TestEnv;
use serde_json::Value;

const EVENTS: &str = r#"{"type":"created","date":"2008","id":"edit","name":"Edit","kind":"cluster","attrs":{"seat":"Lyon"},"sources":[{"doc":"003_3b54702e53d06fb4.txt"}]}
{"type":"created","date":"2005","id":"grilog","name":"GRILOG","kind":"cluster","attrs":{"seat":"Grenoble"},"sources":[{"doc":"003_3b54702e53d06fb4.txt"}]}
{"type":"transformed","mode":"fusion","date":"2015-05~","from":["edit","grilog"],"to":["clustr"],"new":[{"id":"clustr","name":"Clust'R Numérique","kind":"cluster","attrs":{"seat":"Lyon"}}],"sources":[{"doc":"003_3b54702e53d06fb4.txt"}]}
{"type":"role_started","date":"2015-06","org":"clustr","person":"Thierry Alvergnat","role":"director","sources":[{"doc":"003_3b54702e53d06fb4.txt"}]}
{"type":"planned","date":"2016-06","planned":{"type":"dissolved","date":"2017-01-01","org":"clustr","sources":[{"doc":"A"}]},"sources":[{"doc":"A"}]}
"#;

fn env() -> TestEnv {
    TestEnv::with_events(EVENTS)
}

#[test]
fn replay_prints_a_table_with_tentative_facts() {
    let env = env();
    let r = env.run(&["replay", "--as-of", "2015-05-20"]);
    insta::assert_snapshot!(r.to_string());
}

#[test]
fn replay_defaults_to_today_and_the_head() {
    // FUSION_TODAY is 2026-01-01 in the test environment
    let env = env();
    let r = env.run(&["replay", "--format", "json"]);
    assert_eq!(r.code, 0, "{r}");
    let v: Value = serde_json::from_str(&r.stdout).expect("json");
    assert_eq!(v["as_of"], "2026-01-01");
    assert_eq!(v["known_at"]["seq"], 5);
    assert_eq!(v["organisations"][0]["id"], "clustr");
    assert_eq!(v["planned"][0]["status"], "overdue");
}

#[test]
fn known_at_accepts_seq_hash_prefix_and_time() {
    let env = env();
    let hash = env.hash_of(2);
    let prefix = &hash[..8];
    for pos in ["2", prefix, "2026-01-01T00:00:00Z"] {
        let r = env.run(&[
            "replay",
            "--as-of",
            "2010",
            "--known-at",
            pos,
            "--format",
            "json",
        ]);
        assert_eq!(r.code, 0, "{pos}: {r}");
        let v: Value = serde_json::from_str(&r.stdout).expect("json");
        let want = if pos.starts_with("2026") { 5 } else { 2 };
        assert_eq!(v["known_at"]["seq"], want, "{pos}");
    }
    let r = env.run(&[
        "replay",
        "--as-of",
        "2010",
        "--known-at",
        "1",
        "--format",
        "json",
    ]);
    let v: Value = serde_json::from_str(&r.stdout).expect("json");
    let ids: Vec<&str> = v["organisations"]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|o| o["id"].as_str())
        .collect();
    assert_eq!(ids, vec!["edit"]);
}

#[test]
fn all_shows_ended_organisations() {
    let env = env();
    let r = env.run(&["replay", "--as-of", "2016", "--all", "--format", "markdown"]);
    insta::assert_snapshot!(r.to_string());
}

#[test]
fn bad_dates_and_positions_are_usage_errors() {
    let env = env();
    let r = env.run(&["replay", "--as-of", "2015-13"]);
    assert_eq!(r.code, 2, "{r}");
    assert!(
        r.stderr.contains("--as-of: `2015-13` is not an EDTF date"),
        "{r}"
    );
    let r = env.run(&["replay", "--known-at", "99"]);
    assert_eq!(r.code, 2, "{r}");
    assert!(
        r.stderr
            .contains("--known-at: seq 99 is beyond the ledger's head (seq 5)"),
        "{r}"
    );
    let r = env.run(&["replay", "--format", "yaml"]);
    assert_eq!(r.code, 2, "{r}");
}

#[test]
fn a_query_date_with_a_qualifier_is_a_usage_error() {
    let env = env();
    let r = env.run(&["replay", "--as-of", "2015?"]);
    insta::assert_snapshot!(r.to_string(), @"
    exit: 2
    --- stderr
    error: --as-of: `2015?` carries the qualifier `?`, which a query date cannot use: the day shown is exact (hint: write `2015`)
    ");
    // The same rule holds for diff's bounds.
    let r = env.run(&["diff", "2008", "2016~"]);
    assert_eq!(r.code, 2, "{r}");
    assert!(
        r.stderr.contains("TO: `2016~` carries the qualifier `~`"),
        "{r}"
    );
    // And for graph's start, read as the first day of its period.
    let r = env.run(&["graph", "--from", "2010%"]);
    assert_eq!(r.code, 2, "{r}");
    assert!(
        r.stderr
            .contains("--from: `2010%` carries the qualifier `%`, which a query date cannot use"),
        "{r}"
    );
}

#[test]
fn a_name_holding_a_newline_cannot_forge_a_line_of_text_output() {
    // given a name with a newline, a tab, a carriage return and an escape,
    // accepted by the vocabulary (names are any non-blank text)
    let env = TestEnv::with_events(concat!(
        r#"{"type":"created","date":"2016","id":"a","name":"Alpha","kind":"x","sources":[{"doc":"d"}]}"#,
        "\n",
        r#"{"type":"created","date":"2017","id":"b","name":"B\n    9  forged line\t\r\u001b[2J","kind":"x","sources":[{"doc":"d"}]}"#,
        "\n",
    ));
    // when the text outputs show it, then it stays on its own line
    let log = env.run(&["log"]);
    let replay = env.run(&["replay", "--as-of", "2018"]);
    let diff = env.run(&["diff", "2016", "2018"]);
    let shown = format!("{}{}{}", log.stdout, replay.stdout, diff.stdout)
        .lines()
        .filter(|l| l.contains("forged"))
        .map(|l| l.split_once(" b").map_or(l, |(_, rest)| rest).to_owned())
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!(shown, @r#"
     "B     9  forged line   [2J" (x)  24d6bbcea4f5
    b   B     9  forged line   [2J  x     since 2017
     "B     9  forged line   [2J"  [seq 2]
    "#);
}

#[test]
fn an_abandoned_plan_is_pending_until_given_up_then_abandoned_in_every_view() {
    // given the plan of 2016-06 to dissolve clustr on 2017-01-01 (seq 5),
    // given up in 2016-11 (seq 6)
    let env = env();
    let hash = env.hash_of(5);
    let abandon = format!(
        r#"{{"type":"plan_abandoned","date":"2016-11","plan":"{hash}","sources":[{{"doc":"B"}}]}}"#
    );
    env.append(&abandon);
    // when the landscape is replayed before, on and after that date
    let status = |as_of: &str, extra: &[&str]| -> Value {
        let mut args = vec!["replay", "--as-of", as_of, "--all", "--format", "json"];
        args.extend(extra);
        let r = env.run(&args);
        assert_eq!(r.code, 0, "{r}");
        let v: Value = serde_json::from_str(&r.stdout).expect("json");
        v["planned"][0].clone()
    };
    // then it is pending, then abandoned (never overdue), naming seq 6
    assert_eq!(status("2016-10", &[])["status"], "pending");
    let after = status("2017-06", &[]);
    assert_eq!(after["status"], "abandoned", "{after}");
    assert_eq!(after["abandoned_by"], 6, "{after}");
    // and as known before seq 6 it was overdue
    assert_eq!(status("2017-06", &["--known-at", "5"])["status"], "overdue");
    // and the default view no longer lists it, while `--all` says by what
    let r = env.run(&["replay", "--as-of", "2017-06"]);
    assert!(r.stdout.ends_with("No plans pending.\n"), "{r}");
    let r = env.run(&["replay", "--as-of", "2017-06", "--all"]);
    assert!(
        r.stdout.contains("  abandoned by seq 6  dissolved  "),
        "{r}"
    );
    // and a diff names the abandonment, then the plan
    let r = env.run(&["diff", "2016-10", "2017-06", "--kind", "plan_status"]);
    assert_eq!(r.code, 0, "{r}");
    assert!(
        r.stdout
            .lines()
            .any(|l| l.starts_with("2016-11  plan_status")
                && l.contains("pending → abandoned")
                && l.ends_with("[seq 6, 5]")),
        "{r}"
    );
    // and a second abandonment is refused, the ledger unchanged
    let before = env.ledger_bytes();
    let r = env.run_with_stdin(&["append"], &abandon);
    assert_eq!(r.code, 3, "{r}");
    insta::assert_snapshot!(r.stderr, @"error: <stdin>, line 1: event #1 of the batch (seq 7, `plan_abandoned`) is rejected: the plan at seq 5 was already abandoned by seq 6 (hint: a plan is abandoned once; leave this event out)");
    assert_eq!(env.ledger_bytes(), before);
    // and when the abandonment is retracted and the plan carried out, in
    // one batch, the plan is fulfilled, and `log` says which plan
    let revived = format!(
        r#"{{"type":"correction","date":"2017-02","target":"{}","mode":"retract","reason":"revived","sources":[{{"doc":"B"}}]}}
{{"type":"dissolved","date":"2017-03","org":"clustr","fulfils":"{hash}","sources":[{{"doc":"B"}}]}}"#,
        env.hash_of(6)
    );
    env.append(&revived);
    assert_eq!(status("2017-06", &[])["status"], "fulfilled");
    let r = env.run(&["log", "--seq", "6.."]);
    let short = &hash[..12];
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{r}");
    assert!(
        lines[0].contains(&format!("2016-11       plan_abandoned    plan {short}  ")),
        "{r}"
    );
    assert!(
        lines[2].contains(&format!(
            "2017-03       dissolved         clustr (fulfils plan {short})  "
        )),
        "{r}"
    );
}
