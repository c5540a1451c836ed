# newsflow container image: a build stage with the Rust toolchain, and a small Debian
# runtime stage that runs as a non-root user.
#   docker build -t newsflow .
#   docker run --rm -e NEWSFLOW_BROKERS=kafka:9092 -p 9898:9898 newsflow

FROM rust:1-bookworm AS build
# librdkafka is built from source by rdkafka-sys (with OpenSSL for SASL_SSL/SSL clusters).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libssl-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src src
COPY data data
COPY benches benches
RUN cargo build --release --locked --bin newsflow \
    && strip target/release/newsflow

FROM debian:bookworm-slim
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
