/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: numbers in the JSON we write (scores, fractions,
 * tensor values), shared by the CLI and the plugin's JSON writers so both
 * print the same digits. */
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

G_END_DECLS
