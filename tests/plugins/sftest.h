/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared helpers for the element tests: fixture paths, case.json and
 * io.safetensors of a reference case, and tolerance checks. */
#pragma once

#include <cjson/cJSON.h>
#include <glib.h>
#include <gst/check/gstharness.h>
#include <gst/gst.h>

#include "core/io/safetensors.h"

G_BEGIN_DECLS

typedef struct
{
  gchar *dir;        /* the case folder */
  cJSON *json;       /* case.json */
  SfSafetensors *io; /* io.safetensors */
  double atol, rtol;
} SfTestCase;

/* (transfer full) path of @name under SF_FIXTURES_DIR. */
gchar *sftest_fixture (const gchar *name);
/* (transfer full) the parsed JSON file at @path; fails the test otherwise. */
cJSON *sftest_load_json (const gchar *path);
/* Opens the case @name; fails the test when it cannot. */
SfTestCase *sftest_case_open (const gchar *name);
void sftest_case_free (SfTestCase *tc);
/* case.json "texts"[i] and their count. */
guint sftest_case_n_texts (SfTestCase *tc);
const gchar *sftest_case_text (SfTestCase *tc, guint i);
/* (transfer full) a tensor of io.safetensors as F32; fails when absent. */
SfTensor *sftest_case_tensor (SfTestCase *tc, const gchar *name);
/* id2label[@index] from the case's config.json. (transfer full) */
gchar *sftest_case_label (SfTestCase *tc, guint index);

/* Asserts |got[i] - want[i]| <= atol + rtol·|want[i]| for @n values. */
void sftest_assert_close (const float *got, const float *want, gsize n,
    double atol, double rtol, const gchar *what);

/* Plays the pipeline @desc until its bus goes quiet (1 s) and returns how
 * many errors the element named @name posted; the first one's text in
 * @first (transfer full). */
guint sftest_count_errors (const gchar *desc, const gchar *name, gchar **first);

/* Every buffer waiting at @h's sink as "pts+duration:text" lines
 * (transfer full); how many in *@n_buffers (nullable). */
gchar *sftest_pull_stamped (GstHarness *h, guint *n_buffers);

/* Checks the batch-size and batch-timeout-ms properties of a new
 * @factory element: defaults 1 and 0, and that they take 8 and 25. */
void sftest_check_batch_properties (const gchar *factory);

G_END_DECLS
