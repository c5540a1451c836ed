#!/usr/bin/env python3
"""Maps the raw corpora that scripts/fetch-corpora.sh brought into one JSON Lines file of
labelled items for `newsflow-train topics`.

Usage: prepare_corpora.py RAW_DIR OUT.jsonl

Each output line: {"corpus", "id", "title", "text", "topics": [top-level qcode, optional
second-level qcode]}. The category -> IPTC mappings, with their reasons, are in
data/topics/corpora/*.tsv; the IPTC definitions come from data/topics/iptc-media-topics.tsv.
Lines are sorted by corpus and id and duplicates of a text dropped, so the file is the same
on every run. Needs Python 3 with PyYAML (Debian: python3-yaml).
"""
import csv
import glob
import json
import os
import pickle
import re
import sys
import urllib.parse

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "data", "topics")

# The one heading that spans two IPTC topics ("Health and environment"): an item naming
# one of these is environment, any other is health.
ENVIRONMENT_TERMS = re.compile(
    r"\b(climate|emission|carbon|greenhouse|pollut|environment|species|wildlife|forest|"
    r"deforest|conservation|endangered|extinct|biodiversity|coral|reef|oil spill|glacier|"
    r"ozone|fossil fuel|renewable|whal|habitat|ecolog|national park|poach|smog|recycl|"
    r"plastic waste|drought|sea level|temperature record|warming)",
    re.IGNORECASE,
)
# Labour and weather have no heading of their own in the Current Events Portal, nor a desk
# in the other corpora: items outside the mapped headings ("Uncategorized" and story
# names) or under business and politics that these patterns find are labelled with them.
LABOUR_TERMS = re.compile(
    r"\b(trade unions?|labou?r unions?|general strike|(?:workers|employees|miners|teachers|"
    r"nurses|doctors|pilots|drivers|dockers|staff) (?:strike|walk out|stage a strike|"
    r"begin a strike|went on strike|go on strike)|strike by|minimum wage|unemployment rate|"
    r"jobless rate|collective bargaining|layoffs?|job cuts|walkout|pension reform|"
    r"labou?r dispute|labou?r law)\b",
    re.IGNORECASE,
)
WEATHER_TERMS = re.compile(
    r"\b(heat ?wave|cold wave|cold snap|blizzard|snowstorms?|heavy snow|heavy rain(?:fall)?|"
    r"record temperatures?|hottest|coldest|weather service|meteorolog\w*|monsoon rains|"
    r"hailstorm|freezing temperatures|frost|weather)\b",
    re.IGNORECASE,
)
# Weather that kills is a disaster story first: those items keep out of the weather ones.
CASUALTY_TERMS = re.compile(r"\b(kill\w*|dead|die[sd]?|death\w*|injur\w*|missing)\b",
                            re.IGNORECASE)
# Wikinews files wars and attacks under "Politics and conflicts": an article whose title names
# armed conflict is conflict, war and peace, any other is politics and government.
CONFLICT_TERMS = re.compile(
    r"\b(wars?|warfare|troops|soldiers?|military|militants?|insurgen\w*|rebels?|army|"
    r"armed forces|air ?strikes?|bomb\w*|suicide attack\w*|attack(?:s|ed)?|shelling|"
    r"ceasefire|cease-fire|missiles?|clashes|fighting|gunmen|taliban|al-qaeda|hamas|"
    r"hezbollah|isis|isil|peacekeep\w*|killed|casualties)\b",
    re.IGNORECASE,
)
# An article under several Wikinews categories is filed under the first of them in this
# order: a subject (sport, science and technology, culture, health, ..., the economy) before
# politics, as IPTC files health policy under health and economic policy under the economy;
# technology before culture (games, file sharing, video sites: the technology is the news);
# politics before the kinds of event (disasters, weather); crime and law last, since a story
# that Wikinews also files under crime (a minister's trial, a company's fraud case, a
# singer's arrest) is read by the other desk's readers. Obituaries, "Local only" and "Women"
# are no topic (wikinews.tsv).
WIKINEWS_ORDER = [
    "Sports", "Science and technology", "Culture and entertainment", "Health", "Environment",
    "Education", "Media", "Economy and business", "Politics and conflicts",
    "Disasters and accidents", "Weather", "Crime and law", "Wackynews",
]
WEAK_HEADINGS = {"uncategorized", "business and economy", "politics and elections"}
# A source in parentheses closes each Current Events item: "... (Reuters)".
TRAILING_SOURCE = re.compile(r"\s*\([^()]*\)\s*$")
MIN_WORDS = 6


def mapping(name):
    table = {}
    with open(os.path.join(DATA, "corpora", name), encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            fields = line.rstrip("\n").split("\t")
            # huffpost.tsv has the desk's name after its number
            codes = fields[2:4] if name == "huffpost.tsv" else fields[1:3]
            key = fields[0]
            table[key] = codes
    return table


def topics(top, second):
    out = [f"medtop:{top}"]
    if second != "-":
        out.append(f"medtop:{second}")
    return out


def current_events(raw):
    table = mapping("wcep.tsv")
    root = os.path.join(raw, "ianrastall+current-events-context")
    for path in sorted(glob.glob(os.path.join(root, "[0-9]" * 4, "*", "*.yaml"))):
        try:
            day = yaml.safe_load(open(path, encoding="utf-8"))
        except yaml.YAMLError:
            continue
        payload = day.get("Intelligence_Payload") if isinstance(day, dict) else None
        if not isinstance(payload, dict):
            continue
        for heading, items in payload.items():
            key = str(heading).strip().lower().replace("&", "and")
            codes = table.get(key)
            if not isinstance(items, list):
                continue
            for number, item in enumerate(items):
                if not isinstance(item, str):
                    continue
                text = TRAILING_SOURCE.sub("", " ".join(item.split()))
                if len(text.split()) < MIN_WORDS:
                    continue  # a story's name above its items, not an item
                if not codes or key in WEAK_HEADINGS:
                    weak = weak_label(text)
                    if weak:
                        name = os.path.basename(path)[:-5]
                        yield f"{name}/{heading}/{number}", "", text, topics(weak, "-")
                        continue
                if not codes:
                    continue
                top, second = codes
                if top == "split":
                    top = "06000000" if ENVIRONMENT_TERMS.search(text) else "07000000"
                name = os.path.basename(path)[:-5]
                yield f"{name}/{heading}/{number}", "", text, topics(top, second)


def weak_label(text):
    """Labour or weather for an item these patterns find (see LABOUR_TERMS)."""
    if LABOUR_TERMS.search(text):
        return "09000000"
    if WEATHER_TERMS.search(text) and not CASUALTY_TERMS.search(text):
        return "17000000"
    return None


def huffpost(raw):
    table = mapping("huffpost.tsv")
    path = os.path.join(raw, "ws-jiang+MetaPrompter_public", "data", "huffpost.json")
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f):
            record = json.loads(line)
            top, second = table[str(record["label"])]
            if top == "-":
                continue
            # The subset is lower-cased and tokenised ("trump 's"); the features are too.
            yield f"{number:05}", record["raw"], "", topics(top, second)


def sib200(raw):
    table = mapping("sib200.tsv")
    root = os.path.join(raw, "dadelani+sib-200", "data", "annotated", "eng_Latn")
    for split in ("train", "dev", "test"):
        with open(os.path.join(root, f"{split}.tsv"), encoding="utf-8") as f:
            next(f)
            for line in f:
                index, category, text = line.rstrip("\n").split("\t", 2)
                top, second = table[category]
                if top != "-":
                    yield f"{split}/{int(index):04}", "", text, topics(top, second)


def wikinews(raw):
    """English Wikinews articles (2004-2013) under their top-level categories: per article,
    the sentences that the ML4NLP seminar's event extraction kept (about 120 words, in the
    order it found them, not the article's), and the categories (WIKINEWS_ORDER picks one).
    Each article gives two items, the title with all its sentences and the title with the
    first of them, for the classifier also reads feeds' one-sentence summaries."""
    table = mapping("wikinews.tsv")
    root = os.path.join(raw, "lbechberger+ML4NLP+categories", "data_generation")
    with open(os.path.join(root, "resource_category_mappings.pickle"), "rb") as f:
        categories = PlainUnpickler(f).load()["mappings"]
    sentences = {}
    root = os.path.join(raw, "lbechberger+ML4NLP+sentences", "data", "raw_csv")
    csv.field_size_limit(1 << 24)
    for path in sorted(glob.glob(os.path.join(root, "dataset_delta_*.csv"))):
        with open(path, encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                kept = sentences.setdefault(row["uri"], [])
                text = " ".join(row["text"].split())
                if text and text not in kept:
                    kept.append(text)
    for uri in sorted(sentences):
        named = [c for c in categories.get(uri, []) if table.get(c, ["-"])[0] != "-"]
        if not named:
            continue
        top, second = table[min(named, key=WIKINEWS_ORDER.index)]
        title = urllib.parse.unquote(uri.rsplit("/wiki/", 1)[1]).replace("_", " ")
        if top == "split":
            top = "16000000" if CONFLICT_TERMS.search(title) else "11000000"
        yield title, title, " ".join(sentences[uri]), topics(top, second)
        if len(sentences[uri]) > 1:  # and as a feed shows it: the title and one sentence
            yield f"{title}/short", title, sentences[uri][0], topics(top, second)


class PlainUnpickler(pickle.Unpickler):
    """Reads a pickle of plain lists, dicts and strings; refuses anything that would run
    code."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"{module}.{name} is not plain data")


def iptc_definitions(_raw):
    """Each IPTC topic's name and definition, under its top-level and second-level
    topics: the only examples of some topics (labour, weather) that news corpora lack."""
    with open(os.path.join(DATA, "iptc-media-topics.tsv"), encoding="utf-8") as f:
        rows = [line.rstrip("\n").split("\t") for line in f if not line.startswith("#")]
    by_code = {row[0]: row for row in rows}
    for qcode, level, parent, top, name, definition in rows:
        second = qcode
        while int(by_code[second][1]) > 2:
            second = by_code[second][2]
        label = [top] + ([second] if int(level) >= 2 else [])
        yield qcode, name, definition, label


CORPORA = [("huffpost", huffpost), ("iptc", iptc_definitions), ("sib200", sib200),
           ("wcep", current_events), ("wikinews", wikinews)]


def main(raw, out):
    seen = set()
    lines = []
    counts = {}
    for corpus, read in CORPORA:
        for item_id, title, text, labels in read(raw):
            key = (title + " " + text).lower()
            if key in seen:
                continue
            seen.add(key)
            counts[corpus] = counts.get(corpus, 0) + 1
            lines.append(json.dumps({"corpus": corpus, "id": item_id, "title": title,
                                     "text": text, "topics": labels}, ensure_ascii=False))
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print(f"{out}: " + ", ".join(f"{name} {n}" for name, n in sorted(counts.items())))


if __name__ == "__main__":
    main(*sys.argv[1:])
