"""The local content-addressed cache of pulled blobs (layers and configs).

`<cache_dir>/registry/blobs/sha256/<hex>`, as in an OCI image layout. Every read hashes the file
again: a corrupt entry is removed and reported as missing, so the caller fetches it anew. A
write goes to a temporary file in the same directory, is hashed while written and renamed into
place only when the digest matches, so no reader ever sees half a blob.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from wasmesh.engine.cache import cache_dir
from wasmesh.registry.errors import DigestMismatch

CHUNK = 1 << 20


def digest_of(data: bytes) -> str:
    """`sha256:<hex>` of `data`, the OCI content digest."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


class BlobCache:
    """Blobs by digest under `root` (default: `cache_dir() / "registry"`)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or cache_dir() / "registry"

    def path_for(self, digest: str) -> Path:
        algorithm, _, hex_ = digest.partition(":")
        return self.root / "blobs" / algorithm / hex_

    def get(self, digest: str) -> Path | None:
        """The verified file holding `digest`, or None when absent or corrupt (then removed)."""
        path = self.path_for(digest)
        try:
            actual = file_digest(path)
        except FileNotFoundError:
            return None
        if actual != digest:
            path.unlink(missing_ok=True)
            return None
        return path

    def read(self, digest: str) -> bytes | None:
        """The verified bytes of `digest`, or None when absent or corrupt."""
        path = self.get(digest)
        if path is None:
            return None
        data = path.read_bytes()
        # The file may have changed between the check and this read; check what was read.
        return data if digest_of(data) == digest else None

    def put(self, digest: str, chunks: Iterable[bytes], what: str) -> Path:
        """Store `chunks` as `digest`; `DigestMismatch` (nothing stored) when they differ.

        `what` names the content in the error (`layer sha256:... of localhost:5000/hello:1`).
        """
        path = self.path_for(digest)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".partial-")
        tmp = Path(tmp_name)
        try:
            h = hashlib.sha256()
            with os.fdopen(fd, "wb") as f:
                for chunk in chunks:
                    h.update(chunk)
                    f.write(chunk)
            actual = "sha256:" + h.hexdigest()
            if actual != digest:
                raise DigestMismatch(
                    f"{what} hashes to {actual[:19]}..., not its digest {digest[:19]}...; "
                    "the registry's copy is corrupt or was tampered with, push it again."
                )
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)
        return path

    def put_bytes(self, data: bytes, what: str) -> tuple[str, Path]:
        """Store `data` under its own digest; (digest, path)."""
        digest = digest_of(data)
        return digest, self.put(digest, (data,), what)
