"""Talking to one OCI registry: manifests and blobs over the distribution API, via `oras`.

The `oras` library (oras-py) supplies the HTTP session, the Docker-config credentials
(`~/.docker/config.json`, credential helpers) and bearer-token auth, and the blob upload. What it
leaves to its callers, this module adds: every manifest and blob read is checked against its
digest (OCI distribution spec: clients must verify content), a layer over the size limit is
refused before and while it streams, a registry that is down fails at once instead of after
oras' retries, and a registry that answers with a `Basic` challenge (distribution's htpasswd)
gets the credentials directly rather than through a token service.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import oras.container
import oras.provider
import requests

from wasmesh.registry.cache import BlobCache, digest_of
from wasmesh.registry.errors import DigestMismatch, RegistryError
from wasmesh.registry.reference import Reference

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
ACCEPT = ", ".join((OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST))
MAX_MANIFEST = 4 << 20  # bytes; the distribution spec's recommended manifest limit
DEFAULT_MAX_LAYER = 512 << 20  # bytes
TIMEOUT = 30.0  # seconds to connect or between bytes


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str


@dataclass(frozen=True)
class Options:
    """How to reach registries: `insecure` allows plain HTTP to any host (loopback always may);
    `credentials` override the Docker config; `max_layer` is the largest blob pulled, bytes."""

    insecure: bool = False
    credentials: Credentials | None = None
    max_layer: int = DEFAULT_MAX_LAYER


@dataclass(frozen=True)
class Manifest:
    """A manifest or index as the registry holds it: its exact bytes, digest and media type."""

    data: bytes
    digest: str
    media_type: str

    @property
    def json(self) -> dict[str, Any]:
        value = json.loads(self.data)
        if not isinstance(value, dict):
            raise RegistryError(f"manifest {self.digest[:19]}... is not a JSON object.")
        return value


class _Oras(oras.provider.Registry):  # type: ignore[misc]
    """oras' registry without its retry loop (a minute of sleeps when a registry is down), and
    answering `Basic` challenges (distribution's htpasswd) with the known credentials; bearer
    challenges go to oras' token flow."""

    basic: str | None = None

    def do_request(
        self,
        url: str,
        method: str = "GET",
        data: Any = None,
        headers: dict[str, str] | None = None,
        json: dict[str, Any] | None = None,
        stream: bool = False,
    ) -> requests.Response:
        headers = dict(headers or {})
        if getattr(self.auth, "token", None) is not None:
            return _ORAS_REQUEST(self, url, method, data, headers, json, stream)  # type: ignore[no-any-return]
        if self.basic:
            headers["Authorization"] = f"Basic {self.basic}"
        response: requests.Response = self.session.request(
            method, url, data=data, json=json, headers=headers, stream=stream,
            verify=self._tls_verify,
        )  # fmt: skip
        if response.status_code not in (401, 403) or self.basic:
            return response
        if response.headers.get("Www-Authenticate", "").lower().startswith("basic"):
            self.basic = getattr(self.auth, "_basic_auth", None)
            if not self.basic:
                return response
            headers["Authorization"] = f"Basic {self.basic}"
            return self.session.request(  # type: ignore[no-any-return]
                method, url, data=data, json=json, headers=headers, stream=stream,
                verify=self._tls_verify,
            )  # fmt: skip
        return _ORAS_REQUEST(self, url, method, data, headers, json, stream)  # type: ignore[no-any-return]


# oras' request with its auth handling, without the retry decorator around it.
_ORAS_REQUEST = oras.provider.Registry.do_request.__wrapped__


class RegistryClient:
    """One registry (`ref.registry`), with the blob cache shared by every pull."""

    def __init__(self, ref: Reference, options: Options, cache: BlobCache | None = None) -> None:
        self.registry = ref.registry
        self.options = options
        self.cache = cache or BlobCache()
        self.plain_http = options.insecure or ref.is_loopback
        self._oras = _Oras(hostname=ref.registry, insecure=self.plain_http)
        self._oras.session.request = _with_timeout(self._oras.session.request)
        creds = options.credentials
        if creds is not None:
            self._oras.auth.set_basic_auth(creds.username, creds.password)
        else:
            self._oras.auth.load_configs(self._container(ref))

    @property
    def base(self) -> str:
        return f"{'http' if self.plain_http else 'https'}://{self.registry}/v2"

    def _container(self, ref: Reference) -> oras.container.Container:
        container = oras.container.Container(f"{ref.registry}/x", registry=ref.registry)
        container.registry, container.namespace = ref.registry, None
        container.repository, container.tag, container.digest = ref.repository, ref.tag, ref.digest
        return container

    def _request(self, ref: Reference, method: str, url: str, **kw: Any) -> requests.Response:
        try:
            return self._oras.do_request(url, method, **kw)
        except requests.exceptions.SSLError:
            raise RegistryError(
                f"cannot speak HTTPS to registry {ref.registry}; if it serves plain HTTP, "
                "pass --insecure."
            ) from None
        except requests.exceptions.ConnectionError:
            raise RegistryError(
                f"cannot reach registry {ref.registry}; check the address and that it is running."
            ) from None
        except requests.exceptions.Timeout:
            raise RegistryError(
                f"registry {ref.registry} did not answer within {TIMEOUT:.0f} s; try again later."
            ) from None

    def _check(self, ref: Reference, response: requests.Response, what: str) -> None:
        if response.status_code < 300:
            return
        codes = _error_codes(response)
        if response.status_code in (401, 403):
            raise RegistryError(
                f"registry {ref.registry} denied access to {ref.repository}; log in "
                "(`docker login`) or pass --username and --password-stdin."
            )
        if "NAME_UNKNOWN" in codes:
            raise RegistryError(
                f"repository {ref.repository} does not exist in registry {ref.registry}; "
                "check the name or push it first."
            )
        if response.status_code == 404:
            raise RegistryError(
                f"{what} not found in {ref.registry}/{ref.repository}; check the tag or digest."
            )
        detail = ", ".join(codes) or response.reason
        raise RegistryError(
            f"registry {ref.registry} refused {what} ({response.status_code} {detail}); "
            "check the registry's logs."
        )

    # manifests

    def get_manifest(self, ref: Reference) -> Manifest:
        """The manifest (or index) `ref` names, checked against `ref.digest` when given."""
        what = f"{ref.repository}:{ref.tag}" if ref.digest is None else f"manifest {ref.digest}"
        url = f"{self.base}/{ref.repository}/manifests/{ref.reference}"
        response = self._request(ref, "GET", url, headers={"Accept": ACCEPT}, stream=True)
        if response.status_code == 404:
            # Registries answer MANIFEST_UNKNOWN for an unknown repository too; the tag list
            # tells the two apart (NAME_UNKNOWN).
            tags = self._request(ref, "GET", f"{self.base}/{ref.repository}/tags/list")
            self._check(ref, tags, f"the tags of {ref.repository}")
        self._check(ref, response, what)
        data = b"".join(_limited(response, MAX_MANIFEST, f"the manifest of {ref}"))
        digest = digest_of(data)
        if ref.digest is not None and digest != ref.digest:
            raise DigestMismatch(
                f"the manifest of {ref} hashes to {digest[:19]}...; the registry's copy is "
                "corrupt or was tampered with, push it again."
            )
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        manifest = Manifest(data, digest, media_type)
        return Manifest(data, digest, manifest.json.get("mediaType") or media_type)

    def put_manifest(self, ref: Reference, data: bytes, media_type: str) -> str:
        """Store manifest bytes under `ref`'s tag (or by their digest); their digest."""
        digest = digest_of(data)
        url = f"{self.base}/{ref.repository}/manifests/{ref.tag or digest}"
        response = self._request(ref, "PUT", url, data=data, headers={"Content-Type": media_type})
        self._check(ref, response, f"the manifest for {ref}")
        return digest

    # blobs

    def fetch_blob(self, ref: Reference, descriptor: Mapping[str, Any], what: str) -> Path:
        """The verified local file of the blob `descriptor` names, from the cache or pulled."""
        digest = str(descriptor.get("digest", ""))
        size = int(descriptor.get("size", 0))
        if size > self.options.max_layer:
            raise RegistryError(
                f"{what} is {size} bytes, over the {self.options.max_layer}-byte limit; "
                "raise it with --max-layer-size."
            )
        cached = self.cache.get(digest)
        if cached is not None:
            return cached
        url = f"{self.base}/{ref.repository}/blobs/{digest}"
        response = self._request(ref, "GET", url, stream=True)
        self._check(ref, response, what)
        with response:
            chunks = _limited(response, min(size, self.options.max_layer), what)
            return self.cache.put(digest, chunks, what)

    def push_blob(self, ref: Reference, data: bytes, media_type: str) -> dict[str, Any]:
        """Upload `data` unless the registry has it; its OCI descriptor."""
        descriptor: dict[str, Any] = {
            "mediaType": media_type, "digest": digest_of(data), "size": len(data),
        }  # fmt: skip
        with tempfile.TemporaryDirectory(prefix="wasmesh-push-") as tmp:
            blob = Path(tmp) / "blob"
            blob.write_bytes(data)
            try:
                response = self._oras.upload_blob(str(blob), self._container(ref), descriptor)
            except requests.exceptions.ConnectionError:
                raise RegistryError(
                    f"cannot reach registry {ref.registry}; check the address and that it "
                    "is running."
                ) from None
            except ValueError as exc:  # oras: no upload session offered
                raise RegistryError(
                    f"registry {ref.registry} refused an upload to {ref.repository} ({exc}); "
                    "check your credentials."
                ) from None
        self._check(ref, response, f"the blob {descriptor['digest'][:19]}...")
        return descriptor

    def ping(self, ref: Reference) -> None:
        """Check the registry answers the distribution API (and we may use it)."""
        self._check(ref, self._request(ref, "GET", f"{self.base}/"), "the API version check")


def _with_timeout(request: Any) -> Any:
    def send(*args: Any, **kw: Any) -> Any:
        kw.setdefault("timeout", TIMEOUT)
        return request(*args, **kw)

    return send


def _limited(response: requests.Response, limit: int, what: str) -> Iterator[bytes]:
    total = 0
    for chunk in response.iter_content(chunk_size=1 << 16):
        total += len(chunk)
        if total > limit:
            raise RegistryError(
                f"{what} is larger than declared or than the {limit}-byte limit; refusing it."
            )
        yield chunk


def _error_codes(response: requests.Response) -> list[str]:
    try:
        body = response.json()
    except ValueError:
        return []
    errors = body.get("errors", []) if isinstance(body, dict) else []
    return [str(e.get("code")) for e in errors if isinstance(e, dict) and e.get("code")]
