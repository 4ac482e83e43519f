/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: JSON numbers written with a fixed number of
 * significant digits, and read as range-checked integers (json-number.h). */
#include "core/io/json-number.h"

#include <math.h>
#include <stdio.h>

cJSON *
sf_json_number (double value)
{
  char text[G_ASCII_DTOSTR_BUF_SIZE];

  /* Integers (counts, dims, ids) are kept whole. */
  if (!isfinite (value) || (value == floor (value) && fabs (value) < 0x1p53))
    return cJSON_CreateNumber (value);
  /* The double nearest the rounded decimal: cJSON prints the shortest form
   * that reads back to it, which is that decimal. */
  g_ascii_formatd (
      text, sizeof text, "%." G_STRINGIFY (SF_JSON_DIGITS) "g", value);
  return cJSON_CreateNumber (g_ascii_strtod (text, NULL));
}

gboolean
sf_json_integer (const cJSON *item, gint64 min, gint64 max, gint64 *out)
{
  double v;

  if (!cJSON_IsNumber (item))
    return FALSE;
  v = item->valuedouble;
  /* written so that NaN fails too */
  if (!(v >= (double)min && v <= (double)max) || v != floor (v)
      || fabs (v) >= 0x1p63)
    return FALSE;
  *out = (gint64)v;
  return TRUE;
}
