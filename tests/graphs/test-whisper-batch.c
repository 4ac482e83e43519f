/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Whisper windows decoded together (sf_whisper_generate_batch) give
 * exactly the token ids each window gets alone (sf_whisper_generate):
 * windows of different encoder lengths and contents, different limits,
 * and an end token that some reach mid-batch while others go on. */
#include "graphs/families/whisper.h"
#include "core/error.h"
#include "tests/common/test-graphs.h"
#include "tests/common/test-ops-util.h"
#include "tests/common/test-util.h"

#include <string.h>

#define N_WINDOWS 6

/* The windows: the fixture's two encoder outputs (transformers'), then
 * random states of other lengths; each with its own limit. */
typedef struct
{
  SfTensor *enc[N_WINDOWS];
  SfWhisperOptions opts[N_WINDOWS];
} Windows;

static void
windows_init (Windows *w)
{
  g_autoptr (SfTensor) enc_all =
      sf_test_fixture_tensor ("whisper-tiny-asr", "encoder_last_hidden_state");
  /* encoder frames and new-token limits (0: up to max_length) */
  static const gint64 frames[N_WINDOWS] = { 0, 0, 1500, 700, 300, 40 };
  static const guint limits[N_WINDOWS] = { 24, 0, 0, 9, 30, 17 };
  /* the range of each random window's values */
  static const double lo[N_WINDOWS] = { 0, 0, -2.0, -1.0, -3.0, 0.0 };
  static const double hi[N_WINDOWS] = { 0, 0, 2.0, 3.0, 0.5, 1.0 };
  g_autoptr (GRand) rand = g_rand_new_with_seed (7);

  for (guint i = 0; i < N_WINDOWS; i++) {
    SfWhisperOptions o = SF_WHISPER_OPTIONS_DEFAULT;

    if (frames[i] == 0)
      w->enc[i] = sf_tensor_slice0 (enc_all, i, 1);
    else
      w->enc[i] = sf_test_random_tensor (rand, lo[i], hi[i], 3,
          (const gint64[]){ 1, frames[i], enc_all->shape[2] });
    o.max_new_tokens = limits[i];
    w->opts[i] = o;
  }
}

static void
windows_clear (Windows *w)
{
  for (guint i = 0; i < N_WINDOWS; i++)
    sf_tensor_unref (w->enc[i]);
}

/* Decodes windows @order [n] of @w alone and together; asserts the same
 * ids and returns (transfer full) each window's ids, indexed by window. */
static GPtrArray *
check_batch (SfModel *model, Windows *w, const guint *order, guint n)
{
  g_autoptr (GPtrArray) alone =
      g_ptr_array_new_with_free_func ((GDestroyNotify)g_array_unref);
  g_autofree const SfTensor **encs = g_new (const SfTensor *, n);
  g_autofree const SfWhisperOptions **opts =
      g_new (const SfWhisperOptions *, n);
  g_autofree GArray **together = g_new (GArray *, n);
  g_autoptr (GError) error = NULL;

  for (guint i = 0; i < N_WINDOWS; i++) {
    GArray *ids = g_array_new (FALSE, FALSE, sizeof (gint64));
    g_assert_true (
        sf_whisper_generate (model, w->enc[i], &w->opts[i], ids, &error));
    g_assert_no_error (error);
    g_ptr_array_add (alone, ids);
  }
  for (guint j = 0; j < n; j++) {
    encs[j] = w->enc[order[j]];
    opts[j] = &w->opts[order[j]];
    together[j] = g_array_new (FALSE, FALSE, sizeof (gint64));
  }
  g_assert_true (
      sf_whisper_generate_batch (model, encs, opts, n, together, &error));
  g_assert_no_error (error);
  for (guint j = 0; j < n; j++) {
    g_autofree char *want = sf_test_ids_string (alone->pdata[order[j]]);
    g_autofree char *got = sf_test_ids_string (together[j]);

    g_test_message ("window %u: %s", order[j], want);
    g_assert_cmpstr (got, ==, want);
    g_array_unref (together[j]);
  }
  return g_steal_pointer (&alone);
}

/* The windows' ids are not all alike, so a row given another row's
 * caches or states would show. */
static void
assert_distinct (GPtrArray *ids, guint want_distinct)
{
  g_autoptr (GHashTable) seen =
      g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; i < ids->len; i++)
    g_hash_table_add (seen, sf_test_ids_string (ids->pdata[i]));
  g_assert_cmpuint (g_hash_table_size (seen), >=, want_distinct);
}

/* The checkpoint as it is: windows end at their limits. */
static void
test_batch_equals_alone (void)
{
  g_autoptr (SfModel) model = sf_test_load_case ("whisper-tiny-asr");
  static const guint order[N_WINDOWS] = { 0, 1, 2, 3, 4, 5 };
  static const guint shuffled[N_WINDOWS] = { 4, 2, 5, 0, 3, 1 };
  g_autoptr (GPtrArray) ids = NULL;
  g_autoptr (GPtrArray) again = NULL;
  Windows w;

  windows_init (&w);
  ids = check_batch (model, &w, order, N_WINDOWS);
  assert_distinct (ids, N_WINDOWS);
  /* another order, and a batch of a few */
  again = check_batch (model, &w, shuffled, N_WINDOWS);
  g_clear_pointer (&again, g_ptr_array_unref);
  again = check_batch (model, &w, shuffled + 1, 2);
  windows_clear (&w);
}

/* An end token that a window reaches mid-batch: it leaves the batch
 * while the others go on to their own limits. */
static void
test_batch_end_mid_batch (void)
{
  g_autofree char *dir = sf_test_copy_fixture ("whisper-tiny-asr");
  g_autoptr (SfModel) model = NULL;
  g_autoptr (GPtrArray) ids = NULL;
  g_autoptr (GHashTable) lengths = g_hash_table_new (NULL, NULL);
  static const guint order[N_WINDOWS] = { 0, 1, 2, 3, 4, 5 };
  g_autoptr (GError) error = NULL;
  guint ended_at = 0, longest = 0;
  Windows w;

  /* 462: a token the third window generates after 15 others */
  sf_test_write_file (dir, "generation_config.json",
      "{\"decoder_start_token_id\": 1, \"eos_token_id\": 462, "
      "\"pad_token_id\": 0, \"no_timestamps_token_id\": 6, "
      "\"forced_decoder_ids\": [[1, 2], [2, 3], [3, 6]], "
      "\"suppress_tokens\": [], \"begin_suppress_tokens\": [], "
      "\"max_length\": 64}");
  model = sf_model_load (dir, &error);
  g_assert_no_error (error);
  windows_init (&w);
  ids = check_batch (model, &w, order, N_WINDOWS);
  for (guint i = 0; i < ids->len; i++) {
    GArray *a = ids->pdata[i];
    guint n_new = a->len - 4, limit = w.opts[i].max_new_tokens;

    /* ended on the token, before its limit */
    if (g_array_index (a, gint64, a->len - 1) == 462
        && (limit == 0 || n_new < limit))
      ended_at = n_new;
    longest = MAX (longest, n_new);
    g_hash_table_add (lengths, GUINT_TO_POINTER (n_new));
  }
  g_assert_cmpuint (ended_at, >, 1);
  g_assert_cmpuint (longest, >, ended_at);
  g_assert_cmpuint (g_hash_table_size (lengths), >=, 5);
  windows_clear (&w);
  sf_test_remove_dir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func (
      "/graphs/whisper/batch/equals-alone", test_batch_equals_alone);
  g_test_add_func (
      "/graphs/whisper/batch/end-mid-batch", test_batch_end_mid_batch);
  return g_test_run ();
}
