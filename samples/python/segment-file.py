#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Segmentation class fractions of a video file, read in Python.

The bundled shapes SegFormer segments samples/media/shapes.mp4 frame by
frame; sfsegmenter posts one element message per frame whose "json" field
holds the result: the classes present ("labels") and the fraction of the
frame's pixels each covers ("fractions"), with the stream's "source".

Usage: segment-file.py [--model DIR] [--video FILE]
Prints one line per frame: pts and "class fraction" pairs, largest first.
"""
import argparse
import json
import os
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=os.path.join(HERE, "..", "models", "shapes-segformer"))
    parser.add_argument("--video", default=os.path.join(HERE, "..", "media", "shapes.mp4"))
    args = parser.parse_args()

    Gst.init(None)
    pipeline = Gst.parse_launch(
        f'filesrc name=file location="{args.video}" ! decodebin ! videoconvert '
        f'! sfimageencoder model="{args.model}" ! sfsegmenter mode=labels '
        "! fakesink sync=false")
    bus = pipeline.get_bus()
    pipeline.set_state(Gst.State.PLAYING)
    frames = 0
    status = 0
    while True:
        msg = bus.timed_pop_filtered(
            60 * Gst.SECOND,
            Gst.MessageType.ELEMENT | Gst.MessageType.EOS | Gst.MessageType.ERROR)
        if msg is None:
            print("timed out", file=sys.stderr)
            status = 1
            break
        if msg.type == Gst.MessageType.ERROR:
            err, _debug = msg.parse_error()
            print(f"error: {err.message}", file=sys.stderr)
            status = 1
            break
        if msg.type == Gst.MessageType.EOS:
            break
        s = msg.get_structure()
        if s.get_name() != "sfsegmenter":
            continue
        result = json.loads(s.get_string("json"))
        pairs = sorted(zip(result["labels"], result["fractions"]), key=lambda p: -p[1])
        print(f'{result["pts"]:.2f} s {result["source"]}: '
              + " ".join(f"{name} {fraction:.3f}" for name, fraction in pairs))
        frames += 1
    pipeline.set_state(Gst.State.NULL)
    if frames == 0 and status == 0:
        print("no frames", file=sys.stderr)
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
