/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helpers for the op tests: random inputs and the comparison with a
 * double-precision reference. */
#pragma once

#include "core/tensor.h"

G_BEGIN_DECLS

/* (transfer full) an F32 tensor of @shape, uniform in [lo, hi). */
SfTensor *sf_test_random_tensor (
    GRand *rand, double lo, double hi, int ndim, const gint64 *shape);

/* Fails unless every element of @got is finite, the largest absolute error
 * against @ref is at most @max_abs_tol and the normalised mean squared
 * error Σ(got - ref)² / Σ ref² is at most @nmse_tol. */
void sf_test_check_close (const char *what, const float *got, const double *ref,
    gint64 n, double max_abs_tol, double nmse_tol);

G_END_DECLS
