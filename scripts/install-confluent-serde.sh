#!/usr/bin/env bash
# Installs Confluent's Python client with its Schema Registry JSON Schema serializer
# (confluent-kafka, Apache-2.0, from PyPI) in target/confluent-venv, for the Kafka test that
# has it write newsflow's input and read newsflow's framed outputs. Prints the venv's
# python. Quiet and quick when already installed; pip's cache (~/.cache/pip) keeps the
# wheels between clean clones.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=target/confluent-venv
PACKAGE="confluent-kafka[schemaregistry,json]==2.16.1"
if ! "$VENV/bin/python" -c "import confluent_kafka.schema_registry.json_schema" 2>/dev/null; then
    rm -rf "$VENV"
    python3 -m venv "$VENV" >&2
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "$PACKAGE" >&2
fi
echo "$PWD/$VENV/bin/python"
