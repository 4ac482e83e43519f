#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes a randomly initialised audio checkpoint for benchmarks.

    make-random-audio.py CONFIG.json OUTDIR [--seed S] [--dtype f32|f16|bf16]

The config's model_type picks the family; OUTDIR gets config.json,
model.safetensors with every parameter under its Hugging Face name and
shape, and the files the loader reads next to them:

- "whisper": WhisperForConditionalGeneration (weights under "model.",
  proj_out tied to decoder.embed_tokens and so not stored, the encoder's
  embed_positions the fixed sinusoids Whisper uses), the
  preprocessor_config.json of WhisperFeatureExtractor (80 or 128 mels,
  30 s chunks) and a generation_config.json in the form of
  openai/whisper-tiny.en's, with the token ids taken from the config.
  No tokenizer: decoding ids to text is not timed, and the loader does not
  need one.
- "wav2vec2": Wav2Vec2ForCTC (weights under "wav2vec2.", the positional
  convolution stored weight-normed as the Hub's weight_g / weight_v), a
  Wav2Vec2FeatureExtractor preprocessor_config.json, and the 32-letter
  vocab.json of facebook/wav2vec2-base-960h when vocab_size is 32.
- "audio-spectrogram-transformer": ASTForAudioClassification with
  --labels labels (527, AudioSet's, by default) named LABEL_i, and the
  ASTFeatureExtractor preprocessor_config.json with AudioSet's mean and std.

Weights are drawn from normal(0, initializer_range) as the HF models
initialise their linear layers and embeddings, convolutions with He
scaling; norms get weights near 1 and small biases. Timing does not depend
on the values.

Only numpy is needed; the safetensors writer is make-random-checkpoint.py's.
"""

import argparse
import importlib.util
import json
import math
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

# facebook/wav2vec2-base-960h's vocab.json
W2V_LETTERS = ["<pad>", "<s>", "</s>", "<unk>", "|", "E", "T", "A", "O", "N",
               "I", "H", "S", "R", "D", "L", "U", "M", "W", "C", "F", "G", "Y",
               "P", "B", "V", "K", "'", "X", "J", "Q", "Z"]


def load_writer():
    """make-random-checkpoint.py's safetensors writer (its name has dashes,
    so it is loaded by path)."""
    path = os.path.join(HERE, "make-random-checkpoint.py")
    spec = importlib.util.spec_from_file_location("make_random_checkpoint", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.write_safetensors


def need_int(cfg, origin, *keys):
    for key in keys:
        if not isinstance(cfg.get(key), int) or cfg[key] < 1:
            sys.exit("%s: field %s must be a positive integer" % (origin, key))


class Draw:
    """Random tensors in module order: (name, float32 array)."""

    def __init__(self, seed, std):
        self.rng = np.random.default_rng(seed)
        self.std = std
        self.tensors = []

    def normal(self, name, shape, std=None):
        std = self.std if std is None else std
        self.add(name, self.rng.normal(0.0, std, size=shape))

    def conv(self, name, shape):
        fan_in = int(np.prod(shape[1:]))
        self.normal(name, shape, math.sqrt(2.0 / fan_in))

    def bias(self, name, n):
        self.normal(name, (n,), 0.02)

    def norm(self, prefix, n):
        self.add(prefix + ".weight", 1.0 + self.rng.normal(0.0, 0.02, size=n))
        self.bias(prefix + ".bias", n)

    def linear(self, prefix, n_out, n_in, bias=True):
        self.normal(prefix + ".weight", (n_out, n_in))
        if bias:
            self.bias(prefix + ".bias", n_out)

    def add(self, name, array):
        self.tensors.append((name, np.asarray(array, dtype=np.float32)))


def sinusoids(length, channels):
    """Whisper's fixed encoder positions: sin then cos of geometrically
    spaced timescales."""
    half = channels // 2
    step = math.log(10000) / (half - 1)
    inv = np.exp(-step * np.arange(half))
    t = np.arange(length)[:, None] * inv[None, :]
    return np.concatenate([np.sin(t), np.cos(t)], axis=1)


def whisper(cfg, origin, draw):
    need_int(cfg, origin, "d_model", "num_mel_bins", "encoder_layers",
             "decoder_layers", "encoder_ffn_dim", "decoder_ffn_dim",
             "vocab_size", "max_source_positions", "max_target_positions",
             "encoder_attention_heads", "decoder_attention_heads")
    d, mels = cfg["d_model"], cfg["num_mel_bins"]

    def attention(p, self_attn):
        draw.linear(p + ".q_proj", d, d)
        draw.linear(p + ".k_proj", d, d, bias=False)
        draw.linear(p + ".v_proj", d, d)
        draw.linear(p + ".out_proj", d, d)

    def layer(p, ffn, cross):
        attention(p + "self_attn", True)
        draw.norm(p + "self_attn_layer_norm", d)
        if cross:
            attention(p + "encoder_attn", False)
            draw.norm(p + "encoder_attn_layer_norm", d)
        draw.linear(p + "fc1", ffn, d)
        draw.linear(p + "fc2", d, ffn)
        draw.norm(p + "final_layer_norm", d)

    e = "model.encoder."
    draw.conv(e + "conv1.weight", (d, mels, 3))
    draw.bias(e + "conv1.bias", d)
    draw.conv(e + "conv2.weight", (d, d, 3))
    draw.bias(e + "conv2.bias", d)
    draw.add(e + "embed_positions.weight",
             sinusoids(cfg["max_source_positions"], d))
    for i in range(cfg["encoder_layers"]):
        layer("%slayers.%d." % (e, i), cfg["encoder_ffn_dim"], False)
    draw.norm(e + "layer_norm", d)

    p = "model.decoder."
    draw.normal(p + "embed_tokens.weight", (cfg["vocab_size"], d))
    draw.normal(p + "embed_positions.weight", (cfg["max_target_positions"], d))
    for i in range(cfg["decoder_layers"]):
        layer("%slayers.%d." % (p, i), cfg["decoder_ffn_dim"], True)
    draw.norm(p + "layer_norm", d)

    cfg.setdefault("architectures", ["WhisperForConditionalGeneration"])
    preprocessor = {
        "chunk_length": 30,
        "feature_extractor_type": "WhisperFeatureExtractor",
        "feature_size": mels,
        "hop_length": 160,
        "n_fft": 400,
        "n_samples": 480000,
        "nb_max_frames": 3000,
        "padding_side": "right",
        "padding_value": 0.0,
        "return_attention_mask": False,
        "sampling_rate": 16000,
    }
    # openai/whisper-tiny.en's layout: <|notimestamps|> follows the
    # special tokens that start at eos
    start = cfg.get("decoder_start_token_id", 50257)
    eos = cfg.get("eos_token_id", 50256)
    no_timestamps = start + 105
    if no_timestamps >= cfg["vocab_size"]:
        sys.exit("%s: vocab_size %d has no room for <|notimestamps|>"
                 % (origin, cfg["vocab_size"]))
    generation = {
        "begin_suppress_tokens": cfg.get("begin_suppress_tokens") or [],
        "bos_token_id": cfg.get("bos_token_id", eos),
        "decoder_start_token_id": start,
        "eos_token_id": eos,
        "forced_decoder_ids": [[1, no_timestamps]],
        "max_initial_timestamp_index": 50,
        "max_length": cfg["max_target_positions"],
        "no_timestamps_token_id": no_timestamps,
        "pad_token_id": cfg.get("pad_token_id", eos),
        "suppress_tokens": [],
    }
    return preprocessor, {"generation_config.json": generation}


def wav2vec2(cfg, origin, draw):
    need_int(cfg, origin, "hidden_size", "intermediate_size",
             "num_hidden_layers", "num_attention_heads", "vocab_size",
             "num_conv_pos_embeddings", "num_conv_pos_embedding_groups")
    h, inter = cfg["hidden_size"], cfg["intermediate_size"]
    dims, kernels = cfg["conv_dim"], cfg["conv_kernel"]
    group = cfg.get("feat_extract_norm", "group") == "group"
    if cfg.get("do_stable_layer_norm") and group:
        sys.exit("%s: do_stable_layer_norm goes with feat_extract_norm layer"
                 % origin)
    w = "wav2vec2."
    for i, (c, k) in enumerate(zip(dims, kernels)):
        p = "%sfeature_extractor.conv_layers.%d." % (w, i)
        draw.conv(p + "conv.weight", (c, dims[i - 1] if i else 1, k))
        if cfg.get("conv_bias"):
            draw.bias(p + "conv.bias", c)
        if not group or i == 0:
            draw.norm(p + "layer_norm", c)
    draw.norm(w + "feature_projection.layer_norm", dims[-1])
    draw.linear(w + "feature_projection.projection", h, dims[-1])

    # weight_norm over dim 2: g holds the norm of each kernel tap, so the
    # fused kernel is v itself
    k = cfg["num_conv_pos_embeddings"]
    per_group = h // cfg["num_conv_pos_embedding_groups"]
    v = draw.rng.normal(0.0, 2.0 / math.sqrt(k * h), size=(h, per_group, k))
    p = w + "encoder.pos_conv_embed.conv."
    draw.add(p + "bias", np.zeros(h))
    draw.add(p + "weight_g", np.sqrt((v ** 2).sum(axis=(0, 1))).reshape(1, 1, k))
    draw.add(p + "weight_v", v)
    draw.norm(w + "encoder.layer_norm", h)
    for i in range(cfg["num_hidden_layers"]):
        p = "%sencoder.layers.%d." % (w, i)
        for proj in ("k_proj", "v_proj", "q_proj", "out_proj"):
            draw.linear(p + "attention." + proj, h, h)
        draw.norm(p + "layer_norm", h)
        draw.linear(p + "feed_forward.intermediate_dense", inter, h)
        draw.linear(p + "feed_forward.output_dense", h, inter)
        draw.norm(p + "final_layer_norm", h)
    draw.linear("lm_head", cfg["vocab_size"], h)

    cfg.setdefault("architectures", ["Wav2Vec2ForCTC"])
    preprocessor = {
        "do_normalize": True,
        "feature_extractor_type": "Wav2Vec2FeatureExtractor",
        "feature_size": 1,
        "padding_side": "right",
        "padding_value": 0.0,
        "return_attention_mask": False,
        "sampling_rate": 16000,
    }
    extra = {}
    if cfg["vocab_size"] == len(W2V_LETTERS):
        extra["vocab.json"] = {t: i for i, t in enumerate(W2V_LETTERS)}
        extra["tokenizer_config.json"] = {
            "do_lower_case": False, "pad_token": "<pad>", "unk_token": "<unk>",
            "bos_token": "<s>", "eos_token": "</s>", "word_delimiter_token": "|",
            "tokenizer_class": "Wav2Vec2CTCTokenizer"}
    return preprocessor, extra


def ast(cfg, origin, draw, labels):
    need_int(cfg, origin, "hidden_size", "intermediate_size",
             "num_hidden_layers", "num_attention_heads", "patch_size",
             "frequency_stride", "time_stride", "num_mel_bins", "max_length")
    h, inter, patch = cfg["hidden_size"], cfg["intermediate_size"], \
        cfg["patch_size"]
    f_out = (cfg["num_mel_bins"] - patch) // cfg["frequency_stride"] + 1
    t_out = (cfg["max_length"] - patch) // cfg["time_stride"] + 1
    a = "audio_spectrogram_transformer."
    draw.normal(a + "embeddings.cls_token", (1, 1, h))
    draw.normal(a + "embeddings.distillation_token", (1, 1, h))
    draw.normal(a + "embeddings.position_embeddings", (1, f_out * t_out + 2, h))
    draw.normal(a + "embeddings.patch_embeddings.projection.weight",
                (h, 1, patch, patch))
    draw.bias(a + "embeddings.patch_embeddings.projection.bias", h)
    qkv_bias = cfg.get("qkv_bias", True)
    for i in range(cfg["num_hidden_layers"]):
        p = "%sencoder.layer.%d." % (a, i)
        for proj in ("query", "key", "value"):
            draw.linear(p + "attention.attention." + proj, h, h, qkv_bias)
        draw.linear(p + "attention.output.dense", h, h)
        draw.linear(p + "intermediate.dense", inter, h)
        draw.linear(p + "output.dense", h, inter)
        draw.norm(p + "layernorm_before", h)
        draw.norm(p + "layernorm_after", h)
    draw.norm(a + "layernorm", h)
    draw.norm("classifier.layernorm", h)
    draw.linear("classifier.dense", labels, h)

    cfg.setdefault("architectures", ["ASTForAudioClassification"])
    cfg["id2label"] = {str(i): "LABEL_%d" % i for i in range(labels)}
    cfg["label2id"] = {"LABEL_%d" % i: i for i in range(labels)}
    preprocessor = {
        "do_normalize": True,
        "feature_extractor_type": "ASTFeatureExtractor",
        "feature_size": 1,
        "max_length": cfg["max_length"],
        "mean": -4.2677393,
        "num_mel_bins": cfg["num_mel_bins"],
        "padding_side": "right",
        "padding_value": 0.0,
        "return_attention_mask": False,
        "sampling_rate": 16000,
        "std": 4.5689974,
    }
    return preprocessor, {}


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=True)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config", help="a Whisper, Wav2Vec2 or AST config.json")
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dtype", choices=("f32", "f16", "bf16"), default="f32")
    ap.add_argument("--labels", type=int, default=527,
                    help="AST classifier labels (default 527, AudioSet)")
    args = ap.parse_args()

    with open(args.config) as f:
        cfg = json.load(f)
    kind = cfg.get("model_type")
    std = float(cfg.get("init_std", cfg.get("initializer_range", 0.02)))
    draw = Draw(args.seed, std)
    if kind == "whisper":
        preprocessor, extra = whisper(cfg, args.config, draw)
    elif kind == "wav2vec2":
        preprocessor, extra = wav2vec2(cfg, args.config, draw)
    elif kind == "audio-spectrogram-transformer":
        if args.labels < 1:
            ap.error("--labels must be >= 1")
        preprocessor, extra = ast(cfg, args.config, draw, args.labels)
    else:
        sys.exit("%s: model_type %r is not whisper, wav2vec2 or "
                 "audio-spectrogram-transformer" % (args.config, kind))

    os.makedirs(args.outdir, exist_ok=True)
    load_writer()(os.path.join(args.outdir, "model.safetensors"),
                  draw.tensors, args.dtype)
    write_json(os.path.join(args.outdir, "config.json"), cfg)
    write_json(os.path.join(args.outdir, "preprocessor_config.json"),
               preprocessor)
    for name, obj in extra.items():
        write_json(os.path.join(args.outdir, name), obj)
    n_params = sum(a.size for _, a in draw.tensors)
    print("%s: %s, %d tensors, %.1fM parameters, %s"
          % (args.outdir, cfg["architectures"][0], len(draw.tensors),
             n_params / 1e6, args.dtype))


if __name__ == "__main__":
    main()
