/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer plugin: sfmqttsink's start (see gstsfmqttsink-private.h):
 * the properties become the client's settings (a topic and client id of
 * its own when none is set, ssl:// with a TLS CA file), the client is
 * made, and unless connect-async is set the broker must accept the
 * connection before the pipeline starts; each failure is an element
 * error naming the properties to check. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <unistd.h>

#include "gstsfmqttsink-private.h"

#define GST_CAT_DEFAULT gst_sf_mqtt_sink_debug

void
gst_sf_mqtt_sink_clear_settings (GstSfMqttSink *self)
{
  g_clear_pointer (&self->uri, g_free);
}

static gchar *
default_client_id (GstSfMqttSink *self)
{
  gchar *name = gst_object_get_name (GST_OBJECT (self));
  gchar *id = g_strdup_printf (
      "streamformer-%s-%d-%08x", name, (int)getpid (), g_random_int ());

  g_free (name);
  return id;
}

static gboolean
ca_file_readable (const gchar *path)
{
  FILE *f = fopen (path, "r");

  if (f == NULL)
    return FALSE;
  fclose (f);
  return TRUE;
}

gboolean
gst_sf_mqtt_sink_start (GstBaseSink *sink)
{
  GstSfMqttSink *self = GST_SF_MQTT_SINK (sink);
  g_autofree gchar *host = NULL, *topic = NULL, *client_id = NULL;
  g_autofree gchar *username = NULL, *password = NULL, *ca_file = NULL;
  GstSfMqttClientSettings settings;
  gboolean refused = FALSE;
  gchar *reason = NULL;
  gint port;

  gst_sf_mqtt_sink_clear_settings (self);
  GST_OBJECT_LOCK (self);
  host = g_strdup (self->host ? self->host : "");
  port = self->port;
  topic = g_strdup (self->topic);
  client_id = g_strdup (self->client_id);
  username = g_strdup (self->username);
  password = g_strdup (self->password);
  ca_file = g_strdup (self->tls_ca_file);
  settings.qos = self->qos;
  settings.max_queued = self->max_queued;
  settings.connect_async = self->connect_async;
  self->cur_flush_timeout_ms = self->flush_timeout_ms;
  GST_OBJECT_UNLOCK (self);

  if (topic == NULL || *topic == '\0') {
    gchar *name = gst_object_get_name (GST_OBJECT (self));

    g_free (topic);
    topic = g_strdup_printf ("streamformer/%s", name);
    g_free (name);
  }
  if (client_id == NULL || *client_id == '\0') {
    g_free (client_id);
    client_id = default_client_id (self);
  }
  if (ca_file != NULL && *ca_file == '\0')
    g_clear_pointer (&ca_file, g_free);
  self->uri =
      g_strdup_printf ("%s://%s:%d", ca_file ? "ssl" : "tcp", host, port);

  if (settings.qos < 0 || settings.qos > 2)
    goto bad_qos;
  if (ca_file != NULL && !ca_file_readable (ca_file))
    goto bad_ca_file;

  gst_sf_json_format_init (&self->format);
  self->dropped = self->dropped_reported = 0;
  self->last_drop_warning = 0;

  settings.uri = self->uri;
  settings.topic = topic;
  settings.client_id = client_id;
  settings.username = username;
  settings.password = password;
  settings.ca_file = ca_file;
  self->client =
      gst_sf_mqtt_client_new (GST_ELEMENT (self), &settings, &reason);
  if (self->client == NULL)
    goto create_failed;
  if (settings.connect_async)
    return TRUE;
  if (!gst_sf_mqtt_client_wait_connected (self->client, &refused, &reason))
    goto connect_failed;
  return TRUE;

bad_qos : {
  GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
      ("Invalid qos %d: the qos property must be 0, 1 or 2.", settings.qos),
      (NULL));
  gst_sf_mqtt_sink_clear_settings (self);
  return FALSE;
}
bad_ca_file : {
  GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
      ("Could not read the TLS CA file \"%s\" (property tls-ca-file).",
          ca_file),
      GST_ERROR_SYSTEM);
  gst_sf_mqtt_sink_clear_settings (self);
  return FALSE;
}
create_failed : {
  GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
      ("Invalid MQTT broker address %s (properties host and port).", self->uri),
      ("%s", reason));
  g_free (reason);
  gst_sf_mqtt_sink_clear_settings (self);
  return FALSE;
}
connect_failed : {
  if (refused)
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE,
        ("The MQTT broker at %s refused the connection (properties username "
         "and password).",
            self->uri),
        ("%s", reason));
  else
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE,
        ("Could not connect to the MQTT broker at %s (properties host, port "
         "and tls-ca-file; set connect-async to retry in the background).",
            self->uri),
        ("%s", reason));
  g_free (reason);
  g_clear_pointer (&self->client, gst_sf_mqtt_client_free);
  gst_sf_mqtt_sink_clear_settings (self);
  return FALSE;
}
}
