/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer plugin: sfmqttsink's state, shared by the element
 * (gstsfmqttsink.c: properties, events, publishing) and its connection
 * set-up (gstsfmqttsink-connect.c). Private to the plugin. */
#pragma once

#include <gst/base/gstbasesink.h>

#include "gstsfelement.h"
#include "gstsfjson.h"
#include "gstsfmqttclient.h"
#include "gstsfmqttsink.h"

G_BEGIN_DECLS

GST_DEBUG_CATEGORY_EXTERN (gst_sf_mqtt_sink_debug);

struct _GstSfMqttSink
{
  GstBaseSink parent;

  /* properties, under the object lock */
  gchar *host;
  gint port;
  gchar *topic;
  gint qos;
  gchar *client_id;
  gchar *username;
  gchar *password;
  gchar *tls_ca_file;
  guint max_queued;
  guint flush_timeout_ms;
  gboolean connect_async;

  /* between start() and stop(): the settings in use */
  gchar *uri;
  guint cur_flush_timeout_ms;
  GstSfJsonFormat format;
  GstSfMqttClient *client;
  /* drop warnings, from the streaming thread only */
  guint64 dropped, dropped_reported;
  gint64 last_drop_warning;
};

/* Forgets the settings in use (the broker URI). */
void gst_sf_mqtt_sink_clear_settings (GstSfMqttSink *self);

/* GstBaseSink::start: connects to the broker (or starts to, with
 * connect-async). FALSE after an element error. */
gboolean gst_sf_mqtt_sink_start (GstBaseSink *sink);

G_END_DECLS
