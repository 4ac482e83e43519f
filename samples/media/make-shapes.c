/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Writes a synthetic video as raw RGB frames to standard output: circles,
 * rectangles and triangles in flat colours moving (and turning) over
 * textured backgrounds, the kind of scene the bundled shapes-segformer
 * checkpoint segments. make-shapes.sh encodes it into shapes.mp4.
 *
 *   make-shapes WIDTH HEIGHT FRAMES > frames.rgb
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum
{
  SHAPE_CIRCLE,
  SHAPE_RECTANGLE,
  SHAPE_TRIANGLE,
};

typedef struct
{
  int kind;
  double x, y, vx, vy; /* centre and velocity, pixels per frame */
  double size;         /* radius or half extent */
  double aspect;       /* rectangles: height / width */
  double angle, spin;  /* radians, radians per frame */
  uint8_t colour[3];
} Shape;

static uint32_t rng_state = 12345u;

/* xorshift32: a fixed sequence, so the video is the same on every run. */
static double
rng (void)
{
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 17;
  rng_state ^= rng_state << 5;
  return (rng_state >> 8) / 16777216.0;
}

static uint8_t
clamp_u8 (double v)
{
  return v < 0 ? 0 : v > 255 ? 255 : (uint8_t)(v + 0.5);
}

/* Two textures, switched halfway: a checkerboard over a diagonal colour
 * gradient, and a noisy vertical gradient. */
static void
draw_background (uint8_t *rgb, int w, int h, int frame, int frames)
{
  int checker = frame < frames / 2;
  int cell = w / 16 > 2 ? w / 16 : 2;

  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      uint8_t *p = rgb + ((size_t)y * w + x) * 3;
      double t = (double)(x + y) / (w + h), u = (double)y / h;

      if (checker) {
        double k = ((x / cell + y / cell + frame / 6) % 2) ? 18.0 : -18.0;
        p[0] = clamp_u8 (190 - 90 * t + k);
        p[1] = clamp_u8 (60 + 40 * t + k);
        p[2] = clamp_u8 (150 + 40 * t + k);
      } else {
        double n = (rng () - 0.5) * 24.0;
        p[0] = clamp_u8 (30 + 20 * u + n);
        p[1] = clamp_u8 (110 + 60 * u + n);
        p[2] = clamp_u8 (150 - 20 * u + n);
      }
    }
}

/* Whether (px, py) lies inside @s. */
static int
inside (const Shape *s, double px, double py)
{
  double dx = px - s->x, dy = py - s->y;
  double c = cos (-s->angle), sn = sin (-s->angle);
  double lx = dx * c - dy * sn, ly = dx * sn + dy * c;

  switch (s->kind) {
    case SHAPE_CIRCLE: return dx * dx + dy * dy <= s->size * s->size;
    case SHAPE_RECTANGLE:
      return fabs (lx) <= s->size && fabs (ly) <= s->size * s->aspect;
    default: {
      /* Equilateral triangle with circumradius size, pointing up. */
      double r = s->size, d = 0.0;
      for (int k = 0; k < 3; k++) {
        double a = -M_PI / 2 + k * 2 * M_PI / 3 + M_PI / 3;
        /* Edge normals point at the midpoints, r/2 from the centre. */
        d = lx * cos (a + M_PI / 3) + ly * sin (a + M_PI / 3);
        if (d > r / 2)
          return 0;
      }
      return 1;
    }
  }
}

static void
draw_shape (uint8_t *rgb, int w, int h, const Shape *s)
{
  int x0 = (int)floor (s->x - 1.5 * s->size),
      x1 = (int)ceil (s->x + 1.5 * s->size);
  int y0 = (int)floor (s->y - 1.5 * s->size),
      y1 = (int)ceil (s->y + 1.5 * s->size);

  for (int y = y0 < 0 ? 0 : y0; y <= y1 && y < h; y++)
    for (int x = x0 < 0 ? 0 : x0; x <= x1 && x < w; x++)
      if (inside (s, x + 0.5, y + 0.5)) {
        uint8_t *p = rgb + ((size_t)y * w + x) * 3;
        double n = (rng () - 0.5) * 10.0;
        for (int k = 0; k < 3; k++)
          p[k] = clamp_u8 (s->colour[k] + n);
      }
}

static void
move_shape (Shape *s, int w, int h)
{
  s->x += s->vx;
  s->y += s->vy;
  s->angle += s->spin;
  if (s->x < s->size || s->x > w - s->size)
    s->vx = -s->vx;
  if (s->y < s->size || s->y > h - s->size)
    s->vy = -s->vy;
}

int
main (int argc, char **argv)
{
  static const uint8_t colours[][3] = {
    { 120, 220, 60 },
    { 240, 40, 110 },
    { 20, 30, 110 },
    { 250, 110, 20 },
    { 120, 90, 200 },
    { 60, 230, 180 },
  };
  int w, h, frames;
  Shape shapes[4];
  uint8_t *rgb;

  if (argc != 4 || (w = atoi (argv[1])) < 32 || (h = atoi (argv[2])) < 32
      || (frames = atoi (argv[3])) < 1) {
    fprintf (stderr, "usage: %s WIDTH HEIGHT FRAMES > frames.rgb\n", argv[0]);
    return 2;
  }
  for (int i = 0; i < 4; i++) {
    Shape *s = &shapes[i];
    double scale = (w < h ? w : h) / 128.0;

    s->kind = i % 3;
    s->size = (14 + 8 * rng ()) * scale;
    s->aspect = 0.45 + 0.3 * rng ();
    s->x = s->size + rng () * (w - 2 * s->size);
    s->y = s->size + rng () * (h - 2 * s->size);
    s->vx = (rng () - 0.5) * 3.0 * scale;
    s->vy = (rng () - 0.5) * 3.0 * scale;
    s->angle = rng () * M_PI;
    s->spin = s->kind == SHAPE_CIRCLE ? 0.0 : (rng () - 0.5) * 0.08;
    memcpy (s->colour, colours[(i * 5 + 1) % 6], 3);
  }

  rgb = malloc ((size_t)w * h * 3);
  if (rgb == NULL)
    return 1;
  for (int f = 0; f < frames; f++) {
    draw_background (rgb, w, h, f, frames);
    for (int i = 0; i < 4; i++) {
      draw_shape (rgb, w, h, &shapes[i]);
      move_shape (&shapes[i], w, h);
    }
    if (fwrite (rgb, 1, (size_t)w * h * 3, stdout) != (size_t)w * h * 3) {
      free (rgb);
      return 1;
    }
  }
  free (rgb);
  return 0;
}
