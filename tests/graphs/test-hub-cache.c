/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Model names resolved through the Hugging Face Hub cache: a cache tree is
 * built here as huggingface_hub writes it (refs/main, snapshots/<commit>/
 * with relative symlinks into blobs/<sha256>) around a copy of a fixture,
 * then loaded by `org/name` and `name` under each cache variable. */
#include "graphs/model.h"
#include "core/error.h"
#include "core/io/resolve.h"
#include "tests/common/test-util.h"

#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#define COMMIT "0123456789abcdef0123456789abcdef01234567"
#define FIXTURE "bert-tiny-cls"

static const char *const cache_vars[] = { "HF_HUB_CACHE",
  "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME" };

/* @root/models--@repo/: every fixture file as blobs/<sha256> and a
 * snapshots/@commit/ symlink to it; refs/main holds @ref. */
static void
make_hub_entry (
    const char *root, const char *repo, const char *commit, const char *ref)
{
  g_autofree char *src = sf_test_fixture (FIXTURE);
  g_autofree char *folder = g_strconcat ("models--", repo, NULL);
  g_autofree char *top = g_build_filename (root, folder, NULL);
  g_autofree char *blobs = g_build_filename (top, "blobs", NULL);
  g_autofree char *snap = g_build_filename (top, "snapshots", commit, NULL);
  g_autofree char *refs = g_build_filename (top, "refs", NULL);
  g_autoptr (GDir) dir = g_dir_open (src, 0, NULL);
  const char *name;

  g_assert_cmpint (g_mkdir_with_parents (blobs, 0755), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (snap, 0755), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (refs, 0755), ==, 0);
  while ((name = g_dir_read_name (dir))) {
    g_autofree char *from = g_build_filename (src, name, NULL);
    g_autofree char *data = NULL;
    g_autofree char *sha = NULL;
    g_autofree char *blob = NULL;
    g_autofree char *target = NULL;
    g_autofree char *link = NULL;
    gsize len;

    g_assert_true (g_file_get_contents (from, &data, &len, NULL));
    sha = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (guchar *)data, len);
    blob = g_build_filename (blobs, sha, NULL);
    g_assert_true (g_file_set_contents (blob, data, len, NULL));
    target = g_build_filename ("..", "..", "blobs", sha, NULL);
    link = g_build_filename (snap, name, NULL);
    g_assert_cmpint (symlink (target, link), ==, 0);
  }
  sf_test_write_file (refs, "main", ref);
}

/* A fresh scratch folder with no cache variable set and HOME inside it. */
static char *
scratch_env (void)
{
  char *tmp = g_dir_make_tmp ("sf-hub-XXXXXX", NULL);
  g_autofree char *home = g_build_filename (tmp, "home", NULL);

  g_assert_nonnull (tmp);
  for (guint i = 0; i < G_N_ELEMENTS (cache_vars); i++)
    g_unsetenv (cache_vars[i]);
  g_assert_cmpint (g_mkdir_with_parents (home, 0755), ==, 0);
  g_setenv ("HOME", home, TRUE);
  return tmp;
}

static void
assert_loads (const char *name)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SfModel) model = sf_model_load (name, &error);

  g_assert_no_error (error);
  g_assert_nonnull (model);
  g_assert_cmpstr (sf_model_name (model), ==, "org/" FIXTURE);
  g_assert_true (strstr (sf_model_dir (model), "snapshots/" COMMIT) != NULL);
  g_assert_cmpuint (sf_model_num_labels (model), >, 0);
}

/* @root_parts below the scratch folder; @var names it, or NULL for HOME. */
static void
check_root (const char *var, const char *value_part, const char *root_part)
{
  g_autofree char *tmp = scratch_env ();
  g_autofree char *value = NULL;
  g_autofree char *root = g_build_filename (tmp, root_part, NULL);

  if (var != NULL) {
    value = g_build_filename (tmp, value_part, NULL);
    g_setenv (var, value, TRUE);
  }
  make_hub_entry (root, "org--" FIXTURE, COMMIT, COMMIT "\n");
  assert_loads ("org/" FIXTURE);
  assert_loads (FIXTURE); /* a bare name finds the one org that has it */
  assert_loads ("org/" FIXTURE "@" COMMIT);
  sf_test_remove_dir (tmp);
}

static void
test_hf_hub_cache (void)
{
  check_root ("HF_HUB_CACHE", "c", "c");
}

static void
test_hf_home (void)
{
  check_root ("HF_HOME", "h", "h/hub");
}

static void
test_xdg_cache_home (void)
{
  check_root ("XDG_CACHE_HOME", "x", "x/huggingface/hub");
}

static void
test_home_only (void)
{
  check_root (NULL, NULL, "home/.cache/huggingface/hub");
}

/* Legacy top-level names live at models--NAME; a revision reads its ref. */
static void
test_top_level_and_revision (void)
{
  g_autofree char *tmp = scratch_env ();
  g_autofree char *root = g_build_filename (tmp, "hub", NULL);
  g_autofree char *refs = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (SfModel) model = NULL;
  g_autofree char *dir = NULL;

  g_setenv ("HF_HUB_CACHE", root, TRUE);
  make_hub_entry (root, FIXTURE, COMMIT, COMMIT);
  refs = g_build_filename (root, "models--" FIXTURE, "refs", NULL);
  sf_test_write_file (refs, "v1", COMMIT);
  model = sf_model_load (FIXTURE "@v1", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (sf_model_name (model), ==, FIXTURE);
  g_clear_pointer (&model, sf_model_unref);

  dir = sf_checkpoint_resolve (FIXTURE "@v2", &error);
  g_assert_null (dir);
  g_assert_error (error, SF_ERROR, SF_ERROR_MISSING);
  g_assert_nonnull (strstr (error->message, "refs/v2: no such file"));
  sf_test_remove_dir (tmp);
}

/* Last, models/NAME under the working directory (older fetch-model.sh). */
static void
test_legacy_models_dir (void)
{
  g_autofree char *tmp = scratch_env ();
  g_autofree char *cwd = g_get_current_dir ();
  g_autofree char *copy = sf_test_copy_fixture (FIXTURE);
  g_autofree char *models = g_build_filename (tmp, "models", NULL);
  g_autofree char *legacy = g_build_filename (models, FIXTURE, NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = NULL;

  g_assert_cmpint (g_mkdir_with_parents (models, 0755), ==, 0);
  g_assert_cmpint (g_rename (copy, legacy), ==, 0);
  g_assert_cmpint (g_chdir (tmp), ==, 0);
  dir = sf_checkpoint_resolve ("org/" FIXTURE, &error);
  g_assert_cmpint (g_chdir (cwd), ==, 0);
  g_assert_no_error (error);
  g_assert_cmpstr (dir, ==, "models/" FIXTURE);
  sf_test_remove_dir (tmp);
}

/* The model cache shares one load between a Hub id and its folder. */
static void
test_cache_key (void)
{
  g_autofree char *tmp = scratch_env ();
  g_autofree char *root = g_build_filename (tmp, "hub", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (SfModel) a = NULL;
  g_autoptr (SfModel) b = NULL;

  g_setenv ("HF_HUB_CACHE", root, TRUE);
  make_hub_entry (root, "org--" FIXTURE, COMMIT, COMMIT);
  a = sf_model_cache_get ("org/" FIXTURE, &error);
  g_assert_no_error (error);
  b = sf_model_cache_get (sf_model_dir (a), &error);
  g_assert_no_error (error);
  g_assert_true (a == b);
  g_clear_pointer (&a, sf_model_unref);
  g_clear_pointer (&b, sf_model_unref);
  sf_test_remove_dir (tmp);
}

static void
test_not_found_lists_places (void)
{
  g_autofree char *tmp = scratch_env ();
  g_autofree char *hub = g_build_filename (tmp, "c", NULL);
  g_autofree char *hf_home = g_build_filename (tmp, "h", NULL);
  g_autofree char *xdg = g_build_filename (tmp, "x", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (SfModel) model = NULL;
  const char *want[] = { "model 'nobody/nothing' is neither",
    "Looked in:", "nobody/nothing (no such folder)",
    "c/models--nobody--nothing", "h/hub/models--nobody--nothing",
    "x/huggingface/hub/models--nobody--nothing",
    "home/.cache/huggingface/hub/models--nobody--nothing", "models/nothing",
    "Fetch it with: ./samples/fetch-model.sh nobody/nothing", NULL };

  g_setenv ("HF_HUB_CACHE", hub, TRUE);
  g_setenv ("HF_HOME", hf_home, TRUE);
  g_setenv ("XDG_CACHE_HOME", xdg, TRUE);
  model = sf_model_load ("nobody/nothing", &error);
  g_assert_null (model);
  g_assert_error (error, SF_ERROR, SF_ERROR_MISSING);
  for (guint i = 0; want[i]; i++)
    if (strstr (error->message, want[i]) == NULL)
      g_error ("'%s' not in: %s", want[i], error->message);
  g_clear_error (&error);

  /* a bare name suggests an org */
  model = sf_model_load ("nothing", &error);
  g_assert_error (error, SF_ERROR, SF_ERROR_MISSING);
  g_assert_nonnull (strstr (error->message, "fetch-model.sh ORG/nothing"));
  g_assert_nonnull (strstr (error->message, "c/models--*--nothing"));
  sf_test_remove_dir (tmp);
}

static void
test_broken_ref (void)
{
  g_autofree char *tmp = scratch_env ();
  g_autofree char *root = g_build_filename (tmp, "hub", NULL);
  g_autofree char *ref = NULL;
  g_autofree char *refs = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (SfModel) model = NULL;

  g_setenv ("HF_HUB_CACHE", root, TRUE);
  make_hub_entry (root, "org--" FIXTURE, COMMIT,
      "feedfacefeedfacefeedfacefeedfacefeedface");
  ref = g_build_filename (root, "models--org--" FIXTURE, "refs", "main", NULL);
  model = sf_model_load ("org/" FIXTURE, &error);
  g_assert_null (model);
  g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
  if (!g_str_has_prefix (error->message, ref)
      || strstr (error->message, "names snapshot feedface") == NULL
      || strstr (error->message, "is missing") == NULL)
    g_error ("unexpected: %s", error->message);
  g_clear_error (&error);

  /* a ref that holds a path instead of a hash */
  refs = g_path_get_dirname (ref);
  sf_test_write_file (refs, "main", "../../x");
  model = sf_model_load ("org/" FIXTURE, &error);
  g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "not a commit hash"));
  sf_test_remove_dir (tmp);
}

/* Two orgs hold the same name: a bare name must not pick one. */
static void
test_ambiguous_name (void)
{
  g_autofree char *tmp = scratch_env ();
  g_autofree char *root = g_build_filename (tmp, "hub", NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = NULL;

  g_setenv ("HF_HUB_CACHE", root, TRUE);
  make_hub_entry (root, "a--" FIXTURE, COMMIT, COMMIT);
  make_hub_entry (root, "b--" FIXTURE, COMMIT, COMMIT);
  dir = sf_checkpoint_resolve (FIXTURE, &error);
  g_assert_null (dir);
  g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
  if (strstr (error->message, "a/" FIXTURE ", b/" FIXTURE) == NULL)
    g_error ("unexpected: %s", error->message);
  sf_test_remove_dir (tmp);
}

static void
test_snapshot_repo_id (void)
{
  g_autofree char *a =
      sf_hub_snapshot_repo_id ("/c/models--org--name/snapshots/" COMMIT);
  g_autofree char *b = sf_hub_snapshot_repo_id ("/c/models--name/snapshots/x");
  g_autofree char *c = sf_hub_snapshot_repo_id ("/some/folder");

  g_assert_cmpstr (a, ==, "org/name");
  g_assert_cmpstr (b, ==, "name");
  g_assert_null (c);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/graphs/hub-cache/hf-hub-cache", test_hf_hub_cache);
  g_test_add_func ("/graphs/hub-cache/hf-home", test_hf_home);
  g_test_add_func ("/graphs/hub-cache/xdg-cache-home", test_xdg_cache_home);
  g_test_add_func ("/graphs/hub-cache/home-only", test_home_only);
  g_test_add_func (
      "/graphs/hub-cache/top-level-and-revision", test_top_level_and_revision);
  g_test_add_func ("/graphs/hub-cache/cache-key", test_cache_key);
  g_test_add_func (
      "/graphs/hub-cache/legacy-models-dir", test_legacy_models_dir);
  g_test_add_func ("/graphs/hub-cache/not-found", test_not_found_lists_places);
  g_test_add_func ("/graphs/hub-cache/broken-ref", test_broken_ref);
  g_test_add_func ("/graphs/hub-cache/ambiguous", test_ambiguous_name);
  g_test_add_func ("/graphs/hub-cache/snapshot-repo-id", test_snapshot_repo_id);
  return g_test_run ();
}
