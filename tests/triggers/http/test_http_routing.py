"""Routing of request paths to apps: exact, prefix, parameters, most specific wins."""

from __future__ import annotations

import pytest

from wasmesh.errors import ManifestError
from wasmesh.triggers.http.routing import Router


def test_exact_prefix_and_params() -> None:
    router = Router(
        {"/": "root", "/api/...": "api", "/api/users/:id": "user", "/api/health": "health"}
    )
    m = router.match("/api/users/42?full=1")
    assert m is not None and m.target == "user" and m.params == {"id": "42"}
    m = router.match("/api/health")
    assert m is not None and m.target == "health"
    m = router.match("/api/things/7")
    assert m is not None and m.target == "api" and m.rest == "/things/7"
    m = router.match("/")
    assert m is not None and m.target == "root"
    assert router.match("/other") is None


def test_longest_prefix_wins_and_catch_all() -> None:
    router = Router([("/...", "all"), ("/static/...", "static"), ("/static/img/...", "img")])
    assert router.match("/static/img/a.png").target == "img"  # type: ignore[union-attr]
    assert router.match("/static/a.css").target == "static"  # type: ignore[union-attr]
    assert router.match("/x/y").target == "all"  # type: ignore[union-attr]
    m = router.match("/static")
    assert m is not None and m.target == "static" and m.rest == "/"


def test_literal_beats_parameter_at_same_depth() -> None:
    router = Router({"/users/:id": "param", "/users/me": "me"})
    assert router.match("/users/me").target == "me"  # type: ignore[union-attr]
    assert router.match("/users/7").target == "param"  # type: ignore[union-attr]


def test_bad_routes_are_manifest_errors() -> None:
    with pytest.raises(ManifestError, match="must start with '/'"):
        Router({"api": "x"})
    with pytest.raises(ManifestError, match="only as its last segment"):
        Router({"/a/.../b": "x"})
    with pytest.raises(ManifestError, match="declared twice"):
        Router({"/u/:id": "a", "/u/:name": "b"})
