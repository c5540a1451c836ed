//! Mutation fuzzing of the whole record path (decode → clean → classify → extract) on a
//! stable toolchain: records of the sample feed, as JSON and as HTML, with bytes flipped,
//! spliced, repeated and cut, control characters and publication times from the edges of
//! the calendar put in, plus random bytes. Every record must come out enriched or rejected
//! with a reason; a stage panic (caught and reported as `stage_failed`) fails, and so does
//! an enriched article or event that its JSON Schema rejects.
//!
//! `cargo test --test hostile_input` runs a fixed-seed round; `make fuzz` runs it in
//! release for longer (`NEWSFLOW_FUZZ_CASES`, `NEWSFLOW_FUZZ_SEED`).

mod support;

use std::sync::Arc;

use newsflow::record::{DeadLetterReason, EventRecord, KillLine};
use newsflow::stage::{Enrichment, Pipeline, Reference};
use support::schema::{assert_valid, validator};

/// xorshift64*: small, deterministic, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The seed corpus: the sample feed's records, and each body wrapped as an HTML page
/// with markup that stresses the parser.
fn corpus() -> Vec<Vec<u8>> {
    let feed = include_str!("../data/sample-feed.jsonl");
    let mut out: Vec<Vec<u8>> = feed.lines().map(|l| l.as_bytes().to_vec()).collect();
    for line in feed.lines().take(8) {
        let Ok(record) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let body = record["body"].as_str().unwrap_or_default();
        let html = format!(
            "<html><head><title>T</title><script>var a='<p>';</script></head><body>\
             <nav><a href=/>Home</a></nav>{}<article><h1>Title</h1><p>{}</p></article>\
             <div class=comments>LEAVE A REPLY</div></body></html>",
            "<div><span>".repeat(200),
            body.replace("\n\n", "</p><p>")
        );
        let page = serde_json::json!({"id": "page", "content_type": "text/html", "body": html});
        out.push(page.to_string().into_bytes());
    }
    out
}

fn mutate(rng: &mut Rng, input: &[u8], corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut bytes = input.to_vec();
    for _ in 0..1 + rng.below(6) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(7) {
            0 if !bytes.is_empty() => {
                let i = rng.below(bytes.len());
                bytes[i] ^= 1 << rng.below(8);
            }
            1 => bytes.insert(at, rng.next() as u8),
            2 if at < bytes.len() => {
                let end = (at + rng.below(64)).min(bytes.len());
                bytes.drain(at..end);
            }
            3 => {
                // Splice in a piece of another record.
                let other = &corpus[rng.below(corpus.len())];
                let start = rng.below(other.len());
                let end = (start + rng.below(256)).min(other.len());
                bytes.splice(at..at, other[start..end].iter().copied());
            }
            4 if at < bytes.len() => {
                // Repeat a piece many times: long runs, deep nesting.
                let end = (at + 1 + rng.below(16)).min(bytes.len());
                let piece = bytes[at..end].to_vec();
                let times = 1 + rng.below(2_000);
                bytes.splice(
                    at..at,
                    piece.iter().copied().cycle().take(piece.len() * times),
                );
            }
            5 => {
                let tricky: [&[u8]; 14] = [
                    b"\\ud800",
                    b"\xff\xfe",
                    b"\xe2\x80",
                    b"\"",
                    b"\\",
                    b"<p>",
                    b"\xe2\x80\x9c",
                    b"\0",
                    b"\\u0000",
                    b"&#0;",
                    b"\xe2\x80\xae",
                    b"\x1b[31m",
                    b"\xef\xbb\xbf",
                    b"9999-12-31",
                ];
                bytes.splice(at..at, tricky[rng.below(tricky.len())].iter().copied());
            }
            _ => bytes.truncate(at),
        }
    }
    bytes
}

/// Publication times at and past the edges of what a news date can be: dates resolved
/// against them must still be dates the schemas accept.
const EDGE_TIMES: [&str; 6] = [
    "9999-12-31T23:59:59Z",
    "0000-01-01T00:00:00Z",
    "2199-12-31T23:00:00-12:00",
    "1800-01-01",
    "+10000-01-01T00:00:00Z",
    "2024-02-29T12:00:00+14:00",
];

#[test]
fn no_input_makes_a_stage_fail() {
    let cases = setting("NEWSFLOW_FUZZ_CASES", 300);
    let seed = setting("NEWSFLOW_FUZZ_SEED", 0x6e65_7773_666c_6f77);
    let corpus = corpus();
    let pipeline = Pipeline::standard(Arc::new(Reference::load()));
    let (enriched_schema, event_schema) = (
        validator("enriched-article.v1.json"),
        validator("event.v1.json"),
    );
    let mut rng = Rng(seed | 1);
    let (mut enriched, mut rejected) = (0u64, 0u64);
    for case in 0..cases {
        let input = if case % 10 == 9 {
            (0..rng.below(4_096)).map(|_| rng.next() as u8).collect()
        } else if case % 2 == 0 {
            // Mutate the body inside a well-formed record, so the stages see it.
            let base = &corpus[rng.below(corpus.len())];
            let mut record: serde_json::Value =
                serde_json::from_slice(base).unwrap_or_else(|_| serde_json::json!({"id": "x"}));
            let body = record["body"]
                .as_str()
                .unwrap_or_default()
                .as_bytes()
                .to_vec();
            let body = mutate(&mut rng, &body, &corpus);
            record["body"] = String::from_utf8_lossy(&body).into_owned().into();
            if rng.below(4) == 0 {
                record["published_at"] = EDGE_TIMES[rng.below(EDGE_TIMES.len())].into();
            }
            record.to_string().into_bytes()
        } else {
            let base = corpus[rng.below(corpus.len())].clone();
            mutate(&mut rng, &base, &corpus)
        };
        match pipeline.enrich(&input, 10 * 1024 * 1024) {
            Ok(Enrichment::Killed(kill)) => {
                let json = serde_json::to_value(KillLine::of(&kill)).expect("serialise");
                assert_valid(
                    &enriched_schema,
                    &json,
                    &format!("case {case} (seed {seed:#x})"),
                );
                enriched += 1;
            }
            Ok(Enrichment::Superseded(_)) => unreachable!("enrich tracks no versions"),
            Ok(Enrichment::Article(article)) => {
                let what = format!("case {case} (seed {seed:#x})");
                let json = serde_json::to_value(&article).expect("serialise");
                assert_valid(&enriched_schema, &json, &what);
                for event in EventRecord::all_of(&article) {
                    let json = serde_json::to_value(&event).expect("serialise");
                    assert_valid(&event_schema, &json, &what);
                }
                enriched += 1;
            }
            Err(rejection) => {
                assert_ne!(
                    rejection.reason,
                    DeadLetterReason::StageFailed,
                    "case {case} (seed {seed:#x}): {}\ninput: {:?}",
                    rejection.error,
                    String::from_utf8_lossy(&input[..input.len().min(2_000)])
                );
                rejected += 1;
            }
        }
    }
    eprintln!("{cases} cases: {enriched} enriched, {rejected} rejected with a reason");
    assert!(
        enriched > 0 && rejected > 0,
        "the mutations reach both outcomes"
    );
}
