#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Rebuilds the seed corpus in tests/fuzz/corpus/ from the small files of
# tests/fixtures (configs, tokenizers, processor configs) and a few
# generated inputs. The output is committed; rerun after a fixture or a
# harness input format changes. Large weight files are never copied.
set -euo pipefail
cd "$(dirname "$0")/../.."
fx=tests/fixtures
out=tests/fuzz/corpus
rm -rf "$out"
mkdir -p "$out"/{safetensors,model-config,tokenizer,vocab,preprocessor,image,audio}

# printf escapes for a byte value
byte () { printf '\\x%02x' "$1"; }
# 8-byte little-endian length
le64 () {
  local v=$1 s='' i
  for i in 0 1 2 3 4 5 6 7; do s+=$(byte $(( (v >> (8 * i)) & 255 ))); done
  printf '%s' "$s"
}
nul () { printf '\0'; }

# ---- safetensors: the fixtures' tiny files and hand-made headers
i=0
for f in $fx/tok-*/io.safetensors; do
  cp "$f" "$out/safetensors/fixture-$((i++))"
done
st () { # name header data-bytes(escape string)
  printf "$(le64 ${#2})" > "$out/safetensors/$1"
  printf '%s' "$2" >> "$out/safetensors/$1"
  printf "$3" >> "$out/safetensors/$1"
}
st all-dtypes '{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"F16","shape":[2],"data_offsets":[16,20]},"c":{"dtype":"BF16","shape":[2],"data_offsets":[20,24]},"d":{"dtype":"I64","shape":[1],"data_offsets":[24,32]},"e":{"dtype":"I32","shape":[1],"data_offsets":[32,36]},"f":{"dtype":"I16","shape":[1],"data_offsets":[36,38]},"g":{"dtype":"I8","shape":[1],"data_offsets":[38,39]},"h":{"dtype":"U8","shape":[1],"data_offsets":[39,40]},"i":{"dtype":"BOOL","shape":[1],"data_offsets":[40,41]},"j":{"dtype":"F64","shape":[1],"data_offsets":[41,49]}}' \
  '\x00\x00\x80\x3f\x00\x00\x00\x40\x00\x00\x40\x40\x00\x00\x80\x40\x00\x3c\x00\xc0\x80\x3f\x00\xc0\x07\x00\x00\x00\x00\x00\x00\x00\xff\xff\xff\xff\x01\x80\x7f\xff\x01\x00\x00\x00\x00\x00\x00\xf0\x3f'
st empty-and-scalar '{"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"z":{"dtype":"F32","shape":[0,3],"data_offsets":[4,4]}}' '\x00\x00\x80\x3f'
st unaligned '{"u":{"dtype":"F32","shape":[1],"data_offsets":[1,5]}}' '\x00\x00\x00\x80\x3f'
st empty-header '{}' ''

# ---- config.json: the fixture-choosing byte of fuzz-model-config.c
i=0
for m in bert-tiny-cls distilbert-tiny-cls vit-tiny-cls segformer-tiny-seg \
    clip-tiny whisper-tiny-asr wav2vec2-tiny-ctc ast-tiny-cls gpt2-tiny-lm \
    roberta-tiny-cls; do
  { printf "$(byte $i)"; cat $fx/$m/config.json; } > "$out/model-config/$m"
  i=$((i + 1))
done
{ printf '\x00'; cat $fx/bert-tiny-embed/config.json; } > "$out/model-config/bert-tiny-embed"

# ---- tokenizer.json NUL text NUL pair
for t in bert-tiny-cls clip-tiny whisper-tiny-asr tok-bytelevel-bpe \
    tok-unigram-metaspace; do
  { cat $fx/$t/tokenizer.json; nul; printf 'Hello, World! unaffable  café 東京 🙂'; } \
    > "$out/tokenizer/$t"
done
{ cat $fx/bert-tiny-cls/tokenizer.json; nul; printf 'the first one'; nul;
  printf 'and its pair, longer than the first'; } > "$out/tokenizer/bert-pair"
# a Precompiled normalizer: the small charsmap of tests/core/test-precompiled.c
# (six SentencePiece rules) in tok-unigram-metaspace
tiny_charsmap=\
AAQAAAAgAAAJDQAAAAAAgMwYAgCBBQAADAAAgISMAgCiOQAAoAkAAAYAAIACAACArBgCAIEF\
AAAJAACAoQUAAAQAAIARAAAAEAAAABMAAACR7AIAFQAAABQAAAAXAAAAFgAAABkAAAAYAAAA\
GwAAALzQAgAdAAAAHAAAAB8AAAAeAAAAIQAAACAAAAAjAAAAIgAAACUAAAAkAAAAJwAAACYA\
AAApAAAAKAAAACsAAAAqAAAALQAAACwAAAAvAAAALgAAADEAAAAwAAAAMwAAADIAAAA1AAAA\
NAAAADcAAAA2AAAAOQAAADgAAAA7AAAAOgAAAD0AAAA8AAAAPwAAAD4AAABBAAAAQAAAAEMA\
AABCAAAARQAAAEQAAABHAAAARgAAAEkAAABIAAAASwAAAEoAAABNAAAATAAAAE8AAABOAAAA\
UQAAAFAAAABTAAAAUgAAAFUAAABUAAAAVwAAAFYAAABZAAAAWAAAAFsAAABaAAAAXQAAAFwA\
AABfAAAAXgAAAGEAAABgAAAAYwAAAGIAAABlAAAAZAAAAGcAAABmAAAAaQAAAGgAAABrAAAA\
agAAAG0AAABliAIAbwAAAG4AAABxAAAAcAAAAHMAAAByAAAAdQAAAHQAAAB3AAAAdgAAAHkA\
AAB4AAAAewAAAHoAAAB9AAAAfAAAAH8AAAB+AAAAgQAAAIAAAACDAAAAggAAAIUAAACEAAAA\
hwAAAIYAAACJAAAAiAAAAIsAAACKAAAAjQAAAIwAAACPAAAAjgAAAJEAAACQAAAAkwAAAJIA\
AACVAAAAlAAAAJcAAACWAAAAmQAAAJgAAACbAAAAmgAAAJ0AAACcAAAAnwAAAJ4AAAChAAAA\
oAAAAKMAAACiAAAApQAAAKQAAACnAAAApgAAAKkAAACoAAAAqwAAAKoAAACtAAAArAAAAK8A\
AACuAAAAsQAAALAAAACzAAAAsgAAALUAAAC0AAAAtwAAALYAAAC5AAAAuAAAALsAAAC6AAAA\
vQAAALwAAAC/AAAAvgAAAMEAAADAAAAAwwAAAMIAAADFAAAAxAAAAMcAAADGAAAAyQAAAMgA\
AADLAAAAygAAAM0AAADMAAAAzwAAAM4AAADRAAAA0AAAANMAAADSAAAA1QAAANQAAADXAAAA\
1gAAANkAAADYAAAA2wAAANoAAADdAAAA3AAAAN8AAADeAAAA4QAAAOAAAADjAAAA4gAAAOUA\
AADkAAAA5wAAAO8AAQDpAAAA6AAAAOKgAQDqAAAA7QAAAOwAAADvAAAA7gAAAPEAAADwAAAA\
8wAAAPIAAAD1AAAA9AAAAPcAAAD2AAAA+QAAAPgAAAD7AAAA+gAAAP0AAAD8AAAA/wAAAP4A\
AAAgADEAQQBUTQBmaQDDqQA=
{ python3 - $fx/tok-unigram-metaspace/tokenizer.json "$tiny_charsmap" <<'EOF'
import json, sys
tok = json.load(open(sys.argv[1], encoding="utf-8"))
tok["normalizer"] = {"type": "Sequence", "normalizers": [
    {"type": "Precompiled", "precompiled_charsmap": sys.argv[2]},
    {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]}
sys.stdout.write(json.dumps(tok, ensure_ascii=False))
EOF
  nul; printf '\xef\xac\x81nd \xef\xbc\xa1 cafe\xcc\x81\t\xe2\x84\xa2\r\n\x01x'; } \
  > "$out/tokenizer/precompiled-tiny"

# small copies of the same tokenizers (tests/fuzz/shrink-tokenizer.py):
# the same pipelines over a few hundred entries, so that the harness runs
# several times as many inputs a second as on the full files
shrink=tests/fuzz/shrink-tokenizer.py
for t in bert-tiny-cls clip-tiny whisper-tiny-asr tok-bytelevel-bpe \
    tok-unigram-metaspace; do
  { python3 $shrink json $fx/$t/tokenizer.json; nul;
    printf 'Hello, World! unaffable  café 東京 🙂'; } > "$out/tokenizer/small-$t"
done
small=$(mktemp -d)
trap 'rm -rf "$small"' EXIT
head -c -1 "$out/tokenizer/precompiled-tiny" | tr '\0' '\n' | head -1 \
  > "$small/precompiled.json"
{ python3 $shrink json "$small/precompiled.json"; nul;
  printf '\xef\xac\x81nd \xef\xbc\xa1 cafe\xcc\x81\t\xe2\x84\xa2\r\n\x01x'; } \
  > "$out/tokenizer/small-precompiled"

# ---- vocab: selector, then the files of fuzz-vocab.c
{ printf '\x00'; cat $fx/bert-tiny-cls/vocab.txt; nul;
  cat $fx/bert-tiny-cls/tokenizer_config.json; nul; printf 'Hello unaffable World'; } \
  > "$out/vocab/wordpiece"
for t in clip-tiny whisper-tiny-asr tok-bytelevel-bpe; do
  { printf '\x01'; cat $fx/$t/vocab.json; nul; cat $fx/$t/merges.txt; nul;
    cat $fx/$t/tokenizer_config.json; nul;
    [ -f $fx/$t/added_tokens.json ] && cat $fx/$t/added_tokens.json; nul;
    printf 'Hello world <|endoftext|> café'; } > "$out/vocab/$t"
done

# and small copies, as for tokenizer.json
{ printf '\x00'; python3 $shrink vocab-txt $fx/bert-tiny-cls/vocab.txt; nul;
  cat $fx/bert-tiny-cls/tokenizer_config.json; nul; printf 'Hello unaffable World'; } \
  > "$out/vocab/small-wordpiece"
for t in clip-tiny whisper-tiny-asr tok-bytelevel-bpe; do
  python3 $shrink vocab-json $fx/$t/vocab.json $fx/$t/merges.txt \
    "$small/vocab.json" "$small/merges.txt"
  { printf '\x01'; cat "$small/vocab.json"; nul; cat "$small/merges.txt"; nul;
    cat $fx/$t/tokenizer_config.json; nul;
    [ -f $fx/$t/added_tokens.json ] && cat $fx/$t/added_tokens.json; nul;
    printf 'Hello world <|endoftext|> café'; } > "$out/vocab/small-$t"
done

# ---- preprocessor_config.json: selector (image, log-mel, fbank, waveform)
for m in vit-tiny-cls segformer-tiny-seg clip-tiny; do
  { printf '\x00'; cat $fx/$m/preprocessor_config.json; } > "$out/preprocessor/$m"
done
{ printf '\x01'; cat $fx/whisper-tiny-asr/preprocessor_config.json; } > "$out/preprocessor/whisper"
# a 1 s window: small enough for the harness to run the front-end on it
{ printf '\x01'; sed 's/"chunk_length": 30/"chunk_length": 1/' \
    $fx/whisper-tiny-asr/preprocessor_config.json; } > "$out/preprocessor/whisper-1s"
{ printf '\x02'; cat $fx/ast-tiny-cls/preprocessor_config.json; } > "$out/preprocessor/ast"
{ printf '\x03'; cat $fx/wav2vec2-tiny-ctc/preprocessor_config.json; } > "$out/preprocessor/wav2vec2"

# ---- raw frames: format, processor, width, height (LE16), paddings, pixels
for f in 0 1 2 3 4 5 6; do
  for p in 0 1 2; do
    printf "$(byte $f)$(byte $p)\x21\x00\x17\x00\x03\x01" > "$out/image/f$f-p$p"
    head -c 97 $fx/bert-tiny-cls/vocab.txt >> "$out/image/f$f-p$p"
  done
done
printf '\x00\x02\x00\x00\x00\x00\x00\x00\x80' > "$out/image/one-pixel"

# ---- PCM: front-end, encoding, length (LE32), samples
for fe in 0 1 2; do
  for enc in 0 1 2; do
    printf "$(byte $fe)$(byte $enc)\x80\x3e\x00\x00" > "$out/audio/fe$fe-enc$enc"
    head -c 300 $fx/kws-eval/yes-1-yes.wav | tail -c 256 >> "$out/audio/fe$fe-enc$enc"
  done
done
printf '\x00\x00\x00\x00\x00\x00' > "$out/audio/empty"
du -sh "$out"
