#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The PyTorch peer of `streamformer bench` for audio checkpoints.

    torch_audio.py MODEL_DIR [--threads T] [--iters N] [--warmup W]
                   [--seconds S] [--tokens N] [--json]

Plain PyTorch modules that compute what the Hugging Face models compute in
eval mode, each with its feature extractor written in torch ops:

- Whisper (WhisperForConditionalGeneration): the log-mel front-end
  (centred STFT with a periodic Hann window, Slaney mel filters, log10,
  max - 8 clamp, (x + 4) / 4), the encoder, and greedy decoding of --tokens
  tokens with self-attention caches grown by concatenation and
  cross-attention keys and values computed once, as HF's caches do.
  <|endoftext|> is masked so every pass decodes all --tokens tokens, the
  same as `streamformer bench`.
- Wav2Vec2ForCTC: zero-mean unit-variance normalisation, the conv feature
  encoder (GroupNorm or LayerNorm conv layers), the weight-normed
  positional convolution (fused once at load), the post-LN or the
  stable-layer-norm encoder, and lm_head.
- ASTForAudioClassification: Kaldi fbank as torchaudio.compliance.kaldi
  computes it with ASTFeatureExtractor's arguments, mean/std
  normalisation, the patch embedding, the encoder and the classifier.

The input is the bench's synthetic signal (a chirp plus LCG noise, rebuilt
sample for sample), and each pass is timed under torch.inference_mode().
Weights are mapped from model.safetensors by torch_bert.py's reader.
"""

import argparse
import importlib.util
import json
import math
import os
import resource
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))

SEED = 20240611
CHIRP_FROM_HZ, CHIRP_TO_HZ = 100.0, 4000.0
CHIRP_AMPLITUDE, NOISE_AMPLITUDE = 0.4, 0.05


def load_bert_peer():
    """torch_bert.py, for its safetensors reader and OpenBLAS query."""
    spec = importlib.util.spec_from_file_location(
        "torch_bert", os.path.join(HERE, "torch_bert.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def bench_signal(n, rate):
    """sf_bench_audio_signal: the same chirp and the same LCG noise."""
    t = np.arange(n, dtype=np.float64) / rate
    duration = n / rate
    sweep = CHIRP_TO_HZ - CHIRP_FROM_HZ
    phase = 2.0 * math.pi * (CHIRP_FROM_HZ * t + 0.5 * sweep * t * t / duration)
    states = np.empty(n, dtype=np.float64)
    s = SEED
    for i in range(n):
        s = (s * 1664525 + 1013904223) & 0xFFFFFFFF
        states[i] = s
    noise = states / 4294967296.0 - 0.5
    x = CHIRP_AMPLITUDE * np.sin(phase) + 2.0 * NOISE_AMPLITUDE * noise
    return torch.from_numpy(x.astype(np.float32))


def gelu(x):
    return F.gelu(x)


class Attention(nn.Module):
    """Eager multi-head attention with separate q/k/v/out projections."""

    def __init__(self, d, heads, k_bias=True):
        super().__init__()
        self.heads, self.dh = heads, d // heads
        self.q = nn.Linear(d, d)
        self.k = nn.Linear(d, d, bias=k_bias)
        self.v = nn.Linear(d, d)
        self.o = nn.Linear(d, d)

    def split(self, x):
        b, t, _ = x.shape
        return x.view(b, t, self.heads, self.dh).transpose(1, 2)

    def attend(self, q, k, v):
        """q [B, h, T, dh], k and v [B, h, S, dh] -> [B, T, D]"""
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.dh)
        ctx = torch.matmul(torch.softmax(scores, dim=-1), v)
        b, _, t, _ = ctx.shape
        return self.o(ctx.transpose(1, 2).reshape(b, t, self.heads * self.dh))

    def forward(self, x):
        return self.attend(self.split(self.q(x)), self.split(self.k(x)),
                           self.split(self.v(x)))


# ---- Whisper ----

def slaney_mel_filters(n_freqs, n_mels, rate, f_max):
    """audio_utils.mel_filter_bank(norm="slaney", mel_scale="slaney"):
    [n_freqs, n_mels]."""
    def hz_to_mel(hz):
        hz = np.asarray(hz, dtype=np.float64)
        logstep = 27.0 / np.log(6.4)
        return np.where(hz < 1000.0, 3.0 * hz / 200.0,
                        15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) * logstep)

    def mel_to_hz(mel):
        mel = np.asarray(mel, dtype=np.float64)
        logstep = np.log(6.4) / 27.0
        return np.where(mel < 15.0, 200.0 * mel / 3.0,
                        1000.0 * np.exp(logstep * (mel - 15.0)))

    fft_freqs = np.linspace(0, rate // 2, n_freqs)
    mels = np.linspace(hz_to_mel(0.0), hz_to_mel(f_max), n_mels + 2)
    edges = mel_to_hz(mels)
    diff = np.diff(edges)
    slopes = edges[None, :] - fft_freqs[:, None]
    down = -slopes[:, :-2] / diff[:-1]
    up = slopes[:, 2:] / diff[1:]
    filters = np.maximum(0.0, np.minimum(down, up))
    filters *= (2.0 / (edges[2:n_mels + 2] - edges[:n_mels]))[None, :]
    return torch.from_numpy(filters.astype(np.float32))


class WhisperLayer(nn.Module):
    """WhisperEncoderLayer / WhisperDecoderLayer (pre-LN)."""

    def __init__(self, d, heads, ffn, cross):
        super().__init__()
        self.self_attn = Attention(d, heads, k_bias=False)
        self.self_norm = nn.LayerNorm(d)
        self.cross = Attention(d, heads, k_bias=False) if cross else None
        self.cross_norm = nn.LayerNorm(d) if cross else None
        self.fc1 = nn.Linear(d, ffn)
        self.fc2 = nn.Linear(ffn, d)
        self.ffn_norm = nn.LayerNorm(d)

    def ffn(self, x):
        return x + self.fc2(gelu(self.fc1(self.ffn_norm(x))))

    def encode(self, x):
        return self.ffn(x + self.self_attn(self.self_norm(x)))

    def decode(self, x, cache):
        """One decoder step over x [B, T, D]; cache holds this layer's
        self-attention keys/values so far and the cross keys/values."""
        a = self.self_attn
        h = self.self_norm(x)
        k, v = a.split(a.k(h)), a.split(a.v(h))
        if "k" in cache:
            k = torch.cat([cache["k"], k], dim=2)
            v = torch.cat([cache["v"], v], dim=2)
        cache["k"], cache["v"] = k, v
        q = a.split(a.q(h))
        t = x.shape[1]
        if t > 1:
            # causal within the new positions (the cache is all in the past)
            s = k.shape[2]
            scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(a.dh)
            mask = torch.ones(t, s, dtype=torch.bool).triu(s - t + 1)
            scores = scores.masked_fill(mask, float("-inf"))
            ctx = torch.matmul(torch.softmax(scores, dim=-1), v)
            b = x.shape[0]
            x = x + a.o(ctx.transpose(1, 2).reshape(b, t, a.heads * a.dh))
        else:
            x = x + a.attend(q, k, v)
        c = self.cross
        h = self.cross_norm(x)
        x = x + c.attend(c.split(c.q(h)), cache["ck"], cache["cv"])
        return self.ffn(x)


class Whisper(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, mels = cfg["d_model"], cfg["num_mel_bins"]
        self.conv1 = nn.Conv1d(mels, d, 3, padding=1)
        self.conv2 = nn.Conv1d(d, d, 3, stride=2, padding=1)
        self.enc_pos = nn.Parameter(torch.empty(cfg["max_source_positions"], d))
        self.enc_layers = nn.ModuleList(
            WhisperLayer(d, cfg["encoder_attention_heads"],
                         cfg["encoder_ffn_dim"], False)
            for _ in range(cfg["encoder_layers"]))
        self.enc_norm = nn.LayerNorm(d)
        self.tok = nn.Embedding(cfg["vocab_size"], d)
        self.dec_pos = nn.Parameter(torch.empty(cfg["max_target_positions"], d))
        self.dec_layers = nn.ModuleList(
            WhisperLayer(d, cfg["decoder_attention_heads"],
                         cfg["decoder_ffn_dim"], True)
            for _ in range(cfg["decoder_layers"]))
        self.dec_norm = nn.LayerNorm(d)

    def encode(self, feats):
        x = gelu(self.conv1(feats))
        x = gelu(self.conv2(x)).transpose(1, 2)
        x = x + self.enc_pos[:x.shape[1]]
        for layer in self.enc_layers:
            x = layer.encode(x)
        return self.enc_norm(x)

    def new_caches(self, enc):
        caches = []
        for layer in self.dec_layers:
            c = layer.cross
            caches.append({"ck": c.split(c.k(enc)), "cv": c.split(c.v(enc))})
        return caches

    def step(self, ids, caches, start):
        x = self.tok(ids) + self.dec_pos[start:start + ids.shape[1]]
        for layer, cache in zip(self.dec_layers, caches):
            x = layer.decode(x, cache)
        x = self.dec_norm(x[:, -1:])
        return torch.matmul(x, self.tok.weight.t())  # proj_out, tied


def whisper_names(cfg):
    names = {"conv1.weight": "encoder.conv1.weight",
             "conv1.bias": "encoder.conv1.bias",
             "conv2.weight": "encoder.conv2.weight",
             "conv2.bias": "encoder.conv2.bias",
             "enc_pos": "encoder.embed_positions.weight",
             "enc_norm.weight": "encoder.layer_norm.weight",
             "enc_norm.bias": "encoder.layer_norm.bias",
             "tok.weight": "decoder.embed_tokens.weight",
             "dec_pos": "decoder.embed_positions.weight",
             "dec_norm.weight": "decoder.layer_norm.weight",
             "dec_norm.bias": "decoder.layer_norm.bias"}
    parts = {"self_norm": "self_attn_layer_norm", "fc1": "fc1", "fc2": "fc2",
             "ffn_norm": "final_layer_norm"}
    for side, n, cross in (("enc", cfg["encoder_layers"], False),
                           ("dec", cfg["decoder_layers"], True)):
        hf = "encoder" if side == "enc" else "decoder"
        p = dict(parts)
        attn = [("self_attn", "self_attn")]
        if cross:
            p["cross_norm"] = "encoder_attn_layer_norm"
            attn.append(("cross", "encoder_attn"))
        for i in range(n):
            ours, theirs = "%s_layers.%d." % (side, i), "%s.layers.%d." % (hf, i)
            for a, b in p.items():
                for w in ("weight", "bias"):
                    names["%s%s.%s" % (ours, a, w)] = "%s%s.%s" % (theirs, b, w)
            for a, b in attn:
                for proj, hproj in (("q", "q_proj"), ("k", "k_proj"),
                                    ("v", "v_proj"), ("o", "out_proj")):
                    for w in ("weight", "bias"):
                        if proj == "k" and w == "bias":
                            continue
                        names["%s%s.%s.%s" % (ours, a, proj, w)] = \
                            "%s%s.%s.%s" % (theirs, b, hproj, w)
    return names


class WhisperRunner:
    def __init__(self, model_dir, cfg, weights, tokens):
        pre = read_json(model_dir, "preprocessor_config.json")
        gen = read_json(model_dir, "generation_config.json", {})
        self.rate = pre.get("sampling_rate", 16000)
        self.n_fft, self.hop = pre.get("n_fft", 400), pre.get("hop_length", 160)
        self.n_samples = pre.get("chunk_length", 30) * self.rate
        self.window = torch.hann_window(self.n_fft)
        self.filters = slaney_mel_filters(
            self.n_fft // 2 + 1, cfg["num_mel_bins"], self.rate, 8000.0).t()
        self.model = Whisper(cfg).eval()
        prefix = "model." if "model.encoder.conv1.weight" in weights else ""
        assign(self.model, {k: weights[prefix + v]
                            for k, v in whisper_names(cfg).items()})
        self.tokens = tokens
        field = lambda k, d=-1: first_id(gen.get(k, cfg.get(k, d)))
        self.eos = field("eos_token_id")
        self.prompt = [field("decoder_start_token_id")]
        pos = 1
        for p, i in gen.get("forced_decoder_ids", cfg.get(
                "forced_decoder_ids")) or []:
            if p != pos:
                break
            pos += 1
            if i is not None:
                self.prompt.append(i)
        no_ts = field("no_timestamps_token_id")
        if no_ts >= 0 and self.prompt[-1] != no_ts:
            self.prompt.append(no_ts)
        self.default_seconds = self.n_samples / self.rate

    def frontend(self, audio):
        x = F.pad(audio, (0, max(0, self.n_samples - audio.numel())))
        x = x[:self.n_samples]
        spec = torch.stft(x, self.n_fft, self.hop, window=self.window,
                          center=True, pad_mode="reflect", return_complex=True)
        power = spec[:, :-1].abs() ** 2
        mel = torch.clamp(self.filters @ power, min=1e-10).log10()
        mel = torch.maximum(mel, mel.max() - 8.0)
        return ((mel + 4.0) / 4.0).unsqueeze(0)

    def encoder(self, feats):
        return self.model.encode(feats)

    def decode(self, enc):
        if self.tokens <= 0:
            return None
        m = self.model
        caches = m.new_caches(enc)
        ids = torch.tensor([self.prompt])
        logits = m.step(ids, caches, 0)
        pos = ids.shape[1]
        out = []
        for k in range(self.tokens):
            logits[0, -1, self.eos] = float("-inf")
            nxt = int(torch.argmax(logits[0, -1]))
            out.append(nxt)
            if k + 1 == self.tokens:
                break
            logits = m.step(torch.tensor([[nxt]]), caches, pos)
            pos += 1
        return out


# ---- wav2vec2 ----

W2V_ACTIVATIONS = {
    "gelu": F.gelu,
    "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
    "relu": F.relu,
    "silu": F.silu,
    "swish": F.silu,
}


def w2v_activation(cfg, key):
    name = cfg.get(key, "gelu")
    if name not in W2V_ACTIVATIONS:
        sys.exit("torch_audio.py: %s %r is not written here" % (key, name))
    return W2V_ACTIVATIONS[name]


class W2vLayer(nn.Module):
    """Wav2Vec2EncoderLayer (post-LN) or, with stable,
    Wav2Vec2EncoderLayerStableLayerNorm (pre-LN): norm1 is HF's layer_norm,
    norm2 its final_layer_norm in both."""

    def __init__(self, h, heads, inter, eps, act, stable):
        super().__init__()
        self.attn = Attention(h, heads)
        self.norm1 = nn.LayerNorm(h, eps=eps)
        self.fc1 = nn.Linear(h, inter)
        self.fc2 = nn.Linear(inter, h)
        self.norm2 = nn.LayerNorm(h, eps=eps)
        self.act, self.stable = act, stable

    def ffn(self, x):
        return self.fc2(self.act(self.fc1(x)))

    def forward(self, x):
        if self.stable:
            x = x + self.attn(self.norm1(x))
            return x + self.ffn(self.norm2(x))
        x = self.norm1(x + self.attn(x))
        return self.norm2(x + self.ffn(x))


class Wav2Vec2Ctc(nn.Module):
    """Wav2Vec2ForCTC in eval mode, both encoder variants:

    - feat_extract_norm "group": a GroupNorm (one group per channel) after
      the first conv only; "layer": a LayerNorm over channels after every
      conv. Both keep PyTorch's default eps 1e-5.
    - Wav2Vec2Encoder: LayerNorm(x + positions), then post-LN layers; the
      hidden states are that input and every layer's output.
    - Wav2Vec2EncoderStableLayerNorm (do_stable_layer_norm): x + positions
      goes into pre-LN layers without a norm; encoder.layer_norm follows
      the last layer. The hidden states are every layer's input, then the
      normalised output: the last layer's raw output is not one of them.
    """

    def __init__(self, cfg):
        super().__init__()
        dims, ks, ss = cfg["conv_dim"], cfg["conv_kernel"], cfg["conv_stride"]
        h, eps = cfg["hidden_size"], cfg.get("layer_norm_eps", 1e-5)
        self.feat_norm = cfg.get("feat_extract_norm", "group")
        if self.feat_norm not in ("group", "layer"):
            sys.exit("torch_audio.py: feat_extract_norm %r is not group or "
                     "layer" % self.feat_norm)
        self.stable = bool(cfg.get("do_stable_layer_norm", False))
        self.feat_act = w2v_activation(cfg, "feat_extract_activation")
        self.convs = nn.ModuleList(
            nn.Conv1d(dims[i - 1] if i else 1, c, k, stride=s,
                      bias=cfg.get("conv_bias", False))
            for i, (c, k, s) in enumerate(zip(dims, ks, ss)))
        if self.feat_norm == "group":
            self.conv_norms = nn.ModuleList([nn.GroupNorm(dims[0], dims[0])])
        else:
            self.conv_norms = nn.ModuleList(nn.LayerNorm(c) for c in dims)
        self.fp_norm = nn.LayerNorm(dims[-1], eps=eps)
        self.fp = nn.Linear(dims[-1], h)
        k = cfg["num_conv_pos_embeddings"]
        self.pos_conv = nn.Conv1d(h, h, k, padding=k // 2,
                                  groups=cfg["num_conv_pos_embedding_groups"])
        self.enc_norm = nn.LayerNorm(h, eps=eps)
        act = w2v_activation(cfg, "hidden_act")
        self.layers = nn.ModuleList(
            W2vLayer(h, cfg["num_attention_heads"], cfg["intermediate_size"],
                     eps, act, self.stable)
            for _ in range(cfg["num_hidden_layers"]))
        self.lm_head = nn.Linear(h, cfg["vocab_size"])
        self.even_pos = k % 2 == 0

    def features(self, wave):
        """The feature encoder: [B, N] -> [B, C, T]."""
        x = wave[:, None]
        for i, conv in enumerate(self.convs):
            x = conv(x)
            if self.feat_norm == "layer":
                x = self.conv_norms[i](x.transpose(1, 2)).transpose(1, 2)
            elif i == 0:
                x = self.conv_norms[0](x)
            x = self.feat_act(x)
        return x

    def run(self, wave):
        """-> (conv features [B, C, T], hidden states [B, T, H] each,
        logits [B, T, V])"""
        conv = self.features(wave)
        x = self.fp(self.fp_norm(conv.transpose(1, 2)))
        pos = self.pos_conv(x.transpose(1, 2))
        if self.even_pos:
            pos = pos[:, :, :-1]
        x = x + self.feat_act(pos).transpose(1, 2)
        if not self.stable:
            x = self.enc_norm(x)
        hidden = []
        for layer in self.layers:
            hidden.append(x)
            x = layer(x)
        if self.stable:
            x = self.enc_norm(x)
        hidden.append(x)
        return conv, hidden, self.lm_head(x)

    def forward(self, wave):
        return self.run(wave)[2]


class Wav2Vec2Runner:
    default_seconds = 10.0

    def __init__(self, model_dir, cfg, weights):
        pre = read_json(model_dir, "preprocessor_config.json")
        self.rate = pre.get("sampling_rate", 16000)
        self.normalize = pre.get("do_normalize", True)
        self.model = Wav2Vec2Ctc(cfg).eval()
        w = "wav2vec2." if "wav2vec2.feature_projection.projection.weight" \
            in weights else ""
        names = {"fp_norm.weight": "feature_projection.layer_norm.weight",
                 "fp_norm.bias": "feature_projection.layer_norm.bias",
                 "fp.weight": "feature_projection.projection.weight",
                 "fp.bias": "feature_projection.projection.bias",
                 "pos_conv.bias": "encoder.pos_conv_embed.conv.bias",
                 "enc_norm.weight": "encoder.layer_norm.weight",
                 "enc_norm.bias": "encoder.layer_norm.bias"}
        for i in range(len(cfg["conv_dim"])):
            c = "feature_extractor.conv_layers.%d." % i
            names["convs.%d.weight" % i] = c + "conv.weight"
            if cfg.get("conv_bias"):
                names["convs.%d.bias" % i] = c + "conv.bias"
            if i < len(self.model.conv_norms):
                for x in ("weight", "bias"):
                    names["conv_norms.%d.%s" % (i, x)] = c + "layer_norm." + x
        parts = {"attn.q": "attention.q_proj", "attn.k": "attention.k_proj",
                 "attn.v": "attention.v_proj", "attn.o": "attention.out_proj",
                 "norm1": "layer_norm", "fc1": "feed_forward.intermediate_dense",
                 "fc2": "feed_forward.output_dense",
                 "norm2": "final_layer_norm"}
        for i in range(cfg["num_hidden_layers"]):
            for a, b in parts.items():
                for x in ("weight", "bias"):
                    names["layers.%d.%s.%s" % (i, a, x)] = \
                        "encoder.layers.%d.%s.%s" % (i, b, x)
        missing = sorted(w + v for v in names.values() if w + v not in weights)
        if missing:
            sys.exit("model.safetensors: no %s" % ", ".join(missing))
        state = {k: weights[w + v] for k, v in names.items()}
        state["lm_head.weight"] = weights["lm_head.weight"]
        state["lm_head.bias"] = weights["lm_head.bias"]
        # weight_norm over dim 2, fused once
        p = w + "encoder.pos_conv_embed.conv."
        if p + "weight_g" in weights:
            g, v = weights[p + "weight_g"], weights[p + "weight_v"]
        else:
            g = weights[p + "parametrizations.weight.original0"]
            v = weights[p + "parametrizations.weight.original1"]
        state["pos_conv.weight"] = g * v / v.norm(dim=(0, 1), keepdim=True)
        assign(self.model, state)

    def frontend(self, audio):
        if not self.normalize:
            return audio[None]
        return ((audio - audio.mean()) / torch.sqrt(audio.var(unbiased=False)
                                                    + 1e-7))[None]

    def encoder(self, x):
        return self.model(x)

    def decode(self, _):
        return None


# ---- AST ----

class PreLnLayer(nn.Module):
    """ASTLayer (ViT-style pre-LN)."""

    def __init__(self, h, heads, inter, eps, qkv_bias):
        super().__init__()
        self.attn = Attention(h, heads)
        if not qkv_bias:
            for lin in (self.attn.q, self.attn.k, self.attn.v):
                lin.bias = None
        self.norm1 = nn.LayerNorm(h, eps=eps)
        self.fc1 = nn.Linear(h, inter)
        self.fc2 = nn.Linear(inter, h)
        self.norm2 = nn.LayerNorm(h, eps=eps)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.fc2(gelu(self.fc1(self.norm2(x))))


class Ast(nn.Module):
    def __init__(self, cfg, labels):
        super().__init__()
        h, p, eps = cfg["hidden_size"], cfg["patch_size"], \
            cfg.get("layer_norm_eps", 1e-12)
        f_out = (cfg["num_mel_bins"] - p) // cfg["frequency_stride"] + 1
        t_out = (cfg["max_length"] - p) // cfg["time_stride"] + 1
        self.cls = nn.Parameter(torch.empty(1, 1, h))
        self.dist = nn.Parameter(torch.empty(1, 1, h))
        self.pos = nn.Parameter(torch.empty(1, f_out * t_out + 2, h))
        self.patch = nn.Conv2d(1, h, p, stride=(cfg["frequency_stride"],
                                                cfg["time_stride"]))
        self.layers = nn.ModuleList(
            PreLnLayer(h, cfg["num_attention_heads"], cfg["intermediate_size"],
                       eps, cfg.get("qkv_bias", True))
            for _ in range(cfg["num_hidden_layers"]))
        self.norm = nn.LayerNorm(h, eps=eps)
        self.head_norm = nn.LayerNorm(h, eps=eps)
        self.head = nn.Linear(h, labels)

    def forward(self, fbank):
        x = self.patch(fbank.transpose(1, 2)[:, None])  # [B, H, f, t]
        x = x.flatten(2).transpose(1, 2)
        b = x.shape[0]
        x = torch.cat([self.cls.expand(b, -1, -1), self.dist.expand(b, -1, -1),
                       x], dim=1) + self.pos
        for layer in self.layers:
            x = layer(x)
        x = self.norm(x)
        return self.head(self.head_norm((x[:, 0] + x[:, 1]) / 2))


def kaldi_mel_banks(n_mels, fft_size, rate, low_hz=20.0):
    """torchaudio.compliance.kaldi.get_mel_banks, padded with the Nyquist
    bin's zero column: [n_mels, fft_size / 2 + 1]."""
    mel = lambda hz: 1127.0 * np.log(1.0 + np.asarray(hz) / 700.0)
    n_bins = fft_size // 2
    bin_mel = mel(rate / fft_size * np.arange(n_bins))
    low, high = mel(low_hz), mel(0.5 * rate)
    delta = (high - low) / (n_mels + 1)
    left = low + np.arange(n_mels)[:, None] * delta
    centre, right = left + delta, left + 2 * delta
    up = (bin_mel[None] - left) / (centre - left)
    down = (right - bin_mel[None]) / (right - centre)
    banks = np.maximum(0.0, np.minimum(up, down))
    banks = np.pad(banks, ((0, 0), (0, 1)))
    return torch.from_numpy(banks.astype(np.float32))


class AstRunner:
    def __init__(self, model_dir, cfg, weights):
        pre = read_json(model_dir, "preprocessor_config.json")
        self.rate = pre.get("sampling_rate", 16000)
        self.max_length = cfg["max_length"]
        self.mean, self.std = pre.get("mean", -4.2677393), pre.get("std", 4.5689974)
        self.normalize = pre.get("do_normalize", True)
        self.frame = int(self.rate * 0.025)
        self.shift = int(self.rate * 0.010)
        self.fft = 1 << (self.frame - 1).bit_length()
        self.window = torch.hann_window(self.frame, periodic=False)
        self.banks = kaldi_mel_banks(cfg["num_mel_bins"], self.fft, self.rate).t()
        self.dft = None  # see exportable()
        self.default_seconds = ((self.max_length - 1) * self.shift
                                + self.frame) / self.rate
        labels = weights["classifier.dense.weight"].shape[0]
        self.model = Ast(cfg, labels).eval()
        a = "audio_spectrogram_transformer." \
            if "audio_spectrogram_transformer.embeddings.cls_token" in weights \
            else ""
        names = {"cls": "embeddings.cls_token",
                 "dist": "embeddings.distillation_token",
                 "pos": "embeddings.position_embeddings",
                 "patch.weight": "embeddings.patch_embeddings.projection.weight",
                 "patch.bias": "embeddings.patch_embeddings.projection.bias",
                 "norm.weight": "layernorm.weight", "norm.bias": "layernorm.bias"}
        parts = {"attn.q": "attention.attention.query",
                 "attn.k": "attention.attention.key",
                 "attn.v": "attention.attention.value",
                 "attn.o": "attention.output.dense",
                 "norm1": "layernorm_before", "fc1": "intermediate.dense",
                 "fc2": "output.dense", "norm2": "layernorm_after"}
        qkv_bias = cfg.get("qkv_bias", True)
        for i in range(cfg["num_hidden_layers"]):
            for x, y in parts.items():
                for w in ("weight", "bias"):
                    if w == "bias" and not qkv_bias and x in (
                            "attn.q", "attn.k", "attn.v"):
                        continue
                    names["layers.%d.%s.%s" % (i, x, w)] = \
                        "encoder.layer.%d.%s.%s" % (i, y, w)
        state = {k: weights[a + v] for k, v in names.items()}
        for x, y in (("head_norm", "classifier.layernorm"),
                     ("head", "classifier.dense")):
            for w in ("weight", "bias"):
                state["%s.%s" % (x, w)] = weights["%s.%s" % (y, w)]
        assign(self.model, state)

    def exportable(self):
        """Makes frontend() traceable to ONNX at opset 14, which has no
        FFT: frames are gathered by index and the zero-padded real DFT is
        a product with its cosine and sine bases (the same values as
        rfft's, to float rounding)."""
        n = torch.arange(self.frame, dtype=torch.float64)[:, None]
        k = torch.arange(self.fft // 2 + 1, dtype=torch.float64)[None]
        angle = 2 * math.pi * n * k / self.fft
        self.dft = torch.cat([torch.cos(angle), torch.sin(angle)], 1).float()

    def frontend(self, audio):
        if self.dft is None:
            frames = audio.unfold(0, self.frame, self.shift)  # snip_edges
        else:
            count = (audio.shape[0] - self.frame) // self.shift + 1
            frames = audio[torch.arange(count)[:, None] * self.shift
                           + torch.arange(self.frame)[None]]
        frames = frames - frames.mean(dim=1, keepdim=True)
        prev = torch.cat([frames[:, :1], frames[:, :-1]], dim=1)
        frames = (frames - 0.97 * prev) * self.window
        if self.dft is None:
            power = torch.fft.rfft(frames, n=self.fft).abs() ** 2
        else:
            spec = frames @ self.dft
            bins = self.fft // 2 + 1
            power = spec[:, :bins] ** 2 + spec[:, bins:] ** 2
        eps = torch.finfo(torch.float32).eps
        fbank = torch.clamp(power @ self.banks, min=eps).log()
        n = fbank.shape[0]
        if n < self.max_length:
            fbank = F.pad(fbank, (0, 0, 0, self.max_length - n))
        fbank = fbank[:self.max_length]
        if self.normalize:
            fbank = (fbank - self.mean) / (2 * self.std)
        return fbank[None]

    def encoder(self, fbank):
        return self.model(fbank)

    def decode(self, _):
        return None


# ---- common ----

def read_json(model_dir, name, default=None):
    path = os.path.join(model_dir, name)
    if default is not None and not os.path.exists(path):
        return default
    with open(path) as f:
        return json.load(f)


def first_id(value):
    if isinstance(value, list):
        value = value[0] if value else -1
    return -1 if value is None else value


def assign(model, state):
    """Points every parameter at the checkpoint's tensor (no copy)."""
    params = dict(model.named_parameters())
    missing = sorted(set(params) - set(state))
    if missing:
        sys.exit("torch_audio.py: no weight for %s" % ", ".join(missing))
    for name, param in params.items():
        if tuple(param.shape) != tuple(state[name].shape):
            sys.exit("model.safetensors: %s has shape %s, the config implies %s"
                     % (name, list(state[name].shape), list(param.shape)))
        param.data = state[name]


def summary(values):
    v = sorted(values)
    n = len(v)
    return v[n // 2] if n % 2 else 0.5 * (v[n // 2 - 1] + v[n // 2])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--threads", type=int, default=0,
                    help="torch.set_num_threads (0 = leave PyTorch's default)")
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=0.0,
                    help="audio per pass (default: the model's window)")
    ap.add_argument("--tokens", type=int, default=32,
                    help="Whisper: tokens decoded per pass")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.iters < 1 or args.warmup < 0 or args.seconds < 0 or args.tokens < 0:
        ap.error("--iters must be >= 1; --warmup, --seconds, --tokens >= 0")
    if args.threads > 0:
        torch.set_num_threads(args.threads)

    peer = load_bert_peer()
    cfg = read_json(args.model, "config.json")
    start = time.perf_counter()
    weights = peer.load_safetensors(os.path.join(args.model, "model.safetensors"))
    kind = cfg.get("model_type")
    tokens = 0
    if kind == "whisper":
        tokens = args.tokens
        runner = WhisperRunner(args.model, cfg, weights, tokens)
    elif kind == "wav2vec2":
        runner = Wav2Vec2Runner(args.model, cfg, weights)
    elif kind == "audio-spectrogram-transformer":
        runner = AstRunner(args.model, cfg, weights)
    else:
        sys.exit("torch_audio.py: model_type %r is not an audio model" % kind)
    del weights
    load_ms = (time.perf_counter() - start) * 1000

    seconds = args.seconds or runner.default_seconds
    audio = bench_signal(int(round(seconds * runner.rate)), runner.rate)
    passes = []
    features = None
    with torch.inference_mode():
        for i in range(args.warmup + args.iters):
            t0 = time.perf_counter()
            feats = runner.frontend(audio)
            t1 = time.perf_counter()
            enc = runner.encoder(feats)
            t2 = time.perf_counter()
            runner.decode(enc)
            t3 = time.perf_counter()
            features = list(feats.shape[1:])
            if i >= args.warmup:
                passes.append(((t1 - t0) * 1000, (t2 - t1) * 1000,
                               (t3 - t2) * 1000, (t3 - t0) * 1000))
    totals = [p[3] for p in passes]
    median = summary(totals)
    blas_core, blas_threads = peer.openblas_info()
    result = {
        "model": os.path.basename(os.path.normpath(args.model)),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "blas_core": blas_core,
        "blas_threads": blas_threads,
        "seconds": seconds,
        "features": features,
        "tokens": tokens,
        "eos_masked": tokens > 0,
        "iters": args.iters,
        "warmup": args.warmup,
        "load_ms": load_ms,
        "median_ms": median,
        "min_ms": min(totals),
        "mean_ms": sum(totals) / len(totals),
        "frontend_ms": summary([p[0] for p in passes]),
        "encoder_ms": summary([p[1] for p in passes]),
        "decode_ms": summary([p[2] for p in passes]),
        "realtime_factor": seconds / (median / 1000),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "times_ms": [round(t, 3) for t in totals],
    }
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            if k != "times_ms":
                print("%-16s %s" % (k, "%.2f" % v if isinstance(v, float) else v))


if __name__ == "__main__":
    main()
