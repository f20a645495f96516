"""Files: opening what the user or an index names, safely.

Only regular files are read: a FIFO would block the open forever, and a device
such as /dev/zero (say, behind a symlink) would be read until memory runs out.
A file's size is checked against a limit before a byte of it is read.

Left out: what the bytes mean (each stage parses its own files).
"""

import os
import stat
from typing import BinaryIO


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
