#!/usr/bin/env bash
# Installs the tansu broker (a Kafka-protocol broker used by the integration tests and
# `make broker`) unless it is already on PATH or in ~/.cargo/bin. The default features have
# no storage engine; `dynostore` brings `memory://`. Building takes ~10 minutes on 2 cores
# the first time; the binary is reused afterwards.
set -euo pipefail
TANSU_VERSION="${TANSU_VERSION:-0.6.0}"
export PATH="$HOME/.cargo/bin:$PATH"
if command -v tansu >/dev/null 2>&1; then
    echo "tansu: $(command -v tansu)"
    exit 0
fi
echo "Installing tansu $TANSU_VERSION (first time only, ~10 minutes)..."
cargo install tansu --version "$TANSU_VERSION" --locked --features dynostore
