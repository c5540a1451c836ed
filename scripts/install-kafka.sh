#!/usr/bin/env bash
# Resolves Apache Kafka (the broker of the integration tests, the end-to-end benchmark and
# `make broker`) and its runtime dependencies from Maven Central, with Maven, into
#   ${XDG_CACHE_HOME:-~/.cache}/newsflow/kafka-VERSION/libs
# and prints that directory's parent. No tarball: Kafka's jars are published on Maven
# Central, the release archives are not. A marker holding the POM's checksum is written
# last, so a half-done install (or a changed pin) is redone and a finished one returns at
# once. Maven's own cache (~/.m2) makes a redo quick too.
#   scripts/install-kafka.sh            (KAFKA_VERSION overrides the pinned release)
# Needs Java 17+ and Maven 3.6+.
set -euo pipefail
KAFKA_VERSION="${KAFKA_VERSION:-4.4.0}"
# Kafka's POM brings no logging backend (its release archive adds log4j2 by hand): the
# broker logs through slf4j 1.7, so log4j2's binding for slf4j 1.x and log4j-core.
LOG4J_VERSION=2.24.3
# Pinned, and old enough for Debian's Maven 3.8 (3.9 and later need Maven 3.9).
DEPENDENCY_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1
DEST="${XDG_CACHE_HOME:-$HOME/.cache}/newsflow/kafka-$KAFKA_VERSION"
MARKER="$DEST/installed"

pom() {
    cat <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>newsflow</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>$KAFKA_VERSION</version>
    </dependency>
    <!-- Its topic command, for make broker; without Kafka Connect, which no tool used here
         needs. -->
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka-tools</artifactId>
      <version>$KAFKA_VERSION</version>
      <exclusions>
        <exclusion>
          <groupId>org.apache.kafka</groupId>
          <artifactId>connect-runtime</artifactId>
        </exclusion>
      </exclusions>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-core</artifactId>
      <version>$LOG4J_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>$LOG4J_VERSION</version>
    </dependency>
  </dependencies>
</project>
EOF
}

checksum=$(pom | sha256sum | cut -d' ' -f1)
installed() {
    [ "$(cat "$MARKER" 2>/dev/null)" = "$checksum" ]
}
if installed; then
    echo "$DEST"
    exit 0
fi
# One install at a time (two test runs starting together): the second finds it done.
mkdir -p "$(dirname "$DEST")"
exec 9>"$DEST.lock"
flock 9
if installed; then
    echo "$DEST"
    exit 0
fi
command -v java >/dev/null || { echo "install-kafka.sh: java (17 or newer) is needed" >&2; exit 1; }
command -v mvn >/dev/null || { echo "install-kafka.sh: mvn (Maven) is needed" >&2; exit 1; }

echo "Resolving Apache Kafka $KAFKA_VERSION from Maven Central into $DEST..." >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pom >"$work/pom.xml"
# Debian's Maven prints colour resets even in batch mode: filtered out of its errors.
mvn --batch-mode --quiet --file "$work/pom.xml" "$DEPENDENCY_PLUGIN:copy-dependencies" \
    -DincludeScope=runtime -DoutputDirectory="$work/libs" 2>&1 | sed 's/\x1b\[0m//g' >&2
rm -rf "$DEST"
mkdir -p "$DEST"
mv "$work/libs" "$DEST/libs"
echo "$checksum" >"$MARKER"
echo "$DEST"
