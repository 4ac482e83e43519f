#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Spoken-command classification from a live source, read in Python.

audiotestsrc is-live=true plays a tone (or a WAV file loops, with --wav)
into sfaudioencoder with the bundled keyword-spotting AST checkpoint, and
sfclassifier posts one element message per window. Each message carries
the whole result as a JSON string ("json"), so nothing beyond python3-gi
and gir1.2-gstreamer-1.0 is needed; python3-gst-1.0 would also give the
GstValueArray fields ("labels", "scores") as Python lists.

Usage: classify-live.py [--model DIR] [--wav FILE] [--windows N]
Prints one line per window: pts, source, top label and its score.
"""
import argparse
import json
import os
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=os.path.join(HERE, "..", "models", "kws-ast"))
    parser.add_argument("--wav", help="loop this WAV file instead of a tone")
    parser.add_argument("--windows", type=int, default=4, help="stop after N results")
    args = parser.parse_args()

    Gst.init(None)
    if args.wav:
        # multifilesrc loops the file; identity sync=true plays it in real time
        source = (f'multifilesrc name=mic location="{args.wav}" loop=true '
                  "! wavparse ! identity sync=true")
    else:
        source = "audiotestsrc name=mic is-live=true wave=sine freq=440"
    pipeline = Gst.parse_launch(
        f"{source} ! audioconvert ! audioresample "
        "! audio/x-raw,rate=16000,channels=1 "
        f'! sfaudioencoder model="{args.model}" window-ms=1000 hop-ms=500 '
        "! sfclassifier top-k=1 ! fakesink sync=false")

    loop = GLib.MainLoop()
    seen = 0
    status = 0

    def on_message(_bus, msg):
        nonlocal seen, status
        if msg.type == Gst.MessageType.ERROR:
            err, _debug = msg.parse_error()
            print(f"error: {err.message}", file=sys.stderr)
            status = 1
            loop.quit()
        elif msg.type == Gst.MessageType.ELEMENT:
            s = msg.get_structure()
            if s.get_name() != "sfclassifier":
                return
            result = json.loads(s.get_string("json"))
            print(f'{result["pts"]:.2f} s {result["source"]}: '
                  f'{result["labels"][0]} {result["scores"][0]:.3f}', flush=True)
            seen += 1
            if seen >= args.windows:
                loop.quit()

    bus = pipeline.get_bus()
    bus.add_signal_watch()
    bus.connect("message", on_message)
    pipeline.set_state(Gst.State.PLAYING)
    GLib.timeout_add_seconds(60, loop.quit)  # never hang
    loop.run()
    pipeline.set_state(Gst.State.NULL)
    if seen < args.windows and status == 0:
        print(f"only {seen} results", file=sys.stderr)
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
