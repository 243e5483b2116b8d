//! The trust commands end to end: `key generate`, `checkpoint`, `prove
//! inclusion|consistency`, `verify-proof`, with their output and exit codes.
//! Keys are made from fixed seeds (Ed25519 is deterministic), so signed
//! output is stable.

mod common;

use common::TestEnv;
use fusion::checkpoint::PrivateKey;
use insta::assert_snapshot;

const EDIT: &str = r#"{"type":"created","date":"2008","id":"edit","name":"Edit","kind":"cluster","attrs":{"seat":"Lyon"},"sources":[{"doc":"a.txt","quote":"Depuis 2008"}]}"#;
const GRILOG: &str = r#"{"type":"created","date":"2000","id":"grilog","name":"GRILOG","kind":"cluster","sources":[{"doc":"b.txt"}]}"#;
const FUSION: &str = r#"{"type":"transformed","mode":"fusion","date":"2015-05~","from":["edit","grilog"],"to":["clustr"],"new":[{"id":"clustr","name":"Clust'R Numérique","kind":"cluster"}],"sources":[{"doc":"a.txt"}],"note":"début mai, year inferred"}"#;
const RENAMED: &str = r#"{"type":"renamed","date":"2017-05","org":"clustr","name":"Clust'R","sources":[{"doc":"c.txt"}]}"#;

/// A ledger of 3 records and a fixed key pair `k.key` / `k.pub` named
/// `fusion/ledger`.
fn setup() -> TestEnv {
    let env = TestEnv::with_ledger();
    env.append(&format!("{EDIT}\n{GRILOG}\n{FUSION}\n"));
    write_key(&env, "k", "fusion/ledger", 1);
    env
}

fn write_key(env: &TestEnv, prefix: &str, name: &str, seed: u8) {
    let key = PrivateKey::from_seed(name, [seed; 32]).expect("key");
    std::fs::write(
        env.dir().join(format!("{prefix}.key")),
        key.to_secret_string() + "\n",
    )
    .expect("write");
    std::fs::write(
        env.dir().join(format!("{prefix}.pub")),
        key.public().to_string() + "\n",
    )
    .expect("write");
}

fn save(env: &TestEnv, name: &str, text: &str) {
    std::fs::write(env.dir().join(name), text).expect("write");
}

#[test]
fn checkpoint_prints_a_tlog_checkpoint() {
    let env = setup();
    assert_snapshot!(env.run(&["checkpoint"]), @"
    exit: 0
    --- stdout
    fusion/ledger
    3
    35/MjjPNNzInvDTjs6JdeAT4U/ufQTXy+HSp8sFTI7Y=
    ");
    assert_snapshot!(env.run(&["checkpoint", "--sign", "k.key", "--size", "2", "--origin", "example.org/log"]), @"
    exit: 0
    --- stdout
    example.org/log
    2
    rj3fN/rVN8gNp+5UuXBvyl3+g28TVS8OkXiCQPBtSis=

    — fusion/ledger i6UGzzAqEQozYzlxvmKiPqjJl81nnMVCCl5zam6xh2neMZ1qAN6ix1XzAaZAZORpfe3CAE4DZam1Er5Ge0lezfOlaA8=
    ");
}

#[test]
fn checkpoint_refuses_bad_arguments() {
    let env = setup();
    assert_snapshot!(env.run(&["checkpoint", "--origin", "has space"]), @"
    exit: 2
    --- stderr
    error: --origin: origin `has space` is not usable: it must be non-empty, without spaces, `+` or control characters
    ");
    assert_snapshot!(env.run(&["checkpoint", "--size", "4"]), @"
    exit: 2
    --- stderr
    error: --size 4: the ledger has only 3 records
    ");
    assert_snapshot!(env.run(&["checkpoint", "--sign", "k.pub"]), @"
    exit: 2
    --- stderr
    error: --sign `k.pub`: bad key: private key: expected `PRIVATE+KEY+<name>+<key id>+<base64 seed>` (is this the .pub file?)
    ");
}

#[test]
fn no_file_at_a_path_given_to_read_is_a_usage_error() {
    let env = setup();
    for args in [
        &["verify", "--checkpoint", "none.txt"][..],
        &["verify-proof", "none.json", "--checkpoint", "none.txt"],
        &["checkpoint", "--sign", "none.key"],
        &["prove", "inclusion", "1", "--checkpoint", "none.txt"],
    ] {
        let r = env.run(args);
        assert_eq!(r.code, 2, "{args:?}: {r}");
        assert!(r.stderr.contains("`none."), "{args:?}: {r}");
        assert!(r.stderr.contains("No such file"), "{args:?}: {r}");
    }
    // A file that exists but cannot be read stays an I/O failure.
    std::fs::create_dir(env.dir().join("dir.txt")).expect("mkdir");
    let r = env.run(&["verify", "--checkpoint", "dir.txt"]);
    assert_eq!(r.code, 1, "{r}");
}

#[test]
fn key_generate_writes_a_usable_pair_once() {
    let env = TestEnv::with_ledger();
    env.append(&format!("{EDIT}\n"));
    let r = env.run(&[
        "key",
        "generate",
        "--name",
        "fusion/ledger",
        "--out",
        "mykey",
    ]);
    assert_eq!(r.code, 0, "{r}");
    assert!(
        r.stdout
            .starts_with("wrote mykey.key (private: keep it secret) and mykey.pub"),
        "{r}"
    );
    let public = std::fs::read_to_string(env.dir().join("mykey.pub")).expect("pub");
    assert!(
        public.starts_with("fusion/ledger+") && r.stdout.contains(public.trim()),
        "{public}"
    );
    let private = std::fs::read_to_string(env.dir().join("mykey.key")).expect("key");
    assert!(private.starts_with("PRIVATE+KEY+fusion/ledger+"));
    assert!(
        !r.stdout.contains(private.trim()),
        "the secret is never printed"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(env.dir().join("mykey.key"))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // The pair works together.
    let cp = env.run(&["checkpoint", "--sign", "mykey.key", "--out", "cp"]);
    assert_eq!(cp.code, 0, "{cp}");
    let b = env.run(&[
        "prove",
        "inclusion",
        "1",
        "--checkpoint",
        "cp",
        "--out",
        "b.json",
    ]);
    assert_eq!(b.code, 0, "{b}");
    let v = env.run(&[
        "verify-proof",
        "b.json",
        "--checkpoint",
        "cp",
        "--key",
        "mykey.pub",
    ]);
    assert_eq!(v.code, 0, "{v}");
    // Given the private key where the public one is expected, the secret is
    // never echoed.
    for args in [
        &["verify", "--checkpoint", "cp", "--key", "mykey.key"][..],
        &[
            "verify-proof",
            "b.json",
            "--checkpoint",
            "cp",
            "--key",
            "mykey.key",
        ][..],
    ] {
        let r = env.run(args);
        assert_ne!(r.code, 0, "{r}");
        assert!(r.stderr.contains("this is a private key"), "{r}");
        // `PRIVATE+KEY+<name>+<id>+<base64>`; the base64 may hold `+` too.
        let secret = private.trim().splitn(5, '+').nth(4).expect("base64");
        assert!(secret.len() >= 40, "{secret}");
        assert!(
            !r.stderr.contains(secret) && !r.stdout.contains(secret),
            "{r}"
        );
    }
    // Never overwritten.
    assert_snapshot!(env.run(&["key", "generate", "--name", "x", "--out", "mykey"]), @"
    exit: 2
    --- stderr
    error: `mykey.key` already exists; fusion never overwrites a key (choose another --out)
    ");
    assert_snapshot!(env.run(&["key", "generate", "--name", "bad name", "--out", "other"]), @"
    exit: 2
    --- stderr
    error: --name: bad key: key name `bad name` must be non-empty, without spaces or `+`
    ");
}

#[test]
fn an_inclusion_proof_verifies_offline() {
    let env = setup();
    assert_eq!(
        env.run(&["checkpoint", "--sign", "k.key", "--out", "cp3"])
            .code,
        0
    );
    let r = env.run(&["prove", "inclusion", "2", "--checkpoint", "cp3"]);
    assert_eq!(r.code, 0, "{r}");
    save(&env, "b.json", &r.stdout);
    let bundle: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    assert_eq!(bundle["type"], "inclusion");
    assert_eq!(bundle["record"]["event"]["id"], "grilog");
    assert_eq!(
        (
            bundle["seq"].as_u64(),
            bundle["leaf_index"].as_u64(),
            bundle["tree_size"].as_u64()
        ),
        (Some(2), Some(1), Some(3))
    );
    // The ledger is not needed: remove it.
    std::fs::remove_file(env.ledger()).expect("rm");
    assert_snapshot!(env.run(&["verify-proof", "b.json", "--checkpoint", "cp3", "--key", "k.pub"]), @"
    exit: 0
    --- stdout
    ok: record 2 (hash fc7dcb938b3e13e9e88eeb0826ef0b522feb59f04a5ccb96b828314a9238bfb5) is in `fusion/ledger` at size 3, root df9fcc8e33cd373227bc34e3b3a25d7804f853fb9f4135f2f874a9f2c15323b6
    signature by `fusion/ledger+8ba506cf` ok
    ");
    assert_snapshot!(env.run(&["verify-proof", "b.json", "--checkpoint", "cp3"]), @"
    exit: 0
    --- stdout
    ok: record 2 (hash fc7dcb938b3e13e9e88eeb0826ef0b522feb59f04a5ccb96b828314a9238bfb5) is in `fusion/ledger` at size 3, root df9fcc8e33cd373227bc34e3b3a25d7804f853fb9f4135f2f874a9f2c15323b6
    signature not checked (no --key)
    ");
}

#[test]
fn forged_and_altered_bundles_are_rejected() {
    let env = setup();
    assert_eq!(
        env.run(&["checkpoint", "--sign", "k.key", "--out", "cp3"])
            .code,
        0
    );
    let r = env.run(&["prove", "inclusion", "3", "--checkpoint", "cp3"]);
    let good: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");

    let mut forged = good.clone();
    forged["hashes"][0] = serde_json::json!("ab".repeat(32));
    save(&env, "forged.json", &forged.to_string());
    assert_snapshot!(env.run(&["verify-proof", "forged.json", "--checkpoint", "cp3"]), @"
    exit: 4
    --- stderr
    error: `forged.json`: the proof does not verify: proof does not lead to the expected root: computed 564f70115b152626df35acd4f98f887afadbeb415593557afa9988fd546d3a7a, expected df9fcc8e33cd373227bc34e3b3a25d7804f853fb9f4135f2f874a9f2c15323b6 (forged proof, wrong leaf or wrong root)
    ");

    let mut altered = good.clone();
    altered["record"]["event"]["note"] = serde_json::json!("début juin");
    save(&env, "altered.json", &altered.to_string());
    assert_snapshot!(env.run(&["verify-proof", "altered.json", "--checkpoint", "cp3"]), @"
    exit: 4
    --- stderr
    error: `altered.json`: the record in the bundle is not valid: hash mismatch: stored 5a691a4072eccfc65ed711621dee0a05fa45777b4bc89e8c24e7671642577079, content hashes to ff1f53097cd333da639df46f0e5a188f7d71030419d3dd4beeeb71927014c4e5 (the record was altered)
    ");

    save(
        &env,
        "junk.json",
        "{\"type\":\"inclusion\",\"v\":1,\"extra\":true}",
    );
    assert_snapshot!(env.run(&["verify-proof", "junk.json", "--checkpoint", "cp3"]), @"
    exit: 4
    --- stderr
    error: `junk.json`: malformed proof bundle: unknown field `extra`, expected one of `type`, `v`, `record`, `seq`, `leaf_index`, `tree_size`, `hashes`, `checkpoint`
    ");
}

#[test]
fn the_wrong_key_and_an_altered_checkpoint_are_rejected() {
    let env = setup();
    write_key(&env, "other", "fusion/ledger", 2);
    assert_eq!(
        env.run(&["checkpoint", "--sign", "k.key", "--out", "cp3"])
            .code,
        0
    );
    let r = env.run(&[
        "prove",
        "inclusion",
        "1",
        "--checkpoint",
        "cp3",
        "--out",
        "b.json",
    ]);
    assert_eq!(r.code, 0, "{r}");
    assert_snapshot!(env.run(&["verify-proof", "b.json", "--checkpoint", "cp3", "--key", "other.pub"]), @"
    exit: 4
    --- stderr
    error: checkpoint `cp3`: checkpoint is not signed by the trusted key `fusion/ledger+8420a206`; it is signed by `fusion/ledger+8ba506cf` — wrong key, or a checkpoint from another signer?
    ");
    // Change the root of the trusted checkpoint, keep its signature.
    let cp = std::fs::read_to_string(env.dir().join("cp3")).expect("cp");
    let lines: Vec<&str> = cp.split('\n').collect();
    let fake_root = "A".repeat(43) + "=";
    let altered = cp.replacen(lines[2], &fake_root, 1);
    save(&env, "altered-cp", &altered);
    assert_snapshot!(env.run(&["verify-proof", "b.json", "--checkpoint", "altered-cp", "--key", "k.pub"]), @"
    exit: 4
    --- stderr
    error: checkpoint `altered-cp`: the signature by `fusion/ledger+8ba506cf` does not verify: the checkpoint text was altered after signing, or the signature is forged
    ");
}

#[test]
fn another_ledgers_checkpoint_is_rejected() {
    let env = setup();
    let other = TestEnv::with_ledger();
    other.append(&format!("{GRILOG}\n{EDIT}\n{FUSION}\n"));
    let cp = other.run(&["checkpoint", "--origin", "fusion/other"]);
    save(&env, "other-cp", &cp.stdout);
    assert_snapshot!(env.run(&["prove", "inclusion", "1", "--checkpoint", "other-cp"]), @"
    exit: 4
    --- stderr
    error: checkpoint `other-cp`: the ledger's first 3 records have Merkle root df9fcc8e33cd373227bc34e3b3a25d7804f853fb9f4135f2f874a9f2c15323b6 but the checkpoint says 477d877a166942af07c21d87b56bf57c2eae012850b9c377815de17a0a8e9ea5: the ledger was rewritten since the checkpoint, or it is the checkpoint of another ledger
    ");
    assert_eq!(env.run(&["checkpoint", "--out", "mine"]).code, 0);
    assert_eq!(
        env.run(&[
            "prove",
            "inclusion",
            "1",
            "--checkpoint",
            "mine",
            "--out",
            "b.json"
        ])
        .code,
        0
    );
    assert_snapshot!(env.run(&["verify-proof", "b.json", "--checkpoint", "other-cp"]), @"
    exit: 4
    --- stderr
    error: `b.json`: the bundle proves against `fusion/ledger` at size 3, root df9fcc8e33cd373227bc34e3b3a25d7804f853fb9f4135f2f874a9f2c15323b6, but the trusted checkpoint is `fusion/other` at size 3, root 477d877a166942af07c21d87b56bf57c2eae012850b9c377815de17a0a8e9ea5; it is a proof for another ledger
    ");
}

#[test]
fn a_consistency_proof_links_two_checkpoints() {
    let env = setup();
    assert_eq!(
        env.run(&["checkpoint", "--sign", "k.key", "--out", "old"])
            .code,
        0
    );
    env.append(&format!("{RENAMED}\n"));
    assert_eq!(
        env.run(&["checkpoint", "--sign", "k.key", "--out", "new"])
            .code,
        0
    );
    let r = env.run(&["prove", "consistency", "old", "new", "--out", "c.json"]);
    assert_eq!(r.code, 0, "{r}");
    assert_snapshot!(env.run(&["verify-proof", "c.json", "--checkpoint", "old", "--key", "k.pub"]), @"
    exit: 0
    --- stdout
    ok: `fusion/ledger` at size 4, root a2ec16901559737a1bc5fb5fad8175807fe02e9678e40264ae6f302442d26359 extends the trusted `fusion/ledger` at size 3, root df9fcc8e33cd373227bc34e3b3a25d7804f853fb9f4135f2f874a9f2c15323b6 (append-only; the new checkpoint can now be trusted)
    signature by `fusion/ledger+8ba506cf` ok
    ");
    assert_snapshot!(env.run(&["prove", "consistency", "new", "old"]), @"
    exit: 2
    --- stderr
    error: OLD `new` has size 4 but NEW `old` has size 3: give the older checkpoint first
    ");
    assert_snapshot!(env.run(&["prove", "inclusion", "9", "--checkpoint", "new"]), @"
    exit: 2
    --- stderr
    error: no record with seq 9: the ledger has 4 records
    ");
    // A record of the ledger that the checkpoint does not cover yet
    assert_snapshot!(env.run(&["prove", "inclusion", "4", "--checkpoint", "old"]), @"
    exit: 2
    --- stderr
    error: checkpoint `old`: record 4 is past the checkpoint, which covers records 1 to 3 (hint: prove it against a checkpoint taken since it was appended: `fusion checkpoint`)
    ");
}

#[test]
fn verify_checks_that_the_ledger_extends_a_signed_checkpoint() {
    let env = setup();
    let cp = env.run(&["checkpoint", "--sign", "k.key"]);
    assert_eq!(cp.code, 0, "{cp}");
    save(&env, "old.cp", &cp.stdout);
    env.append(RENAMED);

    // given a ledger that grew since the checkpoint: it extends it
    let ok = env.run(&["verify", "--checkpoint", "old.cp", "--key", "k.pub"]);
    assert_eq!(ok.code, 0, "{ok}");
    assert!(ok.stdout.contains("extends checkpoint"), "{ok}");
    assert!(
        ok.stdout
            .contains("signature by `fusion/ledger+8ba506cf` ok"),
        "{ok}"
    );

    // the wrong key
    write_key(&env, "other", "fusion/ledger", 2);
    let wrong = env.run(&["verify", "--checkpoint", "old.cp", "--key", "other.pub"]);
    assert_eq!(wrong.code, 4, "{wrong}");

    // a ledger rewritten under the same size: the chain itself is valid, but it
    // no longer extends what readers were shown
    let rewritten = TestEnv::with_ledger();
    rewritten.append(&format!("{GRILOG}\n{EDIT}\n{FUSION}\n{RENAMED}\n"));
    save(&rewritten, "old.cp", &cp.stdout);
    let forked = rewritten.run(&["verify", "--checkpoint", "old.cp"]);
    assert_eq!(forked.code, 4, "{forked}");
    assert!(forked.stderr.contains("old.cp"), "{forked}");

    // a checkpoint of a log with another origin, even with the right tree
    let other = env.run(&["checkpoint", "--size", "3", "--origin", "example.org/other"]);
    save(&env, "other.cp", &other.stdout);
    let r = env.run(&["verify", "--checkpoint", "other.cp"]);
    assert_eq!(r.code, 4, "{r}");
    assert!(r.stderr.contains("example.org/other"), "{r}");
    let named = env.run(&[
        "verify",
        "--checkpoint",
        "other.cp",
        "--origin",
        "example.org/other",
    ]);
    assert_eq!(named.code, 0, "{named}");

    // --key without --checkpoint is a usage error
    assert_eq!(env.run(&["verify", "--key", "k.pub"]).code, 2);
}
