//! Lines of JSON Lines input, each held only up to a limit: of a longer line, only its start
//! is read, and the rest is left in the input for the caller to stream.

use std::io::{self, BufRead};

#[derive(Debug, PartialEq, Eq)]
pub(super) enum Line {
    /// A whole line, without its line ending (`\n` or `\r\n`).
    Whole(Vec<u8>),
    /// The first `max_bytes + 1` bytes of a longer line: the rest of it and its line
    /// ending are still in the input.
    Overlong(Vec<u8>),
}

/// The next line of `input`, holding at most `max_bytes + 1` bytes of it (one more than a
/// record may have, so that an over-long line is known as one); `None` at the end.
pub(super) fn read_line(input: &mut impl BufRead, max_bytes: usize) -> io::Result<Option<Line>> {
    // A line of `max_bytes` ending in "\r\n" is whole: its '\r' counts among the bytes kept.
    let keep = max_bytes.saturating_add(1);
    let mut line = Vec::new();
    loop {
        let available = input.fill_buf()?;
        if available.is_empty() {
            return Ok((!line.is_empty()).then_some(Line::Whole(line)));
        }
        let room = keep - line.len();
        let window = &available[..available.len().min(room + 1)];
        if let Some(end) = memchr::memchr(b'\n', window) {
            line.extend_from_slice(&window[..end]);
            input.consume(end + 1);
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            return Ok(Some(Line::Whole(line)));
        }
        if room == 0 {
            return Ok(Some(Line::Overlong(line)));
        }
        let taken = available.len().min(room);
        line.extend_from_slice(&available[..taken]);
        input.consume(taken);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufReader, Read};

    fn lines(input: &[u8], max_bytes: usize, buffer: usize) -> Vec<Line> {
        let mut reader = BufReader::with_capacity(buffer, input);
        let mut lines = Vec::new();
        while let Some(line) = read_line(&mut reader, max_bytes).unwrap() {
            if let Line::Overlong(_) = line {
                // Skip the rest, as the caller would stream it.
                reader.read_until(b'\n', &mut Vec::new()).unwrap();
            }
            lines.push(line);
        }
        lines
    }

    #[test]
    fn splits_lines_and_strips_their_endings() {
        for buffer in [1, 2, 3, 64] {
            assert_eq!(
                lines(b"ab\r\n\ncd\r\r\nef", 8, buffer),
                [
                    Line::Whole(b"ab".to_vec()),
                    Line::Whole(vec![]),
                    Line::Whole(b"cd\r".to_vec()),
                    Line::Whole(b"ef".to_vec()),
                ],
                "buffer of {buffer}"
            );
        }
        assert_eq!(lines(b"", 8, 8), []);
        assert_eq!(lines(b"\r", 8, 8), [Line::Whole(b"\r".to_vec())]);
    }

    #[test]
    fn lines_up_to_the_limit_are_whole_and_longer_ones_overlong() {
        for buffer in [1, 3, 4, 5, 64] {
            assert_eq!(
                lines(b"abcd\nabcd\r\nabcde\nabcdef\nabcde\r\nz", 4, buffer),
                [
                    Line::Whole(b"abcd".to_vec()),
                    Line::Whole(b"abcd".to_vec()),
                    // One over the limit is still held whole: the decoder rejects it.
                    Line::Whole(b"abcde".to_vec()),
                    Line::Overlong(b"abcde".to_vec()),
                    Line::Overlong(b"abcde".to_vec()),
                    Line::Whole(b"z".to_vec()),
                ],
                "buffer of {buffer}"
            );
        }
    }

    #[test]
    fn an_overlong_line_is_read_only_up_to_the_limit() {
        let max_bytes = 1000;
        let huge = io::repeat(b'x').take(64 << 20).chain(&b"\nnext\n"[..]);
        let mut input = BufReader::with_capacity(1 << 20, huge);
        let Some(Line::Overlong(head)) = read_line(&mut input, max_bytes).unwrap() else {
            panic!("expected an overlong line")
        };
        assert_eq!(head.len(), max_bytes + 1);
        assert!(
            head.capacity() <= 2 * (max_bytes + 1),
            "{}",
            head.capacity()
        );
        let mut rest = Vec::new();
        let rest_length = input.read_until(b'\n', &mut rest).unwrap();
        assert_eq!(rest_length, (64 << 20) - (max_bytes + 1) + 1);
        assert_eq!(
            read_line(&mut input, max_bytes).unwrap(),
            Some(Line::Whole(b"next".to_vec()))
        );
    }
}
