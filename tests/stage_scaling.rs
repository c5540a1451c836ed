//! Every stage stays near-linear in the size of its input: for each pathological shape of
//! article (many attributed quotes, many names, dates, numbers, deeply nested markup, one
//! sentence without end, ...), the whole record path (decode, clean, classify, extract,
//! encode) at 16 times the size may cost at most 24 times the CPU time. A quadratic step
//! would cost 256 times.
//!
//! Time is the worker thread's CPU time, the least of a few runs, so other work on a
//! shared machine does not count. `NEWSFLOW_SCALING_MAX_BYTES` sets the largest input
//! (default: 10 MB in release builds, as `make fuzz` runs it, and 1 MB in debug builds,
//! where the stages run several times slower; the growth ratio is the same);
//! `NEWSFLOW_SCALING_DUMP` names a directory to write each shape's largest record to, for
//! measuring memory with `newsflow process`.

use std::sync::Arc;

use newsflow::stage::{Enrichment, Pipeline, Reference};

/// How much longer 16 times the input may take.
const MAX_GROWTH: f64 = 24.0;
/// Runs per size; the least time is kept.
const RUNS: usize = 3;

/// One pathological article body, about `bytes` long, and whether it is HTML.
struct Shape {
    name: &'static str,
    html: bool,
    unit: fn(usize) -> String,
}

const FIRST: [&str; 8] = [
    "John", "Maria", "Ahmed", "Li", "Olga", "Pedro", "Aiko", "Kwame",
];
const LAST: [&str; 8] = [
    "Smith", "Garcia", "Hassan", "Wei", "Petrova", "Silva", "Tanaka", "Mensah",
];

/// A different person per `i`, so that entity tables grow with the text.
fn person(i: usize) -> String {
    format!(
        "{} {}{}",
        FIRST[i % 8],
        LAST[(i / 8) % 8],
        ["", "son", "ley", "berg", "ski", "ini", "ova", "ez"][(i / 64) % 8]
    ) + &"x".repeat(i / 512 % 3)
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

const SHAPES: &[Shape] = &[
    Shape {
        name: "attributed quotes",
        html: false,
        unit: |i| {
            format!(
                "“We will not accept these terms at all,” said {}. “Nothing has changed since the last round of talks,” he added. ",
                person(i)
            )
        },
    },
    Shape {
        name: "quotes in paragraphs",
        html: false,
        unit: |i| {
            format!(
                "Minister {} told reporters: “The government will act on this matter now.”\n\n",
                person(i)
            )
        },
    },
    Shape {
        name: "names",
        html: false,
        unit: |i| {
            format!(
                "President {} met Prime Minister {} and {} of the Ministry of Foreign Affairs. ",
                person(i),
                person(i + 7),
                person(i + 13)
            )
        },
    },
    Shape {
        name: "dates",
        html: false,
        unit: |i| {
            format!(
                "On {} {}, {} and {} {} the talks resumed, a month and a half after {}. ",
                MONTHS[i % 12],
                i % 28 + 1,
                1990 + i % 40,
                MONTHS[(i + 3) % 12],
                i % 27 + 2,
                MONTHS[(i + 5) % 12]
            )
        },
    },
    Shape {
        name: "numbers",
        html: false,
        unit: |i| {
            format!(
                "{},{:03}.{} {}% ${} 1{}:{:02} No. {} ",
                i % 997,
                i % 1000,
                i % 10,
                i % 100,
                i * 37,
                i % 12,
                i % 60,
                i
            )
        },
    },
    Shape {
        name: "one long sentence",
        html: false,
        unit: |i| {
            format!(
                "the delegation from {} and the Russian troops attacked, ",
                ["China", "France", "Kenya", "Brazil", "Japan"][i % 5]
            )
        },
    },
    Shape {
        name: "events and countries",
        html: false,
        unit: |i| {
            format!(
                "{} troops attacked {} on Monday. Leaders of {} and {} will meet in {} next week to sign a deal. ",
                ["Russian", "Chinese", "Israeli", "Syrian"][i % 4],
                ["Ukraine", "Taiwan", "Gaza", "Aleppo"][i % 4],
                ["Japan", "Kenya", "Peru"][i % 3],
                ["Egypt", "India", "Chile"][i % 3],
                ["Geneva", "Beijing", "Moscow", "Paris"][i % 4]
            )
        },
    },
    Shape {
        name: "short lines",
        html: false,
        unit: |i| format!("Line {i}\nSHARE\nHome World\n{}\n", person(i)),
    },
    Shape {
        name: "unclosed quote marks",
        html: false,
        unit: |i| format!("“{} said „ « words {} ", person(i), i),
    },
    Shape {
        name: "one long word",
        html: false,
        unit: |i| format!("{}{}", ["ab", "Cd", "é-", "1,"][i % 4], "x".repeat(30)),
    },
    Shape {
        name: "nested markup",
        html: true,
        unit: |i| format!("<div class=\"c{}\"><span><p>Text {} ", i % 7, person(i)),
    },
    Shape {
        name: "flat paragraphs",
        html: true,
        unit: |i| {
            format!(
                "<p>{} said the talks in Geneva would resume on May {}.</p>\n",
                person(i),
                i % 28 + 1
            )
        },
    },
    Shape {
        name: "links and furniture",
        html: true,
        unit: |i| {
            format!(
                "<li><a href=\"/a/{i}\">Related story {i}</a></li><div class=\"share\">Share</div>"
            )
        },
    },
    Shape {
        name: "broken markup",
        html: true,
        unit: |i| format!("<div <p class=\"{i} <a href='x <script>if (a<b) {{ <i>text {i} "),
    },
    Shape {
        name: "entities and comments",
        html: true,
        unit: |i| format!("&amp;&#0;&lt;&#x202E;<!-- c{i} --><br/>&nbsp;word{i} "),
    },
];

/// A raw-article record whose body is the shape's units up to `bytes`.
fn record(shape: &Shape, bytes: usize) -> Vec<u8> {
    let mut body = String::with_capacity(bytes + 256);
    if shape.html {
        body.push_str("<html><body><article>");
    }
    let mut i = 0;
    while body.len() < bytes {
        body.push_str(&(shape.unit)(i));
        i += 1;
    }
    let content_type = if shape.html {
        "text/html"
    } else {
        "text/plain"
    };
    serde_json::to_vec(&serde_json::json!({
        "id": "scaling",
        "title": "Talks resume",
        "published_at": "2024-07-01T09:00:00Z",
        "content_type": content_type,
        "body": body,
    }))
    .unwrap()
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn thread_cpu_seconds() -> f64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and a pointer to a timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    now.tv_sec as f64 + now.tv_nsec as f64 * 1e-9
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn thread_cpu_seconds() -> f64 {
    use std::sync::LazyLock;
    static START: LazyLock<std::time::Instant> = LazyLock::new(std::time::Instant::now);
    START.elapsed().as_secs_f64()
}

/// CPU seconds of the whole record path over `record`.
fn cost(pipeline: &Pipeline, record: &[u8]) -> f64 {
    let started = thread_cpu_seconds();
    let outcome = pipeline.enrich(record, usize::MAX);
    let encoded = outcome
        .ok()
        .and_then(Enrichment::into_article)
        .map(|article| serde_json::to_vec(&article).unwrap().len());
    std::hint::black_box(encoded);
    thread_cpu_seconds() - started
}

fn max_bytes() -> usize {
    let default = if cfg!(debug_assertions) {
        1 << 20
    } else {
        10 << 20
    };
    std::env::var("NEWSFLOW_SCALING_MAX_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn every_stage_is_near_linear_on_pathological_shapes() {
    let pipeline = Pipeline::standard(Arc::new(Reference::load()));
    let largest = max_bytes();
    let mut failures = Vec::new();
    let only = std::env::var("NEWSFLOW_SCALING_SHAPE").ok();
    for shape in SHAPES {
        if only
            .as_deref()
            .is_some_and(|name| !shape.name.contains(name))
        {
            continue;
        }
        let records: Vec<Vec<u8>> = [largest / 16, largest / 4, largest]
            .iter()
            .map(|&bytes| record(shape, bytes))
            .collect();
        if let Some(dir) = std::env::var_os("NEWSFLOW_SCALING_DUMP") {
            let name = shape.name.replace(' ', "-");
            let path = std::path::Path::new(&dir).join(format!("{name}.jsonl"));
            std::fs::write(path, &records[2]).expect("dump the largest record");
        }
        // Sizes take turns, so that a busy moment of the machine does not fall on one size
        // alone; the least time of each is kept.
        let mut costs = [f64::INFINITY; 3];
        for _ in 0..RUNS {
            for (least, record) in costs.iter_mut().zip(&records) {
                *least = least.min(cost(&pipeline, record));
            }
        }
        let growth = costs[2] / costs[0].max(1e-6);
        eprintln!(
            "{:<24} {:>8.3} s {:>8.3} s {:>8.3} s  16x costs {growth:.1}x",
            shape.name, costs[0], costs[1], costs[2]
        );
        if growth > MAX_GROWTH {
            failures.push(format!("{}: {growth:.1}x", shape.name));
        }
    }
    assert!(
        failures.is_empty(),
        "super-linear growth at 16x the input: {failures:?}"
    );
}
