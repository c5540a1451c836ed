#!/usr/bin/env bash
# The optional Cargo features for secured clusters (kerberos: Cyrus SASL; oidc: libcurl)
# built and tested: their system libraries are installed from Debian's packages if
# missing, then the test that librdkafka accepts GSSAPI and OIDC in such a build runs.
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO="${CARGO:-cargo}"
packages=(libsasl2-dev libcurl4-openssl-dev)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
        SUDO="sudo"
    fi
    echo "Installing ${missing[*]} (for the kerberos and oidc features)..."
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null \
        || { $SUDO apt-get update >/dev/null && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; }
fi
$CARGO test --lib --features kerberos,oidc -- kafka::check::tests::secured_cluster
