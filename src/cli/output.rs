//! Buffered standard output that reports a closed pipe as such.

use std::io::{self, BufWriter, Write};

use super::CliError;

/// Buffered stdout; commands write lines with [`Output::line`].
///
/// On a terminal, control characters from the ledger are made harmless
/// (see [`printable`]); anywhere else (a file, a pipe) the bytes are written
/// as they are, so that JSON, CSV and the records of `log --format json`
/// stay exactly the data (a name holding U+0092, common in text decoded
/// from Windows-1252, is not turned into U+FFFD).
pub struct Output {
    inner: BufWriter<Box<dyn Write>>,
    terminal: bool,
}

impl Output {
    /// Standard output, filtered if it is a terminal.
    pub fn stdout() -> Self {
        use std::io::IsTerminal;
        let terminal = io::stdout().is_terminal();
        Output::new(Box::new(io::stdout()), terminal)
    }

    /// Output to `out`, filtered if `terminal`.
    pub fn new(out: Box<dyn Write>, terminal: bool) -> Self {
        Output {
            inner: BufWriter::new(out),
            terminal,
        }
    }

    /// Writes one line.
    pub fn line(&mut self, text: impl AsRef<str>) -> Result<(), CliError> {
        self.write(text)?;
        self.inner.write_all(b"\n")?;
        Ok(())
    }

    /// Writes text, with terminal control characters from the ledger made
    /// harmless on a terminal (see [`printable`]).
    pub fn write(&mut self, text: impl AsRef<str>) -> Result<(), CliError> {
        let text = text.as_ref();
        if self.terminal {
            self.inner.write_all(printable(text).as_bytes())?;
        } else {
            self.inner.write_all(text.as_bytes())?;
        }
        Ok(())
    }

    /// A writer of streamed text, made harmless as [`Output::write`] makes
    /// it: what it writes is what `write` would for the whole text. Small
    /// writes are gathered first, so that the check runs on large pieces.
    pub fn printable(&mut self) -> BufWriter<Printable<&mut BufWriter<Box<dyn Write>>>> {
        let mut p = Printable::new(&mut self.inner);
        p.filter = self.terminal;
        BufWriter::with_capacity(1 << 16, p)
    }

    /// Flushes; a closed pipe becomes a quiet stop.
    pub fn flush(&mut self) -> Result<(), CliError> {
        self.inner.flush()?;
        Ok(())
    }
}

/// See [`Output::printable`]. A character cut between two writes is held
/// until the rest of it comes (or until a flush); bytes that are not UTF-8
/// pass unchanged. After a failed write it writes nothing more: part of the
/// failed piece may have gone out, and a retry would repeat it.
pub struct Printable<W: Write> {
    out: W,
    held: Vec<u8>,
    failed: bool,
    /// Whether to filter at all: off, bytes pass unchanged.
    filter: bool,
}

impl<W: Write> Printable<W> {
    fn new(out: W) -> Self {
        Printable {
            out,
            held: Vec::new(),
            failed: false,
            filter: true,
        }
    }
}

impl<W: Write> Write for Printable<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.failed {
            return Err(io::Error::other("an earlier write failed"));
        }
        let written = self.pass_on(buf);
        self.failed = written.is_err();
        written
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.failed {
            return Err(io::Error::other("an earlier write failed"));
        }
        self.out.write_all(&std::mem::take(&mut self.held))?;
        self.out.flush()
    }
}

impl<W: Write> Printable<W> {
    /// Writes `buf` made printable, holding a character cut at its end.
    fn pass_on(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !self.filter {
            self.out.write_all(buf)?;
            return Ok(buf.len());
        }
        let mut held = std::mem::take(&mut self.held);
        let mut rest = if held.is_empty() {
            buf
        } else {
            held.extend_from_slice(buf);
            &held
        };
        while !rest.is_empty() {
            let (text, bad) = match std::str::from_utf8(rest) {
                Ok(text) => (text, &[][..]),
                Err(e) => {
                    let (good, bad) = rest.split_at(e.valid_up_to());
                    // `from_utf8` has just checked `good`.
                    (std::str::from_utf8(good).unwrap_or_default(), bad)
                }
            };
            self.out.write_all(printable(text).as_bytes())?;
            match std::str::from_utf8(bad).map_err(|e| e.error_len()) {
                Ok(_) => rest = &[],
                // Not UTF-8: passed on as it is.
                Err(Some(n)) => {
                    let (invalid, after) = bad.split_at(n);
                    self.out.write_all(invalid)?;
                    rest = after;
                }
                // A character cut short: kept for the next write.
                Err(None) => {
                    self.held = bad.to_vec();
                    rest = &[];
                }
            }
        }
        Ok(buf.len())
    }
}

/// Replaces control characters other than newline, carriage return (CSV
/// ends its records in CR LF) and tab (C0, DEL, C1)
/// with U+FFFD, so that a name in the ledger cannot send escape sequences
/// to the terminal. JSON escapes the C0 characters itself; DEL and C1 ones
/// in a JSON string are replaced here too.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    // A byte scan first: C0 and DEL are single bytes, C1 (U+0080–U+009F)
    // is 0xC2 then 0x80–0x9F, and no other character holds such bytes.
    let b = text.as_bytes();
    // Blocks of bytes none of which can start a control character (nor be
    // 0xC2, the first byte of a C1 one), tested without a branch per byte
    // so that the compiler tests many at once; only a block that holds
    // such a byte is looked at closely.
    const BLOCK: usize = 64;
    let suspect =
        |c: u8| (c < 0x20) & !matches!(c, b'\n' | b'\r' | b'\t') | (c == 0x7f) | (c == 0xc2);
    let control = |i: usize, c: u8| {
        (c < 0x20 && !matches!(c, b'\n' | b'\r' | b'\t'))
            || c == 0x7f
            || (c == 0xc2 && b.get(i + 1).is_some_and(|n| (0x80..=0x9f).contains(n)))
    };
    let clean = b.chunks(BLOCK).enumerate().all(|(k, block)| {
        !block.iter().fold(false, |any, &c| any | suspect(c))
            || !(block.iter().enumerate()).any(|(i, &c)| control(k * BLOCK + i, c))
    });
    if clean {
        return text.into();
    }
    let bad = |c: char| c.is_control() && !matches!(c, '\n' | '\r' | '\t');
    text.chars()
        .map(|c| if bad(c) { '\u{fffd}' } else { c })
        .collect::<String>()
        .into()
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use proptest::prelude::*;

    use super::{Printable, printable};

    proptest! {
        /// Given text with control characters, when it is written through
        /// `Printable` in pieces cut anywhere, even inside a character,
        /// then the bytes out are `printable` of the whole text.
        #[test]
        fn written_in_pieces_it_is_made_printable_as_a_whole(
            text in "(\\PC|[\u{0}-\u{1f}\u{7f}-\u{9f}]){0,40}",
            cuts in proptest::collection::vec(0usize..200, 0..6),
        ) {
            let bytes = text.as_bytes();
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (bytes.len() + 1)).collect();
            cuts.sort_unstable();
            let mut out = Vec::new();
            let mut w = Printable::new(&mut out);
            let mut from = 0;
            for cut in cuts.into_iter().chain([bytes.len()]) {
                w.write_all(&bytes[from..cut]).expect("write");
                from = cut;
            }
            w.flush().expect("flush");
            prop_assert_eq!(String::from_utf8(out).expect("utf-8"), printable(&text).into_owned());
        }
    }

    proptest! {
        /// Given any text, when it is made printable, then exactly the
        /// control characters other than newline, CR and tab are replaced.
        #[test]
        fn the_byte_scan_finds_exactly_the_control_characters(
            text in "(\\PC|[\u{0}-\u{1f}\u{7f}-\u{a0}\u{100}-\u{17f}]){0,40}",
        ) {
            let bad = |c: char| c.is_control() && !matches!(c, '\n' | '\r' | '\t');
            let expected: String = text.chars().map(|c| if bad(c) { '\u{fffd}' } else { c }).collect();
            prop_assert_eq!(printable(&text).into_owned(), expected);
        }
    }

    /// A sink that fails once, after taking `room` bytes, then takes
    /// everything again.
    struct Full {
        taken: Vec<u8>,
        room: usize,
    }

    impl Write for Full {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let n = buf.len().min(self.room - self.taken.len());
            if n == 0 {
                self.room = usize::MAX;
                return Err(std::io::Error::from(std::io::ErrorKind::StorageFull));
            }
            self.taken.extend_from_slice(&buf[..n]);
            Ok(n)
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn after_a_failed_write_nothing_more_is_written() {
        // Given a sink that fails once in the middle of a piece.
        let mut sink = Full {
            taken: Vec::new(),
            room: 5,
        };
        let mut w = Printable::new(&mut sink);
        // When the piece fails and is retried, then flushed.
        let first = w.write_all(b"abcdefgh");
        let retried = w.write_all(b"abcdefgh");
        let flushed = w.flush();
        // Then the first error is the sink's, and no byte is written twice.
        assert_eq!(
            first.map_err(|e| e.kind()),
            Err(std::io::ErrorKind::StorageFull)
        );
        assert!(retried.is_err() && flushed.is_err());
        assert_eq!(sink.taken, b"abcde");
    }

    #[test]
    fn bytes_that_are_not_utf8_pass_unchanged() {
        let mut out = Vec::new();
        let mut w = Printable::new(&mut out);
        w.write_all(b"a\xff\x1b\xc2").expect("write");
        w.flush().expect("flush");
        assert_eq!(out, b"a\xff\xef\xbf\xbd\xc2");
    }

    /// Given one character at every place in a text longer than the blocks
    /// the scan takes, when the text is made printable, then a control
    /// character is replaced wherever it falls (across two blocks too), and
    /// text without one (French quotes hold 0xC2) is passed as it is.
    #[test]
    fn the_scan_finds_a_control_character_at_every_place() {
        for at in 0..200 {
            for (c, kept) in [
                ('\u{1b}', false),
                ('\u{9b}', false),
                ('\u{7f}', false),
                ('«', true),
                ('é', true),
            ] {
                let text = format!("{}{c}{}", "a".repeat(at), "b".repeat(200 - at));
                let expected = if kept {
                    text.clone()
                } else {
                    text.replace(c, "\u{fffd}")
                };
                let made = printable(&text);
                assert_eq!(made, expected, "{c:?} at {at}");
                assert_eq!(
                    matches!(made, std::borrow::Cow::Borrowed(_)),
                    kept,
                    "{c:?} at {at}"
                );
            }
        }
    }

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

    /// A `Write` into a buffer the test keeps.
    #[derive(Clone, Default)]
    struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("buffer").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn only_a_terminal_gets_control_characters_replaced() {
        let text = "L\u{92}Or\u{e9}al \u{1b}[2J\u{7f}";
        for (terminal, expected) in [
            (true, "L\u{fffd}Or\u{e9}al \u{fffd}[2J\u{fffd}"),
            (false, text),
        ] {
            // Given standard output that is, or is not, a terminal
            let buffer = Shared::default();
            let mut out = super::Output::new(Box::new(buffer.clone()), terminal);
            // When text is written as a line and streamed
            out.line(text).expect("line");
            {
                let mut w = out.printable();
                w.write_all(text.as_bytes()).expect("stream");
                w.flush().expect("flush");
            }
            out.flush().expect("flush");
            // Then a terminal sees it filtered, a file or a pipe exactly
            let written =
                String::from_utf8(buffer.0.lock().expect("buffer").clone()).expect("utf-8");
            assert_eq!(
                written,
                format!("{expected}\n{expected}"),
                "terminal: {terminal}"
            );
        }
    }
}
