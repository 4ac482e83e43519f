#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs a command under one of the two ways the product kernels get chosen,
# so the suite checks both whatever the machine's environment holds:
#   own   OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed, as on a user's
#         machine: Streamformer picks the kernels from cpuid: its own f32
#         panels for linear layers on AVX-512 (core/ops/linear-f32.c) and
#         the OpenBLAS core for the rest (core/blas.c)
#   user  OPENBLAS_CORETYPE set by the user: the environment's value when
#         it has one, else Haswell on a CPU with AVX2 and FMA, else
#         Nehalem; and Streamformer's AVX-512 kernels hidden
#         (SF_CPU_DISABLE=avx512), so OpenBLAS runs every product, as on
#         a CPU without AVX-512
#
#   tests/kernels.sh own|user COMMAND [ARGS...]
set -euo pipefail
mode=${1:?usage: kernels.sh own|user COMMAND [ARGS...]}
shift
case $mode in
  own) exec env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$@" ;;
  user)
    if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
      if grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo; then
        export OPENBLAS_CORETYPE=Haswell
      else
        export OPENBLAS_CORETYPE=Nehalem
      fi
    fi
    exec env SF_CPU_DISABLE=avx512 "$@" ;;
  *) echo "kernels.sh: unknown mode '$mode' (own or user)" >&2; exit 2 ;;
esac
