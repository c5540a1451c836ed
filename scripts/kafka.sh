#!/usr/bin/env bash
# Apache Kafka in KRaft mode on 127.0.0.1, every node both controller and broker: the broker
# of the integration tests, the end-to-end benchmark and `make broker`. Its jars come from
# scripts/install-kafka.sh (run on first use).
#
#   scripts/kafka.sh start DIR [--nodes N] [--port P] [--owner PID]
#       Formats N nodes (1 by default) under DIR with a fresh cluster id, starts them, waits
#       until each one is unfenced and serves clients, and prints the bootstrap address. P
#       is the first node's client port; the other ports are free ones. With --owner, a
#       watchdog kills the nodes and removes DIR once process PID has exited, so that a test
#       run that dies leaves no JVM behind.
#   scripts/kafka.sh stop DIR               stops every node (SIGTERM; SIGKILL after 30 s)
#   scripts/kafka.sh kill DIR [NODE]        SIGKILLs node NODE (1 to N), or every node
#   scripts/kafka.sh restart DIR NODE       starts a stopped node again, on its data and ports
#   scripts/kafka.sh topic DIR NAME PARTITIONS   creates a topic, on min(N, 3) replicas
#   scripts/kafka.sh run [--nodes N] [--port P] [--partitions N] [TOPIC...]
#       A cluster in a temporary directory with those topics, until Ctrl-C (`make broker`).
#
# DIR holds `bootstrap` (the address), `nodes` (N) and node-K/ for each node K:
# server.properties, log4j2.properties, server.log (warnings and errors; KAFKA_LOG_LEVEL
# changes that), stdout.log, pid and data/. Node K has node.id K. KAFKA_HEAP_OPTS and
# KAFKA_JVM_PERFORMANCE_OPTS replace the JVM flags, as in Kafka's own scripts.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
START_TIMEOUT="${KAFKA_START_TIMEOUT:-120}"
HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms64m -Xmx384m}"
# A serial collector and no C2 compiler: faster starts, and tests move little data.
PERFORMANCE_OPTS="${KAFKA_JVM_PERFORMANCE_OPTS:--XX:+UseSerialGC -XX:TieredStopAtLevel=1}"
# What a node logs once the controller has unfenced it and it serves clients.
READY_LINE='Kafka Server started'
INSTALL_DIR=""

die() {
    echo "kafka.sh: $*" >&2
    exit 1
}

# Sets JAVA to a java command line: LOG4J_CONFIG MAIN_CLASS ARGS...
java_command() {
    local log4j_config="$1"
    shift
    [ -n "$INSTALL_DIR" ] || INSTALL_DIR=$("$ROOT/scripts/install-kafka.sh")
    # shellcheck disable=SC2206 # the option strings are lists of flags
    JAVA=(java $HEAP_OPTS $PERFORMANCE_OPTS -Djava.awt.headless=true
        "-Dlog4j2.configurationFile=$log4j_config" -cp "$INSTALL_DIR/libs/*" "$@")
}

# COUNT ports below the kernel's ephemeral range (so that no outgoing connection takes one
# while its node is down) that nothing answers on now, none of them in EXCLUDED. Two
# clusters starting at once may still pick the same port: `start` then tries again.
free_ports() {
    local count="$1" excluded="${2:-}" below picked=() port
    below=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range)
    [ "$below" -gt 20000 ] || below=65536 # an ephemeral range that leaves little below it
    while [ "${#picked[@]}" -lt "$count" ]; do
        port=$((10000 + (RANDOM * 32768 + RANDOM) % (below - 10000)))
        [[ " ${picked[*]} $excluded " == *" $port "* ]] && continue
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue
        picked+=("$port")
    done
    echo "${picked[@]}"
}

# Kafka's cluster ids are 16 random bytes in unpadded URL-safe base64, never starting with
# "-": the storage tool takes one that does (1 in 64) for an option and refuses to format.
cluster_id() {
    local id=-
    while [[ "$id" == -* ]]; do
        id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
    done
    echo "$id"
}

node_count() {
    [ -f "$1/nodes" ] || die "no cluster in $1"
    cat "$1/nodes"
}

# The pid of the JVM of node directory $1 while it runs. Checked against its command line,
# so that a pid the system has reused is never signalled.
node_pid() {
    local node="$1" pid
    pid=$(cat "$node/pid" 2>/dev/null) || return 1
    [[ "$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline")" == *" $node/server.properties"* ]] || return 1
    echo "$pid"
}

ready_lines() {
    local count
    count=$(grep -c "$READY_LINE" "$1/server.log" 2>/dev/null) || true
    echo "${count:-0}"
}

# The fields of /proc/PID/stat for process $1 after its command name (the state first), empty
# once it is gone.
proc_stat() {
    sed 's/.*) //' "/proc/$1/stat" 2>/dev/null
}

# Start time of process $1 (clock ticks after boot), empty once it is gone: a pid and its
# start time name one process for good.
start_time() {
    proc_stat "$1" | cut -d' ' -f20
}

# Whether process $1, started at $2 (start_time), still runs: neither gone, nor a zombie
# waiting to be reaped, nor another process that took its pid.
alive() {
    local stat
    stat=$(proc_stat "$1") || return 1
    [[ -n "$stat" && "${stat%% *}" != [ZX] ]] && [ "$(cut -d' ' -f20 <<<"$stat")" = "$2" ]
}

write_node_config() {
    local node="$1" id="$2" port="$3" controller_port="$4" voters="$5" nodes="$6"
    local replicas=$((nodes < 3 ? nodes : 3))
    local min_insync=$((replicas > 1 ? 2 : 1))
    mkdir -p "$node/data"
    cat >"$node/server.properties" <<EOF
process.roles=broker,controller
node.id=$id
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
controller.quorum.voters=$voters
log.dirs=$node/data
# Topics are created by whoever needs them, with their partition counts: a forgotten one is
# an error, not a topic of one partition.
auto.create.topics.enable=false
default.replication.factor=$replicas
min.insync.replicas=$min_insync
offsets.topic.replication.factor=$replicas
transaction.state.log.replication.factor=$replicas
transaction.state.log.min.isr=$min_insync
share.coordinator.state.topic.replication.factor=$replicas
share.coordinator.state.topic.min.isr=$min_insync
# Internal topics of 4 partitions instead of 50: created in a moment, enough for tests.
offsets.topic.num.partitions=4
transaction.state.log.num.partitions=4
# Groups form at once instead of waiting 3 s for more members.
group.initial.rebalance.delay.ms=0
# A killed node is fenced (its partitions led elsewhere) after 5 s instead of 9, and may
# register again once fenced: restarts and failovers wait that long.
broker.heartbeat.interval.ms=1000
broker.session.timeout.ms=5000
EOF
    cat >"$node/log4j2.properties" <<EOF
status = error
appender.file.type = File
appender.file.name = file
appender.file.fileName = $node/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = ${KAFKA_LOG_LEVEL:-WARN}
rootLogger.appenderRef.file.ref = file
logger.ready.name = kafka.server.KafkaRaftServer
logger.ready.level = INFO
EOF
}

# Starts node K of cluster DIR in a session of its own: a Ctrl-C meant for a test run does
# not reach it, and its process group is killed whole. Its pid file appears whole (renamed
# into place), never empty or half written.
launch_node() {
    local node="$1/node-$2"
    java_command "$node/log4j2.properties" kafka.Kafka "$node/server.properties"
    rm -f "$node/pid"
    # shellcheck disable=SC2016 # expanded by the inner shell, which becomes the JVM
    setsid bash -c 'echo $$ >"$0/pid.new" && mv "$0/pid.new" "$0/pid" && exec "$@"' \
        "$node" "${JAVA[@]}" </dev/null >>"$node/stdout.log" 2>&1 &
}

# Waits until node K of DIR has logged READY_LINE more than SEEN times; fails if it exits
# first or takes longer than START_TIMEOUT. Whether it still runs is told by the pid its
# launch wrote and that process's start time, not by its command line (which reads empty
# for a moment while the launching shell becomes the JVM).
wait_node() {
    local node="$1/node-$2" seen="$3" deadline=$((SECONDS + START_TIMEOUT)) pid="" started=""
    while [ "$(ready_lines "$node")" -le "$seen" ]; do
        if [ -z "$pid" ] && pid=$(cat "$node/pid" 2>/dev/null); then
            started=$(start_time "$pid") || true
        fi
        if [ -n "$pid" ] && ! alive "$pid" "$started"; then
            # It may have logged the line between the two looks.
            [ "$(ready_lines "$node")" -le "$seen" ] || return 0
            echo "kafka.sh: node $2 exited while starting; the end of its logs:" >&2
            tail -n 20 "$node/stdout.log" "$node/server.log" >&2 2>/dev/null || true
            return 1
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "kafka.sh: node $2 did not start within $START_TIMEOUT s" >&2
            return 1
        fi
        sleep 0.2
    done
}

# Writes the configuration of NODES nodes under DIR, formats their storage with one fresh
# cluster id, starts them and waits until every one serves.
form_cluster() {
    local dir="$1" nodes="$2" first_port="$3" ports voters="" bootstrap="" k id pids=()
    read -ra ports <<<"$(free_ports $((2 * nodes)) "$first_port")"
    [ -z "$first_port" ] || ports[0]="$first_port"
    for k in $(seq "$nodes"); do
        voters+="${voters:+,}$k@127.0.0.1:${ports[2 * k - 1]}"
        bootstrap+="${bootstrap:+,}127.0.0.1:${ports[2 * k - 2]}"
    done
    for k in $(seq "$nodes"); do
        write_node_config "$dir/node-$k" "$k" "${ports[2 * k - 2]}" "${ports[2 * k - 1]}" \
            "$voters" "$nodes"
    done
    id=$(cluster_id)
    for k in $(seq "$nodes"); do
        java_command "$dir/node-$k/log4j2.properties" kafka.tools.StorageTool format \
            --cluster-id "$id" --config "$dir/node-$k/server.properties"
        "${JAVA[@]}" >"$dir/node-$k/format.log" 2>&1 &
        pids+=($!)
    done
    for k in $(seq "$nodes"); do
        wait "${pids[k - 1]}" || { cat "$dir/node-$k/format.log" >&2; return 1; }
    done
    echo "$bootstrap" >"$dir/bootstrap"
    echo "$nodes" >"$dir/nodes"
    for k in $(seq "$nodes"); do
        launch_node "$dir" "$k"
    done
    for k in $(seq "$nodes"); do
        wait_node "$dir" "$k" 0 || return 1
    done
}

# Sends SIGNAL to node K of DIR (or every node, for an empty K) and waits up to TENTHS
# tenths of a second until they are gone (their ports free); returns 1 if some still run.
signal_nodes() {
    local dir="$1" signal="$2" tenths="$3" only="${4:-}" k pid
    for k in $(seq "$(node_count "$dir")"); do
        [ -z "$only" ] || [ "$only" = "$k" ] || continue
        if pid=$(node_pid "$dir/node-$k"); then
            kill "-$signal" -- "-$pid" 2>/dev/null || true
        fi
    done
    for _ in $(seq "$tenths"); do
        local alive=0
        for k in $(seq "$(node_count "$dir")"); do
            [ -z "$only" ] || [ "$only" = "$k" ] || continue
            node_pid "$dir/node-$k" >/dev/null && alive=1
        done
        [ "$alive" = 0 ] && return 0
        sleep 0.1
    done
    return 1
}

# SIGKILLs node K of DIR, or every node, and waits until they are gone (their ports free).
kill_nodes() {
    signal_nodes "$1" KILL 100 "${2:-}" || die "nodes of $1 still run after SIGKILL"
}

cmd_start() {
    local dir="" nodes=1 port="" owner="" attempt
    while [ $# -gt 0 ]; do
        case "$1" in
        --nodes) nodes="$2" && shift 2 ;;
        --port) port="$2" && shift 2 ;;
        --owner) owner="$2" && shift 2 ;;
        -*) die "unknown option $1" ;;
        *) dir="$1" && shift ;;
        esac
    done
    [ -n "$dir" ] || die "start: which directory?"
    [[ "$nodes" =~ ^[1-9][0-9]?$ ]] || die "start: --nodes must be a number from 1 to 99"
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    [ ! -e "$dir/nodes" ] || die "$dir already holds a cluster"
    if [ -n "$owner" ]; then
        local owner_started
        owner_started=$(start_time "$owner")
        [ -n "$owner_started" ] || die "no process $owner"
        setsid "$ROOT/scripts/kafka.sh" watch "$dir" "$owner" "$owner_started" </dev/null >/dev/null 2>&1 &
    fi
    for attempt in 1 2 3; do
        form_cluster "$dir" "$nodes" "$port" && break
        [ ! -f "$dir/nodes" ] || kill_nodes "$dir"
        if [ "$attempt" -lt 3 ] && grep -qs 'Address already in use' "$dir"/node-*/*.log; then
            echo "kafka.sh: a port was taken meanwhile; trying other ports" >&2
            rm -rf "$dir"/node-* "$dir/nodes" "$dir/bootstrap"
            continue
        fi
        die "the cluster in $dir did not start"
    done
    cat "$dir/bootstrap"
}

cmd_stop() {
    local dir="$1"
    signal_nodes "$dir" TERM 300 && return 0
    # A cluster stopped whole can wait long for a quorum that is leaving too.
    kill_nodes "$dir"
}

cmd_restart() {
    local dir="$1" k="$2" seen
    [ -d "$dir/node-$k" ] || die "no node $k in $dir"
    ! node_pid "$dir/node-$k" >/dev/null || die "node $k of $dir still runs"
    seen=$(ready_lines "$dir/node-$k")
    launch_node "$dir" "$k"
    wait_node "$dir" "$k" "$seen"
}

cmd_topic() {
    local dir="$1" name="$2" partitions="$3" nodes
    nodes=$(node_count "$dir")
    cat >"$dir/tools-log4j2.properties" <<EOF
status = error
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %p %m%n
rootLogger.level = WARN
rootLogger.appenderRef.console.ref = console
EOF
    HEAP_OPTS="-Xmx128m" java_command "$dir/tools-log4j2.properties" \
        org.apache.kafka.tools.TopicCommand --bootstrap-server "$(cat "$dir/bootstrap")" \
        --create --topic "$name" --partitions "$partitions" \
        --replication-factor $((nodes < 3 ? nodes : 3))
    "${JAVA[@]}" >/dev/null
}

# Kills the nodes and removes DIR once process OWNER (started at OWNER_STARTED) has exited,
# unless DIR was removed first (the cluster was stopped by its owner).
cmd_watch() {
    local dir="$1" owner="$2" owner_started="$3"
    while [ -d "$dir" ] && [ "$(start_time "$owner")" = "$owner_started" ]; do
        sleep 1
    done
    [ -d "$dir" ] || exit 0
    [ ! -f "$dir/nodes" ] || kill_nodes "$dir"
    rm -rf "$dir"
}

cmd_run() {
    local start_args=() partitions=4 topics=() dir bootstrap topic
    while [ $# -gt 0 ]; do
        case "$1" in
        --nodes | --port) start_args+=("$1" "$2") && shift 2 ;;
        --partitions) partitions="$2" && shift 2 ;;
        -*) die "unknown option $1" ;;
        *) topics+=("$1") && shift ;;
        esac
    done
    dir=$(mktemp -d "${TMPDIR:-/tmp}/newsflow-kafka.XXXXXX")
    trap 'cmd_stop "$dir" 2>/dev/null; rm -rf "$dir"' EXIT
    trap 'exit 0' INT TERM
    bootstrap=$(cmd_start "$dir" --owner $$ "${start_args[@]}")
    for topic in "${topics[@]}"; do
        cmd_topic "$dir" "$topic" "$partitions"
    done
    echo "Apache Kafka is listening on $bootstrap${topics[*]:+ with topics ${topics[*]}}."
    echo "Ctrl-C stops it and forgets every record. Logs: $dir/node-*/server.log"
    while node_pid "$dir/node-1" >/dev/null; do
        sleep 1
    done
    die "node 1 exited; see $dir/node-1/server.log"
}

command="${1:-}"
[ $# -gt 0 ] && shift
case "$command" in
start) cmd_start "$@" ;;
stop) [ $# = 1 ] || die "usage: stop DIR" && cmd_stop "$1" ;;
kill) [ $# -ge 1 ] || die "usage: kill DIR [NODE]" && kill_nodes "$@" ;;
restart) [ $# = 2 ] || die "usage: restart DIR NODE" && cmd_restart "$1" "$2" ;;
topic) [ $# = 3 ] || die "usage: topic DIR NAME PARTITIONS" && cmd_topic "$1" "$2" "$3" ;;
watch) cmd_watch "$@" ;;
run) cmd_run "$@" ;;
*) die "usage: kafka.sh start|stop|kill|restart|topic|run ... (see the top of this file)" ;;
esac
