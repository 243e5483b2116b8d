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
