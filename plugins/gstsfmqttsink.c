/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * SECTION:element-sfmqttsink
 * @title: sfmqttsink
 *
 * Publishes each buffer to an MQTT broker as one message: the same JSON
 * object sfjsonsink writes as one line (pts, duration, labels, scores,
 * text, tensors), on the topic `streamformer/<element name>` unless topic
 * is set. The client is Eclipse Paho C's asynchronous one.
 *
 * Results wait in a queue of at most max-queued until the broker
 * acknowledges them (QoS 1: PUBACK, QoS 2: PUBCOMP; QoS 0 results are
 * forgotten once written to the socket). When the connection drops, the
 * element reconnects after 100 ms, doubling the wait up to 10 s, and sends
 * every unacknowledged result again, in order. So at QoS 1 or 2 a broker
 * restart loses nothing while the queue has room. A result the broker
 * received just before the connection dropped may arrive twice: each
 * connection starts a clean session, so even QoS 2 cannot tell a re-send
 * from a new message. When the queue is full the oldest results are
 * dropped, with a warning (at most one a second, and one at EOS) whose
 * details field "dropped" counts them all.
 *
 * At start the element connects before it goes to PAUSED: a broker that
 * cannot be reached (or refuses the credentials) is an error, unless
 * connect-async is set; then it is a warning, results queue up and the
 * connection is retried in the background. A connection attempt gives up
 * after 5 s. At EOS the element waits up to flush-timeout-ms for the
 * queue to empty and warns with the number of results left.
 *
 * Setting tls-ca-file connects with TLS (ssl://) and checks the broker's
 * certificate and host name against that CA.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=reviews.txt ! sftextencoder model=./sst2 ! sfclassifier top-k=2 ! sfmqttsink host=broker.local topic=reviews/labels
 * ]| Publishes the two most likely labels of each line of reviews.txt.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "gstsfmqttsink-private.h"

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE (
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

GST_DEBUG_CATEGORY (gst_sf_mqtt_sink_debug);
#define GST_CAT_DEFAULT gst_sf_mqtt_sink_debug

#define DEFAULT_HOST "localhost"
#define DEFAULT_PORT 1883
#define DEFAULT_TOPIC NULL
#define DEFAULT_QOS 1
#define DEFAULT_CLIENT_ID NULL
#define DEFAULT_USERNAME NULL
#define DEFAULT_PASSWORD NULL
#define DEFAULT_TLS_CA_FILE NULL
#define DEFAULT_MAX_QUEUED 10000
#define DEFAULT_FLUSH_TIMEOUT_MS 5000
#define DEFAULT_CONNECT_ASYNC FALSE

enum
{
  PROP_0,
  PROP_HOST,
  PROP_PORT,
  PROP_TOPIC,
  PROP_QOS,
  PROP_CLIENT_ID,
  PROP_USERNAME,
  PROP_PASSWORD,
  PROP_TLS_CA_FILE,
  PROP_MAX_QUEUED,
  PROP_FLUSH_TIMEOUT_MS,
  PROP_CONNECT_ASYNC,
};

#define gst_sf_mqtt_sink_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE (GstSfMqttSink, gst_sf_mqtt_sink, GST_TYPE_BASE_SINK,
    GST_DEBUG_CATEGORY_INIT (
        gst_sf_mqtt_sink_debug, "sfmqttsink", 0, "Streamformer MQTT sink"));
GST_ELEMENT_REGISTER_DEFINE (
    sfmqttsink, "sfmqttsink", GST_RANK_NONE, GST_TYPE_SF_MQTT_SINK);

static void gst_sf_mqtt_sink_finalize (GObject *object);
static void gst_sf_mqtt_sink_set_property (
    GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec);
static void gst_sf_mqtt_sink_get_property (
    GObject *object, guint prop_id, GValue *value, GParamSpec *pspec);
static gboolean gst_sf_mqtt_sink_stop (GstBaseSink *sink);
static gboolean gst_sf_mqtt_sink_unlock (GstBaseSink *sink);
static gboolean gst_sf_mqtt_sink_unlock_stop (GstBaseSink *sink);
static gboolean gst_sf_mqtt_sink_set_caps (GstBaseSink *sink, GstCaps *caps);
static gboolean gst_sf_mqtt_sink_event (GstBaseSink *sink, GstEvent *event);
static GstFlowReturn gst_sf_mqtt_sink_render (
    GstBaseSink *sink, GstBuffer *buffer);

static void
gst_sf_mqtt_sink_class_init (GstSfMqttSinkClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSinkClass *sink_class = GST_BASE_SINK_CLASS (klass);
  const GParamFlags flags =
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY;

  gobject_class->finalize = gst_sf_mqtt_sink_finalize;
  gobject_class->set_property = gst_sf_mqtt_sink_set_property;
  gobject_class->get_property = gst_sf_mqtt_sink_get_property;

  g_object_class_install_property (gobject_class, PROP_HOST,
      g_param_spec_string ("host", "Host", "Host name or address of the broker",
          DEFAULT_HOST, flags));
  g_object_class_install_property (gobject_class, PROP_PORT,
      g_param_spec_int ("port", "Port", "TCP port of the broker", 1, 65535,
          DEFAULT_PORT, flags));
  g_object_class_install_property (gobject_class, PROP_TOPIC,
      g_param_spec_string ("topic", "Topic",
          "Topic to publish on (NULL = \"streamformer/<element name>\")",
          DEFAULT_TOPIC, flags));
  /* Replaces GstBaseSink's boolean "qos" (QoS events upstream), which means
   * nothing for a sink that does not sync to the clock. */
  g_object_class_install_property (gobject_class, PROP_QOS,
      g_param_spec_int ("qos", "MQTT QoS",
          "MQTT quality of service of each message: 0 (at most once), 1 (at "
          "least once) or 2 (exactly once); checked at start",
          G_MININT, G_MAXINT, DEFAULT_QOS, flags));
  g_object_class_install_property (gobject_class, PROP_CLIENT_ID,
      g_param_spec_string ("client-id", "Client id",
          "MQTT client identifier (NULL = \"streamformer-<element name>-<pid>-"
          "<random>\")",
          DEFAULT_CLIENT_ID, flags));
  g_object_class_install_property (gobject_class, PROP_USERNAME,
      g_param_spec_string ("username", "User name",
          "User name to connect with (NULL = none)", DEFAULT_USERNAME, flags));
  g_object_class_install_property (gobject_class, PROP_PASSWORD,
      g_param_spec_string ("password", "Password",
          "Password to connect with (NULL = none); write-only",
          DEFAULT_PASSWORD,
          G_PARAM_WRITABLE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_TLS_CA_FILE,
      g_param_spec_string ("tls-ca-file", "TLS CA file",
          "PEM file of the certificate authorities that sign the broker's "
          "certificate; setting it connects with TLS (ssl://) (NULL = plain "
          "TCP)",
          DEFAULT_TLS_CA_FILE, flags));
  g_object_class_install_property (gobject_class, PROP_MAX_QUEUED,
      g_param_spec_uint ("max-queued", "Max queued",
          "Results kept until the broker acknowledges them (while "
          "disconnected, too); when full the oldest are dropped with a "
          "warning",
          1, G_MAXUINT, DEFAULT_MAX_QUEUED, flags));
  g_object_class_install_property (gobject_class, PROP_FLUSH_TIMEOUT_MS,
      g_param_spec_uint ("flush-timeout-ms", "Flush timeout",
          "How long EOS waits for the broker to acknowledge the queued "
          "results before it warns how many are left and finishes, in ms",
          0, G_MAXUINT, DEFAULT_FLUSH_TIMEOUT_MS, flags));
  g_object_class_install_property (gobject_class, PROP_CONNECT_ASYNC,
      g_param_spec_boolean ("connect-async", "Connect asynchronously",
          "FALSE: a broker that cannot be reached at start is an error. "
          "TRUE: it is a warning; results are queued and the connection is "
          "retried in the background",
          DEFAULT_CONNECT_ASYNC, flags));

  gst_element_class_set_static_metadata (element_class,
      "Streamformer MQTT sink", "Sink/Network",
      "Publishes each result (labels and scores), tensor or text as one JSON "
      "object per MQTT message, queued until the broker acknowledges it",
      "Streamformer contributors");
  gst_sf_element_class_set_example (element_class,
      "gst-launch-1.0 filesrc location=messages.txt ! sftextencoder "
      "model=distilbert/distilbert-base-uncased-finetuned-sst-2-english ! "
      "sfclassifier top-k=2 ! sfmqttsink host=broker.local "
      "topic=reviews/labels qos=1");
  gst_element_class_add_static_pad_template (element_class, &sink_template);

  sink_class->start = GST_DEBUG_FUNCPTR (gst_sf_mqtt_sink_start);
  sink_class->stop = GST_DEBUG_FUNCPTR (gst_sf_mqtt_sink_stop);
  sink_class->unlock = GST_DEBUG_FUNCPTR (gst_sf_mqtt_sink_unlock);
  sink_class->unlock_stop = GST_DEBUG_FUNCPTR (gst_sf_mqtt_sink_unlock_stop);
  sink_class->set_caps = GST_DEBUG_FUNCPTR (gst_sf_mqtt_sink_set_caps);
  sink_class->event = GST_DEBUG_FUNCPTR (gst_sf_mqtt_sink_event);
  sink_class->render = GST_DEBUG_FUNCPTR (gst_sf_mqtt_sink_render);
}

static void
gst_sf_mqtt_sink_init (GstSfMqttSink *self)
{
  self->host = g_strdup (DEFAULT_HOST);
  self->port = DEFAULT_PORT;
  self->topic = g_strdup (DEFAULT_TOPIC);
  self->qos = DEFAULT_QOS;
  self->client_id = g_strdup (DEFAULT_CLIENT_ID);
  self->username = g_strdup (DEFAULT_USERNAME);
  self->password = g_strdup (DEFAULT_PASSWORD);
  self->tls_ca_file = g_strdup (DEFAULT_TLS_CA_FILE);
  self->max_queued = DEFAULT_MAX_QUEUED;
  self->flush_timeout_ms = DEFAULT_FLUSH_TIMEOUT_MS;
  self->connect_async = DEFAULT_CONNECT_ASYNC;
  /* A network writer: results are published as fast as they come. */
  gst_base_sink_set_sync (GST_BASE_SINK (self), FALSE);
}

static void
gst_sf_mqtt_sink_finalize (GObject *object)
{
  GstSfMqttSink *self = GST_SF_MQTT_SINK (object);

  g_free (self->host);
  g_free (self->topic);
  g_free (self->client_id);
  g_free (self->username);
  g_free (self->password);
  g_free (self->tls_ca_file);
  gst_sf_mqtt_sink_clear_settings (self);

  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_sf_mqtt_sink_set_property (
    GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GstSfMqttSink *self = GST_SF_MQTT_SINK (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_HOST:
      g_free (self->host);
      self->host = g_value_dup_string (value);
      break;
    case PROP_PORT: self->port = g_value_get_int (value); break;
    case PROP_TOPIC:
      g_free (self->topic);
      self->topic = g_value_dup_string (value);
      break;
    case PROP_QOS: self->qos = g_value_get_int (value); break;
    case PROP_CLIENT_ID:
      g_free (self->client_id);
      self->client_id = g_value_dup_string (value);
      break;
    case PROP_USERNAME:
      g_free (self->username);
      self->username = g_value_dup_string (value);
      break;
    case PROP_PASSWORD:
      g_free (self->password);
      self->password = g_value_dup_string (value);
      break;
    case PROP_TLS_CA_FILE:
      g_free (self->tls_ca_file);
      self->tls_ca_file = g_value_dup_string (value);
      break;
    case PROP_MAX_QUEUED: self->max_queued = g_value_get_uint (value); break;
    case PROP_FLUSH_TIMEOUT_MS:
      self->flush_timeout_ms = g_value_get_uint (value);
      break;
    case PROP_CONNECT_ASYNC:
      self->connect_async = g_value_get_boolean (value);
      break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec); break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_sf_mqtt_sink_get_property (
    GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GstSfMqttSink *self = GST_SF_MQTT_SINK (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_HOST: g_value_set_string (value, self->host); break;
    case PROP_PORT: g_value_set_int (value, self->port); break;
    case PROP_TOPIC: g_value_set_string (value, self->topic); break;
    case PROP_QOS: g_value_set_int (value, self->qos); break;
    case PROP_CLIENT_ID: g_value_set_string (value, self->client_id); break;
    case PROP_USERNAME: g_value_set_string (value, self->username); break;
    case PROP_TLS_CA_FILE: g_value_set_string (value, self->tls_ca_file); break;
    case PROP_MAX_QUEUED: g_value_set_uint (value, self->max_queued); break;
    case PROP_FLUSH_TIMEOUT_MS:
      g_value_set_uint (value, self->flush_timeout_ms);
      break;
    case PROP_CONNECT_ASYNC:
      g_value_set_boolean (value, self->connect_async);
      break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec); break;
  }
  GST_OBJECT_UNLOCK (self);
}

static gboolean
gst_sf_mqtt_sink_stop (GstBaseSink *sink)
{
  GstSfMqttSink *self = GST_SF_MQTT_SINK (sink);

  if (self->client != NULL) {
    guint left =
        gst_sf_mqtt_queue_length (gst_sf_mqtt_client_queue (self->client));

    if (left > 0)
      GST_INFO_OBJECT (self, "%u unacknowledged results discarded", left);
  }
  g_clear_pointer (&self->client, gst_sf_mqtt_client_free);
  gst_sf_mqtt_sink_clear_settings (self);
  return TRUE;
}

static gboolean
gst_sf_mqtt_sink_unlock (GstBaseSink *sink)
{
  GstSfMqttSink *self = GST_SF_MQTT_SINK (sink);

  if (self->client != NULL)
    gst_sf_mqtt_queue_set_flushing (
        gst_sf_mqtt_client_queue (self->client), TRUE);
  return TRUE;
}

static gboolean
gst_sf_mqtt_sink_unlock_stop (GstBaseSink *sink)
{
  GstSfMqttSink *self = GST_SF_MQTT_SINK (sink);

  if (self->client != NULL)
    gst_sf_mqtt_queue_set_flushing (
        gst_sf_mqtt_client_queue (self->client), FALSE);
  return TRUE;
}

static gboolean
gst_sf_mqtt_sink_set_caps (GstBaseSink *sink, GstCaps *caps)
{
  GstSfMqttSink *self = GST_SF_MQTT_SINK (sink);

  gst_sf_json_format_set_caps (&self->format, caps);
  GST_DEBUG_OBJECT (
      self, "mode %d for caps %" GST_PTR_FORMAT, self->format.mode, caps);
  return TRUE;
}

/* Warns about the results dropped since the last warning: at once for the
 * first, then at most once a second, and always when @final. */
static void
report_dropped (GstSfMqttSink *self, gboolean final)
{
  gint64 now = g_get_monotonic_time ();
  guint64 n = self->dropped - self->dropped_reported;

  if (n == 0)
    return;
  if (!final && self->dropped_reported > 0
      && now - self->last_drop_warning < G_USEC_PER_SEC)
    return;
  GST_ELEMENT_WARNING_WITH_DETAILS (self, RESOURCE, WRITE,
      ("Dropped the %" G_GUINT64_FORMAT " oldest results (%" G_GUINT64_FORMAT
       " in all): the queue is full (max-queued) while the MQTT broker at "
       "%s is away or slow.",
          n, self->dropped, self->uri),
      (NULL), ("dropped", G_TYPE_UINT64, self->dropped, NULL));
  self->dropped_reported = self->dropped;
  self->last_drop_warning = now;
}

static gboolean
gst_sf_mqtt_sink_event (GstBaseSink *sink, GstEvent *event)
{
  GstSfMqttSink *self = GST_SF_MQTT_SINK (sink);

  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS && self->client != NULL) {
    gint64 end_time = g_get_monotonic_time ()
        + (gint64)self->cur_flush_timeout_ms * G_TIME_SPAN_MILLISECOND;
    guint left = gst_sf_mqtt_queue_wait_empty (
        gst_sf_mqtt_client_queue (self->client), end_time);

    report_dropped (self, TRUE);
    if (left > 0)
      GST_ELEMENT_WARNING_WITH_DETAILS (self, RESOURCE, WRITE,
          ("%u results were not acknowledged by the MQTT broker at %s within "
           "flush-timeout-ms (%u ms).",
              left, self->uri, self->cur_flush_timeout_ms),
          (NULL), ("unacknowledged", G_TYPE_UINT, left, NULL));
  }
  return GST_BASE_SINK_CLASS (parent_class)->event (sink, event);
}

static GstFlowReturn
gst_sf_mqtt_sink_render (GstBaseSink *sink, GstBuffer *buffer)
{
  GstSfMqttSink *self = GST_SF_MQTT_SINK (sink);
  GError *error = NULL;
  gchar *payload;
  gsize len;

  payload = gst_sf_json_format_buffer (&self->format, buffer, &error);
  if (payload == NULL)
    goto bad_buffer;
  len = strlen (payload);
  self->dropped += gst_sf_mqtt_client_publish (self->client, payload, len);
  report_dropped (self, FALSE);
  return GST_FLOW_OK;

bad_buffer : {
  GST_ELEMENT_ERROR (self, STREAM, FORMAT, (NULL), ("%s", error->message));
  g_error_free (error);
  return GST_FLOW_ERROR;
}
}
