#!/usr/bin/env bash
# Installs Prometheus and promtool (Debian's prometheus package) unless promtool is already
# on PATH: `make lint` checks and unit-tests the alert rules with promtool, and an
# integration test scrapes a running newsflow with a real Prometheus.
set -euo pipefail
if command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1; then
    echo "prometheus: $(command -v prometheus)"
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
echo "Installing Debian's prometheus package (prometheus and promtool)..."
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus \
    || { $SUDO apt-get update && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus; }
