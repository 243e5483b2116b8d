//! Two OS processes appending at once take turns: nothing is lost and the
//! chain stays valid.

mod common;

use common::TestEnv;

const PER_PROCESS: usize = 200;

#[test]
fn two_processes_appending_200_events_each_lose_nothing() {
    let env = TestEnv::with_ledger();
    std::thread::scope(|s| {
        for prefix in ["a", "b"] {
            let env = &env;
            s.spawn(move || {
                for i in 0..PER_PROCESS {
                    let event = format!(
                        r#"{{"type":"created","date":"2000","id":"{prefix}{i}","name":"{prefix}{i}","kind":"test","sources":[{{"doc":"t"}}]}}"#
                    );
                    let r = env.run_with_stdin(&["append"], &event);
                    assert_eq!(r.code, 0, "{prefix}{i}: {r}");
                }
            });
        }
    });
    let v = env.run(&["verify"]);
    assert_eq!(v.code, 0, "{v}");
    assert!(
        v.stdout
            .starts_with(&format!("ok: {} records", 2 * PER_PROCESS)),
        "{v}"
    );
    let log = env.run(&["log", "--type", "created"]);
    for prefix in ["a", "b"] {
        for i in 0..PER_PROCESS {
            let id = format!(" {prefix}{i} \"");
            assert!(log.stdout.contains(&id), "{prefix}{i} missing");
        }
    }
}

/// Runs `fusion ARGS` (stdin `input`) while this process holds the ledger's
/// lock (`shared` or exclusive): reads the command's stderr until its first
/// line (or its end), releases the lock then (or after a second, for a
/// command that says nothing), and returns that line with the finished
/// run's exit code and stdout. The command prints its line before it
/// waits, so the test never races it.
fn first_line_while_locked(
    env: &TestEnv,
    args: &[&str],
    input: &str,
    shared: bool,
) -> (String, i32, String) {
    first_line_while_holding(env, &env.ledger(), args, input, shared, || {})
}

/// [`first_line_while_locked`], the lock being that of the file or
/// directory at `held`; `meanwhile` runs once the first line is read,
/// before the lock is released.
fn first_line_while_holding(
    env: &TestEnv,
    held: &std::path::Path,
    args: &[&str],
    input: &str,
    shared: bool,
    meanwhile: impl FnOnce(),
) -> (String, i32, String) {
    use std::io::{BufRead, Read, Write};
    let lock = std::fs::File::open(held).expect("file or directory to lock");
    if shared {
        lock.lock_shared().expect("shared lock");
    } else {
        lock.lock().expect("lock");
    }
    let mut child = env
        .command(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input.as_bytes()).expect("stdin");
    }
    let (release, released) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let _ = released.recv_timeout(std::time::Duration::from_secs(1));
        drop(lock);
    });
    let mut stderr = std::io::BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    stderr.read_line(&mut line).expect("stderr line");
    meanwhile();
    let _ = release.send(());
    holder.join().expect("lock holder");
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).expect("stderr");
    let out = child.wait_with_output().expect("wait");
    let dir = env.dir().canonicalize().expect("dir");
    let line = line.replace(&dir.display().to_string(), "$TMP");
    (
        line,
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// Given another process holding the ledger's lock, when a reader or an
/// append has to wait for it, then it says so on stderr first, and goes on
/// once the lock is released; `--no-wait` fails at once without it.
#[test]
fn a_command_that_waits_for_the_lock_says_so() {
    let env = TestEnv::with_ledger();
    let event = |id: &str| {
        format!(
            r#"{{"type":"created","date":"2000","id":"{id}","name":"X","kind":"test","sources":[{{"doc":"t"}}]}}"#
        )
    };
    env.append(&event("a"));
    let (line, code, stdout) = first_line_while_locked(&env, &["verify"], "", false);
    assert_eq!(
        line,
        "waiting: another process is appending to `$TMP/ledger.jsonl` and holds its lock\n"
    );
    assert_eq!(code, 0);
    assert!(stdout.starts_with("ok: 1 records"), "{stdout}");
    let (line, code, _) = first_line_while_locked(&env, &["log"], "", false);
    assert!(
        line.starts_with("waiting: another process is appending"),
        "{line}"
    );
    assert_eq!(code, 0);
    let (line, code, stdout) = first_line_while_locked(&env, &["append"], &event("b"), true);
    assert_eq!(
        line,
        "waiting: another process is reading or appending to `$TMP/ledger.jsonl` and holds its lock; `--no-wait` fails at once instead\n"
    );
    assert_eq!(code, 0);
    assert!(stdout.starts_with("appended 1 event(s)"), "{stdout}");
    // repair waits too, and names no flag it does not have
    let (line, code, _) = first_line_while_locked(&env, &["repair"], "", true);
    assert_eq!(
        line,
        "waiting: another process is reading or appending to `$TMP/ledger.jsonl` and holds its lock\n"
    );
    assert_eq!(code, 0);
    let (line, code, _) =
        first_line_while_locked(&env, &["append", "--no-wait"], &event("c"), true);
    assert!(line.starts_with("error: "), "{line}");
    assert_eq!(code, 6);
    // Quiet: not a word, the wait is the same.
    let (line, code, _) = first_line_while_locked(&env, &["-q", "verify"], "", false);
    assert_eq!((line.as_str(), code), ("", 0));
}

/// Given another `fusion snapshot` holding the snapshots directory's lock,
/// when a snapshot is written into it, then it says so, writes nothing
/// while it waits (so that two writers never mix their files), and writes
/// both files once the lock is released.
#[test]
fn a_snapshot_waits_for_another_writing_into_its_directory() {
    let env = TestEnv::with_ledger();
    env.append(
        r#"{"type":"created","date":"2000","id":"a","name":"A","kind":"k","sources":[{"doc":"t"}]}"#,
    );
    let dir = env.dir().join("snapshots");
    std::fs::create_dir(&dir).expect("snapshots directory");
    let written = || ["2010-12-31.json", "2010-12-31.txt"].map(|f| dir.join(f).exists());
    let mut while_held = None;
    let (line, code, stdout) = first_line_while_holding(
        &env,
        &dir,
        &["snapshot", "--as-of", "2010"],
        "",
        false,
        || while_held = Some(written()),
    );
    assert_eq!(
        line,
        "waiting: another `fusion snapshot` is writing into `snapshots` and holds its lock\n"
    );
    assert_eq!(while_held, Some([false, false]));
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(written(), [true, true]);
    assert_eq!(env.run(&["verify"]).code, 0);
}

/// Given a reader holding the ledger's lock for a while, when an append
/// (reading the real clock: no `FUSION_RECORDED`) waits for it, then its
/// record carries the time it was appended, not the time the command
/// started: `--known-at TIME` between the two must not count it.
#[test]
fn an_append_that_waits_for_the_lock_is_recorded_when_it_appends() {
    use std::io::Write;
    let env = TestEnv::with_ledger();
    let lock = std::fs::File::open(env.ledger()).expect("ledger");
    lock.lock_shared().expect("shared lock");
    let mut child = env
        .command(&["-q", "append"])
        .env_remove("FUSION_RECORDED")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(br#"{"type":"created","date":"2000","id":"a","name":"A","kind":"k","sources":[{"doc":"t"}]}"#)
        .expect("stdin");
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let released = chrono::Utc::now();
    drop(lock);
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success(), "{out:?}");
    let log = env.run(&["log", "--format", "json"]);
    let record: serde_json::Value = serde_json::from_str(log.stdout.trim()).expect("record");
    let recorded =
        chrono::DateTime::parse_from_rfc3339(record["recorded"].as_str().expect("recorded"))
            .expect("time");
    // `recorded` has whole seconds: at most one second before the release
    assert!(
        recorded.timestamp() >= released.timestamp() - 1,
        "recorded {recorded}, lock released at {released}"
    );
}
