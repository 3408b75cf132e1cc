"""Content-hash build cache shared by every toolchain.

An output is up to date when the key recorded beside it (``<out>.key``) equals the key of the
current inputs: the sha256 of every input file (by a stable label, so moving a checkout keeps
the key), the WIT, the recipe (language, world, options) and the pinned tool versions. Checking
costs a hash of the inputs and never runs a tool. An input that cannot be read (a dangling
symbolic link, no permission) is a `BuildError` naming the file.

`wasmesh build` also keeps every output it produced in a store shared by all apps
(``$WASMESH_CACHE_DIR/builds/<key>.wasm``): a fresh checkout, a new app directory or a scaffolded
template whose inputs match one built before copies it instead of running a tool. Hits touch the
entry, so `wasmesh cache prune` evicts the least recently used.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from wasmesh.errors import BuildError

# Bumped when the way outputs are produced changes, so old outputs are rebuilt.
RECIPE_VERSION = "1"

# Directories that never hold inputs: caches, VCS data, package managers' trees.
_SKIP_DIRS = frozenset({"__pycache__", ".git", "node_modules", ".mypy_cache", ".pytest_cache"})
_SKIP_SUFFIXES = (".wasm", ".cwasm", ".pyc", ".key", ".lock",
                  # editors' backup, swap and save files (vim, emacs, JetBrains, nano)
                  "~", ".swp", ".swo", ".swx", "___jb_tmp___", "___jb_old___", ".save")  # fmt: skip


def _skipped(name: str) -> bool:
    """Whether a file called `name` is never an input: hidden, an output, an editor's file."""
    return name.startswith((".", "#")) or name.endswith(_SKIP_SUFFIXES)


@dataclass(frozen=True)
class InputSet:
    """Input files grouped under labels: ``label -> root directory or file``."""

    roots: Mapping[str, Path]

    def files(self) -> Iterator[tuple[str, Path]]:
        """Every input file as ``(stable label, path)``, in a deterministic order."""
        for label in sorted(self.roots):
            root = self.roots[label]
            if root.is_file():
                yield label, root
                continue
            for path in sorted(_walk(root)):
                yield f"{label}/{path.relative_to(root).as_posix()}", path


def _walk(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = [d for d in dirnames if d not in _SKIP_DIRS and not d.startswith(".")]
        for name in filenames:
            if _skipped(name):
                continue
            yield Path(dirpath) / name


def is_input(path: Path, root: Path) -> bool:
    """Whether the file `path` inside the directory `root` is one `InputSet` reads: not in a
    cache, VCS or package directory, not hidden, not a build output, not an editor's backup
    or swap file (`app.py~`, `app.py.swp`, `#app.py#`)."""
    parts = path.relative_to(root).parts
    if not parts or any(d in _SKIP_DIRS or d.startswith(".") for d in parts):
        return False
    return not _skipped(parts[-1])


def compute_key(inputs: InputSet, recipe: Mapping[str, object]) -> str:
    """The sha256 hex key of ``inputs`` (contents and labels) and ``recipe`` (JSON-able)."""
    digest = hashlib.sha256()
    digest.update(RECIPE_VERSION.encode())
    digest.update(json.dumps(recipe, sort_keys=True, default=str).encode())
    for label, path in inputs.files():
        digest.update(b"\0" + label.encode() + b"\0")
        digest.update(hashlib.sha256(_read_input(path)).digest())
    return digest.hexdigest()


def _read_input(path: Path) -> bytes:
    """An input file's bytes; `BuildError` naming the file when it cannot be read."""
    try:
        return path.read_bytes()
    except OSError as exc:
        if path.is_symlink() and not path.exists():
            why = f"is a symbolic link to a missing file ({os.readlink(path)})"
        else:
            why = f"cannot be read ({exc.strerror})"
        raise BuildError(f"source file {path} {why}; fix or remove it") from None


def key_path(out_path: Path) -> Path:
    """Where the key of ``out_path`` is recorded."""
    return out_path.with_name(out_path.name + ".key")


def is_fresh(out_path: Path, key: str) -> bool:
    """True when ``out_path`` exists and was built from inputs with this ``key``."""
    try:
        return out_path.is_file() and key_path(out_path).read_text().strip() == key
    except OSError:
        return False


def record(out_path: Path, key: str) -> None:
    """Record that ``out_path`` was built with ``key`` (atomically)."""
    stamp = key_path(out_path)
    tmp = stamp.with_name(f"{stamp.name}.{os.getpid()}.tmp")
    tmp.write_text(key + "\n")
    os.replace(tmp, stamp)


@contextmanager
def exclusive(out_path: Path) -> Iterator[None]:
    """Hold a lock on ``out_path`` so two processes never build the same output at once."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    lock = out_path.with_name(out_path.name + ".lock")
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def file_digest(paths: Iterable[Path]) -> str:
    """A short sha256 of several files' contents, for keys that depend on a tool's files."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


def store_dir() -> Path:
    """The shared store of built components: ``$WASMESH_CACHE_DIR/builds``."""
    from wasmesh.engine.cache import cache_dir  # here: building needs no engine otherwise

    return cache_dir() / "builds"


def restore(store: Path, key: str, out_path: Path) -> bool:
    """Copy the output built with ``key`` from ``store`` to ``out_path`` and record its key;
    False when the store has none."""
    kept = store / f"{key}.wasm"
    staged = out_path.with_name(f".{out_path.name}.{os.getpid()}.tmp")
    try:
        shutil.copyfile(kept, staged)
    except OSError:
        return False
    os.replace(staged, out_path)
    record(out_path, key)
    with contextlib.suppress(OSError):
        os.utime(kept)  # recently used: the last to be pruned
    return True


def keep(store: Path, key: str, out_path: Path) -> None:
    """Put a copy of ``out_path`` (built with ``key``) into ``store``; best effort."""
    with contextlib.suppress(OSError):
        store.mkdir(parents=True, exist_ok=True)
        staged = store / f".{key}.{os.getpid()}.tmp"
        shutil.copyfile(out_path, staged)
        os.replace(staged, store / f"{key}.wasm")
