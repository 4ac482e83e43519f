# SPDX-License-Identifier: LGPL-2.1-or-later
# BERT-style uncased WordPiece for the training scripts: the normaliser
# (clean text, CJK spacing, lowercase, accents stripped), the
# whitespace-and-punctuation pre-tokeniser, greedy longest-match-first
# WordPiece, a frequency-based vocabulary builder, and the tokenizer.json
# / vocab.txt files in the layout transformers' save_pretrained writes.
import collections
import json
import unicodedata

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
PAD, UNK, CLS, SEP = 0, 1, 2, 3


def _is_punct(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF
            or 0x20000 <= cp <= 0x2A6DF or 0x2A700 <= cp <= 0x2B73F
            or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def normalize(text):
    out = []
    for ch in text:
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD:
            continue
        if ch in " \t\n\r" or unicodedata.category(ch) == "Zs":
            out.append(" ")
        elif unicodedata.category(ch).startswith("C"):
            continue
        elif _is_cjk(cp):
            out.append(" " + ch + " ")
        else:
            out.append(ch)
    text = unicodedata.normalize("NFD", "".join(out).lower())
    return "".join(c for c in text if unicodedata.category(c) != "Mn")


def pre_tokenize(text):
    words = []
    for chunk in normalize(text).split():
        cur = ""
        for ch in chunk:
            if _is_punct(ch):
                if cur:
                    words.append(cur)
                    cur = ""
                words.append(ch)
            else:
                cur += ch
        if cur:
            words.append(cur)
    return words


def build_vocab(texts, size, min_char_count=5):
    """Specials, the frequent characters (alone and as ##c), then the most
    frequent words and the most frequent word-final pieces of the words
    left out, until @size entries."""
    words = collections.Counter()
    for t in texts:
        words.update(pre_tokenize(t))
    chars = collections.Counter()
    for w, n in words.items():
        for i, ch in enumerate(w):
            chars[ch if i == 0 else "##" + ch] += n
    vocab = list(SPECIALS)
    vocab += sorted(c for c, n in chars.items() if n >= min_char_count)
    seen = set(vocab)
    budget = size - len(vocab)
    n_words = budget * 3 // 4
    ranked = sorted(words.items(), key=lambda kv: (-kv[1], kv[0]))
    for w, _ in ranked:
        if len(vocab) >= len(SPECIALS) + (size - budget) + n_words:
            break
        if len(w) > 1 and w not in seen:
            vocab.append(w)
            seen.add(w)
    pieces = collections.Counter()
    for w, n in ranked:
        if w in seen or len(w) < 4:
            continue
        for k in range(2, min(6, len(w) - 1) + 1):
            pieces["##" + w[-k:]] += n
            pieces[w[:k + 1]] += n
    for p, _ in sorted(pieces.items(), key=lambda kv: (-kv[1], kv[0])):
        if len(vocab) >= size:
            break
        if p not in seen:
            vocab.append(p)
            seen.add(p)
    return vocab


class WordPiece:
    def __init__(self, vocab):
        self.vocab = {t: i for i, t in enumerate(vocab)}

    def _word(self, w):
        if len(w) > 100:
            return [UNK]
        ids, start = [], 0
        while start < len(w):
            end, found = len(w), None
            while end > start:
                piece = w[start:end] if start == 0 else "##" + w[start:end]
                if piece in self.vocab:
                    found = self.vocab[piece]
                    break
                end -= 1
            if found is None:
                return [UNK]
            ids.append(found)
            start = end
        return ids

    def encode(self, text, max_length):
        ids = []
        for w in pre_tokenize(text):
            ids += self._word(w)
        return [CLS] + ids[:max_length - 2] + [SEP]


def _added(i, tok):
    return {"id": i, "content": tok, "single_word": False, "lstrip": False,
            "rstrip": False, "normalized": False, "special": True}


def save(dirname, vocab, max_length):
    with open(dirname + "/vocab.txt", "w") as f:
        f.write("".join(t + "\n" for t in vocab))
    special = {t: {"id": t, "ids": [i], "tokens": [t]}
               for i, t in enumerate(SPECIALS) if t in ("[CLS]", "[SEP]")}
    tok = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [_added(i, t) for i, t in enumerate(SPECIALS)],
        "normalizer": {"type": "BertNormalizer", "clean_text": True,
                       "handle_chinese_chars": True, "strip_accents": None,
                       "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                       {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                     {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 1}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": special},
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]",
                  "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100,
                  "vocab": {t: i for i, t in enumerate(vocab)}},
    }
    with open(dirname + "/tokenizer.json", "w") as f:
        json.dump(tok, f, indent=2, ensure_ascii=False)
        f.write("\n")
    with open(dirname + "/tokenizer_config.json", "w") as f:
        json.dump({"model_max_length": max_length, "do_lower_case": True,
                   "tokenizer_class": "BertTokenizer"}, f, indent=1)
        f.write("\n")
