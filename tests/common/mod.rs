//! One way to run the `fusion` binary in tests: a fresh temporary directory,
//! a cleared environment, a fixed clock, and output with paths redacted
//! (after jj's `cli/tests/common/test_environment.rs`).
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The fixed `recorded` time of every append made through [`TestEnv`].
pub const RECORDED: &str = "2026-01-01T00:00:00Z";

/// A temporary working directory holding `ledger.jsonl`.
pub struct TestEnv {
    dir: tempfile::TempDir,
    recorded: String,
}

/// What a command did.
pub struct Run {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

impl std::fmt::Display for Run {
    /// The form snapshots pin: status, then stdout and stderr.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "exit: {}", self.code)?;
        if !self.stdout.is_empty() {
            write!(f, "--- stdout\n{}", self.stdout)?;
        }
        if !self.stderr.is_empty() {
            write!(f, "--- stderr\n{}", self.stderr)?;
        }
        Ok(())
    }
}

impl TestEnv {
    /// A new directory with no ledger yet.
    pub fn new() -> Self {
        TestEnv {
            dir: tempfile::tempdir().expect("tempdir"),
            recorded: RECORDED.to_owned(),
        }
    }

    /// A new directory with an initialised, empty ledger.
    pub fn with_ledger() -> Self {
        let env = TestEnv::new();
        let r = env.run(&["init"]);
        assert_eq!(r.code, 0, "{r}");
        env
    }

    /// A new directory with a ledger holding these events (JSON Lines).
    pub fn with_events(events: &str) -> Self {
        let env = TestEnv::with_ledger();
        env.append(events);
        env
    }

    /// Changes the clock for the next appends.
    pub fn set_recorded(&mut self, t: &str) {
        self.recorded = t.to_owned();
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn ledger(&self) -> PathBuf {
        self.dir.path().join("ledger.jsonl")
    }

    pub fn ledger_bytes(&self) -> Vec<u8> {
        std::fs::read(self.ledger()).unwrap_or_default()
    }

    /// Runs `fusion ARGS` with no stdin.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with_stdin(args, "")
    }

    /// Runs `fusion ARGS` feeding `stdin`.
    pub fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Run {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn fusion");
        if let Some(mut input) = child.stdin.take() {
            // A command may exit before reading all of stdin.
            let _ = input.write_all(stdin.as_bytes());
        }
        let out = child.wait_with_output().expect("wait for fusion");
        Run {
            stdout: self.redact(&String::from_utf8_lossy(&out.stdout)),
            stderr: self.redact(&String::from_utf8_lossy(&out.stderr)),
            code: out.status.code().unwrap_or(-1),
        }
    }

    /// The command, ready to spawn: cleared environment, fixed clock, the
    /// temporary ledger, the temporary directory as working directory.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_fusion"));
        cmd.env_clear()
            .env("FUSION_RECORDED", &self.recorded)
            .env("FUSION_TODAY", "2026-01-01")
            .env("FUSION_LEDGER", self.ledger())
            .current_dir(self.dir.path())
            .args(args);
        cmd
    }

    /// The hash of the record at `seq`, as `fusion log --format json` gives
    /// it.
    pub fn hash_of(&self, seq: u64) -> String {
        let r = self.run(&["log", "--format", "json", "--seq", &seq.to_string()]);
        let record: serde_json::Value = serde_json::from_str(r.stdout.trim())
            .unwrap_or_else(|e| panic!("record {seq}: {e}: {r}"));
        record["hash"].as_str().expect("a hash").to_owned()
    }

    /// Appends events (JSON Lines) and insists it worked.
    pub fn append(&self, events: &str) -> Run {
        let r = self.run_with_stdin(&["append"], events);
        assert_eq!(r.code, 0, "append failed: {r}");
        r
    }

    fn redact(&self, text: &str) -> String {
        let dir = self.dir.path().display().to_string();
        let canonical = self
            .dir
            .path()
            .canonicalize()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| dir.clone());
        text.replace(&canonical, "$TMP").replace(&dir, "$TMP")
    }
}

/// The repository root, for the shipped landscape.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}
