#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes a small copy of a tokenizer for the fuzz seeds: the same
normalizer, pre-tokenizer, post-processor, decoder and added tokens, over
the first entries of the vocabulary only (for BPE the base alphabet and
the products of the first 48 merges, with those merges). Execution time
grows with the input, so small seeds let the fuzzer run ten times as many
inputs as the fixtures' full files do.

    shrink-tokenizer.py json TOKENIZER.json         > SMALL.json
    shrink-tokenizer.py vocab-txt VOCAB.txt          > SMALL.txt
    shrink-tokenizer.py vocab-json VOCAB.json MERGES.txt OUT.json OUT.txt

Added tokens past the kept entries move to the end, with the ids the
post-processor names moved along.
"""

import json
import sys

KEEP = 160  # entries kept without merges
MERGES = 48


def split_merge(merge):
    return merge.split(" ") if isinstance(merge, str) else merge


def bpe_limit(vocab, merges):
    """One past the largest id among the first merges' products."""
    return max(vocab.get(a + b, 0) for a, b in map(split_merge,
                                                   merges[:MERGES])) + 1


def shrink_bpe(vocab, merges, extra):
    """(vocab, merges, remap) keeping ids below the limit, then @extra."""
    limit = bpe_limit(vocab, merges) if merges else KEEP
    new = {t: i for t, i in vocab.items() if i < limit}
    remap, nxt = {}, limit
    for token, old in extra:
        if old >= limit:
            remap[old] = nxt
            new[token] = nxt
            nxt += 1
    kept = [m for m in merges
            if all(p in new for p in split_merge(m))
            and "".join(split_merge(m)) in new]
    return new, kept, remap


def remap_ids(node, remap):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "ids" and isinstance(value, list):
                node[key] = [remap.get(x, x) for x in value]
            elif key in ("sep", "cls") and isinstance(value, list) \
                    and len(value) == 2:
                node[key] = [value[0], remap.get(value[1], value[1])]
            else:
                remap_ids(value, remap)
    elif isinstance(node, list):
        for item in node:
            remap_ids(item, remap)


def shrink_json(path):
    tok = json.load(open(path, encoding="utf-8"))
    model = tok["model"]
    added = tok.get("added_tokens") or []
    if model["type"] == "Unigram":
        pieces = model["vocab"]
        new, remap = list(pieces[:KEEP]), {}
        for a in added:
            if a["id"] >= KEEP:
                remap[a["id"]] = len(new)
                new.append(pieces[a["id"]])
        model["vocab"] = new
    else:
        extra = [(a["content"], a["id"]) for a in added
                 if a["content"] in model["vocab"]]
        model["vocab"], kept, remap = shrink_bpe(
            model["vocab"], model.get("merges") or [], extra)
        if model.get("merges"):
            model["merges"] = kept
    for a in added:
        a["id"] = remap.get(a["id"], a["id"])
    remap_ids(tok.get("post_processor"), remap)
    sys.stdout.write(json.dumps(tok, ensure_ascii=False))


def main():
    mode = sys.argv[1]
    if mode == "json":
        shrink_json(sys.argv[2])
    elif mode == "vocab-txt":
        lines = open(sys.argv[2], encoding="utf-8").read().split("\n")
        sys.stdout.write("\n".join(lines[:KEEP]) + "\n")
    elif mode == "vocab-json":
        vocab = json.load(open(sys.argv[2], encoding="utf-8"))
        lines = open(sys.argv[3], encoding="utf-8").read().split("\n")
        header = [l for l in lines[:1] if l.startswith("#")]
        merges = [l for l in lines if l and not l.startswith("#")]
        new, kept, _ = shrink_bpe(vocab, merges, [])
        json.dump(new, open(sys.argv[4], "w", encoding="utf-8"),
                  ensure_ascii=False)
        open(sys.argv[5], "w", encoding="utf-8").write(
            "\n".join(header + kept) + "\n")
    else:
        sys.exit("shrink-tokenizer.py: unknown mode " + mode)


if __name__ == "__main__":
    main()
