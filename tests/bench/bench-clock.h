/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The CPU time of the bench programs' own process, for items per
 * CPU-second next to items per second of wall time. */
#pragma once

#include <sys/resource.h>

/* User plus system seconds this process has used so far. */
static inline double
bench_cpu_seconds (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec
      + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}
