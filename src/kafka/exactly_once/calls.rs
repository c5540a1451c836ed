//! The transaction calls of the exactly-once loop: run off the async reactor, retried while
//! librdkafka says a retry may succeed, bounded in time when librdkafka itself does not
//! bound them, and their errors told apart (abortable, fenced, fatal).

use std::time::Duration;

use rdkafka::client::Client;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::ClientContext;

use super::super::RunError;

/// Repeats a transaction call while librdkafka says the same call may succeed if retried
/// (a timeout, a coordinator moving), a few times.
pub fn retrying(mut call: impl FnMut() -> Result<(), KafkaError>) -> Result<(), KafkaError> {
    let mut attempts = 1;
    loop {
        match call() {
            Err(KafkaError::Transaction(inner)) if inner.is_retriable() && attempts < 5 => {
                attempts += 1;
                std::thread::sleep(Duration::from_millis(100 * attempts));
            }
            outcome => return outcome,
        }
    }
}

/// Once [`within`]'s limit has passed, how much longer the call still gets, counted from
/// then: a process that was paused (SIGSTOP, a frozen machine) finds the limit passed as it
/// wakes, and its call, whose answer may take a moment (a zombie's: it was fenced), must
/// not count as stuck for the pause.
pub const AWAKE_GRACE: Duration = Duration::from_secs(10);

/// Runs a blocking call on a thread of its own and waits up to `limit` for it to return, and
/// `grace` more once the limit has passed ([`AWAKE_GRACE`]); `None` if it has not. A call that never returns then holds only
/// that thread, not one of tokio's blocking pool, whose shutdown would wait for it.
pub async fn within<T: Send + 'static>(
    limit: Duration,
    grace: Duration,
    call: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let (sender, receiver) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("newsflow-txn".into())
        .spawn(move || {
            let _ = sender.send(call());
        })
        .expect("a thread for a transaction call");
    let mut receiver = std::pin::pin!(receiver);
    let returned = match tokio::time::timeout(limit, &mut receiver).await {
        Ok(returned) => returned,
        Err(_) => tokio::time::timeout(grace, receiver).await.ok()?,
    };
    Some(returned.expect("transaction calls do not panic"))
}

pub fn is_abortable(error: &KafkaError) -> bool {
    match error {
        KafkaError::Transaction(inner) => inner.txn_requires_abort(),
        // A produce librdkafka refused at once (its queue closed, say) aborts it too.
        _ => true,
    }
}

/// Whether `code` says that a newer producer with the same transactional id has taken over:
/// PRODUCER_FENCED; INVALID_PRODUCER_EPOCH, which is how Apache Kafka answers a zombie's
/// offsets or produce carrying the epoch the newer producer's InitProducerId bumped (the
/// same fencing, told by another request); and librdkafka's own `_FENCED`, into which it
/// folds both for its transaction calls.
fn is_fencing(code: RDKafkaErrorCode) -> bool {
    matches!(
        code,
        RDKafkaErrorCode::Fenced
            | RDKafkaErrorCode::ProducerFenced
            | RDKafkaErrorCode::InvalidProducerEpoch
    )
}

/// Whether `error`, from a transactional producer's `client`, means it was fenced: by its
/// own code, or, for an error raised after the producer failed for good (librdkafka then
/// answers every call with `_FATAL`), by the code of that fatal error.
pub fn is_fenced<C: ClientContext>(client: &Client<C>, error: &KafkaError) -> bool {
    error.rdkafka_error_code().is_some_and(is_fencing)
        || client
            .fatal_error()
            .is_some_and(|(code, _)| is_fencing(code))
}

/// The error that stops the run after a transaction call failed for good: [`RunError::Fenced`]
/// when a newer producer fenced this one, else [`RunError::Transaction`].
pub fn beyond_recovery<C: ClientContext>(
    client: &Client<C>,
    transactional_id: &str,
    error: KafkaError,
) -> RunError {
    if is_fenced(client, &error) {
        RunError::Fenced {
            transactional_id: transactional_id.to_owned(),
            source: error,
        }
    } else {
        RunError::Transaction(error)
    }
}

/// Runs a blocking transaction call on tokio's blocking pool.
pub async fn blocking<T: Send + 'static>(
    call: impl FnOnce() -> Result<T, KafkaError> + Send + 'static,
) -> Result<T, KafkaError> {
    tokio::task::spawn_blocking(call)
        .await
        .expect("transaction calls do not panic")
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    /// A call that returns in time gives its result, also one that returns within the
    /// grace after the limit (as after a pause); one that does not is left on its thread,
    /// and the caller goes on.
    #[tokio::test]
    async fn a_call_that_does_not_return_in_time_is_left_behind() {
        let quick = within(Duration::from_secs(5), Duration::ZERO, || 7).await;
        assert_eq!(quick, Some(7));
        let late = within(Duration::from_millis(50), Duration::from_secs(5), || {
            std::thread::sleep(Duration::from_millis(200));
            8
        });
        assert_eq!(late.await, Some(8));
        let (release, blocked) = std::sync::mpsc::channel::<()>();
        let started = Instant::now();
        let limit = Duration::from_millis(100);
        let stuck = within(limit, limit, move || blocked.recv().is_ok()).await;
        assert_eq!(stuck, None);
        assert!(started.elapsed() < Duration::from_secs(5));
        drop(release);
    }

    /// Other fatal errors stay transaction errors; a call refused after the producer was
    /// fenced is told by the fatal error behind it.
    #[test]
    fn only_fencing_codes_are_fencing() {
        for code in [
            RDKafkaErrorCode::Fenced,
            RDKafkaErrorCode::ProducerFenced,
            RDKafkaErrorCode::InvalidProducerEpoch,
        ] {
            assert!(is_fencing(code), "{code:?}");
        }
        for code in [
            RDKafkaErrorCode::Fatal,
            RDKafkaErrorCode::MessageTimedOut,
            RDKafkaErrorCode::TransactionCoordinatorFenced,
            RDKafkaErrorCode::FencedLeaderEpoch,
            RDKafkaErrorCode::InvalidTransactionalState,
        ] {
            assert!(!is_fencing(code), "{code:?}");
        }
    }
}
