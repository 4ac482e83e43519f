/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tokenizer-throughput: how fast the tokenizer.json engine encodes text.
 *
 *   tokenizer-throughput TOKENIZER_DIR TEXT_FILE [--rounds N] [--json]
 *
 * Loads the tokenizer from a checkpoint or tokenizer folder (as
 * sf_tokenizer_load_dir does for a model) and encodes TEXT_FILE two ways,
 * with the post-processor's special tokens and no truncation:
 *   lines  every non-empty line is one sf_tokenizer_encode call, as
 *          sftextencoder split=lines feeds prompts or sentences;
 *   whole  the file is one string and one call, which shows how the
 *          pipeline scales with the length of one input.
 * Each mode runs one untimed round, then N timed rounds. Throughput is the
 * file's size in bytes (MB = 10^6 bytes) over a round's wall time; the
 * median and the best round are printed, with the tokens per round.
 *
 * Exit codes: 0 success, 1 a load or encode error, 2 a usage error.
 */

#include "core/tokenizer/tokenizer.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_ROUNDS 5

typedef enum
{
  MODE_LINES,
  MODE_WHOLE,
} EncodeMode;

static const char *const mode_names[] = { "lines", "whole" };

typedef struct
{
  double median_mbps;
  double best_mbps;
  double median_ms;
  guint64 tokens; /* per round */
  guint calls;    /* encode calls per round */
} ModeResult;

static int
compare_double (gconstpointer a, gconstpointer b)
{
  double x = *(const double *)a, y = *(const double *)b;

  return (x > y) - (x < y);
}

/* Encodes @lines (NULL-terminated, empty ones skipped) or @text once;
 * adds the tokens made to *tokens. */
static gboolean
encode_round (SfTokenizer *tok, EncodeMode mode, const char *text, char **lines,
    guint64 *tokens, guint *calls, GError **error)
{
  const SfEncodeOptions options = SF_ENCODE_OPTIONS_DEFAULT;
  SfEncoding *enc;
  guint i;

  *tokens = 0;
  *calls = 0;
  if (mode == MODE_WHOLE) {
    enc = sf_tokenizer_encode (tok, text, NULL, &options, error);
    if (enc == NULL)
      return FALSE;
    *tokens = enc->n;
    *calls = 1;
    sf_encoding_free (enc);
    return TRUE;
  }
  for (i = 0; lines[i] != NULL; i++) {
    if (lines[i][0] == '\0')
      continue;
    enc = sf_tokenizer_encode (tok, lines[i], NULL, &options, error);
    if (enc == NULL) {
      g_prefix_error (error, "line %u: ", i + 1);
      return FALSE;
    }
    *tokens += enc->n;
    (*calls)++;
    sf_encoding_free (enc);
  }
  return TRUE;
}

static gboolean
time_mode (SfTokenizer *tok, EncodeMode mode, const char *text, gsize len,
    char **lines, int rounds, ModeResult *result, GError **error)
{
  double *ms = g_new (double, rounds);
  int r;

  /* one untimed round warms caches and any lazily built tables */
  if (!encode_round (
          tok, mode, text, lines, &result->tokens, &result->calls, error)) {
    g_free (ms);
    return FALSE;
  }
  for (r = 0; r < rounds; r++) {
    gint64 start = g_get_monotonic_time ();

    if (!encode_round (
            tok, mode, text, lines, &result->tokens, &result->calls, error)) {
      g_free (ms);
      return FALSE;
    }
    ms[r] = (g_get_monotonic_time () - start) / 1000.0;
  }
  qsort (ms, rounds, sizeof (double), compare_double);
  result->median_ms = rounds % 2 == 1
      ? ms[rounds / 2]
      : 0.5 * (ms[rounds / 2 - 1] + ms[rounds / 2]);
  /* bytes per millisecond / 1000 = MB (10^6 bytes) per second */
  result->median_mbps = len / result->median_ms / 1000.0;
  result->best_mbps = len / ms[0] / 1000.0;
  g_free (ms);
  return TRUE;
}

static void
print_json (const char *dir, const char *mode, gsize len, int rounds,
    double load_ms, const ModeResult *r)
{
  cJSON *root = cJSON_CreateObject ();
  char *text;

  cJSON_AddStringToObject (root, "tokenizer", dir);
  cJSON_AddStringToObject (root, "mode", mode);
  cJSON_AddNumberToObject (root, "bytes", (double)len);
  cJSON_AddNumberToObject (root, "rounds", rounds);
  cJSON_AddNumberToObject (root, "calls", r->calls);
  cJSON_AddNumberToObject (root, "tokens", (double)r->tokens);
  cJSON_AddNumberToObject (root, "load_ms", load_ms);
  cJSON_AddNumberToObject (root, "median_ms", r->median_ms);
  cJSON_AddNumberToObject (root, "median_mbps", r->median_mbps);
  cJSON_AddNumberToObject (root, "best_mbps", r->best_mbps);
  text = cJSON_PrintUnformatted (root);
  g_print ("%s\n", text);
  cJSON_free (text);
  cJSON_Delete (root);
}

int
main (int argc, char **argv)
{
  int rounds = DEFAULT_ROUNDS;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "rounds", 'n', 0, G_OPTION_ARG_INT, &rounds,
        "Timed rounds per mode (default 5)", "N" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "One JSON object per mode",
        NULL },
    { NULL },
  };
  GOptionContext *ctx =
      g_option_context_new ("TOKENIZER_DIR TEXT_FILE - encoding MB/s");
  GError *error = NULL;
  SfTokenizer *tok;
  char *text = NULL;
  char **lines = NULL;
  gsize len;
  gint64 start;
  double load_ms;
  int status = 0;
  int m;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
    g_printerr ("tokenizer-throughput: %s\n", error->message);
    g_error_free (error);
    g_option_context_free (ctx);
    return 2;
  }
  g_option_context_free (ctx);
  if (argc != 3 || rounds < 1) {
    g_printerr ("usage: tokenizer-throughput TOKENIZER_DIR TEXT_FILE "
                "[--rounds N >= 1] [--json]\n");
    return 2;
  }

  if (!g_file_get_contents (argv[2], &text, &len, &error)) {
    g_printerr ("tokenizer-throughput: %s\n", error->message);
    g_error_free (error);
    return 1;
  }
  if (len == 0 || !g_utf8_validate (text, len, NULL)) {
    g_printerr (
        "tokenizer-throughput: %s: empty or not valid UTF-8\n", argv[2]);
    g_free (text);
    return 1;
  }
  start = g_get_monotonic_time ();
  tok = sf_tokenizer_load_dir (argv[1], &error);
  if (tok == NULL) {
    g_printerr ("tokenizer-throughput: %s\n", error->message);
    g_error_free (error);
    g_free (text);
    return 1;
  }
  load_ms = (g_get_monotonic_time () - start) / 1000.0;
  lines = g_strsplit (text, "\n", -1);

  if (!json)
    g_print ("%s: %" G_GSIZE_FORMAT " bytes, tokenizer %s (%u ids, "
             "loaded in %.1f ms), median of %d rounds\n",
        argv[2], len, argv[1], sf_tokenizer_vocab_size (tok), load_ms, rounds);
  for (m = MODE_LINES; m <= MODE_WHOLE; m++) {
    ModeResult r = { 0 };

    if (!time_mode (tok, m, text, len, lines, rounds, &r, &error)) {
      g_printerr ("tokenizer-throughput: %s: %s\n", argv[2], error->message);
      g_clear_error (&error);
      status = 1;
      break;
    }
    if (json)
      print_json (argv[1], mode_names[m], len, rounds, load_ms, &r);
    else
      g_print ("%-6s %7u calls %9" G_GUINT64_FORMAT " tokens  median %8.1f ms"
               "  %7.2f MB/s (best %.2f)\n",
          mode_names[m], r.calls, r.tokens, r.median_ms, r.median_mbps,
          r.best_mbps);
  }

  g_strfreev (lines);
  g_free (text);
  sf_tokenizer_free (tok);
  return status;
}
