//! The README's event examples are real: each line parses and passes the
//! shape check, and together they cover every event type and change mode.

use std::collections::BTreeSet;

fn readme_examples() -> Vec<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let start = readme
        .find("```jsonl\n")
        .expect("a ```jsonl block in the README")
        + 9;
    let end = start + readme[start..].find("```").expect("closing fence");
    readme[start..end].lines().map(str::to_owned).collect()
}

#[test]
fn every_readme_example_parses() {
    for (i, line) in readme_examples().iter().enumerate() {
        let value: serde_json::Value = serde_json::from_str(line).expect("json");
        if let Err(e) = fusion::event::Event::from_json(&value) {
            panic!("README example {} does not parse: {e}\n{line}", i + 1);
        }
    }
}

#[test]
fn the_examples_cover_every_type_and_mode() {
    let mut types = BTreeSet::new();
    let mut modes = BTreeSet::new();
    for line in readme_examples() {
        let v: serde_json::Value = serde_json::from_str(&line).expect("json");
        types.insert(v["type"].as_str().expect("type").to_owned());
        if let Some(m) = v["mode"].as_str() {
            modes.insert(m.to_owned());
        }
    }
    let all: BTreeSet<String> = fusion::event::TYPE_NAMES
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    assert_eq!(types, all);
    for m in [
        "fusion",
        "absorption",
        "split",
        "spin_off",
        "reestablishment",
        "id_change",
        "retract",
        "supersede",
    ] {
        assert!(modes.contains(m), "no README example of mode {m}");
    }
}
