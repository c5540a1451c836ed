//! `newsflow run --guarantee exactly-once` on Apache Kafka, whose transactions hide what
//! is aborted from `read_committed` readers: every article's outputs are committed in
//! transactions, and such a reader sees each article, each event and each dead letter
//! exactly once, also when the pipeline is SIGKILLed (inside open transactions too) and
//! restarted, and when a second process with the same transactional id takes over from a
//! paused one (a zombie, which is fenced).
//!
//! Sizes are small enough for `make test`; `make chaos` runs the kill test at full size
//! (NEWSFLOW_CHAOS_ARTICLES=20000, NEWSFLOW_CHAOS_KILLS=3). The kill moments come from a
//! seeded generator whose seed is printed (NEWSFLOW_CHAOS_SEED repeats a run).

mod support;

use std::time::Duration;

use support::{
    articles, free_port, http_get, keys, metric, pipeline_command, setting, signal, terminate,
    wait_exit, warnings, Broker, Guarantee, Input, KeyTally, Outputs, Rng, Running, SpawnRunning,
    Topics, TransactionWatch,
};

const PARTITIONS: i32 = 3;
const ARTICLES: usize = 1500;
/// How long the input takes to arrive when it arrives while the test kills pipelines.
const FEED_TIME: Duration = Duration::from_secs(10);
/// How long reading every output may take.
const READ_TIMEOUT: Duration = Duration::from_secs(180);

/// Records per transaction, small enough that the run takes many transactions.
const TRANSACTION_MAX_RECORDS: usize = 100;

/// `newsflow run` in exactly-once mode on `topics`, with transactional id
/// `transactional_id`, at most `max_records` records per transaction.
fn start_pipeline(
    topics: &Topics,
    transactional_id: &str,
    metrics_port: u16,
    max_records: usize,
) -> Running {
    pipeline(topics, transactional_id, metrics_port, max_records).spawn_running("newsflow")
}

/// [`start_pipeline`]'s command, to change before spawning it.
fn pipeline(
    topics: &Topics,
    transactional_id: &str,
    metrics_port: u16,
    max_records: usize,
) -> std::process::Command {
    let mut command = pipeline_command(Broker::shared().address(), topics, metrics_port);
    Guarantee::ExactlyOnce
        .apply(&mut command, transactional_id)
        .args(["--transaction-max-records", &max_records.to_string()]);
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_article_is_committed_once_through_transactions() {
    let broker = Broker::shared();
    let topics = Topics::create(broker, "committed", PARTITIONS as u32);
    let input = articles(ARTICLES);
    broker.produce(&topics.input, &input).await;

    let metrics_port = free_port();
    let mut pipeline = start_pipeline(
        &topics,
        "committed-replica-0",
        metrics_port,
        TRANSACTION_MAX_RECORDS,
    );
    let mut reader = KeyTally::new(
        broker.address(),
        &topics.output,
        PARTITIONS,
        "read_committed",
    );
    reader.read_until(ARTICLES, READ_TIMEOUT);
    reader.drain(Duration::from_secs(2));
    let (_, metrics) = http_get(metrics_port, "/metrics").expect("metrics");
    terminate(&pipeline);
    assert_eq!(wait_exit(&mut pipeline, Duration::from_secs(30)), Some(0));

    let missing = reader.missing(keys(&input));
    assert!(missing.is_empty(), "{} articles lost", missing.len());
    assert_eq!(reader.duplicates(), 0, "articles seen more than once");
    let committed = metric(
        &metrics,
        "newsflow_transactions_total{result=\"committed\"}",
    );
    assert!(
        committed.is_some_and(|n| n >= (ARTICLES / TRANSACTION_MAX_RECORDS) as f64),
        "committed transactions: {committed:?}"
    );
    // Each committed transaction's steps are timed, every one of them.
    for step in ["ready", "produce", "offsets", "commit"] {
        let series = format!("newsflow_transaction_step_seconds_count{{step=\"{step}\"}}");
        assert_eq!(metric(&metrics, &series), committed, "{series}");
    }
}

/// SIGKILLed at random points (some inside an open transaction, which the broker shows as
/// records stored beyond the last stable offset) and restarted with the same transactional
/// id: each restart fences and aborts what the killed process left open and resumes from
/// the input offsets of its last committed transaction, so a `read_committed` reader sees
/// every article, event and dead letter exactly once. In at-least-once mode, the articles
/// after the last offset commit come out again after a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkilled_and_restarted_pipeline_still_commits_everything_once() {
    let count = setting("NEWSFLOW_CHAOS_ARTICLES", 2000) as usize;
    let kills = setting("NEWSFLOW_CHAOS_KILLS", 2) as usize;
    let mut rng = Rng::from_env("exactly-once kills");
    let broker = Broker::shared();
    let topics = Topics::create(broker, "killed", PARTITIONS as u32);
    let input = Input::new(count);
    let feeder = input.feed(broker, &topics.input, FEED_TIME);
    let mut outputs = Outputs::new(broker.address(), &topics, PARTITIONS, "read_committed");
    let transactions = TransactionWatch::new(broker.address(), &topics.output, PARTITIONS);
    // Larger transactions than the default stay open longer: more kills land inside one.
    let start = || start_pipeline(&topics, "killed-replica-0", free_port(), 300);

    // Kills the pipeline `start` gives once `point` articles are out: inside an open
    // transaction when `aim_inside` (and one opens), else a random moment later. Returns
    // whether it left a transaction open: one seen open may commit before the signal lands,
    // and after the kill nothing commits, so one still open is the kill's doing.
    let mut kill_at = |point: usize, aim_inside: bool, rng: &mut Rng| {
        let mut pipeline = start();
        outputs.read_until(point, 0, READ_TIMEOUT);
        let seen_open = if aim_inside {
            transactions.wait_open(Duration::from_secs(30))
        } else {
            std::thread::sleep(Duration::from_millis(rng.within(0..500)));
            false
        };
        pipeline.kill().expect("SIGKILL");
        let _ = pipeline.wait();
        let inside = seen_open && transactions.open();
        eprintln!(
            "kill after {} articles out, {}",
            outputs.articles.len(),
            if inside {
                "inside an open transaction"
            } else {
                "at a random moment (or just after a commit)"
            }
        );
        inside
    };
    let mut landed_inside = false;
    for round in 0..kills {
        // Each kill falls after a random share of the articles came out, within its own
        // slice of 5% to 90% of them, so that every restarted process runs a while.
        let slice = |r: usize| (5 + 85 * r / kills) as u64;
        let point = rng.within(slice(round)..slice(round + 1)) as usize * count / 100;
        // The first kill always aims at an open transaction, the others when the coin says
        // so.
        let aim_inside = round == 0 || rng.coin();
        landed_inside |= kill_at(point, aim_inside, &mut rng);
    }
    // Until one kill has landed inside an open transaction, once more (at most 3 times).
    for _ in 0..3 {
        if landed_inside {
            break;
        }
        // As soon as the restarted pipeline has a transaction open.
        landed_inside = kill_at(0, true, &mut rng);
    }
    let mut pipeline = start();
    feeder.await.expect("feeder");
    outputs.read_all(&input, READ_TIMEOUT);
    terminate(&pipeline);
    assert_eq!(wait_exit(&mut pipeline, Duration::from_secs(30)), Some(0));

    let what = format!("{kills} kills");
    let aborted = outputs.aborted_records(&input, &what);
    outputs.assert_delivered(&input, Guarantee::ExactlyOnce, &what);
    assert!(
        aborted > 0,
        "no kill landed inside an open transaction: nothing was aborted"
    );
}

/// Pauses `replica` (SIGSTOP) while its transaction is open. A transaction seen open may
/// close after the signal lands: a commit already sent completes on the broker, whose
/// markers a loaded broker can write seconds late. So the transaction must still be open
/// a while after the pause; if not, the replica resumes and the next transaction is tried.
fn pause_inside_transaction(replica: &std::process::Child, transactions: &TransactionWatch) {
    let still_open = |after| {
        std::thread::sleep(after);
        transactions.open()
    };
    for _ in 0..20 {
        assert!(
            transactions.wait_open(Duration::from_secs(30)),
            "no transaction opened"
        );
        signal(replica, "STOP");
        if still_open(Duration::from_millis(500)) && still_open(Duration::from_secs(3)) {
            return;
        }
        signal(replica, "CONT");
    }
    panic!("the replica could not be paused inside a transaction in 20 tries");
}

/// A replica paused (SIGSTOP) inside an open transaction is a zombie: a second process with
/// the same transactional id and group takes over, fences it and aborts its transaction.
/// When the zombie resumes it must not commit: its next transaction call fails for good and
/// it exits 1, saying it was fenced; the new process finishes the input, and a
/// `read_committed` reader sees everything exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zombie_with_the_same_transactional_id_is_fenced_and_commits_nothing() {
    let count = 2000;
    let broker = Broker::shared();
    let topics = Topics::create(broker, "zombie", PARTITIONS as u32);
    let input = Input::new(count);
    let feeder = input.feed(broker, &topics.input, FEED_TIME);
    let mut outputs = Outputs::new(broker.address(), &topics, PARTITIONS, "read_committed");
    let transactions = TransactionWatch::new(broker.address(), &topics.output, PARTITIONS);
    let log = tempfile::NamedTempFile::new().expect("log file");

    let mut zombie = pipeline(&topics, "zombie-replica", free_port(), 300)
        .stderr(log.reopen().expect("log file"))
        .spawn_running("newsflow");
    outputs.read_until(count / 4, 0, READ_TIMEOUT);
    pause_inside_transaction(&zombie, &transactions);
    let paused_at = outputs.articles.len();

    let mut successor = start_pipeline(&topics, "zombie-replica", free_port(), 300);
    // The successor gets the partitions once the zombie's group session (6 s) expired.
    outputs.read_until(paused_at + count / 4, 0, READ_TIMEOUT);
    signal(&zombie, "CONT");
    let zombie_exit = wait_exit(&mut zombie, Duration::from_secs(60));

    feeder.await.expect("feeder");
    outputs.read_all(&input, READ_TIMEOUT);
    terminate(&successor);
    assert_eq!(wait_exit(&mut successor, Duration::from_secs(30)), Some(0));

    let zombie_log = std::fs::read_to_string(log.path()).expect("zombie's log");
    let last_words = zombie_log
        .lines()
        .find(|line| line.contains("\"message\":\"newsflow failed.\""))
        .unwrap_or_default();
    eprintln!("zombie: exit {zombie_exit:?}, last words: {last_words}");
    if zombie_exit != Some(1) {
        eprintln!("zombie: its last warnings:\n{}", warnings(log.path(), 30));
    }
    let what = "a zombie fenced";
    let aborted = outputs.aborted_records(&input, what);
    outputs.assert_delivered(&input, Guarantee::ExactlyOnce, what);
    assert_eq!(zombie_exit, Some(1), "the zombie must stop with an error");
    assert!(
        last_words.to_lowercase().contains("fenced"),
        "the zombie must say that it was fenced"
    );
    assert!(aborted > 0, "the zombie's open transaction was not aborted");
}
