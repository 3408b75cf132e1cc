"""Registry references: `REGISTRY/REPOSITORY[:TAG][@sha256:DIGEST]`, optionally `oci://`.

The grammar follows the OCI distribution spec (repository path components, tags) and Docker's
rule that the first path component names the registry when it holds a `.` or `:` or is
`localhost`; wasmesh always wants the registry spelled out, so nothing defaults to Docker Hub.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from wasmesh.registry.errors import RegistryError

SCHEME = "oci://"
DEFAULT_TAG = "latest"

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_HOST = re.compile(r"^(?:\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)(?::[0-9]{1,5})?$")


@dataclass(frozen=True)
class Reference:
    """One artifact in a registry: `registry` (`host[:port]`), `repository`, a tag and/or digest."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def reference(self) -> str:
        """What the registry API calls the reference: the digest if known, else the tag."""
        return self.digest or self.tag or DEFAULT_TAG

    @property
    def host(self) -> str:
        """The registry's host name without the port (brackets stripped from IPv6)."""
        host = self.registry
        if host.startswith("["):
            return host[1 : host.index("]")]
        return host.rsplit(":", 1)[0]

    @property
    def is_loopback(self) -> bool:
        """Whether the registry is on this machine (plain HTTP is allowed there)."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    def with_digest(self, digest: str) -> Reference:
        return Reference(self.registry, self.repository, self.tag, digest)

    def pinned(self, digest: str) -> Reference:
        """This artifact by `digest` alone: what a lock file records."""
        return Reference(self.registry, self.repository, None, digest)

    def __str__(self) -> str:
        text = f"{self.registry}/{self.repository}"
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def looks_like_reference(text: str) -> bool:
    """Whether `text` names a registry artifact rather than a local path."""
    if text.startswith(SCHEME):
        return True
    first, sep, _ = text.partition("/")
    return (
        bool(sep)
        and ("." in first or ":" in first or first == "localhost")
        and (not first.startswith("."))
    )


def parse_reference(text: str) -> Reference:
    """Parse `[oci://]REGISTRY/REPOSITORY[:TAG][@sha256:HEX]`; without tag or digest, `latest`.

    Raises `RegistryError` naming the part that is wrong.
    """
    body = text[len(SCHEME) :] if text.startswith(SCHEME) else text
    example = "e.g. `localhost:5000/hello:1.0` or `ghcr.io/acme/hello@sha256:...`"
    registry, sep, rest = body.partition("/")
    if (
        not sep
        or not rest
        or not _HOST.match(registry)
        or not ("." in registry or ":" in registry or registry == "localhost")
    ):
        raise RegistryError(f"`{text}` is not a registry reference; {example}.")
    digest = None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        if not _DIGEST.match(digest):
            raise RegistryError(
                f"the digest in `{text}` is not `sha256:` and 64 lowercase hex digits; fix it."
            )
    repository, tag = rest, None
    if ":" in rest.rsplit("/", 1)[-1]:
        repository, tag = rest.rsplit(":", 1)
        if not _TAG.match(tag):
            raise RegistryError(
                f"the tag `{tag}` in `{text}` is not a valid tag (letters, digits, `._-`)."
            )
    if not _REPOSITORY.match(repository):
        raise RegistryError(
            f"the repository `{repository}` in `{text}` must be lowercase path components "
            f"(letters, digits, `._-`); {example}."
        )
    if tag is None and digest is None:
        tag = DEFAULT_TAG
    return Reference(registry, repository, tag, digest)
