# newsflow container image: a build stage with the Rust toolchain, and a small Debian
# runtime stage that runs as a non-root user.
#   docker build -t newsflow .
#   docker run --rm -e NEWSFLOW_BROKERS=kafka:9092 -p 9898:9898 newsflow
#   docker build --build-arg FEATURES="kerberos oidc" -t newsflow:secured .

# Base images pinned to exact versions (Rust as in rust-version or newer; Debian 12
# "bookworm", whose libssl3 the binary links against).
FROM rust:1.95.0-bookworm AS build
# Cargo features: `kerberos` (SASL/GSSAPI) and `oidc` (OAUTHBEARER tokens over OIDC).
ARG FEATURES=""
# librdkafka is built from source by rdkafka-sys (with OpenSSL for SASL_SSL/SSL clusters;
# Cyrus SASL and libcurl for the optional features).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libssl-dev pkg-config libsasl2-dev libcurl4-openssl-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, against stub sources: this layer (librdkafka's C build included) is
# rebuilt only when Cargo.toml or Cargo.lock change, not at every source change. The stubs'
# own artefacts are removed so that the real sources are compiled below.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src benches \
    && touch src/lib.rs \
    && for target in src/main.rs benches/stages.rs benches/end_to_end.rs; do echo 'fn main() {}' > "$target"; done \
    && cargo build --release --locked --bin newsflow --features "$FEATURES" \
    && rm -rf src benches target/release/.fingerprint/newsflow-* target/release/deps/newsflow-* \
        target/release/deps/libnewsflow-*
COPY src src
COPY data data
COPY benches benches
RUN cargo build --release --locked --bin newsflow --features "$FEATURES" \
    && strip target/release/newsflow

FROM debian:12.12-slim
ARG FEATURES=""
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates libssl3 \
        $(case "$FEATURES" in *kerberos*) echo libsasl2-2 libsasl2-modules-gssapi-mit;; esac) \
        $(case "$FEATURES" in *oidc*) echo libcurl4;; esac) \
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
