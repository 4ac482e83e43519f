/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: the error domain shared by every layer.
 *
 * Every function that reads external input (files, JSON, shapes derived
 * from a config, tokenizer data, media) reports failure through a GError in
 * this domain. The message names the file and the field that was wrong.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define SF_ERROR (sf_error_quark ())

typedef enum
{
  SF_ERROR_IO,          /* a file could not be opened, read or mapped */
  SF_ERROR_PARSE,       /* malformed JSON, header or text */
  SF_ERROR_INVALID,     /* well-formed but inconsistent or out-of-range data */
  SF_ERROR_UNSUPPORTED, /* a valid feature Streamformer does not implement */
  SF_ERROR_MISSING,     /* a required file, field or tensor is absent */
  SF_ERROR_SHAPE,       /* a tensor has the wrong shape or dtype */
} SfError;

GQuark sf_error_quark (void);

G_END_DECLS
