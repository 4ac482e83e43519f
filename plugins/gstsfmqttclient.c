/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sfmqttsink's connection to the broker (see gstsfmqttclient.h). */
#include "gstsfmqttclient.h"

#include <MQTTAsync.h>

GST_DEBUG_CATEGORY_STATIC (gst_sf_mqtt_client_debug);
#define GST_CAT_DEFAULT gst_sf_mqtt_client_debug

/* Reconnection back-off. */
#define RETRY_MIN_MS 100
#define RETRY_MAX_MS 10000
#define KEEP_ALIVE_S 10
/* Unacknowledged messages at once; the rest wait in the queue. */
#define MAX_IN_FLIGHT 64

/* What Paho's callbacks and publish() tell the connection thread, in one
 * GAsyncQueue so that their order holds: a kind, plus a message id. */
typedef enum
{
  EVENT_WAKE = 1,
  EVENT_ACK,
  EVENT_CONNECTED,
  EVENT_CONNECT_FAILED,
  EVENT_LOST,
  EVENT_STOP,
} EventKind;

#define EVENT_BITS 3
#define EVENT_NEW(kind, token)                                                 \
  GSIZE_TO_POINTER (((gsize)(guint)(token) << EVENT_BITS) | (kind))
#define EVENT_KIND(ev) ((EventKind)(GPOINTER_TO_SIZE (ev) & 7))
#define EVENT_TOKEN(ev) ((gint)(GPOINTER_TO_SIZE (ev) >> EVENT_BITS))

typedef enum
{
  CONNECT_TRYING,
  CONNECT_DONE,
  CONNECT_FAILED,
} ConnectState;

struct _GstSfMqttClient
{
  GstElement *owner; /* for logs and the connect-async warning */
  gchar *uri, *topic, *username, *password, *ca_file;
  gint qos;
  gboolean connect_async;

  MQTTAsync client;
  GstSfMqttQueue *queue;
  GAsyncQueue *events;
  GThread *thread;
  gboolean send_refused; /* connection thread only */

  /* the first connection's outcome, under lock */
  GMutex lock;
  GCond cond;
  ConnectState connect_state;
  gint connect_code;
  gchar *connect_error;
};

/* Paho's callbacks run on its own threads: they only queue an event. */

static void
on_connected (void *context, MQTTAsync_successData *response)
{
  GstSfMqttClient *self = context;

  g_async_queue_push (self->events, EVENT_NEW (EVENT_CONNECTED, 0));
}

static void
on_connect_failed (void *context, MQTTAsync_failureData *response)
{
  GstSfMqttClient *self = context;

  g_mutex_lock (&self->lock);
  g_free (self->connect_error);
  self->connect_code = response ? response->code : MQTTASYNC_FAILURE;
  self->connect_error = g_strdup_printf ("code %d: %s", self->connect_code,
      response && response->message ? response->message
                                    : MQTTAsync_strerror (self->connect_code));
  g_mutex_unlock (&self->lock);
  g_async_queue_push (self->events, EVENT_NEW (EVENT_CONNECT_FAILED, 0));
}

static void
on_connection_lost (void *context, char *cause)
{
  GstSfMqttClient *self = context;

  g_async_queue_push (self->events, EVENT_NEW (EVENT_LOST, 0));
}

static int
on_message_arrived (
    void *context, char *topic, int topic_len, MQTTAsync_message *message)
{
  /* The sink subscribes to nothing. */
  MQTTAsync_freeMessage (&message);
  MQTTAsync_free (topic);
  return 1;
}

static void
on_delivery_complete (void *context, MQTTAsync_token token)
{
  GstSfMqttClient *self = context;

  g_async_queue_push (self->events, EVENT_NEW (EVENT_ACK, token));
}

/* The connection thread: connects, reconnects with back-off, sends the
 * queue in order and forgets what the broker acknowledges. It alone calls
 * the client between start() and stop(). */

static gboolean
start_connect (GstSfMqttClient *self)
{
  MQTTAsync_connectOptions opts = MQTTAsync_connectOptions_initializer;
  MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;
  int rc;

  /* Without a version Paho retries with MQTT 3.1 after a failure, and
   * reports that failure twice. */
  opts.MQTTVersion = MQTTVERSION_3_1_1;
  opts.keepAliveInterval = KEEP_ALIVE_S;
  opts.cleansession = 1;
  opts.connectTimeout = GST_SF_MQTT_CONNECT_TIMEOUT_S;
  opts.username = self->username;
  opts.password = self->password;
  opts.onSuccess = on_connected;
  opts.onFailure = on_connect_failed;
  opts.context = self;
  if (self->ca_file != NULL) {
    ssl.trustStore = self->ca_file;
    ssl.enableServerCertAuth = 1;
    ssl.verify = 1;
    opts.ssl = &ssl;
  }
  rc = MQTTAsync_connect (self->client, &opts);
  if (rc != MQTTASYNC_SUCCESS) {
    g_mutex_lock (&self->lock);
    g_free (self->connect_error);
    self->connect_code = rc;
    self->connect_error =
        g_strdup_printf ("code %d: %s", rc, MQTTAsync_strerror (rc));
    g_mutex_unlock (&self->lock);
    return FALSE;
  }
  return TRUE;
}

/* QoS 0: the oldest message sent was written to the socket (or failed,
 * which at most once allows). They complete in sending order. */
static void
on_written (void *context, MQTTAsync_successData *response)
{
  GstSfMqttClient *self = context;

  g_async_queue_push (self->events, EVENT_NEW (EVENT_ACK, 0));
}

static void
on_write_failed (void *context, MQTTAsync_failureData *response)
{
  GstSfMqttClient *self = context;

  g_async_queue_push (self->events, EVENT_NEW (EVENT_ACK, 0));
}

static gboolean
send_one (const gchar *payload, gsize len, gint *token, gpointer user_data)
{
  GstSfMqttClient *self = user_data;
  MQTTAsync_message msg = MQTTAsync_message_initializer;
  MQTTAsync_responseOptions opts = MQTTAsync_responseOptions_initializer;
  int rc;

  msg.payload = (void *)payload;
  msg.payloadlen = (int)len;
  msg.qos = self->qos;
  if (self->qos == 0) {
    opts.onSuccess = on_written;
    opts.onFailure = on_write_failed;
    opts.context = self;
  }
  rc = MQTTAsync_sendMessage (self->client, self->topic, &msg, &opts);
  self->send_refused = rc != MQTTASYNC_SUCCESS;
  if (rc != MQTTASYNC_SUCCESS) {
    GST_DEBUG_OBJECT (self->owner, "send refused: %s", MQTTAsync_strerror (rc));
    return FALSE;
  }
  *token = self->qos > 0 ? opts.token : 0;
  return TRUE;
}

static void
set_connect_state (GstSfMqttClient *self, ConnectState state)
{
  g_mutex_lock (&self->lock);
  if (self->connect_state == CONNECT_TRYING) {
    self->connect_state = state;
    g_cond_broadcast (&self->cond);
  }
  g_mutex_unlock (&self->lock);
}

static void
warn_unreachable (GstSfMqttClient *self)
{
  gchar *reason;

  g_mutex_lock (&self->lock);
  reason = g_strdup (self->connect_error);
  g_mutex_unlock (&self->lock);
  GST_ELEMENT_WARNING (self->owner, RESOURCE, OPEN_WRITE,
      ("Could not connect to the MQTT broker at %s (properties host and "
       "port); results are queued and the connection is retried in the "
       "background (connect-async).",
          self->uri),
      ("%s", reason));
  g_free (reason);
}

static gpointer
connection_thread (gpointer data)
{
  GstSfMqttClient *self = data;
  gboolean connected = FALSE, connecting = FALSE, warned = FALSE;
  gint64 retry_ms = RETRY_MIN_MS, next_attempt = 0, wait_us;
  gpointer event;

  for (;;) {
    gint64 now = g_get_monotonic_time ();

    if (!connected && !connecting && now >= next_attempt) {
      GST_DEBUG_OBJECT (self->owner, "connecting to %s", self->uri);
      connecting = TRUE;
      if (!start_connect (self))
        g_async_queue_push (self->events, EVENT_NEW (EVENT_CONNECT_FAILED, 0));
    }
    if (connected
        && gst_sf_mqtt_queue_send_next (
            self->queue, MAX_IN_FLIGHT, send_one, self)) {
      /* Take the next one, unless an event waits. */
      event = g_async_queue_try_pop (self->events);
      if (event == NULL)
        continue;
    } else {
      if (connected && self->send_refused)
        /* Refused (too many in flight, or the socket just closed). */
        wait_us = RETRY_MIN_MS * G_TIME_SPAN_MILLISECOND;
      else if (connected || connecting)
        /* An event comes: a new result, an ack, the connection's fate. */
        wait_us = G_MAXINT64;
      else
        wait_us = MAX (next_attempt - now, 0);
      event = wait_us == G_MAXINT64
          ? g_async_queue_pop (self->events)
          : g_async_queue_timeout_pop (self->events, wait_us);
      if (event == NULL)
        continue;
    }

    switch (EVENT_KIND (event)) {
      case EVENT_STOP: return NULL;
      case EVENT_WAKE: break;
      case EVENT_ACK:
        gst_sf_mqtt_queue_ack (self->queue, EVENT_TOKEN (event));
        break;
      case EVENT_CONNECTED:
        if (!connecting)
          break;
        GST_INFO_OBJECT (self->owner, "connected to %s", self->uri);
        connected = TRUE;
        connecting = FALSE;
        self->send_refused = FALSE;
        retry_ms = RETRY_MIN_MS;
        set_connect_state (self, CONNECT_DONE);
        break;
      case EVENT_CONNECT_FAILED:
        if (!connecting)
          break;
        connecting = FALSE;
        next_attempt = g_get_monotonic_time () + retry_ms * 1000;
        GST_DEBUG_OBJECT (self->owner,
            "connection failed, retrying in %" G_GINT64_FORMAT " ms", retry_ms);
        retry_ms = MIN (retry_ms * 2, RETRY_MAX_MS);
        set_connect_state (self, CONNECT_FAILED);
        if (self->connect_async && !warned) {
          warn_unreachable (self);
          warned = TRUE;
        }
        break;
      case EVENT_LOST:
        if (connected) {
          guint n = gst_sf_mqtt_queue_requeue (self->queue);

          GST_WARNING_OBJECT (self->owner,
              "connection to %s lost; %u unacknowledged results will be "
              "sent again",
              self->uri, n);
          connected = FALSE;
          next_attempt = g_get_monotonic_time () + retry_ms * 1000;
          retry_ms = MIN (retry_ms * 2, RETRY_MAX_MS);
        }
        break;
    }
  }
}

GstSfMqttClient *
gst_sf_mqtt_client_new (
    GstElement *owner, const GstSfMqttClientSettings *settings, gchar **reason)
{
  MQTTAsync_createOptions create = MQTTAsync_createOptions_initializer;
  GstSfMqttClient *self;
  int rc;

  GST_DEBUG_CATEGORY_INIT (gst_sf_mqtt_client_debug, "sfmqttclient", 0,
      "Streamformer MQTT connection");
  self = g_new0 (GstSfMqttClient, 1);
  self->owner = owner;
  self->uri = g_strdup (settings->uri);
  self->topic = g_strdup (settings->topic);
  self->username = g_strdup (settings->username);
  self->password = g_strdup (settings->password);
  self->ca_file = g_strdup (settings->ca_file);
  self->qos = settings->qos;
  self->connect_async = settings->connect_async;
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  self->connect_state = CONNECT_TRYING;

  /* No persistence: the queue keeps what is unacknowledged. */
  create.MQTTVersion = MQTTVERSION_3_1_1;
  rc = MQTTAsync_createWithOptions (&self->client, self->uri,
      settings->client_id, MQTTCLIENT_PERSISTENCE_NONE, NULL, &create);
  if (rc != MQTTASYNC_SUCCESS) {
    *reason = g_strdup_printf ("MQTTAsync_create: %s", MQTTAsync_strerror (rc));
    self->client = NULL;
    gst_sf_mqtt_client_free (self);
    return NULL;
  }
  MQTTAsync_setCallbacks (self->client, self, on_connection_lost,
      on_message_arrived, on_delivery_complete);
  self->queue = gst_sf_mqtt_queue_new (settings->max_queued);
  self->events = g_async_queue_new ();
  self->thread = g_thread_new ("sfmqttsink", connection_thread, self);
  return self;
}

void
gst_sf_mqtt_client_free (GstSfMqttClient *self)
{
  if (self == NULL)
    return;
  if (self->thread != NULL) {
    g_async_queue_push (self->events, EVENT_NEW (EVENT_STOP, 0));
    g_thread_join (self->thread);
  }
  if (self->client != NULL) {
    MQTTAsync_disconnectOptions opts = MQTTAsync_disconnectOptions_initializer;

    opts.timeout = 0;
    MQTTAsync_disconnect (self->client, &opts);
    /* No callback runs once it returns. */
    MQTTAsync_destroy (&self->client);
  }
  g_clear_pointer (&self->events, g_async_queue_unref);
  g_clear_pointer (&self->queue, gst_sf_mqtt_queue_free);
  g_free (self->uri);
  g_free (self->topic);
  g_free (self->username);
  g_free (self->password);
  g_free (self->ca_file);
  g_free (self->connect_error);
  g_cond_clear (&self->cond);
  g_mutex_clear (&self->lock);
  g_free (self);
}

gboolean
gst_sf_mqtt_client_wait_connected (
    GstSfMqttClient *self, gboolean *refused, gchar **reason)
{
  /* Paho gives up after GST_SF_MQTT_CONNECT_TIMEOUT_S. */
  gint64 end_time = g_get_monotonic_time ()
      + (GST_SF_MQTT_CONNECT_TIMEOUT_S + 5) * G_TIME_SPAN_SECOND;
  gboolean done;

  g_mutex_lock (&self->lock);
  while (self->connect_state == CONNECT_TRYING)
    if (!g_cond_wait_until (&self->cond, &self->lock, end_time))
      break;
  done = self->connect_state == CONNECT_DONE;
  if (!done) {
    /* CONNACK return codes 4 and 5: bad user name or password, refused. */
    *refused = self->connect_code == 4 || self->connect_code == 5;
    *reason =
        g_strdup (self->connect_error ? self->connect_error : "timed out");
  }
  g_mutex_unlock (&self->lock);
  return done;
}

guint
gst_sf_mqtt_client_publish (GstSfMqttClient *self, gchar *payload, gsize len)
{
  guint dropped = gst_sf_mqtt_queue_push (self->queue, payload, len);

  g_async_queue_push (self->events, EVENT_NEW (EVENT_WAKE, 0));
  return dropped;
}

GstSfMqttQueue *
gst_sf_mqtt_client_queue (GstSfMqttClient *self)
{
  return self->queue;
}
