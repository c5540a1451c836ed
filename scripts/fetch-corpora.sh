#!/usr/bin/env bash
# Fills the corpus cache that `make train` reads (NEWSFLOW_CORPORA, by default
# ~/.cache/newsflow/corpora) with the openly licensed labelled news the topic classifier
# learns from, at pinned commits, then maps their categories to IPTC Media Topics
# (scripts/topics/prepare_corpora.py, data/topics/corpora/*.tsv).
#
# Each source is a public git repository. With NEWSFLOW_CORPUS_MIRRORS set to a directory of
# bare mirrors named OWNER+NAME/repo, they are read from there; otherwise they are cloned.
# Nothing here is needed by `make test` or at run time.
set -euo pipefail

cache="${NEWSFLOW_CORPORA:-$HOME/.cache/newsflow/corpora}"
raw="$cache/raw"
mkdir -p "$raw"

# owner/name (with "#part" when one repository gives two commits), commit, paths to take
# (all under the commit's tree)
sources=(
  "ianrastall/current-events-context 4ff6f7d243c81c1df4a919fb4280d9d7e9559bd8 ."
  "ws-jiang/MetaPrompter_public dea17d573a5eb4f31b3366ba1fe88b1beb865c50 data/huffpost.json"
  "dadelani/sib-200 593cea88519930f776c1a4a1980b6a35b39dca57 data/annotated/eng_Latn"
  # English Wikinews: the articles' sentences (branch delta) and their categories (branch zeta)
  "lbechberger/ML4NLP#sentences 8aeaafcf972248c6f570d21a67baaeb272007fb7 data/raw_csv"
  "lbechberger/ML4NLP#categories 186551dcb16dc9844c5c3ec4aa3ac72a01c0fe80 data_generation/resource_category_mappings.pickle"
)

for source in "${sources[@]}"; do
  read -r spec commit paths <<<"$source"
  repo="${spec%%#*}"
  name="${spec//\//+}"
  target="$raw/${name//#/+}"
  if [[ -f "$target/.commit" && "$(cat "$target/.commit")" == "$commit" ]]; then
    continue
  fi
  if [[ -n "${NEWSFLOW_CORPUS_MIRRORS:-}" ]]; then
    git_dir="$NEWSFLOW_CORPUS_MIRRORS/${repo//\//+}/repo"
  else
    git_dir="$raw/.git-${repo//\//+}"
    [[ -d "$git_dir" ]] || git clone --quiet --bare --filter=blob:none "https://github.com/$repo" "$git_dir"
  fi
  rm -rf "$target" && mkdir -p "$target"
  # shellcheck disable=SC2086
  git --git-dir="$git_dir" archive --format=tar "$commit" $paths | tar -x -C "$target"
  echo "$commit" >"$target/.commit"
  echo "fetched $repo@${commit:0:12}"
done

python3 "$(dirname "$0")/topics/prepare_corpora.py" "$raw" "$cache/topics.jsonl"
