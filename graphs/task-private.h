/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: the resolved task, shared by task.c (resolution and
 * shapes) and task-run.c (running). Not installed. */
#pragma once

#include "graphs/model-private.h"
#include "graphs/task.h"

G_BEGIN_DECLS

/* Which tensor of the forward pass a task emits. */
typedef enum
{
  SF_TASK_OUT_LOGITS,
  SF_TASK_OUT_EMBEDS, /* text_embeds / image_embeds */
  SF_TASK_OUT_POOLER, /* pooler_output */
  SF_TASK_OUT_HIDDEN, /* last_hidden_state */
  SF_TASK_OUT_POOLED, /* last_hidden_state pooled (text: cls or mean) */
} SfTaskOutput;

struct SfTask
{
  gint refcount;
  SfModel *model; /* owned ref */
  SfModality input;
  SfTaskKind kind;
  SfTaskOutput output;
  SfPooling pooling;  /* SF_TASK_OUT_POOLED: CLS or MEAN */
  gboolean normalize; /* SF_TASK_OUT_POOLED: L2-normalise */
  guint max_length;   /* text: 0 = the model's limit */
  gboolean varies;    /* the output shape follows the input's size */
  const SfImageProcessor *processor;      /* image input */
  const struct SfAudioFrontend *frontend; /* audio input */
};

/* The shape of one item's output for an item input of @in (NULL: the
 * nominal shape, -1 where it follows the input), with the batch of 1
 * prepended. */
gboolean sf_task_item_shape (
    const SfTask *task, const SfShape *in, SfShape *shape, GError **error);

G_END_DECLS
