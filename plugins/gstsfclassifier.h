/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/base/gstbasetransform.h>

G_BEGIN_DECLS

#define GST_TYPE_SF_CLASSIFIER (gst_sf_classifier_get_type ())
G_DECLARE_FINAL_TYPE (
    GstSfClassifier, gst_sf_classifier, GST, SF_CLASSIFIER, GstBaseTransform)

#define GST_TYPE_SF_ACTIVATION (gst_sf_activation_get_type ())
GType gst_sf_activation_get_type (void);

GST_ELEMENT_REGISTER_DECLARE (sfclassifier);

G_END_DECLS
