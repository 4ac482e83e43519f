/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The `streamformer` CLI: one function per sub-command.
 * Each takes the arguments after the sub-command name (argv[0] is the
 * sub-command) and returns the process exit code. */
#pragma once

int sf_cmd_inspect (int argc, char **argv);
int sf_cmd_run (int argc, char **argv);
int sf_cmd_verify (int argc, char **argv);
int sf_cmd_bench (int argc, char **argv);
