"""Measuring memory for leak tests: resident set size, and bytes in use on the C heap.

The engine allocates values with the system allocator, so glibc's `mallinfo2().uordblks`
(bytes currently allocated) sees a leak of even one small box per call; RSS is the coarse,
whole-process view.
"""

from __future__ import annotations

import ctypes


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
                     "uordblks", "fordblks", "keepcost")
    ]  # fmt: skip


_libc = ctypes.CDLL(None)
_libc.mallinfo2.restype = _MallInfo2


def heap_in_use() -> int:
    """Bytes currently allocated with malloc in this process."""
    return int(_libc.mallinfo2().uordblks)


def rss() -> int:
    """Resident set size of this process, in bytes."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096
