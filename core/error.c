/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "core/error.h"

G_DEFINE_QUARK (sf - error - quark, sf_error)
