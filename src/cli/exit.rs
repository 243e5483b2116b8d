//! Exit codes and the one error type of the command line.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success (also: output cut short by a closed pipe) |
//! | 1 | I/O failure: a file cannot be read or written |
//! | 2 | usage: bad arguments, flags or environment |
//! | 3 | rejected input: an event or file fails validation; nothing written |
//! | 4 | integrity failure: the ledger, a snapshot, a checkpoint or a proof does not verify |
//! | 5 | interrupted append: run `fusion repair` |
//! | 6 | conflict: the head moved (`--expect-head`) or the ledger is locked (`--no-wait`) |

use std::io;

use fusion::store::StoreError;

/// Success.
pub const OK: u8 = 0;
/// A file cannot be read or written.
pub const IO: u8 = 1;
/// Bad arguments, flags or environment.
pub const USAGE: u8 = 2;
/// Input fails validation; nothing was written.
pub const REJECTED: u8 = 3;
/// Something does not verify.
pub const INTEGRITY: u8 = 4;
/// An append was interrupted; `fusion repair` recovers.
pub const INTERRUPTED: u8 = 5;
/// The head moved or the ledger is locked.
pub const CONFLICT: u8 = 6;

/// An error to print and an exit code.
#[derive(Debug)]
pub struct CliError {
    /// The exit code.
    pub code: u8,
    /// One screen at most: what, where, the rule, a hint.
    pub message: String,
    broken_pipe: bool,
}

impl CliError {
    /// An error with this code.
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        CliError {
            code,
            message: message.into(),
            broken_pipe: false,
        }
    }
    /// Exit 2.
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(USAGE, message)
    }
    /// Exit 3.
    pub fn rejected(message: impl Into<String>) -> Self {
        Self::new(REJECTED, message)
    }
    /// Exit 4.
    pub fn integrity(message: impl Into<String>) -> Self {
        Self::new(INTEGRITY, message)
    }
    /// Whether this is stdout closing under us (`fusion log | head`).
    pub fn is_broken_pipe(&self) -> bool {
        self.broken_pipe
    }
}

impl From<io::Error> for CliError {
    fn from(e: io::Error) -> Self {
        CliError {
            code: IO,
            broken_pipe: e.kind() == io::ErrorKind::BrokenPipe,
            message: format!("cannot write output: {e}"),
        }
    }
}

impl From<StoreError> for CliError {
    fn from(e: StoreError) -> Self {
        let code = match &e {
            StoreError::Io { .. } => IO,
            StoreError::Missing { .. }
            | StoreError::Directory { .. }
            | StoreError::Exists { .. } => USAGE,
            StoreError::LineTooLong { .. } => REJECTED,
            StoreError::Locked { .. } | StoreError::HeadMoved { .. } => CONFLICT,
            StoreError::Chain {
                error: fusion::chain::ChainError::Torn { .. },
                ..
            }
            | StoreError::Interrupted { .. } => INTERRUPTED,
            StoreError::Chain { .. }
            | StoreError::Event { .. }
            | StoreError::JournalMismatch { .. }
            | StoreError::CutShort { .. }
            | StoreError::Lost { .. }
            | StoreError::Rewritten { .. }
            | StoreError::Changed { .. } => INTEGRITY,
        };
        CliError::new(code, e.to_string())
    }
}
