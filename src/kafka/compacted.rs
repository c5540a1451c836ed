//! Reading a compacted topic back: the state that `newsflow ingest` and
//! `newsflow aggregate` keep in Kafka instead of on a local disk.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

/// Reads `partitions` of `topic` (all of them when `None`) from their start to their end,
/// handing each record's key and value to `visit`, oldest first. The consumer must report
/// partition ends (`enable.partition.eof`). Fails when the metadata, or any record, takes
/// longer than `timeout`.
pub fn read_to_end<C: ConsumerContext>(
    consumer: &BaseConsumer<C>,
    topic: &str,
    partitions: Option<&[i32]>,
    timeout: Duration,
    mut visit: impl FnMut(&str, Option<&[u8]>),
) -> Result<(), KafkaError> {
    let wanted: Vec<i32> = match partitions {
        Some(partitions) => partitions.to_vec(),
        None => {
            let metadata = consumer.fetch_metadata(Some(topic), timeout)?;
            metadata
                .topics()
                .iter()
                .filter(|t| t.name() == topic)
                .flat_map(|t| t.partitions().iter().map(|p| p.id()))
                .collect()
        }
    };
    let mut assignment = TopicPartitionList::new();
    for &partition in &wanted {
        assignment.add_partition_offset(topic, partition, Offset::Beginning)?;
    }
    let mut remaining: HashSet<i32> = wanted.into_iter().collect();
    consumer.assign(&assignment)?;
    let mut last_progress = Instant::now();
    while !remaining.is_empty() {
        let Some(polled) = consumer.poll(Duration::from_millis(200)) else {
            if last_progress.elapsed() > timeout {
                return Err(KafkaError::MessageConsumption(
                    RDKafkaErrorCode::OperationTimedOut,
                ));
            }
            continue;
        };
        last_progress = Instant::now();
        match polled {
            Ok(message) => {
                if let Some(Ok(key)) = message.key_view::<str>() {
                    visit(key, message.payload());
                }
            }
            Err(KafkaError::PartitionEOF(partition)) => {
                remaining.remove(&partition);
            }
            Err(error) => return Err(error),
        }
    }
    consumer.unassign()
}
