/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* streamformer: run Hugging Face checkpoints from the command line.
 *
 *   streamformer inspect MODEL
 *   streamformer run MODEL --text "I loved it" [--top-k K] [--json]
 *   streamformer verify CASE_DIR [--dump OUT]
 *   streamformer bench MODEL [--threads T] [--iters N] [--seq L]
 */
#include "samples/cli/commands.h"

#include <glib.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>

static const struct
{
  const char *name;
  int (*func) (int argc, char **argv);
  const char *summary;
} commands[] = {
  { "inspect", sf_cmd_inspect,
      "architecture, parameters, dtypes, memory, BLAS kernel" },
  { "run", sf_cmd_run, "run a checkpoint's task on text, an image or audio" },
  { "verify", sf_cmd_verify,
      "compare with a reference case (exit 0 iff all pass)" },
  { "bench", sf_cmd_bench, "median milliseconds per forward pass" },
};

static int
usage (FILE *out)
{
  fprintf (out, "Usage: streamformer COMMAND [ARGS…]\n\nCommands:\n");
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  %-8s %s\n", commands[i].name, commands[i].summary);
  fprintf (out, "\n'streamformer COMMAND --help' describes each command.\n");
  return out == stdout ? 0 : 2;
}

int
main (int argc, char **argv)
{
  /* GOptionContext converts string arguments from the locale's charset,
   * which is plain ASCII until the program adopts the environment's
   * locale: --text "café" then failed under LC_ALL=C.UTF-8. Only the
   * character type is taken, so number formatting stays in the C
   * locale. */
  setlocale (LC_CTYPE, "");
  if (argc < 2)
    return usage (stderr);
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0
      || strcmp (argv[1], "help") == 0)
    return usage (stdout);
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (strcmp (argv[1], commands[i].name) == 0)
      return commands[i].func (argc - 1, argv + 1);
  fprintf (stderr, "streamformer: unknown command '%s'\n\n", argv[1]);
  return usage (stderr);
}
