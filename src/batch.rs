//! `newsflow process`: the stages over JSON Lines, for archives, tests, evaluation and
//! benchmarks. Good lines become enriched lines in input order, kills kill lines among them,
//! and an article older than a version of it seen earlier in the input a superseded line;
//! bad lines become dead-letter lines on their own output, and processing goes on. An
//! embargoed article is written like any other, its `embargoed` time set: a file publishes
//! nothing, and whoever publishes it reads the time there.
//!
//! Memory stays bounded on any input: lines go to the workers in chunks of at most
//! `CHUNK_LINES` lines and `CHUNK_BYTES` bytes, and of a line over `max_record_bytes` only
//! the start is held (`lines`), the rest streamed into its dead letter (`overlong`). The
//! files, their checks and their safe replacement are in `files`.

mod files;
mod lines;
mod overlong;

use std::io::{self, BufRead, Write};

use rayon::prelude::*;

pub use self::files::{check_distinct, open_input, FileError, Output};
use self::lines::{read_line, Line};
use chrono::{DateTime, FixedOffset, Utc};

use crate::record::{
    pending_embargo, ArticleVersion, DeadLetterSource, EnrichedArticle, KillLine, SupersededLine,
};
use crate::stage::{Admission, Enrichment, LatestVersions, Pipeline};
use crate::story::{story_time, Signature, StoryConfig, StoryIndex};
use crate::telemetry::events::{ArticleEmbargoed, ArticleSuperseded, DeadLettered, RecordConsumed};
use crate::telemetry::story_events::{StoriesMeasured, StoryAssigned};

/// Lines handed to the worker threads at a time: large enough to keep every core busy,
/// small enough to keep memory flat on any input size.
const CHUNK_LINES: usize = 512;

/// Input bytes handed to the worker threads at a time (a chunk ends at the first line past
/// it): a chunk's enriched lines, two to four times its input, are held until written, so
/// long articles must make shorter chunks.
const CHUNK_BYTES: usize = 32 << 20;

/// How [`process`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchSettings {
    /// Threads that run the stages.
    pub threads: usize,
    /// Lines longer than this many bytes are dead-lettered.
    pub max_record_bytes: usize,
    /// Whether enriched articles carry `clean.text` besides their paragraphs.
    pub include_text: bool,
    /// Articles whose latest version is remembered, at most ([`LatestVersions`]).
    pub max_versions_tracked: usize,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchSummary {
    pub lines: u64,
    pub enriched: u64,
    /// Inputs that withdrew their article: a kill line each, among the enriched lines.
    pub killed: u64,
    /// Inputs left out for a newer version seen before: a superseded line each.
    pub superseded: u64,
    /// Enriched articles whose embargo was still to come (counted in `enriched` too).
    pub embargoed: u64,
    /// Enriched articles that joined the story of an earlier one (counted in `enriched`).
    pub story_duplicates: u64,
    pub dead_letters: u64,
}

/// What became of one input line, serialised on the worker thread.
enum LineOutcome {
    Enriched {
        article: Box<EnrichedArticle>,
        /// What its story is found by, in input order.
        signature: Signature,
        /// Admitted as its article's latest version when written, in input order.
        version: ArticleVersion,
        embargoed: Option<DateTime<FixedOffset>>,
    },
    /// A [`KillLine`], written where the article's enriched line would be.
    Killed(String),
    /// Left out before the stages: a newer version was already written.
    Superseded(ArticleVersion),
    DeadLetter(String),
}

/// Why a chunk ended.
#[derive(Debug, PartialEq, Eq)]
enum ChunkEnd {
    Full,
    /// At a line over the limit (its number and first bytes), to be dead-lettered after
    /// the chunk so that dead letters stay in input order.
    Overlong {
        line: u64,
        head: Vec<u8>,
    },
    EndOfInput,
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
    settings: &BatchSettings,
) -> io::Result<BatchSummary> {
    let max_record_bytes = settings.max_record_bytes;
    let workers = rayon::ThreadPoolBuilder::new()
        .num_threads(settings.threads.max(1))
        .thread_name(|i| format!("newsflow-stage-{i}"))
        .build()
        .map_err(io::Error::other)?;
    let versions = LatestVersions::new(settings.max_versions_tracked);
    let mut stories = StoryIndex::new(StoryConfig::default());
    let mut summary = BatchSummary::default();
    let mut chunk: Vec<(u64, Vec<u8>)> = Vec::with_capacity(CHUNK_LINES);
    loop {
        let end = read_chunk(
            &mut input,
            &mut chunk,
            (CHUNK_LINES, CHUNK_BYTES),
            max_record_bytes,
            &mut summary.lines,
        )?;
        // Drained, so each line is freed once enriched, while the chunk's outputs build up.
        let outcomes: Vec<LineOutcome> = workers.install(|| {
            chunk
                .par_drain(..)
                .map(|(number, line)| {
                    let job = (&line[..], input_name, number);
                    enrich_line(pipeline, &versions, job, settings)
                })
                .collect()
        });
        for outcome in outcomes {
            match outcome {
                LineOutcome::Enriched {
                    mut article,
                    signature,
                    version,
                    embargoed,
                } => {
                    if versions.admit(&version, embargoed.is_some()) == Admission::Superseded {
                        ArticleSuperseded { stale: &version }.emit();
                        summary.superseded += 1;
                        write_line(&mut output, &superseded_line(&version))?;
                        continue;
                    }
                    if let Some(until) = embargoed {
                        ArticleEmbargoed {
                            article_id: &version.id,
                            until,
                        }
                        .emit();
                        summary.embargoed += 1;
                    }
                    summary.enriched += 1;
                    let seen = story_time(article.published_at);
                    let story = stories.assign(&article.id, &signature, seen);
                    summary.story_duplicates += u64::from(story.duplicate_of.is_some());
                    StoryAssigned { story: &story }.emit();
                    article.story = Some(story);
                    let json =
                        serde_json::to_string(&article).expect("enriched articles serialise");
                    write_line(&mut output, &json)?;
                }
                LineOutcome::Superseded(version) => {
                    summary.superseded += 1;
                    write_line(&mut output, &superseded_line(&version))?;
                }
                LineOutcome::Killed(json) => {
                    summary.killed += 1;
                    write_line(&mut output, &json)?;
                }
                LineOutcome::DeadLetter(json) => {
                    summary.dead_letters += 1;
                    write_line(&mut dead_letters, &json)?;
                }
            }
        }
        StoriesMeasured {
            sizes: stories.sizes(),
        }
        .emit();
        match end {
            ChunkEnd::Full => {}
            ChunkEnd::Overlong { line, head } => {
                RecordConsumed { topic: "-" }.emit();
                let source = DeadLetterSource::File {
                    file: input_name.to_owned(),
                    line,
                };
                let letter = overlong::write_dead_letter(
                    &mut input,
                    head,
                    max_record_bytes,
                    source,
                    &mut dead_letters,
                )?;
                DeadLettered { letter: &letter }.emit();
                summary.dead_letters += 1;
            }
            ChunkEnd::EndOfInput => break,
        }
    }
    output.flush()?;
    dead_letters.flush()?;
    Ok(summary)
}

fn superseded_line(stale: &ArticleVersion) -> String {
    serde_json::to_string(&SupersededLine::of(stale)).expect("superseded lines serialise")
}

fn write_line(output: &mut impl Write, json: &str) -> io::Result<()> {
    output.write_all(json.as_bytes())?;
    output.write_all(b"\n")
}

/// Reads lines into `chunk` until it holds `max_lines` lines or `max_bytes` bytes, an
/// over-long line comes, or the input ends. `lines_read` counts every line read.
fn read_chunk(
    input: &mut impl BufRead,
    chunk: &mut Vec<(u64, Vec<u8>)>,
    (max_lines, max_bytes): (usize, usize),
    max_record_bytes: usize,
    lines_read: &mut u64,
) -> io::Result<ChunkEnd> {
    let mut bytes = 0;
    while chunk.len() < max_lines && bytes < max_bytes {
        let Some(line) = read_line(input, max_record_bytes)? else {
            return Ok(ChunkEnd::EndOfInput);
        };
        *lines_read += 1;
        match line {
            Line::Whole(line) => {
                bytes += line.len();
                chunk.push((*lines_read, line));
            }
            Line::Overlong(head) => {
                return Ok(ChunkEnd::Overlong {
                    line: *lines_read,
                    head,
                })
            }
        }
    }
    Ok(ChunkEnd::Full)
}

/// One line's work on a worker thread: the line, the input's name and the line's number.
fn enrich_line(
    pipeline: &Pipeline,
    versions: &LatestVersions,
    (line, input_name, number): (&[u8], &str, u64),
    settings: &BatchSettings,
) -> LineOutcome {
    RecordConsumed { topic: "-" }.emit();
    let enriched = pipeline.enrich_latest(line, settings.max_record_bytes, Some(versions));
    let rejection = match enriched {
        Ok(Enrichment::Superseded(version)) => return LineOutcome::Superseded(version),
        Ok(Enrichment::Killed(kill)) => {
            let json = serde_json::to_string(&KillLine::of(&kill)).expect("kill lines serialise");
            return LineOutcome::Killed(json);
        }
        Ok(Enrichment::Article(mut enriched)) => {
            let signature = Signature::of(&enriched.clean.paragraphs.join("\n\n"));
            if !settings.include_text {
                enriched.leave_out_text();
            }
            return LineOutcome::Enriched {
                version: enriched.version(),
                embargoed: pending_embargo(enriched.embargoed, Utc::now()),
                article: Box::new(enriched),
                signature,
            };
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stage::reference::for_tests;
    use serde_json::Value;
    use std::cell::Cell;
    use std::io::Read;
    use std::rc::Rc;

    fn run(input: &[u8], threads: usize) -> (Vec<Value>, Vec<Value>, BatchSummary) {
        run_stages(&Pipeline::new(for_tests().clone(), vec![]), input, threads)
    }

    fn run_stages(
        pipeline: &Pipeline,
        input: &[u8],
        threads: usize,
    ) -> (Vec<Value>, Vec<Value>, BatchSummary) {
        let (mut out, mut dlq) = (Vec::new(), Vec::new());
        let summary = process(
            pipeline,
            input,
            "in.jsonl",
            &mut out,
            &mut dlq,
            &BatchSettings {
                threads,
                max_record_bytes: 1000,
                include_text: true,
                max_versions_tracked: 100,
            },
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

    /// An article for the story tests.
    const STORY: &str = "Finance ministers from the euro zone agreed on Monday to release a \
        further 8.7 billion euros of loans to Greece after Athens passed a package of spending \
        cuts through parliament. The money will let Greece repay bonds that fall due in \
        August, officials in Brussels said. Protesters gathered outside the parliament building.";

    #[test]
    fn copies_within_the_input_join_the_story_of_the_first() {
        let story = STORY;
        let other = "The club confirmed on Friday that its captain would miss the rest of the \
            season with a knee injury sustained in training, and surgery is planned in Munich.";
        let line = |id: &str, body: &str| serde_json::json!({ "id": id, "body": body }).to_string();
        let input = [
            line("wire-1", story),
            line("club-1", other),
            line("paper-1", &story.replace("on Monday", "late on Monday")),
        ]
        .join("\n");
        let pipeline = Pipeline::standard(for_tests().clone());
        let (outputs, _, summary) = run_stages(&pipeline, input.as_bytes(), 2);
        let stories: Vec<&Value> = outputs.iter().map(|line| &line["story"]).collect();
        assert_eq!(stories[0]["duplicate_of"], Value::Null);
        assert_eq!(stories[1]["duplicate_of"], Value::Null);
        assert_ne!(stories[1]["cluster_id"], stories[0]["cluster_id"]);
        assert_eq!(stories[2]["duplicate_of"], "wire-1");
        assert_eq!(stories[2]["cluster_id"], stories[0]["cluster_id"]);
        assert!(stories[2]["similarity"].as_f64().unwrap() > 0.8);
        assert_eq!(summary.story_duplicates, 1);
    }

    #[test]
    fn an_article_dated_ahead_does_not_move_the_story_window_past_todays_stories() {
        let story = STORY;
        let hour_ago = (Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
        let line = |id: &str, body: &str, at: &str| {
            serde_json::json!({ "id": id, "body": body, "published_at": at }).to_string()
        };
        let input = [
            line("wire-1", story, &hour_ago),
            line(
                "mistyped",
                "The club confirmed on Friday that its captain would miss \
                the rest of the season with a knee injury sustained in training.",
                "2099-01-01T00:00:00Z",
            ),
            line("paper-1", story, &hour_ago),
        ]
        .join("\n");
        let pipeline = Pipeline::standard(for_tests().clone());
        let (outputs, _, _) = run_stages(&pipeline, input.as_bytes(), 1);
        assert_eq!(outputs[2]["story"]["duplicate_of"], "wire-1");
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
                killed: 0,
                superseded: 0,
                embargoed: 0,
                story_duplicates: 0,
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
    fn a_kill_line_takes_the_place_of_its_enriched_line() {
        let input = concat!(
            "{\"id\":\"a\",\"body\":\"x\"}\n",
            "{\"uri\":\"urn:b\",\"pubstatus\":\"canceled\"}\n",
            "{\"id\":\"c\",\"body\":\"x\"}\n",
        );
        let (out, dlq, summary) = run(input.as_bytes(), 2);
        assert_eq!((summary.enriched, summary.killed), (2, 1));
        assert!(dlq.is_empty());
        let ids: Vec<&str> = out.iter().map(|v| v["id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["a", "urn:b", "c"]);
        assert_eq!(out[1]["killed"], true);
        assert_eq!(out[1]["pubstatus"], "canceled");
        assert_eq!(out[1]["input_format"], "ninjs");
    }

    #[test]
    fn a_late_older_version_becomes_a_superseded_line_and_an_embargo_is_written() {
        let input = concat!(
            "{\"uri\":\"urn:a\",\"version\":\"2\",\"bodies\":[{\"value\":\"x\"}]}\n",
            "{\"id\":\"b\",\"body\":\"x\",\"embargoed\":\"2100-01-01T00:00:00Z\"}\n",
            "{\"uri\":\"urn:a\",\"version\":\"1\",\"bodies\":[{\"value\":\"x\"}]}\n",
            "{\"uri\":\"urn:a\",\"version\":\"10\",\"bodies\":[{\"value\":\"x\"}]}\n",
            "{\"id\":\"c\",\"body\":\"x\",\"embargoed\":\"tomorrow\"}\n",
        );
        for threads in [1, 3] {
            let (out, dlq, summary) = run(input.as_bytes(), threads);
            assert_eq!(
                (summary.enriched, summary.superseded, summary.embargoed),
                (3, 1, 1)
            );
            let ids: Vec<&str> = out.iter().map(|v| v["id"].as_str().unwrap()).collect();
            assert_eq!(ids, ["urn:a", "b", "urn:a", "urn:a"]);
            assert_eq!(out[1]["embargoed"], "2100-01-01T00:00:00Z");
            assert_eq!(out[2]["superseded"], true);
            assert_eq!(out[2]["version"], "1");
            assert_eq!(out[3]["source_fields"]["version"], "10");
            assert_eq!(dlq.len(), 1, "an unreadable embargo is not ignored");
            assert_eq!(dlq[0]["reason"], "schema_violation");
        }
    }

    #[test]
    fn oversized_lines_are_dead_lettered_whole_and_in_order() {
        let big = format!("{{\"id\":\"big\",\"body\":\"{}\"}}", "x".repeat(2000));
        let input = format!("not json\n{big}\r\n{{\"id\":\"a\",\"body\":\"b\"}}\n[]\n{big}");
        let (out, dlq, summary) = run(input.as_bytes(), 2);
        assert_eq!(
            summary,
            BatchSummary {
                lines: 5,
                enriched: 1,
                killed: 0,
                superseded: 0,
                embargoed: 0,
                story_duplicates: 0,
                dead_letters: 4
            }
        );
        assert_eq!(out[0]["id"], "a");
        let lines: Vec<_> = dlq.iter().map(|l| l["source"]["line"].clone()).collect();
        assert_eq!(lines, [1, 2, 4, 5]);
        for letter in [&dlq[1], &dlq[3]] {
            assert_eq!(letter["reason"], "too_large");
            assert_eq!(letter["record"], big.as_str());
        }
    }

    /// Reads every chunk of `input` with small limits: (line numbers, end) per chunk.
    fn chunks(input: &[u8], limits: (usize, usize)) -> Vec<(Vec<u64>, ChunkEnd)> {
        let mut input = input;
        let (mut chunk, mut lines_read, mut chunks) = (Vec::new(), 0, Vec::new());
        loop {
            let end = read_chunk(&mut input, &mut chunk, limits, 10, &mut lines_read).unwrap();
            let numbers = chunk.drain(..).map(|(number, _)| number).collect();
            let done = end == ChunkEnd::EndOfInput;
            if let ChunkEnd::Overlong { .. } = end {
                input.read_until(b'\n', &mut Vec::new()).unwrap();
            }
            chunks.push((numbers, end));
            if done {
                return chunks;
            }
        }
    }

    #[test]
    fn a_chunk_ends_at_its_byte_bound_or_line_bound() {
        let input = b"aaaa\nbbbb\ncccccc\nd\ne\nf\ng\nh\n";
        assert_eq!(
            chunks(input, (3, 10)),
            [
                (vec![1, 2, 3], ChunkEnd::Full),
                (vec![4, 5, 6], ChunkEnd::Full),
                (vec![7, 8], ChunkEnd::EndOfInput),
            ]
        );
        assert_eq!(
            chunks(input, (100, 9)),
            [
                (vec![1, 2, 3], ChunkEnd::Full),
                (vec![4, 5, 6, 7, 8], ChunkEnd::EndOfInput),
            ]
        );
    }

    #[test]
    fn a_chunk_ends_before_an_overlong_line_held_only_up_to_the_limit() {
        let input = b"a\n0123456789abc\nb\n";
        assert_eq!(
            chunks(input, (100, 100)),
            [
                (
                    vec![1],
                    ChunkEnd::Overlong {
                        line: 2,
                        head: b"0123456789a".to_vec()
                    }
                ),
                (vec![3], ChunkEnd::EndOfInput),
            ]
        );
    }

    /// Counts the bytes read from the input, for the writer below.
    struct CountedInput<R> {
        inner: R,
        read: Rc<Cell<usize>>,
    }

    impl<R: Read> Read for CountedInput<R> {
        fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
            let read = self.inner.read(buffer)?;
            self.read.set(self.read.get() + read);
            Ok(read)
        }
    }

    /// Notes how much input had been read when the first output came.
    struct FirstWrite {
        input_read: Rc<Cell<usize>>,
        input_read_then: Option<usize>,
    }

    impl Write for FirstWrite {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.input_read_then.get_or_insert(self.input_read.get());
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn reads_at_most_a_chunk_of_bytes_ahead_of_its_outputs() {
        let (line_bytes, lines) = (1 << 20, 64);
        let line = [vec![b'x'; line_bytes - 1], vec![b'\n']].concat();
        let read = Rc::new(Cell::new(0));
        let input = CountedInput {
            inner: io::Cursor::new(line.repeat(lines)),
            read: read.clone(),
        };
        let mut dead_letters = FirstWrite {
            input_read: read,
            input_read_then: None,
        };
        let summary = process(
            &Pipeline::new(for_tests().clone(), vec![]),
            io::BufReader::new(input),
            "in.jsonl",
            io::sink(),
            &mut dead_letters,
            &BatchSettings {
                threads: 2,
                max_record_bytes: 2 * line_bytes,
                include_text: true,
                max_versions_tracked: 2,
            },
        )
        .unwrap();
        assert_eq!(summary.dead_letters, lines as u64);
        let read_ahead = dead_letters.input_read_then.unwrap();
        assert!(
            read_ahead <= CHUNK_BYTES + 2 * line_bytes,
            "{read_ahead} bytes read before the first output"
        );
    }

    /// Checks a dead letter as it streams by, keeping none of it.
    struct CountingLetter {
        bytes: usize,
        newlines: usize,
    }

    impl Write for CountingLetter {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.bytes += bytes.len();
            self.newlines += bytes.iter().filter(|b| **b == b'\n').count();
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_line_much_larger_than_the_limit_is_streamed_into_its_dead_letter() {
        let body_bytes: usize = 64 << 20;
        let huge = b"{\"id\":\"x\",\"body\":\""
            .chain(io::repeat(b'x').take(body_bytes as u64))
            .chain(&b"\"}\n{\"id\":\"a\",\"body\":\"b\"}\n"[..]);
        let mut out = Vec::new();
        let mut letter = CountingLetter {
            bytes: 0,
            newlines: 0,
        };
        let summary = process(
            &Pipeline::new(for_tests().clone(), vec![]),
            io::BufReader::new(huge),
            "in.jsonl",
            &mut out,
            &mut letter,
            &BatchSettings {
                threads: 1,
                max_record_bytes: 1000,
                include_text: true,
                max_versions_tracked: 100,
            },
        )
        .unwrap();
        assert_eq!(summary.dead_letters, 1);
        assert_eq!(summary.enriched, 1);
        assert_eq!(letter.newlines, 1);
        // The record, escaped (nothing to escape but its quotes), and the letter around it.
        let record_bytes = body_bytes + 24;
        assert!(letter.bytes > record_bytes + 8 && letter.bytes < record_bytes + 200);
    }
}
