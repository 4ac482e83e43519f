/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The queue tests, run by test-sfmqttsink. */
#pragma once

void test_sfmqttqueue_add (void);
