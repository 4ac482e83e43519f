/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer plugin: tensors between elements.
 *
 * Caps follow NNStreamer's `other/tensors` convention so that pipelines can
 * mix both worlds:
 *
 *   other/tensors, format=static, num_tensors=2, types="float32,int64",
 *       dimensions="64:17:1,17:1", framerate=0/1
 *
 * Each dimension string lists sizes innermost first, so a row-major tensor
 * of shape [1, 17, 64] is written "64:17:1". A buffer carries one GstMemory
 * per tensor, in caps order.
 *
 * Three metas ride on the buffers:
 *  - GstSfTensorMeta names the model that produced the tensors (an opaque,
 *    refcounted handle, so this header needs nothing beyond GStreamer), the
 *    source text for text encoders, and optionally the media buffer the
 *    tensors were computed from, so overlays can draw on the original frame.
 *  - GstSfResultMeta holds a task element's structured result (labels,
 *    scores, text, …) as a GstStructure, which sfjsonsink writes out.
 *  - GstSfLabelsMeta names the entries of a row of scores when they are not
 *    the model's id2label (the prompts sfsimilarity scored against).
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_SF_TENSORS_MAX 16
#define GST_SF_TENSOR_MAX_DIMS 8

#define GST_SF_TENSORS_MIME "other/tensors"

/* Element types, spelled as in NNStreamer caps ("float32", "int64", …). */
typedef enum
{
  GST_SF_TENSOR_TYPE_INT32,
  GST_SF_TENSOR_TYPE_UINT32,
  GST_SF_TENSOR_TYPE_INT16,
  GST_SF_TENSOR_TYPE_UINT16,
  GST_SF_TENSOR_TYPE_INT8,
  GST_SF_TENSOR_TYPE_UINT8,
  GST_SF_TENSOR_TYPE_FLOAT64,
  GST_SF_TENSOR_TYPE_FLOAT32,
  GST_SF_TENSOR_TYPE_INT64,
  GST_SF_TENSOR_TYPE_UINT64,
  GST_SF_TENSOR_TYPE_FLOAT16,
  GST_SF_TENSOR_TYPE_UNKNOWN
} GstSfTensorType;

typedef struct
{
  GstSfTensorType type;
  guint ndim;
  guint64 dims[GST_SF_TENSOR_MAX_DIMS]; /* innermost first */
} GstSfTensorInfo;

typedef struct
{
  guint num_tensors;
  GstSfTensorInfo tensors[GST_SF_TENSORS_MAX];
  gint rate_n, rate_d; /* framerate; 0/1 when not periodic */
} GstSfTensorsInfo;

const gchar *gst_sf_tensor_type_name (GstSfTensorType type);
GstSfTensorType gst_sf_tensor_type_from_name (const gchar *name);
gsize gst_sf_tensor_type_size (GstSfTensorType type);

/* Fills @info from a row-major @shape (outermost first), reversing it into
 * caps order. FALSE when @ndim is 0 or above GST_SF_TENSOR_MAX_DIMS. */
gboolean gst_sf_tensor_info_set_shape (GstSfTensorInfo *info,
    GstSfTensorType type, guint ndim, const gint64 *shape);
guint64 gst_sf_tensor_info_numel (const GstSfTensorInfo *info);
gsize gst_sf_tensor_info_nbytes (const GstSfTensorInfo *info);
/* "64:17:1" — caller frees. */
gchar *gst_sf_tensor_info_dims_string (const GstSfTensorInfo *info);

void gst_sf_tensors_info_init (GstSfTensorsInfo *info);
gboolean gst_sf_tensors_info_is_equal (
    const GstSfTensorsInfo *a, const GstSfTensorsInfo *b);
/* (transfer full) fixed caps for @info. */
GstCaps *gst_sf_tensors_info_to_caps (const GstSfTensorsInfo *info);
/* Parses fixed other/tensors caps (only format=static). FALSE when a field
 * is missing or malformed, or the counts of types and dimensions disagree. */
gboolean gst_sf_tensors_info_from_caps (
    GstSfTensorsInfo *info, const GstCaps *caps);
/* Appends @src's tensors to the multi-tensor buffer @dst, sharing their
 * GstMemory (no copy), and their infos to @dst_info, whose rate becomes the
 * slower of the two periodic ones. FALSE, changing nothing, when @src's
 * memory count disagrees with @src_info or there would be more than
 * GST_SF_TENSORS_MAX tensors. */
gboolean gst_sf_tensors_append (GstBuffer *dst, GstSfTensorsInfo *dst_info,
    GstBuffer *src, const GstSfTensorsInfo *src_info);

/* GstSfTensorMeta */

typedef struct
{
  GstMeta meta;

  gpointer model; /* opaque model handle (an SfModel), owned ref, nullable */
  GBoxedCopyFunc model_ref;
  GDestroyNotify model_unref;
  gchar *model_name; /* folder basename, nullable */
  gchar *text;       /* source text (text encoders), nullable */
  GstBuffer *media;  /* source media buffer, owned ref, nullable */
} GstSfTensorMeta;

GType gst_sf_tensor_meta_api_get_type (void);
const GstMetaInfo *gst_sf_tensor_meta_get_info (void);
#define GST_SF_TENSOR_META_API_TYPE (gst_sf_tensor_meta_api_get_type ())
#define GST_SF_TENSOR_META_INFO (gst_sf_tensor_meta_get_info ())

#define gst_buffer_get_sf_tensor_meta(buf)                                     \
  ((GstSfTensorMeta *)gst_buffer_get_meta ((buf), GST_SF_TENSOR_META_API_TYPE))

/* Takes its own references on @model (through @model_ref) and @media, and
 * copies the strings. Every argument after @buffer is nullable. */
GstSfTensorMeta *gst_buffer_add_sf_tensor_meta (GstBuffer *buffer,
    gpointer model, GBoxedCopyFunc model_ref, GDestroyNotify model_unref,
    const gchar *model_name, const gchar *text, GstBuffer *media);

/* GstSfResultMeta */

typedef struct
{
  GstMeta meta;

  GstStructure *result; /* owned; named after the element that made it */
} GstSfResultMeta;

GType gst_sf_result_meta_api_get_type (void);
const GstMetaInfo *gst_sf_result_meta_get_info (void);
#define GST_SF_RESULT_META_API_TYPE (gst_sf_result_meta_api_get_type ())
#define GST_SF_RESULT_META_INFO (gst_sf_result_meta_get_info ())

#define gst_buffer_get_sf_result_meta(buf)                                     \
  ((GstSfResultMeta *)gst_buffer_get_meta ((buf), GST_SF_RESULT_META_API_TYPE))

/* (transfer full) @result */
GstSfResultMeta *gst_buffer_add_sf_result_meta (
    GstBuffer *buffer, GstStructure *result);

/* GstSfLabelsMeta: names for the entries of a buffer's single row of
 * scores, when they are not the model's id2label (e.g. the prompt texts
 * sfsimilarity scored an image against). sfclassifier prefers them. */

typedef struct
{
  GstMeta meta;

  gchar **labels; /* owned, NULL-terminated */
  guint n_labels;
} GstSfLabelsMeta;

GType gst_sf_labels_meta_api_get_type (void);
const GstMetaInfo *gst_sf_labels_meta_get_info (void);
#define GST_SF_LABELS_META_API_TYPE (gst_sf_labels_meta_api_get_type ())
#define GST_SF_LABELS_META_INFO (gst_sf_labels_meta_get_info ())

#define gst_buffer_get_sf_labels_meta(buf)                                     \
  ((GstSfLabelsMeta *)gst_buffer_get_meta ((buf), GST_SF_LABELS_META_API_TYPE))

/* Copies the @n strings of @labels. */
GstSfLabelsMeta *gst_buffer_add_sf_labels_meta (
    GstBuffer *buffer, const gchar *const *labels, guint n);

G_END_DECLS
