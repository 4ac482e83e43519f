/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The CLI's --precision option, shared by run, bench and verify. */
#pragma once

#include "core/precision.h"

G_BEGIN_DECLS

#define SF_CLI_PRECISION_HELP                                                  \
  "Linear layers in f32 (default), bf16 or int8 (needs AVX512_BF16 or "        \
  "AVX512_VNNI; f32 with a warning otherwise)"

/* Parses --precision @value (NULL: f32) into *@precision, resolved for this
 * CPU: prints `streamformer CMD: warning: …` when it falls back to f32.
 * FALSE, with a message on stderr, for an unknown name. */
gboolean sf_cli_precision (
    const char *cmd, const char *value, SfPrecision *precision);

G_END_DECLS
