# newsflow container image: a build stage with the Rust toolchain, and a small Debian
# runtime stage that runs as a non-root user.
#   docker build -t newsflow .
#   docker run --rm -e NEWSFLOW_BROKERS=kafka:9092 -p 9898:9898 newsflow

# Base images pinned to exact versions (Rust as in rust-version or newer; Debian 12
# "bookworm", whose libssl3 the binary links against).
FROM rust:1.95.0-bookworm AS build
# librdkafka is built from source by rdkafka-sys (with OpenSSL for SASL_SSL/SSL clusters).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libssl-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, against stub sources: this layer (librdkafka's C build included) is
# rebuilt only when Cargo.toml or Cargo.lock change, not at every source change. The stubs'
# own artefacts are removed so that the real sources are compiled below.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src benches \
    && touch src/lib.rs \
    && for target in src/main.rs benches/stages.rs benches/end_to_end.rs; do echo 'fn main() {}' > "$target"; done \
    && cargo build --release --locked --bin newsflow \
    && rm -rf src benches target/release/.fingerprint/newsflow-* target/release/deps/newsflow-* \
        target/release/deps/libnewsflow-*
COPY src src
COPY data data
COPY benches benches
RUN cargo build --release --locked --bin newsflow \
    && strip target/release/newsflow

FROM debian:12.12-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates libssl3 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin newsflow
COPY --from=build /src/target/release/newsflow /usr/local/bin/newsflow
USER 10001:10001
# Metrics and health endpoints; bound to all interfaces inside the container.
ENV NEWSFLOW_METRICS_ADDR=0.0.0.0:9898 \
    NEWSFLOW_LOG_FORMAT=json
EXPOSE 9898
ENTRYPOINT ["newsflow"]
CMD ["run"]
