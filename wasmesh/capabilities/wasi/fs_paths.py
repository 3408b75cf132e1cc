"""Resolving guest paths beneath a directory descriptor, never outside it.

A guest path is walked one component at a time with `openat(O_NOFOLLOW | O_DIRECTORY)`, so a
symbolic link or a `..` is seen before it is followed: links are expanded in place (an
absolute target is refused), `..` steps back only as far as the directory the walk began in.
What comes back is the directory holding the last component and that component's name, for
the caller to act on with `dir_fd=` and without following links.
"""

from __future__ import annotations

import errno
import os
import stat

MAX_LINKS = 40  # as many symbolic links as Linux follows in one lookup
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class FsError(Exception):
    """A filesystem failure, carrying its wasi:filesystem `error-code`."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


_ERRNO_CODES = {
    errno.ENOENT: "no-entry",
    errno.EACCES: "access",
    errno.EPERM: "not-permitted",
    errno.EEXIST: "exist",
    errno.EISDIR: "is-directory",
    errno.ENOTDIR: "not-directory",
    errno.EROFS: "read-only",
    errno.ENOTEMPTY: "not-empty",
    errno.ELOOP: "loop",
    errno.ENAMETOOLONG: "name-too-long",
    errno.EINVAL: "invalid",
    errno.EBADF: "bad-descriptor",
    errno.ENOSPC: "insufficient-space",
    errno.EDQUOT: "quota",
    errno.EXDEV: "cross-device",
    errno.EBUSY: "busy",
    errno.EMLINK: "too-many-links",
    errno.EFBIG: "file-too-large",
    errno.ESPIPE: "invalid-seek",
    errno.EPIPE: "pipe",
    errno.EAGAIN: "would-block",
    errno.ENOTSUP: "unsupported",
    errno.ENOMEM: "insufficient-memory",
    errno.ETXTBSY: "text-file-busy",
    errno.EOVERFLOW: "overflow",
    errno.ENXIO: "no-such-device",
    errno.ENODEV: "no-device",
    errno.EINTR: "interrupted",
}


def error_code(exc: OSError) -> str:
    """The wasi:filesystem `error-code` for a host `OSError`."""
    return _ERRNO_CODES.get(exc.errno or 0, "io")


def _is_link(dir_fd: int, name: str) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except FileNotFoundError:
        return False


def _is_dir_or_absent(dir_fd: int, name: str) -> bool:
    try:
        return stat.S_ISDIR(os.stat(name, dir_fd=dir_fd).st_mode)
    except FileNotFoundError:
        return True
    except OSError:
        return False


def link_target_allowed(target: str) -> bool:
    """Whether a symbolic link may hold `target`: relative targets only, as wasmtime's
    native WASI has it (`not-permitted` otherwise, for reading a link as for creating one),
    so a guest never learns a host path. Following a relative link out of the grant is
    refused when the path is resolved.
    """
    return not target.startswith("/") and "\0" not in target


def _split(path: str) -> list[str]:
    return [p for p in path.split("/") if p not in ("", ".")]


def resolve(root_fd: int, path: str, follow: bool) -> tuple[int, str]:
    """(directory fd, name) of `path` beneath `root_fd`; the caller closes the fd.

    `follow` says whether a symbolic link in the last component is followed too. The name is
    "." when the path names a directory itself (``""``, ``"a/.."``).
    """
    if path.startswith("/"):
        raise FsError("not-permitted")
    if "\0" in path:
        raise FsError("invalid")
    # "file/" (or "file/.") names a directory: a regular file there is `not-directory`.
    wants_dir = path.endswith(("/", "/."))
    parts = _split(path)
    stack = [os.dup(root_fd)]
    links = 0
    try:
        while parts:
            name = parts.pop(0)
            if name == "..":
                if len(stack) == 1:
                    raise FsError("not-permitted")  # would leave the directory
                os.close(stack.pop())
                continue
            link = _is_link(stack[-1], name)
            if not parts and not (follow and link):
                if wants_dir and not _is_dir_or_absent(stack[-1], name):
                    raise FsError("not-directory")
                top = stack.pop()
                return top, name
            if link:
                links += 1
                if links > MAX_LINKS:
                    raise FsError("loop")
                target = os.readlink(name, dir_fd=stack[-1])
                if target.startswith("/"):
                    raise FsError("not-permitted")
                parts = _split(target) + parts
                if not parts:
                    break
                continue
            stack.append(os.open(name, _DIR_FLAGS, dir_fd=stack[-1]))
        return stack.pop(), "."
    except OSError as e:
        raise FsError(error_code(e)) from None
    finally:
        for fd in stack:
            os.close(fd)
