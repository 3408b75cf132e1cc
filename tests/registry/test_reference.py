"""Registry references and the plain-HTTP rule."""

from __future__ import annotations

import pytest

from wasmesh.registry import Options, RegistryError, looks_like_reference, parse_reference
from wasmesh.registry.client import RegistryClient

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "digest"),
    [
        ("localhost:5000/hello", "localhost:5000", "hello", "latest", None),
        ("oci://ghcr.io/acme/tools/hello:1.0", "ghcr.io", "acme/tools/hello", "1.0", None),
        (f"127.0.0.1:5000/hello@{DIGEST}", "127.0.0.1:5000", "hello", None, DIGEST),
        (f"[::1]:5000/a/b:v2@{DIGEST}", "[::1]:5000", "a/b", "v2", DIGEST),
    ],
)
def test_parse(
    text: str, registry: str, repository: str, tag: str | None, digest: str | None
) -> None:
    ref = parse_reference(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (
        registry,
        repository,
        tag,
        digest,
    )
    assert parse_reference(str(ref)) == ref


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hello:1", "is not a registry reference"),
        ("ghcr.io/Acme/hello", "must be lowercase"),
        ("ghcr.io/hello:bad tag", "is not a valid tag"),
        ("ghcr.io/hello@sha256:xyz", "64 lowercase hex"),
        ("ghcr.io/", "is not a registry reference"),
    ],
)
def test_parse_errors(text: str, message: str) -> None:
    with pytest.raises(RegistryError, match=message):
        parse_reference(text)


def test_looks_like_reference() -> None:
    assert looks_like_reference("localhost:5000/x")
    assert looks_like_reference("oci://anything")
    assert not looks_like_reference("examples/polyglot")
    assert not looks_like_reference("./app.d/x")


@pytest.mark.parametrize(
    ("registry", "insecure", "plain"),
    [
        ("localhost:5000", False, True),
        ("127.0.0.1:5000", False, True),
        ("[::1]:5000", False, True),
        ("ghcr.io", False, False),
        ("10.0.0.5:5000", False, False),
        ("10.0.0.5:5000", True, True),
    ],
)
def test_plain_http_only_for_loopback_or_insecure(
    registry: str, insecure: bool, plain: bool
) -> None:
    client = RegistryClient(parse_reference(f"{registry}/x:1"), Options(insecure=insecure))
    assert client.plain_http is plain
    assert client.base.startswith("http://" if plain else "https://")
