/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "gstsfaggregator.h"

G_BEGIN_DECLS

#define GST_TYPE_SF_SIMILARITY (gst_sf_similarity_get_type ())
G_DECLARE_FINAL_TYPE (
    GstSfSimilarity, gst_sf_similarity, GST, SF_SIMILARITY, GstSfAggregator)

GST_ELEMENT_REGISTER_DECLARE (sfsimilarity);

G_END_DECLS
