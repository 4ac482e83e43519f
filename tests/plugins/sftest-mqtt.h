/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A private mosquitto broker on a free local port, and a Paho subscriber
 * that records every message, for the sfmqttsink tests. */
#pragma once

#include <MQTTAsync.h>
#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  gchar *dir;  /* config, persistence and log */
  gchar *conf; /* mosquitto.conf */
  gint port;
  gint tls_port; /* a TLS listener too, or 0 */
  GPid pid;      /* 0 while stopped */
} SfTestBroker;

/* Starts mosquitto (@mosquitto is its path) on @port (0: a free one),
 * with its files in a new temporary folder, and waits until it listens.
 * The broker dies with the test process, even when an assertion aborts
 * it. */
SfTestBroker *sftest_broker_new (const gchar *mosquitto, gint port);
/* The same, plus a TLS listener on tls_port whose certificate (for
 * localhost and 127.0.0.1) is signed by the CA in ca.pem in its folder;
 * other.pem there is a CA that signed nothing. Needs openssl. */
SfTestBroker *sftest_broker_new_tls (const gchar *mosquitto);
/* Starts it again on the same port (after sftest_broker_kill()). */
void sftest_broker_start (SfTestBroker *broker, const gchar *mosquitto);
/* SIGSTOP: connections stay open, nothing is read or acknowledged. */
void sftest_broker_freeze (SfTestBroker *broker);
/* SIGKILL, and reaps it. */
void sftest_broker_kill (SfTestBroker *broker);
/* Kills it if running and removes its folder. */
void sftest_broker_free (SfTestBroker *broker);
/* A free TCP port on 127.0.0.1 (nothing listens there). */
gint sftest_free_port (void);

typedef struct
{
  MQTTAsync client;
  GMutex lock;
  GCond cond;
  GPtrArray *messages; /* of gchar *, in arrival order */
  gboolean subscribed;
} SfTestSubscriber;

/* Subscribes to @topic at QoS 2 with a persistent session, and
 * reconnects by itself after a broker restart. */
SfTestSubscriber *sftest_subscriber_new (gint port, const gchar *topic);
/* Waits until @n messages arrived or @timeout_s passed; returns how many
 * arrived. */
guint sftest_subscriber_wait (SfTestSubscriber *sub, guint n, gint timeout_s);
/* Returns once @broker has saved the subscriber's session to disk, so
 * that it survives sftest_broker_kill(). */
void sftest_subscriber_wait_saved (SfTestSubscriber *sub, SfTestBroker *broker);
void sftest_subscriber_free (SfTestSubscriber *sub);

G_END_DECLS
