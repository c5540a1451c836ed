#!/usr/bin/env bash
# Starts a local tansu broker on 127.0.0.1 with in-memory storage and creates newsflow's
# topics, for trying `newsflow run` by hand. Ctrl-C stops it (and forgets every record).
#   scripts/broker.sh [PORT] [PARTITIONS]
set -euo pipefail
PORT="${1:-9092}"
PARTITIONS="${2:-4}"
cd "$(dirname "$0")/.."
scripts/install-tansu.sh >/dev/null
export PATH="$HOME/.cargo/bin:$PATH"
URL="tcp://127.0.0.1:$PORT"
tansu broker --storage-engine memory://tansu/ --listener-url "$URL" --advertised-listener-url "$URL" &
BROKER=$!
trap 'kill $BROKER 2>/dev/null' EXIT INT TERM
for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
    sleep 0.2
done
for topic in news.raw news.enriched news.events news.dlq; do
    tansu topic create --broker "$URL" --partitions "$PARTITIONS" "$topic" >/dev/null
done
echo "tansu is listening on 127.0.0.1:$PORT with topics news.raw, news.enriched, news.events, news.dlq."
# tansu holds each fetch for the consumer's whole fetch.wait.max.ms (500 ms by default), even
# when records are waiting.
echo "Try: newsflow run --brokers 127.0.0.1:$PORT -X consumer.fetch.wait.max.ms=10"
wait $BROKER
