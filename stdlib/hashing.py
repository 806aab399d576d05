"""`hash(x)`: a stable 64-bit int, the same in every backend and every run (LANGUAGE.md §6).

Ints, bools and floats (by their IEEE bits) go through the splitmix64 finaliser; strings
through 64-bit FNV-1a over their UTF-8 bytes and then the same finaliser. Both are a few
integer operations, so every backend (numba, CUDA) can compute them bit for bit.
"""
from __future__ import annotations

import struct

MASK = (1 << 64) - 1
FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3


def splitmix64(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


def fnv1a(data: bytes) -> int:
    h = FNV_OFFSET
    for b in data:
        h = ((h ^ b) * FNV_PRIME) & MASK
    return h


def to_signed(x: int) -> int:
    return x - (1 << 64) if x >= 1 << 63 else x


def stable_hash(v) -> int:
    if isinstance(v, str):
        return to_signed(splitmix64(fnv1a(v.encode("utf-8"))))
    if isinstance(v, float):
        return to_signed(splitmix64(struct.unpack("<Q", struct.pack("<d", v))[0]))
    return to_signed(splitmix64(int(v) & MASK))
