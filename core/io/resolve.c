/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: what a `model=` value names (see resolve.h).
 *
 * The lookup never fails half-way: each place that does not hold the model
 * adds a line to the error, so an unresolvable name gets one message that
 * shows every place looked in. A cache entry that exists but is broken (a
 * ref naming a missing snapshot) wins over "not found", since that is what
 * the user has to fix. Files read here are bounded before reading.
 */
#include "core/io/resolve.h"
#include "core/error.h"

#include <glib/gstdio.h>
#include <string.h>

#define REVISION_DEFAULT "main"
#define ID_PART_MAX 96   /* the Hub's limit on an org or repo name */
#define REF_FILE_MAX 256 /* a ref holds one commit hash */
#define FETCH_SCRIPT "./samples/fetch-model.sh"

typedef struct
{
  char *org; /* NULL for a bare name */
  char *name;
  char *revision;
} HubId;

static void
hub_id_clear (HubId *id)
{
  g_free (id->org);
  g_free (id->name);
  g_free (id->revision);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (HubId, hub_id_clear)

/* An org or repo name as the Hub allows them: letters, digits, `-_.`, not
 * starting or ending with `-` or `.`, and no `--` or `..`. */
static gboolean
id_part_valid (const char *s, gsize len)
{
  if (len == 0 || len > ID_PART_MAX || s[0] == '-' || s[0] == '.'
      || s[len - 1] == '-' || s[len - 1] == '.')
    return FALSE;
  for (gsize i = 0; i < len; i++) {
    if (!g_ascii_isalnum (s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
      return FALSE;
    if (i > 0 && (s[i] == '-' || s[i] == '.') && s[i - 1] == s[i])
      return FALSE;
  }
  return TRUE;
}

/* A branch, tag or commit: no empty path segment and no `..`. */
static gboolean
revision_valid (const char *rev)
{
  if (*rev == '\0' || strlen (rev) > 255 || rev[0] == '/' || strstr (rev, "..")
      || strstr (rev, "//") || g_str_has_suffix (rev, "/"))
    return FALSE;
  for (const char *p = rev; *p; p++)
    if (!g_ascii_isalnum (*p) && !strchr ("-_./", *p))
      return FALSE;
  return TRUE;
}

static gboolean
is_commit_hash (const char *s)
{
  gsize n = strlen (s);
  if (n != 40)
    return FALSE;
  for (gsize i = 0; i < n; i++)
    if (!g_ascii_isxdigit (s[i]))
      return FALSE;
  return TRUE;
}

/* `org/name[@rev]` or `name[@rev]`; FALSE when @model is no Hub id. */
static gboolean
hub_id_parse (const char *model, HubId *id)
{
  const char *at = strrchr (model, '@');
  g_autofree char *repo =
      at ? g_strndup (model, (gsize)(at - model)) : g_strdup (model);
  const char *slash = strchr (repo, '/');

  memset (id, 0, sizeof *id);
  if (at != NULL && !revision_valid (at + 1))
    return FALSE;
  if (slash != NULL) {
    if (!id_part_valid (repo, (gsize)(slash - repo))
        || !id_part_valid (slash + 1, strlen (slash + 1)))
      return FALSE;
    id->org = g_strndup (repo, (gsize)(slash - repo));
    id->name = g_strdup (slash + 1);
  } else {
    if (!id_part_valid (repo, strlen (repo)))
      return FALSE;
    id->name = g_strdup (repo);
  }
  id->revision = g_strdup (at ? at + 1 : REVISION_DEFAULT);
  return TRUE;
}

static char *
expand_home (const char *path, const char *home)
{
  if (g_str_equal (path, "~"))
    return g_strdup (home);
  if (g_str_has_prefix (path, "~/"))
    return g_build_filename (home, path + 2, NULL);
  return g_strdup (path);
}

static void
add_root (GPtrArray *roots, char *path)
{
  for (guint i = 0; i < roots->len; i++)
    if (g_str_equal (roots->pdata[i], path)) {
      g_free (path);
      return;
    }
  g_ptr_array_add (roots, path);
}

GPtrArray *
sf_hub_cache_roots (void)
{
  GPtrArray *roots = g_ptr_array_new_with_free_func (g_free);
  /* $HOME first: g_get_home_dir() caches its first answer */
  const char *home = g_getenv ("HOME");
  const char *v;

  if (home == NULL || *home == '\0')
    home = g_get_home_dir ();
  if ((v = g_getenv ("HF_HUB_CACHE")) != NULL && *v)
    add_root (roots, expand_home (v, home));
  if ((v = g_getenv ("HUGGINGFACE_HUB_CACHE")) != NULL && *v) /* legacy */
    add_root (roots, expand_home (v, home));
  if ((v = g_getenv ("HF_HOME")) != NULL && *v) {
    g_autofree char *hf_home = expand_home (v, home);
    add_root (roots, g_build_filename (hf_home, "hub", NULL));
  }
  if ((v = g_getenv ("XDG_CACHE_HOME")) != NULL && *v) {
    g_autofree char *xdg = expand_home (v, home);
    add_root (roots, g_build_filename (xdg, "huggingface", "hub", NULL));
  }
  add_root (
      roots, g_build_filename (home, ".cache", "huggingface", "hub", NULL));
  return roots;
}

/* The snapshot @repo_dir/refs/@rev points at. NULL with @error set when the
 * entry is broken; NULL without when it has no such revision. */
static char *
snapshot_of (const char *repo_dir, const char *rev, GError **error)
{
  g_autofree char *ref = g_build_filename (repo_dir, "refs", rev, NULL);
  g_autofree char *commit = NULL;
  g_autofree char *snap = NULL;
  GStatBuf st;

  if (is_commit_hash (rev)) {
    snap = g_build_filename (repo_dir, "snapshots", rev, NULL);
    if (g_file_test (snap, G_FILE_TEST_IS_DIR))
      return g_steal_pointer (&snap);
    g_clear_pointer (&snap, g_free);
  }
  if (g_stat (ref, &st) != 0) {
    g_set_error (error, SF_ERROR, SF_ERROR_MISSING,
        "%s: no such file: the cache entry has no revision '%s'", ref, rev);
    return NULL;
  }
  if (!S_ISREG (st.st_mode) || st.st_size > REF_FILE_MAX
      || !g_file_get_contents (ref, &commit, NULL, NULL)) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: not a ref file holding a commit hash", ref);
    return NULL;
  }
  g_strstrip (commit);
  if (*commit == '\0' || strchr (commit, '/') != NULL
      || g_str_equal (commit, ".") || g_str_equal (commit, "..")) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: holds '%s', not a commit hash", ref, commit);
    return NULL;
  }
  snap = g_build_filename (repo_dir, "snapshots", commit, NULL);
  if (!g_file_test (snap, G_FILE_TEST_IS_DIR)) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: names snapshot %s, but %s is missing; fetch the model again", ref,
        commit, snap);
    return NULL;
  }
  return g_steal_pointer (&snap);
}

static gint
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *)a, *(const char *const *)b);
}

/* The single `models--<org>--@name` entry of @root, or NULL; several make
 * @error (the user has to say which). */
static char *
scan_orgs (const char *root, const char *name, GError **error)
{
  g_autoptr (GDir) dir = g_dir_open (root, 0, NULL);
  g_autofree char *suffix = g_strconcat ("--", name, NULL);
  g_autoptr (GPtrArray) found = g_ptr_array_new_with_free_func (g_free);
  const char *entry;

  if (dir == NULL)
    return NULL;
  while ((entry = g_dir_read_name (dir)) != NULL) {
    const char *org = entry + strlen ("models--");
    gsize org_len;
    if (!g_str_has_prefix (entry, "models--")
        || !g_str_has_suffix (entry, suffix) || strlen (org) <= strlen (suffix))
      continue;
    org_len = strlen (org) - strlen (suffix);
    if (id_part_valid (org, org_len))
      g_ptr_array_add (found, g_strdup (entry));
  }
  if (found->len == 1)
    return g_build_filename (root, found->pdata[0], NULL);
  if (found->len > 1) {
    g_autoptr (GString) ids = g_string_new (NULL);
    g_ptr_array_sort (found, compare_strings);
    for (guint i = 0; i < found->len; i++) {
      const char *e = (const char *)found->pdata[i] + strlen ("models--");
      g_string_append_printf (ids, "%s%.*s/%s", i ? ", " : "",
          (int)(strlen (e) - strlen (suffix)), e, name);
    }
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "'%s' matches several models in %s: %s; give ORG/NAME", name, root,
        ids->str);
  }
  return NULL;
}

/* The snapshot for @id under @root, or NULL (a line added to @looked, or
 * @broken set when the entry exists but does not resolve). */
static char *
find_in_cache (
    const char *root, const HubId *id, GString *looked, GError **broken)
{
  g_autofree char *folder = id->org
      ? g_strdup_printf ("models--%s--%s", id->org, id->name)
      : g_strdup_printf ("models--%s", id->name);
  g_autofree char *repo = g_build_filename (root, folder, NULL);
  GError *err = NULL;
  char *snap;

  if (!g_file_test (repo, G_FILE_TEST_IS_DIR) && id->org == NULL) {
    char *other = scan_orgs (root, id->name, &err);
    if (other != NULL) {
      g_free (repo);
      repo = other;
    }
  }
  if (err == NULL && g_file_test (repo, G_FILE_TEST_IS_DIR)) {
    snap = snapshot_of (repo, id->revision, &err);
    if (snap != NULL)
      return snap;
  }
  if (err != NULL) {
    g_string_append_printf (looked, "\n  %s (%s)", repo, err->message);
    if (*broken == NULL)
      *broken = err;
    else
      g_error_free (err);
    return NULL;
  }
  if (id->org == NULL)
    g_string_append_printf (looked, "\n  %s, %s%cmodels--*--%s (not there)",
        repo, root, G_DIR_SEPARATOR, id->name);
  else
    g_string_append_printf (looked, "\n  %s (not there)", repo);
  return NULL;
}

char *
sf_checkpoint_resolve (const char *model, GError **error)
{
  g_auto (HubId) id = { 0 };
  g_autoptr (GPtrArray) roots = NULL;
  g_autoptr (GString) looked = NULL;
  g_autoptr (GError) broken = NULL;
  g_autofree char *legacy = NULL;

  g_return_val_if_fail (model != NULL, NULL);

  if (g_file_test (model, G_FILE_TEST_IS_DIR))
    return g_strdup (model);
  if (!hub_id_parse (model, &id)) {
    g_set_error (error, SF_ERROR, SF_ERROR_MISSING,
        "%s: not a checkpoint folder (no such directory), nor a Hub id "
        "(ORG/NAME or NAME, optionally @REVISION)",
        model);
    return NULL;
  }

  looked = g_string_new (NULL);
  g_string_append_printf (looked, "\n  %s (no such folder)", model);
  roots = sf_hub_cache_roots ();
  for (guint i = 0; i < roots->len; i++) {
    char *snap = find_in_cache (roots->pdata[i], &id, looked, &broken);
    if (snap != NULL)
      return snap;
  }
  legacy = g_build_filename ("models", id.name, NULL);
  if (g_file_test (legacy, G_FILE_TEST_IS_DIR))
    return g_steal_pointer (&legacy);
  g_string_append_printf (
      looked, "\n  %s (older fetch-model.sh downloads)", legacy);

  if (broken != NULL) {
    g_propagate_error (error, g_steal_pointer (&broken));
    return NULL;
  }
  g_set_error (error, SF_ERROR, SF_ERROR_MISSING,
      "model '%s' is neither a checkpoint folder nor in the Hugging Face "
      "cache. Looked in:%s\nFetch it with: " FETCH_SCRIPT " %s%s",
      model, looked->str, id.org ? "" : "ORG/", model);
  return NULL;
}

char *
sf_hub_snapshot_repo_id (const char *dir)
{
  g_autofree char *snapshots = g_path_get_dirname (dir);
  g_autofree char *repo = g_path_get_dirname (snapshots);
  g_autofree char *base = g_path_get_basename (snapshots);
  g_autofree char *folder = g_path_get_basename (repo);
  const char *id = folder + strlen ("models--");
  const char *sep;

  if (!g_str_equal (base, "snapshots") || !g_str_has_prefix (folder, "models--")
      || *id == '\0')
    return NULL;
  sep = strstr (id, "--");
  if (sep == NULL)
    return g_strdup (id);
  return g_strdup_printf ("%.*s/%s", (int)(sep - id), id, sep + 2);
}
