/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The CLI's --precision option. */
#include "samples/cli/precision-arg.h"

#include <stdio.h>

gboolean
sf_cli_precision (const char *cmd, const char *value, SfPrecision *precision)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *warning = NULL;

  *precision = SF_PRECISION_F32;
  if (value == NULL)
    return TRUE;
  if (!sf_precision_from_name (value, precision, &error)) {
    fprintf (stderr, "streamformer %s: --precision: %s\n", cmd, error->message);
    return FALSE;
  }
  *precision = sf_precision_resolve (*precision, &warning);
  if (warning != NULL)
    fprintf (stderr, "streamformer %s: warning: %s\n", cmd, warning);
  return TRUE;
}
