"""Picks the sentences of the events-own set from the Wikinews CSV files of
vanatteveldt/wikinews (data/wikinews_2019.csv, data/wikinews_2020.csv), as the README
says: the first three sentences of the articles whose title names a political event
(POLITICAL, chosen from the titles alone), the first sentence of every eighth other
article. Prints articles.jsonl; the gold labels were written by hand.

Usage: python3 select.py WIKINEWS_DATA_DIR > articles.jsonl
"""
import csv
import json
import re
import sys

csv.field_size_limit(10**9)

# Interviews, event reports and monthly round-ups are long first-person or listing text,
# not news sentences; the test pages are not articles.
SKIP = re.compile(
    r"Wikinews (interviews|attends|investigates|discusses|talks)|tells Wikinews|with Wikinews"
    r"|TEST PAGE|On the campaign trail|Comicon|Fan Expo|Anime North|Fur fans|Maker Faire",
    re.I,
)
# Row numbers (0-based, per file) of the articles whose title names conflict, diplomacy,
# protest, crime and policing, or politics.
POLITICAL = {
    "2019": {1, 4, 6, 11, 15, 16, 19, 20, 22, 29, 35, 37, 40, 41, 43, 45, 55, 56, 58, 59,
             64, 68, 69, 73, 77, 85, 88, 89, 96, 101, 103, 104, 106, 108, 114, 117, 120,
             122, 125, 130, 133, 136, 137, 138, 143, 144, 145, 151, 154, 157, 162, 167, 168},
    "2020": {1, 2, 3, 5, 6, 8, 11, 27, 37, 52, 56, 61, 72, 77, 79, 84, 90, 96, 110, 111,
             113, 114, 118},
}
DATELINE = re.compile(
    r"^\s*(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), \w+ \d+, \d{4}\s*")
# A full stop after one of these does not end a sentence.
ABBREVIATION = re.compile(
    r"\b(U\.S\.S|U\.S|U\.K|Mr|Mrs|Ms|Dr|St|Jan|Feb|Mar|Apr|Aug|Sept|Sep|Oct|Nov|Dec|Gov|Sen"
    r"|Rep|Lt|Gen|Col|No|Jr|Sr|Inc|Co|vs|D\.C|Ft|Mt|[A-Z])\.$")
SENTENCE_END = re.compile(r'(?:(?<=[.!?])|(?<=[.!?]["”’]))\s+(?=["“‘]?[A-Z0-9])')


def sentences(text):
    body = DATELINE.sub("", text)
    for paragraph in re.split(r"\n\s*\n", body):
        paragraph = " ".join(paragraph.split())
        pending = ""
        for part in SENTENCE_END.split(paragraph) if paragraph else []:
            pending = (pending + " " + part).strip()
            if not ABBREVIATION.search(pending):
                yield pending
                pending = ""
        if pending:
            yield pending


def is_news_sentence(sentence):
    """8 to 60 words, starting as a sentence does and ending with its stop (no captions,
    tables or fragments)."""
    return (8 <= len(sentence.split()) <= 60
            and re.match(r'^["“]?[A-Z0-9]', sentence)
            and re.search(r'[.!?]["”’]?$', sentence)
            and "█" not in sentence)


def main(data_dir):
    for year in ("2019", "2020"):
        path = f"{data_dir}/wikinews_{year}.csv"
        for row, article in enumerate(csv.DictReader(open(path, encoding="utf-8"))):
            if SKIP.search(article["title"]):
                continue
            picked = [s for s in sentences(article["text"]) if is_news_sentence(s)]
            if row in POLITICAL[year]:
                picked = picked[:3]
            elif row % 8 == 0:
                picked = picked[:1]
            else:
                continue
            for number, sentence in enumerate(picked, 1):
                record = {"id": f"WN{year[2:]}-{row:03d}-{number}", "title": "",
                          "body": sentence, "published_at": article["date"] + "T12:00:00Z"}
                print(json.dumps(record, ensure_ascii=False))


if __name__ == "__main__":
    main(sys.argv[1])
