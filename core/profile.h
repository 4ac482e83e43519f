/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: per-op-group time accounting for `bench --profile`.
 *
 * Each public op brackets its work with sf_profile_begin() and
 * sf_profile_end(), naming its group and, for products and attention, the
 * flops it did. When profiling is off (the default) begin is one predicted
 * branch and end another; nothing is read from the clock. When on, the
 * outermost op on a thread adds its wall time and flops to process-wide
 * atomic counters, so an op that calls another op (conv1d → conv2d) counts
 * once, and the pool threads inside an op are covered by its wall time.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  SF_PROFILE_PRODUCTS,    /* linear layers, matmul, convolutions */
  SF_PROFILE_ATTENTION,   /* scaled dot-product attention */
  SF_PROFILE_NORMS,       /* layer/RMS/group/batch norms */
  SF_PROFILE_ACTIVATIONS, /* GELU, SiLU, softmax, sigmoid, … */
  SF_PROFILE_FRONT_END,   /* audio features, image preprocessing */
  SF_PROFILE_OTHER,       /* element-wise, layout, embeddings, pooling */
  SF_PROFILE_N_GROUPS
} SfProfileGroup;

typedef struct
{
  double seconds; /* wall time summed over calls */
  double flops;   /* 2 per multiply-add; 0 for groups that count none */
  gint64 calls;
} SfProfileStats;

/* Read only through the inline functions below. */
extern gboolean sf_profile_enabled;

/* Turns accounting on or off; on also clears the counters. Call it between
 * passes, not while an op runs. */
void sf_profile_set_enabled (gboolean enabled);
void sf_profile_get (SfProfileGroup group, SfProfileStats *stats);
/* "products", "attention", … */
const char *sf_profile_group_name (SfProfileGroup group);

gint64 sf_profile_begin_on (void);
void sf_profile_end_on (SfProfileGroup group, gint64 start, double flops);

/* A token for sf_profile_end(): -1 when profiling is off. */
static inline gint64
sf_profile_begin (void)
{
  return G_UNLIKELY (sf_profile_enabled) ? sf_profile_begin_on () : -1;
}

/* Records the op begun at @start; @flops is evaluated only when on. */
#define sf_profile_end(group, start, flops)                                    \
  do {                                                                         \
    if (G_UNLIKELY ((start) >= 0))                                             \
      sf_profile_end_on ((group), (start), (flops));                           \
  } while (0)

G_END_DECLS
