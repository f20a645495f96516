"""Files: opening what the user or an index names, safely.

Only regular files are read: a FIFO would block the open forever, and a device
such as /dev/zero (say, behind a symlink) would be read until memory runs out.
A file's size is checked against a limit before a byte of it is read.

`npy_view` reads an `.npy` file's array in place (the index's arrays), with no
pickle and no copy.

Left out: what the bytes mean (each stage parses its own files).
"""

import os
import re
import stat
from typing import BinaryIO

import numpy as np

_NPY_HEADER = re.compile(rb"\{'descr': '([<>|]?[a-z]\d+)', 'fortran_order': False, 'shape': \(((?:\d+, ?)*\d*)\), \}")


class NotAFileError(OSError):
    """The path names a directory, a FIFO, a device or a socket."""


class TooLargeError(OSError):
    """The file is larger than the caller's limit; `size` is what was seen of it."""

    def __init__(self, message: str, size: int):
        super().__init__(message)
        self.size = size


def open_regular(path, *, dir_fd: int | None = None) -> BinaryIO:
    """`path` opened for reading, if it is a regular file (symlinks followed)."""
    # O_NONBLOCK: opening a FIFO returns at once instead of waiting for a writer;
    # reads of a regular file ignore the flag.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
        raise NotAFileError(f"{os.fsdecode(path)} is {kind}")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def read_regular(path, limit: int, *, dir_fd: int | None = None) -> bytes:
    """The bytes of the regular file `path`, if it holds at most `limit`."""
    with open_regular(path, dir_fd=dir_fd) as f:
        check_size(f, limit, path)
        data = f.read(limit + 1)
    if len(data) > limit:  # it grew while being read
        raise TooLargeError(f"{os.fsdecode(path)} is larger than {limit:,} bytes", len(data))
    return data


def check_size(f: BinaryIO, limit: int, path) -> int:
    size = os.fstat(f.fileno()).st_size
    if size > limit:
        raise TooLargeError(f"{os.fsdecode(path)} is {size:,} bytes; the limit is {limit:,}", size)
    return size


def npy_header(data: bytes) -> tuple[np.dtype, tuple[int, ...], int]:
    """The dtype, shape and data offset of an `.npy` file from its first bytes.
    Only the plain arrays numpy writes are read. The header is matched here
    rather than by numpy, whose `ast` parsing fails at random when two threads
    parse at once (CPython 3.11)."""
    if data[:6] != b"\x93NUMPY" or len(data) < 12 or data[6] not in (1, 2, 3):
        raise ValueError("not an .npy file")
    size, start = (int.from_bytes(data[8:10], "little"), 10) if data[6] == 1 else (int.from_bytes(data[8:12], "little"), 12)
    found = _NPY_HEADER.match(data[start:start + size])
    if not found:
        raise ValueError("not a plain C-ordered array")
    shape = tuple(int(d) for d in found[2].decode().replace(" ", "").split(",") if d)
    dtype = np.dtype(found[1].decode())
    if dtype.hasobject or len(shape) > 3:
        raise ValueError("not a plain array")
    return dtype, shape, start + size


def npy_view(data) -> np.ndarray:
    """A read-only array over the bytes of an `.npy` file (a memory map stays one)."""
    dtype, shape, offset = npy_header(bytes(data[:4096]))
    if int(np.prod(shape, dtype=object)) * dtype.itemsize != len(data) - offset:
        raise ValueError("the array's shape does not match its file's size")
    return np.frombuffer(data, dtype=dtype, count=int(np.prod(shape)), offset=offset).reshape(shape)
