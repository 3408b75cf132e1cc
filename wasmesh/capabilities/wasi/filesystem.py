"""wasi:filesystem/{types,preopens} over host directories granted to the instance.

Each granted directory is preopened as a `Descriptor` owning a host file descriptor; every
path a guest passes is resolved beneath a directory descriptor by `fs_paths.resolve`, so it
cannot name anything outside its grant. A read-only grant refuses every change (`read-only`).
Failures are `err(error-code)`; what wasmesh does not implement answers `unsupported`.
"""

from __future__ import annotations

import errno
import functools
import hashlib
import os
import stat
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from wasmesh.capabilities.wasi._spec import Interface, methods
from wasmesh.capabilities.wasi._table import HostObject
from wasmesh.capabilities.wasi.context import current
from wasmesh.capabilities.wasi.fs_paths import FsError, error_code, link_target_allowed, resolve
from wasmesh.capabilities.wasi.io import MAX_READ, InputStream, OutputStream, Pollable
from wasmesh.engine.values import Err, Ok, Record

P = ParamSpec("P")
T = TypeVar("T")


def fallible(fn: Callable[P, T]) -> Callable[P, Ok | Err]:
    """`fn`'s value as `ok`, its `FsError`/`OSError` as `err(error-code)`."""

    @functools.wraps(fn)
    def call(*args: P.args, **kwargs: P.kwargs) -> Ok | Err:
        try:
            return Ok(fn(*args, **kwargs))
        except FsError as e:
            return Err(e.code)
        except OSError as e:
            return Err(error_code(e))

    return call


def unsupported(*_args: object) -> Err:
    return Err("unsupported")


def _type_of(mode: int) -> str:
    for test, name in (
        (stat.S_ISREG, "regular-file"),
        (stat.S_ISDIR, "directory"),
        (stat.S_ISLNK, "symbolic-link"),
        (stat.S_ISCHR, "character-device"),
        (stat.S_ISBLK, "block-device"),
        (stat.S_ISFIFO, "fifo"),
        (stat.S_ISSOCK, "socket"),
    ):
        if test(mode):
            return name
    return "unknown"


def _datetime(ns: int) -> Record:
    return Record(seconds=ns // 1_000_000_000, nanoseconds=ns % 1_000_000_000)


def _stat_record(st: os.stat_result) -> Record:
    return Record(
        {
            "type": _type_of(st.st_mode),
            "link-count": st.st_nlink,
            "size": st.st_size,
            "data-access-timestamp": _datetime(st.st_atime_ns),
            "data-modification-timestamp": _datetime(st.st_mtime_ns),
            "status-change-timestamp": _datetime(st.st_ctime_ns),
        }
    )


def _hash(st: os.stat_result) -> Record:
    digest = hashlib.blake2b(f"{st.st_dev}:{st.st_ino}".encode(), digest_size=16).digest()
    lower, upper = (int.from_bytes(digest[i : i + 8], "little") for i in (0, 8))
    return Record(lower=lower, upper=upper)


class FileSource:
    """Reads a descriptor's file from an offset on, as an input stream."""

    def __init__(self, desc: Descriptor, offset: int) -> None:
        self.desc = desc
        self.offset = offset

    def read(self, size: int, block: bool) -> bytes | None:
        data = os.pread(self.desc.live_fd(), size, self.offset)
        if not data:
            return None
        self.offset += len(data)
        return data

    def pollable(self) -> Pollable:
        return Pollable.always()  # files are always ready


class FileSink:
    """Writes to a descriptor's file from an offset on (or at its end), as an output stream."""

    def __init__(self, desc: Descriptor, offset: int | None) -> None:
        self.desc = desc
        self.offset = offset  # None: append

    def write(self, data: bytes) -> None:
        fd = self.desc.live_fd()
        view = memoryview(data)
        while view:
            at = os.fstat(fd).st_size if self.offset is None else self.offset
            n = os.pwrite(fd, view, at)
            if self.offset is not None:
                self.offset += n
            view = view[n:]

    def flush(self) -> None:
        """Writes go to the file at once."""


class Descriptor(HostObject):
    """wasi:filesystem `descriptor`: an open host file or directory.

    `flags` are the WIT descriptor-flags it was opened with; `mutable` says whether the grant
    it descends from lets the guest change anything.
    """

    resource = "descriptor"

    def __init__(self, fd: int, flags: frozenset[str], mutable: bool) -> None:
        self.fd: int | None = fd
        self.flags = flags
        self.mutable = mutable
        self.is_dir = stat.S_ISDIR(os.fstat(fd).st_mode)

    def on_drop(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def live_fd(self) -> int:
        if self.fd is None:
            raise FsError("bad-descriptor")
        return self.fd

    def _dir(self) -> int:
        if not self.is_dir:
            raise FsError("not-directory")
        return self.live_fd()

    def _file(self, flag: str) -> int:
        if self.is_dir:
            raise FsError("is-directory")
        if flag not in self.flags:
            raise FsError("bad-descriptor")
        return self.live_fd()

    def _changing(self) -> None:
        if not self.mutable:
            raise FsError("read-only")

    # --- files ----------------------------------------------------------------------------

    @fallible
    def read_via_stream(self, offset: int) -> InputStream:
        self._file("read")
        return InputStream(FileSource(self, offset))

    @fallible
    def write_via_stream(self, offset: int) -> OutputStream:
        self._file("write")
        return OutputStream(FileSink(self, offset))

    @fallible
    def append_via_stream(self) -> OutputStream:
        self._file("write")
        return OutputStream(FileSink(self, None))

    @fallible
    def read(self, length: int, offset: int) -> tuple[bytes, bool]:
        length = min(length, MAX_READ)  # a bounded chunk, whatever the guest asks for
        if offset >= 1 << 63:  # past any file the host can hold
            return b"", True
        data = os.pread(self._file("read"), length, offset)
        return data, len(data) < length

    @fallible
    def write(self, buffer: bytes, offset: int) -> int:
        return os.pwrite(self._file("write"), buffer, offset)

    @fallible
    def set_size(self, size: int) -> None:
        os.ftruncate(self._file("write"), size)

    @fallible
    def advise(self, offset: int, length: int, advice: str) -> None:
        self.live_fd()  # advice is only a hint

    @fallible
    def sync(self) -> None:
        os.fsync(self.live_fd())

    @fallible
    def sync_data(self) -> None:
        os.fdatasync(self.live_fd())

    @fallible
    def get_flags(self) -> frozenset[str]:
        self.live_fd()
        return self.flags

    @fallible
    def get_type(self) -> str:
        return _type_of(os.fstat(self.live_fd()).st_mode)

    @fallible
    def stat(self) -> Record:
        return _stat_record(os.fstat(self.live_fd()))

    @fallible
    def metadata_hash(self) -> Record:
        return _hash(os.fstat(self.live_fd()))

    def is_same_object(self, other: Descriptor) -> bool:
        if self.fd is None or other.fd is None:
            return False
        a, b = os.fstat(self.fd), os.fstat(other.fd)
        return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)

    # --- directories ----------------------------------------------------------------------

    def _lstat_at(self, path_flags: frozenset[str], path: str) -> os.stat_result:
        dir_fd, name = resolve(self._dir(), path, "symlink-follow" in path_flags)
        try:
            return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        finally:
            os.close(dir_fd)

    @fallible
    def stat_at(self, path_flags: frozenset[str], path: str) -> Record:
        return _stat_record(self._lstat_at(path_flags, path))

    @fallible
    def metadata_hash_at(self, path_flags: frozenset[str], path: str) -> Record:
        return _hash(self._lstat_at(path_flags, path))

    @fallible
    def open_at(
        self, path_flags: frozenset[str], path: str, open_flags: frozenset[str],
        flags: frozenset[str],
    ) -> Descriptor:  # fmt: skip
        base = self._dir()
        writing = "write" in flags or bool(open_flags & {"create", "truncate"})
        if writing:
            self._changing()
        mode = os.O_RDWR if {"read", "write"} <= flags else os.O_WRONLY if "write" in flags \
            else os.O_RDONLY  # fmt: skip
        mode |= os.O_CLOEXEC | os.O_NOFOLLOW
        for name, bit in (("create", os.O_CREAT), ("exclusive", os.O_EXCL),
                          ("truncate", os.O_TRUNC), ("directory", os.O_DIRECTORY)):  # fmt: skip
            if name in open_flags:
                mode |= bit
        dir_fd, name = resolve(base, path, "symlink-follow" in path_flags)
        try:
            # Non-blocking, so opening a FIFO with no peer cannot hang the host past the
            # guest's deadline; only regular files and directories are served.
            fd = os.open(name, mode | os.O_NONBLOCK, 0o666, dir_fd=dir_fd)
        finally:
            os.close(dir_fd)
        kind = os.fstat(fd).st_mode
        if not (stat.S_ISREG(kind) or stat.S_ISDIR(kind)):
            os.close(fd)
            raise OSError(errno.ENOTSUP, "not a regular file or directory")
        os.set_blocking(fd, True)
        # A child never holds more than its parent: mutate-directory only under a writable one.
        granted = flags if "mutate-directory" in self.flags else flags - {"mutate-directory"}
        return Descriptor(fd, frozenset(granted), self.mutable)

    @fallible
    def read_directory(self) -> DirectoryEntryStream:
        fd = self._dir()
        entries = []
        for name in sorted(os.listdir(fd)):
            try:
                kind = _type_of(os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode)
            except FileNotFoundError:
                continue  # removed while listing
            entries.append(Record(type=kind, name=name))
        return DirectoryEntryStream(entries)

    def _at(self, path: str, action: Callable[[str, int], Any], change: bool = True) -> Any:
        base = self._dir()
        if change:
            self._changing()
        dir_fd, name = resolve(base, path, follow=False)
        try:
            return action(name, dir_fd)
        finally:
            os.close(dir_fd)

    @fallible
    def create_directory_at(self, path: str) -> None:
        self._at(path, lambda name, fd: os.mkdir(name, 0o777, dir_fd=fd))

    @fallible
    def remove_directory_at(self, path: str) -> None:
        self._at(path, lambda name, fd: os.rmdir(name, dir_fd=fd))

    @fallible
    def unlink_file_at(self, path: str) -> None:
        self._at(path, lambda name, fd: os.unlink(name, dir_fd=fd))

    @fallible
    def readlink_at(self, path: str) -> str:
        target = str(self._at(path, lambda name, fd: os.readlink(name, dir_fd=fd), False))
        if not link_target_allowed(target):
            raise FsError("not-permitted")
        return target

    @fallible
    def symlink_at(self, old_path: str, new_path: str) -> None:
        if not link_target_allowed(old_path):
            raise FsError("not-permitted")
        self._at(new_path, lambda name, fd: os.symlink(old_path, name, dir_fd=fd))

    @fallible
    def rename_at(self, old_path: str, new_desc: Descriptor, new_path: str) -> None:
        new_desc._changing()
        new_dir, new_name = resolve(new_desc._dir(), new_path, follow=False)
        try:
            self._at(old_path, lambda name, fd: os.rename(name, new_name, src_dir_fd=fd,
                                                          dst_dir_fd=new_dir))  # fmt: skip
        finally:
            os.close(new_dir)


class DirectoryEntryStream(HostObject):
    """wasi:filesystem `directory-entry-stream`: a directory's entries, listed when opened."""

    resource = "directory-entry-stream"

    def __init__(self, entries: list[Record]) -> None:
        self.entries = entries

    def read_directory_entry(self) -> Ok:
        return Ok(self.entries.pop(0) if self.entries else None)


def get_directories() -> list[tuple[Descriptor, str]]:
    """The instance's granted directories, each freshly opened."""
    out = []
    for grant in current().dirs:
        try:
            fd = os.open(grant.host, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as e:
            current().logger.warning("cannot open granted directory %s: %s", grant.host, e)
            continue
        flags = {"read", "mutate-directory"} if grant.writable else {"read"}
        out.append((Descriptor(fd, frozenset(flags), grant.writable), grant.guest))
    return out


def filesystem_error_code(err: HostObject) -> str | None:
    """Stream errors carry no filesystem error code here (the guest sees an I/O error)."""
    return None


_DESCRIPTOR_METHODS = (
    "read-via-stream", "write-via-stream", "append-via-stream", "advise", "sync-data",
    "get-flags", "get-type", "set-size", "read", "write", "read-directory", "sync",
    "create-directory-at", "stat", "stat-at", "open-at", "readlink-at", "remove-directory-at",
    "rename-at", "unlink-file-at", "is-same-object", "metadata-hash", "metadata-hash-at",
    "symlink-at",
)  # fmt: skip
_UNSUPPORTED = ("set-times", "set-times-at", "link-at")

INTERFACES = {
    "wasi:filesystem/types": Interface(
        (Descriptor, DirectoryEntryStream),
        {
            **methods(Descriptor, *_DESCRIPTOR_METHODS),
            **{f"[method]descriptor.{name}": unsupported for name in _UNSUPPORTED},
            **methods(DirectoryEntryStream, "read-directory-entry"),
            "filesystem-error-code": filesystem_error_code,
        },
    ),
    "wasi:filesystem/preopens": Interface((), {"get-directories": get_directories}),
}
