# newsflow: the two commands a newcomer needs are `make run` and `make test`.

CARGO ?= cargo
# The development data sets (make eval, train-topics, bench, soak): the one place their
# location is set; the benchmarks and scripts/bench.sh read the exported variable.
export NEWSFLOW_EVAL_DATA ?= ../shared/eval
SEED ?= tests/golden/seed

.PHONY: run test lint broker eval train train-syntax train-topics train-confidence bench soak chaos fuzz fmt

## run: the pipeline on an embedded broker over the sample feed (no Kafka cluster needed)
run:
	$(CARGO) run --release --quiet --bin newsflow -- demo

## test: lint, unit, golden and integration tests (resolves Apache Kafka, the test broker,
## from Maven Central and installs Prometheus if missing), and the secured-cluster features
## (installs Cyrus SASL and libcurl headers if missing)
test: lint
	scripts/install-kafka.sh >/dev/null
	$(CARGO) test --all-targets
	CARGO=$(CARGO) scripts/test-features.sh

## lint: formatting, clippy and rustdoc (warnings are errors), and deploy/ (alert rules and
## their unit tests, Compose file, Kubernetes manifests, dashboard)
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps --quiet
	scripts/check-deploy.sh

## chaos: the fault tests at full size (20,000 articles, 3 SIGKILLs, in both delivery modes;
## a leader failover under 20,000 articles; a 5-minute broker outage)
chaos:
	scripts/install-kafka.sh >/dev/null
	NEWSFLOW_CHAOS_ARTICLES=20000 NEWSFLOW_CHAOS_KILLS=3 $(CARGO) test --release --test delivery_faults --test exactly_once -- --nocapture
	NEWSFLOW_FAILOVER_ARTICLES=20000 NEWSFLOW_FAILOVER_FEED_SECS=60 $(CARGO) test --release --test failover -- --nocapture
	NEWSFLOW_OUTAGE_SECS=300 $(CARGO) test --release --test mock_cluster broker_outage -- --nocapture

## broker: a local Apache Kafka on 127.0.0.1:9092 with newsflow's topics, for manual runs
## (Ctrl-C stops it)
broker:
	scripts/kafka.sh run --port 9092 news.raw news.enriched news.events news.dlq news.embargoed

## train: rebuilds the trained models in data/ from their corpora, deterministically, and
## prints their held-out scores (corpora: scripts/fetch-corpora.sh fills NEWSFLOW_CORPORA,
## ~/.cache/newsflow/corpora)
train: train-syntax train-topics train-confidence

## train-syntax: the tagger and parser (data/syntax/) from UD English EWT, read from
## UD_EWT (cloned there at the pinned commit if missing)
UD_EWT ?= $(HOME)/.cache/newsflow/corpora/UD_English-EWT
UD_EWT_COMMIT ?= 15d613d8447b3478787d4c278730a1e48a945efb
train-syntax:
	test -d $(UD_EWT) || (git clone --quiet https://github.com/UniversalDependencies/UD_English-EWT $(UD_EWT) \
		&& git -C $(UD_EWT) checkout --quiet $(UD_EWT_COMMIT))
	$(CARGO) build --release --quiet --bin newsflow-train
	nice -n 10 target/release/newsflow-train syntax --treebank $(UD_EWT) --out data/syntax

## eval: precision/recall/F1 per stage on the development data sets (ONLY=events,topics to
## score some of them)
eval:
	$(CARGO) run --release --quiet --bin newsflow-eval -- $(NEWSFLOW_EVAL_DATA) --seed $(SEED) --treebank $(UD_EWT) $(if $(ONLY),--only $(ONLY))

## train-topics: the IPTC topic classifier (data/topics/model.bin): cross-corpus check,
## five-fold cross-validation over the BBC development set, calibration, the shipped model
train-topics:
	$(CARGO) build --release --quiet --bin newsflow-train
	nice -n 10 target/release/newsflow-train topics --bbc $(NEWSFLOW_EVAL_DATA)/topics

## train-confidence: the event confidence model (data/extract/confidence.tsv), fitted on the
## events the coder finds on the PLOVER development sentences and the own Wikinews set, each
## set scored by a model fitted on the other; re-run it whenever the coder finds other events
train-confidence:
	$(CARGO) build --release --quiet --bin newsflow-train
	target/release/newsflow-train confidence --plover $(NEWSFLOW_EVAL_DATA)/events

## bench: per-stage articles/s on one core (criterion), `newsflow process` per data set,
## then end to end through a local Apache Kafka broker (results in bench-results/)
bench:
	$(CARGO) bench --bench stages --no-run --quiet
	taskset -c 0 $(CARGO) bench --bench stages
	$(CARGO) build --release --quiet --bin newsflow
	scripts/bench.sh
	scripts/install-kafka.sh >/dev/null
	$(CARGO) bench --bench end_to_end

## soak: `make bench`'s end-to-end runs, ten minutes at saturation on librdkafka's mock broker
## (it keeps only the newest records), and ten minutes at 1,500 articles/s through Kafka,
## sampling newsflow's resident memory (SOAK_SECONDS, SOAK_RATE to change them; SOAK_RATE=0
## leaves out the run through Kafka)
SOAK_SECONDS ?= 600
SOAK_RATE ?= 1500
soak:
	$(CARGO) build --release --quiet --bin newsflow
	scripts/install-kafka.sh >/dev/null
	NEWSFLOW_BENCH_SOAK_SECONDS=$(SOAK_SECONDS) NEWSFLOW_BENCH_SOAK_RATE=$(SOAK_RATE) $(CARGO) bench --bench end_to_end

## fuzz: mutation fuzzing of the whole record path on a stable toolchain (FUZZ_CASES records
## from a time-based seed, every enriched output checked against the schemas; a failure
## prints the seed), then the stage scaling test on pathological articles up to 10 MB. With
## a nightly toolchain and cargo-fuzz, `cargo fuzz run clean` (fuzz/) drives the clean stage
## with libFuzzer.
FUZZ_CASES ?= 1000000
fuzz:
	NEWSFLOW_FUZZ_CASES=$(FUZZ_CASES) NEWSFLOW_FUZZ_SEED=$$(date +%s) $(CARGO) test --release --test hostile_input -- --nocapture
	$(CARGO) test --release --test stage_scaling -- --nocapture

fmt:
	$(CARGO) fmt --all
