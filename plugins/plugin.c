/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The `streamformer` plugin: Hugging Face checkpoints as GStreamer elements. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/gst.h>

#include "gstsfaudioencoder.h"
#include "gstsfclassifier.h"
#include "gstsffuse.h"
#include "gstsfimageencoder.h"
#include "gstsfjsonsink.h"
#ifdef HAVE_PAHO_MQTT
#include "gstsfmqttsink.h"
#endif
#include "gstsfsegmenter.h"
#include "gstsfsimilarity.h"
#include "gstsftextencoder.h"
#include "gstsftextgenerator.h"
#include "gstsftranscriber.h"

static gboolean
plugin_init (GstPlugin *plugin)
{
  gboolean ret = FALSE;

  ret |= GST_ELEMENT_REGISTER (sftextencoder, plugin);
  ret |= GST_ELEMENT_REGISTER (sfclassifier, plugin);
  ret |= GST_ELEMENT_REGISTER (sfjsonsink, plugin);
#ifdef HAVE_PAHO_MQTT
  ret |= GST_ELEMENT_REGISTER (sfmqttsink, plugin);
#endif
  ret |= GST_ELEMENT_REGISTER (sfimageencoder, plugin);
  ret |= GST_ELEMENT_REGISTER (sfsegmenter, plugin);
  ret |= GST_ELEMENT_REGISTER (sffuse, plugin);
  ret |= GST_ELEMENT_REGISTER (sfsimilarity, plugin);
  ret |= GST_ELEMENT_REGISTER (sfaudioencoder, plugin);
  ret |= GST_ELEMENT_REGISTER (sftranscriber, plugin);
  ret |= GST_ELEMENT_REGISTER (sftextgenerator, plugin);

  return ret;
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, streamformer,
    "Runs Hugging Face transformer checkpoints (safetensors, config.json, "
    "tokenizer.json) on text, audio and video streams",
    plugin_init, VERSION, "LGPL", PACKAGE, GST_PACKAGE_ORIGIN)
