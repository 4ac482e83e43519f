// SPDX-License-Identifier: LGPL-2.1-or-later
// Writes core/tokenizer/unicode-tables.c: the character classes of Hugging
// Face `tokenizers`, found by asking its normalizers and pre-tokenizers
// about every code point (not from any Unicode data file: `tokenizers`
// mixes the Unicode versions of the crates it is built from, and GLib's or
// PCRE2's own tables differ from each of them).
//
// Run by hand (Node.js, tokenizers 0.23.2 from npm):
//   npm install tokenizers@0.23.2
//   node core/tokenizer/make-unicode-tables.js > core/tokenizer/unicode-tables.c
'use strict';
const tk = require('tokenizers');

const VERSION = '0.23.2';
const bert = (o) => tk.bertNormalizer(Object.assign(
    { cleanText: false, handleChineseChars: false, stripAccents: false,
      lowercase: false }, o));
const clean = bert({ cleanText: true });
const chinese = bert({ handleChineseChars: true });
const strip = bert({ stripAccents: true });
const lower = bert({ lowercase: true });
const bertPre = tk.bertPreTokenizer();
const byteLevel = tk.byteLevelPreTokenizer(false, true);
const digits = tk.digitsPreTokenizer(false);
const whitespace = tk.whitespacePreTokenizer();
const pieces = (pre, s) => pre.preTokenizeString(s).length;
const nfd = tk.nfdNormalizer();
const nfkd = tk.nfkdNormalizer();

// Each class: a name, what the code uses it for, and the test.
const classes = [
  ['bert_control', 'BertNormalizer clean_text drops these',
    (c) => clean.normalizeString('a' + c + 'b') === 'ab'],
  ['cjk', 'BertNormalizer handle_chinese_chars spaces these out',
    (c) => chinese.normalizeString('a' + c + 'b') === 'a ' + c + ' b'],
  ['bert_punct', 'BertPreTokenizer splits these off as words',
    (c) => pieces(bertPre, 'a' + c + 'b') === 3
        && clean.normalizeString('a' + c + 'b') !== 'a b'],
  ['nonspacing_mark', 'BertNormalizer strip_accents drops these after NFD',
    (c) => strip.normalizeString(c) === ''],
  ['canonical_decomposable', 'NFD and NFC decompose these',
    (c) => nfd.normalizeString(c) !== c],
  ['compat_decomposable', 'NFKD and NFKC decompose these',
    (c) => nfkd.normalizeString(c) !== c],
  ['numeric', 'the Digits pre-tokenizer splits these off',
    (c) => pieces(digits, 'a' + c + 'b') === 3],
  ['word', 'regex \\w (the Whitespace pre-tokenizer\'s pattern)',
    (c) => pieces(whitespace, 'a' + c + 'b') === 1],
  ['letter', 'regex \\p{L} (ByteLevel\'s pattern)',
    (c) => pieces(byteLevel, 'a' + c) === 1],
  ['number', 'regex \\p{N} (ByteLevel\'s pattern)',
    (c) => pieces(byteLevel, '1' + c) === 1],
  ['space', 'regex \\s (ByteLevel\'s pattern)',
    (c) => pieces(byteLevel, 'a' + c) > 1 && pieces(byteLevel, '1' + c) > 1
        && pieces(byteLevel, '!' + c) > 1],
];

function ranges (members) {
  const out = [];
  for (const cp of members) {
    const last = out[out.length - 1];
    if (last && last[1] === cp - 1) last[1] = cp;
    else out.push([cp, cp]);
  }
  return out;
}

// Lower-casing as runs of code points with one delta, every @stride.
function caseRuns (map) {
  const out = [];
  for (const [cp, to] of map) {
    const d = to - cp, last = out[out.length - 1];
    if (last && last.delta === d) {
      const gap = cp - last.last;
      if (last.first === last.last && (gap === 1 || gap === 2)) {
        last.stride = gap;
        last.last = cp;
        continue;
      }
      if (last.first !== last.last && gap === last.stride) {
        last.last = cp;
        continue;
      }
    }
    out.push({ first: cp, last: cp, stride: 1, delta: d });
  }
  return out;
}

const hex = (n) => '0x' + n.toString(16).toUpperCase().padStart(4, '0');
const members = classes.map(() => []);
const lowerMap = [];
for (let cp = 0; cp <= 0x10ffff; cp++) {
  if (cp >= 0xd800 && cp <= 0xdfff) continue;
  const c = String.fromCodePoint(cp);
  classes.forEach(([, , test], i) => { if (test(c)) members[i].push(cp); });
  const l = Array.from(lower.normalizeString(c));
  if (l.length === 1 && l[0] !== c)
    lowerMap.push([cp, l[0].codePointAt(0)]);
  else if (l.length !== 1 && cp !== 0x130)
    throw new Error(`U+${hex(cp)} lower-cases to ${l.length} chars`);
}

const out = [];
out.push('/* SPDX-License-Identifier: LGPL-2.1-or-later */');
out.push(`/* Streamformer core: the character classes of Hugging Face \`tokenizers\``);
out.push(` * ${VERSION}, probed from its behaviour by make-unicode-tables.js, which`);
out.push(' * writes this file; do not edit. Ranges are inclusive and ascending. */');
out.push('#include "core/tokenizer/unicode-tables.h"');
out.push('');
out.push('/* clang-format off */');
classes.forEach(([name, what], i) => {
  const r = ranges(members[i]);
  out.push('');
  out.push(`/* ${what} (${members[i].length} code points) */`);
  out.push(`const SfUnicodeRange sf_unicode_${name}[] = {`);
  for (let k = 0; k < r.length; k += 4)
    out.push('  ' + r.slice(k, k + 4)
        .map(([a, b]) => `{ ${hex(a)}, ${hex(b)} },`).join(' '));
  out.push('};');
  out.push(`const guint sf_unicode_${name}_len = G_N_ELEMENTS (sf_unicode_${name});`);
});
const runs = caseRuns(lowerMap);
out.push('');
out.push(`/* Lowercase (${lowerMap.length} code points; U+0130, which becomes two, is`);
out.push(' * left to the code) */');
out.push('const SfUnicodeCaseRun sf_unicode_lowercase[] = {');
for (let k = 0; k < runs.length; k += 2)
  out.push('  ' + runs.slice(k, k + 2)
      .map((r) => `{ ${hex(r.first)}, ${hex(r.last)}, ${r.stride}, ${r.delta} },`)
      .join(' '));
out.push('};');
out.push('const guint sf_unicode_lowercase_len = G_N_ELEMENTS (sf_unicode_lowercase);');
out.push('/* clang-format on */');
process.stdout.write(out.join('\n') + '\n');
