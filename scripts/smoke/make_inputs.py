"""Writes the first held-out digit in the three request formats the smoke test sends:
digit.json (POST /infer body), digit.npy (a one-sample .npy), digit.f32 (raw little-endian FP32).
Reads the .npy with the standard library only, so the smoke test needs no NumPy."""
import ast
import json
import struct
import sys

source, out = sys.argv[1], sys.argv[2]
raw = open(source, "rb").read()
assert raw[:6] == b"\x93NUMPY", "not a .npy file"
major = raw[6]
header_len_size = 2 if major == 1 else 4
header_len = int.from_bytes(raw[8:8 + header_len_size], "little")
start = 8 + header_len_size
header = ast.literal_eval(raw[start:start + header_len].decode("latin1"))
assert header["descr"] == "<f4" and not header["fortran_order"], header
data = raw[start + header_len:]
sample = list(struct.unpack("<64f", data[:256]))

with open(f"{out}/digit.json", "w") as handle:
    rows = [sample[r * 8:(r + 1) * 8] for r in range(8)]
    json.dump({"model": "dy-digits", "input": [[rows]]}, handle)
with open(f"{out}/digit.f32", "wb") as handle:
    handle.write(data[:256])
with open(f"{out}/digit.npy", "wb") as handle:
    descriptor = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 8, 8), }"
    padded = descriptor + " " * (63 - (10 + len(descriptor)) % 64) + "\n"
    handle.write(b"\x93NUMPY\x01\x00" + len(padded).to_bytes(2, "little") + padded.encode("latin1"))
    handle.write(data[:256])
