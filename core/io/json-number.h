/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: numbers in JSON. The writer is shared by the CLI and
 * the plugin's JSON writers so both print the same digits; the reader turns
 * a number from a user's file into an integer without undefined casts. */
#pragma once

#include <cjson/cJSON.h>
#include <glib.h>

G_BEGIN_DECLS

/* Significant digits of every non-integer number written. */
#define SF_JSON_DIGITS 6

/* (transfer full) a cJSON number for @value rounded to SF_JSON_DIGITS
 * significant digits (0.123456789 prints as 0.123457); integers up to
 * 2^53 stay exact. NaN and infinities print as null, as cJSON does. */
cJSON *sf_json_number (double value);

/* TRUE, with *out set, when @item is a JSON number holding a whole value in
 * [@min, @max]; FALSE for anything else (not a number, a fraction, out of
 * range, infinite). The range is checked before the value is cast. */
gboolean sf_json_integer (
    const cJSON *item, gint64 min, gint64 max, gint64 *out);

G_END_DECLS
