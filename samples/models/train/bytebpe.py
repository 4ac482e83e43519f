# SPDX-License-Identifier: LGPL-2.1-or-later
# GPT-2 style byte-level BPE for the training scripts: the byte-to-symbol
# map, the pre-tokenising regex (exact for ASCII text, which is all the
# training script feeds it), a merge trainer, an encoder and the
# vocab.json / merges.txt / tokenizer.json files GPT-2 checkpoints ship.
import collections
import heapq
import json
import re

EOT = "<|endoftext|>"
# GPT-2's pattern with \p{L} and \p{N} narrowed to ASCII letters and digits.
PATTERN = re.compile(
    r"'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+"
    r"|\s+(?!\S)|\s+")


def byte_symbols():
    keep = (list(range(33, 127)) + list(range(161, 173))
            + list(range(174, 256)))
    table, extra = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


BYTES = byte_symbols()


def words(text):
    return ["".join(BYTES[b] for b in w.encode()) for w in
            PATTERN.findall(text)]


def train(texts, n_merges):
    counts = collections.Counter()
    for t in texts:
        counts.update(words(t))
    syms = [list(w) for w in sorted(counts)]
    freq = [counts[w] for w in sorted(counts)]
    pairs = collections.Counter()
    where = collections.defaultdict(set)
    for i, s in enumerate(syms):
        for a, b in zip(s, s[1:]):
            pairs[a, b] += freq[i]
            where[a, b].add(i)
    heap = [(-n, p) for p, n in pairs.items()]
    heapq.heapify(heap)
    merges = []
    while len(merges) < n_merges and heap:
        n, p = heapq.heappop(heap)
        if pairs.get(p, 0) != -n or n == 0:
            continue
        merges.append(p)
        joined = p[0] + p[1]
        touched = set()
        for i in sorted(where.pop(p, ())):
            s = syms[i]
            for a, b in zip(s, s[1:]):
                pairs[a, b] -= freq[i]
                touched.add((a, b))
            out, k = [], 0
            while k < len(s):
                if k + 1 < len(s) and (s[k], s[k + 1]) == p:
                    out.append(joined)
                    k += 2
                else:
                    out.append(s[k])
                    k += 1
            syms[i] = out
            for a, b in zip(out, out[1:]):
                pairs[a, b] += freq[i]
                where[a, b].add(i)
                touched.add((a, b))
        pairs.pop(p, None)
        for q in sorted(touched):
            if q != p and pairs.get(q, 0) > 0:
                heapq.heappush(heap, (-pairs[q], q))
    return merges


class Encoder:
    def __init__(self, merges):
        self.vocab = {EOT: 0}
        for b in range(256):
            self.vocab[BYTES[b]] = len(self.vocab)
        for a, b in merges:
            self.vocab[a + b] = len(self.vocab)
        self.rank = {p: i for i, p in enumerate(merges)}
        self.merges = merges
        self.cache = {}
        self.inverse = {i: t for t, i in self.vocab.items()}
        self.unbyte = {s: b for b, s in BYTES.items()}

    def _word(self, w):
        if w in self.cache:
            return self.cache[w]
        s = list(w)
        while len(s) > 1:
            best = min(zip(s, s[1:]), key=lambda p: self.rank.get(p, 1e18))
            if best not in self.rank:
                break
            out, k = [], 0
            while k < len(s):
                if k + 1 < len(s) and (s[k], s[k + 1]) == best:
                    out.append(s[k] + s[k + 1])
                    k += 2
                else:
                    out.append(s[k])
                    k += 1
            s = out
        ids = [self.vocab[t] for t in s]
        self.cache[w] = ids
        return ids

    def encode(self, text):
        ids = []
        for w in words(text):
            ids += self._word(w)
        return ids

    def decode(self, ids):
        data = bytearray()
        for i in ids:
            if i == 0:
                continue
            data += bytes(self.unbyte[c] for c in self.inverse[i])
        return data.decode("utf-8", errors="replace")

    def save(self, dirname, max_length):
        with open(dirname + "/vocab.json", "w") as f:
            json.dump(self.vocab, f, ensure_ascii=False)
        with open(dirname + "/merges.txt", "w") as f:
            f.write("#version: 0.2\n")
            f.write("".join(f"{a} {b}\n" for a, b in self.merges))
        level = {"type": "ByteLevel", "add_prefix_space": False,
                 "trim_offsets": True, "use_regex": True}
        tok = {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": [{"id": 0, "content": EOT, "single_word": False,
                              "lstrip": False, "rstrip": False,
                              "normalized": False, "special": True}],
            "normalizer": None,
            "pre_tokenizer": level,
            "post_processor": dict(level, add_prefix_space=True,
                                   trim_offsets=False),
            "decoder": dict(level, add_prefix_space=True),
            "model": {"type": "BPE", "dropout": None, "unk_token": None,
                      "continuing_subword_prefix": None,
                      "end_of_word_suffix": None, "fuse_unk": False,
                      "byte_fallback": False, "ignore_merges": False,
                      "vocab": self.vocab,
                      "merges": [list(p) for p in self.merges]},
        }
        with open(dirname + "/tokenizer.json", "w") as f:
            json.dump(tok, f, indent=2, ensure_ascii=False)
            f.write("\n")
        with open(dirname + "/tokenizer_config.json", "w") as f:
            json.dump({"model_max_length": max_length, "bos_token": EOT,
                       "eos_token": EOT, "unk_token": EOT}, f, indent=1)
            f.write("\n")
