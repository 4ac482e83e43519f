/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helpers shared by the model-family tests: numeric closeness, an
 * incremental decoder step checked against the teacher-forced forward,
 * and broken-checkpoint checks. */
#pragma once

#include "graphs/generate.h"
#include "graphs/model.h"

G_BEGIN_DECLS

/* (transfer full) the model of folder @dir, which must load. */
SfModel *sf_test_load_model (const char *dir);
/* (transfer full) the model of fixture case @case_name, which must load. */
SfModel *sf_test_load_case (const char *case_name);

/* Fails the test at the first element of @got [n] outside
 * |got - want| ≤ atol + rtol·|want|, naming @what. */
void sf_test_assert_close (const char *what, const float *got,
    const float *want, gint64 n, double atol, double rtol);

/* One step of @dec with @n_new tokens per row: row r feeds positions
 * [pos, pos + n_new) of row @rows[r] of @ids [R, T]; its logits must be
 * @full's [R, T, V] at row @rows[r], position pos + n_new - 1. */
void sf_test_decoder_step (SfDecoder *dec, const SfTensor *ids,
    const SfTensor *full, const guint *rows, guint n_rows, gint64 pos,
    guint n_new, double atol, double rtol);

/* Loading @dir must fail with an SF_ERROR whose message holds every one
 * of @fragments (NULL-terminated). */
void sf_test_assert_load_fails (const char *dir, const char *const *fragments);

/* Sets @dir/config.json's @key to the JSON text @json (NULL removes it). */
void sf_test_set_config (const char *dir, const char *key, const char *json);

G_END_DECLS
