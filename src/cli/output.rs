//! Buffered standard output that reports a closed pipe as such.

use std::io::{self, BufWriter, Write};

use super::CliError;

/// Buffered stdout; commands write lines with [`Output::line`].
pub struct Output {
    inner: BufWriter<io::Stdout>,
}

impl Output {
    /// Standard output.
    pub fn stdout() -> Self {
        Output {
            inner: BufWriter::new(io::stdout()),
        }
    }

    /// Writes one line.
    pub fn line(&mut self, text: impl AsRef<str>) -> Result<(), CliError> {
        self.write(text)?;
        self.inner.write_all(b"\n")?;
        Ok(())
    }

    /// Writes text, with terminal control characters from the ledger made
    /// harmless (see [`printable`]).
    pub fn write(&mut self, text: impl AsRef<str>) -> Result<(), CliError> {
        self.inner.write_all(printable(text.as_ref()).as_bytes())?;
        Ok(())
    }

    /// Flushes; a closed pipe becomes a quiet stop.
    pub fn flush(&mut self) -> Result<(), CliError> {
        self.inner.flush()?;
        Ok(())
    }
}

/// Replaces control characters other than newline, carriage return (CSV
/// ends its records in CR LF) and tab (C0, DEL, C1)
/// with U+FFFD, so that a name in the ledger cannot send escape sequences
/// to the terminal. JSON output is unaffected: JSON escapes every control
/// character.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    let bad = |c: char| c.is_control() && !matches!(c, '\n' | '\r' | '\t');
    if text.chars().any(bad) {
        text.chars()
            .map(|c| if bad(c) { '\u{fffd}' } else { c })
            .collect::<String>()
            .into()
    } else {
        text.into()
    }
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn escape_sequences_cannot_reach_the_terminal() {
        assert_eq!(
            printable("a\u{1b}]0;pwned\u{7}b\u{9b}c\td\n"),
            "a\u{fffd}]0;pwned\u{fffd}b\u{fffd}c\td\n"
        );
        assert!(matches!(
            printable("plain é"),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}
