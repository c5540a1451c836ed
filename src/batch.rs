//! `newsflow process`: the stages over JSON Lines, for archives, tests, evaluation and
//! benchmarks. Good lines become enriched lines in input order; bad lines become dead-letter
//! lines on their own output, and processing goes on. The files, their checks and their
//! safe replacement are in `files`.

mod files;

use std::io::{self, BufRead, Write};

use rayon::prelude::*;

pub use self::files::{check_distinct, open_input, FileError, Output};
use crate::record::DeadLetterSource;
use crate::stage::Pipeline;
use crate::telemetry::events::{DeadLettered, RecordConsumed};

/// Lines handed to the worker threads at a time: large enough to keep every core busy,
/// small enough to keep memory flat on any input size.
const CHUNK_LINES: usize = 512;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchSummary {
    pub lines: u64,
    pub enriched: u64,
    pub dead_letters: u64,
}

/// What became of one input line, serialised on the worker thread.
enum LineOutcome {
    Enriched(String),
    DeadLetter(String),
}

/// Enriches every line of `input` with `threads` worker threads, writing enriched records
/// to `output` and dead letters to `dead_letters`. `input_name` names the input in dead
/// letters. Only I/O errors stop it.
pub fn process(
    pipeline: &Pipeline,
    mut input: impl BufRead,
    input_name: &str,
    mut output: impl Write,
    mut dead_letters: impl Write,
    threads: usize,
    max_record_bytes: usize,
) -> io::Result<BatchSummary> {
    let workers = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .thread_name(|i| format!("newsflow-stage-{i}"))
        .build()
        .map_err(io::Error::other)?;
    let mut summary = BatchSummary::default();
    let mut chunk: Vec<(u64, Vec<u8>)> = Vec::with_capacity(CHUNK_LINES);
    loop {
        chunk.clear();
        while chunk.len() < CHUNK_LINES {
            let mut line = Vec::new();
            if input.read_until(b'\n', &mut line)? == 0 {
                break;
            }
            summary.lines += 1;
            strip_line_ending(&mut line);
            chunk.push((summary.lines, line));
        }
        if chunk.is_empty() {
            break;
        }
        let outcomes: Vec<LineOutcome> = workers.install(|| {
            chunk
                .par_iter()
                .map(|(number, line)| {
                    enrich_line(pipeline, line, input_name, *number, max_record_bytes)
                })
                .collect()
        });
        for outcome in outcomes {
            match outcome {
                LineOutcome::Enriched(json) => {
                    summary.enriched += 1;
                    output.write_all(json.as_bytes())?;
                    output.write_all(b"\n")?;
                }
                LineOutcome::DeadLetter(json) => {
                    summary.dead_letters += 1;
                    dead_letters.write_all(json.as_bytes())?;
                    dead_letters.write_all(b"\n")?;
                }
            }
        }
    }
    output.flush()?;
    dead_letters.flush()?;
    Ok(summary)
}

fn enrich_line(
    pipeline: &Pipeline,
    line: &[u8],
    input_name: &str,
    number: u64,
    max_record_bytes: usize,
) -> LineOutcome {
    RecordConsumed { topic: "-" }.emit();
    let rejection = match pipeline.enrich(line, max_record_bytes) {
        Ok(enriched) => match serde_json::to_string(&enriched) {
            Ok(json) => return LineOutcome::Enriched(json),
            Err(error) => crate::stage::Rejection {
                reason: crate::record::DeadLetterReason::StageFailed,
                error: format!("cannot serialise the enriched record: {error}"),
                article_id: Some(enriched.id),
            },
        },
        Err(rejection) => rejection,
    };
    let source = DeadLetterSource::File {
        file: input_name.to_owned(),
        line: number,
    };
    let letter = rejection.into_dead_letter(source, line);
    DeadLettered { letter: &letter }.emit();
    LineOutcome::DeadLetter(serde_json::to_string(&letter).expect("dead letters serialise"))
}

fn strip_line_ending(line: &mut Vec<u8>) {
    if line.last() == Some(&b'\n') {
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn run(input: &[u8], threads: usize) -> (Vec<Value>, Vec<Value>, BatchSummary) {
        let (mut out, mut dlq) = (Vec::new(), Vec::new());
        let summary = process(
            &Pipeline::new(vec![]),
            input,
            "in.jsonl",
            &mut out,
            &mut dlq,
            threads,
            1000,
        )
        .unwrap();
        let parse = |bytes: &[u8]| {
            bytes
                .split(|b| *b == b'\n')
                .filter(|l| !l.is_empty())
                .map(|l| serde_json::from_slice(l).unwrap())
                .collect::<Vec<Value>>()
        };
        (parse(&out), parse(&dlq), summary)
    }

    #[test]
    fn keeps_order_and_dead_letters_bad_lines() {
        let mut input = Vec::new();
        for i in 0..1200 {
            if i % 100 == 7 {
                input.extend_from_slice(b"{broken\r\n");
            } else {
                input.extend_from_slice(
                    format!("{{\"id\":\"a{i}\",\"body\":\"text\"}}\n").as_bytes(),
                );
            }
        }
        input.extend_from_slice(b"\xff\xfe\n\n");
        let (out, dlq, summary) = run(&input, 4);
        assert_eq!(
            summary,
            BatchSummary {
                lines: 1202,
                enriched: 1188,
                dead_letters: 14
            }
        );
        let ids: Vec<&str> = out.iter().map(|v| v["id"].as_str().unwrap()).collect();
        let expected: Vec<String> = (0..1200)
            .filter(|i| i % 100 != 7)
            .map(|i| format!("a{i}"))
            .collect();
        assert_eq!(ids, expected);
        assert_eq!(dlq[0]["reason"], "invalid_json");
        assert_eq!(dlq[0]["source"]["line"], 8);
        assert_eq!(dlq[0]["record"], "{broken");
        assert_eq!(dlq[12]["reason"], "invalid_utf8");
        assert_eq!(dlq[12]["record_base64"], "//4=");
        assert_eq!(dlq[13]["reason"], "empty");
    }

    #[test]
    fn oversized_lines_are_dead_lettered() {
        let line = format!("{{\"id\":\"big\",\"body\":\"{}\"}}\n", "x".repeat(2000));
        let (out, dlq, _) = run(line.as_bytes(), 1);
        assert!(out.is_empty());
        assert_eq!(dlq[0]["reason"], "too_large");
    }
}
