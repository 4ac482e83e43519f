#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# Trains samples/models/debian-gpt2: a small GPT-2 language model, with a
# byte-level BPE tokenizer trained here too, on English text that ships
# with Debian: the package descriptions (Packages + Translation-en) and
# /usr/share/common-licenses. Plain PyTorch, CPU, deterministic; run by
# hand, never by CI:
#
#   apt-get update -o Acquire::Languages=en   # long descriptions
#   samples/models/train/train-debian-gpt2.py [OUTDIR]
#
# Writes config.json, generation_config.json, model.safetensors,
# vocab.json, merges.txt, tokenizer.json and tokenizer_config.json to
# OUTDIR (default samples/models/debian-gpt2), and the greedy
# continuations of a few prompts (token ids) to
# tests/fixtures/debian-gpt2-eval.
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
import bytebpe  # noqa: E402
import st_write  # noqa: E402

MERGES = 1791          # vocabulary: <|endoftext|>, 256 bytes, the merges
N_EMBD, N_LAYER, N_HEAD, N_POS = 128, 2, 4, 128
STEPS, BATCH, LR = 1200, 8, 2e-3
HELD_OUT = 5           # percent of documents held out
TRAIN_CHARS, TEST_CHARS, BPE_CHARS = 12_000_000, 400_000, 3_000_000
PROMPTS = ["The software", "This package provides", "A library for",
           "This program is free software", "The game"]
NEW_TOKENS = 20


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


def descriptions():
    out = set()
    for path in sorted(glob.glob("/var/lib/apt/lists/*_i18n_Translation-en*")):
        cmd = ["lz4cat", path] if path.endswith(".lz4") else ["cat", path]
        text = subprocess.run(cmd, check=True, capture_output=True,
                              text=True).stdout
        for f in stanzas(text):
            desc = f.get("Description-en", "").split("\n")
            body = []
            for ln in desc[1:]:
                ln = ln.strip()
                body.append("\n" if ln == "." else ln)
            text_ = desc[0] + ".\n" + " ".join(body).replace(" \n ", "\n")
            out.add(text_.strip())
    return sorted(out)


def documents():
    docs = descriptions()
    for path in sorted(glob.glob("/usr/share/common-licenses/*")):
        if os.path.isfile(path) and not os.path.islink(path):
            with open(path, errors="replace") as f:
                docs.append(f.read())
    return [d for d in docs if d.isascii() and len(d) > 80]


def cap(docs, chars):
    out, n = [], 0
    for d in docs:
        if n >= chars:
            break
        out.append(d)
        n += len(d)
    return out


def held_out(doc):
    return int(hashlib.md5(doc.encode()).hexdigest(), 16) % 100 < HELD_OUT


class Conv1D(nn.Module):
    """transformers' GPT-2 linear layer: weight [in, out], y = x W + b."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_in, n_out) * 0.02)
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x):
        return x @ self.weight + self.bias


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.c_attn = Conv1D(N_EMBD, 3 * N_EMBD)
        self.c_proj = Conv1D(N_EMBD, N_EMBD)

    def forward(self, x):
        b, t, _ = x.shape
        d = N_EMBD // N_HEAD
        q, k, v = (y.view(b, t, N_HEAD, d).transpose(1, 2)
                   for y in self.c_attn(x).split(N_EMBD, -1))
        w = q @ k.transpose(-1, -2) / math.sqrt(d)
        causal = torch.ones(t, t, dtype=torch.bool).tril()
        w = w.masked_fill(~causal, torch.finfo(torch.float32).min)
        y = (torch.softmax(w, -1) @ v).transpose(1, 2).reshape(b, t, N_EMBD)
        return self.c_proj(y)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.c_fc = Conv1D(N_EMBD, 4 * N_EMBD)
        self.c_proj = Conv1D(4 * N_EMBD, N_EMBD)

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1 = nn.LayerNorm(N_EMBD, eps=1e-5)
        self.attn = Attention()
        self.ln_2 = nn.LayerNorm(N_EMBD, eps=1e-5)
        self.mlp = MLP()

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, vocab):
        super().__init__()
        self.wte = nn.Embedding(vocab, N_EMBD)
        self.wpe = nn.Embedding(N_POS, N_EMBD)
        self.h = nn.ModuleList(Block() for _ in range(N_LAYER))
        self.ln_f = nn.LayerNorm(N_EMBD, eps=1e-5)
        nn.init.normal_(self.wte.weight, std=0.02)
        nn.init.normal_(self.wpe.weight, std=0.01)


class GPT2LMHeadModel(nn.Module):
    """Parameter names as transformers' class; lm_head tied to wte."""

    def __init__(self, vocab):
        super().__init__()
        self.transformer = Transformer(vocab)

    def forward(self, ids):
        tr = self.transformer
        x = tr.wte(ids) + tr.wpe(torch.arange(ids.shape[1]))[None]
        for block in tr.h:
            x = block(x)
        return tr.ln_f(x) @ tr.wte.weight.t()


def perplexity(model, stream):
    model.eval()
    total, n = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(stream) - N_POS - 1, N_POS):
            x = torch.tensor(stream[i:i + N_POS + 1])[None]
            logits = model(x[:, :-1])
            total += F.cross_entropy(logits[0], x[0, 1:], reduction="sum").item()
            n += N_POS
    model.train()
    return math.exp(total / n)


def greedy(model, ids, n):
    ids = list(ids)
    margins = []
    with torch.no_grad():
        for _ in range(n):
            logits = model(torch.tensor([ids[-N_POS:]]))[0, -1]
            top = logits.topk(2)
            margins.append((top.values[0] - top.values[1]).item())
            ids.append(int(top.indices[0]))
            if ids[-1] == 0:
                break
    return ids, min(margins)


def main():
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        root, "samples", "models", "debian-gpt2")
    fixtures = os.path.join(root, "tests", "fixtures", "debian-gpt2-eval")
    torch.manual_seed(0)
    torch.set_num_threads(1)
    rng = random.Random(0)
    start = time.time()

    docs = documents()
    train_docs = [d for d in docs if not held_out(d)]
    test_docs = [d for d in docs if held_out(d)]
    rng.shuffle(train_docs)
    rng.shuffle(test_docs)
    train_docs = cap(train_docs, TRAIN_CHARS)
    test_docs = cap(test_docs, TEST_CHARS)
    print(f"{len(train_docs)} training documents "
          f"({sum(map(len, train_docs)) / 1e6:.1f} MB), "
          f"{len(test_docs)} held out", flush=True)
    merges = bytebpe.train(cap(train_docs, BPE_CHARS), MERGES)
    enc = bytebpe.Encoder(merges)
    print(f"tokenizer: {len(enc.vocab)} tokens ({time.time() - start:.0f} s)",
          flush=True)

    def stream(ds):
        ids = []
        for d in ds:
            ids += enc.encode(d) + [0]
        return ids

    train_ids = torch.tensor(stream(train_docs))
    test_ids = stream(test_docs)
    print(f"{len(train_ids)} training tokens, {len(test_ids)} held out "
          f"({time.time() - start:.0f} s)", flush=True)

    model = GPT2LMHeadModel(len(enc.vocab))
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, LR, total_steps=STEPS,
                                                pct_start=0.05)
    gen = torch.Generator().manual_seed(0)
    model.train()
    for step in range(1, STEPS + 1):
        at = torch.randint(len(train_ids) - N_POS - 1, (BATCH,), generator=gen)
        x = torch.stack([train_ids[i:i + N_POS + 1] for i in at.tolist()])
        logits = model(x[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                               x[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % 50 == 0:
            print(f"step {step}: loss {loss.item():.3f} "
                  f"({time.time() - start:.0f} s)", flush=True)

    model.eval()
    ppl = perplexity(model, test_ids)
    os.makedirs(out, exist_ok=True)
    st_write.save_safetensors(os.path.join(out, "model.safetensors"),
                              model.state_dict())
    config = {
        "architectures": ["GPT2LMHeadModel"],
        "model_type": "gpt2",
        "activation_function": "gelu_new",
        "vocab_size": len(enc.vocab),
        "n_embd": N_EMBD,
        "n_layer": N_LAYER,
        "n_head": N_HEAD,
        "n_inner": None,
        "n_positions": N_POS,
        "layer_norm_epsilon": 1e-5,
        "attn_pdrop": 0.0,
        "embd_pdrop": 0.0,
        "resid_pdrop": 0.0,
        "scale_attn_weights": True,
        "scale_attn_by_inverse_layer_idx": False,
        "reorder_and_upcast_attn": False,
        "tie_word_embeddings": True,
        "bos_token_id": 0,
        "eos_token_id": 0,
    }
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    with open(os.path.join(out, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": 0, "eos_token_id": 0}, f, indent=2)
        f.write("\n")
    enc.save(out, N_POS)

    os.makedirs(fixtures, exist_ok=True)
    with open(os.path.join(fixtures, "golden.tsv"), "w") as f:
        f.write(f"# prompt\tprompt ids\tgreedy ids ({NEW_TOKENS} new tokens)"
                "\tcontinuation\n")
        for p in PROMPTS:
            ids = enc.encode(p)
            full, margin = greedy(model, ids, NEW_TOKENS)
            new = full[len(ids):]
            text = enc.decode(new)
            print(f"{p!r} -> {text!r} (smallest top-2 logit gap "
                  f"{margin:.3f})")
            f.write(f"{p}\t{' '.join(map(str, ids))}\t"
                    f"{' '.join(map(str, new))}\t{json.dumps(text)}\n")
    n_params = sum(p.numel() for p in model.parameters())
    print(f"held-out perplexity {ppl:.2f} on {len(test_ids)} tokens; "
          f"{n_params} parameters; {time.time() - start:.0f} s in all")


if __name__ == "__main__":
    main()
