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
        self.inner.write_all(text.as_ref().as_bytes())?;
        self.inner.write_all(b"\n")?;
        Ok(())
    }

    /// Writes text as is.
    pub fn write(&mut self, text: impl AsRef<str>) -> Result<(), CliError> {
        self.inner.write_all(text.as_ref().as_bytes())?;
        Ok(())
    }

    /// Flushes; a closed pipe becomes a quiet stop.
    pub fn flush(&mut self) -> Result<(), CliError> {
        self.inner.flush()?;
        Ok(())
    }
}
