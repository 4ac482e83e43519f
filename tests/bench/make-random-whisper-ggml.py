#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes a whisper.cpp model file from a Hugging Face Whisper checkpoint.

    make-random-whisper-ggml.py HF_DIR OUT.bin [--ftype f16|f32]

HF_DIR holds config.json and model.safetensors (as make-random-audio.py
writes them); OUT.bin gets the same weights in the single-file format that
whisper.cpp's loader reads, so both engines time identical models.

The file, all little-endian:

1. the magic 0x67676d6c ("ggml") as a uint32;
2. eleven int32 hyper-parameters: n_vocab, n_audio_ctx, n_audio_state,
   n_audio_head, n_audio_layer, n_text_ctx, n_text_state, n_text_head,
   n_text_layer, n_mels, ftype (0: every tensor f32; 1: matrices and
   convolution kernels f16, the rest f32);
3. the mel filter bank: int32 n_mel, int32 n_fft (the 201 frequency bins
   of a 400-point FFT), then n_mel * n_fft float32 (Slaney mel scale and
   area normalisation at 16 kHz, as Whisper's front-end uses);
4. the vocabulary: int32 count, then per token a uint32 byte length and
   the bytes. Random checkpoints have no tokenizer, so the ids up to
   eos_token_id get placeholder names; the loader names the special,
   language and timestamp tokens above them itself (decoding ids to text
   is not timed);
5. the tensors until the end of the file, each: int32 n_dims, int32 name
   length, int32 type (0 f32, 1 f16), n_dims int32 extents innermost
   first (the reverse of the numpy shape), the name, then the data in
   row-major order.

Tensor names follow OpenAI's checkpoint (encoder.blocks.N.attn.query,
decoder.blocks.N.cross_attn.out, mlp.0 / mlp.2, attn_ln, mlp_ln, ...).
The loader fixes each tensor's type: with ftype 1, two-dimensional
weights (token embedding included) and the convolution kernels are f16;
biases, norms and both positional embeddings stay f32 in every case. The
convolution biases are stored as [n_state, 1]. proj_out is tied to the
token embedding, as in Whisper, so it is not written.

Only numpy is needed.
"""

import argparse
import json
import os
import struct
import sys

import numpy as np

GGML_MAGIC = 0x67676D6C
GGML_F32, GGML_F16 = 0, 1
SAMPLE_RATE, N_FFT = 16000, 400

SAFETENSORS_DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": None}


def read_safetensors(path):
    """name -> float32 array; BF16 widened by shifting into the high half."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        base = 8 + n
    blob = np.memmap(path, dtype=np.uint8, mode="r")
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = info["dtype"]
        if dtype not in SAFETENSORS_DTYPES:
            sys.exit("%s: tensor %s has dtype %s; only F32, F16 and BF16 are "
                     "read" % (path, name, dtype))
        start, end = info["data_offsets"]
        raw = blob[base + start:base + end]
        if dtype == "BF16":
            a = (raw.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
        else:
            a = raw.view(SAFETENSORS_DTYPES[dtype]).astype(np.float32)
        out[name] = a.reshape(info["shape"])
    return out


def slaney_filters(n_mels, rate=SAMPLE_RATE, n_fft=N_FFT):
    """[n_mels, n_fft // 2 + 1] triangular filters on the Slaney mel scale
    (linear below 1 kHz, logarithmic above), each scaled to unit area."""
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0

    def to_mel(hz):
        hz = np.asarray(hz, dtype=np.float64)
        log_part = min_log_mel + np.log(np.maximum(hz, 1e-10) / min_log_hz) \
            / logstep
        return np.where(hz >= min_log_hz, log_part, hz / f_sp)

    def to_hz(mel):
        mel = np.asarray(mel, dtype=np.float64)
        log_part = min_log_hz * np.exp(logstep * (mel - min_log_mel))
        return np.where(mel >= min_log_mel, log_part, f_sp * mel)

    bins = np.linspace(0.0, rate / 2.0, n_fft // 2 + 1)
    edges = to_hz(np.linspace(to_mel(0.0), to_mel(rate / 2.0), n_mels + 2))
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    rise = (bins[None, :] - lower[:, None]) / (centre - lower)[:, None]
    fall = (upper[:, None] - bins[None, :]) / (upper - centre)[:, None]
    tri = np.maximum(0.0, np.minimum(rise, fall))
    return (tri * (2.0 / (upper - lower))[:, None]).astype(np.float32)


def need(cfg, key, path):
    value = cfg.get(key)
    if not isinstance(value, int) or value < 1:
        sys.exit("%s: field %s must be a positive integer" % (path, key))
    return value


def openai_names(n_enc, n_dec):
    """(openai name, HF name) in the order the file stores them."""
    names = [("encoder.positional_embedding", "encoder.embed_positions.weight")]
    for i in (1, 2):
        for w in ("weight", "bias"):
            names.append(("encoder.conv%d.%s" % (i, w),
                          "encoder.conv%d.%s" % (i, w)))
    blocks = [("attn_ln", "self_attn_layer_norm"), ("mlp_ln", "final_layer_norm"),
              ("mlp.0", "fc1"), ("mlp.2", "fc2")]
    attn = [("query", "q_proj"), ("key", "k_proj"), ("value", "v_proj"),
            ("out", "out_proj")]

    def layer(side, i, cross):
        ours, theirs = "%s.blocks.%d." % (side, i), "%s.layers.%d." % (side, i)
        parts = [(ours + a, theirs + b) for a, b in blocks]
        groups = [("attn", "self_attn")]
        if cross:
            parts.append((ours + "cross_attn_ln", theirs + "encoder_attn_layer_norm"))
            groups.append(("cross_attn", "encoder_attn"))
        for g, hg in groups:
            for a, b in attn:
                parts.append(("%s%s.%s" % (ours, g, a), "%s%s.%s" % (theirs, hg, b)))
        out = []
        for a, b in parts:
            out.append((a + ".weight", b + ".weight"))
            if not a.endswith(".key"):  # Whisper's key projections have no bias
                out.append((a + ".bias", b + ".bias"))
        return out

    for i in range(n_enc):
        names += layer("encoder", i, False)
    names += [("encoder.ln_post.weight", "encoder.layer_norm.weight"),
              ("encoder.ln_post.bias", "encoder.layer_norm.bias"),
              ("decoder.positional_embedding", "decoder.embed_positions.weight"),
              ("decoder.token_embedding.weight", "decoder.embed_tokens.weight")]
    for i in range(n_dec):
        names += layer("decoder", i, True)
    names += [("decoder.ln.weight", "decoder.layer_norm.weight"),
              ("decoder.ln.bias", "decoder.layer_norm.bias")]
    return names


def stored_type(name, array, ftype):
    """The type whisper.cpp's loader expects for this tensor."""
    if ftype == GGML_F32 or array.ndim < 2 or "positional_embedding" in name:
        return GGML_F32
    if name.endswith("conv1.bias") or name.endswith("conv2.bias"):
        return GGML_F32
    return GGML_F16


def write_tensor(f, name, array, ttype):
    data = np.ascontiguousarray(
        array, dtype=np.float16 if ttype == GGML_F16 else np.float32)
    key = name.encode("utf-8")
    f.write(struct.pack("<iii", data.ndim, len(key), ttype))
    f.write(struct.pack("<%di" % data.ndim, *reversed(data.shape)))
    f.write(key)
    f.write(data.astype(data.dtype.newbyteorder("<"), copy=False).tobytes())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", help="folder with config.json, model.safetensors")
    ap.add_argument("out", help="whisper.cpp model file to write")
    ap.add_argument("--ftype", choices=("f16", "f32"), default="f16")
    args = ap.parse_args()

    cfg_path = os.path.join(args.model, "config.json")
    with open(cfg_path) as f:
        cfg = json.load(f)
    if cfg.get("model_type") != "whisper":
        sys.exit("%s: model_type must be whisper" % cfg_path)
    keys = ("vocab_size", "max_source_positions", "d_model",
            "encoder_attention_heads", "encoder_layers", "max_target_positions",
            "decoder_attention_heads", "decoder_layers", "num_mel_bins")
    hp = {k: need(cfg, k, cfg_path) for k in keys}
    eos = cfg.get("eos_token_id", 50256)
    if isinstance(eos, list):
        eos = eos[0]
    if not isinstance(eos, int) or not 0 < eos <= hp["vocab_size"]:
        sys.exit("%s: field eos_token_id must be a token id" % cfg_path)
    ftype = GGML_F16 if args.ftype == "f16" else GGML_F32

    st_path = os.path.join(args.model, "model.safetensors")
    weights = read_safetensors(st_path)
    prefix = "model." if "model.encoder.conv1.weight" in weights else ""

    tensors = []
    for ours, theirs in openai_names(hp["encoder_layers"], hp["decoder_layers"]):
        if prefix + theirs not in weights:
            sys.exit("%s: no tensor %s" % (st_path, prefix + theirs))
        a = weights[prefix + theirs]
        if ours.endswith("conv1.bias") or ours.endswith("conv2.bias"):
            a = a.reshape(-1, 1)
        tensors.append((ours, a))

    tmp = args.out + ".part"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<I", GGML_MAGIC))
        f.write(struct.pack("<11i", hp["vocab_size"], hp["max_source_positions"],
                            hp["d_model"], hp["encoder_attention_heads"],
                            hp["encoder_layers"], hp["max_target_positions"],
                            hp["d_model"], hp["decoder_attention_heads"],
                            hp["decoder_layers"], hp["num_mel_bins"], ftype))
        filters = slaney_filters(hp["num_mel_bins"])
        f.write(struct.pack("<ii", *filters.shape))
        f.write(filters.astype("<f4").tobytes())
        # placeholder names for the ids up to eos_token_id; the loader
        # names the ids above them (special, language, timestamp tokens)
        f.write(struct.pack("<i", eos + 1))
        for i in range(eos + 1):
            word = ("tok%d" % i).encode()
            f.write(struct.pack("<I", len(word)))
            f.write(word)
        for name, a in tensors:
            write_tensor(f, name, a, stored_type(name, a, ftype))
    os.replace(tmp, args.out)
    print("wrote %s: %d tensors, %s, %.1f MB" % (
        args.out, len(tensors), args.ftype, os.path.getsize(args.out) / 1e6))


if __name__ == "__main__":
    main()
