//! `fusion diff` and `fusion lineage` through the binary: shapes of the
//! command line, formats and usage errors.

mod common;

use common::TestEnv;
use serde_json::Value;

const EVENTS: &str = r#"{"type":"created","date":"2008","id":"edit","name":"Edit","kind":"cluster","sources":[{"doc":"B"}]}
{"type":"created","date":"2005","id":"grilog","name":"GRILOG","kind":"cluster","sources":[{"doc":"B"}]}
{"type":"transformed","mode":"fusion","date":"2015-05~","from":["edit","grilog"],"to":["clustr"],"new":[{"id":"clustr","name":"Clust'R \"Numérique\"","kind":"cluster"}],"sources":[{"doc":"B"}]}
{"type":"label_granted","date":"2015-06","label":"French Tech","holder":"clustr","sources":[{"doc":"B"}]}
"#;

fn env() -> TestEnv {
    TestEnv::with_events(EVENTS)
}

#[test]
fn diff_of_two_dates_prints_the_summary_then_the_changes() {
    let env = env();
    let r = env.run(&["diff", "2014", "2016"]);
    assert_eq!(r.code, 0, "{r}");
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert!(
        lines[0].starts_with("diff 2014-12-31 → 2016-12-31, as known at seq 4 ("),
        "{r}"
    );
    assert_eq!(lines[1], "summary: 2 changes: 1 merged, 1 label_granted");
    assert!(
        lines[3].contains("merged") && lines[3].ends_with("[seq 3]"),
        "{r}"
    );
    assert!(
        lines[4].contains("label_granted") && lines[4].ends_with("[seq 4]"),
        "{r}"
    );
}

#[test]
fn diff_json_and_kind_filter() {
    let env = env();
    let r = env.run(&[
        "diff",
        "2014",
        "2016",
        "--kind",
        "label_granted",
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0, "{r}");
    let v: Value = serde_json::from_str(&r.stdout).expect("json");
    assert_eq!(v["from"]["as_of"], "2014-12-31");
    assert_eq!(
        v["summary"],
        serde_json::json!({"total": 1, "label_granted": 1})
    );
    assert_eq!(v["changes"][0]["change"], "label_granted");
    assert_eq!(v["changes"][0]["seq"], 4);
}

#[test]
fn diff_of_two_states_of_knowledge_about_one_date() {
    let env = env();
    let r = env.run(&[
        "diff",
        "2016",
        "--known-at",
        "2",
        "--known-at",
        "4",
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0, "{r}");
    let v: Value = serde_json::from_str(&r.stdout).expect("json");
    assert_eq!(v["from"]["known_at"]["seq"], 2);
    assert_eq!(v["to"]["known_at"]["seq"], 4);
    let kinds: Vec<&str> = v["changes"]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|c| c["change"].as_str())
        .collect();
    assert_eq!(kinds, vec!["merged", "label_granted"]);
}

#[test]
fn diff_of_one_state_of_knowledge_with_itself_keeps_the_knowledge_header() {
    // Given the ledger, when a state of knowledge is compared with itself
    let env = env();
    let r = env.run(&["diff", "2016", "--known-at", "3", "--known-at", "3"]);
    // Then the header is a knowledge diff's, not a two-date diff's
    assert_eq!(r.code, 0, "{r}");
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert!(
        lines[0].starts_with("diff as of 2016-12-31: known at seq 3 (")
            && lines[0].contains("→ known at seq 3 ("),
        "{r}"
    );
    assert_eq!(lines[1], "summary: no changes", "{r}");
}

#[test]
fn diff_usage_errors_exit_2_with_a_hint() {
    let env = env();
    let r = env.run(&["diff", "2016"]);
    assert_eq!(r.code, 2, "{r}");
    assert!(
        r.stderr.contains("got 1 date and 0 --known-at (hint:"),
        "{r}"
    );
    let r = env.run(&["diff", "2016", "2014"]);
    assert_eq!(r.code, 2, "{r}");
    assert!(
        r.stderr
            .contains("FROM `2016-12-31` is after TO `2014-12-31`"),
        "{r}"
    );
    let r = env.run(&["diff", "2014", "2016", "--kind", "merge"]);
    assert_eq!(r.code, 2, "{r}");
    assert!(
        r.stderr
            .contains("--kind `merge` is not a kind of change; one of: created, merged"),
        "{r}"
    );
    let r = env.run(&["diff", "2014", "2016-13"]);
    assert_eq!(r.code, 2, "{r}");
    let r = env.run(&["diff", "2016", "--known-at", "4", "--known-at", "2"]);
    assert_eq!(r.code, 2, "{r}");
    assert!(
        r.stderr
            .contains("(seq 4) is later than the second (seq 2)"),
        "{r}"
    );
}

/// Given a ledger that cannot be read, when diff is given a bad shape or
/// a bad date, then the usage error comes first, before any reading.
#[test]
fn diff_checks_its_arguments_before_reading_the_ledger() {
    let env = TestEnv::new();
    std::fs::write(env.ledger(), "not a ledger\n").expect("write");
    for (args, says) in [
        (&["diff", "2014", "2016-13"][..], "TO"),
        (
            &["diff", "2016-13", "--known-at", "1", "--known-at", "2"][..],
            "DATE",
        ),
        (
            &["diff", "2014", "2016", "--known-at", "1", "--known-at", "2"][..],
            "got 2 dates and 2 --known-at",
        ),
    ] {
        let r = env.run(args);
        assert_eq!(r.code, 2, "{args:?}: {r}");
        assert!(r.stderr.contains(says), "{args:?}: {r}");
    }
}

#[test]
fn lineage_in_every_format() {
    let env = env();
    let r = env.run(&["lineage", "clustr"]);
    assert_eq!(r.code, 0, "{r}");
    assert!(r.stdout.starts_with("clustr (Clust'R \"Numérique\") since 2015-05~  [known at seq 4]\n└─ fusion 2015-05~ [seq 3] ← edit, grilog\n"), "{r}");
    let r = env.run(&["lineage", "edit", "--format", "json"]);
    let v: Value = serde_json::from_str(&r.stdout).expect("json");
    assert_eq!(v["descendants"][0]["id"], "clustr");
    let r = env.run(&["lineage", "clustr", "--format", "mermaid"]);
    assert!(r.stdout.starts_with("flowchart LR\n"), "{r}");
    assert!(
        r.stdout.contains("Clust'R #quot;Numérique#quot; (clustr)"),
        "{r}"
    );
    let r = env.run(&["lineage", "clustr", "--format", "dot"]);
    assert!(r.stdout.starts_with("digraph lineage {"), "{r}");
    assert!(r.stdout.contains("\"edit\" -> \"clustr\""), "{r}");
    let r = env.run(&["lineage", "clustr", "--as-of", "2015-04"]);
    assert_eq!(r.code, 2, "{r}");
    assert!(
        r.stderr.contains("comes into being on 2015-05~ (seq 3)"),
        "{r}"
    );
}

#[test]
fn lineage_of_an_id_that_only_inert_records_name_says_which_records() {
    let env = env();
    // given a plan naming an id it does not bring in (its own error)
    env.append(
        r#"{"type":"planned","date":"2016","planned":{"type":"created","date":"2018","id":"future","name":"F","kind":"cluster","sources":[{"doc":"B"}]},"sources":[{"doc":"B"}]}"#,
    );
    // and a creation (seq 6) that a correction (seq 7) retracts
    env.append(r#"{"type":"created","date":"2010","id":"gone","name":"G","kind":"cluster","sources":[{"doc":"B"}]}"#);
    let hash = env.hash_of(6);
    env.append(&format!(
        r#"{{"type":"correction","date":"2017","target":"{hash}","mode":"retract","reason":"no such cluster","sources":[{{"doc":"B"}}]}}"#
    ));
    // when their lineage is asked for, then the error names the records
    let r = env.run(&["lineage", "future"]);
    insta::assert_snapshot!(r.to_string(), @"
    exit: 2
    --- stderr
    error: `future` is only named by a plan (seq 5, for 2018): not carried out; a plan never counts as having happened, so it has no lineage
    ");
    let r = env.run(&["lineage", "gone"]);
    insta::assert_snapshot!(r.to_string(), @"
    exit: 2
    --- stderr
    error: no organisation `gone` is known at seq 7, though seq 6 names it (hint: a record that a correction retracted or superseded brings in nothing; `fusion log --org gone` shows the records that name it)
    ");
    // and before the retraction, it is an organisation
    let r = env.run(&["lineage", "gone", "--known-at", "6"]);
    assert_eq!(r.code, 0, "{r}");
}

#[test]
fn lineage_of_an_unknown_id_names_it_and_suggests() {
    let env = env();
    let r = env.run(&["lineage", "clust"]);
    assert_eq!(r.code, 2, "{r}");
    assert_eq!(
        r.stderr,
        "error: no organisation `clust` is known at seq 4 (hint: did you mean `clustr`?)\n"
    );
    // Known only from a later record: said so, with where to look
    let r = env.run(&["lineage", "clustr", "--known-at", "2"]);
    assert_eq!(r.code, 2, "{r}");
    assert_eq!(
        r.stderr,
        "error: no organisation `clustr` is known at seq 2: a later record brings it in (hint: `fusion log --org clustr` lists the records that name it; the head is seq 4)\n"
    );
    // Known nowhere: the plain message
    let r = env.run(&["lineage", "nowhere", "--known-at", "2"]);
    assert_eq!(r.code, 2, "{r}");
    assert!(!r.stderr.contains("later record"), "{r}");
    let r = env.run(&["lineage", " "]);
    assert_eq!(r.code, 2, "{r}");
    assert_eq!(
        r.stderr,
        "error: lineage needs an organisation id, and the one given is empty (hint: `fusion replay --all` lists the ids)\n"
    );
}

#[test]
fn lineage_of_an_id_only_an_abandoned_plan_names_says_it_was_abandoned() {
    // given a plan (seq 5) to create `future`, given up (seq 6)
    let env = env();
    env.append(
        r#"{"type":"planned","date":"2016","planned":{"type":"created","date":"2018","id":"future","name":"F","kind":"cluster","sources":[{"doc":"B"}]},"sources":[{"doc":"B"}]}"#,
    );
    let hash = env.hash_of(5);
    env.append(&format!(
        r#"{{"type":"plan_abandoned","date":"2017-02","plan":"{hash}","sources":[{{"doc":"B"}}]}}"#
    ));
    // when its lineage is asked for, before and after the abandonment
    let r = env.run(&["lineage", "future"]);
    insta::assert_snapshot!(r.to_string(), @"
    exit: 2
    --- stderr
    error: `future` is only named by a plan (seq 5, for 2018): abandoned by seq 6; a plan never counts as having happened, so it has no lineage
    ");
    let r = env.run(&["lineage", "future", "--as-of", "2016-12"]);
    assert!(r.stderr.contains("(seq 5, for 2018): pending;"), "{r}");
    // and its log lists the plan and its abandonment, which names no id
    let logged = || -> Vec<String> {
        let r = env.run(&["log", "--org", "future"]);
        assert_eq!(r.code, 0, "{r}");
        r.stdout
            .lines()
            .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
            .collect()
    };
    assert_eq!(logged(), ["5", "6"]);
    let r = env.run(&["log", "--org", "future", "--type", "plan_abandoned"]);
    assert_eq!(r.stdout.lines().count(), 1, "{r}");
    // but not for an id the plan does not name
    let r = env.run(&["log", "--org", "clustr"]);
    assert_eq!(r.code, 0, "{r}");
    assert!(!r.stdout.contains("plan_abandoned"), "{r}");
    // and a correction whose replacement abandons it (seq 7) is listed too
    env.append(&format!(
        r#"{{"type":"correction","date":"2017-03","target":"{}","mode":"supersede","reason":"r","replacement":{{"type":"plan_abandoned","date":"2017-01","plan":"{hash}","sources":[{{"doc":"B"}}]}},"sources":[{{"doc":"B"}}]}}"#,
        env.hash_of(6)
    ));
    assert_eq!(logged(), ["5", "6", "7"]);
}

#[test]
fn an_organisation_asked_for_by_its_name_is_pointed_to_its_id() {
    let env = env();
    // A name a record gives, in any case and spacing, names its id: the
    // fusion's new organisation, and a creation's
    insta::assert_snapshot!(env.run(&["lineage", "clust'r  \"NUMÉRIQUE\""]).to_string(), @r#"
    exit: 2
    --- stderr
    error: no organisation `clust'r  "NUMÉRIQUE"` is known at seq 4 (hint: "clust'r  \"NUMÉRIQUE\"" is the name of `clustr`; ids, not names, are asked for here: `fusion lineage clustr`)
    "#);
    insta::assert_snapshot!(env.run(&["log", "--org", "Grilog"]).to_string(), @r#"
    exit: 2
    --- stderr
    error: --org `Grilog`: no record mentions this id (hint: "Grilog" is the name of `grilog`; ids, not names, are asked for here: `fusion log --org grilog`)
    "#);
    // A renamed organisation's former and current names both do
    let env = TestEnv::with_events(&format!(
        "{EVENTS}{}\n",
        r#"{"type":"renamed","date":"2012","org":"edit","name":"Edit Lyon","sources":[{"doc":"B"}]}"#
    ));
    for name in ["Edit ", "edit lyon"] {
        let r = env.run(&["log", "--org", name]);
        assert_eq!(r.code, 2, "{r}");
        assert!(r.stderr.contains("is the name of `edit`;"), "{r}");
    }
    let r = env.run(&["lineage", "EDIT LYON"]);
    assert!(
        r.stderr.contains("\"EDIT LYON\" is the name of `edit`"),
        "{r}"
    );
}
