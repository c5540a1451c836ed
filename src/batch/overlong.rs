//! The dead letter of a line longer than `max_record_bytes`, written without ever holding
//! the line. The dead letter carries the line as text when it is UTF-8 and as base64
//! otherwise, which is known only at its end: so the line is first spooled to an unnamed
//! temporary file (in TMPDIR, gone when closed or if the process dies), then copied into the
//! dead letter a block at a time.

use std::fs::File;
use std::io::{self, BufRead, BufWriter, IntoInnerError, Read, Seek, SeekFrom, Write};

use data_encoding::BASE64;

use crate::record::{DeadLetter, DeadLetterReason, DeadLetterSource, DecodeError};

/// Bytes copied at a time: a multiple of 3, so that base64 blocks join without padding.
const BLOCK_BYTES: usize = 48 * 1024;

/// Reads the rest of an over-long line from `input` (its start, `head`, already read) and
/// writes its dead letter, one JSON line, to `out`. Returns the dead letter without its
/// record, for telemetry.
pub(super) fn write_dead_letter(
    input: &mut impl BufRead,
    head: Vec<u8>,
    max_record_bytes: usize,
    source: DeadLetterSource,
    out: &mut impl Write,
) -> io::Result<DeadLetter> {
    let (mut spool, length) = spool_line(input, head)?;
    let is_utf8 = for_each_utf8_piece((&mut spool).take(length), |_| Ok(()))?;
    spool.seek(SeekFrom::Start(0))?;
    let letter = DeadLetter {
        reason: DeadLetterReason::TooLarge,
        error: DecodeError::TooLarge {
            size: usize::try_from(length).unwrap_or(usize::MAX),
            limit: max_record_bytes,
        }
        .to_string(),
        source,
        article_id: None,
        record: None,
        record_base64: None,
    };
    let mut json = serde_json::to_string(&letter).map_err(io::Error::other)?;
    // The record goes in before the object's closing brace, streamed from the spool.
    json.pop();
    out.write_all(json.as_bytes())?;
    let record = spool.take(length);
    if is_utf8 {
        out.write_all(br#","record":""#)?;
        for_each_utf8_piece(record, |text| {
            let quoted = serde_json::to_string(text).map_err(io::Error::other)?;
            out.write_all(&quoted.as_bytes()[1..quoted.len() - 1])
        })?;
    } else {
        out.write_all(br#","record_base64":""#)?;
        write_base64(record, out)?;
    }
    out.write_all(b"\"}\n")?;
    Ok(letter)
}

/// Copies `head` and the rest of its line, up to and without the line ending, to an unnamed
/// temporary file; returns it rewound, with the line's length.
fn spool_line(input: &mut impl BufRead, head: Vec<u8>) -> io::Result<(File, u64)> {
    let mut spool = BufWriter::with_capacity(BLOCK_BYTES, tempfile::tempfile()?);
    spool.write_all(&head)?;
    let mut length = head.len() as u64;
    let mut last_byte = head.last().copied();
    drop(head);
    loop {
        let available = input.fill_buf()?;
        if available.is_empty() {
            break;
        }
        let end = memchr::memchr(b'\n', available);
        let part = &available[..end.unwrap_or(available.len())];
        spool.write_all(part)?;
        length += part.len() as u64;
        last_byte = part.last().copied().or(last_byte);
        let consumed = part.len() + usize::from(end.is_some());
        input.consume(consumed);
        if end.is_some() {
            // "\r\n" ends the line too, as for the lines held whole.
            if last_byte == Some(b'\r') {
                length -= 1;
            }
            break;
        }
    }
    let mut spool = spool.into_inner().map_err(IntoInnerError::into_error)?;
    spool.seek(SeekFrom::Start(0))?;
    Ok((spool, length))
}

/// Hands `reader`'s bytes to `piece` a block at a time, cut between characters; returns
/// false, having stopped, at the first bytes that are not UTF-8.
fn for_each_utf8_piece(
    mut reader: impl Read,
    mut piece: impl FnMut(&str) -> io::Result<()>,
) -> io::Result<bool> {
    let mut block = vec![0; BLOCK_BYTES];
    // Bytes of a character cut by the end of the previous block.
    let mut carried = 0;
    loop {
        let read = reader.read(&mut block[carried..])?;
        if read == 0 {
            return Ok(carried == 0);
        }
        let filled = carried + read;
        let whole = match std::str::from_utf8(&block[..filled]) {
            Ok(text) => text,
            // A character cut at the end: kept for the next block.
            Err(error) if error.error_len().is_none() => {
                std::str::from_utf8(&block[..error.valid_up_to()]).expect("valid up to here")
            }
            Err(_) => return Ok(false),
        };
        let used = whole.len();
        piece(whole)?;
        block.copy_within(used..filled, 0);
        carried = filled - used;
    }
}

fn write_base64(mut reader: impl Read, out: &mut impl Write) -> io::Result<()> {
    let mut block = vec![0; BLOCK_BYTES];
    let mut encoded = String::with_capacity(BASE64.encode_len(BLOCK_BYTES));
    loop {
        // Every block but the last is full, so no padding comes before the end.
        let mut filled = 0;
        while filled < BLOCK_BYTES {
            match reader.read(&mut block[filled..])? {
                0 => break,
                read => filled += read,
            }
        }
        encoded.clear();
        BASE64.encode_append(&block[..filled], &mut encoded);
        out.write_all(encoded.as_bytes())?;
        if filled < BLOCK_BYTES {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufReader;

    /// Writes the dead letter of `line` (and of a following line unless `ending` is empty:
    /// the input's last line) with a limit of 10 bytes, read through a small buffer;
    /// returns the dead letter and what is left of the input.
    fn dead_letter_of(line: &[u8], ending: &[u8]) -> (serde_json::Value, Vec<u8>) {
        let mut bytes = line.to_vec();
        bytes.extend_from_slice(ending);
        if !ending.is_empty() {
            bytes.extend_from_slice(b"next\n");
        }
        let mut input = BufReader::with_capacity(7, &bytes[..]);
        let mut head = vec![0; 11];
        input.read_exact(&mut head).unwrap();
        let source = DeadLetterSource::File {
            file: "in.jsonl".into(),
            line: 4,
        };
        let mut out = Vec::new();
        let letter = write_dead_letter(&mut input, head, 10, source, &mut out).unwrap();
        assert_eq!(letter.record, None);
        assert_eq!(out.iter().filter(|b| **b == b'\n').count(), 1);
        assert_eq!(out.last(), Some(&b'\n'));
        let mut rest = Vec::new();
        input.read_to_end(&mut rest).unwrap();
        (serde_json::from_slice(&out).unwrap(), rest)
    }

    #[test]
    fn a_utf8_line_is_kept_as_text_across_block_boundaries() {
        // Three-byte characters, quotes, backslashes and control characters, cut by every
        // block boundary at some offset.
        let mut line = String::from("{\"id\":\"x\",\"body\":\"");
        while line.len() < 3 * BLOCK_BYTES + 5 {
            line.push_str("€ \\\"q\"\t\u{1}é");
        }
        for ending in [&b"\n"[..], b"\r\n", b""] {
            let (letter, rest) = dead_letter_of(line.as_bytes(), ending);
            // Not assert_eq!: a failure would print megabytes.
            assert!(letter["record"] == line.as_str(), "record differs");
            assert!(letter.get("record_base64").is_none());
            assert_eq!(letter["reason"], "too_large");
            assert_eq!(
                letter["error"],
                format!("record is {} bytes, over the limit of 10", line.len())
            );
            assert_eq!(letter["source"]["line"], 4);
            let next: &[u8] = if ending.is_empty() { b"" } else { b"next\n" };
            assert_eq!(rest, next);
        }
    }

    #[test]
    fn a_line_that_is_not_utf8_is_kept_as_base64() {
        for invalid_at in [0, 11, BLOCK_BYTES - 1, 2 * BLOCK_BYTES + 1] {
            let mut line: Vec<u8> = "é".repeat(BLOCK_BYTES + 7).into_bytes();
            line[invalid_at] = 0xff;
            let (letter, rest) = dead_letter_of(&line, b"\r\n");
            assert!(letter.get("record").is_none());
            let encoded = letter["record_base64"].as_str().unwrap();
            assert!(
                BASE64.decode(encoded.as_bytes()).unwrap() == line,
                "record differs"
            );
            assert_eq!(rest, b"next\n");
        }
        // A character cut by the end of the line is not UTF-8 either.
        let (letter, _) = dead_letter_of(&"é".repeat(20).as_bytes()[..39], b"\n");
        assert!(letter["record_base64"].is_string());
    }
}
