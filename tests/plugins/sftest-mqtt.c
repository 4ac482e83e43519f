/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A private mosquitto broker and a Paho subscriber for the sfmqttsink
 * tests. The broker keeps its sessions on disk (in its temporary folder),
 * so the subscriber's subscription survives a broker restart and no
 * message is lost while the subscriber itself reconnects: the tests then
 * measure the sink alone. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string.h>

#include <glib/gstdio.h>

#include "sftest-mqtt.h"

gint
sftest_free_port (void)
{
  struct sockaddr_in addr = { 0 };
  socklen_t len = sizeof (addr);
  int fd = socket (AF_INET, SOCK_STREAM, 0);

  g_assert_cmpint (fd, >=, 0);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  g_assert_cmpint (bind (fd, (struct sockaddr *)&addr, sizeof (addr)), ==, 0);
  g_assert_cmpint (getsockname (fd, (struct sockaddr *)&addr, &len), ==, 0);
  close (fd);
  return ntohs (addr.sin_port);
}

static gboolean
port_listens (gint port)
{
  struct sockaddr_in addr = { 0 };
  int fd = socket (AF_INET, SOCK_STREAM, 0);
  gboolean ok;

  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  addr.sin_port = htons (port);
  ok = connect (fd, (struct sockaddr *)&addr, sizeof (addr)) == 0;
  close (fd);
  return ok;
}

static void
die_with_parent (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

void
sftest_broker_start (SfTestBroker *broker, const gchar *mosquitto)
{
  gchar *argv[] = { (gchar *)mosquitto, "-c", broker->conf, NULL };
  GError *error = NULL;
  gint i;

  g_assert_cmpint (broker->pid, ==, 0);
  g_spawn_async (broker->dir, argv, NULL,
      G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL
          | G_SPAWN_STDERR_TO_DEV_NULL,
      die_with_parent, NULL, &broker->pid, &error);
  g_assert_no_error (error);
  for (i = 0; i < 500 && !port_listens (broker->port); i++)
    g_usleep (10000);
  if (!port_listens (broker->port))
    g_error ("mosquitto did not listen on port %d (log in %s)", broker->port,
        broker->dir);
}

/* Runs openssl @args in @dir; fails the test when it fails. */
static void
run_openssl (const gchar *dir, const gchar *args)
{
  gchar *openssl = g_find_program_in_path ("openssl");
  gchar *cmd, **argv = NULL;
  GError *error = NULL;
  gint status;

  if (openssl == NULL)
    g_error ("openssl not found: install the openssl package");
  cmd = g_strdup_printf ("%s %s", openssl, args);
  g_shell_parse_argv (cmd, NULL, &argv, &error);
  g_assert_no_error (error);
  g_spawn_sync (dir, argv, NULL,
      G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, NULL,
      NULL, &status, &error);
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("openssl %s failed", args);
  g_strfreev (argv);
  g_free (cmd);
  g_free (openssl);
}

/* A CA, a server certificate it signs, and a CA that signed nothing. */
static void
make_certificates (const gchar *dir)
{
  gchar *ext = g_build_filename (dir, "server.ext", NULL);
  GError *error = NULL;

  run_openssl (dir,
      "req -x509 -newkey rsa:2048 -nodes -keyout ca.key "
      "-out ca.pem -days 2 -subj /CN=sftest-ca");
  run_openssl (dir,
      "req -newkey rsa:2048 -nodes -keyout server.key "
      "-out server.csr -subj /CN=localhost");
  g_file_set_contents (
      ext, "subjectAltName=DNS:localhost,IP:127.0.0.1\n", -1, &error);
  g_assert_no_error (error);
  run_openssl (dir,
      "x509 -req -in server.csr -CA ca.pem -CAkey ca.key "
      "-CAcreateserial -out server.pem -days 2 "
      "-extfile server.ext");
  run_openssl (dir,
      "req -x509 -newkey rsa:2048 -nodes -keyout other.key "
      "-out other.pem -days 2 -subj /CN=sftest-other-ca");
  g_free (ext);
}

static SfTestBroker *
broker_new (const gchar *mosquitto, gint port, gboolean tls)
{
  SfTestBroker *broker = g_new0 (SfTestBroker, 1);
  GError *error = NULL;
  GString *config = g_string_new (NULL);

  if (mosquitto == NULL || !g_file_test (mosquitto, G_FILE_TEST_IS_EXECUTABLE))
    g_error ("mosquitto not found (\"%s\"): install the mosquitto package",
        mosquitto ? mosquitto : "");
  broker->dir = g_dir_make_tmp ("sfmqtt-XXXXXX", &error);
  g_assert_no_error (error);
  broker->conf = g_build_filename (broker->dir, "mosquitto.conf", NULL);
  broker->port = port > 0 ? port : sftest_free_port ();
  /* Sessions are saved after every change, so a killed broker comes back
   * with the subscriber's subscription. Run as root, mosquitto would
   * switch to its own user, which can neither write the folder nor keep
   * the signal that ties it to the test process. */
  g_string_append_printf (config,
      "user %s\n"
      "allow_anonymous true\n"
      "persistence true\n"
      "persistence_location %s/\n"
      "autosave_interval 1\n"
      "autosave_on_changes true\n"
      "log_dest file %s/mosquitto.log\n"
      "listener %d 127.0.0.1\n",
      g_get_user_name (), broker->dir, broker->dir, broker->port);
  if (tls) {
    make_certificates (broker->dir);
    broker->tls_port = sftest_free_port ();
    g_string_append_printf (config,
        "listener %d 127.0.0.1\n"
        "cafile %s/ca.pem\n"
        "certfile %s/server.pem\n"
        "keyfile %s/server.key\n",
        broker->tls_port, broker->dir, broker->dir, broker->dir);
  }
  g_file_set_contents (broker->conf, config->str, -1, &error);
  g_assert_no_error (error);
  g_string_free (config, TRUE);
  sftest_broker_start (broker, mosquitto);
  return broker;
}

SfTestBroker *
sftest_broker_new (const gchar *mosquitto, gint port)
{
  return broker_new (mosquitto, port, FALSE);
}

SfTestBroker *
sftest_broker_new_tls (const gchar *mosquitto)
{
  return broker_new (mosquitto, 0, TRUE);
}

void
sftest_broker_freeze (SfTestBroker *broker)
{
  g_assert_cmpint (broker->pid, !=, 0);
  kill (broker->pid, SIGSTOP);
}

void
sftest_broker_kill (SfTestBroker *broker)
{
  if (broker->pid == 0)
    return;
  kill (broker->pid, SIGKILL);
  waitpid (broker->pid, NULL, 0);
  g_spawn_close_pid (broker->pid);
  broker->pid = 0;
}

void
sftest_broker_free (SfTestBroker *broker)
{
  const gchar *name;
  GDir *dir;

  if (broker == NULL)
    return;
  sftest_broker_kill (broker);
  dir = g_dir_open (broker->dir, 0, NULL);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL) {
    gchar *path = g_build_filename (broker->dir, name, NULL);

    g_unlink (path);
    g_free (path);
  }
  if (dir != NULL)
    g_dir_close (dir);
  g_rmdir (broker->dir);
  g_free (broker->dir);
  g_free (broker->conf);
  g_free (broker);
}

static int
on_message (void *context, char *topic, int topic_len, MQTTAsync_message *msg)
{
  SfTestSubscriber *sub = context;

  g_mutex_lock (&sub->lock);
  g_ptr_array_add (
      sub->messages, g_strndup (msg->payload, (gsize)msg->payloadlen));
  g_cond_broadcast (&sub->cond);
  g_mutex_unlock (&sub->lock);
  MQTTAsync_freeMessage (&msg);
  MQTTAsync_free (topic);
  return 1;
}

static void
on_subscribed (void *context, MQTTAsync_successData *response)
{
  SfTestSubscriber *sub = context;

  g_mutex_lock (&sub->lock);
  sub->subscribed = TRUE;
  g_cond_broadcast (&sub->cond);
  g_mutex_unlock (&sub->lock);
}

SfTestSubscriber *
sftest_subscriber_new (gint port, const gchar *topic)
{
  SfTestSubscriber *sub = g_new0 (SfTestSubscriber, 1);
  MQTTAsync_connectOptions conn = MQTTAsync_connectOptions_initializer;
  MQTTAsync_responseOptions opts = MQTTAsync_responseOptions_initializer;
  gchar *uri = g_strdup_printf ("tcp://127.0.0.1:%d", port);
  gchar *id = g_strdup_printf ("sftest-sub-%d", (int)getpid ());
  gint64 end_time;
  gint i;

  g_mutex_init (&sub->lock);
  g_cond_init (&sub->cond);
  sub->messages = g_ptr_array_new_with_free_func (g_free);
  g_assert_cmpint (MQTTAsync_create (&sub->client, uri, id,
                       MQTTCLIENT_PERSISTENCE_NONE, NULL),
      ==, MQTTASYNC_SUCCESS);
  MQTTAsync_setCallbacks (sub->client, sub, NULL, on_message, NULL);
  conn.cleansession = 0;
  conn.automaticReconnect = 1;
  conn.minRetryInterval = 1;
  conn.maxRetryInterval = 1;
  g_assert_cmpint (MQTTAsync_connect (sub->client, &conn), ==, 0);
  /* Subscribing before the connection is up is refused: retry. */
  opts.onSuccess = on_subscribed;
  opts.context = sub;
  for (i = 0; i < 500; i++) {
    if (MQTTAsync_isConnected (sub->client)
        && MQTTAsync_subscribe (sub->client, topic, 2, &opts) == 0)
      break;
    g_usleep (10000);
  }
  end_time = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;
  g_mutex_lock (&sub->lock);
  while (!sub->subscribed)
    if (!g_cond_wait_until (&sub->cond, &sub->lock, end_time))
      break;
  g_assert_true (sub->subscribed);
  g_mutex_unlock (&sub->lock);
  g_free (uri);
  g_free (id);
  return sub;
}

guint
sftest_subscriber_wait (SfTestSubscriber *sub, guint n, gint timeout_s)
{
  gint64 end_time = g_get_monotonic_time () + timeout_s * G_TIME_SPAN_SECOND;
  guint got;

  g_mutex_lock (&sub->lock);
  while (sub->messages->len < n)
    if (!g_cond_wait_until (&sub->cond, &sub->lock, end_time))
      break;
  got = sub->messages->len;
  g_mutex_unlock (&sub->lock);
  return got;
}

/* How many times the broker's log says it saved its database. */
static guint
count_saves (SfTestBroker *broker)
{
  gchar *path = g_build_filename (broker->dir, "mosquitto.log", NULL);
  gchar *log = NULL;
  const gchar *p;
  guint n = 0;

  if (g_file_get_contents (path, &log, NULL, NULL))
    for (p = log; (p = strstr (p, "Saving in-memory database")) != NULL; p++)
      n++;
  g_free (log);
  g_free (path);
  return n;
}

void
sftest_subscriber_wait_saved (SfTestSubscriber *sub, SfTestBroker *broker)
{
  MQTTAsync_message msg = MQTTAsync_message_initializer;
  guint before = count_saves (broker);
  gchar *new_db;
  gint i;

  /* Any save from now on holds the subscription; a retained message is a
   * change that makes the broker save. */
  msg.payload = "1";
  msg.payloadlen = 1;
  msg.qos = 1;
  msg.retained = 1;
  g_assert_cmpint (
      MQTTAsync_sendMessage (sub->client, "sftest/saved", &msg, NULL), ==, 0);
  for (i = 0; i < 500 && count_saves (broker) <= before; i++)
    g_usleep (10000);
  g_assert_cmpuint (count_saves (broker), >, before);
  /* The log line comes first; the file is written to mosquitto.db.new and
   * renamed. */
  new_db = g_build_filename (broker->dir, "mosquitto.db.new", NULL);
  do
    g_usleep (100000);
  while (g_file_test (new_db, G_FILE_TEST_EXISTS) && ++i < 600);
  g_assert_false (g_file_test (new_db, G_FILE_TEST_EXISTS));
  g_free (new_db);
}

void
sftest_subscriber_free (SfTestSubscriber *sub)
{
  MQTTAsync_disconnectOptions opts = MQTTAsync_disconnectOptions_initializer;

  if (sub == NULL)
    return;
  opts.timeout = 0;
  MQTTAsync_disconnect (sub->client, &opts);
  MQTTAsync_destroy (&sub->client);
  g_ptr_array_unref (sub->messages);
  g_cond_clear (&sub->cond);
  g_mutex_clear (&sub->lock);
  g_free (sub);
}
