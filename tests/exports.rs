//! `fusion export`, `fusion graph` and `fusion report` end to end, on a
//! small hand-built ledger and on the shipped landscape: JSON-LD that
//! parses and carries the expected change events, CSV with the right
//! number of columns on every row, graphs coloured by kind, and a report
//! written atomically. Outputs are pinned by insta snapshots.

mod common;

use common::{TestEnv, repo_root};
use insta::assert_snapshot;
use serde_json::Value;

const EDIT: &str = r#"{"type":"created","date":"2008","id":"edit","name":"Edit","kind":"cluster","attrs":{"seat":"Lyon"},"sources":[{"doc":"b.txt","quote":"Depuis 2008, avec la naissance du cluster lyonnais \"Edit\""}]}"#;
const GRILOG: &str = r#"{"type":"created","date":"2000","id":"grilog","name":"GRILOG, \"Grenoble\"","kind":"cluster","sources":[{"doc":"La Tribune, 2014-03-27","url":"https://example.org/grilog"}]}"#;
const FUSION: &str = r#"{"type":"transformed","mode":"fusion","date":"2015-05~","from":["edit","grilog"],"to":["clustr"],"new":[{"id":"clustr","name":"Clust'R Numérique","kind":"cluster","attrs":{"seat":"Lyon"}}],"sources":[{"doc":"b.txt","quote":"qui a fusionné début mai avec le GRILOG"}],"note":"début mai;\nyear inferred"}"#;
const RHONEALLEY: &str = r#"{"type":"created","date":"2010","id":"rhonealley","name":"RhoneAlley","kind":"cluster","sources":[{"doc":"a.txt"}]}"#;
const NUMELINK: &str = r#"{"type":"created","date":"2015-06","id":"numelink","name":"Numélink","kind":"cluster","sources":[{"doc":"a.txt","quote":"Numélink, fruit de la fusion"}]}"#;
const ABSORPTION: &str = r#"{"type":"transformed","mode":"absorption","date":"2015-06-30","from":["rhonealley"],"to":["numelink"],"sources":[{"doc":"L'Essor, 2015-07-01"}]}"#;
const LABEL: &str = r#"{"type":"label_granted","date":"2015-06-25","label":"French Tech","holder":"clustr","sources":[{"doc":"wrong.txt"}]}"#;
const PLAN: &str = r#"{"type":"planned","date":"2016-06","planned":{"type":"transformed","mode":"fusion","date":"2017-01-01","from":["clustr","numelink"],"to":["league"],"new":[{"id":"league","name":"Clust'R + Numélink","kind":"cluster"}],"sources":[{"doc":"a.txt"}]},"sources":[{"doc":"a.txt","quote":"devrait ne faire plus qu'un au 1er janvier 2017"}]}"#;
const LEAGUE: &str = r#"{"type":"transformed","mode":"fusion","date":"2017-03-28","from":["clustr","numelink"],"to":["digital-league"],"new":[{"id":"digital-league","name":"Digital League","kind":"cluster"}],"sources":[{"doc":"Digital League press release, 2017-03-28"}]}"#;

/// The small ledger: nine records, then a retraction of the label (seq 10).
fn ledger() -> TestEnv {
    let env = TestEnv::with_ledger();
    env.append(
        &[
            EDIT, GRILOG, FUSION, RHONEALLEY, NUMELINK, ABSORPTION, LABEL, PLAN, LEAGUE,
        ]
        .join("\n"),
    );
    let hash = env.hash_of(7);
    env.append(&format!(
        r#"{{"type":"correction","date":"2017","target":"{hash}","mode":"retract","reason":"no such label","sources":[{{"doc":"check.txt"}}]}}"#
    ));
    env
}

/// A minimal RFC 4180 reader: records of fields; CRLF ends a record.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {
                chars.next();
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(field.is_empty() && row.is_empty(), "unterminated last row");
    rows
}

/// Every row has as many fields as the header; returns the rows.
fn check_columns(csv: &str, columns: usize) -> Vec<Vec<String>> {
    assert!(csv.ends_with("\r\n"), "the last record ends with CRLF");
    let rows = parse_csv(csv);
    assert!(!rows.is_empty());
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r.len(), columns, "row {i} has {} fields: {r:?}", r.len());
    }
    rows
}

fn change_events(doc: &Value) -> Vec<&Value> {
    doc["@graph"]
        .as_array()
        .expect("@graph array")
        .iter()
        .filter(|n| n["@type"] == "org:ChangeEvent")
        .collect()
}

fn ids(v: &Value) -> Vec<&str> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x["@id"].as_str().expect("@id"))
        .collect()
}

#[test]
fn jsonld_has_an_inline_context_organisations_and_change_events() {
    let env = ledger();
    let r = env.run(&["export", "--format", "jsonld"]);
    assert_eq!(r.code, 0, "{r}");
    let doc: Value = serde_json::from_str(&r.stdout).expect("valid JSON");
    let ctx = &doc["@context"];
    assert_eq!(ctx["org"], "http://www.w3.org/ns/org#");
    assert_eq!(ctx["prov"], "http://www.w3.org/ns/prov#");
    assert!(
        ctx["ledger"]
            .as_str()
            .is_some_and(|s| s.starts_with("urn:fusion:"))
    );
    let changes = change_events(&doc);
    assert_eq!(changes.len(), 3, "{changes:?}");
    assert_eq!(changes[0]["fusion:changeKind"], "fusion");
    assert_eq!(changes[0]["dcterms:date"], "2015-05~");
    assert_eq!(
        ids(&changes[0]["org:originalOrganization"]),
        ["ledger:org:edit", "ledger:org:grilog"]
    );
    assert_eq!(
        ids(&changes[0]["org:resultingOrganization"]),
        ["ledger:org:clustr"]
    );
    assert_eq!(
        changes[0]["prov:wasDerivedFrom"][0]["prov:value"],
        "qui a fusionné début mai avec le GRILOG"
    );
    assert_eq!(changes[1]["fusion:changeKind"], "absorption");
    assert_eq!(changes[2]["dcterms:date"], "2017-03-28");
    let orgs: Vec<&str> = doc["@graph"]
        .as_array()
        .expect("graph")
        .iter()
        .filter(|n| n["@type"] == "org:Organization")
        .map(|n| n["org:identifier"].as_str().expect("identifier"))
        .collect();
    assert_eq!(
        orgs,
        [
            "clustr",
            "digital-league",
            "edit",
            "grilog",
            "numelink",
            "rhonealley"
        ]
    );
    assert_snapshot!("jsonld_small", r.stdout);
}

const FIGURE: &str = r#"{"type":"figures","date":"2016-02","org":"clustr","values":{"members":210},"sources":[{"doc":"c.txt"}]}"#;

#[test]
fn jsonld_gives_each_figure_with_its_date_and_sources() {
    // given a figure of clustr's
    let env = ledger();
    env.append(FIGURE);
    // when the landscape of 2016 is exported as JSON-LD
    let r = env.run(&["export", "--format", "jsonld", "--as-of", "2016"]);
    assert_eq!(r.code, 0, "{r}");
    let doc: Value = serde_json::from_str(&r.stdout).expect("valid JSON");
    let clustr = doc["@graph"]
        .as_array()
        .expect("graph")
        .iter()
        .find(|n| n["@id"] == "ledger:org:clustr")
        .expect("clustr");
    // then it carries the figure as a schema.org quantitative value
    assert_eq!(
        clustr["fusion:figure"],
        serde_json::json!([{"@type": "schema:QuantitativeValue", "schema:name": "members",
                            "schema:value": 210, "dcterms:date": "2016-02",
                            "prov:wasDerivedFrom": [{"@type": "prov:Entity",
                                                     "dcterms:bibliographicCitation": "c.txt"}]}])
    );
    // and not before the figure's date
    let r = env.run(&["export", "--format", "jsonld", "--as-of", "2015-12"]);
    assert!(!r.stdout.contains("fusion:figure"), "{r}");
}

#[test]
fn jsonld_as_of_and_known_at_limit_what_counts() {
    let env = ledger();
    let r = env.run(&["export", "--format", "jsonld", "--as-of", "2016"]);
    assert_eq!(r.code, 0, "{r}");
    let doc: Value = serde_json::from_str(&r.stdout).expect("json");
    assert_eq!(change_events(&doc).len(), 2);
    assert!(!r.stdout.contains("digital-league"));
    assert_eq!(doc["@graph"][0]["fusion:asOf"]["@value"], "2016-12-31");
    // Known at seq 7 the label still holds; at the head it is retracted.
    let at7 = env.run(&["export", "--format", "jsonld", "--known-at", "7"]);
    let doc7: Value = serde_json::from_str(&at7.stdout).expect("json");
    assert_eq!(doc7["@graph"][0]["fusion:knownAtSeq"], 7);
    assert!(at7.stdout.contains("\"fusion:label\""), "{}", at7.stdout);
    assert!(
        !env.run(&["export", "--format", "jsonld"])
            .stdout
            .contains("\"fusion:label\"")
    );
}

#[test]
fn csv_events_quote_per_rfc_4180_with_one_row_per_record() {
    let env = ledger();
    let r = env.run(&["export", "--format", "csv"]);
    assert_eq!(r.code, 0, "{r}");
    let rows = check_columns(&r.stdout, 11);
    assert_eq!(rows.len(), 11, "a header and ten records");
    assert_eq!(
        rows[0],
        [
            "seq",
            "recorded",
            "date",
            "type",
            "summary",
            "ids",
            "sources",
            "quotes",
            "urls",
            "corrected",
            "hash"
        ]
    );
    // A name with a comma and quotes survives the round trip.
    assert_eq!(rows[2][4], r#"grilog "GRILOG, "Grenoble"" (cluster)"#);
    assert_eq!(
        json_cell(&rows[1][7]),
        serde_json::json!(["Depuis 2008, avec la naissance du cluster lyonnais \"Edit\""])
    );
    assert_eq!(rows[7][9], "retracted by 10");
    assert_eq!(rows[10][4], "retract seq 7", "the target by its seq");
    assert_eq!(rows[3][5], "edit grilog clustr");
    assert_snapshot!("csv_events_small", r.stdout.replace("\r\n", "\n"));
    // Known at seq 3: three records, and nothing corrected yet.
    let r3 = env.run(&["export", "--format", "csv", "--known-at", "3"]);
    assert_eq!(check_columns(&r3.stdout, 11).len(), 4);
}

fn json_cell(cell: &str) -> Value {
    serde_json::from_str(cell).unwrap_or_else(|e| panic!("`{cell}` is not JSON: {e}"))
}

/// Given an event whose second source has a URL and no quote, and whose
/// third has `; ` in its document, when the records are exported as CSV,
/// then `sources`, `quotes` and `urls` are JSON arrays of one item per
/// source, in order, `null` where a source has no quote or URL.
#[test]
fn csv_events_keep_each_sources_document_quote_and_url_aligned() {
    let env = TestEnv::with_ledger();
    env.append(
        r#"{"type":"created","date":"2005","id":"a","name":"A","kind":"k","sources":[{"doc":"Doc A","quote":"quote A"},{"doc":"Doc B","url":"https://x.example"},{"doc":"Doc C; part 2","quote":"quote C, \"said\""}]}"#,
    );
    let r = env.run(&["export", "--format", "csv"]);
    assert_eq!(r.code, 0, "{r}");
    let rows = check_columns(&r.stdout, 11);
    let cell = |name: &str| {
        let at = rows[0].iter().position(|c| c == name).expect("column");
        json_cell(&rows[1][at])
    };
    assert_eq!(
        cell("sources"),
        serde_json::json!(["Doc A", "Doc B", "Doc C; part 2"])
    );
    assert_eq!(
        cell("quotes"),
        serde_json::json!(["quote A", null, "quote C, \"said\""])
    );
    assert_eq!(
        cell("urls"),
        serde_json::json!([null, "https://x.example", null])
    );
}

/// Given a record superseded by a correction, when the records are
/// exported as CSV, then the correction's summary names the target by its
/// seq and summarises the replacement as `fusion log` summarises an event,
/// while `fusion log` itself still shows the correction's own summary.
#[test]
fn csv_events_show_what_a_supersession_replaces_and_with_what() {
    let env = TestEnv::with_ledger();
    env.append(&[RHONEALLEY, NUMELINK].join("\n"));
    let hash = env.hash_of(2);
    env.append(&format!(
        r#"{{"type":"correction","date":"2016","target":"{hash}","mode":"supersede","replacement":{{"type":"created","date":"2014","id":"numelink","name":"Numélink","kind":"cluster","sources":[{{"doc":"c.txt"}}]}},"reason":"founded 2014","sources":[{{"doc":"c.txt"}}]}}"#
    ));
    let r = env.run(&["export", "--format", "csv"]);
    assert_eq!(r.code, 0, "{r}");
    let rows = check_columns(&r.stdout, 11);
    assert_eq!(
        rows[3][4],
        r#"supersede seq 2 with 2014: created numelink "Numélink" (cluster)"#
    );
    assert_eq!(rows[2][9], "superseded by 3");
    let log = env.run(&["log"]);
    assert!(
        log.stdout.contains(&format!("supersede {}", &hash[..12])),
        "{}",
        log.stdout
    );
}

/// Given an organisation spun off in 2013, absorbed in 2014-03 and
/// re-established in 2015, when the ledger is exported as JSON-LD, then
/// its founding date is 2013, it derives from the spin-off's sources (not
/// the re-establishment's), and its periods of existence are both there.
#[test]
fn jsonld_a_reestablished_organisation_keeps_its_first_period() {
    let env = TestEnv::with_ledger();
    env.append(
        &[
            r#"{"type":"created","date":"2010","id":"q3","name":"Q3","kind":"k","sources":[{"doc":"Doc q3"}]}"#,
            r#"{"type":"created","date":"2011","id":"s1","name":"S1","kind":"k","sources":[{"doc":"Doc s1"}]}"#,
            r#"{"type":"transformed","mode":"spin_off","date":"2013","from":["q3"],"to":["sp"],"new":[{"id":"sp","name":"SP","kind":"k"}],"sources":[{"doc":"Doc spin-off","quote":"sp is born"}]}"#,
            r#"{"type":"transformed","mode":"absorption","date":"2014-03","from":["sp"],"to":["s1"],"sources":[{"doc":"Doc absorption"}]}"#,
            r#"{"type":"transformed","mode":"reestablishment","date":"2015","from":["s1"],"to":["sp"],"sources":[{"doc":"Doc reestablishment"}]}"#,
        ]
        .join("\n"),
    );
    let org = |args: &[&str], id: &str| -> Value {
        let r = env.run(args);
        assert_eq!(r.code, 0, "{r}");
        let doc: Value = serde_json::from_str(&r.stdout).expect("json");
        doc["@graph"]
            .as_array()
            .expect("graph")
            .iter()
            .find(|n| n["@id"] == format!("ledger:org:{id}").as_str())
            .cloned()
            .expect("the organisation")
    };
    let sp = org(&["export", "--format", "jsonld"], "sp");
    assert_eq!(sp["schema:foundingDate"], "2013");
    assert_eq!(
        sp["prov:wasDerivedFrom"][0]["dcterms:bibliographicCitation"],
        "Doc spin-off"
    );
    assert_eq!(
        sp["fusion:period"],
        serde_json::json!([
            {"@type": "fusion:Period", "schema:startDate": "2013",
             "schema:endDate": "2014-03", "fusion:endedBy": "absorption"},
            {"@type": "fusion:Period", "schema:startDate": "2015"},
        ])
    );
    assert_eq!(
        ids(&sp["org:resultedFrom"]),
        ["ledger:event:3", "ledger:event:5"]
    );
    // s1, founded once, keeps its own founding and source.
    let s1 = org(&["export", "--format", "jsonld"], "s1");
    assert_eq!(s1["schema:foundingDate"], "2011");
    assert!(s1.get("fusion:period").is_none());
    // Before the re-establishment, sp has one period, ended.
    let sp = org(&["export", "--format", "jsonld", "--as-of", "2014"], "sp");
    assert_eq!(sp["schema:foundingDate"], "2013");
    assert_eq!(sp["schema:dissolutionDate"], "2014-03");
    assert!(sp.get("fusion:period").is_none());
}

#[test]
fn csv_as_of_is_a_view_with_one_row_per_organisation() {
    let env = ledger();
    let r = env.run(&["export", "--format", "csv", "--as-of", "2016"]);
    assert_eq!(r.code, 0, "{r}");
    let rows = check_columns(&r.stdout, 18);
    let ids: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(ids, ["clustr", "numelink"]);
    assert_eq!(rows[1][3], "2015-05~");
    assert_eq!(rows[1][4], "true", "a `~` date is tentative");
    assert_eq!(
        rows[1][11],
        "edit (fusion 2015-05~); grilog (fusion 2015-05~)"
    );
    assert_snapshot!("csv_view_small", r.stdout.replace("\r\n", "\n"));
    // attributes and figures are JSON objects, the seat included
    let attrs: Value = serde_json::from_str(&rows[1][16]).expect("attributes");
    assert_eq!(attrs, serde_json::json!({"seat": "Lyon"}));
    let with_figure = ledger();
    with_figure.append(FIGURE);
    let r = with_figure.run(&["export", "--format", "csv", "--as-of", "2016"]);
    let rows = check_columns(&r.stdout, 18);
    let figures: Value = serde_json::from_str(&rows[1][17]).expect("figures");
    assert_eq!(
        figures,
        serde_json::json!({"members": {"value": 210, "date": "2016-02"}})
    );
    assert_eq!(rows[2][17], "{}");
    let all = env.run(&["export", "--format", "csv", "--as-of", "2016", "--all"]);
    let rows = check_columns(&all.stdout, 18);
    assert_eq!(rows.len(), 1 + 5);
    let edit = rows.iter().find(|r| r[0] == "edit").expect("edit row");
    assert_eq!(edit[14], "2015-05~ fusion");
    assert_eq!(edit[15], "true", "a `~` end is tentative");
    let rhonealley = rows.iter().find(|r| r[0] == "rhonealley").expect("row");
    assert_eq!(
        (rhonealley[14].as_str(), rhonealley[15].as_str()),
        ("2015-06-30 absorption", "false"),
        "a day, past: surely ended"
    );
    assert_eq!(rows[1][15], "", "not ended");
    // While the fusion is under way, edit is listed without --all, its end
    // tentative, as `replay` shows it "possibly ended"
    let may = env.run(&["export", "--format", "csv", "--as-of", "2015-05-15"]);
    let rows = check_columns(&may.stdout, 18);
    let edit = rows.iter().find(|r| r[0] == "edit").expect("edit row");
    assert_eq!(
        (edit[14].as_str(), edit[15].as_str()),
        ("2015-05~ fusion", "true")
    );
}

#[test]
fn export_refuses_misplaced_flags_and_bad_dates() {
    let env = ledger();
    assert_snapshot!(env.run(&["export", "--format", "jsonld", "--all"]), @r"
    exit: 2
    --- stderr
    error: --all applies to `--format csv --as-of DATE` only (the view of organisations)
    ");
    let r = env.run(&["export", "--format", "csv", "--as-of", "2016-13"]);
    assert_eq!(r.code, 2, "{r}");
    assert!(r.stderr.contains("`2016-13`"), "{r}");
    let r = env.run(&["export", "--format", "xml"]);
    assert_eq!(r.code, 2, "{r}");
}

#[test]
fn graph_draws_the_period_coloured_by_kind() {
    let env = ledger();
    let m = env.run(&[
        "graph", "--from", "2015", "--to", "2016", "--format", "mermaid",
    ]);
    assert_eq!(m.code, 0, "{m}");
    assert!(!m.stdout.contains("Digital League"), "2017 is outside");
    assert_snapshot!("graph_mermaid_small", m.stdout);
    let d = env.run(&["graph", "--format", "dot"]);
    assert_eq!(d.code, 0, "{d}");
    assert!(d.stdout.contains("\"clustr\" -> \"digital-league\""));
    assert!(d.stdout.contains("color=\"#e69f00\""), "absorption colour");
    assert_snapshot!("graph_dot_small", d.stdout);
    // A period that starts inside May 2015 makes the `2015-05~` fusion
    // tentative (dotted), still included.
    let mid = env.run(&["graph", "--from", "2015-05-15", "--to", "2015-05-20"]);
    assert!(
        mid.stdout.contains("-.->|\"fusion 2015-05~ (seq 3)\"|"),
        "{mid}"
    );
    assert!(!mid.stdout.contains("-->|"), "{mid}");
}

#[test]
fn graph_refuses_a_backward_period() {
    let env = ledger();
    assert_snapshot!(env.run(&["graph", "--from", "2017", "--to", "2015"]), @r"
    exit: 2
    --- stderr
    error: --from 2017-01-01 is after --to 2015-12-31; the period must run forward
    ");
    let r = env.run(&["graph", "--from", "soon"]);
    assert_eq!(r.code, 2, "{r}");
    assert!(r.stderr.contains("--from: `soon`"), "{r}");
}

#[test]
fn report_writes_one_self_contained_file_atomically() {
    let env = ledger();
    let r = env.run(&["report", "--as-of", "2016", "--out", "report.html"]);
    assert_snapshot!(r, @r"
    exit: 0
    --- stdout
    wrote report.html (landscape on 2016-12-31: 2 organisation(s), 3 change(s), 10 record(s))
    ");
    let html = std::fs::read_to_string(env.dir().join("report.html")).expect("report");
    // No temporary file is left beside it.
    let names: Vec<String> = std::fs::read_dir(env.dir())
        .expect("ls")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.contains(".tmp")), "{names:?}");
    // Self-contained: no external script, style, image or font.
    for bad in ["<link", " src=", "@import", "url(http", "//cdn"] {
        assert!(!html.contains(bad), "found `{bad}`");
    }
    assert!(html.contains("Content-Security-Policy"));
    // Every record has its anchor; the retracted label is struck through.
    for seq in 1..=10 {
        assert!(html.contains(&format!("<li id=\"seq-{seq}\"")), "seq {seq}");
    }
    assert!(html.contains("class=\"ev t-label_granted gone\""));
    // Ledger text is escaped.
    assert!(html.contains("GRILOG, &quot;Grenoble&quot;"));
    assert!(!html.contains("GRILOG, \"Grenoble\""));
    // The plan for 2017-01-01 is pending at the end of 2016, overdue in
    // February 2017 (nothing says it was carried out).
    assert!(html.contains("<td class=\"st-pending\">pending</td>"));
    let quiet = env.run(&[
        "report", "--as-of", "2017-02", "--out", "r2.html", "--quiet",
    ]);
    assert_eq!((quiet.code, quiet.stdout.as_str()), (0, ""));
    let later = std::fs::read_to_string(env.dir().join("r2.html")).expect("r2");
    assert!(later.contains("<td class=\"st-overdue\">overdue</td>"));
}

/// `--out` never replaces a private key or a ledger (any ledger, not only
/// the one read): a slip of the shell's completion would otherwise lose a
/// key kept at mode 0600 to a report.
#[test]
fn report_never_overwrites_a_private_key_or_a_ledger() {
    let env = ledger();
    let key = env.run(&["key", "generate", "--name", "fusion/t", "--out", "k"]);
    assert_eq!(key.code, 0, "{key}");
    std::fs::copy(env.ledger(), env.dir().join("other.jsonl")).expect("copy");
    for (file, what) in [("k.key", "a private key"), ("other.jsonl", "a ledger")] {
        let before = std::fs::read(env.dir().join(file)).expect("read");
        let r = env.run(&["report", "--as-of", "2016", "--out", file]);
        assert_eq!(r.code, 2, "{r}");
        assert_eq!(
            r.stderr,
            format!(
                "error: --out `{file}` holds {what}; fusion never overwrites one — choose another file\n"
            )
        );
        assert_eq!(std::fs::read(env.dir().join(file)).expect("read"), before);
    }
    // A public key, or an earlier report, is replaced as before.
    let r = env.run(&["report", "--as-of", "2016", "--out", "k.pub"]);
    assert_eq!(r.code, 0, "{r}");
}

#[test]
fn report_to_a_missing_directory_is_an_io_error() {
    let env = ledger();
    let r = env.run(&["report", "--as-of", "2016", "--out", "no/such/dir/r.html"]);
    assert_eq!(r.code, 1, "{r}");
    assert!(r.stderr.contains("no/such/dir/r.html"), "{r}");
}

// ---------------------------------------------------------------------------
// The shipped landscape
// ---------------------------------------------------------------------------

/// The shipped ledger's path, if it is there.
fn shipped() -> Option<String> {
    let p = repo_root().join("events/auvergne-rhone-alpes.jsonl");
    p.exists().then(|| p.display().to_string())
}

#[test]
fn shipped_landscape_exports() {
    let Some(ledger) = shipped() else {
        eprintln!("note: events/auvergne-rhone-alpes.jsonl is absent; skipping");
        return;
    };
    let env = TestEnv::new();
    let run = |args: &[&str]| {
        let mut all = vec!["--ledger", ledger.as_str()];
        all.extend_from_slice(args);
        let r = env.run(&all);
        assert_eq!(r.code, 0, "{r}");
        r.stdout
    };
    let jsonld = run(&["export", "--format", "jsonld"]);
    let doc: Value = serde_json::from_str(&jsonld).expect("valid JSON");
    assert!(doc["@context"].is_object());
    let changes = change_events(&doc);
    let has = |from: &str, to: &str| {
        changes.iter().any(|c| {
            ids(&c["org:originalOrganization"]).contains(&format!("ledger:org:{from}").as_str())
                && ids(&c["org:resultingOrganization"])
                    .contains(&format!("ledger:org:{to}").as_str())
        })
    };
    assert!(has("edit", "clustr-numerique"), "Edit + GRILOG → Clust'R");
    assert!(has("grilog", "clustr-numerique"));
    assert!(
        has("clustr-numerique", "digital-league"),
        "→ Digital League"
    );
    assert!(has("numelink", "digital-league"));
    assert_snapshot!("jsonld_landscape", jsonld);

    let events = run(&["export", "--format", "csv"]);
    let rows = check_columns(&events, 11);
    let records = std::fs::read_to_string(&ledger)
        .expect("ledger")
        .lines()
        .count();
    assert_eq!(rows.len(), records + 1);
    assert_snapshot!("csv_events_landscape", events.replace("\r\n", "\n"));

    let view = run(&["export", "--format", "csv", "--as-of", "2016"]);
    let rows = check_columns(&view, 18);
    assert!(rows.iter().any(|r| r[0] == "clustr-numerique"));
    assert!(!rows.iter().any(|r| r[0] == "digital-league"));
    assert_snapshot!("csv_view_landscape_2016", view.replace("\r\n", "\n"));

    assert_snapshot!(
        "graph_mermaid_landscape",
        run(&["graph", "--format", "mermaid"])
    );
    assert_snapshot!(
        "graph_dot_landscape_2015_2016",
        run(&["graph", "--from", "2015", "--to", "2016", "--format", "dot"])
    );
}
