//! Runs the independent Python verifier (`tools/verify_ledger.py`) on
//! ledgers, checkpoints and bundles made by fusion, when `python3` is
//! present; otherwise prints a note and passes.
//!
//! The ledger holds strings that exercise JCS: non-ASCII, astral-plane
//! characters (UTF-16 key order), control characters, `/` and U+007F.

use std::path::{Path, PathBuf};
use std::process::Command;

use fusion::checkpoint::{Checkpoint, PrivateKey, SignedCheckpoint};
use fusion::merkle::Tree;
use fusion::proof::{Bundle, ConsistencyBundle, InclusionBundle};
use fusion::record::{GENESIS_PREV, Record};
use serde_json::json;

fn python() -> Option<&'static str> {
    let ok = Command::new("python3")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if ok {
        Some("python3")
    } else {
        println!("note: python3 not found; skipping the independent verifier test");
        None
    }
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/verify_ledger.py")
}

fn run(py: &str, args: &[&Path], flags: &[(&str, &Path)]) -> (bool, String) {
    let mut cmd = Command::new(py);
    cmd.arg(script());
    for a in args {
        cmd.arg(a);
    }
    for (f, p) in flags {
        cmd.arg(f).arg(p);
    }
    let out = cmd.output().expect("run python3");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn ledger(n: u64) -> Vec<Record> {
    let mut prev = GENESIS_PREV.to_string();
    (1..=n)
        .map(|seq| {
            let event = json!({
                "type": "created", "date": "2008", "id": format!("org-{seq}"),
                "name": format!("Clust'R Numérique «{seq}» 😀 \u{fb33}"),
                "kind": "cluster",
                "attrs": {"\u{fb33}": "a", "\u{1f600}": "b", "B": "c", "seat": "Saint-Étienne"},
                "sources": [{"doc": "a/b.txt", "quote": "tab\there\nnew \"line\" \\ \u{1}\u{1f}\u{7f} €"}],
                "note": "n"
            });
            let r = Record::seal(seq, "2026-01-01T00:00:00Z".into(), event, prev.clone());
            prev.clone_from(&r.hash);
            r
        })
        .collect()
}

fn write_ledger(path: &Path, records: &[Record]) {
    let text: String = records.iter().map(|r| r.to_line() + "\n").collect();
    std::fs::write(path, text).expect("write ledger");
}

#[test]
fn the_python_verifier_agrees_with_fusion() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let records = ledger(13);
    let tree = Tree::from_record_hashes(records.iter().map(|r| r.hash.as_str())).expect("tree");
    let key = PrivateKey::from_seed("fusion/py", [11u8; 32]).expect("key");
    let sign = |size| {
        let mut s =
            SignedCheckpoint::unsigned(Checkpoint::of_tree("fusion/py", &tree, size).expect("cp"));
        s.sign(&key);
        s
    };
    let (old, new) = (sign(5), sign(13));

    let ledger_path = d.join("ledger.jsonl");
    write_ledger(&ledger_path, &records);
    let cp_old = d.join("old.checkpoint");
    let cp_new = d.join("new.checkpoint");
    std::fs::write(&cp_old, old.to_note()).expect("write");
    std::fs::write(&cp_new, new.to_note()).expect("write");
    let pub_path = d.join("key.pub");
    std::fs::write(&pub_path, key.public().to_string() + "\n").expect("write");
    let other_pub = d.join("other.pub");
    let other = PrivateKey::from_seed("fusion/py", [12u8; 32]).expect("key");
    std::fs::write(&other_pub, other.public().to_string()).expect("write");

    // The chain, and that the ledger extends the old checkpoint, signed.
    let (ok, out) = run(
        py,
        &[&ledger_path],
        &[("--checkpoint", &cp_old), ("--key", &pub_path)],
    );
    assert!(ok, "{out}");
    assert!(
        out.contains("ok: 13 records") && out.contains("size 5"),
        "{out}"
    );

    // Inclusion of every record against the new checkpoint.
    for r in &records {
        let b = Bundle::Inclusion(InclusionBundle::build(&tree, r, &new).expect("bundle"));
        let path = d.join(format!("incl-{}.json", r.seq));
        std::fs::write(&path, b.to_json()).expect("write");
        let (ok, out) = run(
            py,
            &[],
            &[
                ("--proof", &path),
                ("--checkpoint", &cp_new),
                ("--key", &pub_path),
            ],
        );
        assert!(ok, "seq {}: {out}", r.seq);
        assert!(out.contains(&format!("record {} ", r.seq)), "{out}");
    }

    // Consistency old -> new, trusted old.
    let cons = d.join("cons.json");
    let b = Bundle::Consistency(ConsistencyBundle::build(&tree, &old, &new).expect("bundle"));
    std::fs::write(&cons, b.to_json()).expect("write");
    let (ok, out) = run(
        py,
        &[],
        &[
            ("--proof", &cons),
            ("--checkpoint", &cp_old),
            ("--key", &pub_path),
        ],
    );
    assert!(ok, "{out}");

    // A tampered ledger.
    let mut tampered = records.clone();
    tampered[6].event["name"] = json!("Other");
    let bad_ledger = d.join("tampered.jsonl");
    write_ledger(&bad_ledger, &tampered);
    let (ok, out) = run(py, &[&bad_ledger], &[]);
    assert!(!ok && out.contains("line 7: hash mismatch"), "{out}");

    // A rewritten (re-hashed) ledger passes the chain but not the checkpoint.
    let mut rewritten = ledger(13);
    let mut first = rewritten[1].clone();
    first.event["name"] = json!("Rewritten");
    rewritten[1] = Record::seal(2, first.recorded, first.event, first.prev);
    for i in 2..rewritten.len() {
        let prev = rewritten[i - 1].hash.clone();
        let r = rewritten[i].clone();
        rewritten[i] = Record::seal(r.seq, r.recorded, r.event, prev);
    }
    let rw_path = d.join("rewritten.jsonl");
    write_ledger(&rw_path, &rewritten);
    let (ok, out) = run(py, &[&rw_path], &[]);
    assert!(ok, "a consistently rewritten chain is a valid chain: {out}");
    let (ok, out) = run(py, &[&rw_path], &[("--checkpoint", &cp_old)]);
    assert!(!ok && out.contains("rewritten ledger"), "{out}");

    // A forged proof.
    let mut forged = InclusionBundle::build(&tree, &records[3], &new).expect("bundle");
    forged.hashes[1] = "ab".repeat(32);
    let forged_path = d.join("forged.json");
    std::fs::write(&forged_path, Bundle::Inclusion(forged).to_json()).expect("write");
    let (ok, out) = run(
        py,
        &[],
        &[("--proof", &forged_path), ("--checkpoint", &cp_new)],
    );
    assert!(!ok && out.contains("forged proof"), "{out}");

    // The wrong key.
    let (ok, out) = run(
        py,
        &[&ledger_path],
        &[("--checkpoint", &cp_new), ("--key", &other_pub)],
    );
    assert!(!ok && out.contains("wrong key"), "{out}");

    // An altered checkpoint (size changed, signature kept).
    let altered = d.join("altered.checkpoint");
    std::fs::write(&altered, new.to_note().replacen("\n13\n", "\n12\n", 1)).expect("write");
    let (ok, out) = run(
        py,
        &[&ledger_path],
        &[("--checkpoint", &altered), ("--key", &pub_path)],
    );
    assert!(!ok && out.contains("does not verify"), "{out}");
}

/// `recorded` has one exact form, compared to the nanosecond: fusion and
/// the Python verifier accept and refuse the same pairs of times.
#[test]
fn the_python_verifier_reads_recorded_as_fusion_does() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("l.jsonl");
    let two = |a: &str, b: &str| {
        let first = Record::seal(1, a.into(), json!({}), GENESIS_PREV.into());
        let second = Record::seal(2, b.into(), json!({}), first.hash.clone());
        vec![first, second]
    };
    for (a, b, valid) in [
        (
            "2026-01-01T00:00:00Z",
            "2026-01-01T00:00:00.000000001Z",
            true,
        ),
        ("2016-12-31T23:59:60Z", "2017-01-01T00:00:00Z", true),
        ("0000-02-29T00:00:00Z", "0000-03-01T00:00:00Z", true),
        // back by 400 ns: within one microsecond
        (
            "2026-01-01T00:00:00.0000005Z",
            "2026-01-01T00:00:00.0000001Z",
            false,
        ),
        ("2026-01-01T00:00:00Z", "2026-01-01t00:00:01Z", false),
        ("2026-01-01T00:00:00Z", "2026-01-01 00:00:01Z", false),
        (
            "2026-01-01T00:00:00Z",
            "2026-01-01T00:00:01.1234567891Z",
            false,
        ),
        ("2026-01-01T00:00:00Z", "2026-02-30T00:00:00Z", false),
        ("2016-12-31T23:59:59.9Z", "2016-12-31T23:59:60.5Z", true),
        ("2016-06-30T12:30:60Z", "2016-06-30T12:31:00Z", true),
        ("2016-06-30T12:31:00Z", "2016-06-30T12:30:60Z", false),
        (
            "2026-01-01T00:00:00.12345678Z",
            "2026-01-01T00:00:00.123456789Z",
            true,
        ),
        ("1900-02-28T00:00:00Z", "1900-02-29T00:00:00Z", false),
        ("2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z\n", false),
        (
            "2026-01-01T00:00:00Z",
            "2026-01-01T00:00:00.\u{661}Z",
            false,
        ),
    ] {
        let records = two(a, b);
        write_ledger(&path, &records);
        let bytes = std::fs::read(&path).expect("read");
        let fusion_ok = fusion::chain::verify(&bytes, 1).is_ok();
        let (py_ok, out) = run(py, &[&path], &[]);
        assert_eq!((fusion_ok, py_ok), (valid, valid), "{a} then {b}: {out}");
    }
}

/// The shipped landscape ledger, checkpointed and proved by the `fusion`
/// binary, checked by the Python verifier.
#[test]
fn the_python_verifier_checks_the_shipped_ledger_and_cli_bundles() {
    let Some(py) = python() else { return };
    let ledger = Path::new(env!("CARGO_MANIFEST_DIR")).join("events/auvergne-rhone-alpes.jsonl");
    if !ledger.exists() {
        println!("note: no shipped ledger at {}; skipping", ledger.display());
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let key = PrivateKey::from_seed("fusion/auvergne-rhone-alpes", [13u8; 32]).expect("key");
    std::fs::write(d.join("k.key"), key.to_secret_string()).expect("write");
    std::fs::write(d.join("k.pub"), key.public().to_string()).expect("write");
    let fusion = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_fusion"))
            .env_clear()
            .arg("--ledger")
            .arg(&ledger)
            .args(args)
            .current_dir(d)
            .output()
            .expect("run fusion");
        assert!(
            out.status.success(),
            "fusion {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    fusion(&["checkpoint", "--sign", "k.key", "--out", "cp"]);
    fusion(&[
        "prove",
        "inclusion",
        "1",
        "--checkpoint",
        "cp",
        "--out",
        "first.json",
    ]);
    let (ok, out) = run(
        py,
        &[&ledger],
        &[("--checkpoint", &d.join("cp")), ("--key", &d.join("k.pub"))],
    );
    assert!(ok, "{out}");
    let (ok, out) = run(
        py,
        &[],
        &[
            ("--proof", &d.join("first.json")),
            ("--checkpoint", &d.join("cp")),
            ("--key", &d.join("k.pub")),
        ],
    );
    assert!(ok && out.contains("record 1 "), "{out}");
}
