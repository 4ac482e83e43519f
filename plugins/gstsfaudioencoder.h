/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_SF_AUDIO_ENCODER (gst_sf_audio_encoder_get_type ())
G_DECLARE_FINAL_TYPE (
    GstSfAudioEncoder, gst_sf_audio_encoder, GST, SF_AUDIO_ENCODER, GstElement)

GST_ELEMENT_REGISTER_DECLARE (sfaudioencoder);

G_END_DECLS
