//! The shipped landscape's views, pinned: `replay` at the dates that matter,
//! `diff` between them, and the `lineage` of Digital League. A change to the
//! ledger or to the fold shows up here as a snapshot to review
//! (`cargo insta review`).

mod common;

use std::process::Command;

use insta::assert_snapshot;

/// The dates the repository also keeps in `snapshots/`.
const DATES: [&str; 7] = [
    "2008-12-31",
    "2015-01-01",
    "2015-06-01",
    "2016-01-01",
    "2016-09-01",
    "2017-01-01",
    "2017-06-01",
];

fn fusion(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_fusion"))
        .current_dir(common::repo_root())
        .env_clear()
        .env("FUSION_TODAY", "2026-01-01")
        .args(args)
        .output()
        .expect("run fusion");
    assert_eq!(
        out.status.code(),
        Some(0),
        "fusion {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf8")
}

#[test]
fn replay_at_each_date() {
    for date in DATES {
        assert_snapshot!(
            format!("replay_{date}"),
            fusion(&["replay", "--as-of", date])
        );
    }
}

#[test]
fn replay_mid_2017_as_known_from_the_2016_article() {
    assert_snapshot!(fusion(&[
        "replay",
        "--as-of",
        "2017-06-01",
        "--known-at",
        "50"
    ]));
}

#[test]
fn diff_between_consecutive_dates_and_2015_to_2017() {
    for pair in DATES.windows(2) {
        assert_snapshot!(
            format!("diff_{}_{}", pair[0], pair[1]),
            fusion(&["diff", pair[0], pair[1]])
        );
    }
    assert_snapshot!(fusion(&["diff", "2015", "2017"]));
}

#[test]
fn diff_of_what_was_believed_against_what_happened() {
    assert_snapshot!(fusion(&[
        "diff",
        "2017-06-01",
        "--known-at",
        "50",
        "--known-at",
        "84"
    ]));
}

#[test]
fn lineage_of_digital_league() {
    assert_snapshot!(fusion(&["lineage", "digital-league"]));
    assert_snapshot!(fusion(&[
        "lineage",
        "digital-league",
        "--format",
        "mermaid"
    ]));
}
