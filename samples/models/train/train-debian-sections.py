#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# Trains samples/models/debian-sections: a small BERT sequence classifier
# that tells which Debian archive section a package description belongs
# to, from Debian's own package descriptions (Packages + Translation-en).
# Plain PyTorch, CPU, deterministic; run by hand, never by CI:
#
#   apt-get update -o Acquire::Languages=en   # long descriptions
#   samples/models/train/train-debian-sections.py [OUTDIR]
#
# Writes config.json, model.safetensors, tokenizer.json, vocab.txt and
# tokenizer_config.json to OUTDIR (default samples/models/debian-sections),
# and the held-out goldens (eval texts, torch labels and logits) to
# tests/fixtures/debian-sections-eval.
import glob
import hashlib
import json
import math
import os
import random
import subprocess
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_write  # noqa: E402
import wordpiece  # noqa: E402

SECTIONS = ["database", "editors", "fonts", "games", "graphics", "mail",
            "math", "net", "science", "sound", "video", "web"]
PER_CLASS = 700        # training descriptions per section, at most
HELD_OUT = 10          # percent of source packages held out
VOCAB = 6000
MAX_LEN = 64
HIDDEN, LAYERS, HEADS, INTER = 128, 2, 4, 256
EPOCHS, BATCH, LR = 5, 32, 1e-3
N_EVAL = 24            # held-out texts committed as the test's goldens


def stanzas(text):
    for block in text.split("\n\n"):
        fields, key = {}, None
        for line in block.split("\n"):
            if line.startswith(" ") and key:
                fields[key] += "\n" + line
            elif ":" in line:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        if fields:
            yield fields


def long_descriptions():
    """Description-md5 -> full description, from the Translation-en lists."""
    out = {}
    for path in sorted(glob.glob("/var/lib/apt/lists/*_i18n_Translation-en*")):
        cmd = ["lz4cat", path] if path.endswith(".lz4") else ["cat", path]
        text = subprocess.run(cmd, check=True, capture_output=True,
                              text=True).stdout
        for f in stanzas(text):
            if "Description-md5" in f and "Description-en" in f:
                out[f["Description-md5"]] = f["Description-en"]
    return out


def flatten(desc):
    lines = desc.split("\n")
    body = [ln.strip() for ln in lines[1:] if ln.strip() not in ("", ".")]
    return " ".join([lines[0].strip()] + body)


def corpus():
    longs = long_descriptions()
    text = subprocess.run(["apt-cache", "dumpavail"], check=True,
                          capture_output=True, text=True).stdout
    seen, items = set(), []
    for f in stanzas(text):
        section = f.get("Section", "").split("/")[-1]
        if section not in SECTIONS or "Description" not in f:
            continue
        desc = flatten(longs.get(f.get("Description-md5"), f["Description"]))
        if desc in seen:
            continue
        seen.add(desc)
        source = f.get("Source", f["Package"]).split()[0]
        items.append((source, f["Package"], section, desc))
    items.sort()
    return items


def held_out(source):
    return int(hashlib.md5(source.encode()).hexdigest(), 16) % 100 < HELD_OUT


class Embeddings(nn.Module):
    def __init__(self, vocab):
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab, HIDDEN)
        self.position_embeddings = nn.Embedding(MAX_LEN, HIDDEN)
        self.token_type_embeddings = nn.Embedding(2, HIDDEN)
        self.LayerNorm = nn.LayerNorm(HIDDEN, eps=1e-12)

    def forward(self, ids):
        pos = torch.arange(ids.shape[1])
        x = (self.word_embeddings(ids) + self.position_embeddings(pos)[None]
             + self.token_type_embeddings(torch.zeros_like(ids)))
        return F.dropout(self.LayerNorm(x), 0.1, self.training)


class SelfAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.query = nn.Linear(HIDDEN, HIDDEN)
        self.key = nn.Linear(HIDDEN, HIDDEN)
        self.value = nn.Linear(HIDDEN, HIDDEN)

    def forward(self, x, bias):
        b, t, _ = x.shape
        d = HIDDEN // HEADS

        def heads(lin):
            return lin(x).view(b, t, HEADS, d).transpose(1, 2)

        q, k, v = heads(self.query), heads(self.key), heads(self.value)
        w = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d) + bias, -1)
        w = F.dropout(w, 0.1, self.training)
        return (w @ v).transpose(1, 2).reshape(b, t, HIDDEN)


class DenseNorm(nn.Module):
    """BertSelfOutput / BertOutput: dense, dropout, residual LayerNorm."""

    def __init__(self, n_in):
        super().__init__()
        self.dense = nn.Linear(n_in, HIDDEN)
        self.LayerNorm = nn.LayerNorm(HIDDEN, eps=1e-12)

    def forward(self, x, residual):
        y = F.dropout(self.dense(x), 0.1, self.training)
        return self.LayerNorm(y + residual)


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.self = SelfAttention()
        self.output = DenseNorm(HIDDEN)

    def forward(self, x, bias):
        return self.output(self.self(x, bias), x)


class Intermediate(nn.Module):
    def __init__(self):
        super().__init__()
        self.dense = nn.Linear(HIDDEN, INTER)

    def forward(self, x):
        return F.gelu(self.dense(x))


class Layer(nn.Module):
    def __init__(self):
        super().__init__()
        self.attention = Attention()
        self.intermediate = Intermediate()
        self.output = DenseNorm(INTER)

    def forward(self, x, bias):
        x = self.attention(x, bias)
        return self.output(self.intermediate(x), x)


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.ModuleList(Layer() for _ in range(LAYERS))


class Pooler(nn.Module):
    def __init__(self):
        super().__init__()
        self.dense = nn.Linear(HIDDEN, HIDDEN)


class Bert(nn.Module):
    def __init__(self, vocab):
        super().__init__()
        self.embeddings = Embeddings(vocab)
        self.encoder = Encoder()
        self.pooler = Pooler()


class BertForSequenceClassification(nn.Module):
    """Parameter names as transformers' class of that name."""

    def __init__(self, vocab, n_labels):
        super().__init__()
        self.bert = Bert(vocab)
        self.classifier = nn.Linear(HIDDEN, n_labels)
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=0.02)
            if isinstance(m, nn.Linear):
                nn.init.zeros_(m.bias)

    def forward(self, ids, mask):
        bias = (1.0 - mask[:, None, None, :].float()) * torch.finfo(
            torch.float32).min
        x = self.bert.embeddings(ids)
        for layer in self.bert.encoder.layer:
            x = layer(x, bias)
        pooled = torch.tanh(self.bert.pooler.dense(x[:, 0]))
        return self.classifier(F.dropout(pooled, 0.1, self.training))


def batches(rows, size):
    for i in range(0, len(rows), size):
        chunk = rows[i:i + size]
        t = max(len(ids) for ids, _ in chunk)
        ids = torch.zeros(len(chunk), t, dtype=torch.long)
        mask = torch.zeros(len(chunk), t, dtype=torch.long)
        for j, (row, _) in enumerate(chunk):
            ids[j, :len(row)] = torch.tensor(row)
            mask[j, :len(row)] = 1
        yield ids, mask, torch.tensor([label for _, label in chunk])


def accuracy(model, rows):
    model.eval()
    right = 0
    with torch.no_grad():
        for ids, mask, labels in batches(rows, 256):
            right += (model(ids, mask).argmax(-1) == labels).sum().item()
    return right / len(rows)


def main():
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        root, "samples", "models", "debian-sections")
    fixtures = os.path.join(root, "tests", "fixtures", "debian-sections-eval")
    torch.manual_seed(0)
    torch.set_num_threads(1)
    rng = random.Random(0)

    items = corpus()
    train = [it for it in items if not held_out(it[0])]
    test = [it for it in items if held_out(it[0])]
    rng.shuffle(train)
    per = {s: 0 for s in SECTIONS}
    kept = []
    for it in train:
        if per[it[2]] < PER_CLASS:
            per[it[2]] += 1
            kept.append(it)
    train = kept
    print("train", len(train), "held out", len(test), per)

    vocab = wordpiece.build_vocab([it[3] for it in train], VOCAB)
    tok = wordpiece.WordPiece(vocab)
    label = {s: i for i, s in enumerate(SECTIONS)}

    def rows(its):
        return [(tok.encode(it[3], MAX_LEN), label[it[2]]) for it in its]

    train_rows, test_rows = rows(train), rows(test)
    model = BertForSequenceClassification(len(vocab), len(SECTIONS))
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.01)
    steps = EPOCHS * math.ceil(len(train_rows) / BATCH)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, LR, total_steps=steps,
                                                pct_start=0.1)
    start = time.time()
    for epoch in range(EPOCHS):
        model.train()
        rng.shuffle(train_rows)
        total = 0.0
        for ids, mask, labels in batches(train_rows, BATCH):
            loss = F.cross_entropy(model(ids, mask), labels)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(labels)
        print(f"epoch {epoch + 1}: loss {total / len(train_rows):.3f} "
              f"held-out accuracy {accuracy(model, test_rows):.3f} "
              f"({time.time() - start:.0f} s)", flush=True)

    model.eval()
    os.makedirs(out, exist_ok=True)
    st_write.save_safetensors(os.path.join(out, "model.safetensors"),
                              model.state_dict())
    config = {
        "architectures": ["BertForSequenceClassification"],
        "model_type": "bert",
        "vocab_size": len(vocab),
        "hidden_size": HIDDEN,
        "num_hidden_layers": LAYERS,
        "num_attention_heads": HEADS,
        "intermediate_size": INTER,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": MAX_LEN,
        "type_vocab_size": 2,
        "layer_norm_eps": 1e-12,
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
        "id2label": {str(i): s for i, s in enumerate(SECTIONS)},
        "label2id": label,
    }
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    wordpiece.save(out, vocab, MAX_LEN)

    # Goldens: two ASCII held-out texts per section, run one at a time (no
    # padding), with the torch labels and logits.
    acc = accuracy(model, test_rows)
    cand = [it for it in test if it[3].isascii() and "\t" not in it[3]]
    rng.shuffle(cand)
    chosen = []
    for s in SECTIONS:
        chosen += [it for it in cand if it[2] == s][:N_EVAL // len(SECTIONS)]
    os.makedirs(fixtures, exist_ok=True)
    with open(os.path.join(fixtures, "texts.txt"), "w") as ft, \
            open(os.path.join(fixtures, "golden.tsv"), "w") as fg, \
            torch.no_grad():
        fg.write("# section\ttorch label\tlogits in id2label order\n")
        for it in chosen:
            ids = torch.tensor([tok.encode(it[3], MAX_LEN)])
            logits = model(ids, torch.ones_like(ids))[0]
            ft.write(it[3] + "\n")
            fg.write(f"{it[2]}\t{SECTIONS[int(logits.argmax())]}\t"
                     + " ".join(f"{v:.6f}" for v in logits.tolist()) + "\n")
    n_params = sum(p.numel() for p in model.parameters())
    print(f"held-out accuracy {acc:.4f} on {len(test_rows)} descriptions; "
          f"{n_params} parameters; {time.time() - start:.0f} s of training")


if __name__ == "__main__":
    main()
