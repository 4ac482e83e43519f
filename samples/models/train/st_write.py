# SPDX-License-Identifier: LGPL-2.1-or-later
# Minimal safetensors writer for the training scripts: an 8-byte
# little-endian header length, a JSON header (names, dtypes, shapes,
# offsets), then the raw little-endian tensor data, all F32.
import json
import struct

import numpy as np


def save_safetensors(path, tensors):
    header = {"__metadata__": {"format": "pt"}}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name].detach().cpu().float().numpy(),
                                 dtype="<f4")
        data = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
