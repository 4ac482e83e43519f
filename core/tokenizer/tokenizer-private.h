/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: the tokenizer pipeline's internal interfaces.
 *
 * The pipeline mirrors the `tokenizers` library: added tokens are cut out
 * of the raw text, the rest is normalised, split into words by the
 * pre-tokenizer, split into sub-word ids by the model, and framed by the
 * post-processor. A decoder turns tokens back into text.
 *
 * Every stage is a small struct whose first member points at a class
 * (a table of functions). A new model, normaliser, pre-tokenizer,
 * post-processor or decoder lives in its own file and is added to the
 * type table of its stage's factory; the pipeline (encode.c) only talks to
 * the interfaces below.
 *
 * Text is handled as arrays of code points. SfNormalized keeps, for every
 * normalised character, the range of original characters it came from, so
 * offsets can be reported in the original text.
 */
#pragma once

#include <glib.h>
#include <cjson/cJSON.h>

#include "core/tokenizer/tokenizer.h"

G_BEGIN_DECLS

/* ---- loading context and JSON helpers (tokenizer.c) ---- */

typedef struct
{
  const char *file; /* file name used in error messages */
} SfTokLoadContext;

void sf_tok_set_error (GError **error, gint code, const SfTokLoadContext *ctx,
    const char *format, ...) G_GNUC_PRINTF (4, 5);

/* An optional boolean member; absent or null keeps @out unchanged. */
gboolean sf_tok_json_bool (const cJSON *node, const char *key,
    const char *field, const SfTokLoadContext *ctx, gboolean *out,
    GError **error);
/* An optional string member; (transfer none) into @node. */
gboolean sf_tok_json_string (const cJSON *node, const char *key,
    const char *field, const SfTokLoadContext *ctx, const char **out,
    GError **error);
/* An optional integer member, checked against [min, max]. */
gboolean sf_tok_json_int (const cJSON *node, const char *key, const char *field,
    const SfTokLoadContext *ctx, gint64 min, gint64 max, gint64 *out,
    GError **error);
/* (transfer full) the JSON object in @path; IO and PARSE errors name it. */
cJSON *sf_tok_json_load (const char *path, GError **error);
/* The "type" member of a component object; NULL with an error when absent. */
const char *sf_tok_json_type (const cJSON *node, const char *field,
    const SfTokLoadContext *ctx, GError **error);

/* ---- Unicode character classes shared by the stages (normalized.c) ---- */

/* White_Space property */
gboolean sf_unichar_is_white_space (gunichar c);
gboolean sf_unichar_is_control (gunichar c);    /* BERT: C* but \t \n \r */
gboolean sf_unichar_is_bert_punct (gunichar c); /* ASCII symbols and P* */
gboolean sf_unichar_is_cjk (gunichar c);        /* CJK ideograph blocks */
gboolean sf_unichar_is_word (gunichar c);       /* regex \w */

/* ---- normalised text with alignments (normalized.c) ---- */

typedef struct
{
  gunichar *chars; /* [len] normalised code points */
  guint32 *align;  /* [2 * len] original (start, end) per char */
  guint len;
  guint cap;
  gsize limit; /* most chars the normalizers may grow it to; 0: unchecked.
                * Set by sf_normalized_set, kept by sf_normalized_swap. */
} SfNormalized;

/* A normaliser may grow its text to this many chars per original char
 * (plus SF_NORMALIZED_SLACK): NFKD expands one char to at most 18, and
 * chained Replace or Prepend stages must not grow it without bound. */
#define SF_NORMALIZED_MAX_GROWTH 64
#define SF_NORMALIZED_SLACK 4096

void sf_normalized_init (SfNormalized *text);
void sf_normalized_clear (SfNormalized *text);
void sf_normalized_reserve (SfNormalized *text, guint cap);
/* Resets @text to @n original characters starting at offset @first. */
void sf_normalized_set (
    SfNormalized *text, const gunichar *chars, guint n, guint32 first);
/* Swaps the contents of @a and @b; each keeps its own limit. */
void sf_normalized_swap (SfNormalized *a, SfNormalized *b);
/* FALSE with an error naming @where when @len chars exceed @text's
 * limit. */
gboolean sf_normalized_check_len (
    const SfNormalized *text, gsize len, const char *where, GError **error);

static inline void
sf_normalized_push (SfNormalized *text, gunichar c, guint32 start, guint32 end)
{
  if (G_UNLIKELY (text->len == text->cap))
    sf_normalized_reserve (text, text->cap ? text->cap * 2 : 64);
  text->chars[text->len] = c;
  text->align[2 * text->len] = start;
  text->align[2 * text->len + 1] = end;
  text->len++;
}

/* The most bytes sf_tok_char_to_utf8 writes for one char. */
#define SF_UTF8_MAX_BYTES 4

/* g_unichar_to_utf8 bounded to SF_UTF8_MAX_BYTES, which the stages size
 * their buffers by: a code point above U+10FFFF (which validated input
 * never holds, but g_unichar_to_utf8 would write as up to 6 bytes)
 * becomes U+FFFD. */
static inline gint
sf_tok_char_to_utf8 (gunichar c, char *out)
{
  if (G_UNLIKELY (c > 0x10FFFF))
    c = 0xFFFD;
  return g_unichar_to_utf8 (c, out);
}

/* Unicode normalisation forms that keep the alignment (normalized.c). */
typedef enum
{
  SF_NORM_FORM_NFD,
  SF_NORM_FORM_NFKD,
  SF_NORM_FORM_NFC,
  SF_NORM_FORM_NFKC,
} SfNormForm;

void sf_normalized_apply_form (
    SfNormalized *text, SfNormalized *scratch, SfNormForm form);
/* Full lower-casing, one or more chars per char. */
void sf_normalized_lowercase (SfNormalized *text, SfNormalized *scratch);
/* Drops non-spacing marks (Mn). */
void sf_normalized_drop_marks (SfNormalized *text, SfNormalized *scratch);

/* Drops every combining mark (Mn, Mc, Me), as StripAccents does. */
void sf_normalized_drop_all_marks (SfNormalized *text);

/* The end of the extended grapheme cluster that starts at @chars[@start]
 * (grapheme.c): the index of its last char plus one, at most @len. */
guint sf_tok_grapheme_end (const gunichar *chars, guint start, guint len);

/* ---- regular expressions (regex.c) ---- */

/* (transfer full) a GRegex for @pattern; a @literal pattern matches
 * itself. Compile errors name @field. */
GRegex *sf_tok_regex_new (const char *pattern, gboolean literal,
    const char *field, const SfTokLoadContext *ctx, GError **error);
/* (transfer full) from the pattern object {"String": s} or {"Regex": r}
 * in @node's member @key. */
GRegex *sf_tok_regex_from_json (const cJSON *node, const char *key,
    const char *field, const SfTokLoadContext *ctx, GError **error);
/* Appends the non-empty matches of @regex in @chars[start, end) to @out
 * (GArray of SfSpan, char indices), left to right. A search PCRE2 gives up
 * on (its match or depth limit) is an error, not the end of the matches. */
gboolean sf_tok_regex_find (const GRegex *regex, const gunichar *chars,
    guint start, guint end, GArray *out, GError **error);

/* ---- normalizer (normalizer.c, normalizer-bert.c) ---- */

typedef struct SfNormalizer SfNormalizer;

typedef struct
{
  const char *type;
  /* Rewrites @text in place; @scratch is a work buffer of any content.
   * Fails when the text would outgrow its limit or a regex gives up. */
  gboolean (*normalize) (const SfNormalizer *self, SfNormalized *text,
      SfNormalized *scratch, GError **error);
  void (*free) (SfNormalizer *self);
} SfNormalizerClass;

struct SfNormalizer
{
  const SfNormalizerClass *klass;
};

typedef SfNormalizer *(*SfNormalizerNewFunc) (const cJSON *node,
    const char *field, const SfTokLoadContext *ctx, GError **error);

/* (transfer full) from the JSON object at @field (e.g. "normalizer"). */
SfNormalizer *sf_normalizer_new_from_json (const cJSON *node, const char *field,
    const SfTokLoadContext *ctx, GError **error);
SfNormalizer *sf_normalizer_bert_new (gboolean clean_text,
    gboolean handle_chinese_chars, gboolean strip_accents, gboolean lowercase);
SfNormalizer *sf_normalizer_bert_new_from_json (const cJSON *node,
    const char *field, const SfTokLoadContext *ctx, GError **error);
/* normalizer-replace.c, normalizer-strip.c, normalizer-nmt.c */
SfNormalizer *sf_normalizer_replace_new_from_json (const cJSON *node,
    const char *field, const SfTokLoadContext *ctx, GError **error);
SfNormalizer *sf_normalizer_prepend_new_from_json (const cJSON *node,
    const char *field, const SfTokLoadContext *ctx, GError **error);
SfNormalizer *sf_normalizer_strip_new_from_json (const cJSON *node,
    const char *field, const SfTokLoadContext *ctx, GError **error);
SfNormalizer *sf_normalizer_nmt_new_from_json (const cJSON *node,
    const char *field, const SfTokLoadContext *ctx, GError **error);
/* normalizer-precompiled.c: SentencePiece's precompiled_charsmap */
SfNormalizer *sf_normalizer_precompiled_new_from_json (const cJSON *node,
    const char *field, const SfTokLoadContext *ctx, GError **error);
void sf_normalizer_free (SfNormalizer *self);

/* ---- pre-tokenizer (pretokenizer.c) ---- */

typedef struct
{
  guint start; /* normalised char index */
  guint end;   /* exclusive */
} SfSpan;

typedef struct SfPreTokenizer SfPreTokenizer;

typedef struct
{
  const char *type;
  /* Splits each span of @in (GArray of SfSpan) into words appended to @out.
   * A pre-tokenizer that rewrites characters may rebuild @text, as long as
   * every span it emits indexes the new @text. */
  gboolean (*split) (const SfPreTokenizer *self, SfNormalized *text,
      const GArray *in, GArray *out, GError **error);
  void (*free) (SfPreTokenizer *self);
} SfPreTokenizerClass;

struct SfPreTokenizer
{
  const SfPreTokenizerClass *klass;
};

SfPreTokenizer *sf_pre_tokenizer_new_from_json (const cJSON *node,
    const char *field, const SfTokLoadContext *ctx, GError **error);
SfPreTokenizer *sf_pre_tokenizer_bert_new (void);
void sf_pre_tokenizer_free (SfPreTokenizer *self);

typedef SfPreTokenizer *(*SfPreTokenizerNewFunc) (const cJSON *node,
    const char *field, const SfTokLoadContext *ctx, GError **error);

/* pretokenizer-split.c: Split, Punctuation, Digits */
SfPreTokenizer *sf_pre_tokenizer_split_new_from_json (const cJSON *node,
    const char *field, const SfTokLoadContext *ctx, GError **error);
SfPreTokenizer *sf_pre_tokenizer_punctuation_new_from_json (const cJSON *node,
    const char *field, const SfTokLoadContext *ctx, GError **error);
SfPreTokenizer *sf_pre_tokenizer_digits_new_from_json (const cJSON *node,
    const char *field, const SfTokLoadContext *ctx, GError **error);
/* pretokenizer-bytelevel.c, pretokenizer-metaspace.c */
SfPreTokenizer *sf_pre_tokenizer_byte_level_new_from_json (const cJSON *node,
    const char *field, const SfTokLoadContext *ctx, GError **error);
SfPreTokenizer *sf_pre_tokenizer_metaspace_new_from_json (const cJSON *node,
    const char *field, const SfTokLoadContext *ctx, GError **error);

/* How a split keeps the pieces its pattern matched. */
typedef enum
{
  SF_SPLIT_REMOVED,
  SF_SPLIT_ISOLATED,
  SF_SPLIT_MERGED_WITH_PREVIOUS,
  SF_SPLIT_MERGED_WITH_NEXT,
  SF_SPLIT_CONTIGUOUS,
} SfSplitBehavior;

/* Reads @node's "behavior" ("Removed", "Isolated", ...); absent keeps
 * @out. */
gboolean sf_split_behavior_from_json (const cJSON *node, const char *field,
    const SfTokLoadContext *ctx, SfSplitBehavior *out, GError **error);
/* Splits @span around the chars equal to @c with @behavior. */
void sf_split_on_char (const SfNormalized *text, SfSpan span, gunichar c,
    SfSplitBehavior behavior, GArray *out);

/* Where Metaspace puts its replacement before a word. */
typedef enum
{
  SF_PREPEND_ALWAYS,
  SF_PREPEND_FIRST, /* only before the start of the text */
  SF_PREPEND_NEVER,
} SfPrependScheme;

/* Reads Metaspace's replacement, prepend_scheme (or the older
 * add_prefix_space) and split, shared by the pre-tokenizer and the
 * decoder. */
gboolean sf_metaspace_read_json (const cJSON *node, const char *field,
    const SfTokLoadContext *ctx, gunichar *replacement, SfPrependScheme *scheme,
    gboolean *split, GError **error);

/* The byte-level alphabet of GPT-2: every byte has a printable char. */
gunichar sf_byte_level_char (guint8 byte);
/* The byte of a byte-level char, -1 for chars outside the alphabet. */
gint sf_byte_level_byte (gunichar c);

/* ---- vocabulary shared by the models (model.c) ---- */

typedef struct
{
  GHashTable *ids;       /* token → id + 1 */
  GPtrArray *tokens;     /* id → token, NULL for holes */
  GStringChunk *strings; /* owns the token strings of both */
  guint max_chars;       /* longest token, in characters */
} SfVocab;

/* Ids above this are rejected as corrupt rather than allocated. */
#define SF_VOCAB_MAX_ID (1 << 26)

SfVocab *sf_vocab_new (void);
void sf_vocab_free (SfVocab *vocab);
/* Sets @token's id (>= 0); a repeated token keeps the last id. */
void sf_vocab_add (SfVocab *vocab, const char *token, gint32 id);
gint32 sf_vocab_lookup (const SfVocab *vocab, const char *token); /* -1 */
const char *sf_vocab_token (const SfVocab *vocab, gint32 id);     /* NULL */

/* ---- model (model.c, model-wordpiece.c) ---- */

typedef struct
{
  gint32 id;
  guint start;  /* normalised char index */
  guint end;    /* exclusive */
  gboolean raw; /* the token string is the covered text
                                 * (Unigram's unknown pieces), not the
                                 * vocabulary entry of @id */
} SfModelToken;

typedef struct SfModel SfModel;

typedef struct
{
  const char *type;
  /* Appends the tokens of the word @text->chars[start, end) to @out
   * (GArray of SfModelToken, indices into @text). */
  gboolean (*tokenize) (const SfModel *self, const SfNormalized *text,
      guint start, guint end, GArray *out, GError **error);
  gint32 (*token_to_id) (const SfModel *self, const char *token);
  const char *(*id_to_token) (const SfModel *self, gint32 id);
  guint (*vocab_size) (const SfModel *self);
  void (*free) (SfModel *self);
} SfModelClass;

struct SfModel
{
  const SfModelClass *klass;
};

SfModel *sf_model_new_from_json (const cJSON *node, const char *field,
    const SfTokLoadContext *ctx, GError **error);
SfModel *sf_model_wordpiece_new_from_json (const cJSON *node, const char *field,
    const SfTokLoadContext *ctx, GError **error);
/* Takes ownership of @vocab. */
SfModel *sf_model_wordpiece_new (SfVocab *vocab, const char *unk_token,
    const char *prefix, guint max_input_chars_per_word,
    const SfTokLoadContext *ctx, GError **error);
/* model-bpe.c, model-unigram.c, model-wordlevel.c */
SfModel *sf_model_bpe_new_from_json (const cJSON *node, const char *field,
    const SfTokLoadContext *ctx, GError **error);
SfModel *sf_model_unigram_new_from_json (const cJSON *node, const char *field,
    const SfTokLoadContext *ctx, GError **error);
SfModel *sf_model_wordlevel_new_from_json (const cJSON *node, const char *field,
    const SfTokLoadContext *ctx, GError **error);
/* Reads the {token: id} object @node.vocab into a new vocabulary. */
SfVocab *sf_vocab_from_json (const cJSON *node, const char *field,
    const SfTokLoadContext *ctx, GError **error);
void sf_model_free (SfModel *self);

/* ---- 64-bit integer map for the models' tables (intmap.c) ---- */

typedef struct
{
  guint64 *keys;   /* [cap], SF_INT_MAP_EMPTY for free slots */
  guint64 *values; /* [cap] */
  gsize cap;       /* power of two */
  gsize len;
} SfIntMap;

#define SF_INT_MAP_EMPTY G_MAXUINT64

void sf_int_map_init (SfIntMap *map);
void sf_int_map_clear (SfIntMap *map);
/* Sets @key (not SF_INT_MAP_EMPTY) to @value, replacing an earlier one. */
void sf_int_map_set (SfIntMap *map, guint64 key, guint64 value);
/* TRUE and *value when @key is present. */
gboolean sf_int_map_get (const SfIntMap *map, guint64 key, guint64 *value);

/* ---- encoded sequence shared by the last stages (encode.c) ---- */

typedef struct
{
  gint32 id;
  gint32 type_id;
  guint8 special;    /* added by the post-processor */
  const char *token; /* (transfer none) owned by the tokenizer */
  gint64 start;      /* original char offsets */
  gint64 end;
} SfTokenEntry;

/* ---- post-processor (postprocessor.c) ---- */

typedef struct SfPostProcessor SfPostProcessor;

typedef struct
{
  const char *type;
  /* How many tokens process() adds with special tokens on. */
  guint (*added_tokens) (const SfPostProcessor *self, gboolean is_pair);
  /* Writes the framed sequence(s) into @out (GArray of SfTokenEntry). @b is
   * NULL for a single sequence. The entries of @a and @b carry type ids 0
   * and 1 on entry. */
  void (*process) (const SfPostProcessor *self, const GArray *a,
      const GArray *b, gboolean add_special_tokens, GArray *out);
  void (*free) (SfPostProcessor *self);
  /* Nullable: set by processors that only rewrite each sequence on its own
   * (ByteLevel), so a Sequence can apply them before the framing one. */
  void (*transform) (const SfPostProcessor *self, GArray *seq);
} SfPostProcessorClass;

struct SfPostProcessor
{
  const SfPostProcessorClass *klass;
};

SfPostProcessor *sf_post_processor_new_from_json (const cJSON *node,
    const char *field, const SfTokLoadContext *ctx, GError **error);
/* [CLS] $A:0 [SEP]:0 ($B:1 [SEP]:1), the BERT template. */
SfPostProcessor *sf_post_processor_bert_new (
    const char *cls, gint32 cls_id, const char *sep, gint32 sep_id);
void sf_post_processor_free (SfPostProcessor *self);

typedef SfPostProcessor *(*SfPostProcessorNewFunc) (const cJSON *node,
    const char *field, const SfTokLoadContext *ctx, GError **error);

/* postprocessor-roberta.c: RobertaProcessing and ByteLevel */
SfPostProcessor *sf_post_processor_roberta_new_from_json (const cJSON *node,
    const char *field, const SfTokLoadContext *ctx, GError **error);
SfPostProcessor *sf_post_processor_byte_level_new_from_json (const cJSON *node,
    const char *field, const SfTokLoadContext *ctx, GError **error);
/* Moves the offsets of the @n tokens of one sequence past the byte-level
 * spaces they start or end with, as `tokenizers`' trim_offsets does. */
void sf_byte_level_trim_offsets (
    SfTokenEntry *entries, guint n, gboolean add_prefix_space);

/* ---- decoder (decoder.c) ---- */

typedef struct SfDecoder SfDecoder;

typedef struct
{
  const char *type;
  /* Rewrites the token strings of @tokens (GPtrArray of owned char *) in
   * place; the decoded text is their concatenation. */
  void (*decode_chain) (const SfDecoder *self, GPtrArray *tokens);
  void (*free) (SfDecoder *self);
} SfDecoderClass;

struct SfDecoder
{
  const SfDecoderClass *klass;
};

SfDecoder *sf_decoder_new_from_json (const cJSON *node, const char *field,
    const SfTokLoadContext *ctx, GError **error);
SfDecoder *sf_decoder_wordpiece_new (const char *prefix, gboolean cleanup);
void sf_token_decoder_free (SfDecoder *self);

typedef SfDecoder *(*SfDecoderNewFunc) (const cJSON *node, const char *field,
    const SfTokLoadContext *ctx, GError **error);

/* decoder-bytes.c: ByteLevel, ByteFallback */
SfDecoder *sf_decoder_byte_level_new_from_json (const cJSON *node,
    const char *field, const SfTokLoadContext *ctx, GError **error);
SfDecoder *sf_decoder_byte_fallback_new_from_json (const cJSON *node,
    const char *field, const SfTokLoadContext *ctx, GError **error);
/* decoder-text.c: Metaspace, BPEDecoder, Replace, Strip, Fuse */
SfDecoder *sf_decoder_metaspace_new_from_json (const cJSON *node,
    const char *field, const SfTokLoadContext *ctx, GError **error);
SfDecoder *sf_decoder_bpe_new_from_json (const cJSON *node, const char *field,
    const SfTokLoadContext *ctx, GError **error);
SfDecoder *sf_decoder_replace_new_from_json (const cJSON *node,
    const char *field, const SfTokLoadContext *ctx, GError **error);
SfDecoder *sf_decoder_strip_new_from_json (const cJSON *node, const char *field,
    const SfTokLoadContext *ctx, GError **error);
SfDecoder *sf_decoder_fuse_new_from_json (const cJSON *node, const char *field,
    const SfTokLoadContext *ctx, GError **error);

/* ---- added tokens (added-vocab.c) ---- */

typedef struct
{
  char *content;   /* UTF-8 as written in the file */
  gunichar *match; /* [n_match] what is searched for */
  guint n_match;
  gint32 id;
  gboolean special;
  gboolean single_word;
  gboolean lstrip;
  gboolean rstrip;
  gboolean normalized; /* matched in normalised text */
} SfAddedToken;

typedef struct
{
  SfAddedToken *token; /* NULL for text between matches */
  guint start;         /* char index, matches include stripped space */
  guint end;
} SfAddedSplit;

typedef struct SfAddedVocab SfAddedVocab;

SfAddedVocab *sf_added_vocab_new (void);
void sf_added_vocab_free (SfAddedVocab *vocab);
/* Registers a token; a later entry with the same content replaces it. */
void sf_added_vocab_add (SfAddedVocab *vocab, const char *content, gint32 id,
    gboolean special, gboolean single_word, gboolean lstrip, gboolean rstrip,
    gboolean normalized);
/* Computes the normalised match strings; call once all tokens are added.
 * Fails when the normalizer fails on a token's content. */
gboolean sf_added_vocab_prepare (
    SfAddedVocab *vocab, const SfNormalizer *normalizer, GError **error);
/* Splits @chars[0, n) on the raw (normalized = FALSE) or the normalised
 * tokens; appends SfAddedSplit to @out, covering all of [0, n). */
void sf_added_vocab_split (const SfAddedVocab *vocab, gboolean normalized,
    const gunichar *chars, guint n, GArray *out);
gboolean sf_added_vocab_has (const SfAddedVocab *vocab, gboolean normalized);
const SfAddedToken *sf_added_vocab_by_id (const SfAddedVocab *vocab, gint32 id);
const SfAddedToken *sf_added_vocab_by_content (
    const SfAddedVocab *vocab, const char *content);
/* One past the largest id, 0 when empty. */
gint32 sf_added_vocab_id_end (const SfAddedVocab *vocab);
/* Number of added tokens whose id the model does not know. */
guint sf_added_vocab_count_new (
    const SfAddedVocab *vocab, const SfModel *model);

/* ---- the tokenizer (tokenizer.c, encode.c, vocab-txt.c) ---- */

struct SfTokenizer
{
  SfAddedVocab *added;
  SfNormalizer *normalizer;      /* nullable */
  SfPreTokenizer *pre_tokenizer; /* nullable */
  SfModel *model;
  SfPostProcessor *post_processor; /* nullable */
  SfDecoder *decoder;              /* nullable */
  gint32 pad_id;                   /* padding.pad_id, -1 when not given */
  char *pad_token;        /* tokenizer_config.json pad_token, or NULL */
  guint model_max_length; /* 0 when unknown */
};

/* Reads model_max_length from @dir/tokenizer_config.json when present. */
gboolean sf_tokenizer_read_config (
    SfTokenizer *tok, const char *dir, GError **error);
/* The vocab.txt + tokenizer_config.json fallback; @dir holds both. */
SfTokenizer *sf_tokenizer_load_vocab_txt (const char *dir, GError **error);
/* vocab.json + merges.txt (+ added_tokens.json): the byte-level BPE that
 * transformers converts a slow GPT-2/RoBERTa/Whisper tokenizer into. */
SfTokenizer *sf_tokenizer_load_vocab_json (const char *dir, GError **error);
/* Builds a tokenizer from a parsed tokenizer.json document (takes @root);
 * @origin names it in errors, @dir holds tokenizer_config.json. */
SfTokenizer *sf_tokenizer_load_root (
    cJSON *root, const char *origin, const char *dir, GError **error);

G_END_DECLS
